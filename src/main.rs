use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use sightline::config::{Config, FileConfig, Overrides};
use tracing_subscriber::EnvFilter;

/// Sightline: a PostgreSQL-compatible SQL server over Parquet files, with marketing and
/// e-commerce analytics as SQL functions.
#[derive(Parser)]
#[command(name = "sightline", version, about, long_about = None)]
struct Cli {
    /// Log filter, e.g. `info`, `debug`, `sightline=debug,datafusion=info` (RUST_LOG also works).
    #[arg(long, global = true, env = "SIGHTLINE_LOG_LEVEL")]
    log_level: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the data directory (or the built-in demo dataset) over the PostgreSQL protocol.
    Serve(ServeArgs),
    /// Write the synthetic e-commerce demo dataset as Parquet files.
    Demo(DemoArgs),
    /// Run SQL in-process against the data directory and print the result as a table.
    Query(QueryArgs),
    /// Generate TPC-H data as Parquet (one directory per table); the 22 queries are in
    /// sql-examples/tpch/.
    Tpch(TpchArgs),
    /// Run .sql files against any PostgreSQL-protocol server with N concurrent clients and
    /// report latency percentiles, throughput and errors per query.
    Bench(sightline::bench::BenchArgs),
    /// Hash a password for a `[[users]]` entry of the config file (SCRAM-SHA-256, the format
    /// PostgreSQL stores). Reads the password from the terminal (asked twice) or from stdin.
    Passwd(PasswdArgs),
}

#[derive(Args)]
struct TpchArgs {
    /// Scale factor (1 = about 1 GB of CSV; lineitem has about 6 million rows per unit).
    #[arg(long, default_value_t = 1.0)]
    sf: f64,

    /// Output directory (created if missing); serve it with `sightline serve --data DIR`.
    #[arg(long)]
    out: PathBuf,

    /// Files per large table, generated in parallel [default: number of CPU cores].
    #[arg(long)]
    parts: Option<usize>,

    /// Parquet compression codec of the files.
    #[arg(long, value_enum, default_value_t)]
    compression: sightline::tpch::Codec,
}

#[derive(Args)]
struct PasswdArgs {
    /// The user name to print in the config snippet.
    #[arg(long, default_value = "analyst")]
    user: String,

    /// PBKDF2 iterations (PostgreSQL's default is 4096).
    #[arg(long, default_value_t = sightline::security::scram::DEFAULT_ITERATIONS)]
    iterations: u32,
}

#[derive(Args)]
struct CommonArgs {
    /// Directory of Parquet files to serve: each `*.parquet` file and each directory is a table.
    /// Without it, the demo dataset is generated (once) into the cache directory and served.
    #[arg(long, env = "SIGHTLINE_DATA")]
    data: Option<PathBuf>,

    /// TOML configuration file (keys: listen, data, cache_dir, log_level, target_partitions,
    /// batch_size, max_connections, statement_timeout_ms, shutdown_grace_secs,
    /// memory_limit_mb, idle_session_timeout_ms, max_concurrent_queries, max_result_rows, max_result_bytes; sections
    /// [auth], [tls], [[users]], [role_limits.<role>], [demo]; see the README). Flags and SIGHTLINE_* variables
    /// override it.
    #[arg(long, env = "SIGHTLINE_CONFIG")]
    config: Option<PathBuf>,

    /// Where the demo dataset is cached [default: the user cache dir + /sightline].
    #[arg(long, env = "SIGHTLINE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,

    /// Number of parallel partitions per query [default: number of CPU cores].
    #[arg(long, env = "SIGHTLINE_TARGET_PARTITIONS")]
    target_partitions: Option<usize>,

    /// Rows per Arrow record batch [default: 16384].
    #[arg(long, env = "SIGHTLINE_BATCH_SIZE")]
    batch_size: Option<usize>,

    /// Connections served at once; further clients are refused with SQLSTATE 53300
    /// ("too many connections") [default: 100].
    #[arg(long, env = "SIGHTLINE_MAX_CONNECTIONS")]
    max_connections: Option<usize>,

    /// Default statement_timeout in milliseconds: longer statements fail with SQLSTATE 57014;
    /// a session can `SET statement_timeout` [default: 0 = no limit].
    #[arg(long, env = "SIGHTLINE_STATEMENT_TIMEOUT_MS")]
    statement_timeout_ms: Option<u64>,

    /// On Ctrl-C / SIGTERM: seconds to wait for open sessions to end after new connections
    /// stop being accepted [default: 10].
    #[arg(long, env = "SIGHTLINE_SHUTDOWN_GRACE_SECS")]
    shutdown_grace_secs: Option<u64>,

    /// Memory all queries together may use for sorts, joins and aggregations, in MiB; beyond
    /// it they spill to disk or fail with SQLSTATE 53200 [default: half the machine's memory;
    /// 0 = no limit].
    #[arg(long, env = "SIGHTLINE_MEMORY_LIMIT_MB")]
    memory_limit_mb: Option<u64>,

    /// Close sessions that sit idle (no statement running) longer than this many milliseconds,
    /// with FATAL 57P05 [default: 0 = never].
    #[arg(long, env = "SIGHTLINE_IDLE_SESSION_TIMEOUT_MS")]
    idle_session_timeout_ms: Option<u64>,

    /// Statements executing at once; further ones wait for a slot (within their
    /// statement_timeout, cancellable) [default: 4 per CPU core, at least 8; 0 = no limit].
    #[arg(long, env = "SIGHTLINE_MAX_CONCURRENT_QUERIES")]
    max_concurrent_queries: Option<usize>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    common: CommonArgs,

