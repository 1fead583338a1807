//! The data-directory catalog through the wire: partitions, bad files, files added while running.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
use datafusion::parquet::arrow::ArrowWriter;

use crate::support::{connect, first_column, sqlstate, start_server};

fn write_parquet(path: &Path, ids: &[i64], labels: &[&str]) {
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids.to_vec())) as _),
        ("label", Arc::new(StringArray::from(labels.to_vec())) as _),
    ])
    .unwrap();
    write_batch(path, &batch);
}

fn write_batch(path: &Path, batch: &RecordBatch) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut writer =
        ArrowWriter::try_new(fs::File::create(path).unwrap(), batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

async fn table_names(client: &tokio_postgres::Client) -> Vec<String> {
    let rows = client
        .simple_query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
        )
        .await
        .unwrap();
    first_column(&rows).into_iter().flatten().collect()
}

#[tokio::test]
async fn hive_partitions_become_columns() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_parquet(
        &root.join("sales/region=north/year=2024/a.parquet"),
        &[1, 2],
        &["a", "b"],
    );
    write_parquet(
        &root.join("sales/region=north/year=2025/b.parquet"),
        &[3],
        &["c"],
    );
    write_parquet(
        &root.join("sales/region=south/year=2025/c.parquet"),
        &[4, 5, 6],
        &["d", "e", "f"],
    );
    let client = connect(start_server(root)).await;

    let rows = client
        .query(
            "SELECT region, year, count(*) AS n FROM sales GROUP BY 1, 2 ORDER BY 1, 2",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(String, i64, i64)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        got,
        vec![
            ("north".into(), 2024, 2),
            ("north".into(), 2025, 1),
            ("south".into(), 2025, 3)
        ]
    );
    // Partition filters prune directories and integer partitions compare as integers.
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM sales WHERE year > 2024 AND region = 'south'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn bad_files_are_skipped_and_the_rest_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_parquet(&root.join("good.parquet"), &[1, 2, 3], &["x", "y", "z"]);
    fs::write(root.join("broken.parquet"), b"this is not parquet at all").unwrap();
    fs::write(root.join("notes.txt"), b"hello").unwrap();
    write_parquet(&root.join("2024-report.parquet"), &[1], &["x"]);
    write_parquet(&root.join("Mixed-Case Name.parquet"), &[1], &["x"]);
    write_parquet(&root.join("t/part-0.parquet"), &[1, 2], &["a", "b"]);
    fs::write(root.join("t/part-1.parquet"), b"PAR1garbagePAR1").unwrap();
    write_parquet(&root.join("t/_temporary/part-9.parquet"), &[9], &["hidden"]);
    write_parquet(&root.join(".hidden.parquet"), &[1], &["x"]);
    fs::create_dir_all(root.join("empty")).unwrap();

    let client = connect(start_server(root)).await;
    let names = table_names(&client).await;
    assert!(names.contains(&"good".to_owned()), "{names:?}");
    assert!(names.contains(&"mixed_case_name".to_owned()), "{names:?}");
    assert!(names.contains(&"t".to_owned()), "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n.contains("report") || n == "notes" || n == "hidden"),
        "{names:?}"
    );

    assert_eq!(count(&client, "SELECT count(*) FROM good").await, 3);
    assert_eq!(
        count(&client, "SELECT count(*) FROM mixed_case_name").await,
        1
    );
    // The corrupt part and the hidden directory are left out; the good part is served.
    assert_eq!(count(&client, "SELECT count(*) FROM t").await, 2);
    let rows = client
        .simple_query("SELECT label FROM t ORDER BY id")
        .await
        .unwrap();
    assert_eq!(
        first_column(&rows),
        vec![Some("a".into()), Some("b".into())]
    );
    let err = client.query("SELECT * FROM broken", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    let err = client.query("SELECT * FROM empty", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
}

#[tokio::test]
async fn files_added_while_running_are_seen_by_the_next_query() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_parquet(
        &root.join("clicks/day=1/part.parquet"),
        &[1, 2],
        &["a", "b"],
    );
    let client = connect(start_server(root)).await;
    assert_eq!(count(&client, "SELECT count(*) FROM clicks").await, 2);

    // A new file in an existing table directory, and a new partition.
    write_parquet(&root.join("clicks/day=1/part-2.parquet"), &[3], &["c"]);
    write_parquet(
        &root.join("clicks/day=2/part.parquet"),
        &[4, 5],
        &["d", "e"],
    );
    assert_eq!(count(&client, "SELECT count(*) FROM clicks").await, 5);
    assert_eq!(
        count(&client, "SELECT count(*) FROM clicks WHERE day = 2").await,
        2
    );

    // A brand-new table.
    let err = client.query("SELECT * FROM fresh", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42P01");
    write_parquet(&root.join("fresh.parquet"), &[7, 8, 9], &["x", "y", "z"]);
    assert_eq!(count(&client, "SELECT count(*) FROM fresh").await, 3);
    assert!(table_names(&client).await.contains(&"fresh".to_owned()));

    // A file that is replaced by a corrupt one is dropped from its table, not fatal to it...
    fs::write(root.join("clicks/day=1/part-2.parquet"), b"oops").unwrap();
    assert_eq!(count(&client, "SELECT count(*) FROM clicks").await, 4);
    // ...and comes back once it is fixed.
    write_parquet(&root.join("clicks/day=1/part-2.parquet"), &[3], &["c"]);
    assert_eq!(count(&client, "SELECT count(*) FROM clicks").await, 5);
}

#[tokio::test]
async fn files_with_different_columns_make_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_parquet(&root.join("mixed/a.parquet"), &[1, 2], &["a", "b"]);
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![3])) as _),
        ("score", Arc::new(Int64Array::from(vec![10])) as _),
    ])
    .unwrap();
    write_batch(&root.join("mixed/b.parquet"), &batch);

    let client = connect(start_server(root)).await;
    let rows = client
        .query("SELECT id, label, score FROM mixed ORDER BY id", &[])
        .await
        .unwrap();
    let got: Vec<(i64, Option<String>, Option<i64>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, Some("a".into()), None),
            (2, Some("b".into()), None),
            (3, None, Some(10))
        ]
    );
}

