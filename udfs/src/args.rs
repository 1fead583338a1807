//! Constant arguments (thresholds, modes, patterns) read from a function call's physical
//! expressions, with errors that show the correct call.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{Signature, Volatility};
use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_expr::PhysicalExpr;

use crate::SqlError;

/// The constant value of an argument, or an error naming the argument and the correct call.
pub(crate) fn constant<'a>(
    expr: &'a Arc<dyn PhysicalExpr>,
    what: &str,
    usage: &str,
) -> Result<&'a ScalarValue> {
    match (expr.as_ref() as &dyn std::any::Any).downcast_ref::<Literal>() {
        Some(lit) if !lit.value().is_null() => Ok(lit.value()),
        Some(_) => Err(SqlError::invalid_parameter(format!(
            "{what} must not be NULL. Usage: {usage}"
        ))),
        None => Err(SqlError::invalid_parameter(format!(
            "{what} must be a constant. Usage: {usage}"
        ))),
    }
}

/// A constant text argument.
pub(crate) fn constant_string(
    expr: &Arc<dyn PhysicalExpr>,
    what: &str,
    usage: &str,
) -> Result<String> {
    match constant(expr, what, usage)? {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => Ok(s.clone()),
        other => Err(SqlError::invalid_parameter(format!(
            "{what} must be a text constant, got {}. Usage: {usage}",
            other.data_type()
        ))),
    }
}

/// A constant number argument as `f64`.
pub(crate) fn constant_f64(expr: &Arc<dyn PhysicalExpr>, what: &str, usage: &str) -> Result<f64> {
    match constant(expr, what, usage)?.cast_to(&DataType::Float64) {
        Ok(ScalarValue::Float64(Some(v))) if v.is_finite() => Ok(v),
        _ => Err(SqlError::invalid_parameter(format!(
            "{what} must be a number. Usage: {usage}"
        ))),
    }
}

/// A constant integer argument.
pub(crate) fn constant_i64(expr: &Arc<dyn PhysicalExpr>, what: &str, usage: &str) -> Result<i64> {
    let value = constant(expr, what, usage)?;
    match value.cast_to(&DataType::Int64) {
        Ok(ScalarValue::Int64(Some(v))) if value.data_type().is_integer() => Ok(v),
        _ => Err(SqlError::invalid_parameter(format!(
            "{what} must be an integer. Usage: {usage}"
        ))),
    }
}

/// A user-defined signature whose parameters can also be passed by name (`order => 2`).
pub(crate) fn named_signature(names: &[&str]) -> Signature {
    let plain = Signature::user_defined(Volatility::Immutable);
    // Names are only rejected for fixed-arity signatures, which these are not.
    plain
        .clone()
        .with_parameter_names(names.to_vec())
        .unwrap_or(plain)
}

/// The parts of an options text `'key=value, key=value'` as (part, key, value), keys lower-cased.
pub(crate) fn option_pairs(text: &str) -> impl Iterator<Item = (&str, String, &str)> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (key, value) = part
                .split_once('=')
                .map(|(a, b)| (a.trim(), b.trim()))
                .unwrap_or((part, ""));
            (part, key.to_ascii_lowercase(), value)
        })
}

/// An options boolean: true/on/yes/1 or false/off/no/0.
pub(crate) fn option_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" => Some(true),
        "false" | "off" | "no" | "0" => Some(false),
        _ => None,
    }
}
