//! `SHOW name` and `SHOW ALL` answered like PostgreSQL: real values for the settings clients ask
//! about, `42704` for names PostgreSQL would not know. `SHOW datafusion.*` goes to DataFusion.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::{ParamValues, ToDFSchema};
use datafusion::logical_expr::{EmptyRelation, LogicalPlan};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::pgwire::api::results::{
    DataRowEncoder, FieldFormat, FieldInfo, QueryResponse, Response,
};
use datafusion_postgres::pgwire::api::{ClientInfo, Type};
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use datafusion_postgres::QueryHook;

use crate::pg_compat::settings::{self, SETTINGS};

#[derive(Debug)]
pub struct ShowHook;

enum Show {
    All,
    One(String),
}

/// The SHOW statements this hook answers; anything else is left to the next hook.
fn parse(statement: &Statement) -> Option<Show> {
    let Statement::ShowVariable { variable } = statement else {
        return None;
    };
    let words: Vec<String> = variable.iter().map(|v| v.value.to_lowercase()).collect();
    match words.as_slice() {
        [w] if w == "all" => Some(Show::All),
        [a, b] if a == "time" && b == "zone" => Some(Show::One("TimeZone".to_owned())),
        [a, b, c] if a == "transaction" && b == "isolation" && c == "level" => {
            Some(Show::One("transaction_isolation".to_owned()))
        }
        [w] if !w.contains('.') && w != "catalogs" => Some(Show::One(w.clone())),
        _ => None,
    }
}

fn columns(show: &Show) -> Vec<&str> {
    match show {
        Show::All => vec!["name", "setting", "description"],
        Show::One(name) => vec![name.as_str()],
    }
}

fn respond(show: &Show, client: &dyn HookClient) -> PgWireResult<Response> {
    let rows: Vec<Vec<String>> = match show {
        Show::All => SETTINGS
            .iter()
            .map(|s| {
                vec![
                    s.name.to_owned(),
                    s.value(Some(client.metadata())),
                    s.description.to_owned(),
                ]
            })
            .collect(),
        Show::One(name) => {
            let setting = settings::find(name).ok_or_else(|| {
                PgWireError::UserError(Box::new(ErrorInfo::new(
                    "ERROR".to_owned(),
                    "42704".to_owned(),
                    format!("unrecognized configuration parameter \"{name}\""),
                )))
            })?;
            vec![vec![setting.value(Some(client.metadata()))]]
        }
    };
    let fields: Arc<Vec<FieldInfo>> = Arc::new(
        columns(show)
            .into_iter()
            .map(|c| FieldInfo::new(c.to_owned(), None, None, Type::TEXT, FieldFormat::Text))
            .collect(),
    );
    let mut encoded = Vec::with_capacity(rows.len());
    for row in rows {
        let mut encoder = DataRowEncoder::new(Arc::clone(&fields));
        for value in row {
            encoder.encode_field(&Some(value))?;
        }
        encoded.push(Ok(encoder.take_row()));
    }
    Ok(Response::Query(QueryResponse::new(
        fields,
        futures::stream::iter(encoded),
    )))
}

#[async_trait]
impl QueryHook for ShowHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        parse(statement).map(|show| respond(&show, client))
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        let show = parse(statement)?;
        let fields: Vec<Field> = columns(&show)
            .into_iter()
            .map(|c| Field::new(c, DataType::Utf8, false))
            .collect();
        let plan = Schema::new(fields)
            .to_dfschema()
            .map(|schema| {
                LogicalPlan::EmptyRelation(EmptyRelation {
                    produce_one_row: true,
                    schema: Arc::new(schema),
                })
            })
            .map_err(|e| PgWireError::ApiError(Box::new(e)));
        Some(plan)
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        _ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        parse(statement).map(|show| respond(&show, client))
    }
}
