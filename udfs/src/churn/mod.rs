//! Churn and customer lifetime value: the BG/NBD and Gamma-Gamma models for non-contractual
//! customers (fitted and applied as the `lifetimes` package does), a penalised logistic churn
//! classifier, and ROC AUC to judge it.

pub mod bgnbd_fit;
pub mod bgnbd_score;
pub mod btyd_summary;
pub mod gamma_gamma_fit;
pub mod logistic_fit;
pub mod logistic_score;
pub mod roc_auc;

pub(crate) mod bgnbd;
pub(crate) mod gamma_gamma;
pub(crate) mod logistic;
pub(crate) mod optimize;
pub(crate) mod special;

#[cfg(test)]
mod oracle_tests;

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::error::Result;
use datafusion::logical_expr::DocSection;
use datafusion::physical_expr::PhysicalExpr;

use crate::args::constant_f64;
use crate::SqlError;

pub const DOC_SECTION_CHURN: DocSection = DocSection {
    include: true,
    label: "Churn and Lifetime Value Functions",
    description: Some(
        "BG/NBD, Gamma-Gamma, customer lifetime value, logistic churn scores, ROC AUC",
    ),
};

/// Checks that the first `numeric` arguments are numbers and at most `optional` more follow;
/// coerces the numbers to DOUBLE.
pub(crate) fn coerce_numbers(
    name: &str,
    args: &[DataType],
    numeric: usize,
    optional: &[DataType],
    usage: &str,
) -> Result<Vec<DataType>> {
    if args.len() < numeric || args.len() > numeric + optional.len() {
        return Err(SqlError::wrong_arguments(format!(
            "{name} takes {numeric} to {} arguments, got {}. Usage: {usage}",
            numeric + optional.len(),
            args.len()
        )));
    }
    let mut out = Vec::with_capacity(args.len());
    for (i, t) in args.iter().enumerate() {
        if i < numeric {
            if !(t.is_numeric() || t == &DataType::Null) {
                return Err(SqlError::wrong_arguments(format!(
                    "{name}: argument {} must be numeric, got {t}. Usage: {usage}",
                    i + 1
                )));
            }
            out.push(DataType::Float64);
        } else {
            let want = &optional[i - numeric];
            let ok = match want {
                DataType::Utf8 => crate::funnel::is_text(t) || t == &DataType::Null,
                _ => t.is_numeric() || t == &DataType::Null,
            };
            if !ok {
                return Err(SqlError::wrong_arguments(format!(
                    "{name}: argument {} must be {}, got {t}. Usage: {usage}",
                    i + 1,
                    if want == &DataType::Utf8 {
                        "text"
                    } else {
                        "a number"
                    }
                )));
            }
            out.push(want.clone());
        }
    }
    Ok(out)
}

/// A column as DOUBLE values.
pub(crate) fn doubles(column: &ArrayRef) -> Result<Float64Array> {
    Ok(cast(column, &DataType::Float64)?
        .as_primitive::<Float64Type>()
        .clone())
}

/// The optional non-negative penalty constant at `exprs[i]` (0 when absent).
pub(crate) fn penalizer(
    exprs: &[Arc<dyn PhysicalExpr>],
    i: usize,
    name: &str,
    usage: &str,
) -> Result<f64> {
    let Some(expr) = exprs.get(i) else {
        return Ok(0.0);
    };
    let what = format!("{name}'s penalizer");
    let v = constant_f64(expr, &what, usage)?;
    if v < 0.0 {
        return Err(SqlError::invalid_parameter(format!(
            "{what} must be >= 0 (0 = plain maximum likelihood), got {v}. Usage: {usage}"
        )));
    }
    Ok(v)
}

/// (row, frequency, recency, T) of the rows without NULLs, each checked the way lifetimes
/// checks its input.
pub(crate) fn histories(
    name: &str,
    columns: &[ArrayRef],
    usage: &str,
) -> Result<Vec<(usize, f64, f64, f64)>> {
    let (x, tx, t) = (
        doubles(&columns[0])?,
        doubles(&columns[1])?,
        doubles(&columns[2])?,
    );
    let mut out = Vec::with_capacity(x.len());
    for row in 0..x.len() {
        if x.is_null(row) || tx.is_null(row) || t.is_null(row) {
            continue;
        }
        let h = (x.value(row), tx.value(row), t.value(row));
        bgnbd::check_history(h.0, h.1, h.2).map_err(|why| {
            SqlError::data_exception(format!(
                "{name}: {why}; pass (frequency, recency, T) as btyd_summary computes them. Usage: {usage}"
            ))
        })?;
        out.push((row, h.0, h.1, h.2));
    }
    Ok(out)
}
