//! Server configuration: built-in defaults, overridden by a TOML file, overridden by `SIGHTLINE_*`
//! environment variables and command-line flags (clap merges those two).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

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
    #[serde(default)]
    pub demo: DemoFileConfig,
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
            batch_size: 8192,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            statement_timeout_ms: 0,
            shutdown_grace_secs: 10,
            memory_limit_mb: default_memory_limit_mb(),
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
}

impl Config {
    /// Resolve: overrides (flags/env) win over the file, the file over the defaults.
    pub fn resolve(file: FileConfig, over: Overrides) -> Result<Self, ConfigError> {
        let mut cfg = Config::default();
        if let Some(listen) = over.listen.or(file.listen) {
            cfg.listen = parse_listen(&listen)?;
        }
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
        cfg.demo_customers = file.demo.customers.unwrap_or(cfg.demo_customers).max(1);
        cfg.demo_seed = file.demo.seed.unwrap_or(cfg.demo_seed);
        Ok(cfg)
    }
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
}
