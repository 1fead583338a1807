//! The attribution family against the fixture from tests/oracles/attribution_channelattribution.py:
//! exact Markov removal effects (a numpy linear solve) to 1e-9, ChannelAttribution's simulated
//! `markov_model` within its simulation noise, brute-force Shapley values over every coalition
//! to 1e-9, and per-touch weights (plus ChannelAttribution's `heuristic_models`) to 1e-9.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray, StructArray,
};
use datafusion::arrow::datatypes::{Field, Float64Type, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use serde_json::Value;

const FIXTURE: &str = include_str!("../../tests/fixtures/attribution.json");

/// Largest per-channel gap to ChannelAttribution's simulation, as a share of the total (the
/// oracle measured at most 0.0011 with conv_par 0.003: Monte-Carlo noise plus its path cap).
const SIMULATION_TOLERANCE: f64 = 0.005;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
}

fn ctx_with(columns: Vec<(&str, ArrayRef)>) -> SessionContext {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch =
        RecordBatch::try_new(schema.clone(), columns.into_iter().map(|c| c.1).collect()).unwrap();
    let ctx = SessionContext::new();
    crate::register_all(&ctx).unwrap();
    ctx.register_table(
        "t",
        Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()),
    )
    .unwrap();
    ctx
}

fn path_rows(rows: &Value) -> SessionContext {
    let rows = rows.as_array().unwrap();
    let col = |k: usize| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r[k].as_f64().unwrap()),
        ))
    };
    ctx_with(vec![
        (
            "path",
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r[0].as_str().unwrap()),
            )),
        ),
        ("a", col(1)),
        ("b", col(2)),
        ("c", col(3)),
    ])
}

/// channel → (metric, conversions, value) from a credit list.
async fn credits(ctx: &SessionContext, sql: &str) -> BTreeMap<String, (f64, f64, f64)> {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let list = batches[0].column(0).as_list::<i32>().value(0);
    let s: &StructArray = list.as_struct();
    let channel = s.column(0).as_string::<i32>();
    let metric = s.column(1).as_primitive::<Float64Type>();
    let conversions = s.column(2).as_primitive::<Float64Type>();
    let value = s.column(3).as_primitive::<Float64Type>();
    (0..s.len())
        .map(|i| {
            (
                channel.value(i).to_string(),
                (metric.value(i), conversions.value(i), value.value(i)),
            )
        })
        .collect()
}

fn expected(list: &Value, metric: &str) -> BTreeMap<String, (f64, f64, f64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["channel"].as_str().unwrap().to_string(),
                (
                    c[metric].as_f64().unwrap(),
                    c["conversions"].as_f64().unwrap(),
                    c["conversion_value"].as_f64().unwrap(),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn markov_matches_the_exact_solution_and_channelattribution() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    assert!(fixture["reference"]
        .as_str()
        .unwrap()
        .contains("ChannelAttribution"));
    let cases = fixture["markov"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let order = case["order"].as_i64().unwrap();
        let ctx = path_rows(&case["rows"]);
        let got = credits(
            &ctx,
            &format!("SELECT markov_attribution(path, a, b, c, {order}) FROM t"),
        )
        .await;
        let want = expected(&case["exact"], "removal_effect");
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{name}"
        );
        for (ch, w) in &want {
            let g = got[ch];
            assert!(
                close(g.0, w.0, 1e-9),
                "{name} {ch} removal effect {} vs {}",
                g.0,
                w.0
            );
            assert!(
                close(g.1, w.1, 1e-9),
                "{name} {ch} conversions {} vs {}",
                g.1,
                w.1
            );
            assert!(
                close(g.2, w.2, 1e-9),
                "{name} {ch} value {} vs {}",
                g.2,
                w.2
            );
        }
        // Against the simulation: every channel's credited share within the tolerance.
        let sim = &case["channelattribution"];
        let theirs = expected(&sim["results"], "removal_effect");
        let total_c: f64 = got.values().map(|g| g.1).sum();
        let total_v: f64 = got.values().map(|g| g.2).sum();
        for (ch, t) in &theirs {
            let g = got.get(ch).copied().unwrap_or_default();
            assert!(
                (g.1 - t.1).abs() <= SIMULATION_TOLERANCE * total_c.max(1e-12),
                "{name} {ch}: conversions {} vs ChannelAttribution {}",
                g.1,
                t.1
            );
            if total_v > 0.0 {
                assert!(
                    (g.2 - t.2).abs() <= SIMULATION_TOLERANCE * total_v,
                    "{name} {ch}: value {} vs ChannelAttribution {}",
                    g.2,
                    t.2
                );
            }
        }
    }
}

