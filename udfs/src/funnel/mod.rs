//! Traffic analysis: funnels, retention, sequences, sessions and paths, with ClickHouse's
//! semantics where ClickHouse has the function.

pub mod event_path;
pub mod funnel_report;
pub mod retention;
pub mod sequence;
pub mod sessionize;
pub mod window_funnel;

mod events;
pub(crate) mod time;

#[cfg(test)]
mod oracle_tests;

use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::DocSection;

use crate::SqlError;

pub const DOC_SECTION_FUNNEL: DocSection = DocSection {
    include: true,
    label: "Funnel and Path Functions",
    description: Some("Funnels, retention, event sequences, sessions and paths"),
};

/// ClickHouse's limit on funnel/sequence conditions; a condition set fits a `u32` bitmask.
pub(crate) const MAX_CONDITIONS: usize = 32;

pub(crate) fn is_text(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
    ) || matches!(dt, DataType::Dictionary(_, v) if is_text(v))
}

/// Checks `[ts, cond1, …]` and coerces the conditions to BOOLEAN (integers count as true when
/// non-zero, as ClickHouse's UInt8 conditions do).
pub(crate) fn coerce_conditions(
    name: &str,
    args: &[DataType],
    usage: &str,
) -> Result<Vec<DataType>> {
    let ts = &args[0];
    if !time::is_time_type(ts) {
        return Err(SqlError::wrong_arguments(format!(
            "{name}: the event time must be a TIMESTAMP, DATE or integer, got {ts}. Usage: {usage}"
        )));
    }
    let conditions = &args[1..];
    if conditions.len() > MAX_CONDITIONS {
        return Err(SqlError::wrong_arguments(format!(
            "{name} accepts at most {MAX_CONDITIONS} conditions, got {}",
            conditions.len()
        )));
    }
    let mut out = vec![ts.clone()];
    for (i, c) in conditions.iter().enumerate() {
        if !(matches!(c, DataType::Boolean | DataType::Null) || c.is_integer()) {
            return Err(SqlError::wrong_arguments(format!(
                "{name}: condition {} must be a boolean expression such as event_type = 'view', got {c}. Usage: {usage}",
                i + 1
            )));
        }
        out.push(DataType::Boolean);
    }
    Ok(out)
}
