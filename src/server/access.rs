//! What a session may do, by role, checked on the parsed statement before DataFusion plans it.
//!
//! - Every role: no COPY from files or to/from programs, no dialect loaders (LOAD, ATTACH, …),
//!   and any file path a statement names (`COPY … TO`, `CREATE EXTERNAL TABLE … LOCATION`) must
//!   resolve — after `..` and symlinks — inside the data directory.
//! - `read_only`: queries only (SELECT, EXPLAIN, SHOW, SET, transactions, cursors); anything that
//!   creates, changes or drops tables, views or files gets 42501.
//! - `admin`: also views, `CREATE TABLE … AS`, DROP, INSERT and confined file paths.
//!
//! Refusals carry SQLSTATE 42501 and say what the role allows.

use std::path::{Component, Path, PathBuf};
use std::sync::RwLock;

use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{CopyTarget, Statement};
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::pgwire::api::results::Response;
use datafusion_postgres::pgwire::api::ClientInfo;
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use datafusion_postgres::QueryHook;
use tracing::warn;

use super::startup::SessionInfo;
use crate::security::Role;

/// The role check, and the directory file paths are confined to (`None`: no file paths at all).
#[derive(Debug, Default)]
pub struct AccessHook {
    root: RwLock<Option<PathBuf>>,
}

impl AccessHook {
    pub fn confine_to(&self, root: PathBuf) {
        let root = root.canonicalize().unwrap_or(root);
        if let Ok(mut r) = self.root.write() {
            *r = Some(root);
        }
    }

    fn root(&self) -> Option<PathBuf> {
        self.root.read().ok().and_then(|r| r.clone())
    }

    fn check(
        &self,
        statement: &Statement,
        client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireError> {
        // Sessions admitted before roles existed (none in practice) get the safe default.
        let session = client.session_extensions().get::<SessionInfo>();
        let role = session.as_ref().map(|s| s.role).unwrap_or_default();
        let why = refusal(statement, role, self.root().as_deref())?;
        let user = session.as_ref().map(|s| s.user.as_str()).unwrap_or("");
        warn!(client = %client.socket_addr(), user, role = role.name(), statement = %statement, "refused: {why}");
        Some(PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".to_owned(),
            "42501".to_owned(),
            format!("permission denied: {why}"),
        ))))
    }
}

const READ_ONLY: &str = "this session's role is read_only, which may only query (SELECT, EXPLAIN, SHOW, SET); ask for an admin login to create or change tables, views or files";

/// Why `statement` is refused for `role`, if it is.
fn refusal(statement: &Statement, role: Role, root: Option<&Path>) -> Option<String> {
    let admin = role == Role::Admin;
    match statement {
        Statement::Copy {
            target: CopyTarget::Program { .. },
            ..
        } => Some("COPY to or from a program is not allowed".into()),
        Statement::Copy {
            target: CopyTarget::File { .. },
            to: false,
            ..
        } => Some(
            "COPY from a server file is not allowed: Parquet files placed in the data directory become tables"
                .into(),
        ),
        Statement::Copy {
            target: CopyTarget::File { filename },
            to: true,
            ..
        } => {
            if !admin {
                return Some(format!(
                    "COPY to a server file is not allowed for role read_only; use psql's \\copy to save rows on your machine ({READ_ONLY})"
                ));
            }
            confine(filename, root).err()
        }
        Statement::CreateTable(t) if t.external || t.location.is_some() => {
            if !admin {
                return Some(READ_ONLY.into());
            }
            match &t.location {
                Some(location) => confine(location, root).err(),
                None => Some("an external table needs a LOCATION inside the data directory".into()),
            }
        }
        Statement::CopyIntoSnowflake { .. }
        | Statement::Unload { .. }
        | Statement::Load { .. }
        | Statement::LoadData { .. }
        | Statement::Install { .. }
        | Statement::Directory { .. }
        | Statement::AttachDatabase { .. }
        | Statement::AttachDuckDBDatabase { .. } => {
            Some("statements that load, unload or attach files are not allowed".into())
        }
        Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Merge(_)
        | Statement::Truncate(_)
        | Statement::Drop { .. }
        | Statement::CreateTable(_)
        | Statement::CreateView { .. }
        | Statement::CreateSchema { .. }
        | Statement::CreateDatabase { .. }
        | Statement::CreateIndex(_)
        | Statement::CreateFunction(_)
        | Statement::AlterTable { .. }
        | Statement::AlterView { .. }
            if !admin =>
        {
            Some(READ_ONLY.into())
        }
        _ => None,
    }
}

/// `Ok` if `location` names a path inside `root` once `..`, `.` and symlinks are resolved;
/// else why not.
fn confine(location: &str, root: Option<&Path>) -> Result<PathBuf, String> {
    let outside = || {
        format!(
            "{location:?} is outside the data directory; file paths must lie inside {}",
            root.map(|r| r.display().to_string())
                .unwrap_or_else(|| "the data directory".into())
        )
    };
    let root = root.ok_or_else(outside)?;
    let path = match location.strip_prefix("file://") {
        Some(p) => p,
        None if location.contains("://") => {
            return Err(format!(
                "{location:?}: only local paths inside the data directory are allowed"
            ))
        }
        None => location,
    };
    let path = Path::new(path);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_err(|_| outside())?.join(path)
    };
    // Resolve the longest existing prefix (symlinks included); what does not exist yet must be
    // plain names.
    let mut existing = absolute.clone();
    let mut rest = Vec::new();
    let resolved = loop {
        if let Ok(real) = existing.canonicalize() {
            break real;
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_owned());
                existing = parent.to_path_buf();
            }
            _ => return Err(outside()),
        }
    };
    let mut full = resolved;
    for name in rest.iter().rev() {
        match Path::new(name).components().next() {
            Some(Component::Normal(_)) => full.push(name),
            _ => return Err(outside()),
        }
    }
    if absolute.components().any(|c| c == Component::ParentDir) && !full.starts_with(root) {
        return Err(outside());
    }
    if full.starts_with(root) {
        Ok(full)
    } else {
        Err(outside())
    }
}

#[async_trait]
impl QueryHook for AccessHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        let client: &(dyn ClientInfo + Send + Sync) = &*client;
        self.check(statement, client).map(Err)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        self.check(statement, client).map(Err)
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        _ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        let client: &(dyn ClientInfo + Send + Sync) = &*client;
        self.check(statement, client).map(Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_confined_after_resolving_dots_and_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        let root = root.canonicalize().unwrap();
        let inside = |p: &str| confine(p, Some(&root)).is_ok();
        assert!(inside(&format!("{}/out.parquet", root.display())));
        assert!(inside(&format!(
            "{}/sub/new/dir/out.parquet",
            root.display()
        )));
        assert!(inside(&format!("file://{}/sub/../x.csv", root.display())));
        assert!(!inside(&format!("{}/../escape.csv", root.display())));
        assert!(!inside(&format!("{}/sub/../../escape.csv", root.display())));
        assert!(!inside(&format!(
            "{}/missing/../../escape.csv",
            root.display()
        )));
        assert!(!inside("/etc/passwd"));
        assert!(!inside("s3://bucket/key"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path(), root.join("link")).unwrap();
            assert!(!inside(&format!("{}/link/escape.csv", root.display())));
        }
        assert!(confine("/tmp/x", None).is_err());
    }
}
