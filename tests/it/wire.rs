//! The Postgres wire protocol through tokio-postgres: simple and extended query, parameters,
//! binary results, SQLSTATEs, streaming, settings.

use chrono::{NaiveDate, NaiveDateTime};
use futures::StreamExt;
use rust_decimal::Decimal;

use crate::support::{assert_usable, connect, demo_server, first_column, sqlstate};

#[tokio::test]
async fn simple_query_answers_group_by() {
    let client = connect(demo_server()).await;
    let rows = client
        .simple_query("SELECT channel, count(*) AS n FROM touchpoints GROUP BY 1 ORDER BY 1")
        .await
        .unwrap();
    let channels = first_column(&rows);
    assert!(channels.len() >= 6, "{channels:?}");
    assert!(channels.contains(&Some("paid_search".to_owned())));
    let total: i64 = client
        .query_one("SELECT count(*) FROM touchpoints", &[])
        .await
        .unwrap()
        .get(0);
    let summed: i64 = rows
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                r.get(1).map(|v| v.parse::<i64>().unwrap())
            }
            _ => None,
        })
        .sum();
    assert_eq!(total, summed);
}

#[tokio::test]
async fn prepared_statements_bind_parameters() {
    let client = connect(demo_server()).await;
    let stmt = client
        .prepare("SELECT count(*) FROM orders WHERE customer_id <= $1 AND channel = $2")
        .await
        .unwrap();
    let with_params: i64 = client
        .query_one(&stmt, &[&500_i64, &"paid_search"])
        .await
        .unwrap()
        .get(0);
    let literal: i64 = client
        .query_one(
            "SELECT count(*) FROM orders WHERE customer_id <= 500 AND channel = 'paid_search'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(with_params, literal);
    assert!(literal > 0);
    // The same statement again with other values.
    let other: i64 = client
        .query_one(&stmt, &[&100_000_i64, &"email"])
        .await
        .unwrap()
        .get(0);
    assert!(other > 0);
}

#[tokio::test]
async fn binary_results_decode_to_the_right_types() {
    let client = connect(demo_server()).await;
    let row = client
        .query_one(
            "SELECT CAST(7 AS SMALLINT) AS i2, CAST(42 AS INT) AS i4, CAST(9000000000 AS BIGINT) AS i8,
                    CAST(1.5 AS REAL) AS f4, CAST(2.25 AS DOUBLE) AS f8, 'héllo' AS t,
                    CAST('2024-01-02 03:04:05.123456' AS TIMESTAMP) AS ts,
                    CAST('2024-02-29' AS DATE) AS d, CAST(12.34 AS DECIMAL(10,2)) AS num,
                    true AS b, make_array(1, 2, 3) AS ints, make_array('x', 'y') AS texts",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i16>("i2"), 7);
    assert_eq!(row.get::<_, i32>("i4"), 42);
    assert_eq!(row.get::<_, i64>("i8"), 9_000_000_000);
    assert_eq!(row.get::<_, f32>("f4"), 1.5);
    assert_eq!(row.get::<_, f64>("f8"), 2.25);
    assert_eq!(row.get::<_, String>("t"), "héllo");
    let ts = NaiveDateTime::parse_from_str("2024-01-02 03:04:05.123456", "%Y-%m-%d %H:%M:%S%.f")
        .unwrap();
    assert_eq!(row.get::<_, NaiveDateTime>("ts"), ts);
    assert_eq!(
        row.get::<_, NaiveDate>("d"),
        NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
    );
    assert_eq!(row.get::<_, Decimal>("num"), Decimal::new(1234, 2));
    assert!(row.get::<_, bool>("b"));
    assert_eq!(row.get::<_, Vec<i64>>("ints"), vec![1, 2, 3]);
    assert_eq!(row.get::<_, Vec<String>>("texts"), vec!["x", "y"]);
}

#[tokio::test]
async fn demo_columns_have_postgres_types() {
    let client = connect(demo_server()).await;
    let row = client
        .query_one(
            "SELECT order_id, ts, total, coupon_code, used_coupon FROM orders ORDER BY order_id LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
    let _: NaiveDateTime = row.get(1);
    assert!(row.get::<_, Decimal>(2) > Decimal::ZERO);
    let _: Option<String> = row.get(3);
    let _: bool = row.get(4);
    let day: NaiveDate = client
        .query_one("SELECT min(signup_date) FROM customers", &[])
        .await
        .unwrap()
        .get(0);
    assert!(day >= NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
}

#[tokio::test]
async fn errors_carry_sqlstates_and_the_connection_survives() {
    let client = connect(demo_server()).await;
    let cases = [
        ("SELEC 1", "42601"),
        ("SELECT * FROM no_such_table", "42P01"),
        ("SELECT no_such_function(1)", "42883"),
        ("SELECT no_such_column FROM orders", "42703"),
        ("SELECT safe_divide('a')", "42883"),
        ("SHOW no_such_setting", "42704"),
        ("SELECT CAST('abc' AS INT)", "22P02"),
        ("SELECT 1 / 0", "22012"),
    ];
    for (sql, code) in cases {
        let err = client.simple_query(sql).await.unwrap_err();
        assert_eq!(sqlstate(&err), code, "{sql}: {err:?}");
        let err = client.query(sql, &[]).await.unwrap_err();
        assert_eq!(sqlstate(&err), code, "{sql} (extended): {err:?}");
    }
    assert_usable(&client).await;
}

#[tokio::test]
async fn large_results_stream_without_being_collected_first() {
    let addr = demo_server();
    let (client, connection) =
        tokio_postgres::connect(&crate::support::conn_string(addr), tokio_postgres::NoTls)
            .await
            .unwrap();
    let conn = tokio::spawn(connection);
    // Two billion rows: collecting them first would take minutes and tens of GiB, so the first
    // rows only arrive promptly if the server streams batch by batch.
    let params: [i64; 0] = [];
    let stream = client
        .query_raw("SELECT value FROM range(0, 2000000000)", params)
        .await
        .unwrap();
    let first: Vec<i64> = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        stream
            .take(20_000)
            .map(|r| r.unwrap().get::<_, i64>(0))
            .collect::<Vec<_>>(),
    )
    .await
    .expect("first rows of a huge result arrive while it is still being produced");
    assert_eq!(first.len(), 20_000);
    assert_eq!(first[..3], [0, 1, 2]);
    // Walk away mid-stream; the server must drop the query and keep serving others.
    conn.abort();
    drop(client);
    let client = connect(addr).await;
    let n: i64 = client
        .query_one("SELECT count(*) FROM events", &[])
        .await
        .unwrap()
        .get(0);
    let streamed = client
        .query_raw("SELECT * FROM events", [] as [i64; 0])
        .await
        .unwrap()
        .fold(0_i64, |n, row| async move {
            row.unwrap();
            n + 1
        })
        .await;
    assert_eq!(streamed, n);
}

#[tokio::test]
async fn version_and_show_look_like_postgres() {
    let client = connect(demo_server()).await;
    let version: String = client
        .query_one("SELECT version()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(version.starts_with("PostgreSQL 16."), "{version}");
    let version: String = client
        .query_one("SELECT pg_catalog.version()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(version.contains("Sightline"), "{version}");
    for (name, expected) in [
        ("server_version_num", "160006"),
        ("standard_conforming_strings", "on"),
        ("server_encoding", "UTF8"),
        ("integer_datetimes", "on"),
        ("transaction_isolation", "read committed"),
    ] {
        let rows = client.simple_query(&format!("SHOW {name}")).await.unwrap();
        assert_eq!(
            first_column(&rows),
            vec![Some(expected.to_owned())],
            "{name}"
        );
    }
    let rows = client.simple_query("SHOW application_name").await.unwrap();
    assert_eq!(
        first_column(&rows),
        vec![Some("sightline-tests".to_owned())]
    );
    let rows = client.simple_query("SHOW ALL").await.unwrap();
    assert!(first_column(&rows).len() > 20);
    let setting: String = client
        .query_one("SELECT current_setting('server_version_num')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(setting, "160006");
}

#[tokio::test]
async fn transactions_and_explain_are_accepted() {
    let mut client = connect(demo_server()).await;
    let tx = client.transaction().await.unwrap();
    let n: i64 = tx
        .query_one("SELECT count(*) FROM products", &[])
        .await
        .unwrap()
        .get(0);
    assert!(n > 0);
    tx.commit().await.unwrap();
    let tx = client.transaction().await.unwrap();
    tx.rollback().await.unwrap();
    for sql in [
        "EXPLAIN SELECT channel, count(*) FROM events GROUP BY channel",
        "EXPLAIN ANALYZE SELECT channel, count(*) FROM events GROUP BY channel",
    ] {
        let rows = client.simple_query(sql).await.unwrap();
        let plan: Vec<_> = first_column(&rows);
        assert!(!plan.is_empty(), "{sql}");
        let rows = client.query(sql, &[]).await.unwrap();
        assert!(!rows.is_empty(), "{sql} (extended)");
    }
}

#[tokio::test]
async fn catalog_queries_see_the_tables() {
    let client = connect(demo_server()).await;
    let tables: Vec<String> = client
        .query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for t in [
        "ad_spend",
        "customers",
        "events",
        "order_items",
        "orders",
        "products",
        "touchpoints",
    ] {
        assert!(tables.iter().any(|x| x == t), "{t} missing from {tables:?}");
    }
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relname = 'orders'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[tokio::test]
async fn cancel_request_stops_a_streaming_query() {
    let addr = demo_server();
    let client = connect(addr).await;
    let token = client.cancel_token();
    let stream = client
        .query_raw("SELECT value FROM range(0, 2000000000)", [] as [i64; 0])
        .await
        .unwrap();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        token.cancel_query(tokio_postgres::NoTls).await.unwrap();
    });
    let outcome = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        stream.fold(Ok(0_u64), |acc, row| async move {
            match (acc, row) {
                (Ok(n), Ok(_)) => Ok(n + 1),
                (Ok(_), Err(e)) => Err(e),
                (err, _) => err,
            }
        }),
    )
    .await
    .expect("the cancelled query ends promptly");
    canceller.await.unwrap();
    let err = outcome.expect_err("a 2-billion-row query cannot finish before the cancel");
    assert_eq!(sqlstate(&err), "57014");
    // The connection is usable afterwards.
    assert_usable(&client).await;
}

#[tokio::test]
async fn garbage_and_abandoned_connections_do_not_hurt_the_server() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = demo_server();
    // Not the Postgres protocol at all.
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), raw.read(&mut buf)).await;
    drop(raw);
    // A startup packet that claims to be huge, then silence.
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    raw.write_all(&[0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0])
        .await
        .unwrap();
    drop(raw);
    // A connection that goes away halfway through its startup packet.
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    raw.write_all(&[0, 0, 0, 40, 0, 3]).await.unwrap();
    drop(raw);

    let client = connect(addr).await;
    let n: i64 = client
        .query_one("SELECT count(*) FROM customers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n as usize, crate::support::DEMO_CUSTOMERS);
}

/// Found by the protocol fuzz target (`fuzz/`): a Parse message that announces a parameter type
/// but ends before it made pgwire's decoder panic. The connection gets FATAL 08P01 and everyone
/// else keeps being served.
#[tokio::test]
async fn truncated_parse_message_is_a_protocol_error() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = demo_server();
    let mut startup = Vec::new();
    startup.extend_from_slice(&196_608u32.to_be_bytes());
    for part in ["user", "fuzz", "database", "sightline"] {
        startup.extend_from_slice(part.as_bytes());
        startup.push(0);
    }
    startup.push(0);
    let mut packet = ((startup.len() + 4) as u32).to_be_bytes().to_vec();
    packet.extend_from_slice(&startup);
    // The fuzzer's input after its startup packet: Parse "s1" with 1 parameter type announced
    // but 0 bytes left for it, followed by Bind/Describe/Execute/Sync/Terminate.
    let crash: &[u8] = b"P\x00\x00\x00#s1\x00S#s1\x00SELECT $1::B + 1\x00\x00\x01\x00\x00\x00\x14B\x00\x00\x00\x1c\x00s1\x00\x00\x00\x00\x01\x00\x00\x00\x017\x00\x00D\x00\x00\x00\x06P\x00E\x00\x00\x00\x09\x00\x00\x00\x00\x00S\x00\x00\x00\x04X\x00\x00\x00\x04";
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    raw.write_all(&packet).await.unwrap();
    raw.write_all(crash).await.unwrap();
    let mut received = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        raw.read_to_end(&mut received),
    )
    .await
    .expect("the server closes the connection");
    let text = String::from_utf8_lossy(&received);
    assert!(text.contains("08P01"), "{text:?}");
    let client = connect(addr).await;
    assert_usable(&client).await;

    // Also found by it: a CopyData message whose length field is below 4 (the length counts
    // itself) made the decoder subtract past zero.
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    raw.write_all(&packet).await.unwrap();
    raw.write_all(b"d\x00\x00\x00\x00").await.unwrap();
    let mut received = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        raw.read_to_end(&mut received),
    )
    .await
    .expect("the server closes the connection");
    let client = connect(addr).await;
    assert_usable(&client).await;
}

