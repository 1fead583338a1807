//! PostgreSQL constructs that clients' catalog queries use and DataFusion lacks, rewritten into
//! equivalents it has before the statement is planned:
//!
//! - `generate_subscripts(array, dim)` → `unnest(generate_series(1, cardinality(array)))` for
//!   dimension 1, nothing for others
//!   (SQLAlchemy's constraint and index reflection);
//! - `'schema.name'::regproc` → `'name'`, as the emulated catalog stores regproc columns
//!   (DBeaver's type loading compares `pg_type.typinput` with one);
//! - `x LIKE p ESCAPE 'c'` with `c` other than backslash → the same pattern re-escaped with
//!   backslashes (SQLAlchemy escapes `_` in schema-name filters with `/`).
//!
//! - a scalar subquery looking one value up in `pg_catalog` → its value wrapped in `min()`
//!   (DataFusion requires correlated scalar subqueries to be aggregated);
//! - in catalog queries, PostgreSQL's functions in FROM: `string_to_array(…) s` (a scalar
//!   function used as a one-row table, its column named after the alias) → `(SELECT
//!   string_to_array(…) AS s) AS s`, and `generate_series(…) AS i` / `unnest(…) x` → `… AS
//!   i(i)` (Grafana's search_path expansion, psql's `\d+`);
//! - in catalog queries, a second copy of an unaliased select-list expression → aliased
//!   (`current_database() AS "current_database_2"`), as DataFusion requires unique names;
//! - `information_schema._pg_expandarray(a)` → `unnest(_pg_expandarray(a))`, and in catalog
//!   queries PostgreSQL's composite field access `(r).x` → `r['x']` (pgjdbc's primary-key and
//!   index metadata);
//! - `p.oid = t.typreceive` (any of pg_type's regproc columns) → `p.proname = t.typreceive`,
//!   as those columns hold function names (Npgsql's type loading joins pg_proc this way).
//!
//! Only statements that contain one of these are re-serialised; everything else reaches
//! DataFusion as the client wrote it.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, AccessExpr, BinaryOperator, DataType, Expr, FunctionArguments,
    GroupByExpr, Ident, Query, SelectItem, SetExpr, Subscript, TableAliasColumnDef, TableFactor,
    Value, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

fn parse_expr(text: &str) -> Option<Expr> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(text)
        .ok()?
        .parse_expr()
        .ok()
}

fn function_args(args: &FunctionArguments) -> Option<Vec<String>> {
    match args {
        FunctionArguments::List(list) if list.duplicate_treatment.is_none() => {
            Some(list.args.iter().map(|a| a.to_string()).collect())
        }
        _ => None,
    }
}

/// The escape character of a `LIKE … ESCAPE`, if it is a one-character string other than `\`.
fn custom_escape(value: &Value) -> Option<char> {
    let text = match value {
        Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => s,
        _ => return None,
    };
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c != '\\' => Some(c),
        _ => None,
    }
}

/// `pattern` (escaped with `escape`) re-escaped with backslashes, as an SQL expression.
fn reescaped(pattern: &Expr, escape: char) -> Option<Expr> {
    let re = if escape.is_ascii_alphanumeric() {
        escape.to_string()
    } else {
        format!("\\{escape}")
    };
    let re = re.replace('\'', "''");
    parse_expr(&format!(
        "regexp_replace(replace(({pattern}), '\\', '\\\\'), '{re}(.)', '\\${{1}}', 'g')"
    ))
}

const AGGREGATES: [&str; 9] = [
    "min",
    "max",
    "count",
    "sum",
    "avg",
    "array_agg",
    "string_agg",
    "bool_and",
    "bool_or",
];

/// A scalar subquery that looks one value up in the PostgreSQL catalog (`(SELECT typcollation
/// FROM pg_type WHERE oid = atttypid)`, in SQLAlchemy's and pgjdbc's metadata queries):
/// DataFusion refuses a correlated one unless it is aggregated, so its value is wrapped in
/// `min()`. Such lookups are by key and return at most one row, where `min` is that row's
/// value. Only subqueries over `pg_catalog` tables are touched.
fn aggregate_catalog_lookup(query: &mut Query) -> bool {
    if query.limit_clause.is_some() || query.order_by.is_some() {
        return false;
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return false;
    };
    let grouped = match &select.group_by {
        GroupByExpr::Expressions(exprs, _) => !exprs.is_empty(),
        GroupByExpr::All(_) => true,
    };
    let catalog_only = !select.from.is_empty()
        && select.from.iter().all(|t| {
            t.joins.is_empty()
                && matches!(&t.relation, TableFactor::Table { name, .. }
                    if name.0.last().is_some_and(|p| p.to_string().to_ascii_lowercase().starts_with("pg_")))
        });
    if grouped || !catalog_only || select.projection.len() != 1 || select.distinct.is_some() {
        return false;
    }
    let expr = match &mut select.projection[0] {
        SelectItem::UnnamedExpr(e) => e,
        SelectItem::ExprWithAlias { expr, .. } => expr,
        _ => return false,
    };
    let already = match &*expr {
        Expr::Function(f) => f
            .name
            .0
            .last()
            .is_some_and(|p| AGGREGATES.contains(&p.to_string().to_ascii_lowercase().as_str())),
        _ => false,
    };
    if already {
        return false;
    }
    match parse_expr(&format!("min({expr})")) {
        Some(wrapped) => {
            *expr = wrapped;
            true
        }
        None => false,
    }
}

