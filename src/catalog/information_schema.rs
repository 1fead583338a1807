//! PostgreSQL's `information_schema`, as BI tools and drivers read it.
//!
//! DataFusion's own `information_schema` has the SQL-standard tables but not PostgreSQL's
//! columns (`udt_name`, `udt_schema`, `is_updatable`, `check_option`, …), and reports
//! `data_type` as Arrow type names (`Utf8View`, `Decimal128(15, 2)`). Npgsql's `GetSchema`,
//! Grafana's column lists and hand-written catalog queries need PostgreSQL's. So the session
//! turns DataFusion's off and serves this schema instead: `tables`, `columns`, `views` and
//! `schemata` are built here with PostgreSQL's column lists, types named as PostgreSQL names
//! them (through arrow-pg's Arrow→PostgreSQL mapping, the one the wire uses), and the other
//! tables (`df_settings`, which `SHOW` reads; `routines`; `parameters`) come from DataFusion's.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::catalog::information_schema::{InformationSchemaProvider, INFORMATION_SCHEMA};
use datafusion::catalog::{CatalogProviderList, SchemaProvider, TableFunction, TableProvider};
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::TableType;
use datafusion_postgres::arrow_pg::datatypes::into_pg_type;
use tokio_postgres::types::Kind;

/// The tables built here; the rest of DataFusion's are served as they are.
const OURS: [&str; 4] = ["tables", "columns", "views", "schemata"];

#[derive(Debug)]
pub struct PgInformationSchema {
    /// Weak: the catalog list holds this schema.
    catalogs: Weak<dyn CatalogProviderList>,
    table_functions: HashMap<String, Arc<TableFunction>>,
}

impl PgInformationSchema {
    pub fn new(
        catalogs: &Arc<dyn CatalogProviderList>,
        table_functions: HashMap<String, Arc<TableFunction>>,
    ) -> Self {
        PgInformationSchema {
            catalogs: Arc::downgrade(catalogs),
            table_functions,
        }
    }

    fn catalogs(&self) -> Result<Arc<dyn CatalogProviderList>> {
        self.catalogs
            .upgrade()
            .ok_or_else(|| DataFusionError::Internal("the session is gone".into()))
    }

    fn datafusions(&self) -> Result<InformationSchemaProvider> {
        Ok(InformationSchemaProvider::new(self.catalogs()?)
            .with_table_functions(self.table_functions.clone()))
    }

    /// Every (catalog, schema, table name, provider) outside information_schema.
    async fn relations(&self) -> Result<Vec<(String, String, String, Arc<dyn TableProvider>)>> {
        let catalogs = self.catalogs()?;
        let mut out = Vec::new();
        for catalog_name in catalogs.catalog_names() {
            let Some(catalog) = catalogs.catalog(&catalog_name) else {
                continue;
            };
            for schema_name in catalog.schema_names() {
                if schema_name == INFORMATION_SCHEMA {
                    continue;
                }
                let Some(schema) = catalog.schema(&schema_name) else {
                    continue;
                };
                for table_name in schema.table_names() {
                    if let Some(table) = schema.table(&table_name).await? {
                        out.push((catalog_name.clone(), schema_name.clone(), table_name, table));
                    }
                }
            }
        }
        Ok(out)
    }

    async fn tables(&self) -> Result<Table> {
        let mut t = Table::new(&[
            "table_catalog",
            "table_schema",
            "table_name",
            "table_type",
            "self_referencing_column_name",
            "reference_generation",
            "user_defined_type_catalog",
            "user_defined_type_schema",
            "user_defined_type_name",
            "is_insertable_into",
            "is_typed",
            "commit_action",
        ]);
        // Read-only relations: not insertable, not typed, no self-referencing column.
        let row = |catalog: &str, schema: &str, name: &str, kind: &str| {
            let mut cells = vec![text(catalog), text(schema), text(name), text(kind)];
            cells.extend((0..5).map(|_| Cell::Text(None)));
            cells.extend([text("NO"), text("NO"), Cell::Text(None)]);
            cells
        };
        for (catalog, schema, name, table) in &self.relations().await? {
            let kind = match table.table_type() {
                TableType::Base => "BASE TABLE",
                TableType::View => "VIEW",
                TableType::Temporary => "LOCAL TEMPORARY",
            };
            t.row(row(catalog, schema, name, kind));
        }
        for catalog in self.catalogs()?.catalog_names() {
            for name in self.table_names() {
                t.row(row(&catalog, INFORMATION_SCHEMA, &name, "VIEW"));
            }
        }
        Ok(t)
    }

