//! The DataFusion session every query runs in: the data directory catalog, PostgreSQL catalog
//! emulation, and all of Sightline's functions.

use std::path::Path;
use std::sync::Arc;

use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::physical_optimizer::optimizer::{PhysicalOptimizer, PhysicalOptimizerRule};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_postgres::datafusion_pg_catalog::setup_pg_catalog;

use crate::catalog::{CatalogStore, DataDirSchema, Quarantine};
use crate::config::Config;

/// The catalog (PostgreSQL "database") name clients see.
pub const CATALOG: &str = "sightline";
pub const SCHEMA: &str = "public";

/// Builds the session over `data_dir`.
/// DataFusion's physical optimizer rules with Sightline's join-side check right after
/// `join_selection` (it must run before repartitioning and dynamic filters are added).
fn physical_rules() -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    let mut rules = PhysicalOptimizer::new().rules;
    if let Some(at) = rules.iter().position(|r| r.name() == "join_selection") {
        rules.insert(at + 1, Arc::new(crate::optimizer::BuildSmallerSide));
    }
    rules
}

pub fn build_context(config: &Config, data_dir: &Path) -> Result<SessionContext> {
    let quarantine = Arc::new(Quarantine::default());
    // No list-files cache: a file dropped into a table directory must be seen by the next query.
    let cache = CacheManagerConfig::default().with_list_files_cache_limit(0);
    let mut runtime = RuntimeEnvBuilder::new().with_cache_manager(cache);
    if config.memory_limit_mb > 0 {
        // Shared fairly by the operators that can spill (sorts, aggregations, joins); the
        // disk manager's temp files take what does not fit.
        let bytes = usize::try_from(config.memory_limit_mb.saturating_mul(1024 * 1024))
            .unwrap_or(usize::MAX);
        runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(bytes)));
    }
    let runtime = runtime.build_arc()?;
    let file_url = url::Url::parse("file://")
        .map_err(|e| DataFusionError::Internal(format!("file URL: {e}")))?;
    runtime.register_object_store(
        &file_url,
        Arc::new(CatalogStore::new(Arc::clone(&quarantine))),
    );

    let mut session_config = SessionConfig::new()
        // Sightline's own, PostgreSQL-shaped (registered below).
        .with_information_schema(false)
        .with_create_default_catalog_and_schema(false)
        .with_default_catalog_and_schema(CATALOG, SCHEMA)
        .with_target_partitions(config.target_partitions)
        .with_batch_size(config.batch_size);
    // As PostgreSQL with TimeZone = UTC: `timestamptz` literals, casts and now() keep their zone
    // (and go out as timestamptz) instead of becoming zone-less timestamps.
    session_config.options_mut().execution.time_zone = Some("UTC".to_string());
    // Joins whose build side is under 64 MiB / 4M rows hash it once and probe from every
    // partition, instead of hash-repartitioning both sides (DataFusion's defaults, 1 MiB /
    // 128K rows, repartition lineitem-sized probe sides for small build sides). TPC-H SF1 on
    // 2 cores: q07 204 → 136 ms; see README › Benchmarking.
    let optimizer = &mut session_config.options_mut().optimizer;
    optimizer.hash_join_single_partition_threshold = 64 * 1024 * 1024;
    optimizer.hash_join_single_partition_threshold_rows = 4 * 1024 * 1024;
    let state = SessionStateBuilder::new()
        .with_config(session_config)
        .with_runtime_env(runtime)
        .with_default_features()
        // Sightline's own rules run after DataFusion's (README › SQL).
        .with_optimizer_rule(Arc::new(crate::optimizer::FixedIntervalsAsDurations))
        .with_optimizer_rule(Arc::new(crate::optimizer::OrderFilterConjuncts))
        .with_physical_optimizer_rules(physical_rules())
        .with_physical_optimizer_rule(Arc::new(crate::optimizer::FilterScansByJoinKeys))
        .with_physical_optimizer_rule(Arc::new(crate::optimizer::FilterProgressively))
        .with_physical_optimizer_rule(Arc::new(crate::optimizer::ScanUnusedOrderFreely))
        .build();
    let mut ctx = SessionContext::new_with_state(state);

    let schema = DataDirSchema::new(
        data_dir,
        ctx.state().table_options().parquet.clone(),
        quarantine,
    )
    .map_err(|e| {
        DataFusionError::Configuration(format!("data directory {}: {e}", data_dir.display()))
    })?;
    let catalog = MemoryCatalogProvider::new();
    catalog.register_schema(SCHEMA, Arc::new(schema))?;
    ctx.register_catalog(CATALOG, Arc::new(catalog));

    setup_pg_catalog(&ctx, CATALOG, EmptyContextProvider).map_err(|e| *e)?;
    datafusion_postgres::datafusion_pg_functions::register_all(&mut ctx);
    sightline_udfs::register_all(&ctx)?;
    crate::pg_compat::register(&ctx);
    crate::pg_compat::functions::register(&ctx, CATALOG)?;
    let state = ctx.state();
    let information_schema = crate::catalog::information_schema::PgInformationSchema::new(
        state.catalog_list(),
        state.table_functions().clone(),
    );
    ctx.catalog(CATALOG)
        .ok_or_else(|| DataFusionError::Internal(format!("catalog {CATALOG} missing")))?
        .register_schema("information_schema", Arc::new(information_schema))?;
    Ok(ctx)
}
