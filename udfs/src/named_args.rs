//! Named arguments for table functions: `also_bought('order_items', 'order_id', 'product_id',
//! top_n => 5)`.
//!
//! DataFusion 55 plans named arguments for scalar and aggregate UDFs but rejects them in a
//! `FROM f(...)` call. This relation planner rewrites such a call into the positional form the
//! table function expects (skipped optional parameters become `NULL`, which our table functions
//! read as "use the default") and hands it back to the default planner. Both spellings
//! Postgres accepts, `name => value` and `name := value`, work.

use std::collections::HashMap;

use datafusion::error::Result;
use datafusion::logical_expr::planner::{
    RelationPlanner, RelationPlannerContext, RelationPlanning,
};
use datafusion::sql::sqlparser::ast::{
    Expr as SqlExpr, FunctionArg, FunctionArgExpr, TableFactor, Value,
};

use crate::SqlError;

/// Parameter names, in positional order, of the table functions that accept named arguments.
#[derive(Debug, Default)]
pub struct TableFunctionNamedArgs {
    functions: HashMap<&'static str, &'static [&'static str]>,
}

impl TableFunctionNamedArgs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares `name`'s parameters (lower-case, in the order the function takes them).
    pub fn with_function(mut self, name: &'static str, params: &'static [&'static str]) -> Self {
        self.functions.insert(name, params);
        self
    }

    fn reorder(&self, function: &str, args: Vec<FunctionArg>) -> Result<Vec<FunctionArg>> {
        let Some(params) = self.functions.get(function) else {
            return Ok(args);
        };
        let usage = || format!("{function}({})", params.join(", "));
        let mut slots: Vec<Option<FunctionArgExpr>> = vec![None; params.len()];
        let mut seen_named = false;
        for (position, arg) in args.into_iter().enumerate() {
            let (index, value) = match arg {
                FunctionArg::Unnamed(value) => {
                    if seen_named {
                        return Err(SqlError::syntax(format!(
                            "{function}: positional arguments must come before named ones. Parameters: {}",
                            usage()
                        )));
                    }
                    (position, value)
                }
                FunctionArg::Named { name, arg, .. }
                | FunctionArg::ExprNamed {
                    name: SqlExpr::Identifier(name),
                    arg,
                    ..
                } => {
                    seen_named = true;
                    let wanted = name.value.to_lowercase();
                    let index = params.iter().position(|p| *p == wanted).ok_or_else(|| {
                        SqlError::wrong_arguments(format!(
                            "{function} has no parameter named \"{}\". Parameters: {}",
                            name.value,
                            usage()
                        ))
                    })?;
                    (index, arg)
                }
                other => {
                    return Err(SqlError::syntax(format!(
                        "{function}: unsupported argument {other}. Parameters: {}",
                        usage()
                    )))
                }
            };
            let slot = slots.get_mut(index).ok_or_else(|| {
                SqlError::wrong_arguments(format!(
                    "{function} takes at most {} arguments. Parameters: {}",
                    params.len(),
                    usage()
                ))
            })?;
            if slot.replace(value).is_some() {
                return Err(SqlError::wrong_arguments(format!(
                    "{function}: parameter \"{}\" is given twice. Parameters: {}",
                    params[index],
                    usage()
                )));
            }
        }
        let used = slots.iter().rposition(Option::is_some).map_or(0, |i| i + 1);
        Ok(slots
            .into_iter()
            .take(used)
            .map(|slot| {
                FunctionArg::Unnamed(
                    slot.unwrap_or(FunctionArgExpr::Expr(SqlExpr::Value(Value::Null.into()))),
                )
            })
            .collect())
    }
}

impl RelationPlanner for TableFunctionNamedArgs {
    fn plan_relation(
        &self,
        mut relation: TableFactor,
        context: &mut dyn RelationPlannerContext,
    ) -> Result<RelationPlanning> {
        if let TableFactor::Table {
            name,
            args: Some(table_args),
            ..
        } = &mut relation
        {
            let named = table_args
                .args
                .iter()
                .any(|a| matches!(a, FunctionArg::Named { .. } | FunctionArg::ExprNamed { .. }));
            if let (true, [part]) = (named, name.0.as_slice()) {
                if let Some(ident) = part.as_ident() {
                    let function = context.normalize_ident(ident.clone());
                    table_args.args =
                        self.reorder(&function, std::mem::take(&mut table_args.args))?;
                }
            }
        }
        Ok(RelationPlanning::Original(Box::new(relation)))
    }
}
