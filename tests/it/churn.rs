//! The churn / CLV family over the wire on the demo shop, against lifetimes fitted on the same
//! customers (tests/oracles/churn_demo_lifetimes.py → tests/fixtures/churn_demo_lifetimes.json),
//! plus edge cases and bad calls.

use serde_json::Value;

use crate::support::{assert_bad_calls, connect, demo_server};

const FIXTURE: &str = include_str!("../fixtures/churn_demo_lifetimes.json");

const SUMMARY: &str = "WITH summary AS (
    SELECT o.customer_id, btyd_summary(o.ts, o.total, e.end_ts) AS s
    FROM orders o CROSS JOIN (SELECT max(ts) AS end_ts FROM orders) e
    GROUP BY o.customer_id)";

fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-12)
}

#[tokio::test]
async fn demo_customers_match_lifetimes() {
    let want: Value = serde_json::from_str(FIXTURE).unwrap();
    let client = connect(demo_server()).await;
    let fits = client
        .query_one(
            &format!(
                "{SUMMARY} SELECT m['r'] AS r, m['alpha'] AS alpha, m['a'] AS a, m['b'] AS b,
                        m['customers'] AS customers, m['converged'] AS ok,
                        g['p'] AS p, g['q'] AS q, g['v'] AS v, g['customers'] AS repeaters
                 FROM (SELECT bgnbd_fit(s['frequency'], s['recency'], s['t']) AS m,
                              gamma_gamma_fit(s['frequency'], s['monetary']) AS g FROM summary)"
            ),
            &[],
        )
        .await
        .unwrap();
    assert!(fits.get::<_, bool>("ok"));
    assert_eq!(
        fits.get::<_, i64>("customers"),
        want["customers"].as_i64().unwrap()
    );
    assert_eq!(
        fits.get::<_, i64>("repeaters"),
        want["repeat_customers"].as_i64().unwrap()
    );
    for (col, model, key) in [
        ("r", "bgnbd", "r"),
        ("alpha", "bgnbd", "alpha"),
        ("a", "bgnbd", "a"),
        ("b", "bgnbd", "b"),
        ("p", "gamma_gamma", "p"),
        ("q", "gamma_gamma", "q"),
        ("v", "gamma_gamma", "v"),
    ] {
        let got: f64 = fits.get(col);
        let w = want[model][key].as_f64().unwrap();
        assert!(rel_close(got, w, 1e-3), "{col}: {got} vs lifetimes {w}");
    }

    let scores = client
        .query(
            &format!(
                "{SUMMARY} SELECT customer_id,
                        bgnbd_p_alive(s['frequency'], s['recency'], s['t']) OVER () AS p_alive,
                        bgnbd_expected_purchases(s['frequency'], s['recency'], s['t'], 90) OVER () AS e90,
                        clv(s['frequency'], s['recency'], s['t'], s['monetary'], 12, 0.01, 'D') OVER () AS clv
                 FROM summary ORDER BY customer_id"
            ),
            &[],
        )
        .await
        .unwrap();
    let ids = want["customer_id"].as_array().unwrap();
    assert_eq!(scores.len(), ids.len());
    for (i, row) in scores.iter().enumerate() {
        assert_eq!(row.get::<_, i64>("customer_id"), ids[i].as_i64().unwrap());
        for (col, key, tol) in [
            ("p_alive", "p_alive", 1e-4),
            ("e90", "expected_90", 1e-4),
            ("clv", "clv_12", 1e-3),
        ] {
            let got: f64 = row.get(col);
            let w = want[key][i].as_f64().unwrap();
            assert!(
                (got - w).abs() <= tol * w.abs().max(1e-3),
                "customer {}: {col} {got} vs lifetimes {w}",
                ids[i]
            );
        }
    }
}

#[tokio::test]
async fn a_churn_model_beats_chance_and_explains_itself() {
    let client = connect(demo_server()).await;
    let row = client
        .query_one(
            "WITH f AS (
               SELECT customer_id, count(*) AS orders, sum(total) AS revenue,
                      date_part('epoch', TIMESTAMP '2025-10-01 00:00:00' - max(ts)) / 86400 AS idle_days
               FROM orders WHERE ts < TIMESTAMP '2025-10-01 00:00:00' GROUP BY customer_id),
             later AS (SELECT DISTINCT customer_id FROM orders WHERE ts >= TIMESTAMP '2025-10-01 00:00:00'),
             labelled AS (
               SELECT f.*, l.customer_id IS NULL AS churned FROM f LEFT JOIN later l USING (customer_id)),
             scored AS (
               SELECT *, logistic_score(churned, orders, revenue, idle_days, 'l2=0.5') OVER () AS s FROM labelled)
             SELECT (SELECT roc_auc(s, churned) FROM scored) AS auc,
                    (SELECT logistic_fit(churned, orders, revenue, idle_days, 'l2=0.5') FROM labelled) AS m,
                    (SELECT min(s) FROM scored) AS lo, (SELECT max(s) FROM scored) AS hi",
            &[],
        )
        .await
        .unwrap();
    let auc: f64 = row.get("auc");
    assert!(auc > 0.7 && auc <= 1.0, "{auc}");
    let (lo, hi): (f64, f64) = (row.get("lo"), row.get("hi"));
    assert!(0.0 < lo && lo < hi && hi < 1.0);
    // The struct arrives as Postgres text; the coefficient of idle days must be positive
    // (customers idle longer churn more).
    let m = client
        .query_one(
            "WITH f AS (
               SELECT customer_id, count(*) AS orders,
                      date_part('epoch', TIMESTAMP '2025-10-01 00:00:00' - max(ts)) / 86400 AS idle_days
               FROM orders WHERE ts < TIMESTAMP '2025-10-01 00:00:00' GROUP BY customer_id),
             later AS (SELECT DISTINCT customer_id FROM orders WHERE ts >= TIMESTAMP '2025-10-01 00:00:00')
             SELECT m['coefficients'][2] AS idle, m['converged'] AS ok, m['training_rows'] AS n FROM (
               SELECT logistic_fit(l.customer_id IS NULL, orders, idle_days) AS m
               FROM f LEFT JOIN later l USING (customer_id))",
            &[],
        )
        .await
        .unwrap();
    assert!(m.get::<_, bool>("ok"));
    assert!(m.get::<_, f64>("idle") > 0.0);
    assert!(m.get::<_, i64>("n") > 1000);
}

