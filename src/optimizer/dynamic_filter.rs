//! Applies a hash join's dynamic filter to rows at the scan it was pushed to, when the rows it
//! rejects would otherwise be aggregated, sorted or joined before reaching that join.
//!
//! Once a hash join has built its hash table, DataFusion pushes a "dynamic filter" (the keys'
//! bounds and a membership test) down to the Parquet scans on the probe side. With Parquet
//! `pushdown_filters` off (Sightline's default: on, row-level pushdown of the static predicates
//! made TPC-H 20% slower) the scan uses it only to skip row groups by their statistics, which
//! rarely helps: every row still flows up. That costs nothing when the scan feeds the join
//! directly, since the join's probe is the same test. It costs a lot when the filter crossed an
//! aggregation or another join to get there: TPC-H Q17 aggregates all 6M `lineitem` rows by
//! part before the semi-join keeps those of 204 parts, and Q18 joins all 1.5M orders to
//! customers before keeping 57 of them. For such scans this rule adds a [`JoinKeyFilterExec`]
//! with the dynamic filter right above the scan. The filter is filled in when the join's build
//! side is complete, before the probe side starts reading, so the rows are filtered from the
//! first batch.
//!
//! Whether a join's keys are selective is known only once its build side is read: joining
//! `lineitem` to all of `orders` keeps every row, and testing 6M rows against a 1.5M-key hash
//! table for nothing cost TPC-H Q09 40% more time. So the filter is adaptive: it measures the
//! share of rows it keeps over its first [`SAMPLE_ROWS`] rows and stops testing (passes batches
//! through untouched) if it keeps more than [`MAX_KEPT_SHARE`] of them.
//!
//! When the scan's own static filter is cheap (fixed-width comparisons), the key test goes
//! above it, to run only on the rows that filter keeps.
//!
//! A scan under a `CoalescePartitionsExec` starts reading when the plan starts, possibly before
//! the join's build side is complete, so the filter first waits until the join has published
//! its final keys (as the join itself does before probing). The join publishes them as soon as
//! its build side is read; if that somehow does not happen within [`MAX_WAIT`] the filter steps
//! aside and lets every row through, which is always correct.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::cast::as_boolean_array;
use datafusion::common::internal_err;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::metrics::{
    BaselineMetrics, Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, PlanProperties};
use std::time::Duration;

use datafusion::physical_expr::expressions::DynamicFilterPhysicalExpr;
use futures::future::BoxFuture;
use futures::{Stream, StreamExt};

use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::Result;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::expressions::{
    BinaryExpr, Column, IsNotNullExpr, IsNullExpr, Literal, NotExpr,
};
use datafusion::physical_expr::utils::split_conjunction;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::joins::HashJoinExec;
use datafusion::physical_plan::{ChildrenPropertiesMode, ExecutionPlan, ReplaceChildrenOptions};

/// The physical optimizer rule; see the module documentation.
#[derive(Debug, Default)]
pub struct FilterScansByJoinKeys;

