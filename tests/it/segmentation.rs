//! The segmentation family over the wire: RFM names, k-means ids shared by the window function
//! and the aggregate (numbered by size), self-describing labels, and bad calls.

use crate::support::{assert_bad_calls, connect, demo_server};

const FEATURES: &str = "WITH f AS (
    SELECT customer_id, count(*) AS orders, avg(total) AS avg_order,
           avg(CASE WHEN used_coupon THEN 1.0 ELSE 0.0 END) AS discount_share
    FROM orders GROUP BY customer_id)";

#[tokio::test]
async fn clusters_centroids_and_labels_agree() {
    let client = connect(demo_server()).await;
    let window = client
        .query(
            &format!(
                "{FEATURES} SELECT c, count(*) AS n, min(label) AS label, max(label) AS label2 FROM (
                   SELECT c, segment_label(c, orders, avg_order, discount_share) OVER () AS label
                   FROM (SELECT *, kmeans_cluster(4, orders, avg_order, discount_share) OVER () AS c FROM f))
                 GROUP BY c ORDER BY c"
            ),
            &[],
        )
        .await
        .unwrap();
    let ids: Vec<i32> = window.iter().map(|r| r.get("c")).collect();
    assert_eq!(ids, vec![0, 1, 2, 3]);
    let sizes: Vec<i64> = window.iter().map(|r| r.get("n")).collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    for r in &window {
        let (a, b): (String, String) = (r.get("label"), r.get("label2"));
        assert_eq!(a, b, "one label per cluster");
        assert!(!a.is_empty());
    }
    let centroids = client
        .query(
            &format!(
                "{FEATURES} SELECT c['cluster'] AS id, c['size'] AS n, c['centroid'] AS centre, c['inertia'] AS inertia
                 FROM (SELECT unnest(kmeans_centroids(4, orders, avg_order, discount_share)) AS c FROM f)"
            ),
            &[],
        )
        .await
        .unwrap();
    let agg_sizes: Vec<i64> = centroids.iter().map(|r| r.get("n")).collect();
    assert_eq!(
        agg_sizes, sizes,
        "aggregate and window give the same clusters"
    );
    for r in &centroids {
        let centre: Vec<f64> = r.get("centre");
        assert_eq!(centre.len(), 3);
        assert!(r.get::<_, f64>("inertia") >= 0.0);
    }
    // k = 0 chooses between 2 and 8 clusters.
    let auto = client
        .query(
            &format!("{FEATURES} SELECT CAST(cardinality(kmeans_centroids(0, orders, avg_order, discount_share)) AS BIGINT) AS k FROM f"),
            &[],
        )
        .await
        .unwrap();
    let k: i64 = auto[0].get::<_, i64>("k");
    assert!((2..=8).contains(&k), "{k}");
    // An all-NULL partition: no model, NULL clusters, an empty centroid list.
    let empty = client
        .query_one(
            "SELECT count(c) AS labelled, count(*) AS rows FROM (
               SELECT kmeans_cluster(2, CAST(NULL AS DOUBLE)) OVER () AS c FROM orders)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(empty.get::<_, i64>("labelled"), 0);
    assert!(empty.get::<_, i64>("rows") > 0);
    // RFM names.
    let row = client
        .query_one("SELECT rfm_segment(5, 5, 5) AS a, rfm_segment(1, 1, 1) AS b, rfm_segment(5, 1, 1) AS c", &[])
        .await
        .unwrap();
    let names: (String, String, String) = (row.get("a"), row.get("b"), row.get("c"));
    assert_eq!(
        names,
        ("Champions".into(), "Lost".into(), "New Customers".into())
    );
}

#[tokio::test]
async fn bad_segmentation_calls_fail_clearly() {
    let client = connect(demo_server()).await;
    let cases = [
        (
            "SELECT kmeans_cluster('a', total) OVER () FROM orders",
            "42883",
            "k must be an integer",
        ),
        (
            "SELECT kmeans_cluster(-1, total) OVER () FROM orders",
            "22023",
            "k must be 0",
        ),
        (
            "SELECT kmeans_cluster(3, 'n_init=0', total) OVER () FROM orders",
            "22023",
            "bad option",
        ),
        (
            "SELECT kmeans_cluster(3, channel, total) OVER () FROM orders",
            "22023",
            "options must be a constant",
        ),
        (
            "SELECT kmeans_cluster(3, total, channel) OVER () FROM orders",
            "42883",
            "must be numeric",
        ),
        (
            "SELECT kmeans_cluster(3) OVER () FROM orders",
            "42883",
            "at least one numeric feature",
        ),
        (
            "SELECT kmeans_cluster(order_id, total) OVER () FROM orders",
            "22023",
            "constant",
        ),
        (
            "SELECT kmeans_cluster(2, CAST('NaN' AS DOUBLE)) OVER () FROM orders",
            "22000",
            "finite",
        ),
        (
            "SELECT kmeans_centroids(2, channel) FROM orders",
            "42883",
            "at least one numeric feature",
        ),
        (
            "SELECT segment_label(1.5, total) OVER () FROM orders",
            "42883",
            "cluster id must be an integer",
        ),
        ("SELECT rfm_segment(6, 1, 1)", "22023", "1 to 5"),
        (
            "SELECT rfm_segment('a', 1, 1)",
            "42883",
            "three integer scores",
        ),
    ];
    assert_bad_calls(&client, &cases).await;
}
