//! Evaluates a filter's `AND`ed conditions one after another, each only on the rows the ones
//! before it kept.
//!
//! DataFusion evaluates `a AND b` by computing `b` on every row unless `a` kept at most 20% of
//! them. A filter that keeps a quarter of the rows with its first condition (TPC-H Q19:
//! `l_shipinstruct = 'DELIVER IN PERSON'`) therefore computes its costlier conditions (Q19:
//! three decimal ranges, two string tests) on all 6M rows. [`ProgressiveConjunction`] replaces
//! such a filter's predicate: after each condition, when few enough rows are still in, it copies
//! just the columns the next condition reads for those rows and evaluates it on them. "Few
//! enough" is [`COMPACT_BELOW`] for a condition that is a few fixed-width comparisons (copying
//! a value costs about as much as comparing it) and [`COMPACT_BELOW_COSTLY`] for string,
//! pattern or function tests.
//! The order of the conditions is `OrderFilterConjuncts`' (cheap and selective first), so a
//! condition that can fail still runs only on rows every condition before it kept, as in
//! DataFusion's own evaluation. The result is only ever used by `FilterExec`, which treats a
//! NULL condition as false: this predicate returns false where SQL's `AND` would give NULL.

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, BooleanBufferBuilder, RecordBatch};
use datafusion::arrow::compute::{and, filter_record_batch, prep_null_mask_filter};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{internal_err, Result};
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::utils::{collect_columns, split_conjunction};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::ExecutionPlan;

use super::dynamic_filter::is_cheap;

/// Below this share of rows still in, the next condition, if cheap, runs on a compacted copy of
/// the columns it reads (copying costs about as much per row as one cheap comparison)...
pub const COMPACT_BELOW: f64 = 0.25;
/// ... and below this one, if it is costlier.
pub const COMPACT_BELOW_COSTLY: f64 = 0.6;

/// The physical optimizer rule: gives every `FilterExec` with two or more `AND`ed conditions a
/// [`ProgressiveConjunction`] predicate. Runs last, so the rules that read filter predicates
/// (pushdown, pruning, statistics) see the plain conjunction.
#[derive(Debug, Default)]
pub struct FilterProgressively;

impl PhysicalOptimizerRule for FilterProgressively {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(filter) = node.downcast_ref::<FilterExec>() else {
                return Ok(Transformed::no(node));
            };
            let predicate = filter.predicate();
            if predicate.downcast_ref::<ProgressiveConjunction>().is_some() {
                return Ok(Transformed::no(node));
            }
            let conjuncts: Vec<_> = split_conjunction(predicate).into_iter().cloned().collect();
            if conjuncts.len() < 2 {
                return Ok(Transformed::no(node));
            }
            let input = filter.input();
            let schema = input.schema();
            let costs = conjuncts.iter().map(|c| is_cheap(c, &schema)).collect();
            let progressive = Arc::new(ProgressiveConjunction::new(conjuncts, costs));
            let rebuilt = FilterExecBuilder::new(progressive, Arc::clone(input))
                .apply_projection_by_ref(filter.projection().as_ref())?
                .with_default_selectivity(filter.default_selectivity())
                .with_batch_size(filter.batch_size())
                .with_fetch(filter.fetch())
                .build()?;
            Ok(Transformed::yes(Arc::new(rebuilt) as Arc<dyn ExecutionPlan>))
        })
        .data()
    }

    fn name(&self) -> &str {
        "sightline_filter_progressively"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// One condition, and the same condition over just the columns it reads.
#[derive(Debug)]
struct Conjunct {
    expr: Arc<dyn PhysicalExpr>,
    columns: Vec<usize>,
    local: Arc<dyn PhysicalExpr>,
    /// A few fixed-width comparisons (decides when to compact).
    cheap: bool,
}

// `local` is derived from `expr`.
impl PartialEq for Conjunct {
    fn eq(&self, other: &Self) -> bool {
        self.expr.as_ref() == other.expr.as_ref()
    }
}

impl Eq for Conjunct {}

impl Hash for Conjunct {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.expr.hash(state);
    }
}

impl Conjunct {
    fn new(expr: Arc<dyn PhysicalExpr>, cheap: bool) -> Self {
        let mut columns: Vec<usize> = collect_columns(&expr).iter().map(|c| c.index()).collect();
        columns.sort_unstable();
        columns.dedup();
        let local = Arc::clone(&expr)
            .transform_up(|e| {
                let Some(column) = e.downcast_ref::<Column>() else {
                    return Ok(Transformed::no(e));
                };
                let at = columns.binary_search(&column.index()).unwrap_or_default();
                Ok(Transformed::yes(
                    Arc::new(Column::new(column.name(), at)) as Arc<dyn PhysicalExpr>
                ))
            })
            .data()
            .unwrap_or_else(|_| Arc::clone(&expr));
        Conjunct {
            expr,
            columns,
            local,
            cheap,
        }
    }

