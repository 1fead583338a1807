//! The run-time settings a PostgreSQL client may ask for with `SHOW`, `current_setting()` or
//! `pg_settings`, with the values Sightline reports. Per-connection values (set by the client at
//! startup or with `SET`) live in the connection's metadata under the key given here.

use std::collections::HashMap;

/// PostgreSQL release whose wire behaviour and catalog Sightline presents.
pub const PG_VERSION: &str = "16.6";
pub const PG_VERSION_NUM: &str = "160006";

/// `server_version` as sent at startup and shown by `SHOW server_version`.
pub fn server_version() -> String {
    format!("{PG_VERSION} (Sightline {})", env!("CARGO_PKG_VERSION"))
}

/// The string `version()` returns; clients such as SQLAlchemy parse `PostgreSQL N.N` out of it.
pub fn version_string() -> String {
    format!(
        "PostgreSQL {PG_VERSION} (Sightline {}, Apache DataFusion {}) on {}-{}, 64-bit",
        env!("CARGO_PKG_VERSION"),
        datafusion::DATAFUSION_VERSION,
        std::env::consts::ARCH,
        std::env::consts::OS,
    )
}

pub struct Setting {
    pub name: &'static str,
    pub default: &'static str,
    /// Keys of the connection metadata that override the default, most specific first.
    pub metadata_keys: &'static [&'static str],
    pub description: &'static str,
}

const fn s(
    name: &'static str,
    default: &'static str,
    metadata_keys: &'static [&'static str],
    description: &'static str,
) -> Setting {
    Setting {
        name,
        default,
        metadata_keys,
        description,
    }
}

pub static SETTINGS: &[Setting] = &[
    s(
        "application_name",
        "",
        &["application_name"],
        "Sets the application name to be reported in statistics and logs.",
    ),
    s(
        "bytea_output",
        "hex",
        &["bytea_output"],
        "Sets the output format for bytea.",
    ),
    s(
        "client_encoding",
        "UTF8",
        &["client_encoding"],
        "Sets the client's character set encoding.",
    ),
    s(
        "DateStyle",
        "ISO, MDY",
        &["datestyle", "DateStyle"],
        "Sets the display format for date and time values.",
    ),
    s(
        "default_transaction_isolation",
        "read committed",
        &[],
        "Sets the transaction isolation level of each new transaction.",
    ),
    s(
        "default_transaction_read_only",
        "off",
        &[],
        "Sets the default read-only status of new transactions.",
    ),
    s(
        "extra_float_digits",
        "1",
        &["extra_float_digits"],
        "Sets the number of digits displayed for floating-point values.",
    ),
    s(
        "in_hot_standby",
        "off",
        &[],
        "Shows whether hot standby is currently active.",
    ),
    s(
        "integer_datetimes",
        "on",
        &[],
        "Shows whether datetimes are integer based.",
    ),
    s(
        "IntervalStyle",
        "postgres",
        &["intervalstyle", "IntervalStyle"],
        "Sets the display format for interval values.",
    ),
    s(
        "is_superuser",
        "off",
        &[],
        "Shows whether the current user is a superuser.",
    ),
    s(
        "lc_collate",
        "C.UTF-8",
        &[],
        "Shows the collation order locale.",
    ),
    s(
        "lc_ctype",
        "C.UTF-8",
        &[],
        "Shows the character classification and case conversion locale.",
    ),
    s(
        "lc_messages",
        "C.UTF-8",
        &[],
        "Sets the language in which messages are displayed.",
    ),
    s(
        "lc_monetary",
        "C.UTF-8",
        &[],
        "Sets the locale for formatting monetary amounts.",
    ),
    s(
        "lc_numeric",
        "C.UTF-8",
        &[],
        "Sets the locale for formatting numbers.",
    ),
    s(
        "lc_time",
        "C.UTF-8",
        &[],
        "Sets the locale for formatting date and time values.",
    ),
    s(
        "max_identifier_length",
        "63",
        &[],
        "Shows the maximum identifier length.",
    ),
    s(
        "max_index_keys",
        "32",
        &[],
        "Shows the maximum number of index keys.",
    ),
    s(
        "search_path",
        "\"$user\", public",
        &["search_path"],
        "Sets the schema search order for names that are not schema-qualified.",
    ),
    s(
        "server_encoding",
        "UTF8",
        &[],
        "Shows the server (database) character set encoding.",
    ),
    s("server_version", "", &[], "Shows the server version."),
    s(
        "server_version_num",
        PG_VERSION_NUM,
        &[],
        "Shows the server version as an integer.",
    ),
    s(
        "session_authorization",
        "",
        &["user"],
        "Sets the session user name.",
    ),
    s(
        "standard_conforming_strings",
        "on",
        &[],
        "Causes '...' strings to treat backslashes literally.",
    ),
    s(
        "statement_timeout",
        "0",
        &[],
        "Sets the maximum allowed duration of any statement.",
    ),
    s(
        "TimeZone",
        "UTC",
        &["timezone", "TimeZone"],
        "Sets the time zone for displaying and interpreting time stamps.",
    ),
    s(
        "transaction_isolation",
        "read committed",
        &[],
        "Sets the current transaction's isolation level.",
    ),
    s(
        "transaction_read_only",
        "off",
        &[],
        "Sets the current transaction's read-only status.",
    ),
];

