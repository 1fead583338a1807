//! Starting servers and connecting to them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sightline::config::Config;
use tokio_postgres::{Client, NoTls};

/// Customers in the shared demo dataset the tests run against: small enough to generate in a
/// second or two in a debug build, large enough for the planted signals to show.
pub const DEMO_CUSTOMERS: usize = 3000;
pub const DEMO_SEED: u64 = 42;

/// Starts a server over `data` on its own runtime thread; returns its address.
pub fn start_server(data: &Path) -> SocketAddr {
    start_server_with(data, |_| {})
}

/// A server whose session also gets whatever `setup` registers (test-only functions).
pub fn start_server_with(
    data: &Path,
    setup: fn(&datafusion::prelude::SessionContext),
) -> SocketAddr {
    spawn_server(TestServer {
        data: data.to_owned(),
        setup,
        ..TestServer::default()
    })
}

/// How a test server is set up: its data, its config, extra functions, server options and,
/// optionally, a shutdown trigger (the server then signals `done` when it has stopped).
pub struct TestServer {
    pub data: PathBuf,
    pub config: Config,
    pub setup: fn(&datafusion::prelude::SessionContext),
    pub configure: fn(sightline::server::Server) -> sightline::server::Server,
    /// Users and roles (default: trust, read-only); file paths are confined to `data`.
    pub security: sightline::security::Security,
    /// TLS certificate and key (PEM).
    pub tls: Option<(PathBuf, PathBuf)>,
    pub idle_session_timeout: std::time::Duration,
    pub shutdown: Option<(
        tokio::sync::oneshot::Receiver<()>,
        std::time::Duration,
        std::sync::mpsc::Sender<()>,
    )>,
}

impl Default for TestServer {
    fn default() -> Self {
        TestServer {
            data: demo_dir().to_owned(),
            config: Config {
                target_partitions: 2,
                ..Config::default()
            },
            setup: |_| {},
            configure: |s| s,
            security: sightline::security::Security::default(),
            tls: None,
            idle_session_timeout: std::time::Duration::ZERO,
            shutdown: None,
        }
    }
}

/// Starts `server` on its own runtime thread; returns its address.
pub fn spawn_server(server: TestServer) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let ctx =
                sightline::session::build_context(&server.config, &server.data).expect("context");
            (server.setup)(&ctx);
            let bound = sightline::server::Server::bind(
                std::sync::Arc::new(ctx),
                "127.0.0.1:0".parse().unwrap(),
            )
            .await
            .expect("bind");
            let tls = server.tls.as_ref().map(|(cert, key)| {
                sightline::security::tls::acceptor(cert, key).expect("TLS certificate")
            });
            let bound = (server.configure)(bound)
                .with_security(server.security, tls, server.data.clone())
                .with_idle_session_timeout(server.idle_session_timeout);
            tx.send(bound.local_addr().unwrap()).unwrap();
            match server.shutdown {
                None => bound.run().await.expect("server"),
                Some((stop, grace, done)) => {
                    bound
                        .run_until(
                            async {
                                let _ = stop.await;
                            },
                            grace,
                        )
                        .await
                        .expect("server");
                    let _ = done.send(());
                }
            }
        });
    });
    rx.recv().expect("server address")
}

/// The shared demo dataset, generated once per test run.
pub fn demo_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("sightline-demo-")
            .tempdir()
            .expect("tempdir")
            .keep();
        sightline::demo::write_demo(&dir, DEMO_CUSTOMERS, DEMO_SEED).expect("demo data");
        dir
    })
}

/// A server over the shared demo dataset, started once per test run.
pub fn demo_server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| start_server(demo_dir()))
}

pub fn conn_string(addr: SocketAddr) -> String {
    format!(
        "host={} port={} user=sightline dbname=sightline application_name=sightline-tests",
        addr.ip(),
        addr.port()
    )
}

pub async fn connect(addr: SocketAddr) -> Client {
    let (client, connection) = tokio_postgres::connect(&conn_string(addr), NoTls)
        .await
        .expect("connect");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// The SQLSTATE of a failed statement.
pub fn sqlstate(err: &tokio_postgres::Error) -> String {
    err.code()
        .map(|c| c.code().to_owned())
        .unwrap_or_else(|| format!("no SQLSTATE: {err}"))
}

/// Values of the first column of a simple-query result, as text.
pub fn first_column(messages: &[tokio_postgres::SimpleQueryMessage]) -> Vec<Option<String>> {
    messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_owned)),
            _ => None,
        })
        .collect()
}

/// The connection still answers queries.
pub async fn assert_usable(client: &Client) {
    let one: i64 = client
        .query_one("SELECT 1::BIGINT", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(one, 1);
}

/// Every `(sql, sqlstate, text)` case fails with that SQLSTATE and a message containing `text`,
/// and the connection still answers afterwards.
pub async fn assert_bad_calls(client: &Client, cases: &[(&str, &str, &str)]) {
    for &(sql, code, text) in cases {
        let err = client.simple_query(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&err), code, "{sql}: {err:?}");
        let message = err
            .as_db_error()
            .map(|e| e.message().to_string())
            .unwrap_or_default();
        assert!(
            message.contains(text),
            "{sql}: message {message:?} lacks {text:?}"
        );
    }
    assert_usable(client).await;
}

/// Registers a test-only `name(BIGINT) -> BIGINT` that returns its input after `effect` has
/// seen each batch (to panic, sleep or count on purpose).
pub fn plant_int64_function(
    ctx: &datafusion::prelude::SessionContext,
    name: &str,
    effect: fn(&[i64]),
) {
    use datafusion::arrow::array::{ArrayRef, AsArray};
    use datafusion::arrow::datatypes::{DataType, Int64Type};
    use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
    let udf = create_udf(
        name,
        vec![DataType::Int64],
        DataType::Int64,
        Volatility::Volatile,
        std::sync::Arc::new(move |args: &[ColumnarValue]| {
            let array: ArrayRef = match &args[0] {
                ColumnarValue::Array(a) => std::sync::Arc::clone(a),
                ColumnarValue::Scalar(s) => s.to_array()?,
            };
            effect(array.as_primitive::<Int64Type>().values());
            Ok(ColumnarValue::Array(array))
        }),
    );
    ctx.register_udf(udf);
}
