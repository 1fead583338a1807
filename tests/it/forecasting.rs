//! Forecasting over the wire: AirPassengers and a daily series through `forecast` against
//! statsforecast's numbers (udfs/tests/fixtures/forecast_statsforecast.json), `forecast_table`
//! with named arguments, `detect_anomaly` finding the demo's South dip, and bad calls.

use serde_json::Value;

use crate::support::{assert_bad_calls, connect, demo_server};

const FIXTURE: &str = include_str!("../../udfs/tests/fixtures/forecast_statsforecast.json");

fn series(name: &str) -> Value {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    fixture["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
        .clone()
}

/// `(SELECT … FROM (VALUES …))` of a fixture series as (ts, y).
fn values_sql(s: &Value) -> String {
    let rows: Vec<String> = s["timestamps"]
        .as_array()
        .unwrap()
        .iter()
        .zip(s["values"].as_array().unwrap())
        .map(|(t, v)| format!("(DATE '{}', {})", t.as_str().unwrap(), v))
        .collect();
    format!(
        "(SELECT column1 AS ts, CAST(column2 AS DOUBLE) AS y FROM (VALUES {}))",
        rows.join(", ")
    )
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-9)
}

#[tokio::test]
async fn forecasts_match_statsforecast_over_the_wire() {
    let client = connect(demo_server()).await;
    for (name, method, key) in [
        ("air_passengers", "auto", "auto_ets"),
        ("daily_multiplicative", "auto", "auto_ets"),
        ("air_passengers", "theta", "auto_theta"),
        ("air_passengers", "seasonal_naive", "seasonal_naive"),
    ] {
        let s = series(name);
        let h = s["horizon"].as_u64().unwrap();
        let rows = client
            .query(
                &format!(
                    "SELECT CAST(f['ts'] AS VARCHAR) AS ts, f['forecast'] AS mean, f['lo_95'] AS lo, f['hi_95'] AS hi, f['model'] AS model
                     FROM (SELECT unnest(forecast(ts, y, {h}, NULL, '{method}')) AS f FROM {})",
                    values_sql(&s)
                ),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(rows.len() as u64, h, "{name} {method}");
        let want = &s[key];
        let (mean, lo, hi) = if key == "auto_theta" {
            let g = &want["forecast_gaussian_limit"];
            (&want["forecast"]["mean"], &g["lo-95"], &g["hi-95"])
        } else {
            let f = &want["forecast"];
            (&f["mean"], &f["lo-95"], &f["hi-95"])
        };
        for (j, row) in rows.iter().enumerate() {
            for (col, w) in [("mean", mean), ("lo", lo), ("hi", hi)] {
                let got: f64 = row.get(col);
                let w = w[j].as_f64().unwrap();
                assert!(
                    close(got, w, 1e-6),
                    "{name} {method} {col}[{j}]: {got} vs {w}"
                );
            }
        }
        if key == "auto_ets" {
            let model: String = rows[0].get("model");
            assert_eq!(model, format!("ETS({})", want["model"].as_str().unwrap()));
        }
        // Monthly data continue monthly: AirPassengers ends 1960-12, so 1961-01 comes next.
        if name == "air_passengers" {
            let first: String = rows[0].get("ts");
            assert_eq!(first, "1961-01-01");
        }
    }
}

#[tokio::test]
async fn forecast_table_gives_history_and_forecast_rows() {
    let client = connect(demo_server()).await;
    let rows = client
        .query(
            "SELECT series, kind, count(*) AS n, count(forecast) AS f, count(actual) AS a
             FROM forecast_table('(SELECT CAST(date_trunc(''day'', ts) AS DATE) AS day, channel, sum(total) AS revenue
                                   FROM orders WHERE ts >= TIMESTAMP ''2025-06-01'' GROUP BY 1, 2)',
                                 'day', 'revenue', horizon => 14, series => 'channel', method => 'holt_winters')
             GROUP BY series, kind ORDER BY series, kind",
            &[],
        )
        .await
        .unwrap();
    assert!(rows.len() >= 8, "{} rows", rows.len());
    for r in &rows {
        let kind: String = r.get("kind");
        let (n, f, a): (i64, i64, i64) = (r.get("n"), r.get("f"), r.get("a"));
        if kind == "forecast" {
            assert_eq!((n, f, a), (14, 14, 0));
        } else {
            assert_eq!(kind, "actual");
            assert!(n > 100 && a == n && f == 0);
        }
    }
}

