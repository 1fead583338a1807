//! `explain_change(table, metric, dimensions, period_column, baseline, comparison [, max_depth
//! [, min_support [, top_k]]])`: which segments drove the change of a metric between two periods.

use std::cmp::Ordering;
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use datafusion::arrow::array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, SessionState, TaskContext};
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;

use super::segment_counts::{count_segments, Counts, Segment, Sums};
use crate::sql_table::{literal_text, quote_ident, quote_table, quote_text};
use crate::SqlError;

pub const USAGE: &str = "explain_change('table' or '(SELECT …)', 'metric', 'dim1, dim2, …', \
    'period_column', 'baseline', 'comparison' [, max_depth [, min_support [, top_k]]]) — e.g. \
    explain_change('sessions', 'sum(converted) / count(*)', 'region, channel, device', 'month', \
    '2025-10', '2025-11', max_depth => 2)";

/// Parameter names for named-argument calls.
pub const PARAMETERS: &[&str] = &[
    "table",
    "metric",
    "dimensions",
    "period_column",
    "baseline",
    "comparison",
    "max_depth",
    "min_support",
    "top_k",
];

const MAX_DIMENSIONS: usize = 12;
const MAX_DEPTH: i64 = 3;

pub static DESCRIPTION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "Table function: ranks the segments (conjunctions of dimension = value, up to max_depth \
         dimensions, default 2) by how much of the metric's change between the baseline and the \
         comparison period they account for. Metric: `sum(x)`, `count(*)`, `count(x)`, `avg(x)` or a \
         ratio of two of those (`sum(converted) / count(*)`). For a sum, a segment's effect is its \
         own change. For a ratio R = N/D, with w = the segment's share of D and r its ratio, \
         effect = mix + rate, mix = (w_comparison − w_baseline)·(r_baseline − R_baseline) (it \
         gained or lost weight while being better or worse than average), rate = w_comparison·\
         (r_comparison − r_baseline) (its own ratio moved). Within one combination of dimensions the \
         segments do not overlap and their effects add up to the total change exactly. Rows: rank, \
         segment, depth, baseline_value, comparison_value, change, effect, contribution (effect / \
         total change), relative_effect (effect / baseline metric), mix_effect, rate_effect \
         (ratios only), baseline_rows, comparison_rows; segments with fewer than min_support \
         (default 0.01) of the rows of both periods are skipped, and so are their refinements \
         (counting is level-wise: a pair is only counted if both its values passed, a triple if \
         its three pairs passed; nothing that passes is lost); top_k (default 20) rows by \
         |effect|. Every segment reported is computed exactly. Usage: {USAGE}"
    )
});

#[derive(Debug, Default)]
pub struct ExplainChange;

/// One side of the metric as a per-row expression whose sum over a segment is that side:
/// `sum(x)` → x, `count(*)` → 1, `count(x)` → 1 where x is not NULL.
fn row_expression(text: &str) -> Option<String> {
    let t = text.trim();
    let open = t.find('(')?;
    if !t.ends_with(')') {
        return None;
    }
    let name = t[..open].trim().to_ascii_lowercase();
    let inner = t[open + 1..t.len() - 1].trim();
    if inner.is_empty() {
        return None;
    }
    match name.as_str() {
        "sum" => Some(format!("CAST(({inner}) AS DOUBLE)")),
        "count" if inner == "*" => Some("CAST(1.0 AS DOUBLE)".to_string()),
        "count" => Some(format!("CASE WHEN ({inner}) IS NULL THEN 0.0 ELSE 1.0 END")),
        _ => None,
    }
}

