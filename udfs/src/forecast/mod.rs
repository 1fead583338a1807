//! Forecasting and anomaly detection: automatic exponential smoothing (AutoETS), fixed ETS
//! models, Theta, naive methods, one model per group or window partition.

pub mod detect_anomaly;
pub mod forecast_agg;
pub mod forecast_table;

pub(crate) mod ets;
pub(crate) mod ets_class3;
pub(crate) mod methods;
pub(crate) mod nelder_mead;
#[cfg(test)]
mod oracle_tests;
pub(crate) mod polyroots;
pub(crate) mod series;
pub(crate) mod theta;

use datafusion::logical_expr::DocSection;

pub const DOC_SECTION_FORECAST: DocSection = DocSection {
    include: true,
    label: "Forecasting and Anomaly Functions",
    description: Some("AutoETS, Theta and naive forecasts per group; anomaly bands"),
};
