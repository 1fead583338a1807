//! `funnel_report(table, user_column, time_column, event_column, steps, window [, dimension])`: a
//! table function returning one row per funnel step, for BI tools that cannot write aggregates.
//! It expands to a query over `window_funnel_times`, so it has exactly `window_funnel`'s semantics.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::Expr;

use crate::sql_table::{literal_text, quote_ident, quote_table, quote_text, SqlTable};
use crate::SqlError;

pub const USAGE: &str = "funnel_report('table', 'user_column', 'time_column', 'event_column', \
    'step1,step2,...', window [, 'dimension_column']) — e.g. funnel_report('events', 'customer_id', \
    'ts', 'event_type', 'view,add_to_cart,checkout,purchase', INTERVAL '7 days', 'channel')";

/// Parameter names for named-argument calls (`window => INTERVAL '1 day'`).
pub const PARAMETERS: &[&str] = &[
    "table",
    "user_column",
    "time_column",
    "event_column",
    "steps",
    "window",
    "dimension",
];

/// Documentation for the README and `\df`-style listings (table functions have no
/// `Documentation` slot in DataFusion).
pub static DESCRIPTION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "Table function: one row per funnel step with `step_number`, `step`, `users` (users whose \
         deepest step, as `window_funnel` computes it, is at least this one), \
         `conversion_from_previous`, `conversion_from_first` (fractions 0..1) and \
         `median_seconds_from_previous` (median time from the previous step among users reaching \
         this one). With a dimension column, the funnel is computed per (dimension value, user) \
         and the report has a leading `dimension` column. The time column must be a TIMESTAMP or \
         DATE. Usage: {USAGE}"
    )
});

#[derive(Debug, Default)]
pub struct FunnelReport;

fn text_arg(exprs: &[Expr], i: usize, what: &str) -> Result<String> {
    literal_text(exprs.get(i)).ok_or_else(|| {
        SqlError::invalid_parameter(format!(
            "funnel_report's argument {} ({what}) must be a non-empty text constant. Usage: {USAGE}",
            i + 1
        ))
    })
}

/// The window as SQL text: an INTERVAL or a number of seconds.
fn window_arg(exprs: &[Expr]) -> Result<String> {
    match exprs.get(5) {
        Some(Expr::Literal(v, _)) if !v.is_null() && (v.data_type().is_integer() || matches!(v.data_type(), DataType::Interval(_))) => {
            Ok(match v {
                ScalarValue::IntervalMonthDayNano(Some(i)) if i.months == 0 => {
                    format!("INTERVAL '{} days {} seconds'", i.days, i.nanoseconds as f64 / 1e9)
                }
                ScalarValue::IntervalDayTime(Some(i)) => {
                    format!("INTERVAL '{} days {} seconds'", i.days, f64::from(i.milliseconds) / 1e3)
                }
                v if v.data_type().is_integer() => v.to_string(),
                _ => {
                    return Err(SqlError::invalid_parameter(format!(
                        "funnel_report's window must be a fixed duration (days, hours, …): months and years vary in length. Usage: {USAGE}"
                    )))
                }
            })
        }
        _ => Err(SqlError::invalid_parameter(format!(
            "funnel_report's argument 6 (window) must be an INTERVAL or an integer number of seconds. Usage: {USAGE}"
        ))),
    }
}

impl TableFunctionImpl for FunnelReport {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if !(6..=7).contains(&exprs.len()) {
            return Err(SqlError::wrong_arguments(format!(
                "funnel_report takes 6 or 7 arguments, got {}. Usage: {USAGE}",
                exprs.len()
            )));
        }
        let table = text_arg(exprs, 0, "table name")?;
        let user = text_arg(exprs, 1, "user column")?;
        let time = text_arg(exprs, 2, "time column")?;
        let event = text_arg(exprs, 3, "event column")?;
        let steps: Vec<String> = text_arg(exprs, 4, "comma-separated steps")?
            .split(',')
            .map(|s| s.trim().to_string())
            .collect();
        if steps.iter().any(String::is_empty) || steps.len() > super::MAX_CONDITIONS {
            return Err(SqlError::invalid_parameter(format!(
                "funnel_report's steps must be 1 to {} non-empty names separated by commas. Usage: {USAGE}",
                super::MAX_CONDITIONS
            )));
        }
        let window = window_arg(exprs)?;
        let dimension = if matches!(exprs.get(6), Some(Expr::Literal(v, _)) if !v.is_null()) {
            Some(text_arg(exprs, 6, "dimension column")?)
        } else {
            None
        };
        Ok(Arc::new(ReportTable::new(
            &table,
            &user,
            &time,
            &event,
            &steps,
            &window,
            dimension.as_deref(),
        )))
    }
}

