//! Row-for-row comparison with ClickHouse (fixture from `tests/oracles/funnel_clickhouse.py`).
//! Every query runs on shuffled rows split over several partitions, with timestamps and with
//! integer times, so results must not depend on row order, partitioning or the time type.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int64Array, RecordBatch, TimestampSecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use serde_json::Value;

const FIXTURE: &str = include_str!("../../tests/fixtures/funnel_clickhouse.json");

fn table(rows: &[Value], integer_time: bool, partitions: usize) -> MemTable {
    let ts_type = if integer_time {
        DataType::Int64
    } else {
        DataType::Timestamp(TimeUnit::Second, None)
    };
    let mut fields = vec![
        Field::new("user_id", DataType::Int64, false),
        Field::new("ts", ts_type, false),
    ];
    fields.extend((1..=4).map(|i| Field::new(format!("c{i}"), DataType::Boolean, true)));
    let schema = Arc::new(Schema::new(fields));
    // Reverse the fixture's (already shuffled) order and deal rows round-robin to partitions.
    let mut parts: Vec<Vec<&Value>> = vec![vec![]; partitions];
    for (i, r) in rows.iter().rev().enumerate() {
        parts[i % partitions].push(r);
    }
    let batches = parts
        .iter()
        .map(|rows| {
            let col = |i: usize| rows.iter().map(move |r| r[i].as_i64());
            let ts: ArrayRef = if integer_time {
                Arc::new(Int64Array::from_iter(col(1)))
            } else {
                Arc::new(TimestampSecondArray::from_iter(col(1)))
            };
            let mut columns: Vec<ArrayRef> = vec![Arc::new(Int64Array::from_iter(col(0))), ts];
            for c in 2..6 {
                columns.push(Arc::new(BooleanArray::from_iter(
                    col(c).map(|v| v.map(|v| v != 0)),
                )));
            }
            vec![RecordBatch::try_new(schema.clone(), columns).unwrap()]
        })
        .collect();
    MemTable::try_new(schema, batches).unwrap()
}

async fn context(fixture: &Value, integer_time: bool) -> SessionContext {
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(3));
    crate::register_all(&ctx).unwrap();
    ctx.register_table(
        "ev",
        Arc::new(table(
            fixture["events"].as_array().unwrap(),
            integer_time,
            3,
        )),
    )
    .unwrap();
    ctx.register_table(
        "seq",
        Arc::new(table(
            fixture["sequence_events"].as_array().unwrap(),
            integer_time,
            3,
        )),
    )
    .unwrap();
    ctx
}

/// Renders our result the way the fixture stores ClickHouse's (`toString`), NULL as `None`.
fn render(array: &ArrayRef, row: usize) -> Option<String> {
    if array.is_null(row) {
        return None;
    }
    let s = array_value_to_string(array, row).unwrap();
    Some(match s.as_str() {
        "true" => "1".into(),
        "false" => "0".into(),
        _ if s.starts_with('[') => s
            .replace("true", "1")
            .replace("false", "0")
            .replace(", ", ","),
        _ => s,
    })
}