    async fn views(&self) -> Result<Table> {
        let mut t = Table::new(&[
            "table_catalog",
            "table_schema",
            "table_name",
            "view_definition",
            "check_option",
            "is_updatable",
            "is_insertable_into",
            "is_trigger_updatable",
            "is_trigger_deletable",
            "is_trigger_insertable_into",
        ]);
        for (catalog, schema, name, table) in self.relations().await? {
            if table.table_type() != TableType::View {
                continue;
            }
            let mut row = vec![
                text(&catalog),
                text(&schema),
                text(&name),
                Cell::Text(table.get_table_definition().map(str::to_string)),
                text("NONE"),
            ];
            row.extend((0..5).map(|_| text("NO")));
            t.row(row);
        }
        Ok(t)
    }

    async fn columns(&self) -> Result<Table> {
        let mut t = Table::with_types(&COLUMNS);
        for (catalog, schema, name, table) in self.relations().await? {
            for (i, field) in table.schema().fields().iter().enumerate() {
                let position = i as i32 + 1;
                let ty = describe(field.data_type());
                let values: HashMap<&str, Cell> = HashMap::from([
                    ("table_catalog", text(&catalog)),
                    ("table_schema", text(&schema)),
                    ("table_name", text(&name)),
                    ("column_name", text(field.name())),
                    ("ordinal_position", Cell::Int(Some(position))),
                    (
                        "is_nullable",
                        text(if field.is_nullable() { "YES" } else { "NO" }),
                    ),
                    ("data_type", text(&ty.data_type)),
                    ("numeric_precision", Cell::Int(ty.numeric_precision)),
                    ("numeric_precision_radix", Cell::Int(ty.numeric_radix)),
                    ("numeric_scale", Cell::Int(ty.numeric_scale)),
                    ("datetime_precision", Cell::Int(ty.datetime_precision)),
                    ("udt_catalog", text(&catalog)),
                    ("udt_schema", text("pg_catalog")),
                    ("udt_name", text(&ty.udt_name)),
                    ("dtd_identifier", text(&position.to_string())),
                    ("is_self_referencing", text("NO")),
                    ("is_identity", text("NO")),
                    ("identity_cycle", text("NO")),
                    ("is_generated", text("NEVER")),
                    // Parquet tables are read-only.
                    ("is_updatable", text("NO")),
                ]);
                t.row(
                    COLUMNS
                        .iter()
                        .map(|(column, int)| match values.get(column) {
                            Some(cell) => cell.clone(),
                            None if *int => Cell::Int(None),
                            None => Cell::Text(None),
                        })
                        .collect(),
                );
            }
        }
        Ok(t)
    }

    fn schemata(&self) -> Result<Table> {
        let mut t = Table::new(&[
            "catalog_name",
            "schema_name",
            "schema_owner",
            "default_character_set_catalog",
            "default_character_set_schema",
            "default_character_set_name",
            "sql_path",
        ]);
        let catalogs = self.catalogs()?;
        for catalog_name in catalogs.catalog_names() {
            let Some(catalog) = catalogs.catalog(&catalog_name) else {
                continue;
            };
            for schema in catalog.schema_names() {
                t.row(vec![
                    text(&catalog_name),
                    text(&schema),
                    // The owner of everything in the emulated catalog (pg_user, oid 10).
                    text("postgres"),
                    None.into(),
                    None.into(),
                    None.into(),
                    None.into(),
                ]);
            }
        }
        Ok(t)
    }
}

