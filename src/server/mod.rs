//! The Postgres front end: a TCP listener handing each connection to pgwire with our handlers.

mod access;
mod copy_out;
pub mod encode;
mod errors;
mod execute;
mod handlers;
mod inline_params;
mod materialize;
mod rewrite;
mod savepoints;
mod show;
mod startup;
mod watch;

use std::net::SocketAddr;
use std::sync::Arc;

use datafusion::prelude::SessionContext;
use datafusion_postgres::pgwire::tokio::process_socket;
use futures::FutureExt;
use tokio_rustls::TlsAcceptor;

use crate::security::Security;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

pub use errors::classify as classify_error;
pub use handlers::Handlers;

pub struct Server {
    listener: TcpListener,
    handlers: Arc<Handlers>,
    slots: Arc<Semaphore>,
    max_connections: usize,
    tls: Option<TlsAcceptor>,
    idle_timeout: std::time::Duration,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port; see `local_addr`).
    pub async fn bind(ctx: Arc<SessionContext>, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Server {
            listener,
            handlers: Arc::new(Handlers::new(ctx)),
            slots: Arc::new(Semaphore::new(crate::config::DEFAULT_MAX_CONNECTIONS)),
            max_connections: crate::config::DEFAULT_MAX_CONNECTIONS,
            tls: None,
            idle_timeout: std::time::Duration::ZERO,
        })
    }

    /// Who may connect (trust or SCRAM users), their roles and limits; TLS if an acceptor is
    /// given; file paths in statements confined to `data_dir`.
    pub fn with_security(
        mut self,
        security: Security,
        tls: Option<TlsAcceptor>,
        data_dir: std::path::PathBuf,
    ) -> Self {
        self.handlers.set_security(security, data_dir);
        self.tls = tls;
        self
    }

    /// At most `n` statements execute at once (0 = no limit); further ones wait for a slot,
    /// within their statement_timeout and cancellable.
    pub fn with_max_concurrent_queries(self, n: usize) -> Self {
        self.handlers.set_max_concurrent_queries(n);
        self
    }

    /// Sessions idle longer than this (no statement running) are closed with FATAL 57P05;
    /// zero = never.
    pub fn with_idle_session_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// At most `n` connections at once; the next client gets SQLSTATE 53300, as PostgreSQL
    /// answers beyond `max_connections`.
    pub fn with_max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self.slots = Arc::new(Semaphore::new(self.max_connections));
        self
    }

    /// Statements running longer fail with SQLSTATE 57014 (zero = no limit); a session can
    /// `SET statement_timeout` / `RESET statement_timeout` for itself.
    pub fn with_statement_timeout(self, timeout: std::time::Duration) -> Self {
        self.handlers.set_statement_timeout(timeout);
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves connections until the task is dropped. Each connection runs in its own task, so a
    /// failing or misbehaving client only ever ends its own connection.
    pub async fn run(self) -> std::io::Result<()> {
        self.run_until(std::future::pending(), std::time::Duration::ZERO)
            .await
    }

    /// Serves until `shutdown` resolves; then stops accepting (new clients are refused at the
    /// TCP level) and waits up to `grace` for the open sessions to end before returning.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()>,
        grace: std::time::Duration,
    ) -> std::io::Result<()> {
        info!(addr = %self.local_addr()?, "sightline is accepting Postgres connections");
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                _ = &mut shutdown => break,
                accepted = self.listener.accept() => accepted,
            };
            let (socket, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Typically EMFILE: back off briefly instead of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = socket.set_nodelay(true);
            let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() else {
                warn!(client = %peer, "refused: too many connections");
                tokio::spawn(refuse(socket));
                continue;
            };
            let handlers = Arc::clone(&self.handlers);
            let tls = self.tls.clone();
            let idle_timeout = self.idle_timeout;
            tokio::spawn(async move {
                debug!(client = %peer, "connection opened");
                serve_connection(socket, peer, tls, handlers, idle_timeout).await;
                drop(slot);
                debug!(client = %peer, "connection closed");
            });
        }
        drop(self.listener);
        let open = self.max_connections - self.slots.available_permits();
        info!(
            open,
            grace_secs = grace.as_secs_f64(),
            "shutting down: no new connections; waiting for open sessions to end"
        );
        let all = u32::try_from(self.max_connections).unwrap_or(u32::MAX);
        if tokio::time::timeout(grace, self.slots.acquire_many(all))
            .await
            .is_err()
        {
            let open = self.max_connections - self.slots.available_permits();
            warn!(open, "grace period over: closing the remaining sessions");
        }
        Ok(())
    }
}

