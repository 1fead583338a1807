//! `sightline tpch` data and the 22 TPC-H queries in `sql-examples/tpch/`, served over the wire,
//! and `sightline bench` driving them. Answers are checked against DuckDB's on the same files by
//! `benches/compare/tpch.py`; here every query must run and the small, fixed-answer ones are
//! checked exactly.

use std::path::Path;
use std::process::Command;

use crate::support::{connect, spawn_server, TestServer};

#[tokio::test]
async fn tpch_queries_run_and_bench_reports_them() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["tpch", "--sf", "0.01", "--parts", "2", "--out"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let addr = spawn_server(TestServer {
        data: data.path().to_owned(),
        ..TestServer::default()
    });
    let client = connect(addr).await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sql-examples/tpch");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 22);
    let mut failures = Vec::new();
    let mut answers = Vec::new();
    for file in &files {
        let sql = std::fs::read_to_string(file).unwrap();
        match client.simple_query(&sql).await {
            Ok(messages) => answers.push(rows_text(&messages)),
            Err(e) => failures.push(format!("{}: {e:?}", file.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Sightline's optimizer rules (filter order, scans filtered by join keys) must not change
    // an answer: the same queries without join dynamic filters, which also turns the
    // join-key filters off, answer the same.
    client
        .simple_query("SET datafusion.optimizer.enable_join_dynamic_filter_pushdown = false")
        .await
        .unwrap();
    for (file, answer) in files.iter().zip(&answers) {
        let sql = std::fs::read_to_string(file).unwrap();
        let plain = rows_text(&client.simple_query(&sql).await.unwrap());
        assert_eq!(&plain, answer, "{}", file.display());
    }
    client
        .simple_query("RESET datafusion.optimizer.enable_join_dynamic_filter_pushdown")
        .await
        .unwrap();
    // Q1 at SF 0.01 has the four (returnflag, linestatus) groups.
    let q1 = std::fs::read_to_string(dir.join("q01.sql")).unwrap();
    let groups = client
        .simple_query(&q1)
        .await
        .unwrap()
        .iter()
        .filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
        .count();
    assert_eq!(groups, 4);

    let report = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args([
            "bench",
            "--clients",
            "2",
            "--iterations",
            "1",
            "--warmup",
            "0",
            "--format",
            "json",
        ])
        .arg("--url")
        .arg(format!(
            "postgres://bench@{}:{}/sightline",
            addr.ip(),
            addr.port()
        ))
        .arg("--queries")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let queries = json["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 22);
    for q in queries {
        assert_eq!(q["runs"], 2, "{q}");
        assert_eq!(q["errors"], 0, "{q}");
        assert!(q["p50_ms"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(json["total"]["runs"], 44);
}

fn rows_text(messages: &[tokio_postgres::SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}
