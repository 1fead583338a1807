//! `safe_divide(numerator, denominator)`: division that yields NULL instead of failing when the
//! denominator is zero, as BigQuery's `SAFE_DIVIDE` does. Handy for conversion rates in BI tools.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{ArrayRef, AsArray, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        crate::DOC_SECTION_GENERAL,
        "Divides `numerator` by `denominator` in double precision, returning NULL instead of an \
         error when the denominator is zero or either argument is NULL. Matches BigQuery's \
         SAFE_DIVIDE.",
        "safe_divide(numerator, denominator)",
    )
    .with_sql_example(
        "SELECT channel, safe_divide(count(*) FILTER (WHERE event_type = 'purchase'), \
         count(DISTINCT session_id)) AS conversion_rate FROM events GROUP BY channel",
    )
    .with_argument("numerator", "Any numeric expression.")
    .with_argument("denominator", "Any numeric expression; zero gives NULL.")
    .build()
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SafeDivide {
    signature: Signature,
}

impl Default for SafeDivide {
    fn default() -> Self {
        SafeDivide {
            // Any numeric pair is coerced to Float64 by the planner.
            signature: Signature::one_of(
                vec![TypeSignature::Exact(vec![
                    DataType::Float64,
                    DataType::Float64,
                ])],
                Volatility::Immutable,
            ),
        }
    }
}

pub fn safe_divide_udf() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> =
        LazyLock::new(|| Arc::new(ScalarUDF::from(SafeDivide::default())));
    Arc::clone(&UDF)
}

impl ScalarUDFImpl for SafeDivide {
    fn name(&self) -> &str {
        "safe_divide"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [num, den] = take_two(args.args)?;
        let all_scalar = matches!(
            (&num, &den),
            (ColumnarValue::Scalar(_), ColumnarValue::Scalar(_))
        );
        let result = divide(&num.into_array(rows)?, &den.into_array(rows)?)?;
        if all_scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &result, 0,
            )?));
        }
        Ok(ColumnarValue::Array(result))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

fn take_two(args: Vec<ColumnarValue>) -> Result<[ColumnarValue; 2]> {
    args.try_into().map_err(|_| {
        crate::SqlError::wrong_arguments(
            "safe_divide takes two arguments: safe_divide(numerator, denominator)",
        )
    })
}

fn divide(num: &ArrayRef, den: &ArrayRef) -> Result<ArrayRef> {
    let num = cast(num, &DataType::Float64)?;
    let den = cast(den, &DataType::Float64)?;
    let num = num.as_primitive::<Float64Type>();
    let den = den.as_primitive::<Float64Type>();
    let out: Float64Array = num
        .iter()
        .zip(den.iter())
        .map(|(n, d)| match (n, d) {
            (Some(n), Some(d)) if d != 0.0 => Some(n / d),
            _ => None,
        })
        .collect();
    Ok(Arc::new(out) as ArrayRef)
}

#[cfg(test)]
mod tests {

    use datafusion::arrow::array::Float64Array;
    use datafusion::prelude::SessionContext;

    async fn eval(sql: &str) -> Vec<Option<f64>> {
        let ctx = SessionContext::new();
        crate::register_all(&ctx).unwrap();
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        batches
            .iter()
            .flat_map(|b| {
                let col = b.column(0).as_any().downcast_ref::<Float64Array>().unwrap();
                col.iter().collect::<Vec<_>>()
            })
            .collect()
    }

    #[tokio::test]
    async fn divides_and_nulls_on_zero() {
        let got = eval(
            "SELECT safe_divide(a, b) FROM (VALUES (1, 4), (3, 0), (NULL, 2), (5, NULL), (-9, 3)) t(a, b)",
        )
        .await;
        assert_eq!(got, vec![Some(0.25), None, None, None, Some(-3.0)]);
    }

    #[tokio::test]
    async fn accepts_mixed_numeric_types() {
        let got = eval("SELECT safe_divide(CAST(7 AS SMALLINT), 2.0)").await;
        assert_eq!(got, vec![Some(3.5)]);
    }

    #[tokio::test]
    async fn wrong_argument_count_is_a_planning_error() {
        let ctx = SessionContext::new();
        crate::register_all(&ctx).unwrap();
        let err = ctx.sql("SELECT safe_divide(1)").await.unwrap_err();
        assert!(err.to_string().contains("safe_divide"), "{err}");
    }
}
