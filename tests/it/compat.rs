//! The BI-tool compatibility suite (`tests/compat/`): real drivers — psycopg 3, SQLAlchemy 2,
//! pgcli, pgjdbc, node-postgres — against a fresh server on the demo data. Each client script prints
//! one `PASS|FAIL <tab> check <tab> error` line per check. `tests/compat/known_failures.tsv`
//! lists the checks that fail today, with why; the test fails on any other failure, and also
//! when a listed check starts passing (so the list only ever shrinks). `.ci/run` installs the
//! clients.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{spawn_server, TestServer};

fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat")
}

/// `(client, check)` pairs expected to fail.
fn known_failures() -> BTreeSet<(String, String)> {
    std::fs::read_to_string(compat_dir().join("known_failures.tsv"))
        .expect("tests/compat/known_failures.tsv")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.split('\t');
            Some((parts.next()?.to_string(), parts.next()?.to_string()))
        })
        .collect()
}

/// One check's name and, if it failed, why.
type Outcome = (String, Option<String>);

/// Runs a client suite; returns its `(check, error)` lines.
fn run(client: &str, command: &mut Command) -> Vec<Outcome> {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{client}: cannot run {command:?}: {e} (.ci/run installs it)"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Outcome> = stdout
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            let status = parts.next()?;
            let name = parts.next()?.to_string();
            let error = parts.next().unwrap_or("").to_string();
            match status {
                "PASS" => Some((name, None)),
                "FAIL" => Some((name, Some(error))),
                _ => None,
            }
        })
        .collect();
    assert!(
        !lines.is_empty(),
        "{client} printed no results:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lines
}

#[test]
fn drivers_and_bi_clients() {
    let addr = spawn_server(TestServer::default());
    let dir = compat_dir();
    let dsn = format!(
        "host={} port={} user=sightline dbname=sightline",
        addr.ip(),
        addr.port()
    );
    let mut outcomes: Vec<(String, Vec<Outcome>)> = Vec::new();

    outcomes.push((
        "psycopg".into(),
        run(
            "psycopg",
            Command::new("python3")
                .arg(dir.join("psycopg_suite.py"))
                .env("SIGHTLINE_DSN", &dsn),
        ),
    ));
    outcomes.push((
        "sqlalchemy".into(),
        run(
            "sqlalchemy",
            Command::new("python3")
                .arg(dir.join("sqlalchemy_suite.py"))
                .env(
                    "SIGHTLINE_URL",
                    format!(
                        "postgresql+psycopg://sightline@{}:{}/sightline",
                        addr.ip(),
                        addr.port()
                    ),
                ),
        ),
    ));
    outcomes.push((
        "pgcli".into(),
        run(
            "pgcli",
            Command::new("python3")
                .arg(dir.join("pgcli_suite.py"))
                .env("SIGHTLINE_DSN", &dsn),
        ),
    ));
    let node = dir.join("node");
    if !node.join("node_modules/pg").exists() {
        let status = Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund"])
            .current_dir(&node)
            .status()
            .expect("npm is installed (.ci/run installs nodejs/npm)");
        assert!(status.success(), "npm install in tests/compat/node failed");
    }
    outcomes.push((
        "node-postgres".into(),
        run(
            "node-postgres",
            Command::new("node")
                .arg(node.join("pg_suite.js"))
                .env("SIGHTLINE_PORT", addr.port().to_string()),
        ),
    ));
    let jar =
        std::env::var("PGJDBC_JAR").unwrap_or_else(|_| "/usr/share/java/postgresql.jar".into());
    let classes = tempfile::tempdir().unwrap();
    let status = Command::new("javac")
        .args(["-cp", &jar, "-d"])
        .arg(classes.path())
        .arg(dir.join("jdbc/JdbcSuite.java"))
        .status()
        .expect("javac is installed (.ci/run installs default-jdk-headless)");
    assert!(status.success(), "javac JdbcSuite.java failed");
    outcomes.push((
        "pgjdbc".into(),
        run(
            "pgjdbc",
            Command::new("java")
                .arg("-cp")
                .arg(format!("{}:{jar}", classes.path().display()))
                .arg("JdbcSuite")
                .arg(format!(
                    "jdbc:postgresql://{}:{}/sightline?user=sightline",
                    addr.ip(),
                    addr.port()
                )),
        ),
    ));

    let known = known_failures();
    let mut problems = Vec::new();
    println!(
        "{:<14} {:>6} {:>6} {:>7}",
        "client", "pass", "fail", "known"
    );
    for (client, checks) in &outcomes {
        let passed = checks.iter().filter(|(_, e)| e.is_none()).count();
        let failed = checks.len() - passed;
        let known_here = checks
            .iter()
            .filter(|(n, _)| known.contains(&(client.clone(), n.clone())))
            .count();
        println!("{client:<14} {passed:>6} {failed:>6} {known_here:>7}");
        for (name, error) in checks {
            let expected_to_fail = known.contains(&(client.clone(), name.clone()));
            match (error, expected_to_fail) {
                (Some(e), false) => problems.push(format!("{client}: {name}: {e}")),
                (None, true) => problems.push(format!(
                    "{client}: {name}: passes now; remove it from tests/compat/known_failures.tsv"
                )),
                _ => {}
            }
        }
    }
    assert!(
        problems.is_empty(),
        "compatibility suite:\n{}",
        problems.join("\n")
    );
}

