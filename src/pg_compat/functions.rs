//! Sightline's analytic functions in the PostgreSQL catalog: rows in `pg_proc` (schema `public`)
//! and `pg_description`, plus the functions psql's `\df` calls (`pg_function_is_visible`,
//! `pg_get_function_arguments`, `pg_get_function_result`), so `\df` lists them with their
//! arguments and `\df+` / `obj_description` show what they do.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{new_null_array, Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type, SchemaRef};
use datafusion::catalog::{SchemaProvider, Session, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::error::Result;
use datafusion::logical_expr::{create_udf, ColumnarValue, Expr, ScalarUDF, TableType, Volatility};
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::{collect, ExecutionPlan};
use datafusion::prelude::SessionContext;

/// First OID of Sightline's functions (far above the ones the catalog hands out to tables).
const FIRST_OID: i32 = 900_000;
/// pg_proc's own OID, the `classoid` of a function's pg_description row.
const PG_PROC_OID: i32 = 1255;

/// One analytic function as the catalog shows it.
#[derive(Debug, Clone)]
pub struct Function {
    pub oid: i32,
    pub name: String,
    /// 'f' scalar, 'a' aggregate, 'w' window (table functions show as 'f' returning SETOF record).
    pub kind: &'static str,
    pub arguments: String,
    pub result: String,
    pub description: String,
}

/// The argument list of a documented call such as `f(a, b [, c]) — e.g. …`.
fn arguments_of(syntax: &str) -> String {
    let Some(open) = syntax.find('(') else {
        return String::new();
    };
    let mut depth = 0;
    for (i, c) in syntax[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return syntax[open + 1..open + i].trim().to_string();
                }
            }
            _ => {}
        }
    }
    String::new()
}

