//! explain_change over the wire: the demo's planted regional dip comes out on top, segment
//! effects of one dimension add up to the total change exactly, and bad calls fail clearly.

use crate::support::{assert_bad_calls, connect, demo_server};

const VIEW: &str = "CREATE OR REPLACE VIEW it_session_outcomes AS
    SELECT e.session_id, c.region, e.channel, e.device,
           CASE WHEN min(e.ts) >= TIMESTAMP '2025-11-17' THEN 'dip' ELSE 'before' END AS period,
           max(CASE WHEN e.event_type = 'purchase' THEN 1 ELSE 0 END) AS converted
    FROM events e JOIN customers c ON c.customer_id = e.customer_id
    WHERE e.ts >= TIMESTAMP '2025-10-20' AND e.ts < TIMESTAMP '2025-12-15'
    GROUP BY e.session_id, c.region, e.channel, e.device";

#[tokio::test]
async fn the_planted_dip_is_the_top_finding_and_effects_add_up() {
    let client = connect(demo_server()).await;
    client.simple_query(VIEW).await.unwrap();
    let top = client
        .query(
            "SELECT rank, segment, effect, rate_effect FROM explain_change('it_session_outcomes',
               'sum(converted) / count(*)', 'region, channel, device', 'period', 'before', 'dip')
             ORDER BY rank LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let segment: String = top[0].get("segment");
    assert_eq!(segment, "region=South");
    let (effect, rate): (f64, f64) = (top[0].get("effect"), top[0].get("rate_effect"));
    assert!(effect < 0.0 && rate < 0.0, "{effect} {rate}");

    // Exactness: one dimension's segments add up to the total change of the conversion rate.
    let sums = client
        .query(
            "SELECT split_part(segment, '=', 1) AS dim, sum(effect) AS total
             FROM explain_change('it_session_outcomes', 'sum(converted) / count(*)',
                                 'region, channel, device', 'period', 'before', 'dip',
                                 max_depth => 1, min_support => 0, top_k => 1000)
             GROUP BY 1",
            &[],
        )
        .await
        .unwrap();
    let direct = client
        .query_one(
            "SELECT avg(converted) FILTER (WHERE period = 'dip') - avg(converted) FILTER (WHERE period = 'before') AS d
             FROM it_session_outcomes",
            &[],
        )
        .await
        .unwrap();
    let d: f64 = direct.get("d");
    assert_eq!(sums.len(), 3);
    for r in &sums {
        let total: f64 = r.get("total");
        assert!(
            (total - d).abs() < 1e-12,
            "{}: {total} vs {d}",
            r.get::<_, String>("dim")
        );
    }
}

#[tokio::test]
async fn bad_explain_change_calls_fail_clearly() {
    let client = connect(demo_server()).await;
    let cases = [
        ("SELECT * FROM explain_change('orders', 'max(total)', 'channel', 'device', 'a', 'b')", "22023", "metric must be"),
        ("SELECT * FROM explain_change('orders', 'sum(total)', 'channel', 'device', 'a')", "42883", "6 to 9 arguments"),
        ("SELECT * FROM explain_change('orders', 'sum(total)', ' , ', 'device', 'a', 'b')", "22023", "dimension columns"),
        ("SELECT * FROM explain_change('orders', 'sum(total)', 'channel', 'device', 'a', 'b', max_depth => 4)", "22023", "max_depth"),
        ("SELECT * FROM explain_change('orders', 'sum(total)', 'channel', 'device', 'a', 'b', top_k => 0)", "22023", "top_k"),
        ("SELECT * FROM explain_change('orders', 'sum(total)', 'channel', 'device', 'a', 'b', min_support => 2)", "22023", "min_support"),
        ("SELECT * FROM explain_change('nope', 'sum(total)', 'channel', 'device', 'a', 'b')", "42P01", "nope"),
        ("SELECT * FROM explain_change('orders', 'sum(total)', 'channel', 'device', 'a', 'a')", "22023", "must be different periods"),
        ("SELECT * FROM explain_change('orders', 'sum(total)', 'channel', 'device', 'desktop', 'no-such-device')", "22000", "no rows have device = 'no-such-device'"),
        ("SELECT * FROM explain_change('orders', 'sum(total)', 'channel, nope', 'device', 'a', 'b')", "42703", "nope"),
    ];
    assert_bad_calls(&client, &cases).await;
}
