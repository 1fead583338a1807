//! `explain_change(table, metric, dimensions, period_column, baseline, comparison [, max_depth
//! [, min_support [, top_k]]])`: which segments drove the change of a metric between two periods.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::Expr;

use crate::sql_table::{literal_text, quote_ident, quote_table, quote_text, SqlTable};
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
         (default 0.01) of the rows of both periods are skipped; top_k (default 20) rows by \
         |effect|. All segments are computed exactly. Usage: {USAGE}"
    )
});

#[derive(Debug, Default)]
pub struct ExplainChange;

/// One side of the metric as (aggregate over the rows, SQL).
fn aggregate(text: &str) -> Option<String> {
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
        "sum" => Some(format!("sum(CAST(({inner}) AS DOUBLE))")),
        "count" if inner == "*" => Some("CAST(count(*) AS DOUBLE)".to_string()),
        "count" => Some(format!("CAST(count({inner}) AS DOUBLE)")),
        _ => None,
    }
}

/// (numerator, optional denominator) aggregates of the metric text.
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
        let n = aggregate(&t[..i]).ok_or_else(bad)?;
        let d = aggregate(&t[i + 1..]).ok_or_else(bad)?;
        return Ok((n, Some(d)));
    }
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("avg") {
        let inner = t.get(t.find('(').ok_or_else(bad)?..).ok_or_else(bad)?;
        return Ok((
            aggregate(&format!("sum{inner}")).ok_or_else(bad)?,
            Some(aggregate(&format!("count{inner}")).ok_or_else(bad)?),
        ));
    }
    Ok((aggregate(t).ok_or_else(bad)?, None))
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

