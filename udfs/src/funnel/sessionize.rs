//! `sessionize(ts, gap) OVER (PARTITION BY user ORDER BY ts)` → BIGINT: the session number of
//! each row within its partition, starting at 1; a new session starts when the time since the
//! previous row exceeds `gap` (MADlib's `sessionize` rule, as a window function).

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::error::Result;
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl,
};

use super::time::{constant_duration, is_time_type, times_as_i64, TimeKind};
use crate::SqlError;

const USAGE: &str = "sessionize(ts, gap) OVER (PARTITION BY user_id ORDER BY ts) — e.g. \
    sessionize(ts, INTERVAL '30 minutes') OVER (PARTITION BY customer_id ORDER BY ts)";

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_FUNNEL,
        "Window function: numbers each row's session within the window partition, starting at \
         1. A new session starts when the time since the previous row is greater than `gap` (a \
         gap exactly equal to `gap` stays in the session). Needs `ORDER BY ts` (ascending) in \
         the OVER clause; rows out of time order are an error rather than silently wrong \
         sessions. Rows with a NULL time get NULL and do not break the session. Same rule as \
         MADlib `sessionize` (ClickHouse has no equivalent); checked against DuckDB window functions.",
        USAGE,
    )
    .with_sql_example(
        "SELECT customer_id, ts, sessionize(ts, INTERVAL '30 minutes') OVER (PARTITION BY customer_id ORDER BY ts) AS session\nFROM events LIMIT 10",
    )
    .with_argument("ts", "TIMESTAMP, DATE or integer event time; the OVER clause must order by it.")
    .with_argument("gap", "INTERVAL or number of seconds (for integer times, the same unit).")
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Sessionize {
    signature: Signature,
}

pub fn sessionize_udwf() -> Arc<WindowUDF> {
    static UDWF: LazyLock<Arc<WindowUDF>> = LazyLock::new(|| {
        Arc::new(WindowUDF::from(Sessionize {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDWF)
}

impl WindowUDFImpl for Sessionize {
    fn name(&self) -> &str {
        "sessionize"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [ts, gap] if is_time_type(ts) && (gap.is_numeric() || matches!(gap, DataType::Interval(_))) => {
                Ok(arg_types.to_vec())
            }
            _ => Err(SqlError::wrong_arguments(format!(
                "sessionize takes (TIMESTAMP/DATE/integer time, INTERVAL or seconds gap), got ({}). Usage: {USAGE}",
                arg_types.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let kind = TimeKind::of(args.input_fields()[0].data_type()).unwrap_or(TimeKind::Micros);
        let gap = constant_duration(&args.input_exprs()[1], kind, "sessionize's gap", USAGE)?;
        Ok(Box::new(SessionEvaluator { gap }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Int64,
            true,
        )))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[derive(Debug)]
struct SessionEvaluator {
    gap: i64,
}

impl PartitionEvaluator for SessionEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], _num_rows: usize) -> Result<ArrayRef> {
        let times = times_as_i64(&values[0])?;
        let mut session = 0i64;
        let mut previous: Option<i64> = None;
        let mut out = Vec::with_capacity(times.len());
        for t in times.iter() {
            let Some(t) = t else {
                out.push(None);
                continue;
            };
            match previous {
                Some(p) if t < p => {
                    return Err(SqlError::data_exception(format!(
                        "sessionize saw rows out of time order; order the window by the same time column, ascending. Usage: {USAGE}"
                    )))
                }
                Some(p) if t.saturating_sub(p) <= self.gap => {}
                _ => session += 1,
            }
            previous = Some(t);
            out.push(Some(session));
        }
        Ok(Arc::new(Int64Array::from(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_start_sessions_and_disorder_is_an_error() {
        let mut e = SessionEvaluator { gap: 10 };
        let ts: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(0),
            Some(5),
            None,
            Some(15),
            Some(26),
            Some(26),
        ]));
        let out = e.evaluate_all(&[ts], 6).unwrap();
        let want = Int64Array::from(vec![Some(1), Some(1), None, Some(1), Some(2), Some(2)]);
        assert_eq!(out.as_ref(), &want as &dyn datafusion::arrow::array::Array);
        let unsorted: ArrayRef = Arc::new(Int64Array::from(vec![5, 1]));
        let err = e.evaluate_all(&[unsorted], 2).unwrap_err().to_string();
        assert!(err.contains("out of time order"), "{err}");
    }
}
