//! `channel_attribution('touchpoints', 'orders', model => 'markov', lookback => INTERVAL '30
//! days', ...)`: journeys built from a touch table and a conversion table, credited by any
//! attribution model, one row per channel with revenue, cost and ROI — for BI tools.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::Expr;

use super::markov_attribution::MAX_ORDER;
use crate::sql_table::{literal_text, quote_ident, quote_table, quote_text, SqlTable};
use crate::SqlError;

pub const USAGE: &str = "channel_attribution('touch_table', 'conversion_table' [, model [, lookback]] \
    [, user_column => 'customer_id'] [, time_column => 'ts'] [, channel_column => 'channel'] \
    [, revenue_column => 'total'] [, cost_column => 'cost'] [, order => 1] [, param => …]) — e.g. \
    channel_attribution('touchpoints', 'orders', model => 'markov', lookback => INTERVAL '30 days', cost_column => 'cost')";

/// Parameter names, in positional order, for named-argument calls.
pub const PARAMETERS: &[&str] = &[
    "touch_table",
    "conversion_table",
    "model",
    "lookback",
    "user_column",
    "time_column",
    "channel_column",
    "revenue_column",
    "cost_column",
    "order",
    "param",
];

const MODELS: &[&str] = &[
    "markov",
    "shapley",
    "first_touch",
    "last_touch",
    "linear",
    "time_decay",
    "position_based",
];

/// Documentation for the README (table functions have no `Documentation` slot in DataFusion).
pub static DESCRIPTION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "Table function: builds journeys and credits conversions to channels. Both tables share a \
         user column (default `customer_id`) and a time column (default `ts`, TIMESTAMP or DATE). \
         A conversion's journey is the user's touches within `lookback` (default 30 days) before \
         it and after the user's previous conversion; a user's touches after their last \
         conversion, within `lookback` of the latest one, form one non-converting journey. \
         `model`: {} (default markov; `order` for markov, `param` for time_decay / \
         position_based as in attribution_weight). Returns one row per channel: channel, touches, \
         journeys (journeys it appears in), conversions and revenue credited (revenue column \
         default `total`), cost (sum of `cost_column` over the touch table, when given), roi = \
         (revenue − cost) / cost and cost_per_conversion. Conversions with no touch in their \
         window are not credited to any channel. Usage: {USAGE}",
        MODELS.join(", ")
    )
});

#[derive(Debug, Default)]
pub struct ChannelAttribution;

fn text(exprs: &[Expr], i: usize, default: Option<&str>) -> Result<Option<String>> {
    match exprs.get(i) {
        None | Some(Expr::Literal(ScalarValue::Null, _)) => Ok(default.map(str::to_string)),
        e => literal_text(e).map(Some).ok_or_else(|| {
            SqlError::invalid_parameter(format!(
                "channel_attribution's {} must be a non-empty text constant. Usage: {USAGE}",
                PARAMETERS[i]
            ))
        }),
    }
}

fn literal(exprs: &[Expr], i: usize) -> Option<&ScalarValue> {
    match exprs.get(i) {
        Some(Expr::Literal(v, _)) if !v.is_null() => Some(v),
        _ => None,
    }
}

fn not_constant(exprs: &[Expr], i: usize) -> bool {
    matches!(exprs.get(i), Some(e) if !matches!(e, Expr::Literal(..)))
}

/// The lookback as SQL: a fixed INTERVAL, or a number of seconds.
fn lookback(exprs: &[Expr]) -> Result<String> {
    let bad = || {
        SqlError::invalid_parameter(format!(
            "channel_attribution's lookback must be a positive fixed INTERVAL (days, hours, …) or a number of seconds. Usage: {USAGE}"
        ))
    };
    if not_constant(exprs, 3) {
        return Err(bad());
    }
    let seconds = match literal(exprs, 3) {
        None => 30.0 * 86_400.0,
        Some(ScalarValue::IntervalMonthDayNano(Some(i))) if i.months == 0 => {
            f64::from(i.days) * 86_400.0 + i.nanoseconds as f64 / 1e9
        }
        Some(ScalarValue::IntervalDayTime(Some(i))) => {
            f64::from(i.days) * 86_400.0 + f64::from(i.milliseconds) / 1e3
        }
        Some(v) if v.data_type().is_numeric() => match v.cast_to(&DataType::Float64)? {
            ScalarValue::Float64(Some(s)) => s,
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    };
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(bad());
    }
    Ok(format!("INTERVAL '{seconds} seconds'"))
}