/// (numerator, optional denominator) per-row expressions of the metric text.
fn metric(text: &str) -> Result<(String, Option<String>)> {
    let bad = || {
        SqlError::invalid_parameter(format!(
            "explain_change's metric must be sum(x), count(*), count(x), avg(x) or a ratio of two of them such as 'sum(converted) / count(*)', got '{text}'. Usage: {USAGE}"
        ))
    };
    let t = text.trim();
    // Split at a '/' outside parentheses.
    let mut depth = 0i32;
    let mut split = None;
    for (i, c) in t.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '/' if depth == 0 => {
                if split.is_some() {
                    return Err(bad());
                }
                split = Some(i);
            }
            _ => {}
        }
    }
    if let Some(i) = split {
        let n = row_expression(&t[..i]).ok_or_else(bad)?;
        let d = row_expression(&t[i + 1..]).ok_or_else(bad)?;
        return Ok((n, Some(d)));
    }
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("avg") {
        let inner = t.get(t.find('(').ok_or_else(bad)?..).ok_or_else(bad)?;
        return Ok((
            row_expression(&format!("sum{inner}")).ok_or_else(bad)?,
            Some(row_expression(&format!("count{inner}")).ok_or_else(bad)?),
        ));
    }
    Ok((row_expression(t).ok_or_else(bad)?, None))
}

fn text_arg(exprs: &[Expr], i: usize) -> Result<String> {
    literal_text(exprs.get(i)).ok_or_else(|| {
        SqlError::invalid_parameter(format!(
            "explain_change's {} must be a non-empty text constant. Usage: {USAGE}",
            PARAMETERS[i]
        ))
    })
}

fn number_arg(exprs: &[Expr], i: usize) -> Result<Option<ScalarValue>> {
    match exprs.get(i) {
        None => Ok(None),
        Some(Expr::Literal(v, _)) if v.is_null() => Ok(None),
        Some(Expr::Literal(v, _)) if v.data_type().is_numeric() => Ok(Some(v.clone())),
        Some(_) => Err(SqlError::invalid_parameter(format!(
            "explain_change's {} must be a number. Usage: {USAGE}",
            PARAMETERS[i]
        ))),
    }
}

impl TableFunctionImpl for ExplainChange {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if !(6..=PARAMETERS.len()).contains(&exprs.len()) {
            return Err(SqlError::wrong_arguments(format!(
                "explain_change takes 6 to {} arguments, got {}. Usage: {USAGE}",
                PARAMETERS.len(),
                exprs.len()
            )));
        }
        let table = text_arg(exprs, 0)?;
        let (numerator, denominator) = metric(&text_arg(exprs, 1)?)?;
        let dimensions: Vec<String> = text_arg(exprs, 2)?
            .split(',')
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty())
            .collect();
        if dimensions.is_empty() || dimensions.len() > MAX_DIMENSIONS {
            return Err(SqlError::invalid_parameter(format!(
                "explain_change needs 1 to {MAX_DIMENSIONS} dimension columns separated by commas. Usage: {USAGE}"
            )));
        }
        let period = quote_ident(&text_arg(exprs, 3)?);
        let (baseline, comparison) = (text_arg(exprs, 4)?, text_arg(exprs, 5)?);
        let max_depth = match number_arg(exprs, 6)? {
            None => 2,
            Some(v) => match (v.data_type().is_integer(), v.cast_to(&DataType::Int64)?) {
                (true, ScalarValue::Int64(Some(d))) if (1..=MAX_DEPTH).contains(&d) => d,
                _ => {
                    return Err(SqlError::invalid_parameter(format!(
                        "explain_change's max_depth must be 1 to {MAX_DEPTH}. Usage: {USAGE}"
                    )))
                }
            },
        } as usize;
        let min_support = match number_arg(exprs, 7)? {
            None => 0.01,
            Some(v) => match v.cast_to(&DataType::Float64)? {
                ScalarValue::Float64(Some(s)) if (0.0..=1.0).contains(&s) => s,
                _ => {
                    return Err(SqlError::invalid_parameter(format!(
                        "explain_change's min_support must be between 0 and 1. Usage: {USAGE}"
                    )))
                }
            },
        };
        let top_k = match number_arg(exprs, 8)? {
            None => 20,
            Some(v) => match (v.data_type().is_integer(), v.cast_to(&DataType::Int64)?) {
                (true, ScalarValue::Int64(Some(k))) if k >= 1 => k,
                _ => {
                    return Err(SqlError::invalid_parameter(format!(
                        "explain_change's top_k must be a positive integer. Usage: {USAGE}"
                    )))
                }
            },
        };
        if baseline == comparison {
            return Err(SqlError::invalid_parameter(format!(
                "explain_change's baseline and comparison must be different periods, both are '{baseline}'. Usage: {USAGE}"
            )));
        }
        let source = if table.starts_with('(') {
            format!("{table} AS __source")
        } else {
            quote_table(&table)
        };
        let dim_select = dimensions
            .iter()
            .map(|d| format!("COALESCE(CAST({} AS VARCHAR), '(null)')", quote_ident(d)))
            .collect::<Vec<_>>()
            .join(", ");
        let ratio = denominator.is_some();
        let denominator = denominator.unwrap_or_else(|| "CAST(1.0 AS DOUBLE)".to_string());
        let (b, c) = (quote_text(&baseline), quote_text(&comparison));
        let base_sql = format!(
            "SELECT {dim_select}, {numerator}, {denominator}, CAST({period} AS VARCHAR) = {b} \
             FROM {source} WHERE CAST({period} AS VARCHAR) IN ({b}, {c})"
        );
        Ok(Arc::new(ExplainChangeTable {
            base_sql,
            options: Arc::new(Options {
                dimensions,
                period: text_arg(exprs, 3)?,
                baseline,
                comparison,
                ratio,
                max_depth,
                min_support,
                top_k: top_k as usize,
            }),
            schema: Arc::clone(&SCHEMA),
        }))
    }
}

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new("rank", DataType::Int32, true),
        Field::new("segment", DataType::Utf8, true),
        Field::new("depth", DataType::Int32, true),
        Field::new("baseline_value", DataType::Float64, true),
        Field::new("comparison_value", DataType::Float64, true),
        Field::new("change", DataType::Float64, true),
        Field::new("effect", DataType::Float64, true),
        Field::new("contribution", DataType::Float64, true),
        Field::new("relative_effect", DataType::Float64, true),
        Field::new("mix_effect", DataType::Float64, true),
        Field::new("rate_effect", DataType::Float64, true),
        Field::new("baseline_rows", DataType::Int64, true),
        Field::new("comparison_rows", DataType::Int64, true),
    ]))
});

