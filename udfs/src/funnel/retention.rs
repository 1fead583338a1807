//! `retention(cond1, …, condN)` → LIST<BOOLEAN>: ClickHouse `retention`. Element 1 says whether
//! `cond1` held on any row of the group; element k whether `cond1` and `condk` both held (on any
//! rows, in any order). Summing the elements over users gives a retention curve.

use std::mem::size_of;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, ListArray, UInt32Array};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, UInt32Type};
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator,
    Signature, Volatility,
};

use super::events::{condition_masks, SingleGroup};
use super::MAX_CONDITIONS;
use crate::SqlError;

const USAGE: &str = "retention(cond1, cond2, ...) — e.g. retention(ts::date = DATE '2025-06-01', \
    ts::date = DATE '2025-06-02', ts::date = DATE '2025-06-08')";

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_FUNNEL,
        "Aggregate: a list of N booleans. Element 1 is true when `cond1` held on any row of the \
         group; element k is true when `cond1` held on some row and `condk` on some row (order \
         and time do not matter). Rows with a NULL condition are ignored (a group with only such \
         rows gives all false). Same as ClickHouse `retention` (checked against ClickHouse 26.9).",
        "retention(cond1, cond2, ..., condN)",
    )
    .with_sql_example(
        "SELECT sum(CASE WHEN r[1] THEN 1 ELSE 0 END) AS day0, sum(CASE WHEN r[2] THEN 1 ELSE 0 END) AS day1\nFROM (SELECT customer_id, retention(ts::date = DATE '2025-06-01', ts::date = DATE '2025-06-02') AS r\n      FROM events GROUP BY customer_id)",
    )
    .with_argument("cond1..condN", "2 to 32 boolean conditions; cond1 defines the cohort.")
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Retention {
    signature: Signature,
}

pub fn retention_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(Retention {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDAF)
}

impl AggregateUDFImpl for Retention {
    fn name(&self) -> &str {
        "retention"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() < 2 || arg_types.len() > MAX_CONDITIONS {
            return Err(SqlError::wrong_arguments(format!(
                "retention takes 2 to {MAX_CONDITIONS} conditions, got {}. Usage: {USAGE}",
                arg_types.len()
            )));
        }
        arg_types
            .iter()
            .enumerate()
            .map(|(i, t)| match t {
                DataType::Boolean | DataType::Null => Ok(DataType::Boolean),
                t if t.is_integer() => Ok(DataType::Boolean),
                t => Err(SqlError::wrong_arguments(format!(
                    "retention: condition {} must be boolean, got {t}. Usage: {USAGE}",
                    i + 1
                ))),
            })
            .collect()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new_list_field(
            DataType::Boolean,
            false,
        ))))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(SingleGroup::new(RetentionAccumulator::new(&args))))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format!("{}[mask]", args.name),
            DataType::UInt32,
            true,
        ))])
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(RetentionAccumulator::new(&args)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

/// One bitmask of conditions seen per group.
struct RetentionAccumulator {
    conditions: usize,
    masks: Vec<u32>,
    seen: Vec<bool>,
}

impl RetentionAccumulator {
    fn new(args: &AccumulatorArgs) -> Self {
        Self {
            conditions: args.exprs.len(),
            masks: vec![],
            seen: vec![],
        }
    }

    /// The conditions bitmask of each row; `None` for filtered rows and rows with a NULL.
    fn row_masks(values: &[ArrayRef], opt_filter: Option<&BooleanArray>) -> Vec<Option<u32>> {
        let rows = values.first().map_or(0, |v| v.len());
        let (masks, valid) = condition_masks(values, None, opt_filter, rows);
        match valid {
            None => masks.into_iter().map(Some).collect(),
            Some(v) => masks
                .into_iter()
                .zip(v.iter())
                .map(|(m, ok)| ok.then_some(m))
                .collect(),
        }
    }
}

impl GroupsAccumulator for RetentionAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.masks.resize(total_num_groups, 0);
        self.seen.resize(total_num_groups, false);
        let (masks, valid) = condition_masks(values, None, opt_filter, group_indices.len());
        match valid {
            None => {
                for (&g, m) in group_indices.iter().zip(masks) {
                    self.seen[g] = true;
                    self.masks[g] |= m;
                }
            }
            Some(valid) => {
                for ((&g, m), ok) in group_indices.iter().zip(masks).zip(valid.iter()) {
                    if ok {
                        self.seen[g] = true;
                        self.masks[g] |= m;
                    }
                }
            }
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        Ok(vec![Arc::new(UInt32Array::from(Self::row_masks(
            values, opt_filter,
        )))])
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let masks = emit_to.take_needed(&mut self.masks);
        emit_to.take_needed(&mut self.seen);
        let n = self.conditions;
        let mut values = Vec::with_capacity(masks.len() * n);
        for &mask in &masks {
            let first = mask & 1 != 0;
            values.push(first);
            values.extend((1..n).map(|i| first && mask & (1 << i) != 0));
        }
        Ok(Arc::new(ListArray::try_new(
            Arc::new(Field::new_list_field(DataType::Boolean, false)),
            OffsetBuffer::from_lengths(std::iter::repeat_n(n, masks.len())),
            Arc::new(BooleanArray::from(values)),
            None,
        )?))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let masks = emit_to.take_needed(&mut self.masks);
        let seen = emit_to.take_needed(&mut self.seen);
        Ok(vec![Arc::new(UInt32Array::new(
            masks.into(),
            Some(NullBuffer::from(seen)),
        ))])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.masks.resize(total_num_groups, 0);
        self.seen.resize(total_num_groups, false);
        let masks = values[0].as_primitive::<UInt32Type>();
        for (row, &g) in group_indices.iter().enumerate() {
            if masks.is_valid(row) {
                self.seen[g] = true;
                self.masks[g] |= masks.value(row);
            }
        }
        Ok(())
    }

    fn size(&self) -> usize {
        self.masks.capacity() * size_of::<u32>() + self.seen.capacity()
    }
}
