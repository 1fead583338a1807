//! Server-side PostgreSQL look-alikes that clients probe for: `version()`,
//! `current_setting(name)`, `to_regtype(name)`, and the catalog functions about indexes,
//! sequences, triggers and column comments (NULL: Parquet tables have none). The analytic functions live in `sightline-udfs`, not here.

mod expandarray;
pub mod functions;
mod regexp_split;
mod regtype;
pub mod settings;
#[cfg(test)]
mod test_util;
mod timezones;

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
    ctx.register_udf(pg_size_pretty_udf());
    ctx.register_udf(pg_type_is_visible_udf());
    // Replaces the emulation's, which knows only 6 (as `UTF-8`) and only int4 arguments.
    ctx.register_udf(pg_encoding_to_char_udf());
    ctx.register_udf(ScalarUDF::new_from_impl(expandarray::PgExpandArray::new()));
    ctx.register_udf(regtype::udf());
    ctx.register_udf(regexp_split::udf());
    ctx.register_udtf("pg_timezone_names", Arc::new(timezones::PgTimezoneNames));
    // psql's \dt+ asks for pg_table_size; the emulation has pg_relation_size (same answer for
    // tables without TOAST or indexes, which Parquet tables are).
    if let Ok(relation_size) = datafusion::execution::FunctionRegistry::udf(ctx, "pg_relation_size")
    {
        ctx.register_udf(
            relation_size
                .as_ref()
                .clone()
                .with_aliases(["pg_table_size"]),
        );
    }
    for (name, arities) in [
        // Parquet tables have no indexes, sequences, triggers or column comments: these
        // answer NULL, as PostgreSQL does for an object that has none.
        ("pg_get_indexdef", &[1usize, 3][..]),
        ("pg_get_serial_sequence", &[2][..]),
        ("pg_get_triggerdef", &[1, 2][..]),
        ("col_description", &[2][..]),
    ] {
        ctx.register_udf(ScalarUDF::new_from_impl(NoSuchObject::new(name, arities)));
    }
}

/// PostgreSQL's `pg_size_pretty(bigint)`: bytes below 10 kB, then kB, MB, GB, TB, PB, each
/// used below 20,480 of it, rounded half away from zero (PostgreSQL 16's algorithm).
pub fn size_pretty(size: i64) -> String {
    // (name, limit, round, unit bits)
    const UNITS: [(&str, u64, bool, u32); 6] = [
        ("bytes", 10 * 1024, false, 0),
        ("kB", 20 * 1024 - 1, true, 10),
        ("MB", 20 * 1024 - 1, true, 20),
        ("GB", 20 * 1024 - 1, true, 30),
        ("TB", 20 * 1024 - 1, true, 40),
        ("PB", 20 * 1024 - 1, true, 50),
    ];
    let half_rounded = |x: i64| (x + if x < 0 { -1 } else { 1 }) / 2;
    let mut size = size;
    for (i, &(name, limit, round, bits)) in UNITS.iter().enumerate() {
        if i + 1 == UNITS.len() || size.unsigned_abs() < limit {
            if round {
                size = half_rounded(size);
            }
            return format!("{size} {name}");
        }
        let (_, _, next_round, next_bits) = UNITS[i + 1];
        let shift = next_bits - bits - u32::from(next_round) + u32::from(round);
        size /= 1i64 << shift;
    }
    unreachable!("the last unit always formats")
}

fn pg_size_pretty_udf() -> ScalarUDF {
    create_udf(
        "pg_size_pretty",
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| match &args[0] {
            ColumnarValue::Scalar(v) => Ok(ColumnarValue::Scalar(ScalarValue::Utf8(match v {
                ScalarValue::Int64(n) => n.map(size_pretty),
                _ => None,
            }))),
            ColumnarValue::Array(sizes) => {
                let out: StringArray = sizes
                    .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                    .iter()
                    .map(|n| n.map(size_pretty))
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
            }
        }),
    )
}