#[derive(Debug)]
struct Options {
    dimensions: Vec<String>,
    period: String,
    baseline: String,
    comparison: String,
    ratio: bool,
    max_depth: usize,
    min_support: f64,
    top_k: usize,
}

/// The call, planned at scan time and run when its stream is first polled.
#[derive(Debug)]
struct ExplainChangeTable {
    /// Rows of both periods: the dimensions as text, numerator, denominator, is-baseline.
    base_sql: String,
    options: Arc<Options>,
    schema: SchemaRef,
}

#[async_trait]
impl TableProvider for ExplainChangeTable {
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
        // One plan per level: each level is its own pass over the rows.
        let mut plans = vec![];
        for _ in 0..self.options.max_depth.min(self.options.dimensions.len()) {
            plans.push(
                ctx.sql(&self.base_sql)
                    .await?
                    .create_physical_plan()
                    .await?,
            );
        }
        let stream = ExplainChangeStream {
            plans,
            options: Arc::clone(&self.options),
            schema: Arc::clone(&self.schema),
        };
        Ok(Arc::new(StreamingTableExec::try_new(
            Arc::clone(&self.schema),
            vec![Arc::new(stream)],
            projection,
            [],
            false,
            None,
        )?))
    }
}

#[derive(Debug)]
struct ExplainChangeStream {
    plans: Vec<Arc<dyn ExecutionPlan>>,
    options: Arc<Options>,
    schema: SchemaRef,
}

impl PartitionStream for ExplainChangeStream {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let plans = self.plans.clone();
        let options = Arc::clone(&self.options);
        let schema = Arc::clone(&self.schema);
        let result = async move {
            let counts = count_segments(
                plans,
                ctx,
                options.dimensions.len(),
                options.max_depth,
                options.min_support,
            )
            .await?;
            ranked_batch(&counts, &options, schema)
        };
        Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            futures::stream::once(result),
        ))
    }
}

fn div(a: f64, b: f64) -> Option<f64> {
    (b != 0.0).then(|| a / b)
}

/// One scored segment.
struct Scored {
    segment: String,
    depth: i32,
    baseline_value: Option<f64>,
    comparison_value: Option<f64>,
    effect: Option<f64>,
    mix: Option<f64>,
    rate: Option<f64>,
    rows_b: i64,
    rows_c: i64,
}

