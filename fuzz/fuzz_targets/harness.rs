//! One in-process Sightline server per fuzzing process, over a small demo dataset, with a
//! statement timeout so no input can stall the run. Any panic anywhere in the process (a
//! connection task, a query, a function) aborts it, and libFuzzer records the input.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use sightline::config::Config;

pub struct Harness {
    pub runtime: tokio::runtime::Runtime,
    pub addr: SocketAddr,
    /// Sightline's own functions, by kind, and the demo tables with their columns.
    pub scalars: Vec<String>,
    pub aggregates: Vec<String>,
    pub windows: Vec<String>,
    pub tables: Vec<(String, Vec<String>)>,
}

pub fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        // Caught panics (a query's XX000) are bugs too: make every panic a crash. Except one
        // known, contained case: pgwire 0.41's message decoders read past the end of some
        // truncated messages (a panic in `bytes` or in pgwire's `messages/`); the server closes that connection with
        // 08P01 (regression test: tests/it/wire.rs), so fuzzing goes on past it.
        std::panic::set_hook(Box::new(|info| {
            let in_decoder = info.location().is_some_and(|l| {
                l.file().contains("/bytes-")
                    || (l.file().contains("/pgwire-") && l.file().contains("/messages/"))
            });
            if in_decoder {
                eprintln!("contained pgwire decoder panic: {info}");
                return;
            }
            eprintln!("panic: {info}");
            std::process::abort();
        }));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::Builder::new()
            .prefix("sightline-fuzz-")
            .tempdir()
            .expect("tempdir")
            .keep();
        sightline::demo::write_demo(&dir, 200, 7).expect("demo data");
        let config = Config {
            target_partitions: 2,
            memory_limit_mb: 512,
            ..Config::default()
        };
        let ctx = sightline::session::build_context(&config, &dir).expect("context");
        let fresh = datafusion::prelude::SessionContext::new();
        let state = ctx.state();
        let own = |names: Vec<String>, base: &dyn Fn(&str) -> bool| {
            let mut v: Vec<String> = names.into_iter().filter(|n| !base(n)).collect();
            v.sort();
            v
        };
        let fresh_state = fresh.state();
        let scalars = own(state.scalar_functions().keys().cloned().collect(), &|n| {
            fresh_state.scalar_functions().contains_key(n)
        });
        let aggregates = own(
            state.aggregate_functions().keys().cloned().collect(),
            &|n| fresh_state.aggregate_functions().contains_key(n),
        );
        let windows = own(state.window_functions().keys().cloned().collect(), &|n| {
            fresh_state.window_functions().contains_key(n)
        });
        let mut tables = Vec::new();
        if let Some(schema) = ctx.catalog("datafusion").and_then(|c| c.schema("public")) {
            for name in schema.table_names() {
                if let Ok(Some(table)) = runtime.block_on(schema.table(&name)) {
                    let columns = table
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.name().clone())
                        .collect();
                    tables.push((name, columns));
                }
            }
        }
        tables.sort();
        let ctx = std::sync::Arc::new(ctx);
        let addr = runtime.block_on(async {
            let server = sightline::server::Server::bind(ctx, "127.0.0.1:0".parse().unwrap())
                .await
                .expect("bind")
                .with_max_connections(10_000)
                .with_statement_timeout(Duration::from_secs(2))
                .with_security(sightline::security::Security::default(), None, dir.clone());
            let addr = server.local_addr().expect("address");
            tokio::spawn(server.run());
            addr
        });
        Harness {
            runtime,
            addr,
            scalars,
            aggregates,
            windows,
            tables,
        }
    })
}

impl Harness {
    /// A fresh client session (trust, admin).
    pub async fn connect(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(
            &format!(
                "host=127.0.0.1 port={} user=fuzz dbname=sightline connect_timeout=10",
                self.addr.port()
            ),
            tokio_postgres::NoTls,
        )
        .await
        .expect("the server stopped accepting clients");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }

    /// The server still answers a real client.
    pub async fn assert_alive(&self) {
        let client = self.connect().await;
        let rows = tokio::time::timeout(Duration::from_secs(20), client.simple_query("SELECT 1"))
            .await
            .expect("the server stopped answering")
            .expect("SELECT 1 failed");
        assert!(!rows.is_empty());
    }
}
