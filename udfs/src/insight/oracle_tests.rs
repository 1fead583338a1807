//! explain_change against a brute-force enumeration of every segment in Python
//! (tests/oracles/explain_change_bruteforce.py): the same ranked segments with the same values
//! (1e-9 relative), and the planted cause found.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int32Type, Int64Type, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use serde_json::Value;

const FIXTURE: &str = include_str!("../../tests/fixtures/explain_change.json");

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12),
        _ => false,
    }
}

#[tokio::test]
async fn segments_match_brute_force() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    for case in fixture["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let dims: Vec<&str> = case["dims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        let rows = case["rows"].as_array().unwrap();
        let mut fields: Vec<Field> = dims
            .iter()
            .map(|d| Field::new(*d, DataType::Utf8, true))
            .collect();
        fields.push(Field::new("period", DataType::Utf8, true));
        fields.push(Field::new("n", DataType::Float64, true));
        fields.push(Field::new("d", DataType::Float64, true));
        let m = dims.len();
        let mut columns: Vec<ArrayRef> = (0..=m)
            .map(|j| {
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| r[j].as_str().unwrap()),
                )) as ArrayRef
            })
            .collect();
        for j in [m + 1, m + 2] {
            columns.push(Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r[j].as_f64().unwrap()),
            )));
        }
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let ctx = SessionContext::new();
        crate::register_all(&ctx).unwrap();
        ctx.register_table(
            "t",
            Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()),
        )
        .unwrap();
        let metric = if case["metric"] == "ratio" {
            "sum(n) / sum(d)"
        } else {
            "sum(n)"
        };
        let sql = format!(
            "SELECT rank, segment, depth, baseline_value, comparison_value, effect, contribution,
                    relative_effect, mix_effect, rate_effect, baseline_rows, comparison_rows
             FROM explain_change('t', '{metric}', '{}', 'period', 'base', 'cmp', {}, {}, {}) ORDER BY rank",
            dims.join(", "),
            case["max_depth"],
            case["min_support"],
            case["top_k"],
        );
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let mut got = vec![];
        for b in &batches {
            let f = |i: usize, r: usize| {
                let c = b.column(i).as_primitive::<Float64Type>();
                c.is_valid(r).then(|| c.value(r))
            };
            for r in 0..b.num_rows() {
                got.push((
                    b.column(1).as_string::<i32>().value(r).to_string(),
                    b.column(2).as_primitive::<Int32Type>().value(r),
                    [
                        f(3, r),
                        f(4, r),
                        f(5, r),
                        f(6, r),
                        f(7, r),
                        f(8, r),
                        f(9, r),
                    ],
                    (
                        b.column(10).as_primitive::<Int64Type>().value(r),
                        b.column(11).as_primitive::<Int64Type>().value(r),
                    ),
                ));
            }
        }
        let want = case["expected"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{name}: number of segments");
        let keys = [
            "baseline_value",
            "comparison_value",
            "effect",
            "contribution",
            "relative_effect",
            "mix_effect",
            "rate_effect",
        ];
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            // Equal |effect| may be listed in either order only if the oracle's tie rule differs.
            assert_eq!(
                g.0,
                w["segment"].as_str().unwrap(),
                "{name}: rank {}",
                i + 1
            );
            assert_eq!(
                i64::from(g.1),
                w["depth"].as_i64().unwrap(),
                "{name} {}",
                g.0
            );
            for (k, key) in keys.iter().enumerate() {
                assert!(
                    close(g.2[k], w[key].as_f64()),
                    "{name} {}: {key} {:?} vs {}",
                    g.0,
                    g.2[k],
                    w[key]
                );
            }
            assert_eq!(
                g.3 .0,
                w["baseline_rows"].as_i64().unwrap(),
                "{name} {}",
                g.0
            );
            assert_eq!(
                g.3 .1,
                w["comparison_rows"].as_i64().unwrap(),
                "{name} {}",
                g.0
            );
        }
        if let Some(planted) = case["planted"].as_str() {
            let position = got.iter().position(|g| g.0 == planted);
            assert!(
                position.is_some_and(|p| p < 3),
                "{name}: planted {planted} at {position:?}"
            );
        }
    }
}