/// Effect of a segment on the overall metric (see the function's description for the split).
fn score(segment: &Segment, total: &Sums, options: &Options) -> Scored {
    let s = &segment.sums;
    let name = segment
        .dims
        .iter()
        .zip(&segment.values)
        .map(|(&d, v)| format!("{}={v}", options.dimensions[d]))
        .collect::<Vec<_>>()
        .join(" AND ");
    let (baseline_value, comparison_value, effect, mix, rate) = if options.ratio {
        let o_rb = div(total.nb, total.db);
        let wb = div(s.db, total.db);
        let wc = div(s.dc, total.dc);
        let rb = div(s.nb, s.db).or(o_rb);
        let rc = div(s.nc, s.dc).unwrap_or(0.0);
        let mix = (|| Some((wc? - wb?) * (rb? - o_rb?)))();
        let rate = (|| Some(wc? * (rc - rb?)))();
        let effect = (|| Some(mix? + rate?))();
        (div(s.nb, s.db), div(s.nc, s.dc), effect, mix, rate)
    } else {
        (Some(s.nb), Some(s.nc), Some(s.nc - s.nb), None, None)
    };
    Scored {
        segment: name,
        depth: segment.dims.len() as i32,
        baseline_value,
        comparison_value,
        effect,
        mix,
        rate,
        rows_b: s.rows_b as i64,
        rows_c: s.rows_c as i64,
    }
}

/// The `top_k` segments by |effect| (then shallower, then by name) as the output batch.
fn ranked_batch(counts: &Counts, options: &Options, schema: SchemaRef) -> Result<RecordBatch> {
    let total = &counts.total;
    for (rows, period) in [
        (total.rows_b, &options.baseline),
        (total.rows_c, &options.comparison),
    ] {
        if rows == 0 {
            return Err(SqlError::data_exception(format!(
                "explain_change: no rows have {} = '{period}'; baseline and comparison must be values of the period column (compared as text). Usage: {USAGE}",
                options.period
            )));
        }
    }
    let (o_rb, o_rc) = if options.ratio {
        (div(total.nb, total.db), div(total.nc, total.dc))
    } else {
        (Some(total.nb), Some(total.nc))
    };
    let total_change = (|| Some(o_rc? - o_rb?))();
    let mut scored: Vec<Scored> = counts
        .segments
        .iter()
        .map(|s| score(s, total, options))
        .collect();
    scored.sort_by(|a, b| {
        let key = |s: &Scored| s.effect.map(f64::abs).filter(|e| !e.is_nan());
        match (key(a), key(b)) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
        .then(a.depth.cmp(&b.depth))
        .then_with(|| a.segment.cmp(&b.segment))
    });
    scored.truncate(options.top_k);
    let per = |f: &dyn Fn(&Scored) -> Option<f64>| -> ArrayRef {
        Arc::new(scored.iter().map(f).collect::<Float64Array>())
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from_iter_values(1..=scored.len() as i32)),
        Arc::new(StringArray::from_iter_values(
            scored.iter().map(|s| s.segment.as_str()),
        )),
        Arc::new(Int32Array::from_iter_values(scored.iter().map(|s| s.depth))),
        per(&|s| s.baseline_value),
        per(&|s| s.comparison_value),
        per(&|s| Some(s.comparison_value? - s.baseline_value?)),
        per(&|s| s.effect),
        per(&|s| div(s.effect?, total_change?)),
        per(&|s| div(s.effect?, o_rb?.abs())),
        per(&|s| s.mix),
        per(&|s| s.rate),
        Arc::new(Int64Array::from_iter_values(
            scored.iter().map(|s| s.rows_b),
        )),
        Arc::new(Int64Array::from_iter_values(
            scored.iter().map(|s| s.rows_c),
        )),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_parse() {
        assert_eq!(metric("sum(revenue)").unwrap().1, None);
        assert!(metric("sum(converted) / count(*)").unwrap().1.is_some());
        assert!(metric("avg(x)").unwrap().1.is_some());
        assert!(metric("max(x)").is_err());
        assert!(metric("sum(a) / sum(b) / sum(c)").is_err());
    }
}
