//! CTEs referenced more than once are computed once. DataFusion inlines a `WITH` query at
//! every reference, so `WITH s AS (…) SELECT … FROM s JOIN s …` runs `s` twice, and a chain of
//! CTEs that each join the previous one (a funnel, step by step) runs the first one once per
//! later step. PostgreSQL (12 and later) materialises a CTE that is referenced more than once
//! unless it says `NOT MATERIALIZED`; so does this, for CTEs whose plan joins, aggregates or
//! uses a window (a filtered scan is cheaper inlined, where filters reach the Parquet reader).
//! `AS MATERIALIZED` materialises a CTE referenced once too. Results over
//! [`MAX_MATERIALIZED_BYTES`] are not kept: the CTE stays inlined.

use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNodeRecursion};
use datafusion::common::TableReference;
use datafusion::datasource::{provider_as_source, MemTable};
use datafusion::error::Result;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{CteAsMaterialized, Statement};
use futures::StreamExt;

/// Memory one statement's materialised CTEs may hold together.
pub const MAX_MATERIALIZED_BYTES: usize = 256 * 1024 * 1024;

/// Whether a plan does work worth sharing: a join, an aggregation or a window.
fn expensive(plan: &LogicalPlan) -> bool {
    let mut found = false;
    let _ = plan.apply_with_subqueries(|node| {
        if matches!(
            node,
            LogicalPlan::Join(_) | LogicalPlan::Aggregate(_) | LogicalPlan::Window(_)
        ) {
            found = true;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// `plan` with the CTEs of `statement` that are referenced more than once replaced by scans of
/// their computed rows. The plan is unchanged when there is nothing to share.
pub async fn materialize_ctes(
    statement: &Statement,
    mut plan: LogicalPlan,
    ctx: &SessionContext,
) -> Result<LogicalPlan> {
    let Statement::Query(query) = statement else {
        return Ok(plan);
    };
    let Some(with) = &query.with else {
        return Ok(plan);
    };
    if with.recursive {
        return Ok(plan);
    }
    let mut budget = MAX_MATERIALIZED_BYTES;
    for (n, cte) in with.cte_tables.iter().enumerate() {
        let hint = cte.materialized.as_ref();
        if matches!(hint, Some(CteAsMaterialized::NotMaterialized)) {
            continue;
        }
        let name = if cte.alias.name.quote_style.is_some() {
            cte.alias.name.value.clone()
        } else {
            cte.alias.name.value.to_lowercase()
        };
        let alias = TableReference::bare(name.as_str());
        // Every reference plans as `SubqueryAlias(name, <the CTE's plan>)`.
        let mut references: Vec<Arc<LogicalPlan>> = Vec::new();
        plan.apply_with_subqueries(|node| {
            if let LogicalPlan::SubqueryAlias(sa) = node {
                if sa.alias == alias {
                    references.push(Arc::clone(&sa.input));
                }
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        let Some(body) = references.first().cloned() else {
            continue;
        };
        let uses = references.iter().filter(|r| **r == body).count();
        let wanted = match hint {
            Some(CteAsMaterialized::Materialized) => uses >= 1,
            _ => uses >= 2 && expensive(&body),
        };
        if !wanted {
            continue;
        }
        let Some(rows) = collect_within(ctx, body.as_ref().clone(), &mut budget).await? else {
            tracing::debug!(cte = %name, "CTE result over the materialisation budget; inlined");
            continue;
        };
        let schema = Arc::new(body.schema().as_arrow().clone());
        let table = MemTable::try_new(Arc::clone(&schema), vec![rows])?;
        let scan = LogicalPlanBuilder::scan(
            format!("__sightline_cte_{n}_{name}"),
            provider_as_source(Arc::new(table)),
            None,
        )?
        .build()?;
        // Same columns, qualified by the CTE's name as before.
        let computed = Arc::new(
            LogicalPlanBuilder::from(scan)
                .alias(alias.clone())?
                .build()?,
        );
        plan = plan
            .transform_down_with_subqueries(|node| match &node {
                LogicalPlan::SubqueryAlias(sa) if sa.alias == alias && sa.input == body => {
                    Ok(Transformed::yes(computed.as_ref().clone()))
                }
                _ => Ok(Transformed::no(node)),
            })?
            .data;
    }
    Ok(plan)
}

/// The rows of `plan`, or `None` when they would take more than `budget` bytes (what they take
/// is subtracted from it).
async fn collect_within(
    ctx: &SessionContext,
    plan: LogicalPlan,
    budget: &mut usize,
) -> Result<Option<Vec<datafusion::arrow::record_batch::RecordBatch>>> {
    let mut stream = ctx
        .execute_logical_plan(plan)
        .await?
        .execute_stream()
        .await?;
    let mut rows = Vec::new();
    let mut used = 0usize;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        used += batch.get_array_memory_size();
        if used > *budget {
            return Ok(None);
        }
        rows.push(batch);
    }
    *budget -= used;
    Ok(Some(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    async fn run(ctx: &SessionContext, sql: &str) -> (String, usize) {
        let statement = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .pop()
            .unwrap();
        let plan = ctx.state().create_logical_plan(sql).await.unwrap();
        let plan = materialize_ctes(&statement, plan, ctx).await.unwrap();
        let mut scans = 0;
        plan.apply_with_subqueries(|node| {
            if let LogicalPlan::TableScan(t) = node {
                if t.table_name.table().starts_with("__sightline_cte_") {
                    scans += 1;
                }
            }
            Ok(TreeNodeRecursion::Continue)
        })
        .unwrap();
        let batches = ctx
            .execute_logical_plan(plan)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        (text, scans)
    }

    #[tokio::test]
    async fn shared_ctes_are_computed_once_with_the_same_answer() {
        let ctx = SessionContext::new_with_config(
            datafusion::prelude::SessionConfig::new()
                .set_str("datafusion.sql_parser.dialect", "PostgreSQL"),
        );
        ctx.sql(
            "CREATE TABLE events(customer_id INT, step TEXT, ts INT) AS VALUES \
             (1, 'view', 1), (1, 'cart', 2), (1, 'buy', 3), (2, 'view', 1), (2, 'cart', 5), \
             (3, 'view', 2)",
        )
        .await
        .unwrap();
        let funnel = "WITH s1 AS (SELECT customer_id, min(ts) AS t1 FROM events WHERE step = 'view' GROUP BY customer_id), \
                      s2 AS (SELECT s.customer_id, min(e.ts) AS t2 FROM s1 s JOIN events e ON e.customer_id = s.customer_id \
                             WHERE e.step = 'cart' AND e.ts > s.t1 GROUP BY s.customer_id) \
                      SELECT count(s1.customer_id) AS viewed, count(s2.customer_id) AS carted \
                      FROM s1 LEFT JOIN s2 ON s2.customer_id = s1.customer_id";
        let (text, scans) = run(&ctx, funnel).await;
        assert!(text.contains("| 3      | 2      |"), "{text}");
        // s1 twice (directly and inside s2); s2 once: only s1 is shared.
        assert_eq!(scans, 2, "{text}");

        // Referenced once: inlined; NOT MATERIALIZED: inlined; MATERIALIZED: computed.
        let once = "WITH s1 AS (SELECT customer_id, count(*) AS n FROM events GROUP BY customer_id) SELECT sum(n) AS n FROM s1";
        assert_eq!(run(&ctx, once).await.1, 0);
        let hinted = "WITH s1 AS MATERIALIZED (SELECT customer_id, count(*) AS n FROM events GROUP BY customer_id) SELECT sum(n) AS n FROM s1";
        let (text, scans) = run(&ctx, hinted).await;
        assert!(text.contains("| 6 |"), "{text}");
        assert_eq!(scans, 1);
        let not = "WITH s1 AS NOT MATERIALIZED (SELECT customer_id, count(*) AS n FROM events GROUP BY customer_id) \
                   SELECT a.n FROM s1 a JOIN s1 b ON a.customer_id = b.customer_id";
        assert_eq!(run(&ctx, not).await.1, 0);
        // A plain filtered scan stays inlined, where its filter reaches the reader.
        let scan = "WITH v AS (SELECT * FROM events WHERE step = 'view') SELECT count(*) FROM v a JOIN v b ON a.customer_id = b.customer_id";
        assert_eq!(run(&ctx, scan).await.1, 0);
        // Column aliases in the CTE name and a self-join of the computed rows.
        let aliased = "WITH c(id, n) AS (SELECT customer_id, count(*) FROM events GROUP BY customer_id) \
                       SELECT a.id, b.n FROM c a JOIN c b ON a.id = b.id WHERE a.n > 1 ORDER BY a.id";
        let (text, scans) = run(&ctx, aliased).await;
        assert_eq!(scans, 2);
        assert!(
            text.contains("| 1  | 3 |") && text.contains("| 2  | 2 |"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn results_over_the_budget_stay_inlined() {
        let ctx = SessionContext::new();
        let plan = ctx
            .state()
            .create_logical_plan(
                "SELECT v, count(*) FROM generate_series(1, 100000) t(v) GROUP BY v",
            )
            .await
            .unwrap();
        let mut budget = 1024;
        assert!(collect_within(&ctx, plan.clone(), &mut budget)
            .await
            .unwrap()
            .is_none());
        assert_eq!(budget, 1024);
        let mut budget = MAX_MATERIALIZED_BYTES;
        assert!(collect_within(&ctx, plan, &mut budget)
            .await
            .unwrap()
            .is_some());
        assert!(budget < MAX_MATERIALIZED_BYTES);
    }
}
