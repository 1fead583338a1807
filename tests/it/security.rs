//! Authentication (SCRAM-SHA-256 through tokio-postgres and libpq's psql), TLS (psql with
//! sslmode=require / verify-full, require_tls), roles (read_only vs admin, file paths confined to
//! the data directory, `..` and symlinks included), result limits, the idle-session timeout, and
//! a client hanging up mid-query.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use datafusion::prelude::SessionContext;
use sightline::security::{Limits, Role, Security, User, Verifier};
use tokio_postgres::NoTls;

use crate::support::{demo_dir, spawn_server, sqlstate, TestServer};

fn tls_files() -> (PathBuf, PathBuf) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    (dir.join("server.crt"), dir.join("server.key"))
}

/// A data directory of its own (admins write into it): the demo's orders table.
fn own_data_dir() -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix("sightline-sec-")
        .tempdir()
        .unwrap()
        .keep();
    std::fs::copy(
        demo_dir().join("orders.parquet"),
        dir.join("orders.parquet"),
    )
    .unwrap();
    dir
}

fn users() -> Security {
    let mut users = HashMap::new();
    users.insert(
        "analyst".to_string(),
        User {
            verifier: Verifier::new("s3cret pass", 4096),
            role: Role::ReadOnly,
            limits: Limits {
                max_result_rows: Some(100),
                max_result_bytes: None,
            },
        },
    );
    users.insert(
        "boss".to_string(),
        User {
            verifier: Verifier::new("adm1n", 4096),
            role: Role::Admin,
            limits: Limits {
                max_result_rows: None,
                max_result_bytes: Some(10_000),
            },
        },
    );
    Security::scram(users)
}

