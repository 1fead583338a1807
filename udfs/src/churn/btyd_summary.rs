//! `btyd_summary(ts, amount, observation_end [, period])` aggregate → one customer's
//! (frequency, recency, t, monetary), as `lifetimes.utils.summary_data_from_transaction_data`
//! computes them.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, Fields, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use datafusion::common::scalar::ScalarStructBuilder;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Signature, Volatility,
};

use super::bgnbd_fit::{extend_from_lists, f64_list, list_scalar};
use super::doubles;
use crate::args::constant_string;
use crate::SqlError;

const USAGE: &str = "btyd_summary(ts, amount, observation_end [, period]) — e.g. \
    SELECT customer_id, btyd_summary(ordered_at, total, TIMESTAMP '2025-12-31 23:59:59', 'W') \
    FROM orders GROUP BY customer_id; period 'D' (default), 'W' or 'M'";

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_CHURN,
        "Aggregate over one customer's purchases: {frequency, recency, t, monetary DOUBLE}, the \
         inputs of bgnbd_fit / gamma_gamma_fit / clv, exactly as lifetimes' \
         summary_data_from_transaction_data computes them. Every timestamp is replaced by the \
         start of its period ('D' the day, 'W' the Monday of its Monday-to-Sunday week, 'M' the \
         1st of the month; UTC); purchases in one period are one transaction (amounts summed); \
         purchases whose period starts after observation_end's period are dropped. frequency = \
         number of periods with a purchase − 1 (repeat purchases); recency = last − first \
         period, t = observation_end's period − first period, both in periods (days, weeks, or \
         months of 30.436875 days, so monthly values are fractional); monetary = mean amount of \
         the repeat periods (0 without repeats). NULL when the customer has no purchase up to \
         observation_end. NULL ts rows are skipped, a NULL amount counts as 0; observation_end \
         must be the same for every row of a group (22023 otherwise).",
        USAGE,
    )
    .with_sql_example(
        "SELECT customer_id, s.frequency, s.recency, s.t, s.monetary\nFROM (SELECT customer_id, btyd_summary(ordered_at, total, DATE '2025-12-31') AS s\n      FROM orders GROUP BY customer_id)",
    )
    .with_argument("ts", "Purchase time (timestamp or date).")
    .with_argument("amount", "Purchase value.")
    .with_argument("observation_end", "End of the observation window (timestamp or date; usually a constant).")
    .with_argument("period", "Optional constant text: 'D' (days, default), 'W' (weeks), 'M' (months).")
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BtydSummary {
    signature: Signature,
}

pub fn btyd_summary_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(BtydSummary {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDAF)
}

fn fields() -> Fields {
    Fields::from(vec![
        Field::new("frequency", DataType::Float64, false),
        Field::new("recency", DataType::Float64, false),
        Field::new("t", DataType::Float64, false),
        Field::new("monetary", DataType::Float64, false),
    ])
}

fn micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

fn is_time(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 | DataType::Null
    ) || crate::funnel::is_text(t)
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_uppercase().as_str() {
            "D" | "DAY" | "DAYS" => Some(Period::Day),
            "W" | "WEEK" | "WEEKS" => Some(Period::Week),
            "M" | "MONTH" | "MONTHS" => Some(Period::Month),
            _ => None,
        }
    }

    /// Days per period, as lifetimes divides (pandas' average month for 'M').
    fn days(self) -> f64 {
        match self {
            Period::Day => 1.0,
            Period::Week => 7.0,
            Period::Month => 30.436875,
        }
    }

    /// The day number (since 1970-01-01) of the start of the period holding `micros`.
    fn start(self, micros: i64) -> i64 {
        let day = micros.div_euclid(86_400_000_000);
        match self {
            Period::Day => day,
            // 1970-01-01 was a Thursday: Monday is 3 days earlier.
            Period::Week => day - (day + 3).rem_euclid(7),
            Period::Month => {
                let (y, m, _) = civil_from_days(day);
                days_from_civil(y, m, 1)
            }
        }
    }
}

