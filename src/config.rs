//! Server configuration: built-in defaults, overridden by a TOML file, overridden by `SIGHTLINE_*`
//! environment variables and command-line flags (clap merges those two).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::security::{Limits, Method, Role, Security, User, Verifier};

/// Default listen address: loopback only, the PostgreSQL port.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5432";
/// Default demo dataset size and seed used when no data directory is configured.
pub const DEFAULT_DEMO_CUSTOMERS: usize = 50_000;
pub const DEFAULT_MAX_CONNECTIONS: usize = 100;
pub const DEFAULT_DEMO_SEED: u64 = 42;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid listen address {0:?}: expected HOST:PORT, e.g. 127.0.0.1:5432")]
    Listen(String),
    #[error("authentication: {0}")]
    Auth(String),
}

/// The contents of a `sightline.toml` file. Every key is optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    pub log_level: Option<String>,
    pub target_partitions: Option<usize>,
    pub batch_size: Option<usize>,
    pub max_connections: Option<usize>,
    pub statement_timeout_ms: Option<u64>,
    pub shutdown_grace_secs: Option<u64>,
    pub memory_limit_mb: Option<u64>,
    pub idle_session_timeout_ms: Option<u64>,
    pub max_concurrent_queries: Option<usize>,
    /// Defaults for every session; a user's own limits override them.
    pub max_result_rows: Option<u64>,
    pub max_result_bytes: Option<u64>,
    #[serde(default)]
    pub demo: DemoFileConfig,
    #[serde(default)]
    pub auth: AuthFileConfig,
    pub tls: Option<TlsFileConfig>,
    #[serde(default)]
    pub users: Vec<UserFileConfig>,
    /// `[role_limits.read_only]` / `[role_limits.admin]`: result limits by role, between the
    /// server-wide defaults and a user's own.
    #[serde(default)]
    pub role_limits: std::collections::HashMap<Role, LimitsFileConfig>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFileConfig {
    pub max_result_rows: Option<u64>,
    pub max_result_bytes: Option<u64>,
}

/// `[auth]`: how clients prove who they are.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthFileConfig {
    /// `"scram-sha-256"` (the default when users are configured) or `"trust"`.
    pub method: Option<String>,
    /// Role of sessions under trust whose user name is not a configured user [default:
    /// read_only when `method = "trust"` is set, admin for the implicit loopback trust].
    pub trust_role: Option<Role>,
}

/// `[tls]`: certificate chain and key (PEM); `require = true` refuses plaintext clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFileConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
    #[serde(default)]
    pub require: bool,
}

/// `[[users]]`: one login.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserFileConfig {
    pub name: String,
    /// The SCRAM-SHA-256 verifier printed by `sightline passwd` (never the password itself).
    pub password: String,
    #[serde(default)]
    pub role: Role,
    pub max_result_rows: Option<u64>,
    pub max_result_bytes: Option<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoFileConfig {
    pub customers: Option<usize>,
    pub seed: Option<u64>,
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }
}

/// The fully resolved configuration the server and the `query` command run with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// The data directory; `None` serves the demo dataset from `cache_dir`.
    pub data: Option<PathBuf>,
    pub cache_dir: PathBuf,
    pub target_partitions: usize,
    pub batch_size: usize,
    /// Connections served at once; more are refused with SQLSTATE 53300.
    pub max_connections: usize,
    /// Default statement_timeout in milliseconds (0 = none); sessions may SET their own.
    pub statement_timeout_ms: u64,
    /// On shutdown, how long open sessions get to end after accepting stops.
    pub shutdown_grace_secs: u64,
    /// Memory all queries together may use for sorts, joins and aggregations, in MiB (beyond it
    /// they spill to disk or fail with 53200); 0 = no limit.
    pub memory_limit_mb: u64,
    /// Sessions idle (no statement running) longer than this are closed; 0 = never.
    pub idle_session_timeout_ms: u64,
    /// Statements executing at once; more wait for a slot (0 = no limit).
    pub max_concurrent_queries: usize,
    /// Authentication, roles and result limits.
    pub security: Security,
    /// TLS certificate chain and key (PEM); `None` = plaintext only.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub demo_customers: usize,
    pub demo_seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN
                .parse()
                .expect("default listen address is valid"),
            data: None,
            cache_dir: default_cache_dir(),
            target_partitions: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            batch_size: 16384,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            statement_timeout_ms: 0,
            shutdown_grace_secs: 10,
            memory_limit_mb: default_memory_limit_mb(),
            idle_session_timeout_ms: 0,
            max_concurrent_queries: default_max_concurrent_queries(),
            security: Security::default(),
            tls: None,
            demo_customers: DEFAULT_DEMO_CUSTOMERS,
            demo_seed: DEFAULT_DEMO_SEED,
        }
    }
}

