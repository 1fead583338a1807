//! `shapley_attribution(path, conversions [, conversion_value [, journeys]])` aggregate: the
//! set-based Shapley-value attribution model.

use datafusion::common::HashMap;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, FieldRef, Fields};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Signature,
};

use super::paths::{path_coercion, PathCounts};
use super::{credit_list, credit_type};
use crate::SqlError;

const USAGE: &str = "shapley_attribution(path, conversions [, conversion_value [, journeys]]) — \
    e.g. shapley_attribution(path, converted, revenue) with one row per journey, or \
    shapley_attribution(path, conversions, revenue, journeys) over counts per distinct path";

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_ATTRIBUTION,
        "Aggregate: Shapley-value attribution over channel coalitions (Zhao, Mahboobi & Bagheri \
         2018, after Dalessandro et al. 2012 and Shao & Li 2011). A journey's channel set is its \
         distinct channels (order ignored). R(T) is the conversion rate of journeys whose set is \
         exactly T; a coalition S is worth v(S) = sum of R(T) over the non-empty T inside S. The \
         Shapley value of channel j, sum over S without j of |S|!(n−|S|−1)!/n! (v(S+j) − v(S)), \
         equals sum over T holding j of R(T)/|T|, which is how it is computed: exact for any \
         number of channels, no sampling. Credited conversions = Shapley value / sum of Shapley \
         values × total conversions; conversion_value likewise with value per journey in place \
         of the rate (NULL when no value is given). Returns a list of {channel, shapley, \
         conversions, conversion_value}, ordered by conversions (descending), then channel.",
        USAGE,
    )
    .with_sql_example(
        "SELECT c.channel, c.shapley, c.conversions\nFROM (SELECT unnest(shapley_attribution(path, converted, revenue)) AS c FROM journeys)",
    )
    .with_argument("path", "TEXT `a > b > c` or a LIST of channel names.")
    .with_argument("conversions", "Conversions of this row's journeys (1/0 for one journey per row).")
    .with_argument("conversion_value", "Optional revenue of those conversions.")
    .with_argument("journeys", "Optional number of journeys the row stands for (default 1).")
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ShapleyAttribution {
    signature: Signature,
}

pub fn shapley_attribution_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(ShapleyAttribution {
            signature: crate::args::named_signature(&[
                "path",
                "conversions",
                "conversion_value",
                "journeys",
            ]),
        }))
    });
    Arc::clone(&UDAF)
}

fn fields() -> Fields {
    super::credit_fields("shapley")
}

impl AggregateUDFImpl for ShapleyAttribution {
    fn name(&self) -> &str {
        "shapley_attribution"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let bad = |why: String| {
            SqlError::wrong_arguments(format!("shapley_attribution: {why}. Usage: {USAGE}"))
        };
        if !(2..=4).contains(&arg_types.len()) {
            return Err(bad(format!(
                "expected 2 to 4 arguments, got {}",
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
        for (t, name) in arg_types[1..]
            .iter()
            .zip(["conversions", "conversion_value", "journeys"])
        {
            if !(t.is_numeric() || t == &DataType::Null) {
                return Err(bad(format!("{name} must be a number, got {t}")));
            }
            out.push(DataType::Float64);
        }
        Ok(out)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(credit_type(fields()))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(ShapleyAccumulator {
            has_value: args.exprs.len() >= 3,
            has_journeys: args.exprs.len() >= 4,
            paths: PathCounts::default(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(PathCounts::state_fields(
            args.name,
            ["conversions", "values", "journeys"],
        ))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[derive(Debug)]
struct ShapleyAccumulator {
    has_value: bool,
    has_journeys: bool,
    paths: PathCounts,
}

/// Per channel (id): Shapley value of the conversion rate and of the value per journey.
pub(crate) fn shapley_values(paths: &PathCounts) -> Vec<(u32, f64, f64, f64, f64)> {
    // Aggregate by channel set.
    let mut sets: HashMap<Vec<u32>, [f64; 3]> = HashMap::new();
    for (path, c) in &paths.paths {
        if c[2] <= 0.0 {
            continue;
        }
        let mut set = path.clone();
        set.sort_unstable();
        set.dedup();
        let e = sets.entry(set).or_insert([0.0; 3]);
        for k in 0..3 {
            e[k] += c[k];
        }
    }
    let mut phi: HashMap<u32, (f64, f64, f64, f64)> = HashMap::new();
    let mut ordered: Vec<(&Vec<u32>, &[f64; 3])> = sets.iter().collect();
    let name = |id: &u32| &*paths.channels[*id as usize];
    ordered.sort_unstable_by(|a, b| a.0.iter().map(name).cmp(b.0.iter().map(name)));
    for (set, [c, v, m]) in ordered {
        let size = set.len() as f64;
        for &j in set {
            let e = phi.entry(j).or_insert((0.0, 0.0, 0.0, 0.0));
            e.0 += c / m / size;
            e.1 += v / m / size;
        }
        // Totals are kept on the first member only; summed below.
        let e = phi.entry(set[0]).or_insert((0.0, 0.0, 0.0, 0.0));
        e.2 += c;
        e.3 += v;
    }
    let mut out: Vec<(u32, f64, f64, f64, f64)> = phi
        .into_iter()
        .map(|(j, (a, b, c, d))| (j, a, b, c, d))
        .collect();
    out.sort_unstable_by_key(|e| e.0);
    out
}

impl Accumulator for ShapleyAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let ones: ArrayRef = Arc::new(Float64Array::from(vec![1.0; values[0].len()]));
        let zeros: ArrayRef = Arc::new(Float64Array::from(vec![0.0; values[0].len()]));
        let value = if self.has_value { &values[2] } else { &zeros };
        let journeys = if self.has_journeys { &values[3] } else { &ones };
        self.paths.update(
            &values[0],
            [&values[1], value, journeys],
            ["conversions", "conversion_value", "journeys"],
            USAGE,
        )
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.paths.flush();
        let values = shapley_values(&self.paths);
        let total_c: f64 = values.iter().map(|e| e.3).sum();
        let total_v: f64 = values.iter().map(|e| e.4).sum();
        let sum_phi: f64 = values.iter().map(|e| e.1).sum();
        let sum_phi_v: f64 = values.iter().map(|e| e.2).sum();
        let mut rows: Vec<(&str, f64, f64, Option<f64>)> = values
            .iter()
            .map(|&(j, phi, phi_v, _, _)| {
                let conversions = if sum_phi > 0.0 {
                    phi / sum_phi * total_c
                } else {
                    0.0
                };
                let value = self.has_value.then(|| {
                    if sum_phi_v > 0.0 {
                        phi_v / sum_phi_v * total_v
                    } else {
                        0.0
                    }
                });
                (&*self.paths.channels[j as usize], phi, conversions, value)
            })
            .collect();
        rows.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(b.0)));
        credit_list(fields(), rows.into_iter())
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
