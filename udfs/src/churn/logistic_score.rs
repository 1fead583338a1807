//! `logistic_score(label, f1, …, fn [, 'options']) OVER (PARTITION BY …)` → the probability
//! that each row's label is 1, from a penalised logistic regression trained on the partition's
//! labelled rows.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::error::Result;
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl,
};

use super::logistic::{coerce_labelled, fit, labelled_rows, Options, OPTIONS_DOC};
use crate::args::constant_string;

const USAGE: &str = "logistic_score(label, f1, …, fn [, 'options']) OVER (PARTITION BY …) — e.g. \
    logistic_score(churned, days_since_last, orders, revenue, 'l2=1') OVER (); rows with a NULL \
    label are scored but not trained on";

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_CHURN,
        format!("Window function: P(label = 1) for every row, from an L2-penalised logistic regression trained on the window partition's rows with a label. {OPTIONS_DOC} Matches scikit-learn's LogisticRegression (lbfgs, same C) on the same standardised data."),
        USAGE,
    )
    .with_sql_example("SELECT customer_id, logistic_score(churned, days_since_last, orders, revenue) OVER () AS churn_risk\nFROM customer_features")
    .with_argument("label", "0/1 or boolean; NULL = score this row without training on it.")
    .with_argument("f1, …, fn", "Numeric features.")
    .with_argument("options", "Optional constant text, last: l2=…, standardize=true|false, max_iter=….")
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LogisticScore {
    signature: Signature,
}

pub fn logistic_score_udwf() -> Arc<WindowUDF> {
    static UDWF: LazyLock<Arc<WindowUDF>> = LazyLock::new(|| {
        Arc::new(WindowUDF::from(LogisticScore {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDWF)
}

/// The options constant (if the last argument is text) and the number of feature columns.
pub(crate) fn options_and_dim(
    name: &str,
    exprs: &[Arc<dyn datafusion::physical_expr::PhysicalExpr>],
    types: &[DataType],
    usage: &str,
) -> Result<(Options, usize)> {
    if types.last() == Some(&DataType::Utf8) {
        let text = constant_string(&exprs[exprs.len() - 1], &format!("{name}'s options"), usage)?;
        Ok((Options::parse(&text, name, usage)?, types.len() - 2))
    } else {
        Ok((Options::default(), types.len() - 1))
    }
}

impl WindowUDFImpl for LogisticScore {
    fn name(&self) -> &str {
        "logistic_score"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_labelled("logistic_score", arg_types, USAGE)
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let types: Vec<DataType> = args
            .input_fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let (options, dim) = options_and_dim("logistic_score", args.input_exprs(), &types, USAGE)?;
        Ok(Box::new(ScoreEvaluator { options, dim }))
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
struct ScoreEvaluator {
    options: Options,
    dim: usize,
}

impl PartitionEvaluator for ScoreEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let data = labelled_rows("logistic_score", &values[..=self.dim], USAGE)?;
        let (x, y) = data.training(self.dim);
        let mut out: Vec<Option<f64>> = vec![None; num_rows];
        if let Some(model) = fit(&x, &y, self.dim, &self.options) {
            for (i, &row) in data.rows.iter().enumerate() {
                out[row] =
                    Some(model.probability(&data.features[i * self.dim..(i + 1) * self.dim]));
            }
        }
        Ok(Arc::new(Float64Array::from(out)))
    }
}
