//! Computes `timestamp ± INTERVAL '…'` with a fixed length of time as a plain subtraction.
//!
//! `INTERVAL '30 days'` is a month-day-nanosecond interval; adding one to a timestamp column
//! goes through calendar arithmetic for every row (a day can be 23 or 25 hours in a zone with
//! daylight saving), about 40 ns a row: `WHERE ts > ts - INTERVAL '30 days'` over 1.25M rows
//! takes 61 ms, against 9 ms for the same test with a duration. For a timestamp without a time
//! zone, or in UTC, an interval with no months is a fixed span (a day is 24 hours there, in
//! PostgreSQL too), so the interval becomes a duration of the timestamp's unit, which Arrow
//! adds with one integer operation. Timestamps in other zones and intervals with months keep
//! the calendar arithmetic. Attribution windows (`t.ts > o.ts - INTERVAL '30 days'` in a join)
//! are the common case.

use datafusion::arrow::datatypes::{DataType, IntervalMonthDayNano, TimeUnit};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, LogicalPlan, Operator};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// The optimizer rule; see the module documentation.
#[derive(Debug, Default)]
pub struct FixedIntervalsAsDurations;

impl OptimizerRule for FixedIntervalsAsDurations {
    fn name(&self) -> &str {
        "sightline_fixed_intervals_as_durations"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        if matches!(plan, LogicalPlan::TableScan(_)) || !has_interval_arithmetic(&plan)? {
            return Ok(Transformed::no(plan));
        }
        let inputs = plan.inputs();
        let Some((first, rest)) = inputs.split_first() else {
            return Ok(Transformed::no(plan));
        };
        let mut schema: DFSchema = first.schema().as_ref().clone();
        for input in rest {
            schema.merge(input.schema());
        }
        let names = NamePreserver::new(&plan);
        plan.map_expressions(|expr| {
            let name = names.save(&expr);
            let out = expr.transform_up(|e| rewrite(e, &schema))?;
            Ok(Transformed::new_transformed(
                name.restore(out.data),
                out.transformed,
            ))
        })
    }
}

fn has_interval_arithmetic(plan: &LogicalPlan) -> Result<bool> {
    let mut found = false;
    plan.apply_expressions(|e| {
        e.apply(|e| {
            if let Expr::BinaryExpr(BinaryExpr { left, op, right }) = e {
                if matches!(op, Operator::Plus | Operator::Minus)
                    && (is_interval_literal(left) || is_interval_literal(right))
                {
                    found = true;
                    return Ok(TreeNodeRecursion::Stop);
                }
            }
            Ok(TreeNodeRecursion::Continue)
        })
    })?;
    Ok(found)
}

fn is_interval_literal(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Literal(
            ScalarValue::IntervalMonthDayNano(Some(_)) | ScalarValue::IntervalDayTime(Some(_)),
            _
        )
    )
}

fn rewrite(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &expr else {
        return Ok(Transformed::no(expr));
    };
    let (timestamp, interval, interval_on_left) = match (op, left.as_ref(), right.as_ref()) {
        (Operator::Plus | Operator::Minus, ts, Expr::Literal(iv, _)) => (ts, iv, false),
        (Operator::Plus, Expr::Literal(iv, _), ts) => (ts, iv, true),
        _ => return Ok(Transformed::no(expr)),
    };
    let Ok(DataType::Timestamp(unit, zone)) = timestamp.get_type(schema) else {
        return Ok(Transformed::no(expr));
    };
    if !zone.as_deref().is_none_or(is_utc) {
        return Ok(Transformed::no(expr));
    }
    let Some(duration) = fixed_span_nanos(interval).and_then(|ns| as_duration(ns, unit)) else {
        return Ok(Transformed::no(expr));
    };
    let duration = Expr::Literal(duration, None);
    let (l, r) = if interval_on_left {
        (duration, timestamp.clone())
    } else {
        (timestamp.clone(), duration)
    };
    Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(
        Box::new(l),
        *op,
        Box::new(r),
    ))))
}

fn is_utc(zone: &str) -> bool {
    matches!(
        zone.to_ascii_uppercase().as_str(),
        "UTC" | "Z" | "+00:00" | "+00" | "ETC/UTC" | "GMT"
    )
}