#[tokio::test]
async fn edge_cases_give_null_models_not_errors() {
    let client = connect(demo_server()).await;
    // One customer per partition: no model, NULL scores, converged = false.
    let row = client
        .query_one(
            &format!(
                "{SUMMARY} SELECT count(p) AS scored, count(*) AS rows,
                        (SELECT bgnbd_fit(s['frequency'], s['recency'], s['t'])['converged'] FROM summary WHERE customer_id = 2) AS ok
                 FROM (SELECT bgnbd_p_alive(s['frequency'], s['recency'], s['t']) OVER (PARTITION BY customer_id) AS p FROM summary)"
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>("scored"), 0);
    assert!(row.get::<_, i64>("rows") > 0);
    assert!(!row.get::<_, bool>("ok"));
    // Nobody repeats: no BG/NBD model; one class: no logistic model, NULL AUC.
    let row = client
        .query_one(
            "SELECT bgnbd_fit(0, 0, t)['converged'] AS bg, logistic_fit(1, t)['converged'] AS lr,
                    roc_auc(t, 1) AS auc
             FROM (SELECT CAST(customer_id AS DOUBLE) AS t FROM customers)",
            &[],
        )
        .await
        .unwrap();
    assert!(!row.get::<_, bool>("bg"));
    assert!(!row.get::<_, bool>("lr"));
    assert_eq!(row.get::<_, Option<f64>>("auc"), None);
    // A customer with no purchase up to observation_end has no summary (lifetimes drops them).
    let row = client
        .query_one(
            "SELECT count(s) AS summarised, count(*) AS customers FROM (
               SELECT customer_id, btyd_summary(ts, total, TIMESTAMP '2024-01-31 00:00:00', 'W') AS s
               FROM orders GROUP BY customer_id)",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, i64>("summarised") < row.get::<_, i64>("customers"));
}

#[tokio::test]
async fn bad_churn_calls_fail_clearly() {
    let client = connect(demo_server()).await;
    let cases = [
        ("SELECT bgnbd_fit('a', 1, 2)", "42883", "must be numeric"),
        ("SELECT bgnbd_fit(1, 2)", "42883", "3 to 4 arguments"),
        ("SELECT bgnbd_fit(1.5, 1, 2)", "22000", "whole number"),
        ("SELECT bgnbd_fit(2, 5, 3)", "22000", "larger than T"),
        ("SELECT bgnbd_fit(0, 1, 3)", "22000", "recency must be 0"),
        ("SELECT bgnbd_fit(2, 1, 3, -1)", "22023", "penalizer"),
        (
            "SELECT bgnbd_fit(f, 1, 3, f) FROM (SELECT 2 AS f)",
            "22023",
            "constant",
        ),
        (
            "SELECT btyd_summary(ts, total, ts) FROM orders",
            "22023",
            "same for every row",
        ),
        (
            "SELECT btyd_summary(ts, total, TIMESTAMP '2025-01-01 00:00:00', 'Q') FROM orders",
            "22023",
            "'D', 'W' or 'M'",
        ),
        (
            "SELECT btyd_summary(total, total, ts) FROM orders",
            "42883",
            "timestamp or date",
        ),
        (
            "SELECT clv(1, 1, 2, 10, 0, 0.01) OVER () FROM orders",
            "22023",
            "horizon_months",
        ),
        (
            "SELECT clv(1, 1, 2, 10, 12, 2) OVER () FROM orders",
            "22023",
            "discount_rate",
        ),
        (
            "SELECT clv(1, 1, 2, 10, 12, 0.01, 'fortnight') OVER () FROM orders",
            "22023",
            "period",
        ),
        (
            "SELECT bgnbd_expected_purchases(1, 1, 2, -5) OVER () FROM orders",
            "22000",
            "horizon",
        ),
        (
            "SELECT logistic_score(2, total) OVER () FROM orders",
            "22000",
            "label must be 0, 1",
        ),
        (
            "SELECT logistic_score(1, 'x') OVER () FROM orders",
            "42883",
            "at least one numeric feature",
        ),
        (
            "SELECT logistic_score(1, 'x', total) OVER () FROM orders",
            "42883",
            "must be numeric",
        ),
        (
            "SELECT logistic_fit(used_coupon, total, 'l2=abc') FROM orders",
            "22023",
            "bad option",
        ),
        (
            "SELECT roc_auc(total) FROM orders",
            "42883",
            "numeric score",
        ),
        (
            "SELECT roc_auc(total, items) FROM orders",
            "22000",
            "label must be 0, 1",
        ),
    ];
    assert_bad_calls(&client, &cases).await;
}