impl PhysicalOptimizerRule for FilterScansByJoinKeys {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !config.optimizer.enable_join_dynamic_filter_pushdown
            || config.execution.parquet.pushdown_filters
        {
            return Ok(plan);
        }
        let mut joins = HashSet::new();
        collect_join_filters(&plan, &mut joins);
        if joins.is_empty() {
            return Ok(plan);
        }
        let rule = Rewrite { joins };
        rule.rewrite(plan, &HashSet::new())
    }

    fn name(&self) -> &str {
        "sightline_filter_scans_by_join_keys"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The ids of the dynamic filters hash joins in the plan produce.
fn collect_join_filters(plan: &Arc<dyn ExecutionPlan>, out: &mut HashSet<u64>) {
    if let Some(join) = plan.downcast_ref::<HashJoinExec>() {
        out.extend(produced_ids(join));
    }
    for child in plan.children() {
        collect_join_filters(child, out);
    }
}

fn produced_ids(join: &HashJoinExec) -> HashSet<u64> {
    join.dynamic_expressions_produced()
        .iter()
        .filter_map(|f| f.expression_id())
        .collect()
}

struct Rewrite {
    joins: HashSet<u64>,
}

impl Rewrite {
    /// `direct`: the dynamic filters whose join receives this node's rows unchanged, apart
    /// from projection, repartitioning and filtering.
    fn rewrite(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        direct: &HashSet<u64>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if plan.downcast_ref::<DataSourceExec>().is_some() {
            return self.filter_scan(plan, direct);
        }
        if let Some(filtered) = self.filter_above_static_filter(&plan, direct)? {
            return Ok(filtered);
        }
        let children = plan.children();
        if children.is_empty() {
            return Ok(plan);
        }
        let none = HashSet::new();
        let child_direct: Vec<HashSet<u64>> =
            if let Some(join) = plan.downcast_ref::<HashJoinExec>() {
                // Children are (build, probe); the join's own filter goes to the probe side.
                vec![none, produced_ids(join)]
            } else if passes_rows_through(plan.name()) {
                vec![direct.clone(); children.len()]
            } else {
                vec![none; children.len()]
            };
        let mut changed = false;
        let mut new_children = Vec::with_capacity(children.len());
        for (child, direct) in children.into_iter().zip(child_direct.iter()) {
            let new_child = self.rewrite(Arc::clone(child), direct)?;
            changed |= !Arc::ptr_eq(&new_child, child);
            new_children.push(new_child);
        }
        if changed {
            plan.replace_children(
                new_children,
                ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
            )
        } else {
            Ok(plan)
        }
    }

    fn filter_scan(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        direct: &HashSet<u64>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match self.key_filters(&plan, direct, &plan.schema())? {
            Some(filters) => Ok(wrap(plan, filters)),
            None => Ok(plan),
        }
    }

    /// A scan's key filters go above its own `FilterExec` when that filter is cheap: a
    /// comparison of fixed-width values costs a nanosecond or two a row, a key test ten, so the
    /// keys are better tested on the rows the static filter keeps (TPC-H Q07 tests 1.8M
    /// `lineitem` rows of the right years instead of all 6M).
    fn filter_above_static_filter(
        &self,
        plan: &Arc<dyn ExecutionPlan>,
        direct: &HashSet<u64>,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(filter) = plan.downcast_ref::<FilterExec>() else {
            return Ok(None);
        };
        // Possibly through a round-robin repartitioning of a single file's scan.
        let mut scan = filter.input();
        while matches!(scan.name(), "RepartitionExec" | "CoalesceBatchesExec") {
            scan = scan.children()[0];
        }
        if scan.downcast_ref::<DataSourceExec>().is_none()
            || !is_cheap(filter.predicate(), &filter.input().schema())
        {
            return Ok(None);
        }
        Ok(self
            .key_filters(scan, direct, &plan.schema())?
            .map(|filters| wrap(Arc::clone(plan), filters)))
    }

    /// The dynamic filters pushed to `scan` that this rule should apply, remapped to `schema`
    /// (the output of the node they will sit on), direct join's first; `None` when there are
    /// none that cross an aggregate or another join.
    fn key_filters(
        &self,
        scan: &Arc<dyn ExecutionPlan>,
        direct: &HashSet<u64>,
        schema: &SchemaRef,
    ) -> Result<Option<Vec<Arc<dyn PhysicalExpr>>>> {
        let Some(predicate) = scan
            .downcast_ref::<DataSourceExec>()
            .and_then(|scan| scan.data_source().downcast_ref::<FileScanConfig>())
            .and_then(|config| config.file_source().filter())
        else {
            return Ok(None);
        };
        let (mut first, mut then) = (Vec::new(), Vec::new());
        for conjunct in split_conjunction(&predicate) {
            let Some(id) = conjunct.expression_id() else {
                continue;
            };
            if !self.joins.contains(&id) {
                continue;
            }
            // The scan's predicate indexes the table's columns; the filter above it sees the
            // scan's (or its filter's) projected output.
            let mut unresolved = false;
            let remapped = Arc::clone(conjunct).transform_up(|e: Arc<dyn PhysicalExpr>| {
                let Some(column) = e.downcast_ref::<Column>() else {
                    return Ok(Transformed::no(e));
                };
                match schema.index_of(column.name()) {
                    Ok(index) => Ok(Transformed::yes(
                        Arc::new(Column::new(column.name(), index)) as Arc<dyn PhysicalExpr>,
                    )),
                    Err(_) => {
                        unresolved = true;
                        Ok(Transformed::no(e))
                    }
                }
            })?;
            if unresolved {
                // Not visible above: e.g. a column the static filter's projection drops.
                return Ok(None);
            }
            if direct.contains(&id) {
                first.push(remapped.data);
            } else {
                then.push(remapped.data);
            }
        }
        if then.is_empty() {
            return Ok(None);
        }
        // The keys of the join the scan feeds are tested first: when they are selective (TPC-H
        // Q08: `lineitem` rows of 1,450 parts), the other joins' tests then run on the few rows
        // left instead of all of them; when not, that test stops after its sample. One adaptive
        // filter per join, so an unselective join's test stops without the others.
        Ok(Some(first.into_iter().chain(then).collect()))
    }
}

fn wrap(
    mut plan: Arc<dyn ExecutionPlan>,
    filters: Vec<Arc<dyn PhysicalExpr>>,
) -> Arc<dyn ExecutionPlan> {
    for filter in filters {
        plan = Arc::new(JoinKeyFilterExec::new(filter, plan));
    }
    plan
}

/// Whether a static filter costs only a few fixed-width comparisons per row: columns and
/// literals of fixed-width types, compared, combined and negated; no string or pattern tests,
/// no function calls.
pub(super) fn is_cheap(predicate: &Arc<dyn PhysicalExpr>, schema: &SchemaRef) -> bool {
    let mut cheap = true;
    let _ = predicate.apply(|e| {
        let fixed_width = |e: &Arc<dyn PhysicalExpr>| {
            e.data_type(schema)
                .is_ok_and(|t| t.is_primitive() || t == DataType::Boolean)
        };
        let ok = if let Some(binary) = e.downcast_ref::<BinaryExpr>() {
            !matches!(
                binary.op(),
                Operator::LikeMatch
                    | Operator::ILikeMatch
                    | Operator::NotLikeMatch
                    | Operator::NotILikeMatch
                    | Operator::RegexMatch
                    | Operator::RegexIMatch
                    | Operator::RegexNotMatch
                    | Operator::RegexNotIMatch
            ) && fixed_width(binary.left())
                && fixed_width(binary.right())
        } else {
            (e.downcast_ref::<Column>().is_some()
                || e.downcast_ref::<Literal>().is_some()
                || e.downcast_ref::<NotExpr>().is_some()
                || e.downcast_ref::<IsNullExpr>().is_some()
                || e.downcast_ref::<IsNotNullExpr>().is_some())
                && fixed_width(e)
        };
        cheap &= ok;
        Ok(if ok {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    });
    cheap
}

/// Operators between a scan and a join that hand rows on one for one (or drop some): the join
/// itself tests each of them against its keys as cheaply as a filter would.
fn passes_rows_through(name: &str) -> bool {
    matches!(
        name,
        "ProjectionExec"
            | "CoalescePartitionsExec"
            | "RepartitionExec"
            | "CoalesceBatchesExec"
            | "FilterExec"
    )
}

/// Rows a [`JoinKeyFilterExec`] tests (per partition) before judging its selectivity.
pub const SAMPLE_ROWS: usize = 65_536;
/// A [`JoinKeyFilterExec`] that keeps more than this share of its sample stops testing.
pub const MAX_KEPT_SHARE: f64 = 0.5;

/// How long a [`JoinKeyFilterExec`] waits for its join to publish its keys.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// Filters a scan's rows by a join's dynamic filter, adaptively (see the module documentation).
#[derive(Debug, Clone)]
pub struct JoinKeyFilterExec {
    predicate: Arc<dyn PhysicalExpr>,
    input: Arc<dyn ExecutionPlan>,
    sample_rows: usize,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl JoinKeyFilterExec {
    pub fn new(predicate: Arc<dyn PhysicalExpr>, input: Arc<dyn ExecutionPlan>) -> Self {
        JoinKeyFilterExec {
            predicate,
            sample_rows: SAMPLE_ROWS,
            properties: Arc::clone(input.properties()),
            input,
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl JoinKeyFilterExec {
    /// The sample size, [`SAMPLE_ROWS`] unless set.
    pub fn with_sample_rows(mut self, rows: usize) -> Self {
        self.sample_rows = rows;
        self
    }
}

impl DisplayAs for JoinKeyFilterExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "JoinKeyFilterExec: {} (stops if it keeps > {}% of the first {} rows)",
            self.predicate,
            MAX_KEPT_SHARE * 100.0,
            self.sample_rows
        )
    }
}

impl ExecutionPlan for JoinKeyFilterExec {
    fn name(&self) -> &str {
        "JoinKeyFilterExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        f(&self.predicate)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return internal_err!("JoinKeyFilterExec takes one child, got {}", children.len());
        }
        Ok(Arc::new(
            JoinKeyFilterExec::new(Arc::clone(&self.predicate), children.swap_remove(0))
                .with_sample_rows(self.sample_rows),
        ))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let predicate = Arc::clone(&self.predicate);
        let keys_ready = Box::pin(async move {
            match predicate.downcast_ref::<DynamicFilterPhysicalExpr>() {
                Some(filter) => tokio::time::timeout(MAX_WAIT, filter.wait_complete())
                    .await
                    .is_ok(),
                None => true,
            }
        });
        Ok(Box::pin(JoinKeyFilterStream {
            keys_ready: Some(keys_ready),
            schema: input.schema(),
            input,
            predicate: Arc::clone(&self.predicate),
            sample_rows: self.sample_rows,
            seen: 0,
            kept: 0,
            active: true,
            baseline: BaselineMetrics::new(&self.metrics, partition),
            rows_tested: MetricBuilder::new(&self.metrics).counter("rows_tested", partition),
        }))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

struct JoinKeyFilterStream {
    /// Resolves (true) when the join has published its keys, false on timeout.
    keys_ready: Option<BoxFuture<'static, bool>>,
    schema: SchemaRef,
    input: SendableRecordBatchStream,
    predicate: Arc<dyn PhysicalExpr>,
    sample_rows: usize,
    seen: usize,
    kept: usize,
    active: bool,
    baseline: BaselineMetrics,
    rows_tested: Count,
}

impl JoinKeyFilterStream {
    fn filter_batch(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let _timer = self.baseline.elapsed_compute().timer();
        let mask = self
            .predicate
            .evaluate(&batch)?
            .into_array(batch.num_rows())?;
        let out = filter_record_batch(&batch, as_boolean_array(&mask)?)?;
        self.rows_tested.add(batch.num_rows());
        self.seen += batch.num_rows();
        self.kept += out.num_rows();
        if self.seen >= self.sample_rows && self.kept as f64 > self.seen as f64 * MAX_KEPT_SHARE {
            self.active = false;
        }
        Ok(out)
    }
}

impl Stream for JoinKeyFilterStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(wait) = self.keys_ready.as_mut() {
            let published = ready!(wait.as_mut().poll(cx));
            self.keys_ready = None;
            self.active = published;
        }
        loop {
            let batch = match ready!(self.input.poll_next_unpin(cx)) {
                Some(Ok(batch)) => batch,
                other => return Poll::Ready(other),
            };
            if !self.active {
                return self.baseline.record_poll(Poll::Ready(Some(Ok(batch))));
            }
            match self.filter_batch(batch) {
                Ok(out) if out.num_rows() == 0 => continue,
                result => return self.baseline.record_poll(Poll::Ready(Some(result))),
            }
        }
    }
}

impl RecordBatchStream for JoinKeyFilterStream {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::dataframe::DataFrameWriteOptions;
    use datafusion::datasource::memory::MemorySourceConfig;
    use datafusion::logical_expr::Operator;
    use datafusion::physical_expr::expressions::{binary, col, lit};
    use datafusion::physical_plan::metrics::MetricValue;
    use datafusion::physical_plan::{collect, ExecutionPlan};
    use datafusion::prelude::SessionContext;

    use super::super::test_util::{parquet_context, plan_and_collect};
    use super::{FilterScansByJoinKeys, JoinKeyFilterExec};

    fn find<'a>(plan: &'a Arc<dyn ExecutionPlan>, out: &mut Vec<&'a Arc<dyn ExecutionPlan>>) {
        if plan.name() == "JoinKeyFilterExec" {
            out.push(plan);
        }
        for child in plan.children() {
            find(child, out);
        }
    }

    fn metric(plan: &Arc<dyn ExecutionPlan>, name: &str) -> usize {
        plan.metrics()
            .unwrap()
            .iter()
            .filter(|m| m.value().name() == name)
            .map(|m| match m.value() {
                MetricValue::OutputRows(c) => c.value(),
                MetricValue::Count { count, .. } => count.value(),
                _ => 0,
            })
            .sum()
    }

    async fn context(dir: &std::path::Path, rule: bool) -> SessionContext {
        let rule = rule.then(|| Arc::new(FilterScansByJoinKeys) as _);
        parquet_context(dir, &["facts", "dims"], rule).await
    }

    /// The physical plan of `sql` with the rule, and its result.
    async fn run_with_rule(
        dir: &std::path::Path,
        sql: &str,
    ) -> (Arc<dyn ExecutionPlan>, Vec<RecordBatch>) {
        plan_and_collect(&context(dir, true).await, sql).await
    }

    /// 200,000 facts over 10,000 keys; 100 of the keys are tagged 'a'.
    async fn write_tables(dir: &std::path::Path) {
        let ctx = SessionContext::new();
        let n = 200_000i64;
        let facts = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("k", DataType::Int64, false),
                Field::new("v", DataType::Int64, false),
            ])),
            vec![
                Arc::new(Int64Array::from_iter_values((0..n).map(|i| i % 10_000))),
                Arc::new(Int64Array::from_iter_values(0..n)),
            ],
        )
        .unwrap();
        let dims = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("k", DataType::Int64, false),
                Field::new("tag", DataType::Utf8, false),
            ])),
            vec![
                Arc::new(Int64Array::from_iter_values(0..10_000)),
                Arc::new(StringArray::from_iter_values((0..10_000).map(|k| {
                    if k % 100 == 7 {
                        "a"
                    } else {
                        "b"
                    }
                }))),
            ],
        )
        .unwrap();
        for (name, batch) in [("facts", facts), ("dims", dims)] {
            ctx.read_batch(batch)
                .unwrap()
                .write_parquet(
                    dir.join(name).join("part-0.parquet").to_str().unwrap(),
                    DataFrameWriteOptions::new(),
                    None,
                )
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn an_aggregate_under_a_selective_join_reads_only_the_joined_keys() {
        let dir = tempfile::tempdir().unwrap();
        write_tables(dir.path()).await;
        // TPC-H Q17's shape: the join's keys reach the facts scan through the aggregation.
        let sql = "SELECT d.k, s.total, s.n FROM dims d \
                   JOIN (SELECT k, sum(v) AS total, count(*) AS n FROM facts GROUP BY k) s \
                   ON s.k = d.k WHERE d.tag = 'a' ORDER BY d.k";
        let (plan, rows) = run_with_rule(dir.path(), sql).await;
        let mut filters = Vec::new();
        find(&plan, &mut filters);
        assert_eq!(
            filters.len(),
            1,
            "{}",
            datafusion::physical_plan::displayable(plan.as_ref()).indent(true)
        );
        // 100 keys of 10,000, 20 facts each.
        assert_eq!(metric(filters[0], "output_rows"), 2_000);
        assert_eq!(metric(filters[0], "rows_tested"), 200_000);

        let without = context(dir.path(), false).await;
        let expected = without.sql(sql).await.unwrap().collect().await.unwrap();
        let (got, want) = (
            pretty_format_batches(&rows).unwrap().to_string(),
            pretty_format_batches(&expected).unwrap().to_string(),
        );
        assert_eq!(got, want);
        assert_eq!(got.lines().count(), 100 + 4);
    }

    /// Runs the Q17-shaped query with `static_filter` in the aggregated subquery; returns the
    /// key filter's child operator, how many rows it tested, and whether the answer matched.
    async fn key_filter_with_static_filter(static_filter: &str) -> (String, usize, bool) {
        let dir = tempfile::tempdir().unwrap();
        write_tables(dir.path()).await;
        let sql = format!(
            "SELECT d.k, s.total FROM dims d \
             JOIN (SELECT k, sum(v) AS total FROM facts WHERE {static_filter} GROUP BY k) s \
             ON s.k = d.k WHERE d.tag = 'a' ORDER BY d.k"
        );
        let (plan, rows) = run_with_rule(dir.path(), &sql).await;
        let mut filters = Vec::new();
        find(&plan, &mut filters);
        assert_eq!(filters.len(), 1);
        let child = filters[0].children()[0].name().to_string();
        let tested = metric(filters[0], "rows_tested");
        let without = context(dir.path(), false).await;
        let expected = without.sql(&sql).await.unwrap().collect().await.unwrap();
        let same = pretty_format_batches(&rows).unwrap().to_string()
            == pretty_format_batches(&expected).unwrap().to_string();
        (child, tested, same)
    }

    #[tokio::test]
    async fn keys_are_tested_after_a_cheap_static_filter() {
        let (child, tested, same) = key_filter_with_static_filter("v < 50000").await;
        assert_eq!((child.as_str(), tested, same), ("FilterExec", 50_000, true));
    }

    #[tokio::test]
    async fn keys_are_tested_before_a_costly_static_filter() {
        let (child, tested, same) =
            key_filter_with_static_filter("CAST(v AS VARCHAR) LIKE '1%'").await;
        assert_eq!(
            (child.as_str(), tested, same),
            ("DataSourceExec", 200_000, true)
        );
    }

    #[tokio::test]
    async fn a_scan_feeding_its_join_directly_gets_no_extra_filter() {
        let dir = tempfile::tempdir().unwrap();
        write_tables(dir.path()).await;
        let (plan, _) = run_with_rule(
            dir.path(),
            "SELECT sum(f.v) FROM dims d JOIN facts f ON f.k = d.k WHERE d.tag = 'a'",
        )
        .await;
        let mut filters = Vec::new();
        find(&plan, &mut filters);
        assert!(filters.is_empty());
    }

    fn numbers() -> Arc<dyn ExecutionPlan> {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let batches: Vec<RecordBatch> = (0..10)
            .map(|b| {
                RecordBatch::try_new(
                    Arc::clone(&schema),
                    vec![Arc::new(Int64Array::from_iter_values(
                        b * 1000..(b + 1) * 1000,
                    ))],
                )
                .unwrap()
            })
            .collect();
        MemorySourceConfig::try_new_exec(&[batches], schema, None).unwrap()
    }

    async fn run(op: Operator, value: i64) -> (usize, usize) {
        let input = numbers();
        let predicate = binary(
            col("x", &input.schema()).unwrap(),
            op,
            lit(value),
            &input.schema(),
        )
        .unwrap();
        let plan: Arc<dyn ExecutionPlan> =
            Arc::new(JoinKeyFilterExec::new(predicate, input).with_sample_rows(2_000));
        let rows: usize = collect(Arc::clone(&plan), SessionContext::new().task_ctx())
            .await
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum();
        (rows, metric(&plan, "rows_tested"))
    }

    #[tokio::test]
    async fn a_selective_filter_keeps_testing() {
        assert_eq!(run(Operator::Lt, 500).await, (500, 10_000));
    }

    #[tokio::test]
    async fn a_filter_that_keeps_most_rows_stops_after_its_sample() {
        // Keeps 1,500 of the first 2,000 rows, then lets the rest through untested.
        assert_eq!(run(Operator::GtEq, 500).await, (9_500, 2_000));
    }
}
