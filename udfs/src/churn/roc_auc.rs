//! `roc_auc(score, label)` aggregate → the area under the ROC curve.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Signature, Volatility,
};

use super::bgnbd_fit::{extend_from_lists, f64_list, list_scalar};
use super::doubles;
use crate::SqlError;

const USAGE: &str = "roc_auc(score, label) — e.g. SELECT roc_auc(churn_risk, churned) FROM scored";

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_CHURN,
        "Aggregate: area under the ROC curve of score for a 0/1 (or boolean) label — the \
         probability that a random positive row scores higher than a random negative one, ties \
         counting one half (the Mann-Whitney statistic; equal to scikit-learn's roc_auc_score). \
         Rows where either value is NULL are skipped; NULL when the rows hold only one class.",
        USAGE,
    )
    .with_sql_example("SELECT roc_auc(churn_risk, churned) FROM scored_customers")
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RocAuc {
    signature: Signature,
}

pub fn roc_auc_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(RocAuc {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDAF)
}

/// AUC by average ranks; None with only one class.
pub(crate) fn auc(scores: &[f64], labels: &[f64]) -> Option<f64> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let positives = labels.iter().filter(|&&l| l == 1.0).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if labels[k] == 1.0 {
                rank_sum += rank;
            }
        }
        i = j + 1;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

impl AggregateUDFImpl for RocAuc {
    fn name(&self) -> &str {
        "roc_auc"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let ok = |t: &DataType| t.is_numeric() || t == &DataType::Boolean || t == &DataType::Null;
        if arg_types.len() != 2 || !arg_types.iter().all(ok) {
            return Err(SqlError::wrong_arguments(format!(
                "roc_auc takes a numeric score and a 0/1 or boolean label, got ({}). Usage: {USAGE}",
                arg_types.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(vec![DataType::Float64, DataType::Float64])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(AucAccumulator::default()))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(["scores", "labels"]
            .iter()
            .map(|n| Arc::new(Field::new(format!("{}[{n}]", args.name), f64_list(), true)))
            .collect())
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[derive(Debug, Default)]
struct AucAccumulator {
    scores: Vec<f64>,
    labels: Vec<f64>,
}

impl Accumulator for AucAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let (scores, labels) = (doubles(&values[0])?, doubles(&values[1])?);
        for row in 0..scores.len() {
            if scores.is_null(row) || labels.is_null(row) {
                continue;
            }
            let (s, l) = (scores.value(row), labels.value(row));
            if l != 0.0 && l != 1.0 {
                return Err(SqlError::data_exception(format!(
                    "roc_auc: the label must be 0, 1, true or false, got {l}. Usage: {USAGE}"
                )));
            }
            if s.is_nan() {
                return Err(SqlError::data_exception(format!(
                    "roc_auc: a score is NaN. Usage: {USAGE}"
                )));
            }
            self.scores.push(s);
            self.labels.push(l);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Float64(auc(&self.scores, &self.labels)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + (self.scores.capacity() + self.labels.capacity()) * 8
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            list_scalar(std::mem::take(&mut self.scores)),
            list_scalar(std::mem::take(&mut self.labels)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        extend_from_lists(&mut self.scores, &states[0]);
        extend_from_lists(&mut self.labels, &states[1]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_count_half() {
        assert_eq!(
            auc(&[0.1, 0.4, 0.35, 0.8], &[0.0, 0.0, 1.0, 1.0]),
            Some(0.75)
        );
        assert_eq!(auc(&[0.5, 0.5], &[0.0, 1.0]), Some(0.5));
        assert_eq!(auc(&[0.5, 0.7], &[1.0, 1.0]), None);
    }
}
