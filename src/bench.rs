//! `sightline bench`: runs `.sql` files against any PostgreSQL-protocol server (Sightline,
//! PostgreSQL, another DataFusion server) with N concurrent clients over the simple query
//! protocol (what psql and most BI tools use for ad-hoc SQL), and reports per query the latency
//! percentiles, queries/s, rows/s and bytes/s received, and errors. JSON output is stable
//! enough to diff; `--compare old.json` prints new/old ratios.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use tokio_postgres::{NoTls, SimpleQueryMessage};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Server to benchmark, e.g. postgres://user@127.0.0.1:5432/sightline (plaintext).
    #[arg(long)]
    pub url: String,

    /// A .sql file (one query) or a directory of them (each file is one query, by name).
    #[arg(long)]
    pub queries: PathBuf,

    /// Concurrent client connections.
    #[arg(long, default_value_t = 1)]
    pub clients: usize,

    /// Run for this many seconds (each client cycles through the queries).
    #[arg(long, conflicts_with = "iterations")]
    pub duration: Option<f64>,

    /// Each client runs every query this many times [default: 3 when --duration is not given].
    #[arg(long)]
    pub iterations: Option<usize>,

    /// Unmeasured runs of every query before measuring.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,

    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Also write the JSON report here.
    #[arg(long)]
    pub output: Option<PathBuf>,

    /// A previous JSON report: print new/old ratios per query.
    #[arg(long)]
    pub compare: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QueryReport {
    pub name: String,
    pub runs: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    pub queries_per_s: f64,
    pub rows_per_s: f64,
    pub bytes_per_s: f64,
    pub rows_per_run: f64,
    /// The first error message, if any run failed.
    pub first_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub format_version: u32,
    pub server_version: String,
    pub clients: usize,
    pub wall_s: f64,
    pub queries: Vec<QueryReport>,
    pub total: QueryReport,
}

struct Sample {
    query: usize,
    ms: f64,
    rows: u64,
    bytes: u64,
    error: Option<String>,
}

fn load_queries(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut files = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    };
    files.retain(|p| p.is_file());
    let mut out = Vec::new();
    for file in files {
        let sql = std::fs::read_to_string(&file)?;
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !sql.trim().is_empty() {
            out.push((name, sql));
        }
    }
    if out.is_empty() {
        anyhow::bail!("no .sql files with a query in {}", path.display());
    }
    Ok(out)
}

