//! The catalog: a data directory turned into tables, re-read on every query.
//!
//! * `DIR/name.parquet` is table `name`.
//! * `DIR/name/**.parquet` is table `name`; `key=value` directories below it become columns (Hive
//!   partitioning, integer-typed when every value is an integer, text otherwise).
//! * Names are folded to lower case, characters other than letters, digits and `_` become `_`; a
//!   name that still is not an identifier (empty, starts with a digit) is skipped with a warning.
//! * Hidden entries (`.x`, `_x` such as `_SUCCESS`) are ignored; a file that is not readable
//!   Parquet is skipped with a warning and the rest of its table is served.
//! * Tables are looked up when a query is planned, so new files and tables are seen by the next
//!   query without a restart; footers are read once per file version (path, size, mtime).

pub mod information_schema;
mod store;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::common::config::TableParquetOptions;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::{DataFusionError, Result};
use datafusion::parquet::arrow::parquet_to_arrow_schema;
use datafusion::parquet::file::metadata::ParquetMetaDataReader;
use tracing::{debug, warn};

pub use store::{CatalogStore, Quarantine};

/// A file's identity for caching: its content is assumed unchanged while size and mtime are.
type FileVersion = (u64, Option<SystemTime>);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Entry {
    File(PathBuf),
    Dir(PathBuf),
}

#[derive(Debug, Clone)]
struct CachedTable {
    fingerprint: Vec<(PathBuf, FileVersion)>,
    provider: Arc<dyn TableProvider>,
}

#[derive(Debug, Clone)]
enum FileCheck {
    Good(SchemaRef),
    Bad(String),
}

/// The `public` schema over a data directory.
#[derive(Debug)]
pub struct DataDirSchema {
    root: PathBuf,
    parquet_options: TableParquetOptions,
    quarantine: Arc<Quarantine>,
    tables: Mutex<HashMap<String, CachedTable>>,
    files: Mutex<HashMap<PathBuf, (FileVersion, FileCheck)>>,
    /// Tables and views created by SQL (`CREATE VIEW`, `CREATE TABLE AS`): they shadow files.
    registered: Mutex<BTreeMap<String, Arc<dyn TableProvider>>>,
    warned: Mutex<HashSet<String>>,
}

