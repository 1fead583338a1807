//! The attribution family over the wire: weights that sum to 1 per journey, the channel report
//! under every model crediting the same conversions, nested results through the binary
//! protocol, and bad calls that fail with a clear SQLSTATE while the connection keeps working.

use std::collections::BTreeMap;

use crate::support::{assert_bad_calls, connect, demo_server};

const MODELS: [&str; 7] = [
    "markov",
    "shapley",
    "first_touch",
    "last_touch",
    "linear",
    "time_decay",
    "position_based",
];

#[tokio::test]
async fn weights_sum_to_one_per_journey() {
    let client = connect(demo_server()).await;
    for model in [
        "first_touch",
        "last_touch",
        "linear",
        "time_decay",
        "position_based",
    ] {
        let rows = client
            .query(
                &format!(
                    "SELECT customer_id, sum(w) AS total, min(w) AS low, count(*) AS n
                     FROM (SELECT customer_id,
                                  attribution_weight('{model}', ts) OVER (PARTITION BY customer_id) AS w
                           FROM touchpoints)
                     GROUP BY customer_id"
                ),
                &[],
            )
            .await
            .unwrap();
        assert!(rows.len() > 100, "{model}: {} journeys", rows.len());
        for r in &rows {
            let (total, low): (f64, f64) = (r.get("total"), r.get("low"));
            assert!((total - 1.0).abs() < 1e-9, "{model}: sum {total}");
            assert!(low >= 0.0, "{model}: negative weight {low}");
        }
    }
}

#[tokio::test]
async fn every_model_credits_the_same_conversions() {
    let client = connect(demo_server()).await;
    let mut totals = BTreeMap::new();
    for model in MODELS {
        let rows = client
            .query(
                &format!(
                    "SELECT channel, touches, journeys, conversions, revenue, cost, roi
                     FROM channel_attribution('touchpoints', 'orders', model => '{model}',
                                              lookback => INTERVAL '30 days', cost_column => 'cost')"
                ),
                &[],
            )
            .await
            .unwrap();
        assert!(rows.len() >= 5, "{model}: {} channels", rows.len());
        let mut conversions = 0.0;
        let mut revenue = 0.0;
        for r in &rows {
            let c: f64 = r.get("conversions");
            let v: f64 = r.get("revenue");
            assert!(c >= 0.0 && v >= 0.0 && c.is_finite(), "{model}: {c} {v}");
            let cost: Option<f64> = r.get("cost");
            let roi: Option<f64> = r.get("roi");
            if let (Some(cost), Some(roi)) = (cost, roi) {
                assert!((roi - (v - cost) / cost).abs() < 1e-9 * roi.abs().max(1.0));
            }
            assert!(r.get::<_, i64>("journeys") <= r.get::<_, i64>("touches"));
            conversions += c;
            revenue += v;
        }
        totals.insert(model, (conversions, revenue));
    }
    let (c0, v0) = totals["last_touch"];
    assert!(c0 > 10.0, "{totals:?}");
    for (model, (c, v)) in &totals {
        assert!((c - c0).abs() < 1e-6 * c0, "{model}: {c} vs {c0}");
        assert!((v - v0).abs() < 1e-6 * v0, "{model}: {v} vs {v0}");
    }

    // The aggregates directly, with nested binary results.
    let rows = client
        .query(
            "SELECT c['channel'] AS channel, c['removal_effect'] AS re, c['conversions'] AS conv
             FROM (SELECT unnest(markov_attribution(path, conv, value, 1 - conv, 2)) AS c
                   FROM (VALUES ('a > b', 1, 10.0), ('a', 0, 0.0), ('b', 1, 30.0)) AS t(path, conv, value))",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(String, f64, f64)> = rows
        .iter()
        .map(|r| (r.get("channel"), r.get("re"), r.get("conv")))
        .collect();
    assert_eq!(got.len(), 2);
    // Order 2: the states are (a,b), (a), (b); without a the only conversion left is b's.
    let total: f64 = got.iter().map(|g| g.2).sum();
    assert!((total - 2.0).abs() < 1e-12, "{got:?}");
    let by_name: Vec<(String, f64, f64)> = client
        .query(
            "SELECT c['channel'] AS channel, c['removal_effect'] AS re, c['conversions'] AS conv
             FROM (SELECT unnest(markov_attribution(path, conv, value, 1 - conv, order => 2)) AS c
                   FROM (VALUES ('a > b', 1, 10.0), ('a', 0, 0.0), ('b', 1, 30.0)) AS t(path, conv, value))",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("channel"), r.get("re"), r.get("conv")))
        .collect();
    assert_eq!(
        by_name, got,
        "named order => 2 must equal the positional call"
    );
}

#[tokio::test]
async fn bad_attribution_calls_fail_clearly() {
    let client = connect(demo_server()).await;
    let cases = [
        ("SELECT attribution_weight('u_shaped', ts) OVER (PARTITION BY customer_id) FROM touchpoints", "22023", "valid models"),
        ("SELECT attribution_weight('linear', ts, 3) OVER (PARTITION BY customer_id) FROM touchpoints", "22023", "no parameter"),
        ("SELECT attribution_weight('position_based', ts, 0.7) OVER (PARTITION BY customer_id) FROM touchpoints", "22023", "between 0 and 0.5"),
        ("SELECT attribution_weight('time_decay', ts, INTERVAL '1 month') OVER (PARTITION BY customer_id) FROM touchpoints", "22023", "fixed duration"),
        ("SELECT attribution_weight('linear', channel) OVER (PARTITION BY customer_id) FROM touchpoints", "42883", "Usage"),
        ("SELECT attribution_weight(channel, ts) OVER (PARTITION BY customer_id) FROM touchpoints", "22023", "constant"),
        ("SELECT markov_attribution('a > b', 1, 1.0) FROM touchpoints", "42883", "4 or 5 arguments"),
        ("SELECT markov_attribution(customer_id, 1, 1.0, 0) FROM touchpoints", "42883", "path must be TEXT"),
        ("SELECT markov_attribution('a > b', 1, 1.0, 0, 5) FROM touchpoints", "22023", "order must be 1 to 4"),
        ("SELECT markov_attribution('a > b', -1, 1.0, 0) FROM touchpoints", "22000", "conversions must be"),
        ("SELECT shapley_attribution('a', 'x') FROM touchpoints", "42883", "conversions must be a number"),
        ("SELECT * FROM channel_attribution('touchpoints')", "42883", "2 to 11 arguments"),
        ("SELECT * FROM channel_attribution('touchpoints', 'orders', model => 'u_shaped')", "22023", "valid models"),
        ("SELECT * FROM channel_attribution('touchpoints', 'orders', model => 'linear', order => 2)", "22023", "markov model only"),
        ("SELECT * FROM channel_attribution('touchpoints', 'orders', lookback => INTERVAL '1 month')", "22023", "lookback"),
        ("SELECT * FROM channel_attribution('touchpoints', 'orders', window => 3)", "42883", "no parameter named"),
        ("SELECT * FROM channel_attribution('nope', 'orders')", "42P01", "nope"),
    ];
    assert_bad_calls(&client, &cases).await;
}
