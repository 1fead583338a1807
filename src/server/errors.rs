//! DataFusion errors → PostgreSQL SQLSTATEs, so clients can tell a typo from a missing table
//! from a bad argument (`42601`, `42P01`, `42883`, `22023`, ...), not just "internal error".

use std::error::Error;

use datafusion::arrow::error::ArrowError;
use datafusion::common::SchemaError;
use datafusion::error::DataFusionError;
use datafusion::sql::sqlparser::parser::ParserError;
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError};
use sightline_udfs::SqlError;

/// Replaces an opaque `ApiError` by a user error with the SQLSTATE its cause calls for.
pub fn map_pgwire_error(error: &mut PgWireError) {
    if let PgWireError::ApiError(inner) = error {
        let info = error_info(inner.as_ref());
        *error = PgWireError::UserError(Box::new(info));
    }
}

/// The `ErrorInfo` a Postgres client should see for `err`.
pub fn error_info(err: &(dyn Error + 'static)) -> ErrorInfo {
    let (code, message) = classify(err);
    ErrorInfo::new("ERROR".to_owned(), code.to_owned(), message)
}

/// SQLSTATE and message for an error from anywhere in the query path.
pub fn classify(err: &(dyn Error + 'static)) -> (&'static str, String) {
    // A function that chose its SQLSTATE wins, wherever it sits in the chain.
    let mut cur: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(sql) = e.downcast_ref::<SqlError>() {
            return (sql.sqlstate, sql.message.clone());
        }
        if let Some(DataFusionError::External(inner)) = e.downcast_ref::<DataFusionError>() {
            if let Some(sql) = inner.downcast_ref::<SqlError>() {
                return (sql.sqlstate, sql.message.clone());
            }
        }
        cur = e.source();
    }
    if let Some(df) = err.downcast_ref::<DataFusionError>() {
        return classify_datafusion(df);
    }
    if let Some(parse) = err.downcast_ref::<ParserError>() {
        return ("42601", parse.to_string());
    }
    if let Some(arrow) = err.downcast_ref::<ArrowError>() {
        return (arrow_code(arrow), arrow.to_string());
    }
    ("XX000", err.to_string())
}

fn classify_datafusion(err: &DataFusionError) -> (&'static str, String) {
    let root = match err {
        // A `Collection` reports its first error, as its Display does.
        DataFusionError::Collection(errs) => errs.first().map(|e| e.find_root()).unwrap_or(err),
        _ => err.find_root(),
    };
    let message = || root.message().into_owned();
    match root {
        DataFusionError::SQL(parse, _) => ("42601", parse.to_string()),
        DataFusionError::SchemaError(schema, _) => {
            let code = match schema.as_ref() {
                SchemaError::FieldNotFound { .. } => "42703",
                SchemaError::AmbiguousReference { .. } => "42702",
                SchemaError::DuplicateQualifiedField { .. }
                | SchemaError::DuplicateUnqualifiedField { .. } => "42701",
            };
            (code, message())
        }
        DataFusionError::Plan(msg) => (plan_code(msg), message()),
        DataFusionError::Configuration(msg) => {
            let code = if msg.contains("not found") || msg.contains("nrecognized") {
                "42704"
            } else {
                "22023"
            };
            (code, message())
        }
        DataFusionError::NotImplemented(_) => ("0A000", message()),
        DataFusionError::ResourcesExhausted(_) => ("53200", message()),
        DataFusionError::Execution(msg) => {
            let code = if msg.contains("Divide by zero") {
                "22012"
            } else {
                "22000"
            };
            (code, message())
        }
        DataFusionError::ArrowError(arrow, _) => (arrow_code(arrow), arrow.to_string()),
        DataFusionError::ParquetError(_) => ("XX001", message()),
        DataFusionError::IoError(_) | DataFusionError::ObjectStore(_) => ("58030", message()),
        DataFusionError::External(inner) => classify(inner.as_ref()),
        _ => ("XX000", message()),
    }
}

fn plan_code(msg: &str) -> &'static str {
    if msg.starts_with("table '") && msg.contains("not found") {
        "42P01"
    } else if msg.contains("Invalid function")
        || msg.contains("No function matches")
        || msg.contains("Failed to coerce arguments")
        || msg.contains("There is no window function")
        || (msg.contains("function") && msg.contains("expects"))
    {
        "42883"
    } else if msg.contains("Unsupported SQL statement") || msg.contains("not supported") {
        "0A000"
    } else if msg.contains("already exists") {
        "42P07"
    } else {
        "42000"
    }
}

fn arrow_code(err: &ArrowError) -> &'static str {
    match err {
        ArrowError::DivideByZero => "22012",
        ArrowError::CastError(_) | ArrowError::ParseError(_) => "22P02",
        ArrowError::ArithmeticOverflow(_) => "22003",
        ArrowError::MemoryError(_) => "53200",
        ArrowError::IoError(..) => "58030",
        // e.g. `-ts`: PostgreSQL's "operator does not exist".
        ArrowError::InvalidArgumentError(msg) if msg.contains("Invalid arithmetic operation") => {
            "42883"
        }
        ArrowError::InvalidArgumentError(_) => "22023",
        _ => "XX000",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    async fn code_of(sql: &str) -> &'static str {
        let ctx = SessionContext::new();
        sightline_udfs::register_all(&ctx).unwrap();
        let err = match ctx.sql(sql).await {
            Err(e) => e,
            Ok(df) => df.collect().await.unwrap_err(),
        };
        classify(&err).0
    }

    #[tokio::test]
    async fn maps_common_errors() {
        assert_eq!(code_of("SELEC 1").await, "42601");
        assert_eq!(code_of("SELECT * FROM no_such_table").await, "42P01");
        assert_eq!(code_of("SELECT no_such_fn(1)").await, "42883");
        assert_eq!(code_of("SELECT nope FROM (VALUES (1)) t(a)").await, "42703");
        assert_eq!(code_of("SELECT safe_divide('a', 'b', 'c')").await, "42883");
        assert_eq!(code_of("SELECT CAST('x' AS INT)").await, "22P02");
        // Found by the SQL fuzz target: negating a timestamp was an "internal error".
        assert_eq!(
            code_of("SELECT -ts FROM (VALUES (TIMESTAMP '2025-01-01 00:00:00')) t(ts)").await,
            "42883"
        );
    }

    #[test]
    fn function_errors_keep_their_sqlstate() {
        let err = SqlError::invalid_parameter("k must be positive: kmeans_cluster(3, x, y)");
        let wrapped = err.context("while planning");
        assert_eq!(classify(&wrapped).0, "22023");
    }
}