impl TableFunctionImpl for ChannelAttribution {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if !(2..=PARAMETERS.len()).contains(&exprs.len()) {
            return Err(SqlError::wrong_arguments(format!(
                "channel_attribution takes 2 to {} arguments, got {}. Usage: {USAGE}",
                PARAMETERS.len(),
                exprs.len()
            )));
        }
        let need = |i: usize, default: &str| -> Result<String> {
            Ok(text(exprs, i, Some(default))?.unwrap_or_default())
        };
        let touch_table = text(exprs, 0, None)?.ok_or_else(|| {
            SqlError::invalid_parameter(format!(
                "channel_attribution needs the touch table's name. Usage: {USAGE}"
            ))
        })?;
        let conversion_table = text(exprs, 1, None)?.ok_or_else(|| {
            SqlError::invalid_parameter(format!(
                "channel_attribution needs the conversion table's name. Usage: {USAGE}"
            ))
        })?;
        let model = need(2, "markov")?.to_ascii_lowercase();
        if !MODELS.contains(&model.as_str()) {
            return Err(SqlError::invalid_parameter(format!(
                "channel_attribution has no model '{model}'; valid models: {}. Usage: {USAGE}",
                MODELS.join(", ")
            )));
        }
        let window = lookback(exprs)?;
        let user = quote_ident(&need(4, "customer_id")?);
        let time = quote_ident(&need(5, "ts")?);
        let channel = quote_ident(&need(6, "channel")?);
        let revenue = quote_ident(&need(7, "total")?);
        let cost = text(exprs, 8, None)?.map(|c| quote_ident(&c));
        if not_constant(exprs, 9) || not_constant(exprs, 10) {
            return Err(SqlError::invalid_parameter(format!(
                "channel_attribution's order and param must be constants. Usage: {USAGE}"
            )));
        }
        let order = match literal(exprs, 9) {
            None => 1,
            Some(v) => match (v.data_type().is_integer(), v.cast_to(&DataType::Int64)?) {
                (true, ScalarValue::Int64(Some(o))) if (1..=MAX_ORDER).contains(&o) => o,
                _ => {
                    return Err(SqlError::invalid_parameter(format!(
                        "channel_attribution's order must be an integer 1 to {MAX_ORDER}. Usage: {USAGE}"
                    )))
                }
            },
        };
        if order != 1 && model != "markov" {
            return Err(SqlError::invalid_parameter(format!(
                "channel_attribution's order applies to the markov model only. Usage: {USAGE}"
            )));
        }
        let param = match literal(exprs, 10) {
            None => String::new(),
            Some(_) if !matches!(model.as_str(), "time_decay" | "position_based") => {
                return Err(SqlError::invalid_parameter(format!(
                    "channel_attribution's param applies to time_decay (half-life) and position_based (end share) only. Usage: {USAGE}"
                )))
            }
            Some(ScalarValue::IntervalMonthDayNano(Some(i))) if i.months == 0 => {
                format!(
                    ", INTERVAL '{} seconds'",
                    f64::from(i.days) * 86_400.0 + i.nanoseconds as f64 / 1e9
                )
            }
            Some(v) if v.data_type().is_numeric() => format!(", {}", v),
            Some(_) => {
                return Err(SqlError::invalid_parameter(format!(
                    "channel_attribution's param must be a number or a fixed INTERVAL. Usage: {USAGE}"
                )))
            }
        };

