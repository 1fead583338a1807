//! The data directory is served read-only, and nothing reads or writes files outside it: COPY to
//! or from server files (or programs), INSERT / UPDATE / DELETE / MERGE / TRUNCATE, DROP TABLE,
//! CREATE TABLE with a LOCATION (external tables) and the loaders some SQL dialects parse are
//! refused with SQLSTATE 42501 before DataFusion plans them. Views and session-local
//! `CREATE TABLE … AS SELECT` stay available.

use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{CopyTarget, ObjectType, Statement};
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::pgwire::api::results::Response;
use datafusion_postgres::pgwire::api::ClientInfo;
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use datafusion_postgres::QueryHook;
use tracing::warn;

#[derive(Debug)]
pub struct ReadOnlyHook;

/// Why `statement` is refused, if it is.
fn refusal(statement: &Statement) -> Option<&'static str> {
    match statement {
        Statement::Copy {
            target: CopyTarget::File { .. } | CopyTarget::Program { .. },
            ..
        } => Some(
            "COPY to or from a server file or program is not allowed: Sightline serves its data directory read-only and never touches other paths; use psql's \\copy or fetch the rows with a query",
        ),
        Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Merge(_)
        | Statement::Truncate(_) => Some(
            "the data is read-only: INSERT, UPDATE, DELETE, MERGE and TRUNCATE are not allowed (write Parquet files into the data directory instead)",
        ),
        Statement::Drop {
            object_type: ObjectType::Table | ObjectType::Schema | ObjectType::Database,
            ..
        } => Some("the data is read-only: DROP TABLE / SCHEMA / DATABASE are not allowed (DROP VIEW is)"),
        Statement::CreateTable(t) if t.external || t.location.is_some() => Some(
            "external tables are not allowed: every table comes from the data directory (a file or directory in it becomes a table)",
        ),
        Statement::CopyIntoSnowflake { .. }
        | Statement::Unload { .. }
        | Statement::Load { .. }
        | Statement::LoadData { .. }
        | Statement::Install { .. }
        | Statement::Directory { .. }
        | Statement::AttachDatabase { .. }
        | Statement::AttachDuckDBDatabase { .. } => {
            Some("statements that load, unload or attach files are not allowed")
        }
        _ => None,
    }
}

fn error(why: &str, statement: &Statement) -> PgWireError {
    warn!(statement = %statement, "refused: {why}");
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        "42501".to_owned(),
        format!("permission denied: {why}"),
    )))
}

#[async_trait]
impl QueryHook for ReadOnlyHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        refusal(statement).map(|why| Err(error(why, statement)))
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        refusal(statement).map(|why| Err(error(why, statement)))
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        refusal(statement).map(|why| Err(error(why, statement)))
    }
}
