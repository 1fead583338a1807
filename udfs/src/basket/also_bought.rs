//! `also_bought(table, basket_column, item_column [, top_n [, min_support]])`: "customers who
//! bought X also bought Y" as plain rows, for storefronts and BI tools that cannot `unnest`.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::Expr;

use crate::sql_table::{literal_text, quote_ident, quote_table, SqlTable};
use crate::SqlError;

pub const USAGE: &str =
    "also_bought('table', 'basket_column', 'item_column' [, top_n [, min_support]]) \
    — e.g. also_bought('order_items', 'order_id', 'product_id', 5, 0.001)";

/// Parameter names for named-argument calls (`top_n => 10`).
pub const PARAMETERS: &[&str] = &[
    "table",
    "basket_column",
    "item_column",
    "top_n",
    "min_support",
];

/// Documentation for the README (table functions have no `Documentation` slot in DataFusion).
pub static DESCRIPTION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "Table function: for every item, the `top_n` (default 5) items most often bought with it, \
         as rows (item, recommended_item, rank, confidence, lift, support, count). Built on \
         `association_rules(basket, item, min_support, 0, 2)` (default min_support 0.001): \
         confidence = share of the item's baskets that also hold the recommended item. Ranked by \
         confidence, then lift, then recommended item text. Usage: {USAGE}"
    )
});

#[derive(Debug, Default)]
pub struct AlsoBought;

/// An optional constant argument: `None` when absent or NULL (use the default).
fn number(exprs: &[Expr], i: usize, what: &str) -> Result<Option<ScalarValue>> {
    match exprs.get(i) {
        None => Ok(None),
        Some(Expr::Literal(v, _)) => Ok((!v.is_null()).then(|| v.clone())),
        Some(_) => Err(SqlError::invalid_parameter(format!(
            "also_bought's {what} must be a constant. Usage: {USAGE}"
        ))),
    }
}

impl TableFunctionImpl for AlsoBought {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if !(3..=5).contains(&exprs.len()) {
            return Err(SqlError::wrong_arguments(format!(
                "also_bought takes 3 to 5 arguments, got {}. Usage: {USAGE}",
                exprs.len()
            )));
        }
        let names: Vec<String> = (0..3)
            .map(|i| {
                literal_text(exprs.get(i)).ok_or_else(|| {
                    SqlError::invalid_parameter(format!(
                        "also_bought's argument {} must be a non-empty text constant (a table or column name). Usage: {USAGE}",
                        i + 1
                    ))
                })
            })
            .collect::<Result<_>>()?;
        let top_n = match number(exprs, 3, "top_n")? {
            None => 5,
            Some(v) if v.data_type().is_integer() => match v.cast_to(&DataType::Int64)? {
                ScalarValue::Int64(Some(n)) if n >= 1 => n,
                _ => {
                    return Err(SqlError::invalid_parameter(format!(
                        "also_bought's top_n must be at least 1. Usage: {USAGE}"
                    )))
                }
            },
            _ => {
                return Err(SqlError::invalid_parameter(format!(
                    "also_bought's top_n must be a positive integer. Usage: {USAGE}"
                )))
            }
        };
        let min_support = match number(exprs, 4, "min_support")? {
            None => 0.001,
            Some(v) if v.data_type().is_numeric() => match v.cast_to(&DataType::Float64)? {
                ScalarValue::Float64(Some(s)) if s > 0.0 && s <= 1.0 => s,
                _ => {
                    return Err(SqlError::invalid_parameter(format!(
                        "also_bought's min_support must be in (0, 1]. Usage: {USAGE}"
                    )))
                }
            },
            _ => {
                return Err(SqlError::invalid_parameter(format!(
                    "also_bought's min_support must be a number in (0, 1]. Usage: {USAGE}"
                )))
            }
        };
        let sql = format!(
            "WITH r AS (SELECT unnest(association_rules({basket}, {item}, {min_support:e}, 0.0, 2)) AS rule FROM {table}),
             pairs AS (SELECT rule['antecedent'][1] AS item, rule['consequent'][1] AS recommended_item,
                              rule['confidence'] AS confidence, rule['lift'] AS lift,
                              rule['support'] AS support, rule['count'] AS count FROM r),
             ranked AS (SELECT *, row_number() OVER (PARTITION BY item
                          ORDER BY confidence DESC, lift DESC, recommended_item) AS rank FROM pairs)
             SELECT item, recommended_item, CAST(rank AS INT) AS rank, confidence, lift, support, count
             FROM ranked WHERE rank <= {top_n} ORDER BY item, rank",
            table = quote_table(&names[0]),
            basket = quote_ident(&names[1]),
            item = quote_ident(&names[2]),
        );
        let schema = Schema::new(vec![
            Field::new("item", DataType::Utf8, true),
            Field::new("recommended_item", DataType::Utf8, true),
            Field::new("rank", DataType::Int32, true),
            Field::new("confidence", DataType::Float64, true),
            Field::new("lift", DataType::Float64, true),
            Field::new("support", DataType::Float64, true),
            Field::new("count", DataType::Int64, true),
        ]);
        Ok(Arc::new(SqlTable::new(sql, Arc::new(schema))))
    }
}