/// Found by the protocol fuzz target: an Execute asking for ~1.09 billion rows made pgwire
/// reserve memory for all of them up front, and the allocation failure aborted the whole server.
/// Large and negative row limits are now served like PostgreSQL: negative = all rows, large =
/// in batches with PortalSuspended.
#[tokio::test]
async fn huge_and_negative_execute_row_limits_are_safe() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = demo_server();
    let message = |tag: u8, body: &[u8]| {
        let mut m = vec![tag];
        m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(body);
        m
    };
    for max_rows in [0x4100_0000_i32, -1, i32::MAX] {
        let mut startup = Vec::new();
        startup.extend_from_slice(&196_608u32.to_be_bytes());
        for part in ["user", "fuzz", "database", "sightline"] {
            startup.extend_from_slice(part.as_bytes());
            startup.push(0);
        }
        startup.push(0);
        let mut bytes = ((startup.len() + 4) as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(&startup);
        bytes.extend(message(b'P', b"\0SELECT value FROM range(0, 20000)\0\0\0"));
        bytes.extend(message(b'B', b"\0\0\0\0\0\0\0\0"));
        let mut execute = b"\0".to_vec();
        execute.extend_from_slice(&max_rows.to_be_bytes());
        bytes.extend(message(b'E', &execute));
        bytes.extend(message(b'S', b""));
        bytes.extend(message(b'X', b""));
        let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
        raw.write_all(&bytes).await.unwrap();
        let mut received = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            raw.read_to_end(&mut received),
        )
        .await
        .expect("answered")
        .unwrap();
        // DataRow messages came back, and the exchange ended normally (ReadyForQuery).
        let data_rows = received
            .windows(7)
            .filter(|w| w[0] == b'D' && w[5..7] == [0, 1])
            .count();
        assert!(data_rows >= 16_384, "max_rows {max_rows}: {data_rows} rows");
        assert!(
            received.contains(&b'Z'),
            "max_rows {max_rows}: no ReadyForQuery"
        );
    }
    assert_usable(&connect(addr).await).await;
}