/// Every Sightline function, in a stable order with stable OIDs.
pub fn catalog_functions() -> Vec<Function> {
    let mut out: Vec<(String, &'static str, String, String, String)> = vec![];
    for f in sightline_udfs::scalar_functions() {
        if let Some(doc) = f.documentation() {
            out.push((
                f.name().to_string(),
                "f",
                doc.syntax_example.clone(),
                "scalar".into(),
                doc.description.clone(),
            ));
        }
    }
    for f in sightline_udfs::aggregate_functions() {
        if let Some(doc) = f.documentation() {
            out.push((
                f.name().to_string(),
                "a",
                doc.syntax_example.clone(),
                "aggregate".into(),
                doc.description.clone(),
            ));
        }
    }
    for f in sightline_udfs::window_functions() {
        if let Some(doc) = f.documentation() {
            out.push((
                f.name().to_string(),
                "w",
                doc.syntax_example.clone(),
                "window".into(),
                doc.description.clone(),
            ));
        }
    }
    for (name, syntax, description) in sightline_udfs::table_functions() {
        out.push((
            name.to_string(),
            "f",
            syntax,
            "SETOF record".into(),
            description,
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter()
        .enumerate()
        .map(|(i, (name, kind, syntax, result, description))| Function {
            oid: FIRST_OID + i as i32,
            name,
            kind,
            arguments: arguments_of(&syntax),
            result: result_of(&description, &result),
            description,
        })
        .collect()
}

/// What a function returns, from the start of its description ("Aggregate: BG/NBD parameters
/// {…}" → "{…}") when it says, else its kind.
fn result_of(description: &str, kind: &str) -> String {
    if let (Some(open), Some(close)) = (description.find('{'), description.find('}')) {
        if open < close && open < 200 {
            return format!("record {}", &description[open..=close]);
        }
    }
    kind.to_string()
}

/// A catalog table with Sightline's rows appended (same schema). The rows are built when the
/// table is scanned, not when it is looked up: the catalog looks tables up while it holds its
/// OID lock, and the rows need the `public` schema's OID from `pg_namespace`.
#[derive(Debug)]
struct Extended {
    inner: Arc<dyn TableProvider>,
    which: &'static str,
    pg_catalog: Arc<dyn SchemaProvider>,
    functions: Arc<Vec<Function>>,
}

#[async_trait]
impl TableProvider for Extended {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let base = self.inner.scan(state, projection, &[], None).await?;
        let rows = extra_rows(
            self.which,
            &self.schema(),
            &self.functions,
            &self.pg_catalog,
        )
        .await?;
        let extra =
            MemorySourceConfig::try_new_exec(&[vec![rows]], self.schema(), projection.cloned())?;
        UnionExec::try_new(vec![base, extra])
    }
}

/// Sightline's rows of `pg_proc` or `pg_description`.
async fn extra_rows(
    which: &str,
    schema: &SchemaRef,
    functions: &[Function],
    pg_catalog: &Arc<dyn SchemaProvider>,
) -> Result<RecordBatch> {
    let text = |f: &dyn Fn(&Function) -> String| -> ArrayRef {
        Arc::new(datafusion::arrow::array::StringArray::from_iter_values(
            functions.iter().map(f),
        ))
    };
    let int = |f: &dyn Fn(&Function) -> i32| -> ArrayRef {
        Arc::new(datafusion::arrow::array::Int32Array::from_iter_values(
            functions.iter().map(f),
        ))
    };
    let values: HashMap<&str, ArrayRef> = if which == "pg_proc" {
        let namespace = public_namespace_oid(pg_catalog.as_ref())
            .await
            .unwrap_or(2200);
        HashMap::from([
            ("oid", int(&|f| f.oid)),
            ("proname", text(&|f| f.name.clone())),
            ("pronamespace", int(&|_| namespace)),
            ("proowner", int(&|_| 10)),
            ("prolang", int(&|_| 12)),
            ("prokind", text(&|f| f.kind.to_string())),
            ("provolatile", text(&|_| "i".to_string())),
            ("proparallel", text(&|_| "s".to_string())),
            ("prosrc", text(&|f| f.name.clone())),
        ])
    } else {
        HashMap::from([
            ("objoid", int(&|f| f.oid)),
            ("classoid", int(&|_| PG_PROC_OID)),
            ("objsubid", int(&|_| 0)),
            ("description", text(&|f| f.description.clone())),
        ])
    };
    batch(schema, functions.len(), &values)
}

/// Builds `schema`'s batch with `values` for the named columns and NULL elsewhere.
fn batch(schema: &SchemaRef, rows: usize, values: &HashMap<&str, ArrayRef>) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| match values.get(f.name().as_str()) {
            Some(a) => Ok(cast(a, f.data_type())?),
            // Columns the catalog declares NOT NULL get the type's zero / empty value.
            None if !f.is_nullable() => {
                ScalarValue::new_default(f.data_type())?.to_array_of_size(rows)
            }
            None => Ok(new_null_array(f.data_type(), rows)),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

/// `pg_catalog` with Sightline's functions added to `pg_proc` and `pg_description`.
#[derive(Debug)]
struct PgCatalog {
    inner: Arc<dyn SchemaProvider>,
    functions: Arc<Vec<Function>>,
}

#[async_trait]
impl SchemaProvider for PgCatalog {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.inner.table_names();
        names.push("pg_user".to_string());
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if name == "pg_user" {
            return Ok(Some(Arc::new(pg_user_table()?)));
        }
        let Some(inner) = self.inner.table(name).await? else {
            return Ok(None);
        };
        let which = match name {
            "pg_settings" => return Ok(Some(Arc::new(super::settings::pg_settings_table()?))),
            // Parquet tables have no indexes or constraints; the emulation's rows are
            // PostgreSQL's own system-catalog ones, with array columns stored as text, which
            // breaks the clients' `unnest(indkey)` / `conkey[1]`. Empty, with array types.
            "pg_class" => {
                return Ok(Some(with_null_text_arrays(
                    inner,
                    &["relacl", "reloptions"],
                )?))
            }
            "pg_roles" => return Ok(Some(Arc::new(pg_roles_table(inner.schema())?))),
            "pg_index" | "pg_constraint" => {
                return Ok(Some(Arc::new(empty_with_arrays(inner.schema())?)))
            }
            "pg_proc" => "pg_proc",
            "pg_description" => "pg_description",
            _ => return Ok(Some(inner)),
        };
        let extended = Arc::new(Extended {
            inner,
            which,
            pg_catalog: Arc::clone(&self.inner),
            functions: Arc::clone(&self.functions),
        });
        if which == "pg_proc" {
            // psql's `\df+` reads array_to_string(proacl, …); pgcli unnests proargnames.
            return Ok(Some(with_text_lists(
                with_null_text_arrays(extended, &["proacl"])?,
                &["proargnames", "proargmodes"],
            )?));
        }
        Ok(Some(extended))
    }

    fn table_exist(&self, name: &str) -> bool {
        name == "pg_user" || self.inner.table_exist(name)
    }
}

/// `pg_catalog.pg_roles` in the emulation's columns, with the one role `pg_user` has (psql's
/// `\du` and its role completion read it).
fn pg_roles_table(schema: SchemaRef) -> Result<datafusion::datasource::MemTable> {
    use datafusion::arrow::compute::cast;
    use datafusion::common::ScalarValue;
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let value = match f.name().as_str() {
                "rolname" => ScalarValue::Utf8(Some("postgres".into())),
                "oid" => ScalarValue::Int32(Some(10)),
                "rolinherit" | "rolcanlogin" => ScalarValue::Boolean(Some(true)),
                "rolsuper" | "rolcreaterole" | "rolcreatedb" | "rolreplication"
                | "rolbypassrls" => ScalarValue::Boolean(Some(false)),
                "rolconnlimit" => ScalarValue::Int32(Some(-1)),
                "rolpassword" => ScalarValue::Utf8(Some("********".into())),
                _ => return Ok(new_null_array(f.data_type(), 1)),
            };
            Ok(cast(&value.to_array()?, f.data_type())?)
        })
        .collect::<Result<Vec<_>>>()?;
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
    datafusion::datasource::MemTable::try_new(schema, vec![vec![batch]])
}

/// `pg_catalog.pg_user` (Npgsql's GetSchema and pgAdmin join it to find owners): the one role
/// that owns every object in the emulated catalog (oid 10, what `pg_get_userbyid` names).
/// Sightline's login users are not roles in the catalog.
fn pg_user_table() -> Result<datafusion::datasource::MemTable> {
    use datafusion::arrow::array::{BooleanArray, Int32Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    let text_list = DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)));
    let schema = Arc::new(Schema::new(vec![
        Field::new("usename", DataType::Utf8, false),
        Field::new("usesysid", DataType::Int32, false),
        Field::new("usecreatedb", DataType::Boolean, false),
        Field::new("usesuper", DataType::Boolean, false),
        Field::new("userepl", DataType::Boolean, false),
        Field::new("usebypassrls", DataType::Boolean, false),
        Field::new("passwd", DataType::Utf8, true),
        Field::new(
            "valuntil",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("useconfig", text_list.clone(), true),
    ]));
    let no = || Arc::new(BooleanArray::from(vec![false])) as ArrayRef;
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(StringArray::from(vec!["postgres"])),
            Arc::new(Int32Array::from(vec![10])),
            no(),
            no(),
            no(),
            no(),
            Arc::new(StringArray::from(vec!["********"])),
            new_null_array(schema.field(7).data_type(), 1),
            new_null_array(&text_list, 1),
        ],
    )?;
    datafusion::datasource::MemTable::try_new(schema, vec![vec![batch]])
}