async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to {url}: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Runs one query; rows and bytes of the text values received.
async fn run_once(client: &tokio_postgres::Client, sql: &str) -> Result<(u64, u64), String> {
    let messages = client
        .simple_query(sql)
        .await
        .map_err(|e| match e.as_db_error() {
            Some(db) => format!("{} {}", db.code().code(), db.message()),
            None => e.to_string(),
        })?;
    let mut rows = 0;
    let mut bytes = 0;
    for m in &messages {
        if let SimpleQueryMessage::Row(row) = m {
            rows += 1;
            for i in 0..row.len() {
                bytes += row.get(i).map_or(0, |v| v.len() as u64);
            }
        }
    }
    Ok((rows, bytes))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn summarize(name: &str, samples: &[&Sample], wall_s: f64) -> QueryReport {
    let mut ok: Vec<f64> = samples
        .iter()
        .filter(|s| s.error.is_none())
        .map(|s| s.ms)
        .collect();
    ok.sort_by(|a, b| a.total_cmp(b));
    let runs = samples.len() as u64;
    let errors = samples.iter().filter(|s| s.error.is_some()).count() as u64;
    let rows: u64 = samples.iter().map(|s| s.rows).sum();
    let bytes: u64 = samples.iter().map(|s| s.bytes).sum();
    let good = ok.len().max(1) as f64;
    QueryReport {
        name: name.to_string(),
        runs,
        errors,
        p50_ms: percentile(&ok, 0.50),
        p95_ms: percentile(&ok, 0.95),
        p99_ms: percentile(&ok, 0.99),
        max_ms: ok.last().copied().unwrap_or(f64::NAN),
        mean_ms: ok.iter().sum::<f64>() / good,
        queries_per_s: (runs - errors) as f64 / wall_s,
        rows_per_s: rows as f64 / wall_s,
        bytes_per_s: bytes as f64 / wall_s,
        rows_per_run: rows as f64 / good,
        first_error: samples.iter().find_map(|s| s.error.clone()),
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let queries = Arc::new(load_queries(&args.queries)?);
    let clients = args.clients.max(1);
    let iterations = match (args.duration, args.iterations) {
        (Some(_), _) => None,
        (None, Some(k)) => Some(k.max(1)),
        (None, None) => Some(3),
    };
    let duration = args.duration.map(Duration::from_secs_f64);

    let first = connect(&args.url).await?;
    let server_version = first
        .simple_query("SHOW server_version")
        .await
        .ok()
        .and_then(|m| {
            m.iter().find_map(|m| match m {
                SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                _ => None,
            })
        })
        .unwrap_or_default();
    for _ in 0..args.warmup {
        for (name, sql) in queries.iter() {
            if let Err(e) = run_once(&first, sql).await {
                eprintln!("warm-up: {name} failed: {e}");
            }
        }
    }
    drop(first);

    let mut connections = Vec::with_capacity(clients);
    for _ in 0..clients {
        connections.push(connect(&args.url).await?);
    }
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = duration.map(|d| started + d);
    let mut tasks = Vec::with_capacity(clients);
    for (c, client) in connections.into_iter().enumerate() {
        let queries = Arc::clone(&queries);
        let done = Arc::clone(&done);
        let failed = Arc::clone(&failed);
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut round = 0usize;
            'outer: loop {
                if iterations.is_some_and(|k| round >= k) {
                    break;
                }
                for i in 0..queries.len() {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        break 'outer;
                    }
                    // Each client starts at a different query so they do not run in lockstep.
                    let q = (i + c) % queries.len();
                    let t = Instant::now();
                    let outcome = run_once(&client, &queries[q].1).await;
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    done.fetch_add(1, Ordering::Relaxed);
                    let (rows, bytes, error) = match outcome {
                        Ok((r, b)) => (r, b, None),
                        Err(e) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            (0, 0, Some(e))
                        }
                    };
                    samples.push(Sample {
                        query: q,
                        ms,
                        rows,
                        bytes,
                        error,
                    });
                }
                round += 1;
            }
            samples
        }));
    }
    // Live progress on a terminal.
    let progress = {
        let done = Arc::clone(&done);
        let failed = Arc::clone(&failed);
        tokio::spawn(async move {
            use std::io::{IsTerminal, Write};
            if !std::io::stderr().is_terminal() {
                return;
            }
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let total = duration
                    .map(|d| format!("/{:.0}s", d.as_secs_f64()))
                    .unwrap_or_default();
                eprint!(
                    "\r  {:>6.1}s{total}  {} queries  {} errors   ",
                    started.elapsed().as_secs_f64(),
                    done.load(Ordering::Relaxed),
                    failed.load(Ordering::Relaxed)
                );
                let _ = std::io::stderr().flush();
            }
        })
    };
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await?);
    }
    progress.abort();
    let wall_s = started.elapsed().as_secs_f64();
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!();
    }

    let per_query: Vec<QueryReport> = queries
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let mine: Vec<&Sample> = samples.iter().filter(|s| s.query == i).collect();
            summarize(name, &mine, wall_s)
        })
        .collect();
    let all: Vec<&Sample> = samples.iter().collect();
    let report = Report {
        format_version: 1,
        server_version,
        clients,
        wall_s,
        queries: per_query,
        total: summarize("total", &all, wall_s),
    };
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(path) = &args.output {
        std::fs::write(path, &json)?;
    }
    match args.format {
        OutputFormat::Json => println!("{json}"),
        OutputFormat::Csv => print!("{}", csv(&report)),
        OutputFormat::Table => print!("{}", table(&report)),
    }
    if let Some(old) = &args.compare {
        let old: Report = serde_json::from_str(&std::fs::read_to_string(old)?)?;
        print!("{}", comparison(&old, &report));
    }
    Ok(if report.total.errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn table(r: &Report) -> String {
    let mut out = format!(
        "server {} · {} client(s) · {:.1} s\n{:<16} {:>6} {:>6} {:>10} {:>10} {:>10} {:>10} {:>9} {:>12} {:>12}\n",
        r.server_version, r.clients, r.wall_s, "query", "runs", "errors", "p50 ms", "p95 ms", "p99 ms",
        "max ms", "q/s", "rows/s", "bytes/s"
    );
    for q in r.queries.iter().chain(std::iter::once(&r.total)) {
        out.push_str(&format!(
            "{:<16} {:>6} {:>6} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>9.2} {:>12.0} {:>12.0}\n",
            q.name,
            q.runs,
            q.errors,
            q.p50_ms,
            q.p95_ms,
            q.p99_ms,
            q.max_ms,
            q.queries_per_s,
            q.rows_per_s,
            q.bytes_per_s
        ));
    }
    for q in &r.queries {
        if let Some(e) = &q.first_error {
            out.push_str(&format!("{}: {} error(s), first: {e}\n", q.name, q.errors));
        }
    }
    out
}

fn csv(r: &Report) -> String {
    let mut out = String::from(
        "query,runs,errors,p50_ms,p95_ms,p99_ms,max_ms,mean_ms,queries_per_s,rows_per_s,bytes_per_s\n",
    );
    for q in r.queries.iter().chain(std::iter::once(&r.total)) {
        out.push_str(&format!(
            "{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.1},{:.1}\n",
            q.name,
            q.runs,
            q.errors,
            q.p50_ms,
            q.p95_ms,
            q.p99_ms,
            q.max_ms,
            q.mean_ms,
            q.queries_per_s,
            q.rows_per_s,
            q.bytes_per_s
        ));
    }
    out
}

/// New/old ratios per query (p50 latency: below 1 is faster; queries/s: above 1 is faster).
fn comparison(old: &Report, new: &Report) -> String {
    let mut out = format!(
        "\ncompared with the previous report (new / old)\n{:<16} {:>10} {:>10}\n",
        "query", "p50", "q/s"
    );
    for q in new.queries.iter().chain(std::iter::once(&new.total)) {
        let before = old
            .queries
            .iter()
            .chain(std::iter::once(&old.total))
            .find(|o| o.name == q.name);
        match before {
            Some(o) => out.push_str(&format!(
                "{:<16} {:>9.2}x {:>9.2}x\n",
                q.name,
                q.p50_ms / o.p50_ms,
                q.queries_per_s / o.queries_per_s
            )),
            None => out.push_str(&format!("{:<16} {:>10} {:>10}\n", q.name, "new", "new")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.50), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
