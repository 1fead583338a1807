//! Every `.sql` file in `sql-examples/` runs against the demo data without error. (The TPC-H
//! queries in `sql-examples/tpch/` run against TPC-H data in `tpch.rs`.)

use std::path::PathBuf;

use crate::support::{connect, demo_server};

fn example_files() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sql-examples");
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&root)
        .max_depth(1)
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_sql_example_runs() {
    let files = example_files();
    assert!(!files.is_empty(), "no files under sql-examples/");
    let client = connect(demo_server()).await;
    let mut failures = Vec::new();
    for file in &files {
        let sql = std::fs::read_to_string(file).unwrap();
        match client.simple_query(&sql).await {
            Ok(messages) => {
                let rows = messages
                    .iter()
                    .filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
                    .count();
                assert!(rows > 0, "{} returned no rows", file.display());
            }
            Err(e) => failures.push(format!("{}: {e:?}", file.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "failing examples:\n{}",
        failures.join("\n")
    );
}
