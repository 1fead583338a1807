//! Server-side PostgreSQL look-alikes that clients probe for: `version()`,
//! `current_setting(name)` and `to_regtype(name)`. The analytic functions live in `sightline-udfs`, not here.

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
    ctx.register_udf(to_regtype_udf());
}

/// The OID of a built-in type by any of its SQL names (`int8`, `bigint`, `timestamp with time
/// zone`, `text[]`, …), as `to_regtype(name)::oid` gives in PostgreSQL; `None` for types this
/// server does not have (extensions such as hstore, user-defined types).
pub fn type_oid(name: &str) -> Option<i32> {
    let name = name
        .trim()
        .trim_start_matches("pg_catalog.")
        .trim_matches('"')
        .to_ascii_lowercase();
    let (base, array) = match name.strip_suffix("[]") {
        Some(base) => (base.trim().to_string(), true),
        None => (
            name.strip_prefix('_')
                .map(str::to_string)
                .unwrap_or(name.clone()),
            name.starts_with('_'),
        ),
    };
    let (scalar, array_oid) = match base.as_str() {
        "bool" | "boolean" => (16, 1000),
        "bytea" => (17, 1001),
        "char" => (18, 1002),
        "name" => (19, 1003),
        "int8" | "bigint" => (20, 1016),
        "int2" | "smallint" => (21, 1005),
        "int4" | "int" | "integer" => (23, 1007),
        "text" => (25, 1009),
        "oid" => (26, 1028),
        "json" => (114, 199),
        "float4" | "real" => (700, 1021),
        "float8" | "double precision" => (701, 1022),
        "bpchar" | "character" => (1042, 1014),
        "varchar" | "character varying" => (1043, 1015),
        "date" => (1082, 1182),
        "time" | "time without time zone" => (1083, 1183),
        "timestamp" | "timestamp without time zone" => (1114, 1115),
        "timestamptz" | "timestamp with time zone" => (1184, 1185),
        "interval" => (1186, 1187),
        "numeric" | "decimal" => (1700, 1231),
        "uuid" => (2950, 2951),
        "jsonb" => (3802, 3807),
        "record" => (2249, 2287),
        "regclass" => (2205, 2210),
        "regtype" => (2206, 2211),
        "regproc" => (24, 1008),
        _ => return None,
    };
    Some(if array { array_oid } else { scalar })
}

fn to_regtype_udf() -> ScalarUDF {
    create_udf(
        "to_regtype",
        vec![DataType::Utf8],
        DataType::Int32,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| match &args[0] {
            ColumnarValue::Scalar(v) => Ok(ColumnarValue::Scalar(ScalarValue::Int32(
                v.try_as_str().flatten().and_then(type_oid),
            ))),
            ColumnarValue::Array(names) => {
                let names = datafusion::arrow::compute::cast(names, &DataType::Utf8)?;
                let out: datafusion::arrow::array::Int32Array = names
                    .as_string::<i32>()
                    .iter()
                    .map(|n| n.and_then(type_oid))
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
            }
        }),
    )
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
