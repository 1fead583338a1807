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
    // \df+ adds volatility, owner, privileges, language and the description.
    let plus = psql(&["-At", "-c", r"\df+ rfm_segment"]);
    assert!(
        plus.contains("rfm_segment") && plus.contains("immutable") && plus.contains("Champions"),
        "{plus}"
    );
}

/// psql's Ctrl-C sends a CancelRequest; a long simple-protocol query stops with 57014.
#[test]
fn psql_ctrl_c_cancels_a_long_query() {
    let addr = demo_server();
    let mut child = Command::new("psql")
        .arg(format!(
            "host={} port={} user=sightline dbname=sightline",
            addr.ip(),
            addr.port()
        ))
        .args([
            "-X",
            "-A",
            "-t",
            "-c",
            "SELECT count(*) FROM range(0, 200000000000) WHERE value % 7 = 3",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("psql is installed (.ci/run installs postgresql-client)");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let out = loop {
        if child.try_wait().unwrap().is_some() {
            break child.wait_with_output().unwrap();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "psql did not return after Ctrl-C"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("canceling statement due to user request"),
        "{stderr}"
    );
    // The server keeps serving.
    assert_eq!(
        psql(&["-A", "-t", "-c", "SELECT 'still here'"]).trim(),
        "still here"
    );
}

/// A CancelRequest also stops a simple-protocol query while its rows are being sent.
#[tokio::test]
async fn cancel_stops_a_simple_protocol_stream() {
    use futures::StreamExt;
    let client = crate::support::connect(demo_server()).await;
    let token = client.cancel_token();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        token.cancel_query(tokio_postgres::NoTls).await.unwrap();
    });
    let mut stream = Box::pin(
        client
            .simple_query_raw("SELECT value FROM range(0, 2000000000)")
            .await
            .unwrap(),
    );
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(120), async {
        while let Some(item) = stream.next().await {
            item?;
        }
        Ok::<(), tokio_postgres::Error>(())
    })
    .await
    .expect("the cancelled query ends promptly");
    canceller.await.unwrap();
    let err = outcome.expect_err("2 billion rows cannot all arrive before the cancel");
    assert_eq!(crate::support::sqlstate(&err), "57014");
    crate::support::assert_usable(&client).await;
}

/// The other meta-commands the compatibility issue lists, as a new user types them.
#[test]
fn psql_meta_commands() {
    let l = psql(&["-c", "\\l"]);
    assert!(
        l.contains("List of databases") && l.contains("sightline") && l.contains("UTF8"),
        "{l}"
    );
    let dn = psql(&["-c", "\\dn"]);
    assert!(dn.contains("public"), "{dn}");
    let dt_plus = psql(&["-c", "\\dt+"]);
    assert!(
        dt_plus.contains("orders") && dt_plus.contains("Size"),
        "{dt_plus}"
    );
    // No views on the demo: psql says so on stderr; `psql` asserts the command succeeded.
    psql(&["-c", "\\dv"]);
    let d_plus = psql(&["-c", "\\d+ orders"]);
    assert!(
        d_plus.contains("Storage")
            && d_plus
                .lines()
                .any(|l| l.contains("order_id") && l.contains("bigint") && l.contains("plain")),
        "{d_plus}"
    );
    let du = psql(&["-c", "\\du"]);
    assert!(
        du.contains("List of roles") && du.contains("postgres"),
        "{du}"
    );
    let conninfo = psql(&["-c", "\\conninfo"]);
    assert!(conninfo.contains("You are connected"), "{conninfo}");
    let expanded = psql(&["-c", "\\x", "-c", "SELECT 1 AS one, 2 AS two"]);
    assert!(
        expanded.contains("-[ RECORD 1 ]") && expanded.contains("two | 2"),
        "{expanded}"
    );
    let timing = psql(&["-c", "\\timing", "-c", "SELECT 1"]);
    assert!(timing.contains("Time:"), "{timing}");
    let copy = psql(&[
        "-c",
        "\\copy (SELECT order_id, channel FROM orders ORDER BY order_id LIMIT 2) TO STDOUT WITH (FORMAT csv, HEADER)",
    ]);
    assert_eq!(copy.lines().next(), Some("order_id,channel"), "{copy}");
    assert_eq!(copy.lines().count(), 3, "{copy}");
}