/// name, data_type, udt_name, numeric_precision, numeric_scale, ordinal_position, is_updatable
type ColumnRow = (
    String,
    String,
    String,
    Option<i32>,
    Option<i32>,
    i32,
    String,
);

/// `information_schema` answers as PostgreSQL's does: PostgreSQL type names and the columns
/// drivers read (`udt_name`, `is_updatable`, views' `check_option`), and SHOW still works.
#[tokio::test]
async fn information_schema_is_postgresql_shaped() {
    use datafusion::arrow::array::{Decimal128Array, TimestampMicrosecondArray};
    let dir = tempfile::tempdir().unwrap();
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1])) as _),
        ("label", Arc::new(StringArray::from(vec!["a"])) as _),
        (
            "amount",
            Arc::new(
                Decimal128Array::from(vec![1234])
                    .with_precision_and_scale(12, 2)
                    .unwrap(),
            ) as _,
        ),
        (
            "at",
            Arc::new(TimestampMicrosecondArray::from(vec![0]).with_timezone("UTC")) as _,
        ),
    ])
    .unwrap();
    write_batch(&dir.path().join("things.parquet"), &batch);
    let client = connect(start_server(dir.path())).await;
    client
        .simple_query("CREATE VIEW big_things AS SELECT id FROM things WHERE id > 0")
        .await
        .unwrap();
    let rows = client
        .query(
            "SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale, \
             ordinal_position, is_updatable FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = 'things' ORDER BY ordinal_position",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<ColumnRow> = rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
            )
        })
        .collect();
    let no = || "NO".to_string();
    assert_eq!(
        got,
        [
            (
                "id".into(),
                "bigint".into(),
                "int8".into(),
                Some(64),
                Some(0),
                1,
                no()
            ),
            (
                "label".into(),
                "text".into(),
                "text".into(),
                None,
                None,
                2,
                no()
            ),
            (
                "amount".into(),
                "numeric".into(),
                "numeric".into(),
                Some(12),
                Some(2),
                3,
                no()
            ),
            (
                "at".into(),
                "timestamp with time zone".into(),
                "timestamptz".into(),
                None,
                None,
                4,
                no()
            ),
        ]
    );
    let views = client
        .simple_query(
            "SELECT table_name, check_option, view_definition IS NOT NULL \
             FROM information_schema.views WHERE table_schema = 'public'",
        )
        .await
        .unwrap();
    assert_eq!(first_column(&views), [Some("big_things".to_string())]);
    let kinds = client
        .simple_query(
            "SELECT table_type FROM information_schema.tables WHERE table_schema = 'public' \
             ORDER BY table_name",
        )
        .await
        .unwrap();
    assert_eq!(
        first_column(&kinds),
        [Some("VIEW".to_string()), Some("BASE TABLE".to_string())]
    );
    let schemata = client
        .simple_query("SELECT schema_name FROM information_schema.schemata ORDER BY 1")
        .await
        .unwrap();
    assert_eq!(
        first_column(&schemata),
        ["information_schema", "pg_catalog", "public"].map(|s| Some(s.to_string()))
    );
    // SHOW reads DataFusion's settings table, still served from information_schema.
    let shown = client.simple_query("SHOW search_path").await.unwrap();
    assert_eq!(first_column(&shown).len(), 1);
    assert!(
        count(
            &client,
            "SELECT count(*) FROM information_schema.df_settings"
        )
        .await
            > 0
    );
}