/// PostgreSQL's `information_schema.columns`, in its order; `true` for cardinal numbers.
const COLUMNS: [(&str, bool); 44] = [
    ("table_catalog", false),
    ("table_schema", false),
    ("table_name", false),
    ("column_name", false),
    ("ordinal_position", true),
    ("column_default", false),
    ("is_nullable", false),
    ("data_type", false),
    ("character_maximum_length", true),
    ("character_octet_length", true),
    ("numeric_precision", true),
    ("numeric_precision_radix", true),
    ("numeric_scale", true),
    ("datetime_precision", true),
    ("interval_type", false),
    ("interval_precision", true),
    ("character_set_catalog", false),
    ("character_set_schema", false),
    ("character_set_name", false),
    ("collation_catalog", false),
    ("collation_schema", false),
    ("collation_name", false),
    ("domain_catalog", false),
    ("domain_schema", false),
    ("domain_name", false),
    ("udt_catalog", false),
    ("udt_schema", false),
    ("udt_name", false),
    ("scope_catalog", false),
    ("scope_schema", false),
    ("scope_name", false),
    ("maximum_cardinality", true),
    ("dtd_identifier", false),
    ("is_self_referencing", false),
    ("is_identity", false),
    ("identity_generation", false),
    ("identity_start", false),
    ("identity_increment", false),
    ("identity_maximum", false),
    ("identity_minimum", false),
    ("identity_cycle", false),
    ("is_generated", false),
    ("generation_expression", false),
    ("is_updatable", false),
];

/// How PostgreSQL's information_schema describes a column type.
#[derive(Debug, PartialEq)]
struct TypeDescription {
    data_type: String,
    udt_name: String,
    numeric_precision: Option<i32>,
    numeric_radix: Option<i32>,
    numeric_scale: Option<i32>,
    datetime_precision: Option<i32>,
}

fn describe(arrow: &DataType) -> TypeDescription {
    let pg = into_pg_type(arrow).ok();
    let udt_name = pg
        .as_ref()
        .map_or_else(|| "unknown".to_string(), |t| t.name().to_string());
    let data_type = match pg.as_ref().map(|t| t.kind()) {
        Some(Kind::Array(_)) => "ARRAY".to_string(),
        _ => match udt_name.as_str() {
            "int2" => "smallint",
            "int4" => "integer",
            "int8" => "bigint",
            "float4" => "real",
            "float8" => "double precision",
            "bool" => "boolean",
            "varchar" => "character varying",
            "bpchar" => "character",
            "char" => "\"char\"",
            "time" => "time without time zone",
            "timetz" => "time with time zone",
            "timestamp" => "timestamp without time zone",
            "timestamptz" => "timestamp with time zone",
            name @ ("numeric" | "text" | "date" | "interval" | "bytea" | "json" | "jsonb"
            | "uuid" | "oid" | "name") => name,
            _ => "USER-DEFINED",
        }
        .to_string(),
    };
    let (numeric_precision, numeric_radix, numeric_scale) = match arrow {
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => (Some(16), Some(2), Some(0)),
        DataType::Int32 | DataType::UInt16 => (Some(32), Some(2), Some(0)),
        DataType::Int64 | DataType::UInt32 => (Some(64), Some(2), Some(0)),
        DataType::Float16 | DataType::Float32 => (Some(24), Some(2), None),
        DataType::Float64 => (Some(53), Some(2), None),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => (Some(i32::from(*p)), Some(10), Some(i32::from(*s))),
        _ => (None, None, None),
    };
    let datetime_precision = match arrow {
        DataType::Date32 | DataType::Date64 => Some(0),
        DataType::Timestamp(TimeUnit::Second, _) | DataType::Time32(TimeUnit::Second) => Some(0),
        DataType::Timestamp(TimeUnit::Millisecond, _) | DataType::Time32(_) => Some(3),
        DataType::Timestamp(..) | DataType::Time64(_) | DataType::Interval(_) => Some(6),
        _ => None,
    };
    TypeDescription {
        data_type,
        udt_name,
        numeric_precision,
        numeric_radix,
        numeric_scale,
        datetime_precision,
    }
}

