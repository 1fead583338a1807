//! Time arguments shared by the funnel family: event timestamps become `i64` (microseconds for
//! timestamps and dates, the caller's own unit for integers) and constant durations (`INTERVAL` or
//! a number of seconds) are converted to the same unit.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMicrosecondType};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::physical_expr::PhysicalExpr;

use crate::SqlError;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// How an event-time column is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeKind {
    /// Timestamps and dates, held as microseconds since the epoch.
    Micros,
    /// Plain integers; durations are given in the same unit.
    Integer,
}

impl TimeKind {
    pub(crate) fn of(dt: &DataType) -> Option<TimeKind> {
        match dt {
            DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => {
                Some(TimeKind::Micros)
            }
            dt if dt.is_integer() => Some(TimeKind::Integer),
            _ => None,
        }
    }

    /// Seconds (as written in a pattern such as `(?t<=3600)`) in this kind's unit.
    pub(crate) fn seconds(self, seconds: i64) -> i64 {
        match self {
            TimeKind::Micros => seconds.saturating_mul(MICROS_PER_SECOND),
            TimeKind::Integer => seconds,
        }
    }
}

/// Is `dt` accepted as an event time?
pub(crate) fn is_time_type(dt: &DataType) -> bool {
    TimeKind::of(dt).is_some() || dt == &DataType::Null
}

/// Reads an event-time column as `i64` in its kind's unit, keeping NULLs.
pub(crate) fn times_as_i64(array: &ArrayRef) -> Result<Int64Array> {
    match array.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, _) => Ok(array
            .as_primitive::<TimestampMicrosecondType>()
            .reinterpret_cast::<Int64Type>()),
        // Changing only the unit keeps the instant; no time-zone adjustment happens.
        DataType::Timestamp(_, tz) => {
            let micros = cast(
                array,
                &DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
            )?;
            Ok(micros
                .as_primitive::<TimestampMicrosecondType>()
                .reinterpret_cast::<Int64Type>())
        }
        DataType::Date32 | DataType::Date64 => {
            let micros = cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
            Ok(micros
                .as_primitive::<TimestampMicrosecondType>()
                .reinterpret_cast::<Int64Type>())
        }
        _ => Ok(cast(array, &DataType::Int64)?
            .as_primitive::<Int64Type>()
            .clone()),
    }
}

pub(crate) use crate::args::{constant, constant_string};

/// A constant non-negative duration (INTERVAL, or a number of seconds; for integer event times, a
/// number in the same unit), converted to `kind`'s unit.
pub(crate) fn constant_duration(
    expr: &Arc<dyn PhysicalExpr>,
    kind: TimeKind,
    what: &str,
    usage: &str,
) -> Result<i64> {
    let value = constant(expr, what, usage)?;
    let bad = |why: &str| SqlError::invalid_parameter(format!("{what} {why}. Usage: {usage}"));
    let micros_interval = |months: i64, micros: i128| -> Result<i64> {
        if kind == TimeKind::Integer {
            return Err(bad(
                "must be an integer in the same unit as the integer event time, not an INTERVAL",
            ));
        }
        if months != 0 {
            return Err(bad(
                "must be a fixed duration: months and years vary in length, use days",
            ));
        }
        i64::try_from(micros).map_err(|_| bad("is too large"))
    };
    let duration = match value {
        ScalarValue::IntervalMonthDayNano(Some(v)) => micros_interval(
            v.months.into(),
            i128::from(v.days) * i128::from(MICROS_PER_DAY) + i128::from(v.nanoseconds) / 1000,
        )?,
        ScalarValue::IntervalDayTime(Some(v)) => micros_interval(
            0,
            i128::from(v.days) * i128::from(MICROS_PER_DAY) + i128::from(v.milliseconds) * 1000,
        )?,
        ScalarValue::IntervalYearMonth(Some(m)) => micros_interval((*m).into(), 0)?,
        ScalarValue::Float16(_)
        | ScalarValue::Float32(_)
        | ScalarValue::Float64(_)
        | ScalarValue::Decimal128(..) => {
            let seconds = match value.cast_to(&DataType::Float64)? {
                ScalarValue::Float64(Some(f)) => f,
                _ => return Err(bad("must be a number")),
            };
            if kind == TimeKind::Integer {
                if seconds.fract() != 0.0 {
                    return Err(bad("must be a whole number for integer event times"));
                }
                seconds as i64
            } else {
                let micros = (seconds * MICROS_PER_SECOND as f64).round();
                if !micros.is_finite() || micros.abs() > i64::MAX as f64 {
                    return Err(bad("is too large"));
                }
                micros as i64
            }
        }
        v if v.data_type().is_integer() => {
            let n = match v.cast_to(&DataType::Int64) {
                Ok(ScalarValue::Int64(Some(n))) => n,
                _ => return Err(bad("is too large")),
            };
            kind.seconds(n)
        }
        other => {
            return Err(bad(&format!(
                "must be an INTERVAL or a number of seconds, got {}",
                other.data_type()
            )))
        }
    };
    if duration < 0 {
        return Err(bad("must not be negative"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::IntervalMonthDayNano;
    use datafusion::physical_expr::expressions::Literal;

    fn lit(v: ScalarValue) -> Arc<dyn PhysicalExpr> {
        Arc::new(Literal::new(v))
    }

    #[test]
    fn durations_in_each_unit() {
        let d = |v, k| constant_duration(&lit(v), k, "window", "f(window, ts, ...)");
        assert_eq!(
            d(ScalarValue::Int64(Some(60)), TimeKind::Micros).unwrap(),
            60_000_000
        );
        assert_eq!(
            d(ScalarValue::Int64(Some(60)), TimeKind::Integer).unwrap(),
            60
        );
        assert_eq!(
            d(ScalarValue::Float64(Some(1.5)), TimeKind::Micros).unwrap(),
            1_500_000
        );
        let hour = ScalarValue::IntervalMonthDayNano(Some(IntervalMonthDayNano::new(
            0,
            1,
            3_600_000_000_000,
        )));
        assert_eq!(
            d(hour.clone(), TimeKind::Micros).unwrap(),
            MICROS_PER_DAY + 3_600_000_000
        );
        assert!(d(hour, TimeKind::Integer).is_err());
        let month = ScalarValue::IntervalMonthDayNano(Some(IntervalMonthDayNano::new(1, 0, 0)));
        assert!(d(month, TimeKind::Micros)
            .unwrap_err()
            .to_string()
            .contains("fixed duration"));
        assert!(d(ScalarValue::Int64(Some(-1)), TimeKind::Micros).is_err());
        assert!(d(ScalarValue::Int64(None), TimeKind::Micros).is_err());
        assert!(d(ScalarValue::from("x"), TimeKind::Micros).is_err());
    }
}