async fn login(
    addr: SocketAddr,
    user: &str,
    password: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(
        &format!(
            "host={} port={} user={user} password='{password}' dbname=sightline",
            addr.ip(),
            addr.port()
        ),
        NoTls,
    )
    .await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

fn psql(addr: SocketAddr, conn: &str, password: &str, sql: &str) -> (bool, String) {
    let out = Command::new("psql")
        .arg(format!("port={} dbname=sightline {conn}", addr.port()))
        .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .env("PGPASSWORD", password)
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("psql is installed (.ci/run installs postgresql-client)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn scram_logins_roles_and_confined_paths() {
    let data = own_data_dir();
    let addr = spawn_server(TestServer {
        data: data.clone(),
        security: users(),
        ..TestServer::default()
    });

    // Wrong password and unknown user fail alike, with 28P01.
    for (user, password) in [
        ("analyst", "nope"),
        ("nobody", "nope"),
        ("boss", "s3cret pass"),
    ] {
        let err = login(addr, user, password).await.expect_err("refused");
        assert_eq!(sqlstate(&err), "28P01", "{user}: {err:?}");
        let message = err.as_db_error().unwrap().message().to_string();
        assert_eq!(
            message,
            format!("password authentication failed for user \"{user}\"")
        );
    }

    // Read-only analyst: queries, but no DDL or files, and at most 100 rows.
    let analyst = login(addr, "analyst", "s3cret pass")
        .await
        .expect("analyst logs in");
    let n: i64 = analyst
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0);
    assert!(n > 100);
    assert_eq!(
        analyst
            .query("SELECT * FROM orders LIMIT 100", &[])
            .await
            .unwrap()
            .len(),
        100
    );
    let err = analyst
        .query("SELECT * FROM orders", &[])
        .await
        .expect_err("row limit");
    assert_eq!(sqlstate(&err), "53400");
    assert!(err
        .as_db_error()
        .unwrap()
        .message()
        .contains("max_result_rows limit (100)"));
    let err = analyst
        .simple_query("SELECT * FROM orders")
        .await
        .expect_err("row limit");
    assert_eq!(sqlstate(&err), "53400");
    for sql in [
        "CREATE VIEW v AS SELECT 1 AS x",
        "DROP TABLE orders",
        &format!("COPY (SELECT 1 AS x) TO '{}/x.csv'", data.display()),
    ] {
        let err = analyst.simple_query(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&err), "42501", "{sql}");
    }

    // Admin: views and files, but only inside the data directory; at most 10 kB of result.
    let boss = login(addr, "boss", "adm1n").await.expect("boss logs in");
    boss.simple_query("CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100")
        .await
        .unwrap();
    let inside = data.join("exports/one.csv");
    boss.simple_query(&format!("COPY (SELECT 1 AS x) TO '{}'", inside.display()))
        .await
        .unwrap();
    assert!(inside.exists());
    boss.simple_query(&format!(
        "CREATE EXTERNAL TABLE orders_again STORED AS PARQUET LOCATION '{}'",
        data.join("orders.parquet").display()
    ))
    .await
    .unwrap();
    let again: i64 = boss
        .query_one("SELECT count(*) FROM orders_again", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(again, n);
    let outside = std::env::temp_dir().join(format!("sightline-escape-{}.csv", std::process::id()));
    #[cfg(unix)]
    std::os::unix::fs::symlink(std::env::temp_dir(), data.join("tmp_link")).unwrap();
    for target in [
        outside.display().to_string(),
        format!(
            "{}/../sightline-escape-{}.csv",
            data.display(),
            std::process::id()
        ),
        format!(
            "{}/exports/../../sightline-escape-{}.csv",
            data.display(),
            std::process::id()
        ),
        format!(
            "{}/tmp_link/sightline-escape-{}.csv",
            data.display(),
            std::process::id()
        ),
        format!("file://{}", outside.display()),
    ] {
        let err = boss
            .simple_query(&format!("COPY (SELECT 1 AS x) TO '{target}'"))
            .await
            .expect_err(&target);
        assert_eq!(sqlstate(&err), "42501", "{target}");
        assert!(err
            .as_db_error()
            .unwrap()
            .message()
            .contains("outside the data directory"));
    }
    assert!(!outside.exists(), "a COPY escaped the data directory");
    for sql in [
        "CREATE EXTERNAL TABLE etc STORED AS PARQUET LOCATION '/etc/'",
        "COPY orders TO PROGRAM 'id'",
        "COPY orders FROM '/etc/hostname'",
    ] {
        let err = boss.simple_query(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&err), "42501", "{sql}");
    }
    let err = boss
        .query("SELECT * FROM orders", &[])
        .await
        .expect_err("byte limit");
    assert_eq!(sqlstate(&err), "53400");
    assert!(err
        .as_db_error()
        .unwrap()
        .message()
        .contains("max_result_bytes"));
    // The analyst sees the admin's view (one shared catalog) but still cannot drop it.
    let err = analyst
        .simple_query("DROP VIEW big_orders")
        .await
        .expect_err("drop");
    assert_eq!(sqlstate(&err), "42501");

    // libpq's own SCRAM implementation (psql) agrees.
    let (ok, out) = psql(
        addr,
        "host=127.0.0.1 user=analyst",
        "s3cret pass",
        "SELECT 41 + 1",
    );
    assert!(ok && out.trim() == "42", "{out}");
    let (ok, out) = psql(addr, "host=127.0.0.1 user=analyst", "bad", "SELECT 1");
    assert!(
        !ok && out.contains("password authentication failed for user \"analyst\""),
        "{out}"
    );
}

#[tokio::test]
async fn tls_with_psql_and_required_tls() {
    let (cert, key) = tls_files();
    let mut security = users();
    security.require_tls = true;
    let addr = spawn_server(TestServer {
        security,
        tls: Some((cert.clone(), key)),
        ..TestServer::default()
    });
    let (ok, out) = psql(
        addr,
        "host=127.0.0.1 user=analyst sslmode=require",
        "s3cret pass",
        "SELECT count(*) > 0 FROM orders",
    );
    assert!(ok && out.trim() == "t", "{out}");
    let (ok, out) = psql(
        addr,
        &format!(
            "host=localhost user=analyst sslmode=verify-full sslrootcert={}",
            cert.display()
        ),
        "s3cret pass",
        "SELECT 1",
    );
    assert!(ok && out.trim() == "1", "{out}");
    // A certificate the client does not trust is refused by the client.
    let (ok, out) = psql(
        addr,
        "host=localhost user=analyst sslmode=verify-full sslrootcert=/dev/null",
        "s3cret pass",
        "SELECT 1",
    );
    assert!(!ok, "{out}");
    // require_tls refuses plaintext with 28000.
    let (ok, out) = psql(
        addr,
        "host=127.0.0.1 user=analyst sslmode=disable",
        "s3cret pass",
        "SELECT 1",
    );
    assert!(!ok && out.contains("requires TLS"), "{out}");
    let err = login(addr, "analyst", "s3cret pass")
        .await
        .expect_err("plaintext refused");
    assert_eq!(sqlstate(&err), "28000");
}