/// The interval's length in nanoseconds, if it is a fixed length of time (no months).
fn fixed_span_nanos(interval: &ScalarValue) -> Option<i64> {
    match interval {
        ScalarValue::IntervalMonthDayNano(Some(IntervalMonthDayNano {
            months: 0,
            days,
            nanoseconds,
        })) => i64::from(*days)
            .checked_mul(NANOS_PER_DAY)?
            .checked_add(*nanoseconds),
        ScalarValue::IntervalDayTime(Some(v)) => i64::from(v.days)
            .checked_mul(NANOS_PER_DAY)?
            .checked_add(i64::from(v.milliseconds).checked_mul(1_000_000)?),
        _ => None,
    }
}

/// A duration of `unit` equal to `nanos`, if `nanos` is a whole number of `unit`s.
fn as_duration(nanos: i64, unit: TimeUnit) -> Option<ScalarValue> {
    let per_unit = match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    };
    if nanos % per_unit != 0 {
        return None;
    }
    let n = Some(nanos / per_unit);
    Some(match unit {
        TimeUnit::Second => ScalarValue::DurationSecond(n),
        TimeUnit::Millisecond => ScalarValue::DurationMillisecond(n),
        TimeUnit::Microsecond => ScalarValue::DurationMicrosecond(n),
        TimeUnit::Nanosecond => ScalarValue::DurationNanosecond(n),
    })
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Int64Array, RecordBatch, TimestampMicrosecondArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::execution::SessionStateBuilder;
    use datafusion::prelude::{SessionConfig, SessionContext};
    use std::sync::Arc;

    use super::*;

    fn context(rule: bool) -> SessionContext {
        let mut state = SessionStateBuilder::new()
            .with_config(SessionConfig::new())
            .with_default_features();
        if rule {
            state = state.with_optimizer_rule(Arc::new(FixedIntervalsAsDurations));
        }
        let ctx = SessionContext::new_with_state(state.build());
        let day = 86_400_000_000i64;
        let ts = |zone: Option<&str>| {
            TimestampMicrosecondArray::from_iter_values((0..100).map(|i| i * day / 3))
                .with_timezone_opt(zone.map(str::to_owned))
        };
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("id", DataType::Int64, false),
                Field::new(
                    "ts",
                    DataType::Timestamp(TimeUnit::Microsecond, None),
                    false,
                ),
                Field::new(
                    "utc",
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    false,
                ),
                Field::new(
                    "ny",
                    DataType::Timestamp(TimeUnit::Microsecond, Some("America/New_York".into())),
                    false,
                ),
            ])),
            vec![
                Arc::new(Int64Array::from_iter_values(0..100)),
                Arc::new(ts(None)),
                Arc::new(ts(Some("UTC"))),
                Arc::new(ts(Some("America/New_York"))),
            ],
        )
        .unwrap();
        ctx.register_batch("t", batch).unwrap();
        ctx
    }

    async fn run(ctx: &SessionContext, sql: &str) -> (String, String) {
        let df = ctx.sql(sql).await.unwrap();
        let plan = df
            .clone()
            .into_optimized_plan()
            .unwrap()
            .display_indent()
            .to_string();
        let rows = pretty_format_batches(&df.collect().await.unwrap())
            .unwrap()
            .to_string();
        (plan, rows)
    }

    #[tokio::test]
    async fn fixed_intervals_become_durations_with_the_same_answers() {
        let (with, without) = (context(true), context(false));
        for sql in [
            "SELECT a.id, count(*) AS n FROM t a JOIN t b ON b.ts <= a.ts \
             AND b.ts > a.ts - INTERVAL '2 days 6 hours' GROUP BY a.id ORDER BY a.id",
            "SELECT id, utc + INTERVAL '1 day' AS next, INTERVAL '90 minutes' + ts AS later FROM t \
             WHERE utc - INTERVAL '12 hours' > utc - INTERVAL '1 day' ORDER BY id",
        ] {
            let (plan, rows) = run(&with, sql).await;
            assert!(plan.contains("Duration"), "{plan}");
            assert!(!plan.contains("IntervalMonthDayNano"), "{plan}");
            assert_eq!(rows, run(&without, sql).await.1, "{sql}");
        }
    }

    #[tokio::test]
    async fn months_and_zones_with_daylight_saving_keep_calendar_arithmetic() {
        let ctx = context(true);
        for sql in [
            "SELECT ts - INTERVAL '1 month' AS x FROM t",
            "SELECT ny - INTERVAL '1 day' AS x FROM t",
            "SELECT ts - INTERVAL '1 nanosecond' AS x FROM t",
        ] {
            let (plan, _) = run(&ctx, sql).await;
            assert!(!plan.contains("Duration"), "{sql}: {plan}");
        }
    }
}
