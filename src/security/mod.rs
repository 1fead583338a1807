//! Who may connect and what they may do: SCRAM-SHA-256 users with a role, or explicit trust,
//! TLS, and per-role result limits. Built from the `[auth]`, `[tls]` and `[[users]]` sections of
//! the config file (see `config.rs`).

pub mod scram;
pub mod tls;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

pub use scram::Verifier;

/// What a session may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Queries only: SELECT, EXPLAIN, SHOW, SET, transactions and cursors.
    #[default]
    ReadOnly,
    /// Also views, `CREATE TABLE … AS`, external tables and `COPY … TO` files — with every path
    /// confined to the data directory.
    Admin,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::ReadOnly => "read_only",
            Role::Admin => "admin",
        }
    }
}

/// Caps on what one statement may send back (`None` = unlimited).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub max_result_rows: Option<u64>,
    pub max_result_bytes: Option<u64>,
}

/// A configured user.
#[derive(Debug, Clone)]
pub struct User {
    pub verifier: Verifier,
    pub role: Role,
    pub limits: Limits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Anyone may connect, as any user name, with `trust_role`.
    Trust,
    /// Users from the config file, with their passwords checked by SCRAM-SHA-256.
    Scram,
}

/// Everything the server needs to admit a client and hold it to its role.
#[derive(Debug, Clone)]
pub struct Security {
    pub method: Method,
    pub users: HashMap<String, User>,
    /// Role and limits of every session under `trust`.
    pub trust_role: Role,
    pub trust_limits: Limits,
    /// Clients must use TLS (plaintext connections are refused with 28000).
    pub require_tls: bool,
    /// Key for mock salts of unknown users: stable for a given configuration, unguessable
    /// without the verifiers.
    pub mock_secret: Arc<[u8]>,
}

impl Default for Security {
    /// The no-configuration default: trust on a loopback listener, as admin — the local
    /// user's own machine, as PostgreSQL's local trust; file paths stay confined to the data
    /// directory.
    fn default() -> Self {
        Security {
            method: Method::Trust,
            users: HashMap::new(),
            trust_role: Role::Admin,
            trust_limits: Limits::default(),
            require_tls: false,
            mock_secret: Arc::from(rand::random::<[u8; 32]>().as_slice()),
        }
    }
}

impl Security {
    /// Users checked with SCRAM; the mock secret is derived from their verifiers.
    pub fn scram(users: HashMap<String, User>) -> Self {
        let mut names: Vec<&String> = users.keys().collect();
        names.sort();
        let mut material = b"sightline mock salt".to_vec();
        for name in names {
            material.extend_from_slice(name.as_bytes());
            material.extend_from_slice(users[name].verifier.to_string().as_bytes());
        }
        let secret = ring::digest::digest(&ring::digest::SHA256, &material);
        Security {
            method: Method::Scram,
            users,
            mock_secret: Arc::from(secret.as_ref()),
            ..Security::default()
        }
    }
}