/// Looks a setting up by name, case-insensitively, as PostgreSQL does.
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

impl Setting {
    /// The value for a connection whose metadata is `metadata` (or the server default).
    pub fn value(&self, metadata: Option<&HashMap<String, String>>) -> String {
        if self.name == "server_version" {
            return server_version();
        }
        if self.name == "statement_timeout" {
            // datafusion-postgres keeps the timeout in milliseconds under this key.
            return metadata
                .and_then(|m| m.get("statement_timeout_ms"))
                .filter(|ms| ms.as_str() != "0")
                .map(|ms| format!("{ms}ms"))
                .unwrap_or_else(|| "0".to_owned());
        }
        metadata
            .and_then(|m| self.metadata_keys.iter().find_map(|k| m.get(*k)))
            .cloned()
            .unwrap_or_else(|| self.default.to_owned())
    }
}

/// The values an enum setting takes, as `pg_settings.enumvals` lists them (psql completes
/// `SET bytea_output TO <TAB>` from it).
fn enum_values(name: &str) -> Option<&'static [&'static str]> {
    const ISOLATION: &[&str] = &[
        "serializable",
        "repeatable read",
        "read committed",
        "read uncommitted",
    ];
    Some(match name {
        "bytea_output" => &["escape", "hex"],
        "IntervalStyle" => &["postgres", "postgres_verbose", "sql_standard", "iso_8601"],
        "default_transaction_isolation" | "transaction_isolation" => ISOLATION,
        _ => return None,
    })
}

/// `pg_catalog.pg_settings`: every setting above with its server-wide value, in PostgreSQL's
/// columns (pgjdbc reads `max_index_keys` from it, other clients `search_path`, `TimeZone`, …).
pub fn pg_settings_table() -> datafusion::error::Result<datafusion::datasource::MemTable> {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        ArrayRef, BooleanArray, Int32Array, ListBuilder, RecordBatch, StringArray, StringBuilder,
    };
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    let schema = Arc::new(Schema::new(vec![
        text("name"),
        text("setting"),
        text("unit"),
        text("category"),
        text("short_desc"),
        text("extra_desc"),
        text("context"),
        text("vartype"),
        text("source"),
        text("min_val"),
        text("max_val"),
        Field::new(
            "enumvals",
            DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
            true,
        ),
        text("boot_val"),
        text("reset_val"),
        text("sourcefile"),
        Field::new("sourceline", DataType::Int32, true),
        Field::new("pending_restart", DataType::Boolean, true),
    ]));
    let n = SETTINGS.len();
    let column = |f: &dyn Fn(&Setting) -> Option<String>| -> ArrayRef {
        Arc::new(SETTINGS.iter().map(f).collect::<StringArray>())
    };
    let vartype = |s: &Setting| {
        let v = s.default;
        Some(
            if enum_values(s.name).is_some() {
                "enum"
            } else if v == "on" || v == "off" {
                "bool"
            } else if !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()) {
                "integer"
            } else {
                "string"
            }
            .to_string(),
        )
    };
    let mut enumvals = ListBuilder::new(StringBuilder::new());
    for setting in SETTINGS {
        match enum_values(setting.name) {
            Some(values) => {
                values
                    .iter()
                    .for_each(|v| enumvals.values().append_value(v));
                enumvals.append(true);
            }
            None => enumvals.append(false),
        }
    }
    let columns: Vec<ArrayRef> = vec![
        column(&|s| Some(s.name.to_string())),
        column(&|s| Some(s.default.to_string())),
        column(&|_| None),
        column(&|_| Some("Sightline".to_string())),
        column(&|s| Some(s.description.to_string())),
        column(&|_| None),
        column(&|s| {
            Some(
                if s.metadata_keys.is_empty() {
                    "internal"
                } else {
                    "user"
                }
                .to_string(),
            )
        }),
        column(&vartype),
        column(&|_| Some("default".to_string())),
        column(&|_| None),
        column(&|_| None),
        Arc::new(enumvals.finish()),
        column(&|s| Some(s.default.to_string())),
        column(&|s| Some(s.default.to_string())),
        column(&|_| None),
        Arc::new(Int32Array::from(vec![None::<i32>; n])),
        Arc::new(BooleanArray::from(vec![Some(false); n])),
    ];
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
    datafusion::datasource::MemTable::try_new(schema, vec![vec![batch]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_case_insensitive_and_honour_the_connection() {
        let setting = find("datestyle").unwrap();
        assert_eq!(setting.value(None), "ISO, MDY");
        let meta = HashMap::from([("DateStyle".to_owned(), "ISO, DMY".to_owned())]);
        assert_eq!(setting.value(Some(&meta)), "ISO, DMY");
        assert!(find("no_such_setting").is_none());
        assert!(version_string().starts_with("PostgreSQL 16.6 "));
        assert!(server_version().starts_with("16.6"));
    }
}
