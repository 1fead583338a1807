//! The psql meta-commands a new user types first, through the real `psql` binary.

use std::process::Command;

use crate::support::demo_server;

fn psql(args: &[&str]) -> String {
    let addr = demo_server();
    let out = Command::new("psql")
        .args([
            "-X",
            "-h",
            &addr.ip().to_string(),
            "-p",
            &addr.port().to_string(),
        ])
        .args(["-U", "sightline", "-v", "ON_ERROR_STOP=1"])
        .args(args)
        .output()
        .expect("psql must be installed (Debian package postgresql-client); see README");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "psql {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn psql_lists_and_describes_tables() {
    let dt = psql(&["-c", r"\dt"]);
    for table in [
        "customers",
        "events",
        "orders",
        "order_items",
        "products",
        "touchpoints",
        "ad_spend",
    ] {
        assert!(dt.contains(table), "\\dt lacks {table}:\n{dt}");
    }
    let d = psql(&["-c", r"\d orders"]);
    for (column, ty) in [
        ("order_id", "bigint"),
        ("ts", "timestamp without time zone"),
        ("total", "numeric"),
        ("channel", "text"),
        ("items", "integer"),
        ("used_coupon", "boolean"),
    ] {
        assert!(
            d.lines().any(|l| l.contains(column) && l.contains(ty)),
            "\\d orders lacks {column} {ty}:\n{d}"
        );
    }
    let grouped = psql(&[
        "-At",
        "-c",
        "SELECT channel, count(*) FROM touchpoints GROUP BY 1 ORDER BY 1",
    ]);
    assert!(
        grouped.lines().any(|l| l.starts_with("paid_search|")),
        "{grouped}"
    );
}

#[test]
fn psql_df_lists_sightline_functions() {
    let all = psql(&["-c", r"\df"]);
    for name in [
        "window_funnel",
        "bgnbd_fit",
        "forecast",
        "detect_anomaly",
        "explain_change",
        "kmeans_cluster",
    ] {
        assert!(all.contains(name), "\\df lacks {name}:\n{all}");
    }
    let one = psql(&["-At", "-c", r"\df bgnbd_fit"]);
    assert!(
        one.contains("bgnbd_fit")
            && one.contains("frequency, recency, t [, penalizer]")
            && one.contains("agg"),
        "{one}"
    );
    let windows = psql(&["-At", "-c", r"\df detect_anomaly"]);
    assert!(windows.contains("window"), "{windows}");
    let description = psql(&[
        "-At",
        "-c",
        "SELECT obj_description(oid, 'pg_proc') FROM pg_catalog.pg_proc WHERE proname = 'roc_auc'",
    ]);
    assert!(
        description.contains("area under the ROC curve"),
        "{description}"
    );
}