/// Runs one connection: pgwire's message loop, watched for idleness and for the client hanging
/// up while a statement computes (either ends the connection, and with it any running query).
async fn serve_connection(
    socket: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    handlers: Arc<Handlers>,
    idle_timeout: std::time::Duration,
) {
    let sessions = Arc::clone(&handlers.sessions);
    let activity = sessions.open(peer);
    // A second handle on the socket lets the watcher peek for a hang-up and send the idle
    // FATAL message after pgwire's side has been dropped.
    let (socket, spare) = match socket.into_std() {
        Ok(std) => {
            let spare = std.try_clone().ok();
            match TcpStream::from_std(std) {
                Ok(socket) => (socket, spare),
                Err(e) => {
                    debug!(client = %peer, error = %e, "cannot register the connection");
                    sessions.close(peer);
                    return;
                }
            }
        }
        Err(e) => {
            debug!(client = %peer, error = %e, "cannot register the connection");
            sessions.close(peer);
            return;
        }
    };
    let ending = {
        // pgwire's message decoders panic on some truncated messages (found by the protocol fuzz
        // target); contain that to this connection and answer like PostgreSQL (08P01).
        let work = std::panic::AssertUnwindSafe(process_socket(socket, tls, handlers))
            .catch_unwind()
            .map(|result| match result {
                Ok(done) => done.map(|_| Outcome::Closed),
                Err(payload) => Ok(Outcome::Malformed(panic_text(payload.as_ref()))),
            });
        tokio::pin!(work);
        match &spare {
            Some(spare) => tokio::select! {
                result = &mut work => ended(peer, result),
                ending = watch::watch(&activity, idle_timeout, spare) => Some(Ending::Watch(ending)),
            },
            None => ended(peer, work.await),
        }
    };
    match ending {
        Some(Ending::Malformed) => {
            if let (Some(spare), false) = (spare, activity.is_secure()) {
                if let Ok(mut spare) = TcpStream::from_std(spare) {
                    let goodbye = async {
                        spare
                            .write_all(&error_message(
                                "FATAL",
                                "08P01",
                                "invalid frontend message: the connection is closed",
                            ))
                            .await?;
                        spare.shutdown().await
                    };
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), goodbye).await;
                }
            }
        }
        Some(Ending::Watch(watch::Ending::Idle)) => {
            info!(client = %peer, "closing the session: idle_session_timeout reached");
            if let (Some(spare), false) = (spare, activity.is_secure()) {
                if let Ok(mut spare) = TcpStream::from_std(spare) {
                    let goodbye = async {
                        spare
                            .write_all(&error_message(
                                "FATAL",
                                "57P05",
                                "terminating connection due to idle-session timeout",
                            ))
                            .await?;
                        spare.shutdown().await
                    };
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), goodbye).await;
                }
            }
        }
        Some(Ending::Watch(watch::Ending::HungUp)) => {
            info!(client = %peer, "client disconnected while its statement ran; stopped it");
        }
        None => {}
    }
    sessions.close(peer);
}

/// How pgwire's side of a connection finished.
enum Outcome {
    Closed,
    /// Decoding a message panicked (with this message).
    Malformed(String),
}

/// Why a connection ended early.
enum Ending {
    Watch(watch::Ending),
    Malformed,
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

fn ended(peer: SocketAddr, result: std::io::Result<Outcome>) -> Option<Ending> {
    match result {
        Ok(Outcome::Closed) => None,
        Ok(Outcome::Malformed(why)) => {
            warn!(client = %peer, panic = %why, "malformed message from the client; closed its connection");
            Some(Ending::Malformed)
        }
        Err(e) => {
            debug!(client = %peer, error = %e, "connection ended with an error");
            None
        }
    }
}

/// A backend ErrorResponse message, for the few cases answered outside pgwire.
fn error_message(severity: &str, code: &str, message: &str) -> Vec<u8> {
    let mut fields = Vec::new();
    for (tag, value) in [
        (b'S', severity),
        (b'V', severity),
        (b'C', code),
        (b'M', message),
    ] {
        fields.push(tag);
        fields.extend_from_slice(value.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut out = vec![b'E'];
    out.extend_from_slice(&((fields.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(&fields);
    out
}

/// Answers a client over the connection limit the way PostgreSQL does: decline TLS if asked,
/// read its startup packet, send a FATAL 53300 ErrorResponse, close. Bounded in time and size
/// so a silent or hostile client cannot hold the task.
async fn refuse(mut socket: TcpStream) {
    const SSL_REQUEST: u32 = 80_877_103;
    const GSS_REQUEST: u32 = 80_877_104;
    let exchange = async {
        for _ in 0..3 {
            let len = socket.read_u32().await? as usize;
            if !(8..=10_000).contains(&len) {
                break;
            }
            let mut body = vec![0u8; len - 4];
            socket.read_exact(&mut body).await?;
            let code = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
            if code == SSL_REQUEST || code == GSS_REQUEST {
                socket.write_all(b"N").await?;
                continue;
            }
            break;
        }
        let message = error_message(
            "FATAL",
            "53300",
            "sorry, too many clients already (max_connections reached); try again later",
        );
        socket.write_all(&message).await?;
        socket.shutdown().await
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), exchange).await;
}
