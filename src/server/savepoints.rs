//! `SAVEPOINT`, `RELEASE [SAVEPOINT]` and `ROLLBACK TO [SAVEPOINT]`, which psycopg and
//! SQLAlchemy send around statements inside a transaction. The data is read-only, so there is
//! nothing to undo: they are accepted, and `ROLLBACK TO` clears an aborted transaction's error
//! state as in PostgreSQL. `DISCARD ALL|PLANS|SEQUENCES|TEMP`, which connection pools send
//! before reusing a connection, is accepted the same way.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::{DFSchema, ParamValues};
use datafusion::logical_expr::{EmptyRelation, LogicalPlan};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::pgwire::api::results::{Response, Tag};
use datafusion_postgres::pgwire::api::ClientInfo;
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use datafusion_postgres::pgwire::messages::response::TransactionStatus;
use datafusion_postgres::QueryHook;

#[derive(Debug)]
pub struct SavepointHook;

fn is_savepoint_statement(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. }
            | Statement::Rollback {
                savepoint: Some(_),
                ..
            }
            | Statement::Discard { .. }
    )
}

fn aborted() -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        "25P01".to_owned(),
        "current transaction is aborted, commands ignored until end of transaction block"
            .to_owned(),
    )))
}

#[async_trait]
impl QueryHook for SavepointHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        let failed = client.transaction_status() == TransactionStatus::Error;
        match statement {
            Statement::Savepoint { .. } if failed => Some(Err(aborted())),
            Statement::Savepoint { .. } => Some(Ok(Response::Execution(Tag::new("SAVEPOINT")))),
            Statement::ReleaseSavepoint { .. } if failed => Some(Err(aborted())),
            Statement::ReleaseSavepoint { .. } => {
                Some(Ok(Response::Execution(Tag::new("RELEASE"))))
            }
            // Npgsql resets pooled connections with DISCARD ALL. Sightline keeps no temporary
            // tables, sequences or advisory locks, and session settings are server-wide.
            Statement::Discard { object_type } => Some(Ok(Response::Execution(Tag::new(
                &format!("DISCARD {object_type}"),
            )))),
            Statement::Rollback {
                savepoint: Some(_), ..
            } => {
                if failed {
                    client.set_transaction_status(TransactionStatus::Transaction);
                }
                Some(Ok(Response::Execution(Tag::new("ROLLBACK"))))
            }
            _ => None,
        }
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        is_savepoint_statement(statement).then(|| {
            Ok(LogicalPlan::EmptyRelation(EmptyRelation {
                produce_one_row: false,
                schema: Arc::new(DFSchema::empty()),
            }))
        })
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.handle_simple_query(statement, ctx, client).await
    }
}