#[tokio::test]
async fn detect_anomaly_finds_the_south_dip() {
    let client = connect(demo_server()).await;
    let rows = client
        .query(
            "WITH weekly AS (
               SELECT c.region, CAST(date_trunc('week', e.ts) AS DATE) AS week,
                      count(DISTINCT CASE WHEN e.event_type = 'purchase' THEN e.session_id END) * 1.0
                        / count(DISTINCT e.session_id) AS conversion
               FROM events e JOIN customers c ON c.customer_id = e.customer_id
               WHERE e.ts >= TIMESTAMP '2025-03-03' AND e.ts < TIMESTAMP '2025-12-15'
               GROUP BY c.region, CAST(date_trunc('week', e.ts) AS DATE)),
             flagged AS (
               SELECT region, week, conversion,
                      detect_anomaly(week, conversion, 1, 95) OVER (PARTITION BY region ORDER BY week) AS a
               FROM weekly)
             SELECT region,
                    count(*) FILTER (WHERE a['is_anomaly'] AND conversion < a['lo'] AND week >= DATE '2025-11-17') AS dip_lows,
                    count(*) FILTER (WHERE a['is_anomaly']) AS anomalies, count(*) AS weeks,
                    count(a['expected']) AS scored
             FROM flagged GROUP BY region ORDER BY dip_lows DESC, region",
            &[],
        )
        .await
        .unwrap();
    let top: String = rows[0].get("region");
    assert_eq!(top, "South");
    assert!(rows[0].get::<_, i64>("dip_lows") >= 1);
    for r in &rows[1..] {
        assert_eq!(r.get::<_, i64>("dip_lows"), 0);
    }
    let (anomalies, weeks): (i64, i64) = rows.iter().fold((0, 0), |acc, r| {
        (
            acc.0 + r.get::<_, i64>("anomalies"),
            acc.1 + r.get::<_, i64>("weeks"),
        )
    });
    assert!(
        anomalies * 5 < weeks,
        "{anomalies} anomalies in {weeks} weeks"
    );
    assert!(rows
        .iter()
        .all(|r| r.get::<_, i64>("scored") == r.get::<_, i64>("weeks")));
}

#[tokio::test]
async fn bad_forecast_calls_fail_clearly() {
    let client = connect(demo_server()).await;
    let cases = [
        (
            "SELECT forecast(ts, total) FROM orders",
            "42883",
            "3 to 5 arguments",
        ),
        (
            "SELECT forecast(total, total, 7) FROM orders",
            "42883",
            "timestamp or date",
        ),
        (
            "SELECT forecast(ts, channel, 7) FROM orders",
            "42883",
            "value must be numeric",
        ),
        (
            "SELECT forecast(ts, total, 0) FROM orders",
            "22023",
            "horizon",
        ),
        (
            "SELECT forecast(ts, total, items) FROM orders",
            "22023",
            "constant",
        ),
        (
            "SELECT forecast(ts, total, 7, 7, 'prophet') FROM orders",
            "22023",
            "unknown method",
        ),
        (
            "SELECT forecast(ts, total, 7, 7, 'AAM') FROM orders",
            "22023",
            "unknown method",
        ),
        (
            "SELECT forecast(DATE '2025-01-01', total, 7) FROM orders",
            "22000",
            "same timestamp",
        ),
        (
            "SELECT forecast(ts, total, 7) FROM orders",
            "22000",
            "irregular",
        ),
        (
            "SELECT detect_anomaly(ts, total, 7, 5) OVER () FROM orders",
            "22023",
            "level",
        ),
        (
            "SELECT * FROM forecast_table('orders', 'ts', 'total', 0)",
            "22023",
            "horizon",
        ),
        (
            "SELECT * FROM forecast_table('orders', 'ts', 'total', 7, method => 'magic')",
            "22023",
            "unknown method",
        ),
        (
            "SELECT * FROM forecast_table('orders', 'ts')",
            "42883",
            "4 to 7 arguments",
        ),
    ];
    assert_bad_calls(&client, &cases).await;
}

#[tokio::test]
async fn edge_cases_are_handled_not_crashed() {
    let client = connect(demo_server()).await;
    // NULL values are skipped and their steps filled; a single point gets the naive forecast
    // without a band; a multiplicative model on values <= 0 gives NULL; a constant series gives
    // its constant with a zero-width band.
    let row = client
        .query_one(
            "WITH s AS (SELECT CAST(to_timestamp(1735689600 + n * 86400) AS DATE) AS day,
                               CASE WHEN n % 10 = 3 THEN NULL ELSE 100 + n % 7 END AS y,
                               CAST(n % 7 AS DOUBLE) - 3 AS signed, 5.0 AS flat
                        FROM (SELECT unnest(generate_series(1, 120)) AS n) t)
             SELECT CAST(cardinality(forecast(day, y, 14)) AS BIGINT) AS with_nulls,
                    forecast(day, signed, 7, 7, 'MAM') IS NULL AS mult_on_negatives,
                    CAST(cardinality(forecast(day, signed, 7)) AS BIGINT) AS auto_on_negatives,
                    forecast(day, flat, 3)[1]['forecast'] AS flat_forecast,
                    forecast(day, flat, 3)[1]['hi_95'] - forecast(day, flat, 3)[1]['lo_95'] AS flat_width,
                    (SELECT forecast(day, y, 2)[1]['lo_95'] IS NULL FROM s WHERE day = DATE '2025-01-02') AS single_point_band,
                    (SELECT forecast(day, y, 2)[2]['forecast'] FROM s WHERE day = DATE '2025-01-02') AS single_point
             FROM s",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>("with_nulls"), 14);
    assert!(row.get::<_, bool>("mult_on_negatives"));
    assert_eq!(row.get::<_, i64>("auto_on_negatives"), 7);
    assert_eq!(row.get::<_, f64>("flat_forecast"), 5.0);
    assert!(row.get::<_, f64>("flat_width").abs() < 1e-9);
    assert!(row.get::<_, bool>("single_point_band"));
    assert_eq!(row.get::<_, f64>("single_point"), 101.0);
}
