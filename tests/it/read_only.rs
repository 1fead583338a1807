//! A read-only session (here: trust with trust_role = read_only) may only query: COPY to/from server files or
//! programs, DML, DDL and external tables get 42501. Admin sessions: `security.rs`.

use sightline::security::{Role, Security};

use crate::support::{assert_bad_calls, connect, spawn_server, sqlstate, TestServer};

#[tokio::test]
async fn writes_and_file_access_are_refused() {
    let addr = spawn_server(TestServer {
        security: Security {
            trust_role: Role::ReadOnly,
            ..Security::default()
        },
        ..TestServer::default()
    });
    let client = connect(addr).await;
    let leak = std::env::temp_dir().join(format!("sightline-leak-{}.csv", std::process::id()));
    let traversal = format!(
        "{}/../{}/sightline-leak-{}.csv",
        std::env::temp_dir().display(),
        std::env::temp_dir()
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("tmp"),
        std::process::id()
    );
    let cases = [
        (
            format!("COPY (SELECT 1 AS x) TO '{}'", leak.display()),
            "42501",
            "COPY to a server file is not allowed for role read_only",
        ),
        (
            format!("COPY orders TO '{traversal}'"),
            "42501",
            "COPY to a server file is not allowed",
        ),
        (
            "COPY orders FROM '/etc/hostname'".to_string(),
            "42501",
            "COPY from a server file is not allowed",
        ),
        (
            "COPY orders TO PROGRAM 'id'".to_string(),
            "42501",
            "COPY to or from a program",
        ),
        (
            "INSERT INTO orders SELECT * FROM orders LIMIT 1".to_string(),
            "42501",
            "role is read_only",
        ),
        (
            "UPDATE orders SET total = 0".to_string(),
            "42501",
            "role is read_only",
        ),
        (
            "DELETE FROM orders".to_string(),
            "42501",
            "role is read_only",
        ),
        ("TRUNCATE orders".to_string(), "42501", "role is read_only"),
        (
            "DROP TABLE orders".to_string(),
            "42501",
            "role is read_only",
        ),
        (
            "CREATE VIEW v AS SELECT 1 AS x".to_string(),
            "42501",
            "role is read_only",
        ),
        (
            "CREATE TABLE t AS SELECT 1 AS x".to_string(),
            "42501",
            "role is read_only",
        ),
        (
            "CREATE EXTERNAL TABLE e STORED AS PARQUET LOCATION '/etc/'".to_string(),
            "42501",
            "role is read_only",
        ),
    ];
    let cases: Vec<(&str, &str, &str)> =
        cases.iter().map(|(a, b, c)| (a.as_str(), *b, *c)).collect();
    assert_bad_calls(&client, &cases).await;
    assert!(!leak.exists(), "COPY wrote {}", leak.display());
    // Extended protocol too.
    let err = client
        .execute("INSERT INTO orders SELECT * FROM orders LIMIT 1", &[])
        .await
        .expect_err("refused");
    assert_eq!(sqlstate(&err), "42501");
    // Nothing was dropped; queries, SET and transactions still work.
    let n: i64 = client
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0);
    assert!(n > 0);
    client
        .batch_execute("BEGIN; SET search_path = public; SELECT 1; COMMIT")
        .await
        .unwrap();
}
