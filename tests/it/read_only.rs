//! The data directory is read-only and no statement reads or writes other files: COPY to/from
//! server files or programs, DML, DROP TABLE and external tables get 42501; views still work.

use crate::support::{assert_bad_calls, connect, demo_server, sqlstate};

#[tokio::test]
async fn writes_and_file_access_are_refused() {
    let client = connect(demo_server()).await;
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
            "COPY to or from a server file",
        ),
        (
            format!("COPY orders TO '{traversal}'"),
            "42501",
            "COPY to or from a server file",
        ),
        (
            "COPY orders FROM '/etc/hostname'".to_string(),
            "42501",
            "COPY to or from a server file",
        ),
        (
            "COPY orders TO PROGRAM 'id'".to_string(),
            "42501",
            "COPY to or from a server file",
        ),
        (
            "INSERT INTO orders SELECT * FROM orders LIMIT 1".to_string(),
            "42501",
            "read-only",
        ),
        (
            "UPDATE orders SET total = 0".to_string(),
            "42501",
            "read-only",
        ),
        ("DELETE FROM orders".to_string(), "42501", "read-only"),
        ("TRUNCATE orders".to_string(), "42501", "read-only"),
        ("DROP TABLE orders".to_string(), "42501", "DROP TABLE"),
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
    // Nothing was dropped, and views are still allowed.
    let n: i64 = client
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0);
    assert!(n > 0);
    client
        .simple_query("CREATE OR REPLACE VIEW read_only_probe AS SELECT 1 AS x")
        .await
        .unwrap();
    client
        .simple_query("DROP VIEW read_only_probe")
        .await
        .unwrap();
}
