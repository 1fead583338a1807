//! `forecast_table(table, ts_column, value_column, horizon [, series [, season_length [,
//! method]]])` table function: history and forecast rows together, ready for a BI line chart.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::Expr;

use super::methods::{Method, METHODS_DOC};
use crate::sql_table::{literal_text, quote_ident, quote_table, quote_text, SqlTable};
use crate::SqlError;

pub const USAGE: &str = "forecast_table('table' or '(SELECT …)', 'ts_column', 'value_column', \
    horizon [, 'series_column' [, season_length [, 'method']]]) — e.g. SELECT * FROM \
    forecast_table('daily_sales', 'day', 'units', 28, series => 'sku')";

/// Parameter names for named-argument calls.
pub const PARAMETERS: &[&str] = &[
    "table",
    "ts_column",
    "value_column",
    "horizon",
    "series",
    "season_length",
    "method",
];

pub fn description() -> String {
    format!(
        "Table function: the history of every series (kind = 'actual', value in `actual`) followed \
         by its forecast (kind = 'forecast': forecast, lo_80, hi_80, lo_95, hi_95, model), one \
         model per series, ordered by series and time — one query for a BI tool's line chart. \
         Columns: series TEXT ('all' without a series column), ts TIMESTAMP, kind, actual, \
         forecast, lo_80, hi_80, lo_95, hi_95 DOUBLE, model TEXT. Same models and rules as the \
         forecast aggregate; methods: {METHODS_DOC}. Named arguments work. Usage: {USAGE}"
    )
}

#[derive(Debug, Default)]
pub struct ForecastTable;

fn text(exprs: &[Expr], i: usize) -> Result<Option<String>> {
    match exprs.get(i) {
        None => Ok(None),
        Some(Expr::Literal(v, _)) if v.is_null() => Ok(None),
        Some(e) => literal_text(Some(e)).map(Some).ok_or_else(|| {
            SqlError::invalid_parameter(format!(
                "forecast_table's {} must be a non-empty text constant. Usage: {USAGE}",
                PARAMETERS[i]
            ))
        }),
    }
}

fn integer(exprs: &[Expr], i: usize) -> Result<Option<i64>> {
    match exprs.get(i) {
        None => Ok(None),
        Some(Expr::Literal(v, _)) if v.is_null() => Ok(None),
        Some(Expr::Literal(v, _)) if v.data_type().is_integer() => {
            match v.cast_to(&DataType::Int64)? {
                ScalarValue::Int64(Some(k)) => Ok(Some(k)),
                _ => Ok(None),
            }
        }
        Some(_) => Err(SqlError::invalid_parameter(format!(
            "forecast_table's {} must be an integer constant. Usage: {USAGE}",
            PARAMETERS[i]
        ))),
    }
}

impl TableFunctionImpl for ForecastTable {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if !(4..=PARAMETERS.len()).contains(&exprs.len()) {
            return Err(SqlError::wrong_arguments(format!(
                "forecast_table takes 4 to {} arguments, got {}. Usage: {USAGE}",
                PARAMETERS.len(),
                exprs.len()
            )));
        }
        let need = |i: usize| -> Result<String> {
            text(exprs, i)?.ok_or_else(|| {
                SqlError::invalid_parameter(format!(
                    "forecast_table's {} is required. Usage: {USAGE}",
                    PARAMETERS[i]
                ))
            })
        };
        let (table, ts, value) = (need(0)?, need(1)?, need(2)?);
        let horizon = integer(exprs, 3)?
            .filter(|h| (1..=10_000).contains(h))
            .ok_or_else(|| {
                SqlError::invalid_parameter(format!(
                    "forecast_table's horizon must be an integer from 1 to 10000. Usage: {USAGE}"
                ))
            })?;
        let series = text(exprs, 4)?;
        let season = match integer(exprs, 5)? {
            None => 0,
            Some(m) if (0..=1000).contains(&m) => m,
            Some(m) => {
                return Err(SqlError::invalid_parameter(format!(
                    "forecast_table's season_length must be 0 (from the step) to 1000, got {m}. Usage: {USAGE}"
                )))
            }
        };
        let method = text(exprs, 6)?.unwrap_or_else(|| "auto".into());
        if Method::parse(&method).is_none() {
            return Err(SqlError::invalid_parameter(format!(
                "forecast_table: unknown method '{method}'; methods are {METHODS_DOC}. Usage: {USAGE}"
            )));
        }
        let source = if table.starts_with('(') {
            format!("{table} AS __source")
        } else {
            quote_table(&table)
        };
        let series_expr = match &series {
            Some(s) => format!("CAST({} AS VARCHAR)", quote_ident(s)),
            None => "'all'".to_string(),
        };
        let sql = format!(
            "WITH src AS (
               SELECT {series_expr} AS series, CAST({ts} AS TIMESTAMP) AS ts, CAST({value} AS DOUBLE) AS value
               FROM {source}),
             fit AS (SELECT series, forecast(ts, value, {horizon}, {season}, {method}) AS fc FROM src GROUP BY series),
             path AS (SELECT series, unnest(fc) AS f FROM fit)
             SELECT series, ts, 'actual' AS kind, value AS actual,
                    CAST(NULL AS DOUBLE) AS forecast, CAST(NULL AS DOUBLE) AS lo_80, CAST(NULL AS DOUBLE) AS hi_80,
                    CAST(NULL AS DOUBLE) AS lo_95, CAST(NULL AS DOUBLE) AS hi_95, CAST(NULL AS VARCHAR) AS model
             FROM src
             UNION ALL
             SELECT series, f['ts'], 'forecast', CAST(NULL AS DOUBLE), f['forecast'], f['lo_80'], f['hi_80'],
                    f['lo_95'], f['hi_95'], f['model']
             FROM path
             ORDER BY series, ts",
            ts = quote_ident(&ts),
            value = quote_ident(&value),
            method = quote_text(&method),
        );
        let schema = Schema::new(vec![
            Field::new("series", DataType::Utf8, true),
            Field::new(
                "ts",
                DataType::Timestamp(datafusion::arrow::datatypes::TimeUnit::Microsecond, None),
                true,
            ),
            Field::new("kind", DataType::Utf8, true),
            Field::new("actual", DataType::Float64, true),
            Field::new("forecast", DataType::Float64, true),
            Field::new("lo_80", DataType::Float64, true),
            Field::new("hi_80", DataType::Float64, true),
            Field::new("lo_95", DataType::Float64, true),
            Field::new("hi_95", DataType::Float64, true),
            Field::new("model", DataType::Utf8, true),
        ]);
        Ok(Arc::new(SqlTable::new(sql, Arc::new(schema))))
    }
}