/// Values given on the command line or through `SIGHTLINE_*` variables (clap fills these).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    pub target_partitions: Option<usize>,
    pub batch_size: Option<usize>,
    pub max_connections: Option<usize>,
    pub statement_timeout_ms: Option<u64>,
    pub shutdown_grace_secs: Option<u64>,
    pub memory_limit_mb: Option<u64>,
    pub idle_session_timeout_ms: Option<u64>,
    pub max_concurrent_queries: Option<usize>,
}

impl Config {
    /// Resolve: overrides (flags/env) win over the file, the file over the defaults.
    pub fn resolve(file: FileConfig, over: Overrides) -> Result<Self, ConfigError> {
        let mut cfg = Config::default();
        if let Some(listen) = over.listen.or(file.listen.clone()) {
            cfg.listen = parse_listen(&listen)?;
        }
        cfg.security = security(&file, cfg.listen)?;
        cfg.data = over.data.or(file.data);
        if let Some(dir) = over.cache_dir.or(file.cache_dir) {
            cfg.cache_dir = dir;
        }
        if let Some(n) = over.target_partitions.or(file.target_partitions) {
            cfg.target_partitions = n.max(1);
        }
        if let Some(n) = over.batch_size.or(file.batch_size) {
            cfg.batch_size = n.max(1);
        }
        if let Some(n) = over.max_connections.or(file.max_connections) {
            cfg.max_connections = n.max(1);
        }
        if let Some(ms) = over.statement_timeout_ms.or(file.statement_timeout_ms) {
            cfg.statement_timeout_ms = ms;
        }
        if let Some(s) = over.shutdown_grace_secs.or(file.shutdown_grace_secs) {
            cfg.shutdown_grace_secs = s;
        }
        if let Some(mb) = over.memory_limit_mb.or(file.memory_limit_mb) {
            cfg.memory_limit_mb = mb;
        }
        if let Some(ms) = over
            .idle_session_timeout_ms
            .or(file.idle_session_timeout_ms)
        {
            cfg.idle_session_timeout_ms = ms;
        }
        if let Some(n) = over.max_concurrent_queries.or(file.max_concurrent_queries) {
            cfg.max_concurrent_queries = n;
        }
        if let Some(tls) = &file.tls {
            cfg.tls = Some((tls.cert.clone(), tls.key.clone()));
        }
        cfg.demo_customers = file.demo.customers.unwrap_or(cfg.demo_customers).max(1);
        cfg.demo_seed = file.demo.seed.unwrap_or(cfg.demo_seed);
        Ok(cfg)
    }
}