/// `table` with the named `text[]` columns all NULL: added where the emulation lacks them (such
/// as `pg_class.reloptions`, which SQLAlchemy's index reflection reads), retyped where it has
/// them as text (`pg_proc.proacl`).
fn with_null_text_arrays(
    table: Arc<dyn TableProvider>,
    names: &[&str],
) -> Result<Arc<dyn TableProvider>> {
    use datafusion::arrow::datatypes::{DataType, Field};
    use datafusion::catalog::view::ViewTable;
    use datafusion::common::ScalarValue;
    use datafusion::datasource::provider_as_source;
    use datafusion::logical_expr::{col, lit, LogicalPlanBuilder};
    let existing: Vec<String> = table
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let null_list = ScalarValue::try_from(&DataType::List(Arc::new(Field::new_list_field(
        DataType::Utf8,
        true,
    ))))?;
    // A text column the emulation has under one of these names becomes the NULL array too
    // (pg_proc.proacl holds text; NULL is PostgreSQL's "default privileges").
    let mut columns: Vec<datafusion::logical_expr::Expr> = existing
        .iter()
        .map(|n| match names.contains(&n.as_str()) {
            true => lit(null_list.clone()).alias(n),
            false => col(datafusion::common::Column::new_unqualified(n)),
        })
        .collect();
    for name in names {
        if !existing.iter().any(|e| e == name) {
            columns.push(lit(null_list.clone()).alias(*name));
        }
    }
    let plan = LogicalPlanBuilder::scan("pg_catalog_table", provider_as_source(table), None)?
        .project(columns)?
        .build()?;
    Ok(Arc::new(ViewTable::new(plan, None)))
}

