//! `event_path(ts, event [, max_steps [, dedupe]])` → TEXT: the group's events in time order,
//! joined as `a > b > c` — the path format path reports and ChannelAttribution's input use.

use std::mem::size_of;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListArray, StringArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Signature,
};

use super::time::{constant, is_time_type, times_as_i64};
use crate::SqlError;

const USAGE: &str = "event_path(ts, event [, max_steps [, dedupe]]) — e.g. \
    event_path(ts, channel, 10, true)";
const SEPARATOR: &str = " > ";

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_FUNNEL,
        "Aggregate: the group's `event` values in time order joined with ' > ', e.g. \
         'search > social > email'. Events at the same instant are ordered by their text (byte \
         order), so the result does not depend on row order. With `dedupe` true, consecutive \
         repeats collapse into one step ('email > email > search' becomes 'email > search'); \
         then, if `max_steps` is given, only the last `max_steps` steps are kept (the ones \
         closest to the outcome). Rows with a NULL time or event are ignored; a group with no \
         other rows gives NULL. The output is the path format ChannelAttribution and \
         `markov_attribution` read. Checked against DuckDB's ordered string_agg.",
        USAGE,
    )
    .with_sql_example(
        "SELECT event_path(ts, channel, 5, true) AS path, count(*) AS customers\nFROM touchpoints GROUP BY customer_id ORDER BY customers DESC LIMIT 10",
    )
    .with_argument("ts", "TIMESTAMP, DATE or integer event time.")
    .with_argument("event", "The step name; any type, shown as text.")
    .with_argument("max_steps", "Optional positive integer constant: keep the last N steps.")
    .with_argument("dedupe", "Optional boolean constant: collapse consecutive repeats (default false).")
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct EventPath {
    signature: Signature,
}

pub fn event_path_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(EventPath {
            signature: crate::args::named_signature(&["ts", "event", "max_steps", "dedupe"]),
        }))
    });
    Arc::clone(&UDAF)
}

impl AggregateUDFImpl for EventPath {
    fn name(&self) -> &str {
        "event_path"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let ok = (2..=4).contains(&arg_types.len())
            && is_time_type(&arg_types[0])
            && arg_types
                .get(2)
                .is_none_or(|t| t.is_integer() || t == &DataType::Null)
            && arg_types
                .get(3)
                .is_none_or(|t| matches!(t, DataType::Boolean | DataType::Null));
        if !ok {
            return Err(SqlError::wrong_arguments(format!(
                "event_path takes (time, event [, max_steps integer [, dedupe boolean]]), got ({}). Usage: {USAGE}",
                arg_types.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
            )));
        }
        let mut out = arg_types.to_vec();
        out[1] = DataType::Utf8;
        Ok(out)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let max_steps = match args.exprs.get(2) {
            None => None,
            Some(e) => {
                match constant(e, "event_path's max_steps", USAGE)?.cast_to(&DataType::Int64)? {
                    ScalarValue::Int64(Some(n)) if n > 0 => Some(n as usize),
                    _ => {
                        return Err(SqlError::invalid_parameter(format!(
                            "event_path's max_steps must be a positive integer. Usage: {USAGE}"
                        )))
                    }
                }
            }
        };
        let dedupe = match args.exprs.get(3) {
            None => false,
            Some(e) => matches!(
                constant(e, "event_path's dedupe", USAGE)?,
                ScalarValue::Boolean(Some(true))
            ),
        };
        Ok(Box::new(PathAccumulator {
            max_steps,
            dedupe,
            ..Default::default()
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format!("{}[times]", args.name),
                DataType::List(Arc::new(Field::new_list_field(DataType::Int64, false))),
                true,
            )),
            Arc::new(Field::new(
                format!("{}[events]", args.name),
                DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, false))),
                true,
            )),
        ])
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