/// The `[auth]`, `[tls]` and `[[users]]` sections, checked: trust must be asked for by name
/// unless the server only listens on loopback, and every password must be a SCRAM verifier.
fn security(file: &FileConfig, listen: SocketAddr) -> Result<Security, ConfigError> {
    // A user's own limit, else its role's, else the server-wide one.
    let for_role = |role: Role| {
        let r = file.role_limits.get(&role).copied().unwrap_or_default();
        Limits {
            max_result_rows: r.max_result_rows.or(file.max_result_rows),
            max_result_bytes: r.max_result_bytes.or(file.max_result_bytes),
        }
    };
    let mut users = std::collections::HashMap::new();
    for u in &file.users {
        if u.name.is_empty() {
            return Err(ConfigError::Auth(
                "a [[users]] entry has an empty name".into(),
            ));
        }
        let verifier = Verifier::parse(&u.password)
            .map_err(|e| ConfigError::Auth(format!("user {:?}: password: {e}", u.name)))?;
        let role_limits = for_role(u.role);
        let user = User {
            verifier,
            role: u.role,
            limits: Limits {
                max_result_rows: u.max_result_rows.or(role_limits.max_result_rows),
                max_result_bytes: u.max_result_bytes.or(role_limits.max_result_bytes),
            },
        };
        if users.insert(u.name.clone(), user).is_some() {
            return Err(ConfigError::Auth(format!(
                "user {:?} is defined twice",
                u.name
            )));
        }
    }
    let method = match file.auth.method.as_deref().map(str::to_ascii_lowercase) {
        Some(m) if m == "trust" => Method::Trust,
        Some(m) if m == "scram-sha-256" => Method::Scram,
        Some(other) => {
            return Err(ConfigError::Auth(format!(
                "unknown [auth] method {other:?}: use \"scram-sha-256\" or \"trust\""
            )))
        }
        None if !users.is_empty() => Method::Scram,
        None if listen.ip().is_loopback() => Method::Trust,
        None => {
            return Err(ConfigError::Auth(format!(
                "listening on {listen} with no [[users]] would let anyone connect; add users \
                 (hash a password with `sightline passwd`) or set [auth] method = \"trust\" \
                 explicitly"
            )))
        }
    };
    if method == Method::Scram && users.is_empty() {
        return Err(ConfigError::Auth(
            "method scram-sha-256 needs at least one [[users]] entry (`sightline passwd` prints one)"
                .into(),
        ));
    }
    let mut security = if users.is_empty() {
        Security::default()
    } else {
        Security::scram(users)
    };
    security.method = method;
    // Trust asked for by name (typically on a network) defaults to read-only; the implicit
    // loopback trust of a config without users is the local user's own machine: admin.
    security.trust_role = file
        .auth
        .trust_role
        .unwrap_or(if file.auth.method.is_some() {
            Role::ReadOnly
        } else {
            Role::Admin
        });
    security.trust_limits = for_role(security.trust_role);
    security.require_tls = file.tls.as_ref().is_some_and(|t| t.require);
    Ok(security)
}

/// Four statements per core, at least 8: enough that BI dashboards and row-limited portals
/// (JDBC `fetchSize`) rarely wait, few enough that the cores and the memory pool are not split
/// into useless slivers.
pub fn default_max_concurrent_queries() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 4)
        .unwrap_or(8)
        .max(8)
}

/// Half of the machine's memory (from /proc/meminfo), so a heavy query spills or fails instead
/// of getting the server OOM-killed; 0 (no limit) where that cannot be read.
pub fn default_memory_limit_mb() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024 / 2)
        .unwrap_or(0)
}

fn parse_listen(s: &str) -> Result<SocketAddr, ConfigError> {
    use std::net::ToSocketAddrs;
    s.to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| ConfigError::Listen(s.to_owned()))
}

