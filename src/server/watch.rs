//! Watching a connection from outside pgwire's message loop: close it when it has been idle
//! past `idle_session_timeout` (FATAL 57P05, as PostgreSQL), and stop its query when the client
//! hangs up while the query is still computing (nothing is written then, so nothing else would
//! notice until the first row).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a running query checks that its client is still connected.
const HANGUP_POLL: Duration = Duration::from_millis(200);

/// One connection's activity, shared by its task and its session's handlers.
#[derive(Debug)]
pub struct Activity {
    epoch: Instant,
    running: AtomicUsize,
    /// Milliseconds since `epoch` when the last statement ended (or the connection opened).
    last_ms: AtomicU64,
    secure: AtomicBool,
}

impl Activity {
    fn new() -> Self {
        Activity {
            epoch: Instant::now(),
            running: AtomicUsize::new(0),
            last_ms: AtomicU64::new(0),
            secure: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Marks a statement as running until the guard is dropped.
    pub fn begin(self: &Arc<Self>) -> Busy {
        self.running.fetch_add(1, Ordering::AcqRel);
        Busy(Arc::clone(self))
    }

    pub fn set_secure(&self, secure: bool) {
        self.secure.store(secure, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Option<Duration> {
        (self.running.load(Ordering::Acquire) == 0).then(|| {
            Duration::from_millis(
                self.now_ms()
                    .saturating_sub(self.last_ms.load(Ordering::Acquire)),
            )
        })
    }
}

/// A statement in progress (held by its result stream until the last row is sent).
#[derive(Debug)]
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.last_ms.store(self.0.now_ms(), Ordering::Release);
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Open connections by peer address (unique while a TCP connection lives), so the startup
/// handler can hand each session its connection's `Activity`.
#[derive(Debug, Default)]
pub struct Sessions(Mutex<HashMap<SocketAddr, Arc<Activity>>>);

impl Sessions {
    pub fn open(&self, peer: SocketAddr) -> Arc<Activity> {
        let activity = Arc::new(Activity::new());
        if let Ok(mut map) = self.0.lock() {
            map.insert(peer, Arc::clone(&activity));
        }
        activity
    }

    pub fn get(&self, peer: SocketAddr) -> Option<Arc<Activity>> {
        self.0.lock().ok()?.get(&peer).cloned()
    }

    pub fn close(&self, peer: SocketAddr) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(&peer);
        }
    }
}

/// Why the watcher ended a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    Idle,
    HungUp,
}

/// Resolves when the connection should end: idle for `idle_timeout` (if non-zero), or the
/// client hung up while a statement runs. `spare` is a second handle to the client socket.
pub async fn watch(
    activity: &Activity,
    idle_timeout: Duration,
    spare: &std::net::TcpStream,
) -> Ending {
    loop {
        match activity.idle_for() {
            Some(idle) => {
                if !idle_timeout.is_zero() && idle >= idle_timeout {
                    return Ending::Idle;
                }
                let wait = if idle_timeout.is_zero() {
                    HANGUP_POLL
                } else {
                    (idle_timeout - idle).min(HANGUP_POLL)
                };
                tokio::time::sleep(wait).await;
            }
            None => {
                // While a statement runs pgwire reads nothing, so the socket's receive queue
                // tells: end of stream or a reset means the client is gone.
                let mut byte = [0u8; 1];
                match spare.peek(&mut byte) {
                    Ok(0) => return Ending::HungUp,
                    Err(e) if e.kind() != std::io::ErrorKind::WouldBlock => return Ending::HungUp,
                    _ => tokio::time::sleep(HANGUP_POLL).await,
                }
            }
        }
    }
}

impl Activity {
    pub fn is_secure(&self) -> bool {
        self.secure.load(Ordering::Relaxed)
    }
}