    /// Address to listen on [default: 127.0.0.1:5432].
    #[arg(long, env = "SIGHTLINE_LISTEN")]
    listen: Option<String>,
}

#[derive(Args)]
struct DemoArgs {
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,

    /// Number of customers to simulate.
    #[arg(long, default_value_t = sightline::config::DEFAULT_DEMO_CUSTOMERS)]
    customers: usize,

    /// Random seed; the same seed and size always give the same data.
    #[arg(long, default_value_t = sightline::config::DEFAULT_DEMO_SEED)]
    seed: u64,
}

#[derive(Args)]
struct QueryArgs {
    /// The SQL to run (several statements may be separated by `;`; the last one's rows print).
    sql: String,

    #[command(flatten)]
    common: CommonArgs,
}

fn init_logging(level: Option<&str>) {
    let filter = match level {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

fn load_config(
    common: &CommonArgs,
    listen: Option<String>,
) -> anyhow::Result<(Config, Option<String>)> {
    let file = match &common.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let log_level = file.log_level.clone();
    let config = Config::resolve(
        file,
        Overrides {
            listen,
            data: common.data.clone(),
            cache_dir: common.cache_dir.clone(),
            target_partitions: common.target_partitions,
            batch_size: common.batch_size,
            max_connections: common.max_connections,
            statement_timeout_ms: common.statement_timeout_ms,
            shutdown_grace_secs: common.shutdown_grace_secs,
            memory_limit_mb: common.memory_limit_mb,
            idle_session_timeout_ms: common.idle_session_timeout_ms,
            max_concurrent_queries: common.max_concurrent_queries,
        },
    )?;
    Ok((config, log_level))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            let (config, file_level) = load_config(&args.common, args.listen)?;
            init_logging(cli.log_level.as_deref().or(file_level.as_deref()));
            serve(config).await
        }
        Command::Demo(args) => {
            init_logging(cli.log_level.as_deref());
            let started = std::time::Instant::now();
            let summary = sightline::demo::write_demo(&args.out, args.customers, args.seed)?;
            for (table, rows) in &summary.tables {
                println!("{table:<12} {rows:>10} rows");
            }
            println!(
                "wrote {} in {:.1}s",
                args.out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Passwd(args) => passwd(&args),
        Command::Tpch(args) => {
            init_logging(cli.log_level.as_deref());
            let started = std::time::Instant::now();
            let parts = args.parts.unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2)
            });
            for (table, rows) in
                sightline::tpch::generate(&args.out, args.sf, parts, args.compression)?
            {
                println!("{table:<10} {rows:>12} rows");
            }
            println!(
                "wrote TPC-H SF{} to {} in {:.1}s; queries: sql-examples/tpch/",
                args.sf,
                args.out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => {
            init_logging(Some(cli.log_level.as_deref().unwrap_or("warn")));
            sightline::bench::run(args).await
        }
        Command::Query(args) => {
            let (config, file_level) = load_config(&args.common, None)?;
            init_logging(Some(
                cli.log_level
                    .as_deref()
                    .or(file_level.as_deref())
                    .unwrap_or("warn"),
            ));
            let data = sightline::resolve_data_dir(&config)?;
            let ctx = sightline::session::build_context(&config, &data)?;
            match sightline::query::run_sql(&ctx, &args.sql).await {
                Ok((schema, batches)) => {
                    let table = datafusion::arrow::util::pretty::pretty_format_batches_with_schema(
                        schema, &batches,
                    )?;
                    println!("{table}");
                    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                    println!("({rows} row{})", if rows == 1 { "" } else { "s" });
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    let (code, message) = sightline::server::classify_error(&e);
                    eprintln!("ERROR: {message}\nSQLSTATE: {code}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

fn passwd(args: &PasswdArgs) -> anyhow::Result<ExitCode> {
    use std::io::BufRead;
    if !(1000..=10_000_000).contains(&args.iterations) {
        anyhow::bail!("--iterations must be between 1000 and 10000000 (PostgreSQL uses 4096)");
    }
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            anyhow::bail!("the two passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        anyhow::bail!("empty password");
    }
    let verifier = sightline::security::Verifier::new(&password, args.iterations);
    println!(
        "[[users]]\nname = {:?}\npassword = \"{verifier}\"\nrole = \"read_only\"   # or \"admin\"",
        args.user
    );
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let data = sightline::resolve_data_dir(&config)?;
    tracing::info!(data = %data.display(), "serving data directory");
    let ctx = Arc::new(sightline::session::build_context(&config, &data)?);
    let tls = match &config.tls {
        Some((cert, key)) => Some(sightline::security::tls::acceptor(cert, key)?),
        None => None,
    };
    let server = sightline::server::Server::bind(ctx, config.listen)
        .await?
        .with_max_connections(config.max_connections)
        .with_statement_timeout(std::time::Duration::from_millis(
            config.statement_timeout_ms,
        ))
        .with_idle_session_timeout(std::time::Duration::from_millis(
            config.idle_session_timeout_ms,
        ))
        .with_max_concurrent_queries(config.max_concurrent_queries)
        .with_security(config.security.clone(), tls, data.clone());
    // Ctrl-C or SIGTERM: stop accepting, give open sessions the grace period, then exit.
    let shutdown = async {
        #[cfg(unix)]
        {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutdown requested");
    };
    server
        .run_until(
            shutdown,
            std::time::Duration::from_secs(config.shutdown_grace_secs),
        )
        .await?;
    Ok(ExitCode::SUCCESS)
}