impl DataDirSchema {
    /// `root` must exist; it is canonicalised so that paths match the object store's listings.
    pub fn new(
        root: &Path,
        parquet_options: TableParquetOptions,
        quarantine: Arc<Quarantine>,
    ) -> std::io::Result<Self> {
        let root = fs::canonicalize(root)?;
        if !root.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                format!("data directory {} is not a directory", root.display()),
            ));
        }
        Ok(DataDirSchema {
            root,
            parquet_options,
            quarantine,
            tables: Mutex::default(),
            files: Mutex::default(),
            registered: Mutex::default(),
            warned: Mutex::default(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Logs a warning once per distinct message, so a bad file does not flood the log per query.
    fn warn_once(&self, message: String) {
        let first = self
            .warned
            .lock()
            .map(|mut w| w.insert(message.clone()))
            .unwrap_or(true);
        if first {
            warn!("{message}");
        }
    }

    /// The table entries of the data directory, by table name.
    fn entries(&self) -> BTreeMap<String, Entry> {
        let mut out = BTreeMap::new();
        let read = match fs::read_dir(&self.root) {
            Ok(read) => read,
            Err(e) => {
                self.warn_once(format!(
                    "cannot list data directory {}: {e}",
                    self.root.display()
                ));
                return out;
            }
        };
        let mut items: Vec<_> = read.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        items.sort();
        for path in items {
            let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if is_hidden(file_name) {
                continue;
            }
            let (stem, entry) = if path.is_dir() {
                (file_name, Entry::Dir(path.clone()))
            } else if let Some(stem) = parquet_stem(file_name) {
                (stem, Entry::File(path.clone()))
            } else {
                self.warn_once(format!(
                    "skipping {}: not a Parquet file (tables are *.parquet files or directories)",
                    path.display()
                ));
                continue;
            };
            let Some(name) = table_name(stem) else {
                self.warn_once(format!(
                    "skipping {}: {stem:?} does not make a valid table name (it must start with a letter or _)",
                    path.display()
                ));
                continue;
            };
            if let Some(existing) = out.get(&name) {
                self.warn_once(format!(
                    "skipping {}: table name {name:?} is already taken by {:?}",
                    path.display(),
                    existing
                ));
                continue;
            }
            out.insert(name, entry);
        }
        out
    }

    /// Reads (or recalls) the Arrow schema of one file; `None` if it is not readable Parquet.
    fn check_file(&self, path: &Path, version: FileVersion) -> Option<SchemaRef> {
        let cached = self
            .files
            .lock()
            .ok()
            .and_then(|files| files.get(path).cloned());
        let check = match cached {
            Some((v, check)) if v == version => check,
            _ => {
                let check = match read_parquet_schema(path) {
                    Ok(schema) => FileCheck::Good(schema),
                    Err(e) => FileCheck::Bad(e),
                };
                if let Ok(object_path) = object_store::path::Path::from_absolute_path(path) {
                    self.quarantine
                        .set(object_path, matches!(check, FileCheck::Bad(_)));
                }
                if let Ok(mut files) = self.files.lock() {
                    files.insert(path.to_owned(), (version, check.clone()));
                }
                check
            }
        };
        match check {
            FileCheck::Good(schema) => Some(schema),
            FileCheck::Bad(reason) => {
                self.warn_once(format!(
                    "skipping {}: not a readable Parquet file ({reason})",
                    path.display()
                ));
                None
            }
        }
    }

    fn build_table(&self, name: &str, entry: &Entry) -> Result<Option<CachedTable>> {
        let (table_root, files) = match entry {
            Entry::File(path) => (path.clone(), vec![(path.clone(), file_version(path))]),
            Entry::Dir(dir) => (dir.clone(), list_parquet_files(dir)),
        };
        let fingerprint = files.clone();
        if let Some(hit) = self.cached(name, &fingerprint) {
            return Ok(Some(hit));
        }

        let mut schemas = Vec::new();
        let mut good_files = Vec::new();
        for (path, version) in &files {
            if let Some(schema) = self.check_file(path, *version) {
                schemas.push(schema);
                good_files.push(path.clone());
            }
        }
        if schemas.is_empty() {
            self.warn_once(format!(
                "table {name}: no readable Parquet files under {}",
                table_root.display()
            ));
            return Ok(None);
        }
        let file_schema = merge_schemas(name, &schemas, |m| self.warn_once(m));
        let partition_cols = match entry {
            Entry::File(_) => vec![],
            Entry::Dir(dir) => infer_partitions(dir, &good_files, &file_schema),
        };
        let file_schema = Arc::new(
            datafusion::datasource::physical_plan::parquet::transform_schema_to_view(&file_schema),
        );

        let url = match entry {
            Entry::File(path) => ListingTableUrl::parse(path.to_string_lossy())?,
            // A trailing slash marks the URL as a directory (a prefix), not a file.
            Entry::Dir(dir) => ListingTableUrl::parse(format!("{}/", dir.to_string_lossy()))?,
        };
        let format = ParquetFormat::default().with_options(self.parquet_options.clone());
        let options = ListingOptions::new(Arc::new(format))
            .with_file_extension(".parquet")
            .with_table_partition_cols(partition_cols);
        let config = ListingTableConfig::new(url)
            .with_listing_options(options)
            .with_schema(file_schema);
        let provider: Arc<dyn TableProvider> = Arc::new(ListingTable::try_new(config)?);
        debug!(
            table = name,
            files = good_files.len(),
            "catalog: (re)built table"
        );
        let table = CachedTable {
            fingerprint,
            provider,
        };
        if let Ok(mut tables) = self.tables.lock() {
            tables.insert(name.to_owned(), table.clone());
        }
        Ok(Some(table))
    }

    fn cached(&self, name: &str, fingerprint: &[(PathBuf, FileVersion)]) -> Option<CachedTable> {
        let tables = self.tables.lock().ok()?;
        let hit = tables.get(name)?;
        (hit.fingerprint == fingerprint).then(|| hit.clone())
    }

    fn registered(&self, name: &str) -> Option<Arc<dyn TableProvider>> {
        self.registered.lock().ok()?.get(name).cloned()
    }
}

#[async_trait]
impl SchemaProvider for DataDirSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.entries().into_keys().collect();
        if let Ok(registered) = self.registered.lock() {
            names.extend(registered.keys().cloned());
        }
        names.sort();
        names.dedup();
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(table) = self.registered(name) {
            return Ok(Some(table));
        }
        let Some(entry) = self.entries().remove(name) else {
            return Ok(None);
        };
        Ok(self.build_table(name, &entry)?.map(|t| t.provider))
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        if self.entries().contains_key(&name) {
            return Err(DataFusionError::Plan(format!(
                "table {name:?} already exists as Parquet data in the data directory"
            )));
        }
        let mut registered = self
            .registered
            .lock()
            .map_err(|_| DataFusionError::Internal("catalog lock poisoned".into()))?;
        Ok(registered.insert(name, table))
    }

    fn deregister_table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(table) = self
            .registered
            .lock()
            .map_err(|_| DataFusionError::Internal("catalog lock poisoned".into()))?
            .remove(name)
        {
            return Ok(Some(table));
        }
        if self.entries().contains_key(name) {
            return Err(DataFusionError::Plan(format!(
                "table {name:?} is Parquet data in the data directory; remove its files to drop it"
            )));
        }
        Ok(None)
    }

    fn table_exist(&self, name: &str) -> bool {
        self.registered(name).is_some() || self.entries().contains_key(name)
    }
}

fn is_hidden(file_name: &str) -> bool {
    file_name.starts_with('.') || file_name.starts_with('_')
}

fn parquet_stem(file_name: &str) -> Option<&str> {
    let dot = file_name.rfind('.')?;
    let (stem, ext) = file_name.split_at(dot);
    ext.eq_ignore_ascii_case(".parquet").then_some(stem)
}

