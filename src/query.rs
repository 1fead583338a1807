//! Running SQL in-process, the way the server would (same parser and rewrites), for
//! `sightline query` and for tests.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result};
use datafusion::prelude::SessionContext;
use datafusion_postgres::datafusion_pg_catalog::sql::PostgresCompatibilityParser;

/// Runs every statement in `sql`; returns the schema and rows of the last one.
pub async fn run_sql(ctx: &SessionContext, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let statements = PostgresCompatibilityParser::new()
        .parse(sql)
        .map_err(|e| DataFusionError::SQL(Box::new(e), None))?;
    if statements.is_empty() {
        return Err(DataFusionError::Plan("no SQL statement given".into()));
    }
    let mut last = None;
    for statement in statements {
        let df = ctx.sql(&statement.to_string()).await?;
        let schema = df.schema().inner().clone();
        let batches = df.collect().await?;
        last = Some((schema, batches));
    }
    last.ok_or_else(|| DataFusionError::Plan("no SQL statement given".into()))
}