/// Found by the SQL fuzz target: sqlparser's parsing time doubles with each level of nested
/// function calls and cannot be interrupted (a 700-character garbage statement kept a core busy
/// for 100 s past its statement_timeout). Statements nesting calls deeper than 20 levels are
/// refused at once with 54001, in both protocols.
#[tokio::test]
async fn deeply_nested_calls_are_refused_at_once() {
    let client = connect(demo_server()).await;
    let sql = format!("SELECT {}1{}", "abs(".repeat(30), ")".repeat(30));
    let started = std::time::Instant::now();
    let err = client.simple_query(&sql).await.expect_err("too deep");
    assert_eq!(sqlstate(&err), "54001");
    let err = client.query(&sql, &[]).await.expect_err("too deep");
    assert_eq!(sqlstate(&err), "54001");
    let garbage = format!(
        "SELECT a_if, produdevice {}x",
        "(sfrnetue_q+(order_".repeat(25)
    );
    let err = client.simple_query(&garbage).await.expect_err("too deep");
    assert_eq!(sqlstate(&err), "54001");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_usable(&client).await;
}

/// Scalar subqueries and PostgreSQL's subquery forms in the select list give the same answers as
/// the equivalent joins, over both protocols (datafusion-postgres used to turn a correlated one
/// into NULL).
#[tokio::test]
async fn select_list_subqueries_answer_like_joins() {
    let client = connect(demo_server()).await;
    let expected = "SELECT c.customer_id, count(o.order_id) AS n, count(o.order_id) > 0 AS buyer, \
                    coalesce(array_to_string(array_agg(o.order_id ORDER BY o.order_id) FILTER (WHERE o.order_id IS NOT NULL), ','), '') AS ids \
                    FROM customers c LEFT JOIN orders o ON o.customer_id = c.customer_id \
                    WHERE c.customer_id <= 40 GROUP BY c.customer_id ORDER BY c.customer_id";
    let subqueries = "SELECT c.customer_id, (SELECT count(*) FROM orders o WHERE o.customer_id = c.customer_id) AS n, \
                      EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id) AS buyer, \
                      coalesce(array_to_string(ARRAY(SELECT o.order_id FROM orders o WHERE o.customer_id = c.customer_id ORDER BY o.order_id), ','), '') AS ids \
                      FROM customers c WHERE c.customer_id <= 40 ORDER BY c.customer_id";
    let text = |rows: Vec<tokio_postgres::SimpleQueryMessage>| -> Vec<Vec<String>> {
        rows.iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                    (0..r.len())
                        .map(|i| r.get(i).unwrap_or("NULL").to_string())
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    };
    let want = text(client.simple_query(expected).await.unwrap());
    assert_eq!(want.len(), 40);
    assert!(want.iter().any(|r| r[1] == "0") && want.iter().any(|r| r[1] != "0"));
    let got = text(client.simple_query(subqueries).await.unwrap());
    assert_eq!(got, want);
    // The extended protocol, with a parameter outside the subqueries.
    let rows = client
        .query(
            "SELECT c.customer_id, (SELECT count(*) FROM orders o WHERE o.customer_id = c.customer_id) AS n \
             FROM customers c WHERE c.customer_id <= $1 ORDER BY c.customer_id",
            &[&40i64],
        )
        .await
        .unwrap();
    let counts: Vec<String> = rows
        .iter()
        .map(|r| r.get::<_, i64>(1).to_string())
        .collect();
    assert_eq!(
        counts,
        want.iter().map(|r| r[1].clone()).collect::<Vec<_>>()
    );
}
