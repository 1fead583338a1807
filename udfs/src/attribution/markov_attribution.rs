//! `markov_attribution(path, conversions, conversion_value, null_count [, order])` aggregate:
//! data-driven Markov-chain attribution with ChannelAttribution's model, computed exactly.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, FieldRef, Fields};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Signature,
};

use super::chain::markov_credit;
use super::paths::{path_coercion, PathCounts};
use super::{credit_list, credit_type};
use crate::args::constant_i64;
use crate::SqlError;

const USAGE: &str =
    "markov_attribution(path, conversions, conversion_value, null_count [, order]) \
    — e.g. markov_attribution(path, conversions, revenue, nulls, 2) over rows of distinct paths \
    ('search > video > search'), or one row per journey with conversions 1/0 and null_count 0/1";

pub(crate) const MAX_ORDER: i64 = 4;

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_ATTRIBUTION,
        "Aggregate: data-driven attribution with the Markov-chain model of the ChannelAttribution \
         package, computed exactly. States are channels (or, for order k, windows of k consecutive \
         channels), consecutive repeats collapsed; transitions are weighted by conversions + \
         nulls. A channel's removal effect is the share of conversion probability lost when \
         every state holding it leads nowhere: 1 − P(convert without it) / P(convert), from a \
         linear solve instead of ChannelAttribution's simulation, so results are deterministic. \
         Credited conversions = removal effect / sum of removal effects × total conversions; \
         credited value likewise, with each conversion worth the mean value of the conversions \
         ending in the same state. Returns a list of {channel, removal_effect, conversions, \
         conversion_value}, ordered by conversions (descending), then channel. NULL counts count \
         as 0; NULL or empty paths are skipped.",
        USAGE,
    )
    .with_sql_example(
        "SELECT c.channel, c.removal_effect, c.conversions, c.conversion_value\nFROM (SELECT unnest(markov_attribution(path, conversions, revenue, nulls)) AS c FROM journeys)",
    )
    .with_argument("path", "TEXT `a > b > c` (ChannelAttribution's format) or a LIST of channel names, in time order.")
    .with_argument("conversions", "Number of conversions of this path (1/0 for one journey per row).")
    .with_argument("conversion_value", "Revenue of those conversions.")
    .with_argument("null_count", "Number of journeys with this path that did not convert.")
    .with_argument("order", "Optional constant 1 to 4 (default 1): states are windows of this many channels.")
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MarkovAttribution {
    signature: Signature,
}

pub fn markov_attribution_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(MarkovAttribution {
            signature: crate::args::named_signature(&[
                "path",
                "conversions",
                "conversion_value",
                "null_count",
                "order",
            ]),
        }))
    });
    Arc::clone(&UDAF)
}

fn fields() -> Fields {
    super::credit_fields("removal_effect")
}

impl AggregateUDFImpl for MarkovAttribution {
    fn name(&self) -> &str {
        "markov_attribution"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let bad = |why: String| {
            SqlError::wrong_arguments(format!("markov_attribution: {why}. Usage: {USAGE}"))
        };
        if !(4..=5).contains(&arg_types.len()) {
            return Err(bad(format!(
                "expected 4 or 5 arguments, got {}",
                arg_types.len()
            )));
        }
        let path = path_coercion(&arg_types[0]).ok_or_else(|| {
            bad(format!(
                "the path must be TEXT ('a > b') or a LIST of TEXT, got {}",
                arg_types[0]
            ))
        })?;
        let mut out = vec![path];
        for (i, name) in ["conversions", "conversion_value", "null_count"]
            .iter()
            .enumerate()
        {
            let t = &arg_types[i + 1];
            if !(t.is_numeric() || t == &DataType::Null) {
                return Err(bad(format!("{name} must be a number, got {t}")));
            }
            out.push(DataType::Float64);
        }
        if let Some(t) = arg_types.get(4) {
            if !t.is_integer() {
                return Err(bad(format!(
                    "order must be an integer constant 1 to {MAX_ORDER}, got {t}"
                )));
            }
            out.push(DataType::Int64);
        }
        Ok(out)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(credit_type(fields()))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let order = match args.exprs.get(4) {
            Some(e) => constant_i64(e, "markov_attribution's order", USAGE)?,
            None => 1,
        };
        if !(1..=MAX_ORDER).contains(&order) {
            return Err(SqlError::invalid_parameter(format!(
                "markov_attribution's order must be 1 to {MAX_ORDER}, got {order}. Usage: {USAGE}"
            )));
        }
        Ok(Box::new(MarkovAccumulator {
            order: order as usize,
            paths: PathCounts::default(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(PathCounts::state_fields(
            args.name,
            ["conversions", "values", "nulls"],
        ))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[derive(Debug)]
struct MarkovAccumulator {
    order: usize,
    paths: PathCounts,
}

impl Accumulator for MarkovAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.paths.update(
            &values[0],
            [&values[1], &values[2], &values[3]],
            ["conversions", "conversion_value", "null_count"],
            USAGE,
        )
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.paths.flush();
        let credits = markov_credit(&self.paths, self.order)?;
        credit_list(
            fields(),
            credits.iter().map(|c| {
                (
                    c.channel.as_str(),
                    c.removal_effect,
                    c.conversions,
                    Some(c.conversion_value),
                )
            }),
        )
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.paths.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.paths.state()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.paths.merge(states)
    }
}
