//! The demo dataset: deterministic, and carrying the signals the analytics are meant to find.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::support::{connect, demo_server};

fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, fs::read(e.path()).unwrap())
        })
        .collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_data() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    let sa = sightline::demo::write_demo(a.path(), 400, 7).unwrap();
    let sb = sightline::demo::write_demo(b.path(), 400, 7).unwrap();
    sightline::demo::write_demo(c.path(), 400, 8).unwrap();
    assert_eq!(sa, sb);
    let (fa, fb, fc) = (files(a.path()), files(b.path()), files(c.path()));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (name, bytes) in &fa {
        assert!(
            bytes == &fb[name],
            "{name} differs between two runs with the same seed"
        );
    }
    assert_ne!(
        fa["events/part-00000.parquet"],
        fc["events/part-00000.parquet"]
    );
    for table in [
        "customers",
        "products",
        "events",
        "touchpoints",
        "orders",
        "order_items",
        "ad_spend",
    ] {
        let rows = sa.tables.iter().find(|(t, _)| *t == table).map(|(_, n)| *n);
        assert!(rows.unwrap_or(0) > 0, "{table} is empty");
    }
}

async fn f64_of(client: &tokio_postgres::Client, sql: &str) -> f64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn planted_signals_are_present() {
    let client = connect(demo_server()).await;

    // Weekly seasonality: weekend days carry more sessions than Tuesdays.
    let weekend_vs_tuesday = f64_of(
        &client,
        "SELECT CAST(count(DISTINCT session_id) FILTER (WHERE extract(dow FROM ts) IN (0, 6)) AS DOUBLE)
              / (2 * count(DISTINCT session_id) FILTER (WHERE extract(dow FROM ts) = 2)) FROM events",
    )
    .await;
    assert!(
        weekend_vs_tuesday > 1.15,
        "weekend/tuesday = {weekend_vs_tuesday}"
    );

    // Yearly seasonality: December orders outnumber June orders.
    let dec_vs_jun = f64_of(
        &client,
        "SELECT CAST(count(*) FILTER (WHERE extract(month FROM ts) = 12) AS DOUBLE)
              / count(*) FILTER (WHERE extract(month FROM ts) = 6) FROM orders",
    )
    .await;
    assert!(dec_vs_jun > 1.2, "december/june = {dec_vs_jun}");

    // The South's purchase-per-session rate halves during the dip window, others' do not.
    let dip = f64_of(
        &client,
        "WITH s AS (
            SELECT c.region = 'South' AS south, e.ts >= TIMESTAMP '2025-11-17' AND e.ts < TIMESTAMP '2025-12-15' AS dip,
                   count(DISTINCT e.session_id) AS sessions,
                   count(*) FILTER (WHERE e.event_type = 'purchase') AS purchases
            FROM events e JOIN customers c USING (customer_id)
            WHERE e.ts >= TIMESTAMP '2025-06-01'
            GROUP BY 1, 2)
         SELECT (SELECT CAST(purchases AS DOUBLE) / sessions FROM s WHERE south AND dip)
              / (SELECT CAST(purchases AS DOUBLE) / sessions FROM s WHERE south AND NOT dip)",
    )
    .await;
    assert!(dip < 0.75, "south in dip / south before = {dip}");

    // Channels differ in repeat purchasing: qa_community customers buy again more often than
    // short_video customers.
    let repeat = f64_of(
        &client,
        "WITH per AS (
            SELECT c.acquisition_channel AS ch, c.customer_id, count(o.order_id) AS n
            FROM customers c LEFT JOIN orders o USING (customer_id) GROUP BY 1, 2)
         SELECT (SELECT avg(CAST(n >= 2 AS INT)) FROM per WHERE ch = 'qa_community' AND n >= 1)
              / (SELECT avg(CAST(n >= 2 AS INT)) FROM per WHERE ch = 'short_video' AND n >= 1)",
    )
    .await;
    assert!(
        repeat > 1.2,
        "repeat rate qa_community / short_video = {repeat}"
    );

    // Some customers stop buying: a share of buyers have no order in the last 180 days.
    let lapsed = f64_of(
        &client,
        "SELECT avg(CAST(last < TIMESTAMP '2025-07-01' AS DOUBLE))
         FROM (SELECT customer_id, max(ts) AS last FROM orders GROUP BY 1)
         WHERE customer_id IN (SELECT customer_id FROM customers WHERE signup_date < DATE '2025-01-01')",
    )
    .await;
    assert!(lapsed > 0.2, "share of lapsed buyers = {lapsed}");

    // Product affinity: product 1 and its partner 21 co-occur far above chance (lift > 5).
    let lift = f64_of(
        &client,
        "WITH baskets AS (SELECT order_id, array_agg(product_id) AS items FROM order_items GROUP BY 1),
              n AS (SELECT CAST(count(*) AS DOUBLE) AS total,
                           sum(CAST(array_has(items, 1) AS INT)) AS a,
                           sum(CAST(array_has(items, 21) AS INT)) AS b,
                           sum(CAST(array_has(items, 1) AND array_has(items, 21) AS INT)) AS ab
                    FROM baskets)
         SELECT ab * total / (CAST(a AS DOUBLE) * b) FROM n",
    )
    .await;
    assert!(lift > 5.0, "lift(1, 21) = {lift}");
}