/// (year, month, day) of a day number (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl AggregateUDFImpl for BtydSummary {
    fn name(&self) -> &str {
        "btyd_summary"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let bad =
            |why: String| SqlError::wrong_arguments(format!("btyd_summary: {why}. Usage: {USAGE}"));
        if !(3..=4).contains(&arg_types.len()) {
            return Err(bad(format!(
                "takes 3 or 4 arguments, got {}",
                arg_types.len()
            )));
        }
        if !is_time(&arg_types[0]) {
            return Err(bad(format!(
                "ts must be a timestamp or date, got {}",
                arg_types[0]
            )));
        }
        if !(arg_types[1].is_numeric() || arg_types[1] == DataType::Null) {
            return Err(bad(format!("amount must be numeric, got {}", arg_types[1])));
        }
        if !is_time(&arg_types[2]) {
            return Err(bad(format!(
                "observation_end must be a timestamp or date, got {}",
                arg_types[2]
            )));
        }
        let mut out = vec![micros(), DataType::Float64, micros()];
        if let Some(t) = arg_types.get(3) {
            if !crate::funnel::is_text(t) {
                return Err(bad(format!(
                    "period must be text ('D', 'W' or 'M'), got {t}"
                )));
            }
            out.push(DataType::Utf8);
        }
        Ok(out)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(fields()))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let period = match args.exprs.get(3) {
            None => Period::Day,
            Some(e) => {
                let text = constant_string(e, "btyd_summary's period", USAGE)?;
                Period::parse(&text).ok_or_else(|| {
                    SqlError::invalid_parameter(format!(
                        "btyd_summary's period must be 'D', 'W' or 'M', got '{text}'. Usage: {USAGE}"
                    ))
                })?
            }
        };
        Ok(Box::new(SummaryAccumulator {
            period,
            ts: vec![],
            amounts: vec![],
            end: None,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format!("{}[ts]", args.name),
                DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true))),
                true,
            )),
            Arc::new(Field::new(
                format!("{}[amount]", args.name),
                f64_list(),
                true,
            )),
            Arc::new(Field::new(
                format!("{}[end]", args.name),
                DataType::Int64,
                true,
            )),
        ])
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[derive(Debug)]
struct SummaryAccumulator {
    period: Period,
    /// Purchase times (µs since the epoch) and amounts.
    ts: Vec<i64>,
    amounts: Vec<f64>,
    end: Option<i64>,
}

impl SummaryAccumulator {
    fn set_end(&mut self, end: i64) -> Result<()> {
        match self.end {
            Some(e) if e != end => Err(SqlError::invalid_parameter(format!(
                "btyd_summary's observation_end must be the same for every row of a customer. Usage: {USAGE}"
            ))),
            _ => {
                self.end = Some(end);
                Ok(())
            }
        }
    }
}

impl Accumulator for SummaryAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let ts = cast(&values[0], &micros())?;
        let ts = ts.as_primitive::<TimestampMicrosecondType>();
        let amounts = doubles(&values[1])?;
        let end = cast(&values[2], &micros())?;
        let end = end.as_primitive::<TimestampMicrosecondType>();
        for row in 0..ts.len() {
            if end.is_valid(row) {
                self.set_end(end.value(row))?;
            }
            if ts.is_valid(row) {
                self.ts.push(ts.value(row));
                self.amounts.push(if amounts.is_valid(row) {
                    amounts.value(row)
                } else {
                    0.0
                });
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let null = || ScalarValue::try_from(DataType::Struct(fields()));
        let Some(end) = self.end else {
            return null();
        };
        let end = self.period.start(end);
        let mut periods: BTreeMap<i64, f64> = BTreeMap::new();
        for (&ts, &amount) in self.ts.iter().zip(&self.amounts) {
            let start = self.period.start(ts);
            if start <= end {
                *periods.entry(start).or_default() += amount;
            }
        }
        let (Some((&first, _)), Some((&last, _))) =
            (periods.first_key_value(), periods.last_key_value())
        else {
            return null();
        };
        let unit = self.period.days();
        let frequency = (periods.len() - 1) as f64;
        let monetary = if periods.len() > 1 {
            periods.values().skip(1).sum::<f64>() / frequency
        } else {
            0.0
        };
        let fields = fields();
        let value = |v: f64| ScalarValue::Float64(Some(v));
        ScalarStructBuilder::new()
            .with_scalar(fields[0].as_ref().clone(), value(frequency))
            .with_scalar(
                fields[1].as_ref().clone(),
                value((last - first) as f64 / unit),
            )
            .with_scalar(
                fields[2].as_ref().clone(),
                value((end - first) as f64 / unit),
            )
            .with_scalar(fields[3].as_ref().clone(), value(monetary))
            .build()
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.ts.capacity() * 8 + self.amounts.capacity() * 8
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let ts = Int64Array::from(std::mem::take(&mut self.ts));
        Ok(vec![
            ScalarValue::List(Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(DataType::Int64, true)),
                OffsetBuffer::from_lengths([ts.len()]),
                Arc::new(ts),
                None,
            ))),
            list_scalar(std::mem::take(&mut self.amounts)),
            ScalarValue::Int64(self.end),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for i in 0..lists.len() {
            if lists.is_valid(i) {
                let v = lists.value(i);
                self.ts
                    .extend(v.as_primitive::<Int64Type>().values().iter());
            }
        }
        extend_from_lists(&mut self.amounts, &states[1]);
        let ends = states[2].as_primitive::<Int64Type>();
        for i in 0..ends.len() {
            if ends.is_valid(i) {
                self.set_end(ends.value(i))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips() {
        for day in [-800_000, -1, 0, 59, 10_000, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn periods_start_where_pandas_starts_them() {
        let day = |y, m, d| days_from_civil(y, m, d) * 86_400_000_000 + 3_600_000_000;
        // 1997-09-30 was a Tuesday: its week starts on Monday 1997-09-29.
        assert_eq!(
            Period::Week.start(day(1997, 9, 30)),
            days_from_civil(1997, 9, 29)
        );
        assert_eq!(
            Period::Week.start(day(1997, 10, 5)),
            days_from_civil(1997, 9, 29)
        );
        assert_eq!(
            Period::Month.start(day(1998, 6, 30)),
            days_from_civil(1998, 6, 1)
        );
        assert_eq!(Period::Day.start(-1), -1);
    }
}
