//! Helpers for the optimizer rules' tests: a two-partition session over Parquet tables, with or
//! without the rule under test, and a query's physical plan with its result.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::execution::SessionStateBuilder;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::{collect, ExecutionPlan};
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};

/// A session with 2 target partitions and the tables `dir/<table>` registered; `rule` runs
/// after DataFusion's physical rules.
pub async fn parquet_context(
    dir: &Path,
    tables: &[&str],
    rule: Option<Arc<dyn PhysicalOptimizerRule + Send + Sync>>,
) -> SessionContext {
    let mut state = SessionStateBuilder::new()
        .with_config(SessionConfig::new().with_target_partitions(2))
        .with_default_features();
    if let Some(rule) = rule {
        state = state.with_physical_optimizer_rule(rule);
    }
    let ctx = SessionContext::new_with_state(state.build());
    for table in tables {
        ctx.register_parquet(
            *table,
            dir.join(table).to_str().unwrap(),
            ParquetReadOptions::default(),
        )
        .await
        .unwrap();
    }
    ctx
}

/// The physical plan of `sql` and its result.
pub async fn plan_and_collect(
    ctx: &SessionContext,
    sql: &str,
) -> (Arc<dyn ExecutionPlan>, Vec<RecordBatch>) {
    let plan = ctx
        .sql(sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let rows = collect(Arc::clone(&plan), ctx.task_ctx()).await.unwrap();
    (plan, rows)
}
