//! Server-side PostgreSQL look-alikes that clients probe for: `version()` and
//! `current_setting(name)`. The analytic functions live in `sightline-udfs`, not here.

pub mod functions;
pub mod settings;

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};
use datafusion::prelude::SessionContext;
use sightline_udfs::SqlError;

pub fn register(ctx: &SessionContext) {
    ctx.register_udf(version_udf());
    ctx.register_udf(current_setting_udf());
}

fn version_udf() -> ScalarUDF {
    create_udf(
        "version",
        vec![],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(|_args: &[ColumnarValue]| {
            Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(
                settings::version_string(),
            ))))
        }),
    )
}

fn current_setting_udf() -> ScalarUDF {
    create_udf(
        "current_setting",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(|args: &[ColumnarValue]| {
            let lookup = |name: &str| -> Result<String> {
                settings::find(name).map(|s| s.value(None)).ok_or_else(|| {
                    SqlError::with_code(
                        "42704",
                        format!("unrecognized configuration parameter \"{name}\""),
                    )
                })
            };
            match &args[0] {
                ColumnarValue::Scalar(v) => {
                    let value = match v.try_as_str().flatten() {
                        Some(name) => Some(lookup(name)?),
                        None => None,
                    };
                    Ok(ColumnarValue::Scalar(ScalarValue::Utf8(value)))
                }
                ColumnarValue::Array(names) => {
                    let names = datafusion::arrow::compute::cast(names, &DataType::Utf8)?;
                    let names = names.as_string::<i32>();
                    let mut out = Vec::with_capacity(names.len());
                    for name in names.iter() {
                        out.push(name.map(lookup).transpose()?);
                    }
                    Ok(ColumnarValue::Array(
                        Arc::new(StringArray::from(out)) as ArrayRef
                    ))
                }
            }
        }),
    )
}
