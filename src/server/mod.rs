//! The Postgres front end: a TCP listener handing each connection to pgwire with our handlers.

mod errors;
mod handlers;
mod show;

use std::net::SocketAddr;
use std::sync::Arc;

use datafusion::prelude::SessionContext;
use datafusion_postgres::pgwire::tokio::process_socket;
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

pub use errors::classify as classify_error;
pub use handlers::Handlers;

pub struct Server {
    listener: TcpListener,
    handlers: Arc<Handlers>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port; see `local_addr`).
    pub async fn bind(ctx: Arc<SessionContext>, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Server {
            listener,
            handlers: Arc::new(Handlers::new(ctx)),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves connections until the task is dropped. Each connection runs in its own task, so a
    /// failing or misbehaving client only ever ends its own connection.
    pub async fn run(self) -> std::io::Result<()> {
        info!(addr = %self.local_addr()?, "sightline is accepting Postgres connections");
        loop {
            let (socket, peer) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Typically EMFILE: back off briefly instead of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = socket.set_nodelay(true);
            let handlers = Arc::clone(&self.handlers);
            tokio::spawn(async move {
                debug!(client = %peer, "connection opened");
                if let Err(e) = process_socket(socket, None, handlers).await {
                    debug!(client = %peer, error = %e, "connection ended with an error");
                }
                debug!(client = %peer, "connection closed");
            });
        }
    }
}
