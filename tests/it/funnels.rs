//! The funnel family over the wire: results through tokio-postgres (text and binary), the
//! report table function, and bad calls that must fail with a clear SQLSTATE while the
//! connection keeps working.

use crate::support::{assert_bad_calls, connect, demo_server, first_column};

#[tokio::test]
async fn funnel_functions_answer_over_the_wire() {
    let client = connect(demo_server()).await;
    // Binary (extended protocol) results: INT level, LIST<BOOLEAN>, BOOLEAN, BIGINT, TEXT.
    let row = client
        .query_one(
            "SELECT window_funnel(INTERVAL '7 days', ts, event_type = 'view', event_type = 'purchase') AS level,
                    retention(event_type = 'view', event_type = 'purchase') AS r,
                    sequence_match('(?1).*(?2)', ts, event_type = 'view', event_type = 'purchase') AS m,
                    sequence_count('(?1).*(?2)', ts, event_type = 'view', event_type = 'purchase') AS n,
                    event_path(ts, event_type, 3, true) AS path
             FROM events WHERE customer_id = $1",
            &[&1i64],
        )
        .await
        .unwrap();
    let level: i32 = row.get("level");
    assert!((0..=2).contains(&level));
    let r: Vec<bool> = row.get("r");
    assert_eq!(r.len(), 2);
    let m: bool = row.get("m");
    let n: i64 = row.get("n");
    assert_eq!(m, n > 0);
    assert_eq!(
        level == 2,
        r[1] && m || level == 2,
        "level {level}, retention {r:?}, match {m}"
    );
    let path: String = row.get("path");
    assert!(path.split(" > ").count() <= 3, "{path}");

    // The report: four steps, monotone user counts, conversion 1.0 at the first step.
    let rows = client
        .query(
            "SELECT step_number, step, users, conversion_from_first FROM funnel_report('events', 'customer_id', 'ts',
               'event_type', 'view,add_to_cart,checkout,purchase', INTERVAL '7 days') ORDER BY step_number",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    let users: Vec<i64> = rows.iter().map(|r| r.get("users")).collect();
    assert!(
        users.windows(2).all(|w| w[0] >= w[1]) && users[3] > 0,
        "{users:?}"
    );
    assert_eq!(
        rows[0].get::<_, Option<f64>>("conversion_from_first"),
        Some(1.0)
    );

    // Sessions number from 1 per customer.
    let sessions = client
        .simple_query(
            "SELECT min(s) FROM (SELECT sessionize(ts, 1800) OVER (PARTITION BY customer_id ORDER BY ts) AS s FROM events)",
        )
        .await
        .unwrap();
    assert_eq!(first_column(&sessions), vec![Some("1".to_string())]);
}

#[tokio::test]
async fn bad_funnel_calls_fail_clearly() {
    let client = connect(demo_server()).await;
    let cases = [
        ("SELECT window_funnel(60, 'strict', ts, event_type = 'view') FROM events", "22023", "strict_deduplication"),
        ("SELECT window_funnel(60, 'fast', ts, event_type = 'view') FROM events", "22023", "valid modes"),
        ("SELECT window_funnel(INTERVAL '1 month', ts, event_type = 'view') FROM events", "22023", "fixed duration"),
        ("SELECT window_funnel(-5, ts, event_type = 'view') FROM events", "22023", "negative"),
        ("SELECT window_funnel(60, event_type, event_type = 'view') FROM events", "42883", "event time"),
        ("SELECT window_funnel(60, ts, event_type) FROM events", "42883", "boolean"),
        ("SELECT window_funnel(60, ts) FROM events", "42883", "at least one condition"),
        ("SELECT window_funnel(customer_id, ts, event_type = 'view') FROM events", "22023", "constant"),
        ("SELECT retention(event_type = 'view') FROM events", "42883", "2 to 32"),
        ("SELECT sequence_match('(?1)(?3)', ts, event_type = 'view', event_type = 'purchase') FROM events", "22023", "conditions 1..2"),
        ("SELECT sequence_count('(?1)(?t!3)(?2)', ts, event_type = 'view', event_type = 'purchase') FROM events", "42601", "time condition"),
        ("SELECT sessionize(ts, 1800) OVER (PARTITION BY customer_id ORDER BY ts DESC) FROM events", "22000", "out of time order"),
        ("SELECT event_path(ts, event_type, 0) FROM events", "22023", "positive"),
        ("SELECT * FROM funnel_report('events', 'customer_id', 'ts', 'event_type', 'view,,purchase', 60)", "22023", "non-empty"),
        ("SELECT * FROM funnel_report('events', 'customer_id')", "42883", "6 or 7 arguments"),
        ("SELECT * FROM funnel_report('nope', 'customer_id', 'ts', 'event_type', 'view,purchase', 60)", "42P01", "nope"),
    ];
    assert_bad_calls(&client, &cases).await;
}
