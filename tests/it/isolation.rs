//! A panic inside one query (a bug in a function or in the engine) is that query's error,
//! SQLSTATE XX000; the connection and the server keep working. Tested with a test-only
//! function that panics on purpose, planted only in this test's server.

use std::sync::OnceLock;

use datafusion::prelude::SessionContext;

use crate::support::{connect, demo_dir, plant_int64_function, sqlstate, start_server_with};

fn plant_panicking_function(ctx: &SessionContext) {
    plant_int64_function(ctx, "test_panic", |values| {
        if values.contains(&42) {
            panic!("test_panic met 42");
        }
    });
}

fn server() -> std::net::SocketAddr {
    static ADDR: OnceLock<std::net::SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| start_server_with(demo_dir(), plant_panicking_function))
}

#[tokio::test]
async fn a_panicking_query_fails_alone() {
    let client = connect(server()).await;
    let ok: i64 = client
        .query_one("SELECT test_panic(CAST(1 AS BIGINT))", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(ok, 1);

    // Simple protocol, panic while the first batch is computed.
    let err = client
        .simple_query("SELECT test_panic(CAST(42 AS BIGINT))")
        .await
        .expect_err("panics");
    assert_eq!(sqlstate(&err), "XX000", "{err:?}");
    let message = err
        .as_db_error()
        .map(|e| e.message().to_string())
        .unwrap_or_default();
    assert!(
        message.contains("test_panic met 42") && message.contains("keep working"),
        "{message}"
    );

    // Panic after rows were already streamed (42 is far into the series, past the first batch).
    let err = client
        .simple_query(
            "SELECT test_panic(CAST(v % 50000 + CASE WHEN v = 60042 THEN 42 - 60042 % 50000 ELSE 0 END AS BIGINT))
             FROM (SELECT unnest(generate_series(100, 70000)) AS v)",
        )
        .await
        .expect_err("panics mid-stream");
    assert!(
        err.as_db_error().is_some(),
        "a clean error, not a dropped connection: {err:?}"
    );

    // Extended protocol with a parameter.
    let err = client
        .query("SELECT test_panic($1::BIGINT)", &[&42i64])
        .await
        .expect_err("panics");
    assert_eq!(sqlstate(&err), "XX000", "{err:?}");

    // The same connection, and a new one, still work.
    let one: i64 = client
        .query_one("SELECT 1::BIGINT", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(one, 1);
    let other = connect(server()).await;
    let rows = other
        .query("SELECT count(*) FROM orders", &[])
        .await
        .unwrap();
    assert!(rows[0].get::<_, i64>(0) > 0);
}