/// `table` with the named text columns, which the emulation fills with list literals such as
/// `['acl', 'grantor']`, as `text[]` (`{acl,grantor}`), so that `unnest(proargnames)` works.
/// The elements are identifiers and one-letter modes: no commas or quotes of their own.
fn with_text_lists(
    table: Arc<dyn TableProvider>,
    names: &[&str],
) -> Result<Arc<dyn TableProvider>> {
    use datafusion::catalog::view::ViewTable;
    use datafusion::datasource::provider_as_source;
    use datafusion::functions::expr_fn::regexp_replace;
    use datafusion::functions_nested::expr_fn::string_to_array;
    use datafusion::logical_expr::{col, lit, LogicalPlanBuilder};
    let columns: Vec<datafusion::logical_expr::Expr> = table
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let column = col(datafusion::common::Column::new_unqualified(f.name()));
            if names.contains(&f.name().as_str()) && f.data_type() == &DataType::Utf8 {
                let bare = regexp_replace(column, lit(r"[\[\]' ]"), lit(""), Some(lit("g")));
                string_to_array(
                    bare,
                    lit(","),
                    lit(datafusion::common::ScalarValue::Utf8(None)),
                )
                .alias(f.name())
            } else {
                column
            }
        })
        .collect();
    let plan = LogicalPlanBuilder::scan("pg_catalog_table", provider_as_source(table), None)?
        .project(columns)?
        .build()?;
    Ok(Arc::new(ViewTable::new(plan, None)))
}

/// An empty table with `schema`, its PostgreSQL array / vector columns typed as Arrow lists.
fn empty_with_arrays(schema: SchemaRef) -> Result<datafusion::datasource::MemTable> {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let element = match f.name().as_str() {
                "indkey" | "indoption" | "conkey" | "confkey" | "confdelsetcols" => {
                    Some(DataType::Int16)
                }
                "indcollation" | "indclass" | "conpfeqop" | "conppeqop" | "conffeqop"
                | "conexclop" => Some(DataType::Int32),
                _ => None,
            };
            match element {
                Some(t) => Field::new(
                    f.name(),
                    DataType::List(Arc::new(Field::new_list_field(t, true))),
                    true,
                ),
                None => f.as_ref().clone(),
            }
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    datafusion::datasource::MemTable::try_new(schema, vec![vec![]])
}

/// The OID `pg_namespace` gives the `public` schema.
async fn public_namespace_oid(pg_catalog: &dyn SchemaProvider) -> Option<i32> {
    let table = pg_catalog.table("pg_namespace").await.ok()??;
    let ctx = SessionContext::new();
    let plan = table.scan(&ctx.state(), None, &[], None).await.ok()?;
    let batches = collect(plan, ctx.task_ctx()).await.ok()?;
    for b in batches {
        let (oid, name) = (b.column_by_name("oid")?, b.column_by_name("nspname")?);
        let oid = cast(oid, &DataType::Int32).ok()?;
        let name = cast(name, &DataType::Utf8).ok()?;
        let (oid, name) = (oid.as_primitive::<Int32Type>(), name.as_string::<i32>());
        for i in 0..b.num_rows() {
            if name.is_valid(i) && name.value(i) == "public" {
                return Some(oid.value(i));
            }
        }
    }
    None
}