fn sql_for(case: &Value) -> String {
    let n = case["conditions"].as_u64().unwrap() as usize;
    let conds: Vec<String> = (1..=n).map(|i| format!("c{i}")).collect();
    let conds = conds.join(", ");
    match case["function"].as_str().unwrap() {
        "window_funnel" => {
            let modes: Vec<&str> = case["modes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap())
                .collect();
            let mode = if modes.is_empty() {
                String::new()
            } else {
                format!("'{}', ", modes.join(","))
            };
            format!(
                "SELECT user_id, window_funnel({}, {mode}ts, {conds}) FROM ev GROUP BY user_id",
                case["window"]
            )
        }
        "retention" => format!("SELECT user_id, retention({conds}) FROM ev GROUP BY user_id"),
        f => format!(
            "SELECT user_id, {f}('{}', ts, {conds}) FROM seq GROUP BY user_id",
            case["pattern"].as_str().unwrap()
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matches_clickhouse_row_for_row() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() > 100);
    for integer_time in [false, true] {
        let ctx = context(&fixture, integer_time).await;
        for case in cases {
            let sql = sql_for(case);
            let batches = ctx
                .sql(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .collect()
                .await
                .unwrap();
            let mut got = std::collections::BTreeMap::new();
            for b in &batches {
                let users = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                for row in 0..b.num_rows() {
                    got.insert(users.value(row).to_string(), render(b.column(1), row));
                }
            }
            let expected = case["expected"].as_object().unwrap();
            assert_eq!(got.len(), expected.len(), "{sql}: number of users");
            for (user, want) in expected {
                let want = want.as_str().map(str::to_string);
                assert_eq!(
                    got.get(user),
                    Some(&want),
                    "{sql} (integer_time={integer_time}): user {user}"
                );
            }
        }
    }
}

/// Without GROUP BY (one accumulator per partition, some of them empty) and as window
/// functions (evaluated repeatedly), the aggregates agree with their GROUP BY results.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_group_and_window_use() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let ctx = context(&fixture, false).await;
    let one = |sql: &'static str| {
        let ctx = ctx.clone();
        async move {
            let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
            let b = batches.iter().find(|b| b.num_rows() > 0).unwrap();
            render(b.column(0), 0)
        }
    };
    assert_eq!(
        one("SELECT window_funnel(10, ts, c1, c2) FROM ev WHERE false").await,
        None
    );
    assert_eq!(
        one("SELECT sequence_count('(?1)(?2)', ts, c1, c2) FROM ev WHERE false").await,
        None
    );
    // retention never returns NULL (ClickHouse gives [0,0] on no rows too).
    assert_eq!(
        one("SELECT retention(c1, c2) FROM ev WHERE false")
            .await
            .as_deref(),
        Some("[0,0]")
    );
    for f in [
        "window_funnel(10, ts, c1, c2, c3)",
        "retention(c1, c2, c3)",
        "sequence_count('(?1).*(?2)', ts, c1, c2)",
    ] {
        let grouped = format!("SELECT {f} FROM ev WHERE user_id = 7 GROUP BY user_id");
        let single = format!("SELECT {f} FROM ev WHERE user_id = 7");
        let window = format!("SELECT {f} OVER (PARTITION BY user_id) FROM ev WHERE user_id = 7");
        let mut results = vec![];
        for sql in [grouped, single, window] {
            let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
            let b = batches.iter().find(|b| b.num_rows() > 0).unwrap();
            for row in 0..b.num_rows() {
                results.push(render(b.column(0), row));
            }
        }
        assert!(
            results.len() >= 3 && results.windows(2).all(|w| w[0] == w[1]),
            "{f}: {results:?}"
        );
    }
}

const PATHS_FIXTURE: &str = include_str!("../../tests/fixtures/paths_duckdb.json");

/// `sessionize` and `event_path` against DuckDB window functions / ordered string_agg
/// (fixture from `tests/oracles/paths_duckdb.py`), on shuffled rows over several partitions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_paths_match_duckdb() {
    use datafusion::arrow::array::{Array, AsArray, StringArray};
    use datafusion::arrow::datatypes::Int64Type;

    let fixture: Value = serde_json::from_str(PATHS_FIXTURE).unwrap();
    let rows = fixture["events"].as_array().unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("row_id", DataType::Int64, false),
        Field::new("user_id", DataType::Int64, false),
        Field::new("ts", DataType::Timestamp(TimeUnit::Second, None), true),
        Field::new("event", DataType::Utf8, true),
    ]));
    let batches: Vec<Vec<RecordBatch>> = rows
        .chunks(rows.len() / 3 + 1)
        .map(|chunk| {
            let col = |i: usize| chunk.iter().map(move |r| r[i].as_i64());
            vec![RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from_iter(col(0))),
                    Arc::new(Int64Array::from_iter(col(1))),
                    Arc::new(TimestampSecondArray::from_iter(col(2))),
                    Arc::new(StringArray::from_iter(chunk.iter().map(|r| r[3].as_str()))),
                ],
            )
            .unwrap()]
        })
        .collect();
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(3));
    crate::register_all(&ctx).unwrap();
    ctx.register_table("ev", Arc::new(MemTable::try_new(schema, batches).unwrap()))
        .unwrap();

    let sessions = ctx
        .sql("SELECT row_id, sessionize(ts, INTERVAL '30 seconds') OVER (PARTITION BY user_id ORDER BY ts) FROM ev")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let expected = fixture["sessions"].as_object().unwrap();
    let mut checked = 0;
    for b in &sessions {
        let ids = b.column(0).as_primitive::<Int64Type>();
        let got = b.column(1).as_primitive::<Int64Type>();
        for row in 0..b.num_rows() {
            let want = expected[&ids.value(row).to_string()].as_i64();
            assert_eq!(
                got.is_valid(row).then(|| got.value(row)),
                want,
                "row {}",
                ids.value(row)
            );
            checked += 1;
        }
    }
    assert_eq!(checked, expected.len());

    let paths = ctx
        .sql("SELECT user_id, event_path(ts, event), event_path(ts, event, 3), event_path(ts, event, NULL, true) FROM ev GROUP BY user_id")
        .await;
    // A NULL max_steps is a constant NULL: rejected with a clear message rather than guessed.
    assert!(match paths {
        Err(e) => e.to_string().contains("max_steps"),
        Ok(df) => df.collect().await.is_err(),
    });
    let paths = ctx
        .sql("SELECT user_id, event_path(ts, event), event_path(ts, event, 3), event_path(ts, event, 1000000, true) FROM ev GROUP BY user_id")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let expected = fixture["paths"].as_object().unwrap();
    let mut users = 0;
    for b in &paths {
        let ids = b.column(0).as_primitive::<Int64Type>();
        for row in 0..b.num_rows() {
            let want = &expected[&ids.value(row).to_string()];
            for (col, key) in [(1, "full"), (2, "last3"), (3, "dedupe")] {
                let got = b.column(col).as_string::<i32>();
                assert_eq!(
                    got.is_valid(row).then(|| got.value(row)),
                    want[key].as_str(),
                    "user {} {key}",
                    ids.value(row)
                );
            }
            users += 1;
        }
    }
    assert_eq!(users, expected.len());
}
