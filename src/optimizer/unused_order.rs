//! Lets a scan of files that declare a sort order (Parquet `sorting_columns`) share its files
//! between partitions when nothing above it uses that order.
//!
//! DataFusion reads such files in order, each partition its own files, so that the partitions'
//! rows stay sorted. That disables its work sharing, where an idle partition takes files or row
//! groups from a busy one, and made scans 20–45% slower (TPC-H Q01, Q06, Q17, Q19 over files
//! that declare their key order). The order pays off only where an operator uses it, such as an
//! aggregation grouped by the sort key (Q18: 0.87 of the time). This rule keeps the order of
//! scans whose rows reach such an operator, and drops it from the others.
//!
//! The walk is conservative: from the root down, a child's order counts as used unless its
//! parent is known to discard it (hash repartitioning, merging partitions, a hash aggregation
//! that is not in sorted mode, the build side of a hash join). Unknown operators, `SortExec`
//! (it can use a sorted prefix of its input) and the root (its rows may be the query's
//! `ORDER BY`, unless it has several partitions) keep it.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::Result;
use datafusion::datasource::physical_plan::{FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::AggregateExec;
use datafusion::physical_plan::joins::HashJoinExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, ExecutionPlan, InputOrderMode, ReplaceChildrenOptions,
};

/// The physical optimizer rule; see the module documentation.
#[derive(Debug, Default)]
pub struct ScanUnusedOrderFreely;

impl PhysicalOptimizerRule for ScanUnusedOrderFreely {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !config.execution.enable_file_stream_work_stealing {
            return Ok(plan);
        }
        // A query's ORDER BY ends in one partition; rows of several are not in any order.
        let used = plan.properties().output_partitioning().partition_count() <= 1;
        rewrite(plan, used)
    }

    fn name(&self) -> &str {
        "sightline_scan_unused_order_freely"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn rewrite(plan: Arc<dyn ExecutionPlan>, order_used: bool) -> Result<Arc<dyn ExecutionPlan>> {
    if !order_used {
        if let Some(unordered) = without_order(&plan)? {
            return Ok(unordered);
        }
    }
    let children = plan.children();
    if children.is_empty() {
        return Ok(plan);
    }
    let mut changed = false;
    let mut new_children = Vec::with_capacity(children.len());
    for (index, child) in children.iter().enumerate() {
        let used = order_used_by(&plan, index, order_used);
        let new_child = rewrite(Arc::clone(child), used)?;
        changed |= !Arc::ptr_eq(&new_child, child);
        new_children.push(new_child);
    }
    if !changed {
        return Ok(plan);
    }
    plan.replace_children(
        new_children,
        ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
    )
}

/// Whether `parent` (or, for operators that hand their input's order on, what is above it)
/// may use the order of its child `index`.
fn order_used_by(parent: &Arc<dyn ExecutionPlan>, index: usize, parent_used: bool) -> bool {
    if parent
        .required_input_ordering()
        .get(index)
        .is_some_and(Option::is_some)
    {
        return true;
    }
    if let Some(repartition) = parent.downcast_ref::<RepartitionExec>() {
        return repartition.preserve_order() && parent_used;
    }
    if let Some(aggregate) = parent.downcast_ref::<AggregateExec>() {
        return *aggregate.input_order_mode() != InputOrderMode::Linear;
    }
    if parent.downcast_ref::<HashJoinExec>().is_some() {
        // The build side is hashed; the probe side's order may carry through.
        return index == 1 && parent_used;
    }
    match parent.name() {
        "CoalescePartitionsExec" => false,
        "ProjectionExec" | "FilterExec" | "CoalesceBatchesExec" | "JoinKeyFilterExec" => {
            parent_used
        }
        _ => true,
    }
}

/// `plan` without its declared order, if it is a file scan that has one.
fn without_order(plan: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let Some(config) = plan
        .downcast_ref::<DataSourceExec>()
        .and_then(|scan| scan.data_source().downcast_ref::<FileScanConfig>())
    else {
        return Ok(None);
    };
    if config.output_ordering.is_empty() || config.limit.is_some() {
        return Ok(None);
    }
    let unordered = FileScanConfigBuilder::from(config.clone())
        .with_output_ordering(vec![])
        .with_preserve_order(false)
        .build();
    Ok(Some(DataSourceExec::from_data_source(unordered)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::RecordBatch;
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::SessionContext;

    use super::super::test_util::{parquet_context, plan_and_collect};

    async fn context(dir: &std::path::Path, with_rule: bool) -> SessionContext {
        let rule = with_rule.then(|| Arc::new(ScanUnusedOrderFreely) as _);
        parquet_context(dir, &["lineitem"], rule).await
    }

    /// Whether the plan's file scans declare an order.
    fn scans_ordered(plan: &Arc<dyn ExecutionPlan>) -> Vec<bool> {
        let mut out = Vec::new();
        if let Some(config) = plan
            .downcast_ref::<DataSourceExec>()
            .and_then(|scan| scan.data_source().downcast_ref::<FileScanConfig>())
        {
            out.push(!config.output_ordering.is_empty());
        }
        for child in plan.children() {
            out.extend(scans_ordered(child));
        }
        out
    }

    #[tokio::test]
    async fn keeps_order_only_where_it_is_used() {
        let dir = tempfile::tempdir().unwrap();
        crate::tpch::generate(dir.path(), 0.01, 2, crate::tpch::Codec::Zstd).unwrap();
        let (with, without) = (
            context(dir.path(), true).await,
            context(dir.path(), false).await,
        );
        for (sql, kept) in [
            // Order unused: an ungrouped aggregate.
            ("SELECT sum(l_quantity), count(*) FROM lineitem", false),
            // All rows, in no particular order (two partitions at the root).
            ("SELECT l_orderkey, l_linenumber FROM lineitem", false),
            // Hash-grouped by another column.
            (
                "SELECT l_returnflag, sum(l_quantity) FROM lineitem GROUP BY l_returnflag \
                 ORDER BY l_returnflag",
                false,
            ),
            // The query's order is the files' order: no sort is planned, so it must stay.
            (
                "SELECT l_orderkey, l_linenumber FROM lineitem ORDER BY l_orderkey",
                true,
            ),
            (
                "SELECT l_orderkey FROM lineitem WHERE l_quantity > 10 ORDER BY l_orderkey \
                 LIMIT 7",
                true,
            ),
            // Grouped by the sort key: aggregated in sorted mode.
            (
                "SELECT l_orderkey, sum(l_quantity) AS q FROM lineitem GROUP BY l_orderkey \
                 ORDER BY q DESC, l_orderkey LIMIT 5",
                true,
            ),
        ] {
            let (plan, rows) = plan_and_collect(&with, sql).await;
            let (reference_plan, reference) = plan_and_collect(&without, sql).await;
            assert!(scans_ordered(&reference_plan).iter().all(|o| *o), "{sql}");
            assert!(
                scans_ordered(&plan).iter().all(|o| *o == kept),
                "{sql}\n{}",
                datafusion::physical_plan::displayable(plan.as_ref()).indent(true)
            );
            let lines = |batches: &[RecordBatch]| {
                let text = pretty_format_batches(batches).unwrap().to_string();
                let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
                if !sql.contains("ORDER BY") {
                    lines.sort();
                }
                lines
            };
            assert_eq!(lines(&rows), lines(&reference), "{sql}");
        }
    }
}
