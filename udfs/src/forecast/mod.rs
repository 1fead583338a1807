//! Forecasting and anomaly detection: automatic exponential smoothing (AutoETS), fixed ETS
//! models, Theta, naive methods, one model per group or window partition.

pub(crate) mod ets;
pub(crate) mod ets_class3;
pub(crate) mod methods;
pub(crate) mod nelder_mead;
#[cfg(test)]
mod oracle_tests;
pub(crate) mod polyroots;
pub(crate) mod series;
pub(crate) mod theta;
