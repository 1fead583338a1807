//! Plain queries (`SELECT`, `WITH`, `VALUES`, …) are executed here, the last query hook, instead
//! of in datafusion-postgres' default path, so that their rows are encoded a batch at a time
//! (`encode::encode_batch`) rather than a value at a time. The steps are the default path's:
//! plan the statement's SQL (simple protocol), or bind the parameters into the prepared plan
//! and optimise it (extended protocol); compute shared CTEs once (`materialize`); execute;
//! describe the fields with arrow-pg. Timeouts,
//! admission, limits and cancellation wrap this from the front end as before.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{DataFrame, SessionContext};
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::arrow_pg::datatypes::arrow_schema_to_pg_fields;
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::pgwire::api::portal::Format;
use datafusion_postgres::pgwire::api::results::{QueryResponse, Response};
use datafusion_postgres::pgwire::api::ClientInfo;
use datafusion_postgres::pgwire::error::{PgWireError, PgWireResult};
use datafusion_postgres::pgwire::types::format::FormatOptions;
use datafusion_postgres::QueryHook;
use futures::StreamExt;

use super::encode::encode_batch;
use super::materialize::materialize_ctes;

tokio::task_local! {
    /// The result column formats the client asked for when binding the portal being
    /// executed; unset in the simple protocol, whose results are text. (The hook API does not
    /// pass the portal, so the front end sets this around each Execute.)
    pub static RESULT_FORMAT: Format;
}

pub struct ExecuteHook;

fn api_error(e: datafusion::error::DataFusionError) -> PgWireError {
    PgWireError::ApiError(Box::new(e))
}

/// The response whose rows stream from executing `df`, in `format`.
pub async fn respond(
    df: DataFrame,
    format: &Format,
    client: &(dyn ClientInfo + Send + Sync),
) -> PgWireResult<QueryResponse> {
    let options = Arc::new(FormatOptions::from_client_metadata(client.metadata()));
    let fields = Arc::new(arrow_schema_to_pg_fields(
        df.schema().as_arrow(),
        format,
        Some(options),
    )?);
    let batches = df.execute_stream().await.map_err(api_error)?;
    let described = Arc::clone(&fields);
    let rows = batches
        .map(move |batch| {
            let rows = match batch.map_err(api_error) {
                Ok(batch) => match encode_batch(&batch, &described) {
                    Ok(rows) => rows.into_iter().map(Ok).collect(),
                    Err(e) => vec![Err(e)],
                },
                Err(e) => vec![Err(e)],
            };
            futures::stream::iter(rows)
        })
        .flatten();
    Ok(QueryResponse::new(fields, rows))
}

#[async_trait]
impl QueryHook for ExecuteHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if !matches!(statement, Statement::Query(_)) {
            return None;
        }
        let format = RESULT_FORMAT
            .try_with(Clone::clone)
            .unwrap_or(Format::UnifiedText);
        let run = async {
            // Planned from the parsed statement: re-parsing its text with the session's
            // (generic) dialect would refuse PostgreSQL syntax such as `AS MATERIALIZED`.
            let plan = ctx
                .state()
                .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(
                    statement.clone(),
                )))
                .await
                .map_err(api_error)?;
            let plan = materialize_ctes(statement, plan, ctx)
                .await
                .map_err(api_error)?;
            let df = ctx.execute_logical_plan(plan).await.map_err(api_error)?;
            respond(df, &format, &*client).await.map(Response::Query)
        };
        Some(run.await)
    }

    async fn handle_extended_parse_query(
        &self,
        _statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        None
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        plan: &LogicalPlan,
        params: &ParamValues,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if !matches!(statement, Statement::Query(_)) {
            return None;
        }
        let format = RESULT_FORMAT.try_with(Clone::clone).ok()?;
        let run = async {
            let plan = plan
                .clone()
                .replace_params_with_values(params)
                .map_err(api_error)?;
            let plan = materialize_ctes(statement, plan, ctx)
                .await
                .map_err(api_error)?;
            let optimised = ctx.state().optimize(&plan).map_err(api_error)?;
            let df = ctx
                .execute_logical_plan(optimised)
                .await
                .map_err(api_error)?;
            respond(df, &format, &*client).await.map(Response::Query)
        };
        Some(run.await)
    }
}