/// pg_type's regproc columns, which the emulated catalog fills with function names.
const REGPROC_COLUMNS: [&str; 7] = [
    "typinput",
    "typoutput",
    "typreceive",
    "typsend",
    "typmodin",
    "typmodout",
    "typanalyze",
];

fn is_regproc_column(expr: &Expr) -> bool {
    let last = match expr {
        Expr::Identifier(i) => i,
        Expr::CompoundIdentifier(parts) => match parts.last() {
            Some(i) => i,
            None => return false,
        },
        _ => return false,
    };
    REGPROC_COLUMNS.contains(&last.value.to_ascii_lowercase().as_str())
}

/// `alias.oid` → `alias.proname`, for the pg_proc side of a join on a regproc column.
fn proname_for_oid(expr: &mut Expr) -> bool {
    if let Expr::CompoundIdentifier(parts) = expr {
        if parts.len() >= 2
            && parts
                .last()
                .is_some_and(|i| i.value.eq_ignore_ascii_case("oid"))
        {
            if let Some(last) = parts.last_mut() {
                *last = Ident::new("proname");
                return true;
            }
        }
    }
    false
}

/// Scalar functions that catalog queries call in FROM, as PostgreSQL allows.
const SCALARS_IN_FROM: [&str; 2] = ["string_to_array", "current_schemas"];

/// PostgreSQL's functions-in-FROM conventions (see the module docs).
struct FromFunctions {
    changed: bool,
}

impl VisitorMut for FromFunctions {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table {
            name,
            alias: Some(alias),
            args: Some(args),
            ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        let function = name.to_string().to_ascii_lowercase();
        let function = function.rsplit('.').next().unwrap_or_default();
        // Unqualified only: psql's `pg_catalog.generate_series(…) s` in `\d` plans as it is.
        if matches!(function, "generate_series" | "unnest")
            && name.0.len() == 1
            && alias.columns.is_empty()
        {
            alias.columns = vec![TableAliasColumnDef::from_name(alias.name.value.clone())];
            self.changed = true;
        } else if SCALARS_IN_FROM.contains(&function) && alias.columns.is_empty() {
            let call = args
                .args
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT * FROM (SELECT {name}({call}) AS {0}) AS {0}",
                alias.name
            );
            let derived = Parser::parse_sql(&PostgreSqlDialect {}, &sql)
                .ok()
                .and_then(|mut statements| match statements.pop() {
                    Some(datafusion::sql::sqlparser::ast::Statement::Query(q)) => match *q.body {
                        SetExpr::Select(select) => {
                            select.from.into_iter().next().map(|t| t.relation)
                        }
                        _ => None,
                    },
                    _ => None,
                });
            if let Some(derived) = derived {
                *factor = derived;
                self.changed = true;
            }
        }
        ControlFlow::Continue(())
    }
}

/// The second and later copies of an unaliased select-list expression get an alias:
/// PostgreSQL allows `SELECT current_database(), …, current_database()` (Npgsql's GetSchema
/// queries), DataFusion requires unique column names.
struct UniqueNames {
    changed: bool,
}

impl VisitorMut for UniqueNames {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        self.changed |= unique_names(query.body.as_mut());
        ControlFlow::Continue(())
    }
}