/// The catalog queries BI tools and SQL clients send on connect and on schema sync
/// (`tests/compat/queries/*.sql`: Metabase, Grafana, DBeaver, pgAdmin, pgcli, ADBC), replayed
/// over both protocols: every one must run without error, except the blocks marked
/// `-- known failure: why`, which must still fail (remove the mark when one starts working).
/// A block with `-- expect rows: N+` must also return at least N rows, and one with `-- expect
/// value: v` a row whose first column is `v`.
#[tokio::test]
async fn replayed_catalog_queries_run() {
    let addr = crate::support::demo_server();
    let client = crate::support::connect(addr).await;
    let mut files: Vec<PathBuf> = std::fs::read_dir(compat_dir().join("queries"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut replayed = 0;
    let mut known = 0;
    let mut checked = 0;
    for file in &files {
        let tool = file.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(file).unwrap();
        for block in text.split("\n-- next\n") {
            let sql: String = block
                .lines()
                .filter(|l| !l.starts_with("-- "))
                .collect::<Vec<_>>()
                .join("\n");
            let sql = sql.trim();
            if sql.is_empty() {
                continue;
            }
            replayed += 1;
            if block.contains("-- known failure:") {
                known += 1;
                if client.simple_query(sql).await.is_ok() {
                    failures.push(format!(
                        "{tool}: a known failure now runs; remove its mark\n  {}",
                        shorten(sql)
                    ));
                }
                continue;
            }
            let messages = match client.simple_query(sql).await {
                Ok(messages) => messages,
                Err(e) => {
                    failures.push(format!(
                        "{tool} (simple): {}\n  {}",
                        describe(&e),
                        shorten(sql)
                    ));
                    continue;
                }
            };
            // `-- expect rows: N+`: a correct answer on the demo data has at least N rows.
            let expected = block.lines().find_map(|l| {
                l.strip_prefix("-- expect rows: ")
                    .and_then(|n| n.trim().trim_end_matches('+').parse::<usize>().ok())
            });
            if let Some(min) = expected {
                checked += 1;
                let rows = messages
                    .iter()
                    .filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
                    .count();
                if rows < min {
                    failures.push(format!(
                        "{tool}: {rows} rows, a correct answer has at least {min}\n  {}",
                        shorten(sql)
                    ));
                }
            }
            // `-- expect value: v`: some row's first column is v (as PostgreSQL answers).
            for value in block
                .lines()
                .filter_map(|l| l.strip_prefix("-- expect value: "))
            {
                checked += 1;
                let found = messages.iter().any(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0) == Some(value),
                    _ => false,
                });
                if !found {
                    failures.push(format!(
                        "{tool}: no row starts with {value:?}\n  {}",
                        shorten(sql)
                    ));
                }
            }
            let is_query = sql.to_ascii_lowercase().starts_with("select")
                || sql.to_ascii_lowercase().starts_with("with");
            if is_query {
                if let Err(e) = client.query(sql, &[]).await {
                    failures.push(format!(
                        "{tool} (extended): {}\n  {}",
                        describe(&e),
                        shorten(sql)
                    ));
                }
            }
        }
    }
    println!(
        "replayed {replayed} catalog queries from {} tools ({known} known failures, \
         {checked} row counts checked)",
        files.len()
    );
    assert!(replayed >= 40, "only {replayed} queries in the corpus");
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn shorten(sql: &str) -> String {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    flat.chars().take(160).collect()
}

fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}
