//! `attribution_weight(model, ts [, param]) OVER (PARTITION BY journey)` → DOUBLE: each touch's
//! share of the journey's conversion under a rule-based model; shares sum to 1 per journey.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::error::Result;
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, PartitionEvaluator, Signature, WindowUDF, WindowUDFImpl,
};

use crate::args::{constant_f64, constant_string};
use crate::funnel::time::{constant_duration, is_time_type, times_as_i64, TimeKind};
use crate::SqlError;

const USAGE: &str = "attribution_weight(model, ts [, param]) OVER (PARTITION BY journey_id) — \
    model is 'first_touch', 'last_touch', 'linear', 'time_decay' (param: half-life, default \
    INTERVAL '7 days') or 'position_based' (param: share of the first and of the last touch, \
    default 0.4); e.g. SUM(revenue * attribution_weight('time_decay', ts) OVER (PARTITION BY \
    order_id))";

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_ATTRIBUTION,
        "Window function: the share of the journey's conversion credited to each touch, under a \
         rule-based model (Google Ads / Analytics definitions). The window partition is one \
         journey; no ORDER BY is needed, since shares depend only on the times. `first_touch` / \
         `last_touch`: all credit to the earliest / latest touch. `linear`: 1/n each. \
         `time_decay`: share proportional to 2^(−age/half-life), default half-life 7 days (the \
         shares are the same whether age is measured from the last touch or from a later \
         conversion time, since a common factor cancels). `position_based`: 40% to the first \
         touch, 40% to the last, 20% split evenly across the touches between (param changes the \
         40%); a 1-touch journey gives 100%, a 2-touch journey 50/50. Touches at the same \
         instant as the first or last touch share that position's credit equally, so ties are \
         deterministic. Shares sum to 1 per journey; rows with a NULL time get NULL.",
        USAGE,
    )
    .with_sql_example(
        "SELECT channel, SUM(revenue * w) AS revenue_credited\nFROM (SELECT channel, revenue, attribution_weight('position_based', ts) OVER (PARTITION BY order_id) AS w FROM order_touches)\nGROUP BY channel",
    )
    .with_argument("model", "Constant text: first_touch, last_touch, linear, time_decay, position_based.")
    .with_argument("ts", "TIMESTAMP, DATE or integer time of the touch.")
    .with_argument(
        "param",
        "time_decay: half-life as an INTERVAL or seconds (for integer times, the same unit; default 7 days or 604800). position_based: share of each end, 0 to 0.5 (default 0.4).",
    )
    .build()
});