/// [`UniqueNames`] for a query that is one select. (Not the branches of a UNION: psql's
/// publication query, `SELECT pubname, NULL, NULL … UNION …`, runs as written and would not
/// after re-serialising.)
fn unique_names(body: &mut SetExpr) -> bool {
    let SetExpr::Select(select) = body else {
        return false;
    };
    let mut changed = false;
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for item in select.projection.iter_mut() {
        let SelectItem::UnnamedExpr(expr) = item else {
            continue;
        };
        let copies = seen.entry(expr.to_string()).or_default();
        *copies += 1;
        if *copies > 1 {
            // PostgreSQL's own name for the column, made unique.
            let name = match &*expr {
                Expr::Function(f) => f.name.0.last().map(|p| p.to_string()),
                Expr::Identifier(i) => Some(i.value.clone()),
                Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.clone()),
                _ => None,
            }
            .unwrap_or_else(|| "?column?".to_string());
            *item = SelectItem::ExprWithAlias {
                expr: expr.clone(),
                alias: Ident::with_quote('"', format!("{name}_{copies}")),
            };
            changed = true;
        }
    }
    changed
}

/// The rewritten statement text, or `None` when nothing needed rewriting (or it does not parse
/// as PostgreSQL; DataFusion then reports the error in its own words).
pub fn rewrite(sql: &str) -> Option<String> {
    let lower = sql.to_ascii_lowercase();
    let catalog_subquery = lower.contains("pg_") && lower.contains("(select");
    let regproc_join = REGPROC_COLUMNS.iter().any(|c| lower.contains(c));
    let catalog_query = lower.contains("pg_catalog") || lower.contains("information_schema");
    let expandarray = lower.contains("_pg_expandarray");
    // Not when ORDER BY holds a subquery: DataFusion cannot plan one there, while the
    // unrewritten statement still runs (Grafana's table list sorts by search_path membership).
    let subquery_in_order_by = lower
        .rfind("order by")
        .is_some_and(|at| lower[at..].contains("select"));
    let functions_in_from = (lower.contains("information_schema") || lower.contains("pg_"))
        && (lower.contains("generate_series")
            || lower.contains("unnest")
            || SCALARS_IN_FROM.iter().any(|f| lower.contains(f)))
        && !subquery_in_order_by;
    if !lower.contains("generate_subscripts")
        && !lower.contains("escape")
        && !lower.contains("regproc")
        && !catalog_subquery
        && !regproc_join
        && !functions_in_from
        && !catalog_query
        && !expandarray
    {
        return None;
    }
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    let mut changed = false;
    if functions_in_from {
        let mut from = FromFunctions { changed: false };
        let _ = statements.visit(&mut from);
        changed = from.changed;
    }
    if catalog_query {
        let mut names = UniqueNames { changed: false };
        let _ = statements.visit(&mut names);
        changed |= names.changed;
    }
    let _ = visit_expressions_mut(&mut statements, |expr| {
        match expr {
            Expr::Function(f)
                if f.name.0.last().is_some_and(|p| {
                    p.as_ident()
                        .is_some_and(|i| i.value.eq_ignore_ascii_case("generate_subscripts"))
                }) =>
            {
                if let Some(args) = function_args(&f.args) {
                    if args.len() == 2 {
                        // Arrays here are one-dimensional: any other dimension has no subscripts.
                        if let Some(new) = parse_expr(&format!(
                            "unnest(generate_series(1, CAST(CASE WHEN ({}) = 1 THEN cardinality({}) ELSE 0 END AS BIGINT)))",
                            args[1], args[0]
                        )) {
                            *expr = new;
                            changed = true;
                        }
                    }
                }
            }
            Expr::Cast {
                expr: inner,
                data_type: DataType::Custom(type_name, _),
                ..
            } if type_name.to_string().eq_ignore_ascii_case("regproc") => {
                let name = match inner.as_ref() {
                    Expr::Value(v) => match &v.value {
                        Value::SingleQuotedString(s) => Some(s.clone()),
                        _ => None,
                    },
                    _ => None,
                };
                if let Some(name) = name {
                    let bare = name.rsplit('.').next().unwrap_or(&name).replace('\'', "''");
                    // The emulated catalog keeps regproc columns (pg_type.typinput, …) as
                    // function names, and PostgreSQL prints a regproc as its name too.
                    if let Some(new) = parse_expr(&format!("'{bare}'")) {
                        *expr = new;
                        changed = true;
                    }
                }
            }
            Expr::Function(f)
                if expandarray
                    && f.name.0.len() == 2
                    && f.name
                        .0
                        .iter()
                        .map(|p| p.to_string().to_ascii_lowercase())
                        .eq([
                            "information_schema".to_string(),
                            "_pg_expandarray".to_string(),
                        ]) =>
            {
                if let Some(args) = function_args(&f.args) {
                    if let Some(new) =
                        parse_expr(&format!("unnest(_pg_expandarray({}))", args.join(", ")))
                    {
                        *expr = new;
                        changed = true;
                    }
                }
            }
            // `(r).x`, which DataFusion refuses ("Dot access not supported"), is `r['x']`.
            Expr::CompoundFieldAccess { root, access_chain }
                if catalog_query && matches!(root.as_ref(), Expr::Nested(_)) =>
            {
                for access in access_chain.iter_mut() {
                    if let AccessExpr::Dot(Expr::Identifier(field)) = access {
                        let name = field.value.to_ascii_lowercase().replace('\'', "''");
                        if let Some(index) = parse_expr(&format!("'{name}'")) {
                            *access = AccessExpr::Subscript(Subscript::Index { index });
                            changed = true;
                        }
                    }
                }
            }
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } if regproc_join => {
                if is_regproc_column(right) {
                    changed |= proname_for_oid(left);
                } else if is_regproc_column(left) {
                    changed |= proname_for_oid(right);
                }
            }
            // PostgreSQL's `user` is current_user (Grafana's search_path expansion).
            Expr::Function(f)
                if functions_in_from
                    && matches!(f.args, FunctionArguments::None)
                    && f.name.0.len() == 1
                    && f.name.0[0].as_ident().is_some_and(|i| {
                        i.quote_style.is_none() && i.value.eq_ignore_ascii_case("user")
                    }) =>
            {
                if let Some(new) = parse_expr("current_user") {
                    *expr = new;
                    changed = true;
                }
            }
            Expr::Subquery(query) if catalog_subquery => {
                changed |= aggregate_catalog_lookup(query);
            }
            Expr::Like {
                pattern,
                escape_char,
                ..
            }
            | Expr::ILike {
                pattern,
                escape_char,
                ..
            } => {
                if let Some(c) = escape_char.as_ref().and_then(|v| custom_escape(&v.value)) {
                    if let Some(new) = reescaped(pattern, c) {
                        **pattern = new;
                        *escape_char = None;
                        changed = true;
                    }
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    changed.then(|| {
        statements
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    async fn rows(sql: &str) -> Vec<String> {
        let ctx = SessionContext::new();
        let sql = rewrite(sql).unwrap_or_else(|| sql.to_string());
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        text.lines()
            .skip(3)
            .filter(|l| !l.starts_with('+'))
            .map(|l| l.trim_matches(|c| c == '|' || c == ' ').to_string())
            .collect()
    }

    #[tokio::test]
    async fn generate_subscripts_lists_the_positions() {
        assert_eq!(
            rows("SELECT generate_subscripts(make_array(10, 20, 30), 1) AS i").await,
            ["1", "2", "3"]
        );
        assert!(
            rows("SELECT generate_subscripts(make_array(10, 20), 2) AS i")
                .await
                .is_empty()
        );
        assert!(rewrite("SELECT 1").is_none());
        assert_eq!(
            rewrite("SELECT 'pg_catalog.array_in'::regproc AS f").as_deref(),
            Some("SELECT 'array_in' AS f")
        );
        assert_eq!(
            rewrite("SELECT (SELECT t.typname FROM pg_catalog.pg_type t WHERE t.oid = a.atttypid) FROM pg_catalog.pg_attribute a").as_deref(),
            Some("SELECT (SELECT min(t.typname) FROM pg_catalog.pg_type t WHERE t.oid = a.atttypid) FROM pg_catalog.pg_attribute a")
        );
        // User tables and already-aggregated lookups are left alone.
        assert!(rewrite("SELECT (SELECT max(total) FROM orders WHERE customer_id = 1)").is_none());
        assert!(rewrite("SELECT (SELECT count(*) FROM pg_catalog.pg_type)").is_none());
        assert_eq!(
            rewrite("SELECT t.typname FROM pg_type t LEFT JOIN pg_proc AS proc ON proc.oid = t.typreceive").as_deref(),
            Some("SELECT t.typname FROM pg_type t LEFT JOIN pg_proc AS proc ON proc.proname = t.typreceive")
        );
        assert!(rewrite("SELECT typreceive FROM pg_type WHERE oid = 23").is_none());
        assert_eq!(
            rewrite("SELECT s[i] FROM generate_series(1, 2) AS i, string_to_array(current_setting('search_path'), ',') s WHERE 'pg_catalog' <> ''").as_deref(),
            Some("SELECT s[i] FROM generate_series(1, 2) AS i (i), (SELECT string_to_array(current_setting('search_path'), ',') AS s) AS s WHERE 'pg_catalog' <> ''")
        );
        assert_eq!(
            rewrite("SELECT current_database(), n.nspname, current_database() FROM pg_catalog.pg_namespace n").as_deref(),
            Some("SELECT current_database(), n.nspname, current_database() AS \"current_database_2\" FROM pg_catalog.pg_namespace n")
        );
        assert_eq!(
            rewrite("SELECT (information_schema._pg_expandarray(i.indkey)).n AS k FROM pg_catalog.pg_index i").as_deref(),
            Some("SELECT (unnest(_pg_expandarray(i.indkey)))['n'] AS k FROM pg_catalog.pg_index i")
        );
        // Outside catalog queries, DataFusion's own naming (`value`) stays.
        assert!(rewrite("SELECT t.value FROM generate_series(1, 2) AS t").is_none());
    }

    #[tokio::test]
    async fn like_with_a_custom_escape() {
        let sql = "SELECT s FROM (VALUES ('pg_toast'), ('pgx'), ('p/g'), ('a\\b')) t(s) \
                   WHERE s LIKE 'pg/_%' ESCAPE '/' OR s LIKE 'p//g' ESCAPE '/' OR s LIKE 'a\\b' ESCAPE '/' \
                   ORDER BY s";
        assert_eq!(rows(sql).await, ["a\\b", "p/g", "pg_toast"]);
        let not = "SELECT count(*) AS n FROM (VALUES ('pg_toast'), ('pgx')) t(s) WHERE s NOT LIKE 'pg/_' || '%' ESCAPE '/'";
        assert_eq!(rows(not).await, ["1"]);
    }
}

/// Nested function calls a statement may have. sqlparser 0.62 parses each function argument
/// twice (first as a named argument), so parsing time doubles with every level of nesting:
/// 20 levels take about a second, 22 four, 40 forever — and parsing cannot be interrupted
/// by statement_timeout. Found by the SQL fuzz target; deeper statements are refused up front.
pub const MAX_CALL_NESTING: usize = 20;

/// The deepest nesting of function-call parentheses (`name(`) in `sql`, outside string
/// literals, quoted identifiers and comments.
pub fn call_nesting(sql: &str) -> usize {
    let bytes = sql.as_bytes();
    let mut stack: Vec<bool> = Vec::new();
    let mut calls = 0usize;
    let mut deepest = 0usize;
    let mut i = 0;
    let mut last_significant: u8 = b' ';
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\'' | b'"' => {
                // Skip the literal or quoted identifier (doubled quotes stay inside).
                let quote = b;
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == quote {
                        if bytes.get(i + 1) == Some(&quote) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                last_significant = quote;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'(' => {
                let is_call = last_significant.is_ascii_alphanumeric()
                    || last_significant == b'_'
                    || last_significant == b'"'
                    || last_significant >= 0x80;
                stack.push(is_call);
                if is_call {
                    calls += 1;
                    deepest = deepest.max(calls);
                }
                last_significant = b;
            }
            b')' => {
                if stack.pop() == Some(true) {
                    calls -= 1;
                }
                last_significant = b;
            }
            b if b.is_ascii_whitespace() => {}
            _ => last_significant = b,
        }
        i += 1;
    }
    deepest
}

/// Refuses statements nested too deeply to parse in reasonable time (SQLSTATE 54001).
pub fn check_nesting(sql: &str) -> Result<(), String> {
    let depth = call_nesting(sql);
    if depth > MAX_CALL_NESTING {
        Err(format!(
            "statement too complex: function calls nest {depth} levels deep (the limit is \
             {MAX_CALL_NESTING}); split the expression with a WITH clause or subquery"
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod nesting_tests {
    use super::*;

    #[test]
    fn counts_call_nesting_only() {
        assert_eq!(call_nesting("SELECT abs(abs(1))"), 2);
        assert_eq!(call_nesting("SELECT 1 + ((((1))))"), 0);
        // A keyword before a parenthesis counts like a call: conservative, and harmless.
        assert_eq!(call_nesting("SELECT ((1))"), 1);
        assert_eq!(call_nesting("SELECT f(x), g(y)"), 1);
        assert_eq!(call_nesting("SELECT 'f(f(f(' || x, \"a(\"(1) -- g(g(\n"), 1);
        assert_eq!(
            call_nesting(&format!("SELECT {}1{}", "abs(".repeat(25), ")".repeat(25))),
            25
        );
        // Unbalanced, as the fuzzer's input was.
        assert_eq!(call_nesting(&format!("SELECT {}x", "f(".repeat(30))), 30);
        assert!(
            check_nesting(&format!("SELECT {}1{}", "abs(".repeat(21), ")".repeat(21))).is_err()
        );
        assert!(check_nesting(&format!("SELECT {}1{}", "abs(".repeat(20), ")".repeat(20))).is_ok());
    }
}