/// Every combination of 1..=depth of the dimension indexes.
fn combinations(n: usize, depth: usize) -> Vec<Vec<usize>> {
    let mut out = vec![];
    let mut stack: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    while let Some(c) = stack.pop() {
        if c.len() < depth {
            let last = c[c.len() - 1];
            for j in last + 1..n {
                let mut next = c.clone();
                next.push(j);
                stack.push(next);
            }
        }
        out.push(c);
    }
    out.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    out
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
        let source = if table.starts_with('(') {
            format!("{table} AS __source")
        } else {
            quote_table(&table)
        };
        let dims: Vec<String> = (0..dimensions.len()).map(|i| format!("__d{i}")).collect();
        let dim_select = dimensions
            .iter()
            .zip(&dims)
            .map(|(d, alias)| {
                format!(
                    "COALESCE(CAST({} AS VARCHAR), '(null)') AS {alias}",
                    quote_ident(d)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let (den, ratio) = match &denominator {
            Some(d) => (d.clone(), true),
            None => ("CAST(count(*) AS DOUBLE)".to_string(), false),
        };
        let filtered = |agg: &str, p: u8| -> String {
            // `sum(x)` → `sum(x) FILTER (WHERE __p = p)` (the cast wraps the whole aggregate).
            if let Some(inner) = agg
                .strip_prefix("CAST(")
                .and_then(|a| a.strip_suffix(" AS DOUBLE)"))
            {
                format!("CAST({inner} FILTER (WHERE __p = {p}) AS DOUBLE)")
            } else {
                format!("{agg} FILTER (WHERE __p = {p})")
            }
        };
        // One GROUP BY per combination of dimensions, glued with UNION ALL: each hashes only its
        // own keys, which is much cheaper than one GROUPING SETS pass over every key at once.
        let sums = format!(
            "COALESCE({}, 0.0) AS nb, COALESCE({}, 0.0) AS nc, COALESCE({}, 0.0) AS db, \
             COALESCE({}, 0.0) AS dc, count(*) FILTER (WHERE __p = 0) AS rows_b, \
             count(*) FILTER (WHERE __p = 1) AS rows_c",
            filtered(&numerator, 0),
            filtered(&numerator, 1),
            filtered(&den, 0),
            filtered(&den, 1),
        );
        let branches = combinations(dims.len(), max_depth.min(dims.len()))
            .iter()
            .map(|c| {
                let segment = c
                    .iter()
                    .map(|&i| format!("{}, '=', {}", quote_text(&dimensions[i]), dims[i]))
                    .collect::<Vec<_>>()
                    .join(", ' AND ', ");
                let keys = c.iter().map(|&i| dims[i].as_str()).collect::<Vec<_>>().join(", ");
                format!(
                    "SELECT CAST(concat({segment}) AS VARCHAR) AS segment, CAST({} AS BIGINT) AS depth, {sums} \
                     FROM base GROUP BY {keys}",
                    c.len()
                )
            })
            .collect::<Vec<_>>()
            .join("\n UNION ALL ");
        let (effect, mix, rate, value_b, value_c) = if ratio {
            (
                "(wc - wb) * (rb - o_rb) + wc * (rc - rb)",
                "(wc - wb) * (rb - o_rb)",
                "wc * (rc - rb)",
                "nb / NULLIF(db, 0)",
                "nc / NULLIF(dc, 0)",
            )
        } else {
            (
                "nc - nb",
                "CAST(NULL AS DOUBLE)",
                "CAST(NULL AS DOUBLE)",
                "nb",
                "nc",
            )
        };
        let sql = format!(
            "WITH base AS (
               SELECT {dim_select}, {numerator_inner_cols}
                      CASE WHEN CAST({period} AS VARCHAR) = {b} THEN 0 ELSE 1 END AS __p, *
               FROM {source}
               WHERE CAST({period} AS VARCHAR) IN ({b}, {c})),
             g AS ({branches}),
             totals AS (SELECT {sums} FROM base),
             overall AS (SELECT nb AS o_nb, nc AS o_nc, db AS o_db, dc AS o_dc,
                                rows_b AS o_rows_b, rows_c AS o_rows_c,
                                {o_value_b} AS o_rb, {o_value_c} AS o_rc
                         FROM totals),
             seg AS (
               SELECT g.*, overall.*,
                      db / NULLIF(o_db, 0) AS wb, dc / NULLIF(o_dc, 0) AS wc,
                      COALESCE(nb / NULLIF(db, 0), o_rb) AS rb,
                      COALESCE(nc / NULLIF(dc, 0), 0.0) AS rc
               FROM g CROSS JOIN overall),
             scored AS (
               SELECT segment, depth, {value_b} AS baseline_value, {value_c} AS comparison_value,
                      {effect} AS effect, {mix} AS mix_effect, {rate} AS rate_effect,
                      o_rc - o_rb AS total_change, o_rb, rows_b, rows_c, o_rows_b, o_rows_c
               FROM seg
               WHERE rows_b >= {min_support} * o_rows_b OR rows_c >= {min_support} * o_rows_c),
             ranked AS (
               SELECT *, row_number() OVER (ORDER BY abs(effect) DESC, depth, segment) AS rank FROM scored)
             SELECT CAST(rank AS INT) AS rank, segment, CAST(depth AS INT) AS depth,
                    baseline_value, comparison_value, comparison_value - baseline_value AS change,
                    effect, effect / NULLIF(total_change, 0) AS contribution,
                    effect / NULLIF(abs(o_rb), 0) AS relative_effect,
                    mix_effect, rate_effect,
                    rows_b AS baseline_rows, rows_c AS comparison_rows
             FROM ranked WHERE rank <= {top_k} ORDER BY rank",
            numerator_inner_cols = "",
            b = quote_text(&baseline),
            c = quote_text(&comparison),
            o_value_b = if ratio { "nb / NULLIF(db, 0)" } else { "nb" },
            o_value_c = if ratio { "nc / NULLIF(dc, 0)" } else { "nc" },
        );
        let schema = Schema::new(vec![
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
        ]);
        Ok(Arc::new(SqlTable::new(sql, Arc::new(schema))))
    }
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
        assert_eq!(combinations(3, 2).len(), 6);
        assert_eq!(combinations(4, 3).len(), 14);
    }
}
