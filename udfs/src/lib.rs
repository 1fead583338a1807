//! Sightline's analytic SQL functions, usable from any DataFusion `SessionContext`:
//!
//! ```no_run
//! # async fn demo() -> datafusion::error::Result<()> {
//! let ctx = datafusion::prelude::SessionContext::new();
//! sightline_udfs::register_all(&ctx)?;
//! ctx.sql("SELECT safe_divide(3, 0)").await?.show().await?;
//! # Ok(())
//! # }
//! ```
//!
//! One function (or one tight family) per module, each with its signature, documentation and
//! tests beside it, following DataFusion's own `functions-aggregate` layout.

mod args;
pub mod attribution;
pub mod basket;
pub mod churn;
pub mod error;
pub mod forecast;
pub mod funnel;
pub mod insight;
pub mod named_args;
pub mod safe_divide;
pub mod segment;
mod sql_table;

use std::sync::Arc;

use datafusion::error::Result;
use datafusion::logical_expr::{AggregateUDF, DocSection, ScalarUDF, WindowUDF};
use datafusion::prelude::SessionContext;

pub use error::SqlError;

/// The documentation section Sightline's general-purpose helpers are listed under.
pub const DOC_SECTION_GENERAL: DocSection = DocSection {
    include: true,
    label: "Sightline Functions",
    description: Some("Analytics helpers added by Sightline"),
};

/// Every scalar function this crate provides.
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        safe_divide::safe_divide_udf(),
        segment::rfm_segment::rfm_segment_udf(),
    ]
}

/// Every aggregate function this crate provides.
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    use funnel::*;
    vec![
        window_funnel::window_funnel_udaf(),
        window_funnel::window_funnel_times_udaf(),
        retention::retention_udaf(),
        sequence::sequence_match_udaf(),
        sequence::sequence_count_udaf(),
        event_path::event_path_udaf(),
        basket::association_rules::frequent_itemsets_udaf(),
        basket::association_rules::association_rules_udaf(),
        attribution::markov_attribution::markov_attribution_udaf(),
        attribution::shapley_attribution::shapley_attribution_udaf(),
        segment::kmeans_centroids::kmeans_centroids_udaf(),
        churn::btyd_summary::btyd_summary_udaf(),
        churn::bgnbd_fit::bgnbd_fit_udaf(),
        churn::gamma_gamma_fit::gamma_gamma_fit_udaf(),
        churn::logistic_fit::logistic_fit_udaf(),
        churn::roc_auc::roc_auc_udaf(),
        forecast::forecast_agg::forecast_udaf(),
    ]
}

/// Every window function this crate provides.
pub fn window_functions() -> Vec<Arc<WindowUDF>> {
    vec![
        funnel::sessionize::sessionize_udwf(),
        attribution::attribution_weight::attribution_weight_udwf(),
        segment::kmeans_cluster::kmeans_cluster_udwf(),
        segment::segment_label::segment_label_udwf(),
        churn::bgnbd_score::bgnbd_p_alive_udwf(),
        churn::bgnbd_score::bgnbd_expected_purchases_udwf(),
        churn::bgnbd_score::clv_udwf(),
        churn::logistic_score::logistic_score_udwf(),
        forecast::detect_anomaly::detect_anomaly_udwf(),
    ]
}

/// Every table function as (name, documented call, description), for catalogs and docs.
pub fn table_functions() -> Vec<(&'static str, String, String)> {
    vec![
        (
            "funnel_report",
            funnel::funnel_report::USAGE.to_string(),
            funnel::funnel_report::DESCRIPTION.clone(),
        ),
        (
            "also_bought",
            basket::also_bought::USAGE.to_string(),
            basket::also_bought::DESCRIPTION.clone(),
        ),
        (
            "channel_attribution",
            attribution::channel_attribution::USAGE.to_string(),
            attribution::channel_attribution::DESCRIPTION.clone(),
        ),
        (
            "explain_change",
            insight::explain_change::USAGE.to_string(),
            insight::explain_change::DESCRIPTION.clone(),
        ),
        (
            "forecast_table",
            forecast::forecast_table::USAGE.to_string(),
            forecast::forecast_table::description(),
        ),
    ]
}

/// Registers every Sightline function with `ctx`.
pub fn register_all(ctx: &SessionContext) -> Result<()> {
    for f in scalar_functions() {
        ctx.register_udf(f.as_ref().clone());
    }
    for f in aggregate_functions() {
        ctx.register_udaf(f.as_ref().clone());
    }
    for f in window_functions() {
        ctx.register_udwf(f.as_ref().clone());
    }
    ctx.register_udtf(
        "funnel_report",
        Arc::new(funnel::funnel_report::FunnelReport),
    );
    ctx.register_udtf("also_bought", Arc::new(basket::also_bought::AlsoBought));
    ctx.register_udtf(
        "channel_attribution",
        Arc::new(attribution::channel_attribution::ChannelAttribution),
    );
    ctx.register_udtf(
        "forecast_table",
        Arc::new(forecast::forecast_table::ForecastTable),
    );
    ctx.register_udtf(
        "explain_change",
        Arc::new(insight::explain_change::ExplainChange),
    );
    ctx.register_relation_planner(Arc::new(
        named_args::TableFunctionNamedArgs::new()
            .with_function("funnel_report", funnel::funnel_report::PARAMETERS)
            .with_function("also_bought", basket::also_bought::PARAMETERS)
            .with_function(
                "channel_attribution",
                attribution::channel_attribution::PARAMETERS,
            )
            .with_function("explain_change", insight::explain_change::PARAMETERS)
            .with_function("forecast_table", forecast::forecast_table::PARAMETERS),
    ))?;
    Ok(())
}
