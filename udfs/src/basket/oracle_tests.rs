//! Full itemset and rule sets compared with mlxtend (fixture from
//! `tests/oracles/basket_mlxtend.py`), on rows split over several partitions.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, StructArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use serde_json::Value;

const FIXTURE: &str = include_str!("../../tests/fixtures/basket_mlxtend.json");

fn table(lines: &[Value]) -> MemTable {
    let integer_items = lines.first().is_some_and(|l| l[1].is_i64());
    let item_type = if integer_items {
        DataType::Int64
    } else {
        DataType::Utf8
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("basket_id", DataType::Int64, false),
        Field::new("item", item_type, false),
    ]));
    let parts = lines
        .chunks(lines.len() / 3 + 1)
        .map(|chunk| {
            let baskets = Arc::new(Int64Array::from_iter_values(
                chunk.iter().map(|l| l[0].as_i64().unwrap()),
            ));
            let items: ArrayRef = if integer_items {
                Arc::new(Int64Array::from_iter_values(
                    chunk.iter().map(|l| l[1].as_i64().unwrap()),
                ))
            } else {
                Arc::new(StringArray::from_iter_values(
                    chunk.iter().map(|l| l[1].as_str().unwrap()),
                ))
            };
            vec![RecordBatch::try_new(schema.clone(), vec![baskets, items]).unwrap()]
        })
        .collect();
    MemTable::try_new(schema, parts).unwrap()
}

fn texts(list: &ArrayRef) -> Vec<String> {
    list.as_string::<i32>()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect()
}

fn json_texts(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn json_f64(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| {
        assert_eq!(v.as_str(), Some("inf"));
        f64::INFINITY
    })
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

async fn one_list(ctx: &SessionContext, sql: &str) -> StructArray {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let b = batches.iter().find(|b| b.num_rows() > 0).unwrap();
    b.column(0).as_list::<i32>().value(0).as_struct().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn itemsets_and_rules_match_mlxtend() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    for case in fixture["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(3));
        crate::register_all(&ctx).unwrap();
        ctx.register_table("lines", Arc::new(table(case["lines"].as_array().unwrap())))
            .unwrap();
        let max_len = case["max_len"]
            .as_u64()
            .map(|m| format!(", {m}"))
            .unwrap_or_default();
        let (support, confidence) = (&case["min_support"], &case["min_confidence"]);

        let sets = one_list(
            &ctx,
            &format!("SELECT frequent_itemsets(basket_id, item, {support}{max_len}) FROM lines"),
        )
        .await;
        let mut got = BTreeMap::new();
        let (items, counts) = (
            sets.column(0).as_list::<i32>(),
            sets.column(2).as_primitive::<Int64Type>(),
        );
        let supports = sets.column(1).as_primitive::<Float64Type>();
        let baskets = case["baskets"].as_f64().unwrap();
        for i in 0..sets.len() {
            assert!(close(supports.value(i), counts.value(i) as f64 / baskets));
            got.insert(texts(&items.value(i)), counts.value(i));
        }
        let want: BTreeMap<Vec<String>, i64> = case["itemsets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (json_texts(&s[0]), s[1].as_i64().unwrap()))
            .collect();
        assert_eq!(got, want, "{name}: itemsets");

        let rules = one_list(
            &ctx,
            &format!("SELECT association_rules(basket_id, item, {support}, {confidence}{max_len}) FROM lines"),
        )
        .await;
        let col = |i: usize| rules.column(i).as_primitive::<Float64Type>().clone();
        let (ante, cons) = (
            rules.column(0).as_list::<i32>(),
            rules.column(1).as_list::<i32>(),
        );
        let metrics = [
            (2, "support"),
            (3, "confidence"),
            (4, "lift"),
            (5, "leverage"),
            (6, "conviction"),
        ];
        let mut got = BTreeMap::new();
        for i in 0..rules.len() {
            let values: Vec<f64> = metrics.iter().map(|(c, _)| col(*c).value(i)).collect();
            let count = rules.column(7).as_primitive::<Int64Type>().value(i);
            got.insert(
                (texts(&ante.value(i)), texts(&cons.value(i))),
                (values, count),
            );
        }
        let want = case["rules"].as_array().unwrap();
        for r in want {
            let key = (json_texts(&r["antecedent"]), json_texts(&r["consequent"]));
            let (values, count) = got
                .get(&key)
                .unwrap_or_else(|| panic!("{name}: missing rule {key:?}"));
            assert_eq!(*count, r["count"].as_i64().unwrap(), "{name} {key:?} count");
            for ((_, metric), v) in metrics.iter().zip(values) {
                assert!(
                    close(*v, json_f64(&r[*metric])),
                    "{name} {key:?} {metric}: {v} vs {}",
                    r[*metric]
                );
            }
        }
        assert_eq!(got.len(), want.len(), "{name}: number of rules");
        // Documented order: confidence, lift, count descending.
        let conf = col(3);
        assert!(
            (1..rules.len()).all(|i| conf.value(i - 1) >= conf.value(i)),
            "{name}: rule order"
        );
    }
}
