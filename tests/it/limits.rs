//! Connection limit: beyond max_connections a client is refused with SQLSTATE 53300 (also when
//! it first asks for TLS, as psql does), and a freed slot is usable again.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use sightline::config::Config;

use crate::support::{conn_string, connect, spawn_server, TestServer};

fn limited_server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        spawn_server(TestServer {
            configure: |s| s.with_max_connections(2),
            ..TestServer::default()
        })
    })
}

#[tokio::test]
async fn connections_beyond_the_limit_get_53300() {
    let addr = limited_server();
    let first = connect(addr).await;
    let second = connect(addr).await;
    let err = match tokio_postgres::connect(&conn_string(addr), tokio_postgres::NoTls).await {
        Ok(_) => panic!("a third connection was accepted"),
        Err(e) => e,
    };
    assert_eq!(err.code().map(|c| c.code()), Some("53300"), "{err:?}");

    // psql asks for TLS first; it must still get the refusal, not a hang or a reset.
    let out = std::process::Command::new("psql")
        .arg(format!(
            "host={} port={} user=sightline dbname=sightline sslmode=prefer connect_timeout=5",
            addr.ip(),
            addr.port()
        ))
        .args(["-c", "SELECT 1"])
        .output()
        .expect("psql runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("too many clients"),
        "{stderr}"
    );

    // The two admitted connections keep working, and a freed slot is reused.
    let one: i64 = first
        .query_one("SELECT 1::BIGINT", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(one, 1);
    drop(second);
    let mut admitted = None;
    for _ in 0..50 {
        if let Ok((client, connection)) =
            tokio_postgres::connect(&conn_string(addr), tokio_postgres::NoTls).await
        {
            tokio::spawn(connection);
            admitted = Some(client);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let third = admitted.expect("the freed slot is reused");
    let n: i64 = third
        .query_one("SELECT count(*) FROM customers", &[])
        .await
        .unwrap()
        .get(0);
    assert!(n > 0);
}

/// Five billion generated rows, streamed in batches: minutes of work, far beyond the timeouts
/// below, and an operator that yields between batches so the timeout can stop it promptly.
const SLOW: &str = "SELECT count(*) FROM generate_series(1, 5000000000) t WHERE t.value % 7 = 3";

fn timed_server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        spawn_server(TestServer {
            configure: |s| s.with_statement_timeout(Duration::from_millis(300)),
            ..TestServer::default()
        })
    })
}

#[tokio::test]
async fn statement_timeout_cancels_with_57014() {
    use crate::support::sqlstate;
    // The server default applies to every session...
    let client = connect(timed_server()).await;
    let started = std::time::Instant::now();
    let err = client.simple_query(SLOW).await.expect_err("times out");
    assert_eq!(sqlstate(&err), "57014", "{err:?}");
    // Prompt even on a loaded machine (the query alone would take minutes).
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    // ... a session can lift it for itself ...
    client
        .simple_query("SET statement_timeout = 0")
        .await
        .unwrap();
    let n: i64 = client
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0);
    assert!(n > 0);
    // ... and set its own, through the extended protocol too.
    client
        .execute("SET statement_timeout TO '50ms'", &[])
        .await
        .unwrap();
    let err = client.query(SLOW, &[]).await.expect_err("times out");
    assert_eq!(sqlstate(&err), "57014", "{err:?}");
    let err = client
        .simple_query("SET statement_timeout = 'soon'")
        .await
        .expect_err("bad value");
    assert_eq!(sqlstate(&err), "22023", "{err:?}");
    client
        .simple_query("RESET statement_timeout")
        .await
        .unwrap();
    let err = client
        .simple_query(SLOW)
        .await
        .expect_err("the server default again");
    assert_eq!(sqlstate(&err), "57014");
    // Other sessions are not affected by this one's SET.
    let other = connect(timed_server()).await;
    let one: i64 = other
        .query_one("SELECT 1::BIGINT", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(one, 1);
}

#[tokio::test]
async fn shutdown_stops_accepting_and_waits_for_open_sessions() {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let addr = spawn_server(TestServer {
        shutdown: Some((stop_rx, Duration::from_secs(30), done_tx)),
        ..TestServer::default()
    });
    let client = connect(addr).await;
    stop_tx.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // No new sessions once shutdown has begun...
    assert!(
        tokio_postgres::connect(&conn_string(addr), tokio_postgres::NoTls)
            .await
            .is_err()
    );
    // ... while the open one keeps working through the grace period ...
    let n: i64 = client
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0);
    assert!(n > 0);
    assert!(
        done_rx.try_recv().is_err(),
        "the server must wait for the open session"
    );
    // ... and the server is done as soon as it ends, long before the 30 s grace.
    drop(client);
    let mut done = false;
    for _ in 0..100 {
        // Poll without blocking: this test's runtime must keep running to close the client.
        if done_rx.try_recv().is_ok() {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done, "shutdown completes once the last session ends");
}

#[tokio::test]
async fn a_small_memory_pool_spills_or_fails_cleanly() {
    let client = connect(spawn_server(TestServer {
        config: Config {
            target_partitions: 2,
            memory_limit_mb: 16,
            ..Config::default()
        },
        ..TestServer::default()
    }))
    .await;
    // A 3-million-row sort does not fit in 16 MiB: it spills to disk and still answers.
    let n: i64 = client
        .query_one(
            "SELECT CAST(count(*) AS BIGINT) FROM (
               SELECT value, row_number() OVER (ORDER BY value % 9973, value) AS r
               FROM generate_series(1, 3000000)) WHERE r > 0 AND value > 0",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3_000_000);
    // Whatever cannot spill fails with 53200 instead of growing without bound.
    match client
        .query_one(
            "SELECT CAST(count(*) AS BIGINT) FROM (SELECT value % 2000000 AS k, array_agg(value) AS v
                                               FROM generate_series(1, 4000000) GROUP BY 1)",
            &[],
        )
        .await
    {
        Ok(row) => assert_eq!(row.get::<_, i64>(0), 2_000_000),
        Err(e) => assert_eq!(crate::support::sqlstate(&e), "53200", "{e:?}"),
    }
    let one: i64 = client
        .query_one("SELECT 1::BIGINT", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(one, 1);
}