#[derive(Debug, Clone, Copy, PartialEq)]
enum Model {
    FirstTouch,
    LastTouch,
    Linear,
    /// Half-life in the time column's unit.
    TimeDecay(f64),
    /// Share of each end.
    PositionBased(f64),
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AttributionWeight {
    signature: Signature,
}

pub fn attribution_weight_udwf() -> Arc<WindowUDF> {
    static UDWF: LazyLock<Arc<WindowUDF>> = LazyLock::new(|| {
        Arc::new(WindowUDF::from(AttributionWeight {
            signature: crate::args::named_signature(&["model", "ts", "param"]),
        }))
    });
    Arc::clone(&UDWF)
}

impl WindowUDFImpl for AttributionWeight {
    fn name(&self) -> &str {
        "attribution_weight"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let ok = match arg_types {
            [m, ts] => crate::funnel::is_text(m) && is_time_type(ts),
            [m, ts, p] => {
                crate::funnel::is_text(m)
                    && is_time_type(ts)
                    && (p.is_numeric() || matches!(p, DataType::Interval(_) | DataType::Null))
            }
            _ => false,
        };
        if ok {
            Ok(arg_types.to_vec())
        } else {
            Err(SqlError::wrong_arguments(format!(
                "attribution_weight takes (model TEXT, ts TIMESTAMP/DATE/integer [, param]), got ({}). Usage: {USAGE}",
                arg_types.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
            )))
        }
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let exprs = args.input_exprs();
        let name = constant_string(&exprs[0], "attribution_weight's model", USAGE)?;
        let kind = TimeKind::of(args.input_fields()[1].data_type()).unwrap_or(TimeKind::Micros);
        let param = exprs.get(2);
        let no_param = |model: &str| -> Result<()> {
            match param {
                None => Ok(()),
                Some(_) => Err(SqlError::invalid_parameter(format!(
                    "attribution_weight's {model} model takes no parameter. Usage: {USAGE}"
                ))),
            }
        };
        let model = match name.trim().to_ascii_lowercase().as_str() {
            "first_touch" => no_param("first_touch").map(|_| Model::FirstTouch)?,
            "last_touch" => no_param("last_touch").map(|_| Model::LastTouch)?,
            "linear" => no_param("linear").map(|_| Model::Linear)?,
            "time_decay" => {
                let half_life = match param {
                    None => kind.seconds(7 * 86_400),
                    Some(p) => constant_duration(p, kind, "attribution_weight's half-life", USAGE)?,
                };
                if half_life <= 0 {
                    return Err(SqlError::invalid_parameter(format!(
                        "attribution_weight's half-life must be positive. Usage: {USAGE}"
                    )));
                }
                Model::TimeDecay(half_life as f64)
            }
            "position_based" => {
                let share = match param {
                    None => 0.4,
                    Some(p) => constant_f64(p, "attribution_weight's position_based share", USAGE)?,
                };
                if !(0.0..=0.5).contains(&share) {
                    return Err(SqlError::invalid_parameter(format!(
                        "attribution_weight's position_based share must be between 0 and 0.5 (each end's share), got {share}. Usage: {USAGE}"
                    )));
                }
                Model::PositionBased(share)
            }
            other => {
                return Err(SqlError::invalid_parameter(format!(
                    "attribution_weight has no model '{other}'; valid models: first_touch, last_touch, linear, time_decay, position_based. Usage: {USAGE}"
                )))
            }
        };
        Ok(Box::new(WeightEvaluator { model }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Float64,
            true,
        )))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[derive(Debug)]
struct WeightEvaluator {
    model: Model,
}

/// Shares for touches at `times` (None = NULL time → NULL share).
fn weights(model: Model, times: &[Option<i64>]) -> Vec<Option<f64>> {
    let known: Vec<i64> = times.iter().flatten().copied().collect();
    let n = known.len();
    let (Some(&first), Some(&last)) = (known.iter().min(), known.iter().max()) else {
        return vec![None; times.len()];
    };
    let count = |t: i64| known.iter().filter(|&&x| x == t).count() as f64;
    let share: Box<dyn Fn(i64) -> f64> = match model {
        Model::FirstTouch => {
            let k = count(first);
            Box::new(move |t| if t == first { 1.0 / k } else { 0.0 })
        }
        Model::LastTouch => {
            let k = count(last);
            Box::new(move |t| if t == last { 1.0 / k } else { 0.0 })
        }
        Model::Linear => Box::new(move |_| 1.0 / n as f64),
        Model::TimeDecay(half_life) => {
            // Relative to the latest touch, so the largest term is 1 and nothing overflows.
            let total: f64 = known
                .iter()
                .map(|&t| (-((last - t) as f64) / half_life).exp2())
                .sum();
            Box::new(move |t| (-((last - t) as f64) / half_life).exp2() / total)
        }
        Model::PositionBased(end) => {
            let (k_first, k_last) = (count(first), count(last));
            let middle = n as f64 - k_first - k_last;
            if first == last {
                Box::new(move |_| 1.0 / n as f64)
            } else if middle == 0.0 {
                Box::new(move |t| {
                    if t == first {
                        0.5 / k_first
                    } else {
                        0.5 / k_last
                    }
                })
            } else {
                Box::new(move |t| {
                    if t == first {
                        end / k_first
                    } else if t == last {
                        end / k_last
                    } else {
                        (1.0 - 2.0 * end) / middle
                    }
                })
            }
        }
    };
    times.iter().map(|t| t.map(&share)).collect()
}

impl PartitionEvaluator for WeightEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], _num_rows: usize) -> Result<ArrayRef> {
        let times = times_as_i64(&values[1])?;
        let times: Vec<Option<i64>> = times.iter().collect();
        Ok(Arc::new(Float64Array::from(weights(self.model, &times))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(model: Model, times: &[i64]) -> Vec<f64> {
        let t: Vec<Option<i64>> = times.iter().map(|&t| Some(t)).collect();
        weights(model, &t).into_iter().map(Option::unwrap).collect()
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn google_definitions() {
        assert!(close(&w(Model::FirstTouch, &[3, 1, 2]), &[0.0, 1.0, 0.0]));
        assert!(close(&w(Model::LastTouch, &[3, 1, 2]), &[1.0, 0.0, 0.0]));
        assert!(close(&w(Model::Linear, &[3, 1, 2, 2]), &[0.25; 4]));
        assert!(close(
            &w(Model::PositionBased(0.4), &[1, 2, 3, 4]),
            &[0.4, 0.1, 0.1, 0.4]
        ));
        assert!(close(&w(Model::PositionBased(0.4), &[5, 9]), &[0.5, 0.5]));
        assert!(close(&w(Model::PositionBased(0.4), &[5]), &[1.0]));
        // Half-life 7: a touch 7 units older than the last gets half the weight.
        let d = w(Model::TimeDecay(7.0), &[0, 7, 14]);
        assert!(close(&d, &[1.0 / 7.0, 2.0 / 7.0, 4.0 / 7.0]), "{d:?}");
    }

    #[test]
    fn ties_share_and_nulls_are_null() {
        assert!(close(&w(Model::FirstTouch, &[1, 1, 2]), &[0.5, 0.5, 0.0]));
        assert!(close(
            &w(Model::PositionBased(0.4), &[1, 1, 2, 3]),
            &[0.2, 0.2, 0.2, 0.4]
        ));
        assert!(close(
            &w(Model::PositionBased(0.4), &[1, 1, 1]),
            &[1.0 / 3.0; 3]
        ));
        assert!(close(
            &w(Model::PositionBased(0.3), &[1, 1, 2]),
            &[0.25, 0.25, 0.5]
        ));
        let out = weights(Model::Linear, &[Some(1), None, Some(2)]);
        assert_eq!(out, vec![Some(0.5), None, Some(0.5)]);
        assert_eq!(weights(Model::Linear, &[None]), vec![None]);
        // Years apart: no underflow to NaN.
        let far = w(Model::TimeDecay(1.0), &[0, 1_000_000]);
        assert!(close(&far, &[0.0, 1.0]), "{far:?}");
    }
}