/// `$XDG_CACHE_HOME/sightline` (or the platform equivalent), falling back to the temp dir.
pub fn default_cache_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("sightline")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_override_defaults() {
        let file: FileConfig = toml::from_str(
            r#"
            listen = "0.0.0.0:6000"
            data = "/from/file"
            target_partitions = 3
            [auth]
            method = "trust"
            [demo]
            customers = 10
            "#,
        )
        .unwrap();
        let over = Overrides {
            data: Some("/from/flag".into()),
            ..Default::default()
        };
        let cfg = Config::resolve(file, over).unwrap();
        assert_eq!(cfg.listen, "0.0.0.0:6000".parse().unwrap());
        assert_eq!(cfg.data.as_deref(), Some(Path::new("/from/flag")));
        assert_eq!(cfg.target_partitions, 3);
        assert_eq!(cfg.demo_customers, 10);
        assert_eq!(cfg.demo_seed, DEFAULT_DEMO_SEED);
    }

    #[test]
    fn unknown_keys_and_bad_addresses_are_errors() {
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
        let over = Overrides {
            listen: Some("nonsense".into()),
            ..Default::default()
        };
        assert!(matches!(
            Config::resolve(FileConfig::default(), over),
            Err(ConfigError::Listen(_))
        ));
    }

    #[test]
    fn trust_is_loopback_only_unless_asked_for_by_name() {
        let resolve = |toml_text: &str| {
            Config::resolve(toml::from_str(toml_text).unwrap(), Overrides::default())
        };
        let cfg = resolve("").unwrap();
        assert_eq!(cfg.security.method, Method::Trust);
        assert_eq!(cfg.security.trust_role, Role::Admin);
        let cfg = resolve("[auth]\nmethod = \"trust\"").unwrap();
        assert_eq!(cfg.security.trust_role, Role::ReadOnly);
        let err = resolve("listen = \"0.0.0.0:5432\"").unwrap_err();
        assert!(err.to_string().contains("sightline passwd"), "{err}");
        let cfg = resolve(
            "listen = \"0.0.0.0:5432\"\n[auth]\nmethod = \"trust\"\ntrust_role = \"admin\"",
        )
        .unwrap();
        assert_eq!(
            (cfg.security.method, cfg.security.trust_role),
            (Method::Trust, Role::Admin)
        );
        assert!(resolve("[auth]\nmethod = \"scram-sha-256\"").is_err());
        assert!(resolve("[auth]\nmethod = \"md5\"").is_err());
    }

    #[test]
    fn users_need_scram_verifiers() {
        let hash = Verifier::new("pw", 4096).to_string();
        let text = format!(
            "listen = \"0.0.0.0:5432\"\nmax_result_rows = 10\n[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\nrequire = true\n[[users]]\nname = \"a\"\npassword = \"{hash}\"\nrole = \"admin\"\nmax_result_bytes = 5"
        );
        let cfg = Config::resolve(toml::from_str(&text).unwrap(), Overrides::default()).unwrap();
        assert_eq!(cfg.security.method, Method::Scram);
        assert!(cfg.security.require_tls);
        let user = &cfg.security.users["a"];
        assert_eq!(user.role, Role::Admin);
        assert_eq!(
            user.limits,
            Limits {
                max_result_rows: Some(10),
                max_result_bytes: Some(5)
            }
        );
        let layered = format!(
            "max_result_rows = 10\n[role_limits.read_only]\nmax_result_rows = 20\nmax_result_bytes = 30\n[[users]]\nname = \"r\"\npassword = \"{hash}\"\nmax_result_bytes = 40\n[[users]]\nname = \"w\"\npassword = \"{hash}\"\nrole = \"admin\""
        );
        let cfg = Config::resolve(toml::from_str(&layered).unwrap(), Overrides::default()).unwrap();
        assert_eq!(
            cfg.security.users["r"].limits,
            Limits {
                max_result_rows: Some(20),
                max_result_bytes: Some(40)
            }
        );
        assert_eq!(
            cfg.security.users["w"].limits,
            Limits {
                max_result_rows: Some(10),
                max_result_bytes: None
            }
        );
        let plain = "[[users]]\nname = \"a\"\npassword = \"hunter2\"";
        let err =
            Config::resolve(toml::from_str(plain).unwrap(), Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("SCRAM-SHA-256$"), "{err}");
        let twice = format!("[[users]]\nname = \"a\"\npassword = \"{hash}\"\n[[users]]\nname = \"a\"\npassword = \"{hash}\"");
        assert!(Config::resolve(toml::from_str(&twice).unwrap(), Overrides::default()).is_err());
    }
}
