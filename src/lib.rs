//! Sightline: a PostgreSQL-wire SQL server over a directory of Parquet files, with marketing and
//! e-commerce analytics as SQL functions (see the `sightline-udfs` crate).

pub mod bench;
pub mod catalog;
pub mod config;
pub mod demo;
pub mod optimizer;
pub mod pg_compat;
pub mod query;
pub mod security;
pub mod server;
pub mod session;
pub mod tpch;

use std::path::PathBuf;

use config::Config;

/// The data directory to serve: the configured one, or the demo dataset (generated on first use).
pub fn resolve_data_dir(config: &Config) -> Result<PathBuf, demo::DemoError> {
    match &config.data {
        Some(dir) => Ok(dir.clone()),
        None => demo::ensure_demo(&config.cache_dir, config.demo_customers, config.demo_seed),
    }
}