static SLEEP_CALLS: AtomicU64 = AtomicU64::new(0);

/// `test_sleep(ms)`: sleeps per batch and counts its calls, so a test can see a query run on.
fn plant_sleep(ctx: &SessionContext) {
    crate::support::plant_int64_function(ctx, "test_sleep", |values| {
        SLEEP_CALLS.fetch_add(1, Ordering::SeqCst);
        let ms = values.first().copied().unwrap_or(0);
        std::thread::sleep(Duration::from_millis(ms.clamp(0, 2000) as u64));
    });
}

#[tokio::test]
async fn idle_sessions_close_with_57p05_and_hangups_stop_queries() {
    let addr = spawn_server(TestServer {
        setup: plant_sleep,
        idle_session_timeout: Duration::from_millis(1500),
        ..TestServer::default()
    });
    let (client, connection) = tokio_postgres::connect(&crate::support::conn_string(addr), NoTls)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    // A statement longer than the timeout is not idleness.
    let slept: i64 = client
        .query_one("SELECT test_sleep(2000::BIGINT)", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(slept, 2000);
    client.simple_query("SELECT 1").await.unwrap();
    // Then silence: the server says why it closes.
    let ended = tokio::time::timeout(Duration::from_secs(10), connection)
        .await
        .expect("closed within the timeout")
        .unwrap();
    let err = ended.expect_err("closed by the server");
    assert_eq!(sqlstate(&err), "57P05", "{err:?}");
    assert!(client.simple_query("SELECT 1").await.is_err());

    // A client that hangs up while its statement computes (no rows sent yet) stops it.
    let (client, connection) = tokio_postgres::connect(&crate::support::conn_string(addr), NoTls)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let query = tokio::spawn(async move {
        let _ = client
            .simple_query(
                "SELECT count(*) FROM generate_series(1, 100000000) AS t(x) WHERE test_sleep(50::BIGINT) > 0",
            )
            .await;
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    let before = SLEEP_CALLS.load(Ordering::SeqCst);
    assert!(before > 0, "the query started");
    query.abort();
    connection.abort();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stopped = SLEEP_CALLS.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        SLEEP_CALLS.load(Ordering::SeqCst),
        stopped,
        "the query kept running after the client left"
    );
    // The server still serves.
    let client = crate::support::connect(addr).await;
    crate::support::assert_usable(&client).await;
}

/// `max_concurrent_queries`: statements beyond the limit wait for a slot, within their own
/// statement_timeout (57014 if it runs out while queued); a cancelled statement frees its slot.
#[tokio::test]
async fn statements_beyond_max_concurrent_queries_wait_their_turn() {
    let addr = spawn_server(TestServer {
        configure: |s| s.with_max_concurrent_queries(1),
        ..TestServer::default()
    });
    let busy = crate::support::connect(addr).await;
    let token = busy.cancel_token();
    let slow = tokio::spawn(async move {
        busy.simple_query("SELECT count(*) FROM range(0, 200000000000) WHERE value % 7 = 3")
            .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let impatient = crate::support::connect(addr).await;
    impatient
        .batch_execute("SET statement_timeout = 300")
        .await
        .unwrap();
    let waited = std::time::Instant::now();
    let err = impatient
        .simple_query("SELECT 1")
        .await
        .expect_err("no slot within 300 ms");
    assert_eq!(sqlstate(&err), "57014");
    assert!(waited.elapsed() >= Duration::from_millis(250));
    // Cancelling the running statement frees the slot for the next one.
    token.cancel_query(NoTls).await.unwrap();
    let err = slow.await.unwrap().expect_err("cancelled");
    assert_eq!(sqlstate(&err), "57014");
    let patient = crate::support::connect(addr).await;
    crate::support::assert_usable(&patient).await;
    crate::support::assert_usable(&impatient).await;
}
