//! Test helper for the look-alike functions: a query's rows as pretty-printed table lines.

use datafusion::prelude::SessionContext;

/// The data lines (`| a | b |`) of `sql`'s result on `ctx`, without the header.
pub async fn table_lines(ctx: &SessionContext, sql: &str) -> Vec<String> {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    text.lines()
        .filter(|l| l.starts_with("| "))
        .skip(1)
        .map(str::to_string)
        .collect()
}