        let credit = match model.as_str() {
            "markov" | "shapley" => {
                let call = if model == "markov" {
                    format!("markov_attribution(path, converted, rev, 1.0 - converted, {order})")
                } else {
                    "shapley_attribution(path, converted, rev)".to_string()
                };
                format!(
                    "journeys AS (SELECT u, k, max(rev) AS rev, max(converted) AS converted,
                                         array_agg(ch ORDER BY ts, ch) AS path
                                  FROM touches GROUP BY u, k),
                     unnested AS (SELECT unnest({call}) AS c FROM journeys),
                     credit AS (SELECT c['channel'] AS channel, c['conversions'] AS conversions,
                                       c['conversion_value'] AS revenue FROM unnested)"
                )
            }
            heuristic => format!(
                "weighted AS (SELECT ch, converted, rev,
                                     attribution_weight({m}, ts{param}) OVER (PARTITION BY u, k) AS w
                              FROM touches),
                 credit AS (SELECT ch AS channel, sum(w * converted) AS conversions,
                                   sum(w * rev) AS revenue FROM weighted GROUP BY ch)",
                m = quote_text(heuristic),
            ),
        };
        let spend = match &cost {
            Some(c) => format!(
                "SELECT CAST({channel} AS VARCHAR) AS channel, CAST(sum({c}) AS DOUBLE) AS cost
                 FROM {t} WHERE {channel} IS NOT NULL GROUP BY 1",
                t = quote_table(&touch_table)
            ),
            None => {
                "SELECT CAST(NULL AS VARCHAR) AS channel, CAST(NULL AS DOUBLE) AS cost".to_string()
            }
        };
        let sql = format!(
            "WITH conv AS (
               SELECT CAST({user} AS VARCHAR) AS u, {time} AS cts,
                      COALESCE(CAST({revenue} AS DOUBLE), 0.0) AS rev,
                      row_number() OVER (PARTITION BY {user} ORDER BY {time}) AS k,
                      lag({time}) OVER (PARTITION BY {user} ORDER BY {time}) AS prev_cts
               FROM {conversions} WHERE {user} IS NOT NULL AND {time} IS NOT NULL),
             touch AS (
               SELECT CAST({user} AS VARCHAR) AS u, {time} AS ts, CAST({channel} AS VARCHAR) AS ch
               FROM {touches} WHERE {user} IS NOT NULL AND {time} IS NOT NULL AND {channel} IS NOT NULL),
             last_conv AS (SELECT u, max(cts) AS last_cts FROM conv GROUP BY u),
             conv_touch AS (
               SELECT c.u, c.k, c.rev, x.ts, x.ch FROM conv c JOIN touch x ON x.u = c.u
               WHERE x.ts <= c.cts AND x.ts >= c.cts - {window}
                 AND (c.prev_cts IS NULL OR x.ts > c.prev_cts)),
             after_last AS (
               SELECT x.u, x.ts, x.ch, max(x.ts) OVER (PARTITION BY x.u) AS latest
               FROM touch x LEFT JOIN last_conv l ON l.u = x.u
               WHERE l.last_cts IS NULL OR x.ts > l.last_cts),
             touches AS (
               SELECT u, k, rev, 1.0 AS converted, ts, ch FROM conv_touch
               UNION ALL
               SELECT u, CAST(0 AS BIGINT) AS k, 0.0 AS rev, 0.0 AS converted, ts, ch
               FROM after_last WHERE ts >= latest - {window}),
             {credit},
             reach AS (
               SELECT ch AS channel, count(*) AS touches, count(DISTINCT concat(u, chr(0), k)) AS journeys
               FROM touches GROUP BY ch),
             spend AS ({spend})
             SELECT r.channel, r.touches, r.journeys,
                    COALESCE(c.conversions, 0.0) AS conversions,
                    COALESCE(c.revenue, 0.0) AS revenue,
                    s.cost,
                    (COALESCE(c.revenue, 0.0) - s.cost) / NULLIF(s.cost, 0.0) AS roi,
                    s.cost / NULLIF(c.conversions, 0.0) AS cost_per_conversion
             FROM reach r
             LEFT JOIN credit c ON c.channel = r.channel
             LEFT JOIN spend s ON s.channel = r.channel
             ORDER BY revenue DESC, r.channel",
            conversions = quote_table(&conversion_table),
            touches = quote_table(&touch_table),
        );
        let schema = Schema::new(vec![
            Field::new("channel", DataType::Utf8, true),
            Field::new("touches", DataType::Int64, true),
            Field::new("journeys", DataType::Int64, true),
            Field::new("conversions", DataType::Float64, true),
            Field::new("revenue", DataType::Float64, true),
            Field::new("cost", DataType::Float64, true),
            Field::new("roi", DataType::Float64, true),
            Field::new("cost_per_conversion", DataType::Float64, true),
        ]);
        Ok(Arc::new(SqlTable::new(sql, Arc::new(schema))))
    }
}
