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
use std::sync::LazyLock;

use datafusion_postgres::datafusion_pg_catalog::sql::PostgresCompatibilityParser;

use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, AccessExpr, ArrayElemTypeDef, BinaryOperator, DataType, Expr, Function,
    FunctionArguments, GroupByExpr, Ident, OrderByKind, Query, Select, SelectItem, SetExpr,
    Subscript, TableAliasColumnDef, TableFactor, TableWithJoins, Value, VisitMut, VisitorMut,
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

/// Whether a select has a GROUP BY.
fn is_grouped(select: &Select) -> bool {
    match &select.group_by {
        GroupByExpr::Expressions(exprs, _) => !exprs.is_empty(),
        GroupByExpr::All(_) => true,
    }
}

/// The first FROM item of the query `sql` (used to build a derived table from text).
fn first_from(sql: &str) -> Option<TableWithJoins> {
    match Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?.pop()? {
        datafusion::sql::sqlparser::ast::Statement::Query(q) => match *q.body {
            SetExpr::Select(select) => select.from.into_iter().next(),
            _ => None,
        },
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

/// `outer = inner` pairs among the AND-ed equalities of `selection`: an outer column is
/// qualified by a name not among `inner_tables`, an inner one is qualified by one of them or
/// unqualified.
fn outer_keys(selection: &Expr, inner_tables: &[String]) -> Vec<(Expr, Expr)> {
    let qualifier = |e: &Expr| match e {
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
            Some(Some(parts[0].value.to_ascii_lowercase()))
        }
        Expr::Identifier(_) => Some(None),
        _ => None,
    };
    let is_inner = |q: &Option<String>| q.as_ref().is_none_or(|t| inner_tables.contains(t));
    match selection {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut keys = outer_keys(left, inner_tables);
            keys.extend(outer_keys(right, inner_tables));
            keys
        }
        Expr::Nested(e) => outer_keys(e, inner_tables),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => match (qualifier(left), qualifier(right)) {
            (Some(l), Some(r)) if is_inner(&l) && !is_inner(&r) => {
                vec![(right.as_ref().clone(), left.as_ref().clone())]
            }
            (Some(l), Some(r)) if !is_inner(&l) && is_inner(&r) => {
                vec![(left.as_ref().clone(), right.as_ref().clone())]
            }
            _ => vec![],
        },
        _ => vec![],
    }
}

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
    let grouped = is_grouped(select);
    let catalog_only = !select.from.is_empty()
        && select.from.iter().all(|t| {
            t.joins.is_empty()
                && matches!(&t.relation, TableFactor::Table { name, .. }
                    if name.0.last().is_some_and(|p| p.to_string().to_ascii_lowercase().starts_with("pg_")))
        });
    if grouped || !catalog_only || select.projection.len() != 1 || select.distinct.is_some() {
        return false;
    }
    let inner: Vec<String> = select
        .from
        .iter()
        .filter_map(|t| match &t.relation {
            TableFactor::Table { name, alias, .. } => Some(
                alias
                    .as_ref()
                    .map(|a| a.name.value.clone())
                    .or_else(|| name.0.last().map(|p| p.to_string()))?
                    .to_ascii_lowercase(),
            ),
            _ => None,
        })
        .collect();
    let keys = select
        .selection
        .as_ref()
        .map(|w| outer_keys(w, &inner))
        .unwrap_or_default();
    let expr = match &mut select.projection[0] {
        SelectItem::UnnamedExpr(e) => e,
        SelectItem::ExprWithAlias { expr, .. } => expr,
        _ => return false,
    };
    // Any aggregate call in the expression (`count(*) > 0` too) makes it one already.
    let mut already = false;
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(&*expr, |e| {
        if let Expr::Function(f) = e {
            already |=
                f.name.0.last().is_some_and(|p| {
                    AGGREGATES.contains(&p.to_string().to_ascii_lowercase().as_str())
                });
        }
        ControlFlow::<()>::Continue(())
    });
    if already {
        return false;
    }
    // DataFusion cannot decorrelate an outer column in the select list (`SELECT
    // pg_get_expr(adbin, cls.oid) … WHERE adrelid = cls.oid`, Npgsql's column defaults):
    // the inner column equal to it by the WHERE clause stands in for it.
    let _ = visit_expressions_mut(&mut *expr, |e| {
        if let Some((_, inner_column)) = keys.iter().find(|(outer, _)| outer == e) {
            *e = inner_column.clone();
        }
        ControlFlow::<()>::Continue(())
    });
    match parse_expr(&format!("min({expr})")) {
        Some(wrapped) => {
            *expr = wrapped;
            true
        }
        None => false,
    }
}