/// Folds a file or directory name into a SQL identifier, or `None` if it cannot be one.
pub fn table_name(raw: &str) -> Option<String> {
    let name: String = raw
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let first = name.chars().next()?;
    (first.is_ascii_alphabetic() || first == '_').then_some(name)
}

fn file_version(path: &Path) -> FileVersion {
    match fs::metadata(path) {
        Ok(meta) => (meta.len(), meta.modified().ok()),
        Err(_) => (0, None),
    }
}

/// All `*.parquet` files below `dir`, skipping hidden files and directories, sorted by path.
fn list_parquet_files(dir: &Path) -> Vec<(PathBuf, FileVersion)> {
    let mut out: Vec<(PathBuf, FileVersion)> = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden(&e.file_name().to_string_lossy()))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .filter(|e| parquet_stem(&e.file_name().to_string_lossy()).is_some())
        .map(|e| {
            let version = e
                .metadata()
                .map(|m| (m.len(), m.modified().ok()))
                .unwrap_or((0, None));
            (e.into_path(), version)
        })
        .collect();
    out.sort();
    out
}

fn read_parquet_schema(path: &Path) -> std::result::Result<SchemaRef, String> {
    let file = fs::File::open(path).map_err(|e| e.to_string())?;
    let metadata = ParquetMetaDataReader::new()
        .parse_and_finish(&file)
        .map_err(|e| e.to_string())?;
    let file_meta = metadata.file_metadata();
    let schema = parquet_to_arrow_schema(file_meta.schema_descr(), file_meta.key_value_metadata())
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(schema))
}

/// Merges the schemas of a table's files; a file whose columns conflict keeps only the first
/// file's definition of them (DataFusion casts or fails at read time, per column, not per table).
/// A column some files lack is nullable: those files read as NULL there.
fn merge_schemas(table: &str, schemas: &[SchemaRef], warn: impl Fn(String)) -> Schema {
    let stripped: Vec<Schema> = schemas
        .iter()
        .map(|s| Schema::new(s.fields().clone()))
        .collect();
    let merged = merge_fields(table, &stripped, warn);
    let fields: Vec<_> = merged
        .fields()
        .iter()
        .map(|f| {
            let everywhere = stripped.iter().all(|s| s.field_with_name(f.name()).is_ok());
            if everywhere || f.is_nullable() {
                Arc::clone(f)
            } else {
                Arc::new(f.as_ref().clone().with_nullable(true))
            }
        })
        .collect();
    Schema::new(fields)
}

fn merge_fields(table: &str, stripped: &[Schema], warn: impl Fn(String)) -> Schema {
    match Schema::try_merge(stripped.to_vec()) {
        Ok(schema) => schema,
        Err(e) => {
            warn(format!(
                "table {table}: files have conflicting column types ({e}); using the first file's types"
            ));
            let mut fields: Vec<_> = stripped[0].fields().iter().cloned().collect();
            for schema in &stripped[1..] {
                for field in schema.fields() {
                    if !fields.iter().any(|f| f.name() == field.name()) {
                        fields.push(Arc::clone(field));
                    }
                }
            }
            Schema::new(fields)
        }
    }
}

/// Hive partition columns from the `key=value` directories between `dir` and each file.
fn infer_partitions(
    dir: &Path,
    files: &[PathBuf],
    file_schema: &Schema,
) -> Vec<(String, DataType)> {
    let mut keys: Vec<String> = Vec::new();
    let mut all_int: Vec<bool> = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let Ok(rel) = file.strip_prefix(dir) else {
            continue;
        };
        let parts: Vec<(String, String)> = rel
            .parent()
            .into_iter()
            .flat_map(|p| p.components())
            .filter_map(|c| {
                let s = c.as_os_str().to_str()?;
                let (k, v) = s.split_once('=')?;
                Some((k.to_owned(), v.to_owned()))
            })
            .collect();
        if i == 0 {
            keys = parts.iter().map(|(k, _)| k.clone()).collect();
            all_int = vec![true; keys.len()];
        }
        if parts.len() != keys.len() || parts.iter().zip(&keys).any(|((k, _), key)| k != key) {
            // Inconsistent layouts cannot be expressed as columns; DataFusion skips such files.
            continue;
        }
        for (j, (_, v)) in parts.iter().enumerate() {
            all_int[j] &= v.parse::<i64>().is_ok();
        }
    }
    keys.into_iter()
        .zip(all_int)
        .filter(|(k, _)| file_schema.field_with_name(k).is_err())
        .map(|(k, is_int)| {
            let ty = if is_int {
                DataType::Int64
            } else {
                DataType::Utf8
            };
            (k, ty)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_folded_and_checked() {
        assert_eq!(table_name("Orders").as_deref(), Some("orders"));
        assert_eq!(
            table_name("ad-spend 2024").as_deref(),
            Some("ad_spend_2024")
        );
        assert_eq!(table_name("_x").as_deref(), Some("_x"));
        assert_eq!(table_name("2024_sales"), None);
        assert_eq!(table_name(""), None);
        assert_eq!(parquet_stem("a.PARQUET"), Some("a"));
        assert_eq!(parquet_stem("a.csv"), None);
    }
}
