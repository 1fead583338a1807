//! A workaround for parameters inside subqueries. DataFusion's `get_parameter_types` does not
//! see placeholders inside scalar subqueries, and datafusion-postgres applies the resulting
//! gapped list by position, so in `SELECT (SELECT $1::VARCHAR), $2::SMALLINT` the text bound to
//! `$1` is parsed as a smallint. SQLAlchemy's column reflection is such a query. When a bound
//! portal has more parameters than the plan reports (and wants text results), its values are
//! written into the statement as literals instead, and it runs as a simple query.

use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::sqlparser::ast::{visit_expressions_mut, Expr, Value};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion_postgres::pgwire::api::portal::{Format, Portal};
use datafusion_postgres::pgwire::api::Type;
use std::ops::ControlFlow;

/// The statement with its parameters written in as literals, when the plan misses some of them
/// and every value can be written exactly; `None` otherwise (the normal path then runs).
pub fn inline_if_gapped<S>(
    portal: &Portal<S>,
    sql: &str,
    plan: Option<&LogicalPlan>,
) -> Option<String> {
    let n = portal.parameters.len();
    if n == 0 || !matches!(portal.result_column_format, Format::UnifiedText) {
        return None;
    }
    let seen = plan?.get_parameter_types().ok()?.len();
    if seen >= n {
        return None;
    }
    let mut literals = Vec::with_capacity(n);
    for (i, value) in portal.parameters.iter().enumerate() {
        let ty = portal.statement.parameter_types.get(i).cloned().flatten();
        literals.push(literal(
            value.as_deref(),
            ty.as_ref(),
            portal.parameter_format.is_binary(i),
        )?);
    }
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    let mut complete = true;
    let _ = visit_expressions_mut(&mut statements, |expr| {
        if let Expr::Value(v) = expr {
            if let Value::Placeholder(p) = &v.value {
                match p
                    .strip_prefix('$')
                    .and_then(|k| k.parse::<usize>().ok())
                    .and_then(|k| literals.get(k.wrapping_sub(1)))
                {
                    Some(text) => v.value = text.clone(),
                    None => complete = false,
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    complete.then(|| {
        statements
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// An SQL literal for one bound value, if it can be written exactly.
fn literal(value: Option<&[u8]>, ty: Option<&Type>, binary: bool) -> Option<Value> {
    let Some(bytes) = value else {
        return Some(Value::Null);
    };
    let number = |s: String| Some(Value::Number(s, false));
    if binary {
        return match ty? {
            t if *t == Type::INT2 => number(i16::from_be_bytes(bytes.try_into().ok()?).to_string()),
            t if *t == Type::INT4 => number(i32::from_be_bytes(bytes.try_into().ok()?).to_string()),
            t if *t == Type::INT8 => number(i64::from_be_bytes(bytes.try_into().ok()?).to_string()),
            t if *t == Type::BOOL => Some(Value::Boolean(*bytes.first()? != 0)),
            t if *t == Type::TEXT || *t == Type::VARCHAR => Some(Value::SingleQuotedString(
                String::from_utf8(bytes.to_vec()).ok()?,
            )),
            _ => None,
        };
    }
    let text = String::from_utf8(bytes.to_vec()).ok()?;
    match ty {
        Some(t)
            if (*t == Type::INT2 || *t == Type::INT4 || *t == Type::INT8)
                && text.parse::<i64>().is_ok() =>
        {
            number(text)
        }
        Some(t) if *t == Type::BOOL => match text.as_str() {
            "t" | "true" => Some(Value::Boolean(true)),
            "f" | "false" => Some(Value::Boolean(false)),
            _ => None,
        },
        // Text and untyped values: a string literal; the statement's casts or DataFusion's
        // coercion give it its type, as PostgreSQL does for an unknown-typed literal.
        _ => Some(Value::SingleQuotedString(text)),
    }
}