/// `regtype` or `pg_catalog.regtype`.
fn is_regtype(data_type: &DataType) -> bool {
    matches!(data_type, DataType::Custom(name, _)
        if name.0.last().is_some_and(|p| p.to_string().eq_ignore_ascii_case("regtype")))
}

/// `ARRAY(SELECT e FROM … [ORDER BY o])`, PostgreSQL's array constructor over a subquery,
/// which DataFusion lacks, as `(SELECT array_agg(e ORDER BY o) FROM …)` (psql's `\du` and
/// `\d+`), `{}` over no rows.
///
/// psql's `\d+` appends the TOAST table's options, `ARRAY(SELECT 'toast.' || x FROM
/// unnest(tc.reloptions) x)`, an unnest of the outer row DataFusion cannot decorrelate.
/// Sightline's tables have no TOAST table (`reltoastrelid` is 0, so `tc` is always the NULL
/// row of a LEFT JOIN) and that array is always empty: it becomes an empty `text[]`.
fn array_of_subquery(function: &Function) -> Option<Expr> {
    let is_array = function.name.0.len() == 1
        && function.name.0[0]
            .as_ident()
            .is_some_and(|i| i.quote_style.is_none() && i.value.eq_ignore_ascii_case("array"));
    let FunctionArguments::Subquery(query) = &function.args else {
        return None;
    };
    if !is_array || query.limit_clause.is_some() || query.fetch.is_some() || query.with.is_some() {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return None;
    };
    let grouped = is_grouped(select);
    if grouped || select.having.is_some() || select.distinct.is_some() {
        return None;
    }
    let [item] = select.projection.as_slice() else {
        return None;
    };
    let element = match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e.clone(),
        _ => return None,
    };
    if let [only] = select.from.as_slice() {
        if let TableFactor::Table {
            name,
            args: Some(args),
            ..
        } = &only.relation
        {
            let unnest = name
                .0
                .last()
                .is_some_and(|p| p.to_string().eq_ignore_ascii_case("unnest"));
            let toast_options = args.args.len() == 1
                && args.args[0]
                    .to_string()
                    .to_ascii_lowercase()
                    .ends_with(".reloptions");
            if unnest && toast_options && only.joins.is_empty() {
                return parse_expr("CAST(make_array() AS TEXT[])");
            }
        }
    }
    let order = match &query.order_by {
        None => String::new(),
        Some(order_by) => match &order_by.kind {
            OrderByKind::Expressions(exprs) => {
                let mut keys = Vec::with_capacity(exprs.len());
                for key in exprs {
                    let mut key = key.clone();
                    // `ORDER BY 1` names the (only) output column.
                    if let Expr::Value(v) = &key.expr {
                        if matches!(&v.value, Value::Number(n, _) if n == "1") {
                            key.expr = element.clone();
                        }
                    }
                    keys.push(key.to_string());
                }
                format!(" ORDER BY {}", keys.join(", "))
            }
            OrderByKind::All(_) => return None,
        },
    };
    let mut aggregated = query.as_ref().clone();
    aggregated.order_by = None;
    let SetExpr::Select(select) = aggregated.body.as_mut() else {
        return None;
    };
    select.projection = vec![SelectItem::UnnamedExpr(parse_expr(&format!(
        "array_agg({element}{order})"
    ))?)];
    // Over no rows array_agg is NULL; PostgreSQL's ARRAY(…) is the empty array.
    parse_expr(&format!("coalesce(({aggregated}), make_array())"))
}

