//! Customer segmentation: RFM segments, k-means clusters (per window partition or as an
//! aggregate) and labels that describe each cluster by the features where it stands out.

pub mod kmeans_centroids;
pub mod kmeans_cluster;
pub mod rfm_segment;
pub mod segment_label;

pub(crate) mod kmeans;

#[cfg(test)]
mod oracle_tests;

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::DocSection;
use datafusion::physical_expr::PhysicalExpr;

use crate::args::constant;
use crate::SqlError;
use kmeans::Options;

pub const DOC_SECTION_SEGMENT: DocSection = DocSection {
    include: true,
    label: "Segmentation Functions",
    description: Some("RFM segments, k-means clustering and self-describing segments"),
};

pub(crate) const MAX_K: i64 = 1000;

/// Checks `(k, [options,] f1, …, fn)` and coerces the features to DOUBLE.
pub(crate) fn coerce_kmeans_args(
    name: &str,
    args: &[DataType],
    usage: &str,
) -> Result<Vec<DataType>> {
    let bad = |why: String| SqlError::wrong_arguments(format!("{name}: {why}. Usage: {usage}"));
    let Some(k) = args.first() else {
        return Err(bad("missing k and the features".into()));
    };
    if !(k.is_integer() || k == &DataType::Null) {
        return Err(bad(format!(
            "k must be an integer constant (0 = choose k), got {k}"
        )));
    }
    let mut out = vec![DataType::Int64];
    let mut rest = &args[1..];
    if let Some(first) = rest.first() {
        if crate::funnel::is_text(first) {
            out.push(DataType::Utf8);
            rest = &rest[1..];
        }
    }
    if rest.is_empty() {
        return Err(bad("give at least one numeric feature".into()));
    }
    for (i, t) in rest.iter().enumerate() {
        if !(t.is_numeric() || t == &DataType::Null) {
            return Err(bad(format!("feature {} must be numeric, got {t}", i + 1)));
        }
        out.push(DataType::Float64);
    }
    Ok(out)
}

/// Reads k (0 = automatic), the options and where the features start.
pub(crate) fn kmeans_call(
    name: &str,
    exprs: &[Arc<dyn PhysicalExpr>],
    types: &[DataType],
    usage: &str,
) -> Result<(usize, Options, usize)> {
    let k = match constant(&exprs[0], &format!("{name}'s k"), usage)?.cast_to(&DataType::Int64)? {
        ScalarValue::Int64(Some(k)) if (0..=MAX_K).contains(&k) => k as usize,
        other => {
            return Err(SqlError::invalid_parameter(format!(
                "{name}'s k must be 0 (choose k) or 1 to {MAX_K}, got {other}. Usage: {usage}"
            )))
        }
    };
    let mut options = Options::default();
    let mut start = 1;
    if types.get(1) == Some(&DataType::Utf8) {
        start = 2;
        let text = crate::args::constant_string(&exprs[1], &format!("{name}'s options"), usage)?;
        for (part, key, value) in crate::args::option_pairs(&text) {
            let bad = || {
                SqlError::invalid_parameter(format!(
                    "{name}: bad option '{part}'; options are standardize=true|false, n_init=1..100, max_iter=1..10000, seed=N. Usage: {usage}"
                ))
            };
            match key.as_str() {
                "standardize" => {
                    options.standardize = crate::args::option_bool(value).ok_or_else(bad)?
                }
                "n_init" => {
                    options.n_init = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=100).contains(n))
                        .ok_or_else(bad)?
                }
                "max_iter" => {
                    options.max_iter = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=10_000).contains(n))
                        .ok_or_else(bad)?
                }
                "seed" => options.seed = value.parse().map_err(|_| bad())?,
                _ => return Err(bad()),
            }
        }
    }
    Ok((k, options, start))
}

/// Row-major feature values of the rows where every feature is present (their row numbers too).
pub(crate) fn feature_rows(name: &str, columns: &[ArrayRef]) -> Result<(Vec<f64>, Vec<usize>)> {
    let columns: Vec<ArrayRef> = columns
        .iter()
        .map(|c| cast(c, &DataType::Float64))
        .collect::<std::result::Result<_, _>>()?;
    let columns: Vec<_> = columns
        .iter()
        .map(|c| c.as_primitive::<Float64Type>())
        .collect();
    let n = columns.first().map_or(0, |c| c.len());
    let mut points = Vec::with_capacity(n * columns.len());
    let mut rows = Vec::with_capacity(n);
    for row in 0..n {
        if columns.iter().any(|c| c.is_null(row)) {
            continue;
        }
        for (f, c) in columns.iter().enumerate() {
            let v = c.value(row);
            if !v.is_finite() {
                return Err(SqlError::data_exception(format!(
                    "{name}: feature {} is {v} on some row; features must be finite numbers (NULL rows are skipped)",
                    f + 1
                )));
            }
            points.push(v);
        }
        rows.push(row);
    }
    Ok((points, rows))
}