/// `pg_type_is_visible(oid)`: every type lives in pg_catalog, which is always on the search
/// path, so any type OID is visible (NULL for NULL, as in PostgreSQL).
fn pg_type_is_visible_udf() -> ScalarUDF {
    create_udf(
        "pg_type_is_visible",
        vec![DataType::Int64],
        DataType::Boolean,
        Volatility::Stable,
        Arc::new(|args: &[ColumnarValue]| match &args[0] {
            ColumnarValue::Scalar(v) => Ok(ColumnarValue::Scalar(ScalarValue::Boolean(
                (!v.is_null()).then_some(true),
            ))),
            ColumnarValue::Array(oids) => {
                let out: datafusion::arrow::array::BooleanArray = (0..oids.len())
                    .map(|i| oids.is_valid(i).then_some(true))
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
            }
        }),
    )
}

/// PostgreSQL's server encodings by number (`pg_enc` in its `pg_wchar.h`).
const ENCODINGS: [&str; 42] = [
    "SQL_ASCII",
    "EUC_JP",
    "EUC_CN",
    "EUC_KR",
    "EUC_TW",
    "EUC_JIS_2004",
    "UTF8",
    "MULE_INTERNAL",
    "LATIN1",
    "LATIN2",
    "LATIN3",
    "LATIN4",
    "LATIN5",
    "LATIN6",
    "LATIN7",
    "LATIN8",
    "LATIN9",
    "LATIN10",
    "WIN1256",
    "WIN1258",
    "WIN866",
    "WIN874",
    "KOI8R",
    "WIN1251",
    "WIN1252",
    "ISO_8859_5",
    "ISO_8859_6",
    "ISO_8859_7",
    "ISO_8859_8",
    "WIN1250",
    "WIN1253",
    "WIN1254",
    "WIN1255",
    "WIN1257",
    "KOI8U",
    "SJIS",
    "BIG5",
    "GBK",
    "UHC",
    "GB18030",
    "JOHAB",
    "SHIFT_JIS_2004",
];

/// `pg_encoding_to_char(int)`: an encoding's name, `''` for a number that is none (as in
/// PostgreSQL), NULL for NULL.
fn pg_encoding_to_char_udf() -> ScalarUDF {
    fn name(n: Option<i64>) -> Option<String> {
        n.map(|n| {
            usize::try_from(n)
                .ok()
                .and_then(|i| ENCODINGS.get(i))
                .map_or_else(String::new, |s| s.to_string())
        })
    }
    create_udf(
        "pg_encoding_to_char",
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| match &args[0] {
            ColumnarValue::Scalar(v) => {
                Ok(ColumnarValue::Scalar(ScalarValue::Utf8(name(match v {
                    ScalarValue::Int64(n) => *n,
                    _ => None,
                }))))
            }
            ColumnarValue::Array(numbers) => {
                let out: StringArray = numbers
                    .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                    .iter()
                    .map(name)
                    .collect();
                Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
            }
        }),
    )
}

/// A catalog function about an object kind Sightline never has; always NULL text.
#[derive(Debug, PartialEq, Eq, Hash)]
struct NoSuchObject {
    name: &'static str,
    signature: datafusion::logical_expr::Signature,
}

impl NoSuchObject {
    fn new(name: &'static str, arities: &[usize]) -> Self {
        use datafusion::logical_expr::{Signature, TypeSignature};
        NoSuchObject {
            name,
            signature: Signature::one_of(
                arities.iter().map(|&n| TypeSignature::Any(n)).collect(),
                Volatility::Stable,
            ),
        }
    }
}

impl datafusion::logical_expr::ScalarUDFImpl for NoSuchObject {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(
        &self,
        _args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from a real PostgreSQL 15: `SELECT n, pg_size_pretty(n)`.
    #[test]
    fn size_pretty_matches_postgresql() {
        for (n, want) in [
            (0, "0 bytes"),
            (10239, "10239 bytes"),
            (10240, "10 kB"),
            (20971519, "20 MB"),
            (20971520, "20 MB"),
            (1_000_000_000, "954 MB"),
            (10_000_000_000, "9537 MB"),
            (1_000_000_000_000, "931 GB"),
            (-10240, "-10 kB"),
        ] {
            assert_eq!(size_pretty(n), want, "{n}");
        }
    }
}