    /// Below this share of rows still in, run on a compacted copy.
    fn compact_below(&self) -> f64 {
        if self.cheap {
            COMPACT_BELOW
        } else {
            COMPACT_BELOW_COSTLY
        }
    }

    /// The condition on the rows of `batch` that `keep` selects (all rows if `None`), NULL as
    /// false; one value per selected row.
    fn evaluate(&self, batch: &RecordBatch, keep: Option<&BooleanArray>) -> Result<BooleanArray> {
        let mut input = batch.project(&self.columns)?;
        if let Some(keep) = keep {
            input = filter_record_batch(&input, keep)?;
        }
        let rows = input.num_rows();
        let value = self.local.evaluate(&input)?.into_array(rows)?;
        let Some(value) = value.as_any().downcast_ref::<BooleanArray>() else {
            return internal_err!("filter condition {} is not boolean", self.expr);
        };
        Ok(if value.null_count() > 0 {
            prep_null_mask_filter(value)
        } else {
            value.clone()
        })
    }
}

/// `c1 AND c2 AND …` for a filter, evaluated condition by condition on the rows still in.
#[derive(Debug, Hash, PartialEq, Eq)]
pub struct ProgressiveConjunction {
    conjuncts: Vec<Conjunct>,
}

impl ProgressiveConjunction {
    /// `cheap[i]`: whether condition `i` is a few fixed-width comparisons.
    pub fn new(conjuncts: Vec<Arc<dyn PhysicalExpr>>, cheap: Vec<bool>) -> Self {
        ProgressiveConjunction {
            conjuncts: conjuncts
                .into_iter()
                .zip(cheap.into_iter().chain(std::iter::repeat(false)))
                .map(|(e, cheap)| Conjunct::new(e, cheap))
                .collect(),
        }
    }
}

impl fmt::Display for ProgressiveConjunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.conjuncts.iter().enumerate() {
            if i > 0 {
                write!(f, " AND ")?;
            }
            write!(f, "{}", c.expr)?;
        }
        Ok(())
    }
}

impl PhysicalExpr for ProgressiveConjunction {
    fn data_type(&self, _input_schema: &Schema) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn nullable(&self, _input_schema: &Schema) -> Result<bool> {
        Ok(false)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let rows = batch.num_rows();
        let mut mask: Option<BooleanArray> = None;
        for conjunct in &self.conjuncts {
            mask = Some(match mask {
                None => conjunct.evaluate(batch, None)?,
                Some(mask) => {
                    let kept = mask.true_count();
                    if kept == 0 {
                        return Ok(ColumnarValue::Array(Arc::new(mask)));
                    }
                    if (kept as f64) < conjunct.compact_below() * rows as f64 {
                        let value = conjunct.evaluate(batch, Some(&mask))?;
                        scatter(&mask, &value)
                    } else {
                        and(&mask, &conjunct.evaluate(batch, None)?)?
                    }
                }
            });
        }
        match mask {
            Some(mask) => Ok(ColumnarValue::Array(Arc::new(mask) as ArrayRef)),
            None => internal_err!("a progressive conjunction needs at least one condition"),
        }
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        self.conjuncts.iter().map(|c| &c.expr).collect()
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        let cheap = self.conjuncts.iter().map(|c| c.cheap).collect();
        Ok(Arc::new(ProgressiveConjunction::new(children, cheap)))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.conjuncts.iter().enumerate() {
            if i > 0 {
                write!(f, " AND ")?;
            }
            c.expr.fmt_sql(f)?;
        }
        Ok(())
    }
}