/// The report's query and output schema.
struct ReportTable;

impl ReportTable {
    #[allow(clippy::new_ret_no_self)]
    fn new(
        table: &str,
        user: &str,
        time: &str,
        event: &str,
        steps: &[String],
        window: &str,
        dimension: Option<&str>,
    ) -> SqlTable {
        let (time, event, user) = (quote_ident(time), quote_ident(event), quote_ident(user));
        let conditions = steps
            .iter()
            .map(|s| format!("CAST({event} AS VARCHAR) = {}", quote_text(s)))
            .collect::<Vec<_>>()
            .join(", ");
        let step_rows = steps
            .iter()
            .enumerate()
            .map(|(i, s)| format!("({}, {})", i + 1, quote_text(s)))
            .collect::<Vec<_>>()
            .join(", ");
        // NULL dimension values get a sentinel so they join like any other value.
        let dim = match dimension {
            Some(d) => format!("COALESCE(CAST({} AS VARCHAR), chr(0))", quote_ident(d)),
            None => "''".to_string(),
        };
        let sql = format!(
            "WITH steps(step_number, step) AS (VALUES {step_rows}),
             per_user AS (
               SELECT {dim} AS dim, window_funnel_times({window}, {time}, {conditions}) AS t
               FROM {table} GROUP BY 1, {user}),
             reached AS (
               SELECT p.dim, s.step_number,
                      CASE WHEN s.step_number > 1 THEN
                        (CAST(p.t[s.step_number] AS BIGINT) - CAST(p.t[s.step_number - 1] AS BIGINT)) / 1e6
                      END AS secs
               FROM per_user p JOIN steps s ON cardinality(p.t) >= s.step_number),
             dims AS (SELECT DISTINCT dim FROM per_user),
             counts AS (
               SELECT d.dim, s.step_number, s.step, count(r.step_number) AS users, median(r.secs) AS median_secs
               FROM dims d CROSS JOIN steps s
               LEFT JOIN reached r ON r.dim = d.dim AND r.step_number = s.step_number
               GROUP BY d.dim, s.step_number, s.step)
             SELECT NULLIF(dim, chr(0)) AS dimension, CAST(step_number AS INT) AS step_number, step,
                    users,
                    CAST(users AS DOUBLE) / NULLIF(lag(users) OVER (PARTITION BY dim ORDER BY step_number), 0)
                      AS conversion_from_previous,
                    CAST(users AS DOUBLE) / NULLIF(first_value(users) OVER (PARTITION BY dim ORDER BY step_number), 0)
                      AS conversion_from_first,
                    CAST(median_secs AS DOUBLE) AS median_seconds_from_previous
             FROM counts ORDER BY dimension NULLS LAST, step_number",
            table = quote_table(table),
        );
        let mut fields = vec![
            Field::new("dimension", DataType::Utf8, true),
            Field::new("step_number", DataType::Int32, true),
            Field::new("step", DataType::Utf8, true),
            Field::new("users", DataType::Int64, true),
            Field::new("conversion_from_previous", DataType::Float64, true),
            Field::new("conversion_from_first", DataType::Float64, true),
            Field::new("median_seconds_from_previous", DataType::Float64, true),
        ];
        if dimension.is_none() {
            fields.remove(0);
        }
        let sql = if dimension.is_none() {
            let cols: Vec<String> = fields.iter().map(|f| quote_ident(f.name())).collect();
            format!("SELECT {} FROM ({sql})", cols.join(", "))
        } else {
            sql
        };
        SqlTable::new(sql, Arc::new(Schema::new(fields)))
    }
}