/// Events held as one text buffer plus offsets: no per-row allocation.
#[derive(Debug, Default)]
struct PathAccumulator {
    max_steps: Option<usize>,
    dedupe: bool,
    times: Vec<i64>,
    ends: Vec<usize>,
    text: String,
}

impl PathAccumulator {
    fn push(&mut self, time: i64, event: &str) {
        self.times.push(time);
        self.text.push_str(event);
        self.ends.push(self.text.len());
    }

    fn event(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

impl Accumulator for PathAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let times = times_as_i64(&values[0])?;
        let events = cast(&values[1], &DataType::Utf8)?;
        let events = events.as_string::<i32>();
        for row in 0..times.len() {
            if times.is_valid(row) && events.is_valid(row) {
                self.push(times.value(row), events.value(row));
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.times.is_empty() {
            return Ok(ScalarValue::Utf8(None));
        }
        let mut order: Vec<usize> = (0..self.times.len()).collect();
        order.sort_unstable_by(|&a, &b| {
            self.times[a]
                .cmp(&self.times[b])
                .then_with(|| self.event(a).cmp(self.event(b)))
        });
        let mut steps: Vec<&str> = order.iter().map(|&i| self.event(i)).collect();
        if self.dedupe {
            steps.dedup();
        }
        if let Some(max) = self.max_steps {
            let drop = steps.len().saturating_sub(max);
            steps.drain(..drop);
        }
        Ok(ScalarValue::Utf8(Some(steps.join(SEPARATOR))))
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let events: StringArray = (0..self.times.len()).map(|i| Some(self.event(i))).collect();
        let times = Int64Array::from(self.times.clone());
        let list = |values: ArrayRef| {
            ListArray::new(
                Arc::new(Field::new_list_field(values.data_type().clone(), false)),
                OffsetBuffer::from_lengths([values.len()]),
                values,
                None,
            )
        };
        Ok(vec![
            ScalarValue::List(Arc::new(list(Arc::new(times)))),
            ScalarValue::List(Arc::new(list(Arc::new(events)))),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (times, events) = (states[0].as_list::<i32>(), states[1].as_list::<i32>());
        for row in 0..times.len() {
            if times.is_null(row) || events.is_null(row) {
                continue;
            }
            let t = times.value(row);
            let e = events.value(row);
            let (t, e) = (t.as_primitive::<Int64Type>(), e.as_string::<i32>());
            for i in 0..t.len() {
                self.push(t.value(i), e.value(i));
            }
        }
        Ok(())
    }

    fn size(&self) -> usize {
        size_of::<Self>()
            + self.times.capacity() * size_of::<i64>()
            + self.ends.capacity() * size_of::<usize>()
            + self.text.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(rows: &[(i64, &str)], max_steps: Option<usize>, dedupe: bool) -> Option<String> {
        let mut acc = PathAccumulator {
            max_steps,
            dedupe,
            ..Default::default()
        };
        let times: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0)));
        let events: ArrayRef = Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1)));
        acc.update_batch(&[times, events]).unwrap();
        // Round-trip through the partition state to exercise merging.
        let state: Vec<ArrayRef> = acc
            .state()
            .unwrap()
            .iter()
            .map(|s| s.to_array().unwrap())
            .collect();
        let mut merged = PathAccumulator {
            max_steps,
            dedupe,
            ..Default::default()
        };
        merged.merge_batch(&state).unwrap();
        match merged.evaluate().unwrap() {
            ScalarValue::Utf8(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn orders_dedupes_and_truncates() {
        let rows = [
            (3, "email"),
            (1, "search"),
            (2, "email"),
            (2, "ad"),
            (5, "email"),
        ];
        assert_eq!(
            path(&rows, None, false).unwrap(),
            "search > ad > email > email > email"
        );
        assert_eq!(path(&rows, None, true).unwrap(), "search > ad > email");
        assert_eq!(path(&rows, Some(2), true).unwrap(), "ad > email");
        assert_eq!(path(&[], None, false), None);
    }
}