/// A scalar subquery that is a whole select-list item, `SELECT (SELECT count(*) FROM orders o
/// WHERE o.customer_id = c.customer_id) FROM customers c`, is put in parentheses. datafusion-
/// postgres replaces such an item with NULL when it looks correlated (and adds `LIMIT 1`
/// otherwise), to get past catalog queries DataFusion cannot plan; over the user's tables that
/// is a silently wrong answer, while DataFusion plans and runs it (or says why not). The extra
/// parentheses change nothing else. Subqueries over the catalog are left to that handling.
struct KeepSelectListSubqueries {
    changed: bool,
}

impl VisitorMut for KeepSelectListSubqueries {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let SetExpr::Select(select) = query.body.as_mut() {
            for item in select.projection.iter_mut() {
                if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item
                {
                    // Over the user's tables only: catalog queries count on the NULL (psql,
                    // Superset and pgcli send lookups DataFusion cannot plan, such as
                    // `json_build_object`).
                    let catalog = |text: String| {
                        let text = text.to_ascii_lowercase();
                        text.contains("pg_") || text.contains("information_schema")
                    };
                    if matches!(e, Expr::Subquery(q) if !catalog(q.to_string())) {
                        *e = Expr::Nested(Box::new(e.clone()));
                        self.changed = true;
                    }
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// `x IN (SELECT e FROM …)` in a select list or ORDER BY, which DataFusion plans only in
/// filters, as `coalesce(array_has((SELECT array_agg(e) FROM …), x), false)` (Grafana's table
/// list puts search_path membership in both). A NULL `x` gives false where PostgreSQL gives
/// NULL; both are "not a member" to the CASE and the sort that use it.
struct InSubqueryOutsideWhere {
    changed: bool,
}

fn in_subquery_as_array(expr: &mut Expr) -> bool {
    let mut changed = false;
    let _ = visit_expressions_mut(expr, |e| {
        let Expr::InSubquery {
            expr: member,
            subquery,
            negated,
        } = e
        else {
            return ControlFlow::<()>::Continue(());
        };
        if subquery.limit_clause.is_some() || subquery.fetch.is_some() {
            return ControlFlow::Continue(());
        }
        let SetExpr::Select(select) = subquery.body.as_ref() else {
            return ControlFlow::Continue(());
        };
        let grouped = is_grouped(select);
        let element = match select.projection.as_slice() {
            [SelectItem::UnnamedExpr(x)] | [SelectItem::ExprWithAlias { expr: x, .. }] => x,
            _ => return ControlFlow::Continue(()),
        };
        if grouped || select.having.is_some() || select.distinct.is_some() {
            return ControlFlow::Continue(());
        }
        let mut select = select.as_ref().clone();
        let Some(aggregated) = parse_expr(&format!("array_agg({element})")) else {
            return ControlFlow::Continue(());
        };
        select.projection = vec![SelectItem::UnnamedExpr(aggregated)];
        let test = format!("coalesce(array_has(({select}), {member}), false)");
        if let Some(new) = parse_expr(&if *negated {
            format!("NOT {test}")
        } else {
            test
        }) {
            *e = new;
            changed = true;
        }
        ControlFlow::Continue(())
    });
    changed
}

impl VisitorMut for InSubqueryOutsideWhere {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let SetExpr::Select(select) = query.body.as_mut() {
            for item in select.projection.iter_mut() {
                if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item
                {
                    self.changed |= in_subquery_as_array(e);
                }
            }
        }
        if let Some(order_by) = query.order_by.as_mut() {
            if let OrderByKind::Expressions(keys) = &mut order_by.kind {
                for key in keys.iter_mut() {
                    self.changed |= in_subquery_as_array(&mut key.expr);
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// `EXISTS (SELECT … WHERE …)` in a select list, which DataFusion cannot plan there (it
/// decorrelates EXISTS only in filters), as `coalesce((SELECT count(*) > 0 … WHERE …), false)`,
/// a correlated aggregate it can (Npgsql's GetColumnSchema, behind Power BI, asks whether
/// each column is part of a primary key or unique index this way).
struct ExistsInSelectList {
    changed: bool,
}

fn exists_as_count(subquery: &Query, negated: bool) -> Option<Expr> {
    if subquery.with.is_some() {
        return None;
    }
    let SetExpr::Select(select) = subquery.body.as_ref() else {
        return None;
    };
    let grouped = is_grouped(select);
    if grouped || select.having.is_some() || select.from.is_empty() {
        return None;
    }
    let mut select = select.as_ref().clone();
    select.distinct = None;
    select.projection = vec![SelectItem::UnnamedExpr(parse_expr("count(*) > 0")?)];
    hoist_correlation_keys(&mut select);
    let test = format!("coalesce(({select}), false)");
    parse_expr(&if negated { format!("NOT {test}") } else { test })
}

/// DataFusion decorrelates a subquery's equality with an outer column only when the inner
/// side is a column. In an EXISTS over one table, `outer = ANY(t.array)` and `outer =
/// t.array[i]` get their inner side computed as a column of a derived table of the same name
/// (`unnest(t.array)` — more rows per match, which EXISTS does not count — or `t.array[i]`).
fn hoist_correlation_keys(select: &mut Select) {
    let [only] = select.from.as_slice() else {
        return;
    };
    let TableFactor::Table {
        name,
        alias,
        args: None,
        ..
    } = &only.relation
    else {
        return;
    };
    if !only.joins.is_empty() {
        return;
    }
    let qualifier = match alias {
        Some(a) => a.name.value.clone(),
        None => match name.0.last() {
            Some(p) => p.to_string(),
            None => return,
        },
    };
    let Some(selection) = select.selection.as_mut() else {
        return;
    };
    let is_column = |e: &Expr| matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_));
    let inner_prefix = format!("{qualifier}.");
    let mut hoisted: Vec<String> = Vec::new();
    let mut unnested = false;
    let mut conjuncts: Vec<&mut Expr> = vec![selection];
    while let Some(conjunct) = conjuncts.pop() {
        match conjunct {
            Expr::BinaryOp {
                op: BinaryOperator::And,
                left,
                right,
            } => {
                conjuncts.push(left);
                conjuncts.push(right);
            }
            Expr::Nested(inner) => conjuncts.push(inner),
            Expr::AnyOp {
                left,
                compare_op: BinaryOperator::Eq,
                right,
                ..
            } if !unnested && is_column(left) => {
                let array = match right.as_ref() {
                    Expr::Nested(a) => a.as_ref(),
                    a => a,
                };
                let inner = match array {
                    Expr::Identifier(_) => true,
                    Expr::CompoundIdentifier(parts) => {
                        parts.len() == 2 && parts[0].value == qualifier
                    }
                    _ => false,
                };
                if inner {
                    let key = format!("__key_{}", hoisted.len() + 1);
                    hoisted.push(format!("unnest({array}) AS {key}"));
                    if let Some(new) = parse_expr(&format!("{qualifier}.{key} = {left}")) {
                        *conjunct = new;
                        unnested = true;
                    }
                }
            }
            Expr::BinaryOp {
                op: BinaryOperator::Eq,
                left,
                right,
            } => {
                let (outer, inner) = if is_column(left) && !is_column(right) {
                    (left, right)
                } else if is_column(right) && !is_column(left) {
                    (right, left)
                } else {
                    continue;
                };
                let text = inner.to_string();
                if text.starts_with(&inner_prefix) {
                    let key = format!("__key_{}", hoisted.len() + 1);
                    hoisted.push(format!("{text} AS {key}"));
                    if let Some(new) = parse_expr(&format!("{qualifier}.{key} = {outer}")) {
                        *conjunct = new;
                    }
                }
            }
            _ => {}
        }
    }
    if hoisted.is_empty() {
        return;
    }
    let sql = format!(
        "SELECT * FROM (SELECT *, {} FROM {}) AS {qualifier}",
        hoisted.join(", "),
        only.relation
    );
    let derived = first_from(&sql);
    if let Some(derived) = derived {
        select.from = vec![derived];
    }
}

impl VisitorMut for ExistsInSelectList {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        let SetExpr::Select(select) = query.body.as_mut() else {
            return ControlFlow::Continue(());
        };
        for item in select.projection.iter_mut() {
            let unnamed = matches!(item, SelectItem::UnnamedExpr(Expr::Exists { .. }));
            let expr = match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
                _ => continue,
            };
            let mut changed = false;
            let _ = visit_expressions_mut(expr, |e| {
                if let Expr::Exists { subquery, negated } = e {
                    if let Some(new) = exists_as_count(subquery, *negated) {
                        *e = new;
                        changed = true;
                    }
                }
                ControlFlow::<()>::Continue(())
            });
            if changed && unnamed {
                // PostgreSQL names the column `exists`.
                *item = SelectItem::ExprWithAlias {
                    expr: expr.clone(),
                    alias: Ident::with_quote('"', "exists"),
                };
            }
            self.changed |= changed;
        }
        ControlFlow::Continue(())
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
            let derived = first_from(&sql).map(|t| t.relation);
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
        // Names inside WITH and FROM are what the rest of the statement refers to.
        if let Some(with) = query.with.as_mut() {
            for cte in with.cte_tables.iter_mut() {
                if let SetExpr::Select(select) = cte.query.body.as_mut() {
                    self.changed |= pg_names_for_aggregates(select);
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Derived { subquery, .. } = factor {
            if let SetExpr::Select(select) = subquery.body.as_mut() {
                self.changed |= pg_names_for_aggregates(select);
            }
        }
        ControlFlow::Continue(())
    }
}

/// PostgreSQL names an unaliased function call's column after the function (`count`,
/// `row_number`), DataFusion after the whole call; catalog queries refer to the former
/// (pgcli's casing query: `COUNT(1)` in a CTE, then `ORDER BY Count`). In CTEs and derived
/// tables, aggregate and window calls get that name as an alias, when no other item of the
/// select list has it.
fn pg_names_for_aggregates(select: &mut Select) -> bool {
    let pg_name = |expr: &Expr| match expr {
        Expr::Function(f)
            if f.over.is_some()
                || f.name.0.last().is_some_and(|p| {
                    AGGREGATES.contains(&p.to_string().to_ascii_lowercase().as_str())
                }) =>
        {
            f.name.0.last().map(|p| p.to_string().to_ascii_lowercase())
        }
        _ => None,
    };
    let names: Vec<Option<String>> = select
        .projection
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(e) => pg_name(e).or_else(|| match e {
                Expr::Identifier(i) => Some(i.value.to_ascii_lowercase()),
                Expr::CompoundIdentifier(parts) => {
                    parts.last().map(|i| i.value.to_ascii_lowercase())
                }
                _ => None,
            }),
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    let mut changed = false;
    for item in select.projection.iter_mut() {
        let SelectItem::UnnamedExpr(expr) = item else {
            continue;
        };
        let Some(name) = pg_name(expr) else {
            continue;
        };
        if names.iter().filter(|n| n.as_deref() == Some(&name)).count() == 1 {
            *item = SelectItem::ExprWithAlias {
                expr: expr.clone(),
                alias: Ident::new(name),
            };
            changed = true;
        }
    }
    changed
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

/// Whether datafusion-postgres replaces `sql` wholesale with an empty stub (its list of client
/// queries DataFusion cannot run, matched token by token, such as psql's row-policy query in
/// `\d`): rewriting it first would re-serialise the text and lose that match. Its one partial
/// replacement (Grafana's search_path expansion, made `''`) is not counted: the rewrites here
/// run that query properly.
fn blacklisted(sql: &str) -> bool {
    static COMPAT: LazyLock<PostgresCompatibilityParser> =
        LazyLock::new(PostgresCompatibilityParser::new);
    match (
        COMPAT.parse(sql),
        Parser::parse_sql(&PostgreSqlDialect {}, sql),
    ) {
        // `parse` also applies its rewrite rules: compare with the same rules applied.
        (Ok(replaced), Ok(plain)) => {
            let stub = |s: &datafusion::sql::sqlparser::ast::Statement| {
                s.to_string().ends_with("WHERE false")
            };
            replaced.iter().any(stub)
                && replaced
                    != plain
                        .into_iter()
                        .map(|s| COMPAT.rewrite(s))
                        .collect::<Vec<_>>()
        }
        _ => false,
    }
}

/// The rewritten statement text, or `None` when nothing needed rewriting (or it does not parse
/// as PostgreSQL; DataFusion then reports the error in its own words).
pub fn rewrite(sql: &str) -> Option<String> {
    let lower = sql.to_ascii_lowercase();
    let catalog_subquery = lower.contains("pg_") && lower.contains("(select");
    let regproc_join = REGPROC_COLUMNS.iter().any(|c| lower.contains(c));
    let catalog_query = lower.contains("pg_catalog") || lower.contains("information_schema");
    let expandarray = lower.contains("_pg_expandarray");
    let array_subquery = lower.contains("array(") || lower.contains("array (");
    let exists = lower.contains("exists");
    let regtype = lower.contains("regtype");
    let split_to_table = lower.contains("regexp_split_to_table");
    let select_list_subquery = lower.contains("(select") || lower.contains("( select");
    // Not when ORDER BY holds a subquery: DataFusion cannot plan one there, while the
    // unrewritten statement still runs (Grafana's table list sorts by search_path membership).
    let subquery_in_order_by = lower
        .rfind("order by")
        .is_some_and(|at| lower[at..].contains("select"));
    let functions_in_from = (lower.contains("information_schema") || lower.contains("pg_"))
        && (lower.contains("generate_series")
            || lower.contains("unnest")
            || SCALARS_IN_FROM.iter().any(|f| lower.contains(f)));
    let in_subquery =
        (lower.contains(" in (") || lower.contains(" in(")) && lower.matches("select").count() > 1;
    if !lower.contains("generate_subscripts")
        && !lower.contains("escape")
        && !lower.contains("regproc")
        && !catalog_subquery
        && !regproc_join
        && !functions_in_from
        && !catalog_query
        && !expandarray
        && !array_subquery
        && !exists
        && !regtype
        && !split_to_table
        && !in_subquery
        && !select_list_subquery
    {
        return None;
    }
    if blacklisted(sql) {
        return None;
    }
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    let mut changed = false;
    let mut in_converted = false;
    if in_subquery {
        let mut sets = InSubqueryOutsideWhere { changed: false };
        let _ = statements.visit(&mut sets);
        in_converted = sets.changed;
        changed = sets.changed;
    }
    // With the ORDER BY's IN-subquery converted, Grafana's table list plans; unconverted, its
    // original text still matches datafusion-postgres' replacement, which rewriting would lose.
    let functions_in_from = functions_in_from && (!subquery_in_order_by || in_converted);
    if functions_in_from {
        let mut from = FromFunctions { changed: false };
        let _ = statements.visit(&mut from);
        changed |= from.changed;
    }
    if select_list_subquery {
        let mut kept = KeepSelectListSubqueries { changed: false };
        let _ = statements.visit(&mut kept);
        changed |= kept.changed;
    }
    if exists {
        let mut select_list = ExistsInSelectList { changed: false };
        let _ = statements.visit(&mut select_list);
        changed |= select_list.changed;
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
            // A set-returning function DataFusion lacks, as the array function it gets.
            Expr::Function(f)
                if split_to_table
                    && f.name.0.last().is_some_and(|p| {
                        p.to_string().eq_ignore_ascii_case("regexp_split_to_table")
                    }) =>
            {
                if let Some(args) = function_args(&f.args) {
                    if let Some(new) = parse_expr(&format!(
                        "unnest(regexp_split_to_array({}))",
                        args.join(", ")
                    )) {
                        *expr = new;
                        changed = true;
                    }
                }
            }
            // `oids::regtype[]` (pgcli's function list): DataFusion has no regtype.
            Expr::Cast {
                expr: inner,
                data_type: DataType::Array(ArrayElemTypeDef::SquareBracket(element, None)),
                ..
            } if is_regtype(element) => {
                if let Some(new) = parse_expr(&format!("_pg_regtype_names({inner})")) {
                    *expr = new;
                    changed = true;
                }
            }
            // `oid::regtype::text` is the type's name; the emulation's regtype is an integer.
            Expr::Cast {
                expr: inner,
                data_type: DataType::Text | DataType::Varchar(_),
                ..
            } if matches!(inner.as_ref(), Expr::Cast { expr: oid, data_type, .. }
                    if is_regtype(data_type) && !matches!(oid.as_ref(), Expr::Value(_))) =>
            {
                if let Expr::Cast { expr: oid, .. } = inner.as_ref() {
                    if let Some(new) = parse_expr(&format!("format_type({oid}, NULL)")) {
                        *expr = new;
                        changed = true;
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
            Expr::Function(f) if array_subquery => {
                if let Some(new) = array_of_subquery(f) {
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
        assert_eq!(
            rewrite("SELECT (SELECT max(total) FROM orders WHERE customer_id = 1)").as_deref(),
            Some("SELECT ((SELECT max(total) FROM orders WHERE customer_id = 1))")
        );
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
    async fn array_of_a_subquery() {
        assert_eq!(
            rows("SELECT ARRAY(SELECT v FROM (VALUES (3), (1), (2)) t(v) ORDER BY 1) AS a").await,
            ["[1, 2, 3]"]
        );
        // Over no rows: the empty array, as PostgreSQL.
        assert_eq!(
            rows("SELECT cardinality(ARRAY(SELECT v FROM (VALUES (1)) t(v) WHERE v > 5)) AS n")
                .await,
            ["0"]
        );
        let correlated = "WITH keys(id) AS (VALUES (1), (2), (3)), vals(id, name) AS (VALUES (1, 'a'), (1, 'b'), (2, 'c')) \
                          SELECT keys.id, array_to_string(ARRAY(SELECT vals.name FROM vals WHERE vals.id = keys.id ORDER BY vals.name DESC), ',') AS names \
                          FROM keys ORDER BY keys.id";
        assert_eq!(rows(correlated).await, ["1  | b,a", "2  | c", "3"]);
        // psql's `\d+`: the TOAST table's options, always none here.
        assert_eq!(
            rewrite("SELECT array_to_string(c.reloptions || array(select 'toast.' || x from pg_catalog.unnest(tc.reloptions) x), ', ') FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid)").as_deref(),
            Some("SELECT array_to_string(c.reloptions || CAST(make_array() AS TEXT[]), ', ') FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid)")
        );
        // Queries datafusion-postgres replaces wholesale (psql's `\d` row policies) stay as sent.
        let policies = "SELECT pol.polname, pol.polpermissive,\n  CASE WHEN pol.polroles = '{0}' THEN NULL ELSE pg_catalog.array_to_string(array(select rolname from pg_catalog.pg_roles where oid = any (pol.polroles) order by 1),',') END,\n  pg_catalog.pg_get_expr(pol.polqual, pol.polrelid),\n  pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid),\n  CASE pol.polcmd\n    WHEN 'r' THEN 'SELECT'\n    WHEN 'a' THEN 'INSERT'\n    WHEN 'w' THEN 'UPDATE'\n    WHEN 'd' THEN 'DELETE'\n    END AS cmd\nFROM pg_catalog.pg_policy pol\nWHERE pol.polrelid = '16390' ORDER BY 1;";
        assert!(blacklisted(policies));
        assert!(rewrite(policies).is_none());
    }

    #[tokio::test]
    async fn exists_in_a_select_list() {
        let sql = "WITH keys(id) AS (VALUES (1), (2), (3)), arrays(id, members) AS (VALUES (1, [10, 20]), (3, [30])) \
                   SELECT k.id, EXISTS (SELECT * FROM arrays a WHERE a.id = k.id AND 20 = ANY (a.members)) AS has_20, \
                   NOT EXISTS (SELECT 1 FROM arrays a WHERE a.id = k.id) AS none \
                   FROM keys k ORDER BY k.id";
        assert_eq!(
            rows(sql).await,
            [
                "1  | true   | false",
                "2  | false  | true",
                "3  | false  | false"
            ]
        );
        // An outer column equal to an array element: computed in a derived table of the
        // same name, where DataFusion can join on it.
        assert_eq!(
            rewrite("SELECT EXISTS (SELECT * FROM pg_index WHERE pg_index.indrelid = c.oid AND a.attnum = ANY (indkey)) FROM pg_class c, pg_attribute a").as_deref(),
            Some("SELECT coalesce((SELECT count(*) > 0 FROM (SELECT *, unnest(indkey) AS __key_1 FROM pg_index) AS pg_index WHERE pg_index.indrelid = c.oid AND pg_index.__key_1 = a.attnum), false) AS \"exists\" FROM pg_class c, pg_attribute a")
        );
        let members = "WITH keys(id, m) AS (VALUES (1, 10), (2, 20), (3, 40)), arrays(id, members) AS (VALUES (1, [10, 20]), (2, [10, 20]), (3, [30])) \
                   SELECT k.id, EXISTS (SELECT * FROM arrays WHERE arrays.id = k.id AND k.m = ANY (arrays.members)) AS member \
                   FROM keys k ORDER BY k.id";
        assert_eq!(
            rows(members).await,
            ["1  | true", "2  | true", "3  | false"]
        );
    }

    #[tokio::test]
    async fn in_subquery_in_select_list_and_order_by() {
        let sql = "SELECT x, CASE WHEN x IN (SELECT y FROM (VALUES (1), (3)) t(y)) THEN 'in' ELSE 'out' END AS m, \
                   x NOT IN (SELECT y FROM (VALUES (1), (3)) t(y)) AS outside \
                   FROM (VALUES (1), (2), (3)) s(x) \
                   ORDER BY CASE WHEN x IN (SELECT y FROM (VALUES (1), (3)) t(y)) THEN 0 ELSE 1 END, x DESC";
        assert_eq!(
            rows(sql).await,
            ["3 | in  | false", "1 | in  | false", "2 | out | true"]
        );
    }

    #[test]
    fn select_list_subqueries_over_user_tables_are_kept() {
        assert_eq!(
            rewrite("SELECT (SELECT count(*) FROM orders o WHERE o.customer_id = c.customer_id) AS n FROM customers c").as_deref(),
            Some("SELECT ((SELECT count(*) FROM orders o WHERE o.customer_id = c.customer_id)) AS n FROM customers c")
        );
        assert!(rewrite("SELECT (SELECT 1)").is_some_and(|s| s == "SELECT ((SELECT 1))"));
        // Catalog lookups are left to datafusion-postgres (which may make them NULL).
        assert!(rewrite("SELECT (SELECT json_build_object('a', 1) FROM pg_catalog.pg_type t WHERE t.oid = a.atttypid) AS x FROM pg_catalog.pg_attribute a")
            .is_none_or(|s| !s.contains("((SELECT")));
    }

    #[test]
    fn postgresql_names_for_aggregates_in_ctes() {
        assert_eq!(
            rewrite("WITH w AS (SELECT proname, COUNT(1) FROM pg_catalog.pg_proc GROUP BY proname) SELECT proname FROM w WHERE count > 1").as_deref(),
            Some("WITH w AS (SELECT proname, COUNT(1) AS count FROM pg_catalog.pg_proc GROUP BY proname) SELECT proname FROM w WHERE count > 1")
        );
        // Not when another column has the name, and not in the top-level select list.
        assert!(rewrite(
            "WITH w AS (SELECT count(1), 2 AS count FROM pg_catalog.pg_proc) SELECT 1 FROM w"
        )
        .is_none());
        assert!(rewrite("SELECT count(*) FROM pg_catalog.pg_proc").is_none());
        assert_eq!(
            rewrite("SELECT w FROM (SELECT regexp_split_to_table(prosrc, '\\W+') AS w FROM pg_catalog.pg_proc) t").as_deref(),
            Some("SELECT w FROM (SELECT unnest(regexp_split_to_array(prosrc, '\\W+')) AS w FROM pg_catalog.pg_proc) t")
        );
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
