//! The market-basket family over the wire: the demo shop's full rule set equals mlxtend's
//! (fixture from tests/oracles/basket_mlxtend.py --demo), binary results of the nested types,
//! the also_bought table function with positional and named arguments, and bad calls.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::{assert_bad_calls, connect, demo_server, first_column};

const DEMO_FIXTURE: &str = include_str!("../fixtures/basket_demo_mlxtend.json");

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

fn json_f64(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| {
        assert_eq!(v.as_str(), Some("inf"), "{v}");
        f64::INFINITY
    })
}

fn json_texts(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn demo_rules_match_mlxtend() {
    let fixture: Value = serde_json::from_str(DEMO_FIXTURE).unwrap();
    let case = &fixture["case"];
    let (min_support, min_confidence) = (
        case["min_support"].as_f64().unwrap(),
        case["min_confidence"].as_f64().unwrap(),
    );
    let client = connect(demo_server()).await;

    // Rules, through the extended protocol with binary results (LIST<TEXT>, DOUBLE, BIGINT).
    let rows = client
        .query(
            &format!(
                "SELECT r['antecedent'] AS a, r['consequent'] AS c, r['support'] AS s,
                        r['confidence'] AS conf, r['lift'] AS lift, r['leverage'] AS lev,
                        r['conviction'] AS conv, r['count'] AS n
                 FROM (SELECT unnest(association_rules(order_id, product_id, {min_support}, {min_confidence})) AS r
                       FROM order_items)"
            ),
            &[],
        )
        .await
        .unwrap();
    let mut got = BTreeMap::new();
    for row in &rows {
        let key: (Vec<String>, Vec<String>) = (row.get("a"), row.get("c"));
        let metrics: [f64; 6] = ["s", "conf", "lift", "lev", "conv"]
            .map(|c| row.get::<_, f64>(c))
            .into_iter()
            .chain([row.get::<_, i64>("n") as f64])
            .collect::<Vec<_>>()
            .try_into()
            .unwrap();
        assert!(got.insert(key, metrics).is_none(), "duplicate rule");
    }
    let want = case["rules"].as_array().unwrap();
    assert!(
        want.len() > 10,
        "the demo fixture should hold a real rule set"
    );
    assert_eq!(got.len(), want.len(), "rule count");
    for rule in want {
        let key = (
            json_texts(&rule["antecedent"]),
            json_texts(&rule["consequent"]),
        );
        let metrics = got
            .get(&key)
            .unwrap_or_else(|| panic!("missing rule {key:?}"));
        let expected = [
            "support",
            "confidence",
            "lift",
            "leverage",
            "conviction",
            "count",
        ]
        .map(|m| json_f64(&rule[m]));
        for (i, (g, w)) in metrics.iter().zip(expected).enumerate() {
            assert!(close(*g, w), "{key:?} metric {i}: {g} vs {w}");
        }
    }

    // Itemsets: same sets and counts as mlxtend's fpgrowth.
    let rows = client
        .query(
            &format!(
                "SELECT s['items'] AS items, s['count'] AS n
                 FROM (SELECT unnest(frequent_itemsets(order_id, product_id, {min_support})) AS s FROM order_items)"
            ),
            &[],
        )
        .await
        .unwrap();
    let mut got: Vec<(Vec<String>, i64)> =
        rows.iter().map(|r| (r.get("items"), r.get("n"))).collect();
    got.sort();
    let mut want: Vec<(Vec<String>, i64)> = case["itemsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (json_texts(&p[0]), p[1].as_i64().unwrap()))
        .collect();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn also_bought_lists_recommendations() {
    let client = connect(demo_server()).await;
    let positional = client
        .query(
            "SELECT item, recommended_item, rank, confidence, lift, support, count
             FROM also_bought('order_items', 'order_id', 'product_id', 3, 0.001)",
            &[],
        )
        .await
        .unwrap();
    assert!(!positional.is_empty());
    let mut per_item: BTreeMap<String, Vec<(i32, f64)>> = BTreeMap::new();
    for r in &positional {
        let (item, rec): (String, String) = (r.get("item"), r.get("recommended_item"));
        assert_ne!(item, rec);
        let confidence: f64 = r.get("confidence");
        assert!(confidence > 0.0 && confidence <= 1.0);
        assert!(r.get::<_, f64>("lift") > 0.0 && r.get::<_, i64>("count") > 0);
        per_item
            .entry(item)
            .or_default()
            .push((r.get("rank"), confidence));
    }
    for (item, ranks) in &per_item {
        assert!(ranks.len() <= 3, "{item}: {ranks:?}");
        let numbers: Vec<i32> = ranks.iter().map(|r| r.0).collect();
        assert_eq!(
            numbers,
            (1..=ranks.len() as i32).collect::<Vec<_>>(),
            "{item}"
        );
        assert!(
            ranks.windows(2).all(|w| w[0].1 >= w[1].1),
            "{item}: {ranks:?}"
        );
    }

    // Named arguments give the same rows; defaults fill what is left out.
    let named = client
        .query(
            "SELECT item, recommended_item, rank, confidence, lift, support, count
             FROM also_bought('order_items', 'order_id', 'product_id', min_support => 0.001, top_n => 3)",
            &[],
        )
        .await
        .unwrap();
    let key = |rows: &[tokio_postgres::Row]| -> Vec<(String, String, i32)> {
        rows.iter()
            .map(|r| (r.get("item"), r.get("recommended_item"), r.get("rank")))
            .collect()
    };
    assert_eq!(key(&positional), key(&named));
    let defaults = client
        .simple_query(
            "SELECT max(rank) FROM also_bought('order_items', 'order_id', 'product_id', min_support => 0.0002)",
        )
        .await
        .unwrap();
    assert_eq!(first_column(&defaults), vec![Some("5".to_string())]);
}

#[tokio::test]
async fn bad_basket_calls_fail_clearly() {
    let client = connect(demo_server()).await;
    let cases = [
        (
            "SELECT association_rules(order_id, product_id, 0, 0.5) FROM order_items",
            "22023",
            "min_support",
        ),
        (
            "SELECT association_rules(order_id, product_id, 0.01, 1.5) FROM order_items",
            "22023",
            "min_confidence",
        ),
        (
            "SELECT association_rules(order_id, product_id, 0.01) FROM order_items",
            "42883",
            "association_rules(",
        ),
        (
            "SELECT association_rules(order_id, product_id, 0.01, 0.5, 0) FROM order_items",
            "22023",
            "max_len",
        ),
        (
            "SELECT frequent_itemsets(order_id, product_id, quantity) FROM order_items",
            "22023",
            "constant",
        ),
        (
            "SELECT frequent_itemsets(order_id, unit_price, 0.1) FROM order_items",
            "42883",
            "item",
        ),
        (
            "SELECT * FROM also_bought('order_items', 'order_id')",
            "42883",
            "3 to 5 arguments",
        ),
        (
            "SELECT * FROM also_bought('order_items', 'order_id', 'product_id', 0)",
            "22023",
            "top_n",
        ),
        (
            "SELECT * FROM also_bought('order_items', 'order_id', 'product_id', min_support => 2)",
            "22023",
            "min_support",
        ),
        (
            "SELECT * FROM also_bought('order_items', 'order_id', 'product_id', limit_to => 2)",
            "42883",
            "top_n",
        ),
        (
            "SELECT * FROM also_bought('order_items', 'order_id', 'product_id', top_n => 2, 0.1)",
            "42601",
            "positional",
        ),
        (
            "SELECT * FROM also_bought('order_items', 'order_id', 'product_id', 3, top_n => 2)",
            "42883",
            "twice",
        ),
        (
            "SELECT * FROM also_bought('nope', 'order_id', 'product_id')",
            "42P01",
            "nope",
        ),
    ];
    assert_bad_calls(&client, &cases).await;
}
