//! `logistic_fit(label, f1, …, fn [, 'options'])` aggregate → the model `logistic_score`
//! trains on the same rows: intercept and coefficients in the features' units, so analysts
//! can explain a score.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::scalar::ScalarStructBuilder;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, Signature, Volatility,
};

use super::bgnbd_fit::{extend_from_lists, f64_list, list_scalar};
use super::logistic::{coerce_labelled, fit, labelled_rows, Options, OPTIONS_DOC};
use super::logistic_score::options_and_dim;
use crate::SqlError;

const USAGE: &str = "logistic_fit(label, f1, …, fn [, 'options']) — e.g. \
    SELECT logistic_fit(churned, days_since_last, orders, revenue) FROM customer_features";

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::DOC_SECTION_CHURN,
        format!("Aggregate: the logistic model of the group's labelled rows as {{intercept DOUBLE, coefficients LIST<DOUBLE> (per feature, in the feature's own units: log-odds per unit), standardized_intercept DOUBLE, standardized_coefficients LIST<DOUBLE> (per standard deviation), training_rows BIGINT, log_loss DOUBLE (mean on the training rows), converged BOOLEAN}} — the model logistic_score uses on the same rows. {OPTIONS_DOC} Coefficients match scikit-learn's LogisticRegression with C = 1/l2."),
        USAGE,
    )
    .with_sql_example("SELECT m.intercept, m.coefficients\nFROM (SELECT logistic_fit(churned, days_since_last, orders, revenue) AS m FROM customer_features)")
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LogisticFit {
    signature: Signature,
}

pub fn logistic_fit_udaf() -> Arc<AggregateUDF> {
    static UDAF: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
        Arc::new(AggregateUDF::from(LogisticFit {
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDAF)
}

fn fields() -> Fields {
    let list = f64_list();
    Fields::from(vec![
        Field::new("intercept", DataType::Float64, true),
        Field::new("coefficients", list.clone(), true),
        Field::new("standardized_intercept", DataType::Float64, true),
        Field::new("standardized_coefficients", list, true),
        Field::new("training_rows", DataType::Int64, false),
        Field::new("log_loss", DataType::Float64, true),
        Field::new("converged", DataType::Boolean, false),
    ])
}

impl AggregateUDFImpl for LogisticFit {
    fn name(&self) -> &str {
        "logistic_fit"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_labelled("logistic_fit", arg_types, USAGE)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(fields()))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let types: Vec<DataType> = args
            .expr_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let (options, dim) = options_and_dim("logistic_fit", args.exprs, &types, USAGE)?;
        Ok(Box::new(FitAccumulator {
            options,
            dim,
            features: vec![],
            labels: vec![],
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(["features", "labels"]
            .iter()
            .map(|n| Arc::new(Field::new(format!("{}[{n}]", args.name), f64_list(), true)))
            .collect())
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[derive(Debug)]
struct FitAccumulator {
    options: Options,
    dim: usize,
    /// Labelled rows only, features row-major.
    features: Vec<f64>,
    labels: Vec<f64>,
}

impl Accumulator for FitAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let data = labelled_rows("logistic_fit", &values[..=self.dim], USAGE)?;
        let (x, y) = data.training(self.dim);
        self.features.extend_from_slice(&x);
        self.labels.extend_from_slice(&y);
        if self.features.len() > (1 << 31) {
            return Err(SqlError::with_code(
                "54000",
                "logistic_fit: more than 2^31 feature values in one group; sample the rows",
            ));
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let model = fit(&self.features, &self.labels, self.dim, &self.options);
        let fields = fields();
        let double = |v: Option<f64>| ScalarValue::Float64(v);
        let list = |v: Option<Vec<f64>>| match v {
            Some(v) => list_scalar(v),
            None => ScalarValue::try_from(f64_list()).unwrap_or(ScalarValue::Null),
        };
        let original = model.as_ref().map(|m| m.original());
        ScalarStructBuilder::new()
            .with_scalar(
                fields[0].as_ref().clone(),
                double(original.as_ref().map(|o| o.0)),
            )
            .with_scalar(fields[1].as_ref().clone(), list(original.map(|o| o.1)))
            .with_scalar(
                fields[2].as_ref().clone(),
                double(model.as_ref().map(|m| m.intercept_std)),
            )
            .with_scalar(
                fields[3].as_ref().clone(),
                list(model.as_ref().map(|m| m.coef_std.clone())),
            )
            .with_scalar(
                fields[4].as_ref().clone(),
                ScalarValue::Int64(Some(self.labels.len() as i64)),
            )
            .with_scalar(
                fields[5].as_ref().clone(),
                double(model.as_ref().map(|m| m.log_loss)),
            )
            .with_scalar(
                fields[6].as_ref().clone(),
                ScalarValue::Boolean(Some(model.is_some())),
            )
            .build()
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + (self.features.capacity() + self.labels.capacity()) * 8
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            list_scalar(std::mem::take(&mut self.features)),
            list_scalar(std::mem::take(&mut self.labels)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        extend_from_lists(&mut self.features, &states[0]);
        extend_from_lists(&mut self.labels, &states[1]);
        Ok(())
    }
}