fn lookup_udf(
    name: &str,
    functions: Arc<Vec<Function>>,
    field: fn(&Function) -> Option<String>,
) -> ScalarUDF {
    lookup_udf_with(name, vec![DataType::Int64], functions, field)
}

/// A function of an OID (and ignored further arguments) answering from the function list.
fn lookup_udf_with(
    name: &str,
    inputs: Vec<DataType>,
    functions: Arc<Vec<Function>>,
    field: fn(&Function) -> Option<String>,
) -> ScalarUDF {
    let by_oid: Arc<HashMap<i64, Function>> = Arc::new(
        functions
            .iter()
            .map(|f| (i64::from(f.oid), f.clone()))
            .collect(),
    );
    create_udf(
        name,
        inputs,
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |args: &[ColumnarValue]| {
            let get = |oid: Option<i64>| oid.and_then(|o| by_oid.get(&o)).and_then(field);
            match &args[0] {
                ColumnarValue::Scalar(v) => {
                    let oid = match v.cast_to(&DataType::Int64)? {
                        ScalarValue::Int64(o) => o,
                        _ => None,
                    };
                    Ok(ColumnarValue::Scalar(ScalarValue::Utf8(get(oid))))
                }
                ColumnarValue::Array(a) => {
                    let a = cast(a, &DataType::Int64)?;
                    let a = a.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                    let out: datafusion::arrow::array::StringArray = a.iter().map(get).collect();
                    Ok(ColumnarValue::Array(Arc::new(out)))
                }
            }
        }),
    )
}

/// Registers the catalog rows and the helper functions.
pub fn register(ctx: &SessionContext, catalog: &str) -> Result<()> {
    let functions = Arc::new(catalog_functions());
    if let Some(cat) = ctx.catalog(catalog) {
        if let Some(inner) = cat.schema("pg_catalog") {
            cat.register_schema(
                "pg_catalog",
                Arc::new(PgCatalog {
                    inner,
                    functions: Arc::clone(&functions),
                }),
            )?;
        }
    }
    ctx.register_udf(lookup_udf(
        "pg_get_function_arguments",
        Arc::clone(&functions),
        |f| Some(f.arguments.clone()),
    ));
    ctx.register_udf(lookup_udf(
        "pg_get_function_result",
        Arc::clone(&functions),
        |f| Some(f.result.clone()),
    ));
    // \df+ asks for a SQL body; Sightline's functions are built in, so there is none.
    ctx.register_udf(lookup_udf(
        "pg_get_function_sqlbody",
        Arc::clone(&functions),
        |_| None,
    ));
    // obj_description(oid, 'pg_proc'): what \df+ shows as Description.
    ctx.register_udf(lookup_udf_with(
        "obj_description",
        vec![DataType::Int64, DataType::Utf8],
        Arc::clone(&functions),
        |f| Some(f.description.clone()),
    ));
    ctx.register_udf(create_udf(
        "pg_function_is_visible",
        vec![DataType::Int64],
        DataType::Boolean,
        Volatility::Stable,
        Arc::new(|args: &[ColumnarValue]| match &args[0] {
            ColumnarValue::Scalar(v) => Ok(ColumnarValue::Scalar(ScalarValue::Boolean(
                (!v.is_null()).then_some(true),
            ))),
            ColumnarValue::Array(a) => Ok(ColumnarValue::Array(Arc::new(
                (0..a.len())
                    .map(|i| a.is_valid(i).then_some(true))
                    .collect::<datafusion::arrow::array::BooleanArray>(),
            ))),
        }),
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_come_from_the_documented_call() {
        assert_eq!(
            arguments_of(
                "bgnbd_fit(frequency, recency, t [, penalizer]) — e.g. SELECT bgnbd_fit(a(b), c)"
            ),
            "frequency, recency, t [, penalizer]"
        );
        let all = catalog_functions();
        assert!(all
            .iter()
            .any(|f| f.name == "window_funnel" && f.kind == "a"));
        assert!(all.iter().any(|f| f.name == "forecast_table"));
        assert!(all.iter().all(|f| !f.description.is_empty()));
    }
}