/// Spreads `value` (one entry per true row of `mask`) back over `mask`'s rows; false elsewhere.
fn scatter(mask: &BooleanArray, value: &BooleanArray) -> BooleanArray {
    let mut out = BooleanBufferBuilder::new(mask.len());
    out.append_n(mask.len(), false);
    for (row, kept) in mask.values().set_indices().zip(value.values().iter()) {
        if kept {
            out.set_bit(row, true);
        }
    }
    BooleanArray::new(out.finish(), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::Field;
    use datafusion::logical_expr::Operator;
    use datafusion::physical_expr::expressions::{binary, col, lit};

    fn batch() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("b", DataType::Int64, true),
        ]));
        let a: Vec<Option<i64>> = (0..1000).map(|i| (i % 7 != 3).then_some(i)).collect();
        let s: Vec<Option<String>> = (0..1000)
            .map(|i| (i % 11 != 5).then(|| format!("v{}", i % 13)))
            .collect();
        let b: Vec<Option<i64>> = (0..1000).map(|i| Some(i % 17)).collect();
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(a)),
                Arc::new(StringArray::from(s)),
                Arc::new(Int64Array::from(b)),
            ],
        )
        .unwrap()
    }

    /// The rows a filter keeps with DataFusion's `AND` and with the progressive one (or the
    /// error each raised).
    fn both(
        conjuncts: Vec<Arc<dyn PhysicalExpr>>,
        batch: &RecordBatch,
    ) -> (Result<Vec<bool>>, Result<Vec<bool>>) {
        let schema = batch.schema();
        let plain = conjuncts
            .iter()
            .cloned()
            .reduce(|l, r| binary(l, Operator::And, r, &schema).unwrap())
            .unwrap();
        let keep = |v: Result<ColumnarValue>| {
            let a = v?.into_array(batch.num_rows())?;
            let a = a.as_any().downcast_ref::<BooleanArray>().unwrap().clone();
            Ok((0..a.len())
                .map(|i| a.is_valid(i) && a.value(i))
                .collect::<Vec<_>>())
        };
        let expected = keep(plain.evaluate(batch));
        let all_cheap = vec![true; conjuncts.len()];
        let cheap = keep(ProgressiveConjunction::new(conjuncts.clone(), all_cheap).evaluate(batch));
        let got = keep(ProgressiveConjunction::new(conjuncts, vec![]).evaluate(batch));
        // The two compaction thresholds take different paths to the same rows.
        assert_eq!(cheap.as_ref().ok(), got.as_ref().ok());
        (expected, got)
    }

    #[test]
    fn keeps_the_same_rows_as_and_with_nulls_and_every_selectivity() {
        let batch = batch();
        let schema = batch.schema();
        let cmp =
            |c: &str, op, v: i64| binary(col(c, &schema).unwrap(), op, lit(v), &schema).unwrap();
        let s_is =
            |v: &str| binary(col("s", &schema).unwrap(), Operator::Eq, lit(v), &schema).unwrap();
        for conjuncts in [
            // Selective first (compacting path), then unselective.
            vec![
                cmp("a", Operator::Lt, 100),
                s_is("v3"),
                cmp("b", Operator::Gt, 2),
            ],
            // Unselective first (full-batch path), then selective.
            vec![
                cmp("b", Operator::Gt, 1),
                cmp("a", Operator::Gt, 50),
                s_is("v7"),
            ],
            // Nothing kept after the first.
            vec![cmp("a", Operator::Lt, -1), s_is("v1")],
            // Everything kept.
            vec![cmp("b", Operator::GtEq, 0), cmp("b", Operator::Lt, 100)],
        ] {
            let (expected, got) = both(conjuncts, &batch);
            assert_eq!(expected.unwrap(), got.unwrap());
        }
    }

    #[test]
    fn a_fallible_condition_runs_only_on_rows_kept_before_it() {
        // 100 / (b - 3) fails where b = 3. Where DataFusion's `AND` succeeds (its guard kept
        // few rows, so it evaluated the division only on those), so must this; where the guard
        // keeps most rows both evaluate the division everywhere and fail alike.
        let batch = batch();
        let schema = batch.schema();
        for (guard_op, value, succeeds) in [
            (Operator::Lt, 2i64, true),
            (Operator::Gt, 14i64, true),
            (Operator::NotEq, 3i64, false),
        ] {
            let guard = binary(col("b", &schema).unwrap(), guard_op, lit(value), &schema).unwrap();
            let divisor = binary(
                col("b", &schema).unwrap(),
                Operator::Minus,
                lit(3i64),
                &schema,
            )
            .unwrap();
            let ratio = binary(lit(100i64), Operator::Divide, divisor, &schema).unwrap();
            let test = binary(ratio, Operator::Gt, lit(10i64), &schema).unwrap();
            let (expected, got) = both(vec![guard, test], &batch);
            assert_eq!(expected.is_ok(), succeeds);
            match expected {
                Ok(expected) => assert_eq!(expected, got.unwrap()),
                Err(_) => assert!(got.is_err()),
            }
        }
    }

    #[test]
    fn displays_as_the_conjunction_it_replaces() {
        let batch = batch();
        let schema = batch.schema();
        let e = ProgressiveConjunction::new(
            vec![
                binary(col("a", &schema).unwrap(), Operator::Lt, lit(5i64), &schema).unwrap(),
                binary(col("s", &schema).unwrap(), Operator::Eq, lit("x"), &schema).unwrap(),
            ],
            vec![true, false],
        );
        assert_eq!(e.to_string(), "a@0 < 5 AND s@1 = x");
        assert_eq!(e.children().len(), 2);
    }
}