#[derive(Debug, Clone)]
enum Cell {
    Text(Option<String>),
    Int(Option<i32>),
}

impl From<Option<String>> for Cell {
    fn from(value: Option<String>) -> Self {
        Cell::Text(value)
    }
}

fn text(value: &str) -> Cell {
    Cell::Text(Some(value.to_string()))
}

/// Rows of text and integer cells, turned into a one-batch table.
struct Table {
    /// Column names, `true` for integer columns.
    columns: Vec<(&'static str, bool)>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table of text columns.
    fn new(names: &[&'static str]) -> Self {
        Table {
            columns: names.iter().map(|n| (*n, false)).collect(),
            rows: Vec::new(),
        }
    }

    fn with_types(columns: &[(&'static str, bool)]) -> Self {
        Table {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    fn into_mem_table(self) -> Result<MemTable> {
        let mut fields = Vec::new();
        let mut arrays: Vec<ArrayRef> = Vec::new();
        for (i, (name, int)) in self.columns.iter().enumerate() {
            let cells = self.rows.iter().map(|r| r.get(i).cloned());
            if *int {
                let values: Int32Array = cells
                    .map(|c| match c {
                        Some(Cell::Int(v)) => v,
                        _ => None,
                    })
                    .collect();
                fields.push(Field::new(*name, DataType::Int32, true));
                arrays.push(Arc::new(values));
            } else {
                let values: StringArray = cells
                    .map(|c| match c {
                        Some(Cell::Text(v)) => v,
                        _ => None,
                    })
                    .collect();
                fields.push(Field::new(*name, DataType::Utf8, true));
                arrays.push(Arc::new(values));
            }
        }
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(Arc::clone(&schema), arrays)?;
        MemTable::try_new(schema, vec![vec![batch]])
    }
}

#[async_trait]
impl SchemaProvider for PgInformationSchema {
    fn table_names(&self) -> Vec<String> {
        self.datafusions()
            .map(|d| d.table_names())
            .unwrap_or_else(|_| OURS.iter().map(|t| t.to_string()).collect())
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let table = match name.to_ascii_lowercase().as_str() {
            "tables" => self.tables().await?,
            "columns" => self.columns().await?,
            "views" => self.views().await?,
            "schemata" => self.schemata()?,
            _ => return self.datafusions()?.table(name).await,
        };
        Ok(Some(Arc::new(table.into_mem_table()?)))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.table_names()
            .iter()
            .any(|t| t.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_named_as_postgresql_names_them() {
        let d = describe(&DataType::Utf8View);
        assert_eq!(
            (d.data_type.as_str(), d.udt_name.as_str()),
            ("text", "text")
        );
        let d = describe(&DataType::Decimal128(15, 2));
        assert_eq!(
            (
                d.data_type.as_str(),
                d.udt_name.as_str(),
                d.numeric_precision,
                d.numeric_scale
            ),
            ("numeric", "numeric", Some(15), Some(2))
        );
        let d = describe(&DataType::Int64);
        assert_eq!(
            (d.data_type.as_str(), d.numeric_precision),
            ("bigint", Some(64))
        );
        let d = describe(&DataType::Timestamp(
            TimeUnit::Microsecond,
            Some("UTC".into()),
        ));
        assert_eq!(d.data_type, "timestamp with time zone");
        assert_eq!(d.udt_name, "timestamptz");
        let d = describe(&DataType::Timestamp(TimeUnit::Nanosecond, None));
        assert_eq!(d.data_type, "timestamp without time zone");
        let list = DataType::List(Arc::new(Field::new_list_field(DataType::Int32, true)));
        let d = describe(&list);
        assert_eq!(
            (d.data_type.as_str(), d.udt_name.as_str()),
            ("ARRAY", "_int4")
        );
        assert_eq!(describe(&DataType::Boolean).data_type, "boolean");
        assert_eq!(describe(&DataType::Date32).datetime_precision, Some(0));
    }
}