#[tokio::test]
async fn shapley_matches_brute_force() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let cases = fixture["shapley"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let ctx = path_rows(&case["rows"]);
        let got = credits(&ctx, "SELECT shapley_attribution(path, a, b, c) FROM t").await;
        let want = expected(&case["result"], "shapley");
        assert_eq!(got.len(), want.len(), "{name}");
        for (ch, w) in &want {
            let g = got[ch];
            assert!(
                close(g.0, w.0, 1e-9),
                "{name} {ch} shapley {} vs {}",
                g.0,
                w.0
            );
            assert!(
                close(g.1, w.1, 1e-9),
                "{name} {ch} conversions {} vs {}",
                g.1,
                w.1
            );
            assert!(
                close(g.2, w.2, 1e-9),
                "{name} {ch} value {} vs {}",
                g.2,
                w.2
            );
        }
    }
}

#[tokio::test]
async fn weights_match_the_definitions_and_heuristic_models() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let cases = fixture["weights"].as_array().unwrap();
    assert!(!cases.is_empty());
    let calls = [
        ("first_touch", "'first_touch', ts"),
        ("last_touch", "'last_touch', ts"),
        ("linear", "'linear', ts"),
        ("time_decay", "'time_decay', ts"),
        ("time_decay_1d", "'time_decay', ts, 86400"),
        ("position_based", "'position_based', ts"),
        ("position_based_0.3", "'position_based', ts, 0.3"),
    ];
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let touches = case["touches"].as_array().unwrap();
        let journeys: BTreeMap<i64, (f64, f64)> = case["journeys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| {
                (
                    j[0].as_i64().unwrap(),
                    (j[1].as_f64().unwrap(), j[2].as_f64().unwrap()),
                )
            })
            .collect();
        let ctx = ctx_with(vec![
            (
                "idx",
                Arc::new(Int64Array::from_iter_values(0..touches.len() as i64)),
            ),
            (
                "journey",
                Arc::new(Int64Array::from_iter_values(
                    touches.iter().map(|t| t[0].as_i64().unwrap()),
                )),
            ),
            (
                "ts",
                Arc::new(Int64Array::from_iter_values(
                    touches.iter().map(|t| t[1].as_i64().unwrap()),
                )),
            ),
            (
                "channel",
                Arc::new(StringArray::from_iter_values(
                    touches.iter().map(|t| t[2].as_str().unwrap()),
                )),
            ),
        ]);
        for (model, call) in calls {
            let want: Vec<f64> = case["models"][model]
                .as_array()
                .unwrap_or_else(|| panic!("{name}: no {model}"))
                .iter()
                .map(|w| w.as_f64().unwrap())
                .collect();
            let batches = ctx
                .sql(&format!(
                    "SELECT idx, attribution_weight({call}) OVER (PARTITION BY journey) AS w FROM t ORDER BY idx"
                ))
                .await
                .unwrap()
                .collect()
                .await
                .unwrap();
            let mut got = Vec::new();
            for b in &batches {
                let w = b.column(1).as_primitive::<Float64Type>();
                got.extend((0..w.len()).map(|i| w.value(i)));
            }
            assert_eq!(got.len(), want.len(), "{name} {model}");
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() < 1e-12,
                    "{name} {model} touch {i}: {g} vs {w}"
                );
            }
            // ChannelAttribution's heuristics: conversions credited per channel.
            let heuristic = match model {
                "first_touch" => "first_touch",
                "last_touch" => "last_touch",
                "linear" => "linear_touch",
                _ => continue,
            };
            let Some(theirs) = case["heuristics"].get(heuristic).and_then(Value::as_object) else {
                continue;
            };
            let mut ours: BTreeMap<&str, f64> = BTreeMap::new();
            for (t, w) in touches.iter().zip(&got) {
                let conversions = journeys[&t[0].as_i64().unwrap()].0;
                *ours.entry(t[2].as_str().unwrap()).or_default() += w * conversions;
            }
            for (ch, v) in theirs {
                let v = v.as_f64().unwrap();
                let o = ours.get(ch.as_str()).copied().unwrap_or_default();
                assert!(close(o, v, 1e-9), "{name} {heuristic} {ch}: {o} vs {v}");
            }
        }
    }
}
