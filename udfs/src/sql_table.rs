//! Table functions for BI tools are written as SQL over Sightline's aggregates: [`SqlTable`] is a
//! table whose scan plans that SQL in the caller's session, plus the quoting it needs.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::execution::SessionState;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;

use crate::SqlError;

/// A table defined by a query, planned when scanned; `schema` must match the query's output.
#[derive(Debug)]
pub(crate) struct SqlTable {
    sql: String,
    schema: SchemaRef,
}

impl SqlTable {
    pub(crate) fn new(sql: String, schema: SchemaRef) -> Self {
        Self { sql, schema }
    }
}

/// A non-empty text constant argument of a table function, trimmed.
pub(crate) fn literal_text(expr: Option<&Expr>) -> Option<String> {
    match expr {
        Some(Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)),
            _,
        )) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

/// A double-quoted identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A possibly schema-qualified table name, each part quoted.
pub(crate) fn quote_table(name: &str) -> String {
    name.split('.')
        .map(quote_ident)
        .collect::<Vec<_>>()
        .join(".")
}

/// A single-quoted string literal.
pub(crate) fn quote_text(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[async_trait]
impl TableProvider for SqlTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(state) = state.as_any().downcast_ref::<SessionState>() else {
            return Err(SqlError::with_code(
                "0A000",
                "table functions need a DataFusion SessionState",
            ));
        };
        let ctx = SessionContext::new_with_state(state.clone());
        let df = ctx.sql(&self.sql).await?;
        // Cast to the declared schema: the planner may pick Utf8View where Utf8 was declared.
        let indexes: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let columns: Vec<Expr> = indexes
            .iter()
            .map(|&i| {
                let field = self.schema.field(i);
                datafusion::logical_expr::cast(
                    datafusion::prelude::ident(field.name()),
                    field.data_type().clone(),
                )
                .alias(field.name())
            })
            .collect();
        df.select(columns)?.create_physical_plan().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_values_are_quoted() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_table("s.t"), "\"s\".\"t\"");
        assert_eq!(quote_text("o'k"), "'o''k'");
    }
}
