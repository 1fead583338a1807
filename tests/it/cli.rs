//! The `sightline` binary: `query`, `demo`, `--help`, and `serve` with the built-in demo default.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::demo_dir;

fn sightline() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sightline"))
}

#[test]
fn query_prints_a_table_and_fails_with_the_sqlstate() {
    let out = sightline()
        .args([
            "query",
            "SELECT count(*) AS customers FROM customers",
            "--data",
        ])
        .arg(demo_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("customers"), "{stdout}");
    assert!(
        stdout.contains(&crate::support::DEMO_CUSTOMERS.to_string()),
        "{stdout}"
    );
    assert!(stdout.contains("(1 row)"), "{stdout}");

    let out = sightline()
        .args(["query", "SELECT * FROM no_such_table", "--data"])
        .arg(demo_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("42P01") && stderr.contains("no_such_table"),
        "{stderr}"
    );
}

#[test]
fn help_documents_every_command_and_option() {
    let out = sightline().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for word in ["serve", "demo", "query", "--log-level"] {
        assert!(help.contains(word), "{help}");
    }
    let out = sightline().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for word in [
        "--data",
        "--listen",
        "--config",
        "--cache-dir",
        "SIGHTLINE_LISTEN",
        "SIGHTLINE_DATA",
    ] {
        assert!(help.contains(word), "serve --help lacks {word}:\n{help}");
    }
    let out = sightline().args(["demo", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for word in ["--out", "--customers", "--seed"] {
        assert!(help.contains(word), "demo --help lacks {word}:\n{help}");
    }
}

#[test]
fn demo_command_writes_tables() {
    let dir = tempfile::tempdir().unwrap();
    let out = sightline()
        .args(["demo", "--customers", "150", "--seed", "3", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in [
        "customers.parquet",
        "orders.parquet",
        "events/part-00000.parquet",
        "ad_spend.parquet",
    ] {
        assert!(dir.path().join(file).is_file(), "{file} missing");
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `serve` (no data directory: the demo default) until a client can query it.
fn serve_until_ready(config: &std::path::Path, port: u16) -> std::process::Child {
    let child = sightline()
        .args(["serve", "--config"])
        .arg(config)
        .env("SIGHTLINE_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("SIGHTLINE_DATA")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let url = format!("host=127.0.0.1 port={port} user=sightline dbname=sightline");
    loop {
        if let Ok(mut client) = postgres_client(&url) {
            let n: i64 = client
                .query_one("SELECT count(*) FROM customers", &[])
                .unwrap()
                .get(0);
            assert_eq!(n, 120);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "server did not come up"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    child
}

/// A blocking client over tokio-postgres for this synchronous test.
struct BlockingClient {
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl BlockingClient {
    fn query_one(
        &mut self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<tokio_postgres::Row, tokio_postgres::Error> {
        self.rt.block_on(self.client.query_one(sql, params))
    }
}

fn postgres_client(url: &str) -> Result<BlockingClient, tokio_postgres::Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (client, connection) = rt.block_on(tokio_postgres::connect(url, tokio_postgres::NoTls))?;
    rt.spawn(connection);
    Ok(BlockingClient { rt, client })
}

#[test]
fn serve_without_data_generates_the_demo_once_and_reuses_it() {
    let cache = tempfile::tempdir().unwrap();
    let config = cache.path().join("sightline.toml");
    std::fs::write(
        &config,
        format!(
            "cache_dir = {:?}\nlog_level = \"warn\"\n[demo]\ncustomers = 120\nseed = 5\n",
            cache.path().join("cache")
        ),
    )
    .unwrap();
    let marker = cache.path().join("cache/demo-v1-c120-s5/.complete");

    let mut first = serve_until_ready(&config, free_port());
    first.kill().unwrap();
    first.wait().unwrap();
    let generated = std::fs::metadata(&marker)
        .expect("demo cached")
        .modified()
        .unwrap();

    let mut second = serve_until_ready(&config, free_port());
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(
        std::fs::metadata(&marker).unwrap().modified().unwrap(),
        generated
    );
}
