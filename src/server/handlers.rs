//! The pgwire handlers: datafusion-postgres' `DfSessionService` does parsing, planning, the
//! pg_catalog rewrites and Arrow → Postgres encoding; around it Sightline adds its startup
//! parameters, SQLSTATE mapping, SHOW, and one log line per statement (duration, rows, client).

use std::fmt::Debug;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datafusion::prelude::SessionContext;
use datafusion_postgres::hooks::cursor::CursorStatementHook;
use datafusion_postgres::hooks::set_show::SetShowHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use datafusion_postgres::pgwire::api::auth::StartupHandler;
use datafusion_postgres::pgwire::api::cancel::{CancelHandler, DefaultCancelHandler};
use datafusion_postgres::pgwire::api::portal::{Format, Portal, PortalExecutionState};
use datafusion_postgres::pgwire::api::query::{
    send_execution_response, send_query_response, send_ready_for_query, ExtendedQueryHandler,
    SimpleQueryHandler,
};
use datafusion_postgres::pgwire::api::results::{DescribePortalResponse, Response, Tag};
use datafusion_postgres::pgwire::api::stmt::QueryParser;
use datafusion_postgres::pgwire::api::store::{Entry, PortalStore};
use datafusion_postgres::pgwire::api::{
    ClientInfo, ClientPortalStore, ConnectionHandle, ConnectionManager, ErrorHandler,
    PgWireConnectionState, PgWireServerHandlers, DEFAULT_NAME,
};
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use datafusion_postgres::pgwire::messages::extendedquery::Execute;
use datafusion_postgres::pgwire::messages::response::EmptyQueryResponse;
use datafusion_postgres::pgwire::messages::simplequery::Query;
use datafusion_postgres::pgwire::messages::PgWireBackendMessage;
use datafusion_postgres::{DfSessionService, Parser, QueryHook};
use futures::future::{select, Either};
use futures::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use tracing::{error, info, warn};

use super::access::AccessHook;
use super::copy_out;
use super::errors;
use super::inline_params;
use super::rewrite;
use super::savepoints::SavepointHook;
use super::show::ShowHook;
use super::startup::{SessionInfo, Startup};
use super::watch::{Activity, Busy, Sessions};
use crate::security::{Limits, Security};

/// The most rows one row-limited Execute returns before PortalSuspended.
const MAX_ROWS_PER_EXECUTE: i32 = 16_384;

/// Longest SQL text put in a log line.
const LOGGED_SQL_CHARS: usize = 300;

/// A panic inside one query (a bug in a function or in the engine) becomes that query's error,
/// XX000, instead of ending the connection.
fn panic_error(payload: Box<dyn std::any::Any + Send>, sql: &str) -> PgWireError {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    error!(panic = %what, sql = %shorten(sql), "query panicked; stopped it, the connection stays open");
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        "XX000".to_owned(),
        format!(
            "internal error while running the query: {what}. The query was stopped; the connection \
             and the server keep working. Please report this with the query."
        ),
    )))
}

/// Runs a statement under its timeout (57014 when it expires), a panic in it becoming XX000.
async fn guarded<T>(
    run: impl std::future::Future<Output = PgWireResult<T>>,
    timeout: Option<Duration>,
    sql: &str,
) -> PgWireResult<T> {
    let run = std::panic::AssertUnwindSafe(run).catch_unwind();
    let run = match timeout {
        Some(t) => match tokio::time::timeout(t, run).await {
            Ok(run) => run,
            Err(_) => Ok(Err(timeout_error())),
        },
        None => run.await,
    };
    run.unwrap_or_else(|payload| Err(panic_error(payload, sql)))
}

/// The rows of a response, with a panic while producing one turned into a final XX000 error,
/// and the statement_timeout enforced while rows are produced.
struct CatchUnwind<S> {
    inner: S,
    sql: String,
    done: bool,
    /// statement_timeout: when it fires, the stream ends with 57014.
    deadline: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl<S, T> Stream for CatchUnwind<S>
where
    S: Stream<Item = PgWireResult<T>> + Unpin,
{
    type Item = PgWireResult<T>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        if self.done {
            return std::task::Poll::Ready(None);
        }
        let this = &mut *self;
        if let Some(deadline) = this.deadline.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                this.done = true;
                return std::task::Poll::Ready(Some(Err(timeout_error())));
            }
        }
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            this.inner.poll_next_unpin(cx)
        })) {
            Ok(poll) => poll,
            Err(payload) => {
                this.done = true;
                std::task::Poll::Ready(Some(Err(panic_error(payload, &this.sql))))
            }
        }
    }
}

pub struct Handlers {
    frontend: Arc<Frontend>,
    startup: Arc<Startup>,
    cancel: Arc<DefaultCancelHandler>,
    errors: Arc<ErrorMapper>,
    access: Arc<AccessHook>,
    pub(super) sessions: Arc<Sessions>,
}

impl Handlers {
    pub fn new(ctx: Arc<SessionContext>) -> Self {
        let access = Arc::new(AccessHook::default());
        let hooks: Vec<Arc<dyn QueryHook>> = vec![
            Arc::clone(&access) as Arc<dyn QueryHook>,
            Arc::new(SavepointHook),
            Arc::new(ShowHook),
            Arc::new(CursorStatementHook),
            Arc::new(SetShowHook),
            Arc::new(TransactionStatementHook),
            // Last: plain queries that no hook above answered.
            Arc::new(super::execute::ExecuteHook),
        ];
        let connections = Arc::new(ConnectionManager::new());
        let sessions = Arc::new(Sessions::default());
        Handlers {
            frontend: Arc::new(Frontend {
                inner: Arc::new(DfSessionService::new_with_hooks(ctx, hooks)),
                default_timeout_ms: AtomicU64::new(0),
                admission: std::sync::RwLock::new(None),
            }),
            startup: Arc::new(Startup::new(
                Arc::clone(&connections),
                Arc::clone(&sessions),
            )),
            cancel: Arc::new(DefaultCancelHandler::new(connections)),
            errors: Arc::new(ErrorMapper),
            access,
            sessions,
        }
    }

    /// Authentication, roles and limits; `data_dir` is where admins' file access is confined.
    pub fn set_security(&self, security: Security, data_dir: std::path::PathBuf) {
        if let Ok(mut current) = self.startup.security.write() {
            *current = Arc::new(security);
        }
        self.access.confine_to(data_dir);
    }
}

impl Handlers {
    /// At most `n` statements execute at once (0 = no limit); the rest queue.
    pub fn set_max_concurrent_queries(&self, n: usize) {
        if let Ok(mut slot) = self.frontend.admission.write() {
            *slot = (n > 0).then(|| Arc::new(tokio::sync::Semaphore::new(n)));
        }
    }

    /// The server-wide statement_timeout (zero = none); sessions may SET their own.
    pub fn set_statement_timeout(&self, timeout: Duration) {
        self.frontend
            .default_timeout_ms
            .store(timeout.as_millis() as u64, Ordering::Relaxed);
    }
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::clone(&self.frontend)
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        Arc::clone(&self.frontend)
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        Arc::clone(&self.startup)
    }

    fn error_handler(&self) -> Arc<impl ErrorHandler> {
        Arc::clone(&self.errors)
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        Arc::clone(&self.cancel)
    }
}

struct ErrorMapper;

impl ErrorHandler for ErrorMapper {
    fn on_error<C>(&self, client: &C, error: &mut PgWireError)
    where
        C: ClientInfo,
    {
        errors::map_pgwire_error(error);
        if let PgWireError::UserError(info) = error {
            info!(client = %client.socket_addr(), sqlstate = %info.code, message = %info.message, "error sent");
        } else {
            warn!(client = %client.socket_addr(), error = %error, "protocol error");
        }
    }
}

/// Simple and extended query protocol, delegated to `DfSessionService`.
pub struct Frontend {
    inner: Arc<DfSessionService>,
    /// The server's statement_timeout in ms (0 = none); a session's SET overrides it.
    default_timeout_ms: AtomicU64,
    /// At most this many statements execute at once; the others wait their turn (None = no
    /// limit). Dozens of concurrent analytic queries on a few cores otherwise thrash the CPU
    /// and split the memory pool into shares too small for any of them.
    admission: std::sync::RwLock<Option<Arc<tokio::sync::Semaphore>>>,
}

/// A session's `SET statement_timeout` (ms; `UNSET` = the server default).
struct SessionTimeout(AtomicU64);

const UNSET: u64 = u64::MAX;

/// Parses a statement_timeout value as PostgreSQL reads it: a bare number is milliseconds;
/// units ms, s, min, h; 0 turns the limit off.
fn parse_timeout(value: &str) -> Option<u64> {
    let v = value.trim().trim_matches('\'').trim().to_ascii_lowercase();
    let split = v
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "" | "ms" => 1.0,
        "s" => 1e3,
        "min" => 6e4,
        "h" => 3.6e6,
        _ => return None,
    };
    let ms = number * factor;
    // PostgreSQL's range: 0 to INT_MAX milliseconds (about 24.8 days).
    (ms >= 0.0 && ms <= i32::MAX as f64).then_some(ms as u64)
}

/// `SET [SESSION] statement_timeout { = | TO } value | DEFAULT` and `RESET statement_timeout`:
/// `Some(Some(..))` to set (or the unparsable value), `Some(None)` for the server default.
fn timeout_statement(sql: &str) -> Option<Option<Result<u64, String>>> {
    let text = sql.trim().trim_end_matches(';').trim();
    let lower = text.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    if words == ["reset", "statement_timeout"] {
        return Some(None);
    }
    let rest = lower
        .strip_prefix("set session ")
        .or_else(|| lower.strip_prefix("set "))?
        .trim_start();
    let rest = rest.strip_prefix("statement_timeout")?.trim_start();
    let rest = rest
        .strip_prefix('=')
        .or_else(|| rest.strip_prefix("to "))?
        .trim();
    if rest == "default" {
        return Some(None);
    }
    // Keep the caller's spelling for the error message.
    let original = &text[text.len() - rest.len()..];
    Some(Some(
        parse_timeout(rest).ok_or_else(|| original.to_string()),
    ))
}

fn timeout_error() -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        "57014".to_owned(),
        "canceling statement due to statement timeout".to_owned(),
    )))
}

impl Frontend {
    /// The statement_timeout for this client's next statement, if any.
    fn timeout<C: ClientInfo>(&self, client: &C) -> Option<Duration> {
        let session = client
            .session_extensions()
            .get_or_insert_with(|| SessionTimeout(AtomicU64::new(UNSET)))
            .0
            .load(Ordering::Relaxed);
        let ms = if session == UNSET {
            self.default_timeout_ms.load(Ordering::Relaxed)
        } else {
            session
        };
        (ms > 0).then(|| Duration::from_millis(ms))
    }

    /// Handles a statement_timeout SET/RESET for this session; `None` if `sql` is not one.
    fn set_timeout<C: ClientInfo>(&self, client: &C, sql: &str) -> Option<PgWireResult<Response>> {
        let action = timeout_statement(sql)?;
        let slot = client
            .session_extensions()
            .get_or_insert_with(|| SessionTimeout(AtomicU64::new(UNSET)));
        Some(match action {
            None => {
                slot.0.store(UNSET, Ordering::Relaxed);
                Ok(Response::Execution(Tag::new("RESET")))
            }
            Some(Ok(ms)) => {
                slot.0.store(ms, Ordering::Relaxed);
                Ok(Response::Execution(Tag::new("SET")))
            }
            Some(Err(value)) => Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                "ERROR".to_owned(),
                "22023".to_owned(),
                format!(
                    "invalid value for parameter \"statement_timeout\": {value}; give milliseconds or a duration such as '30s' or '5min' (0 = no limit)"
                ),
            )))),
        })
    }
}

fn shorten(sql: &str) -> String {
    let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match sql.char_indices().nth(LOGGED_SQL_CHARS) {
        Some((cut, _)) => format!("{}…", &sql[..cut]),
        None => sql,
    }
}

/// Logs one line when dropped: after the last row was sent, or when the client went away.
struct QueryLog {
    client: SocketAddr,
    sql: String,
    started: Instant,
    rows: u64,
    bytes: u64,
    failed: bool,
    /// Keeps the session marked busy (for the idle timeout) while rows are produced.
    _busy: Option<Arc<Busy>>,
    /// Keeps the statement's execution slot until the last row is sent.
    _slot: Option<Arc<tokio::sync::OwnedSemaphorePermit>>,
}

impl Drop for QueryLog {
    fn drop(&mut self) {
        let ms = self.started.elapsed().as_secs_f64() * 1000.0;
        if self.failed {
            info!(client = %self.client, duration_ms = format!("{ms:.1}"), rows = self.rows, bytes = self.bytes, sql = %self.sql, "query failed while streaming");
        } else {
            info!(client = %self.client, duration_ms = format!("{ms:.1}"), rows = self.rows, bytes = self.bytes, sql = %self.sql, "query");
        }
    }
}

/// What a statement runs under: its start, statement_timeout, result limits and busy mark.
struct RunContext {
    client: SocketAddr,
    started: Instant,
    timeout: Option<Duration>,
    limits: Limits,
    busy: Option<Arc<Busy>>,
    /// The statement's slot among `max_concurrent_queries`, held until its last row is sent.
    slot: Option<Arc<tokio::sync::OwnedSemaphorePermit>>,
}

impl RunContext {
    fn new<C: ClientInfo>(client: &C, timeout: Option<Duration>) -> Self {
        let extensions = client.session_extensions();
        RunContext {
            client: client.socket_addr(),
            started: Instant::now(),
            timeout,
            limits: extensions
                .get::<SessionInfo>()
                .map(|s| s.limits)
                .unwrap_or_default(),
            busy: extensions
                .get::<Arc<Activity>>()
                .map(|a| Arc::new(a.begin())),
            slot: None,
        }
    }
}

fn limit_error(what: &str, limit: u64) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        "53400".to_owned(),
        format!(
            "the result exceeds this user's {what} limit ({limit}); add a LIMIT or aggregate \
             further, or ask an administrator to raise {what} in the server's config"
        ),
    )))
}

fn with_log(response: Response, sql: &str, run: &RunContext) -> Response {
    let started = run.started;
    let timeout = run.timeout;
    let limits = run.limits;
    let mut log = QueryLog {
        client: run.client,
        sql: shorten(sql),
        started,
        rows: 0,
        bytes: 0,
        failed: false,
        _busy: run.busy.clone(),
        _slot: run.slot.clone(),
    };
    match response {
        Response::Query(mut query) => {
            let rows = std::mem::replace(&mut query.data_rows, Box::pin(futures::stream::empty()));
            let rows = CatchUnwind {
                inner: rows,
                sql: log.sql.clone(),
                done: false,
                deadline: timeout
                    .and_then(|t| started.checked_add(t))
                    .map(|at| Box::pin(tokio::time::sleep_until(at.into()))),
            };
            query.data_rows = Box::pin(rows.map(move |row| {
                // Borrow the whole struct so the closure owns it (not copies of its fields) and
                // the line is logged when the stream is dropped.
                let log: &mut QueryLog = &mut log;
                if log.failed {
                    return row;
                }
                match &row {
                    Ok(data) => {
                        log.rows += 1;
                        log.bytes += data.data.len() as u64;
                        let over = match (limits.max_result_rows, limits.max_result_bytes) {
                            (Some(max), _) if log.rows > max => Some(("max_result_rows", max)),
                            (_, Some(max)) if log.bytes > max => Some(("max_result_bytes", max)),
                            _ => None,
                        };
                        if let Some((what, max)) = over {
                            log.failed = true;
                            return Err(limit_error(what, max));
                        }
                    }
                    Err(_) => log.failed = true,
                }
                row
            }));
            Response::Query(query)
        }
        other => other,
    }
}

impl Frontend {
    /// Waits for an execution slot (within the statement timeout: 57014 if it runs out).
    async fn admit(&self, context: &mut RunContext) -> PgWireResult<()> {
        let semaphore = match self.admission.read() {
            Ok(a) => a.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let Some(semaphore) = semaphore else {
            return Ok(());
        };
        let wait = semaphore.acquire_owned();
        let permit = match context.timeout {
            Some(t) => tokio::time::timeout(t, wait)
                .await
                .map_err(|_| timeout_error())?,
            None => wait.await,
        };
        // The semaphore is never closed.
        context.slot = permit.ok().map(Arc::new);
        Ok(())
    }

    /// Runs a bound portal through datafusion-postgres under the statement timeout, with a
    /// panic turned into XX000.
    async fn run_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<<DfSessionService as ExtendedQueryHandler>::Statement>,
        max_rows: usize,
        timeout: Option<Duration>,
        sql: &str,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore:
            PortalStore<Statement = <DfSessionService as ExtendedQueryHandler>::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let run = super::execute::RESULT_FORMAT.scope(
            portal.result_column_format.clone(),
            <DfSessionService as ExtendedQueryHandler>::do_query(
                &self.inner,
                client,
                portal,
                max_rows,
            ),
        );
        guarded(run, timeout, sql).await
    }
}

/// arrow-pg refuses a float parameter where the plan wants a decimal.
fn float_for_decimal(e: &PgWireError) -> bool {
    match e {
        PgWireError::UserError(info) => info
            .message
            .contains("Cannot coerce float value to Decimal"),
        _ => false,
    }
}

/// `portal` with its float4/float8 parameters re-bound as numeric text; `None` if it has none.
fn floats_as_numeric<S: Clone + Default>(portal: &Portal<S>) -> Option<Portal<S>> {
    use datafusion_postgres::pgwire::api::Type;
    let types = &portal.statement.parameter_types;
    let mut changed = false;
    let mut new_types = types.clone();
    let mut formats = Vec::with_capacity(portal.parameters.len());
    let mut values = Vec::with_capacity(portal.parameters.len());
    for (i, value) in portal.parameters.iter().enumerate() {
        let binary = portal.parameter_format.is_binary(i);
        let ty = types.get(i).cloned().flatten();
        let as_text = match (&ty, value) {
            (Some(t), Some(bytes)) if *t == Type::FLOAT8 || *t == Type::FLOAT4 => {
                if binary {
                    let v = match bytes.len() {
                        8 => Some(f64::from_be_bytes(bytes[..8].try_into().ok()?)),
                        4 => Some(f32::from_be_bytes(bytes[..4].try_into().ok()?) as f64),
                        _ => None,
                    };
                    v.filter(|v| v.is_finite()).map(|v| v.to_string())
                } else {
                    std::str::from_utf8(bytes).ok().map(str::to_string)
                }
            }
            _ => None,
        };
        match as_text {
            Some(text) => {
                changed = true;
                if let Some(slot) = new_types.get_mut(i) {
                    *slot = Some(Type::NUMERIC);
                }
                formats.push(0);
                values.push(Some(bytes::Bytes::from(text)));
            }
            None => {
                formats.push(i16::from(binary));
                values.push(value.clone());
            }
        }
    }
    if !changed {
        return None;
    }
    let statement = datafusion_postgres::pgwire::api::stmt::StoredStatement::new(
        portal.statement.id.clone(),
        portal.statement.statement.clone(),
        new_types,
    );
    let mut rebound = Portal::<S>::default();
    rebound.name = portal.name.clone();
    rebound.statement = Arc::new(statement);
    rebound.parameter_format =
        datafusion_postgres::pgwire::api::portal::Format::Individual(formats);
    rebound.parameters = values;
    rebound.result_column_format = portal.result_column_format.clone();
    Some(rebound)
}

fn too_complex(why: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        "54001".to_owned(),
        why,
    )))
}

fn copy_in_error() -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        "0A000".to_owned(),
        "COPY FROM STDIN is not supported: the data is read-only (place Parquet files in the data directory)".to_owned(),
    )))
}

/// datafusion-postgres' parser for the extended protocol, after `rewrite`.
pub struct RewritingParser(Arc<Parser>);

#[async_trait]
impl QueryParser for RewritingParser {
    type Statement = <Parser as QueryParser>::Statement;

    async fn parse_sql<C>(
        &self,
        client: &C,
        sql: &str,
        types: &[Option<datafusion_postgres::pgwire::api::Type>],
    ) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        rewrite::check_nesting(sql).map_err(too_complex)?;
        let rewritten = rewrite::rewrite(sql);
        self.0
            .parse_sql(client, rewritten.as_deref().unwrap_or(sql), types)
            .await
    }

    fn get_parameter_types(
        &self,
        stmt: &Self::Statement,
    ) -> PgWireResult<Vec<datafusion_postgres::pgwire::api::Type>> {
        self.0.get_parameter_types(stmt)
    }

    fn get_result_schema(
        &self,
        stmt: &Self::Statement,
        column_format: Option<&datafusion_postgres::pgwire::api::portal::Format>,
    ) -> PgWireResult<Vec<datafusion_postgres::pgwire::api::results::FieldInfo>> {
        self.0.get_result_schema(stmt, column_format)
    }
}

/// Resolves when a CancelRequest for this connection arrives (never without a handle).
async fn cancel_signal<C: ClientInfo>(
    client: &C,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    match client.session_extensions().get::<Arc<ConnectionHandle>>() {
        Some(handle) => {
            let rx = handle.start_query().await;
            Box::pin(async move {
                // A dropped sender (the next statement took over) is not a cancel.
                if rx.await.is_err() {
                    futures::future::pending::<()>().await;
                }
            })
        }
        None => Box::pin(futures::future::pending()),
    }
}

#[async_trait]
impl SimpleQueryHandler for Frontend {
    /// pgwire's default only lets a CancelRequest stop a query while it is planned; this also
    /// stops it while its rows are sent (psql's Ctrl-C on a long result).
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let sql = query.query;
        if sql
            .trim_matches(|c: char| c == ';' || c.is_whitespace())
            .is_empty()
        {
            return self._on_query(client, Query::new(sql)).await;
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let mut cancel = cancel_signal(client).await;
        let responses = {
            let run = std::pin::pin!(<Self as SimpleQueryHandler>::do_query(self, client, &sql));
            match select(run, cancel.as_mut()).await {
                Either::Left((result, _)) => result?,
                Either::Right(_) => return Err(PgWireError::QueryCanceled),
            }
        };
        // Read after running: a hook may change it (ROLLBACK TO SAVEPOINT clears an aborted
        // transaction).
        let mut transaction_status = client.transaction_status();
        for response in responses {
            match response {
                Response::EmptyQuery => {
                    client
                        .feed(PgWireBackendMessage::EmptyQueryResponse(
                            EmptyQueryResponse::new(),
                        ))
                        .await?;
                }
                Response::Query(results) => {
                    let send = std::pin::pin!(send_query_response(client, results, true));
                    match select(send, cancel.as_mut()).await {
                        Either::Left((result, _)) => result?,
                        Either::Right(_) => return Err(PgWireError::QueryCanceled),
                    }
                }
                Response::Execution(tag) => send_execution_response(client, tag).await?,
                Response::TransactionStart(tag) => {
                    send_execution_response(client, tag).await?;
                    transaction_status = transaction_status.to_in_transaction_state();
                }
                Response::TransactionEnd(tag) => {
                    send_execution_response(client, tag).await?;
                    transaction_status = transaction_status.to_idle_state();
                }
                Response::Error(err) => {
                    client
                        .feed(PgWireBackendMessage::ErrorResponse((*err).into()))
                        .await?;
                    transaction_status = transaction_status.to_error_state();
                }
                Response::CopyOut(copy) => {
                    let send = std::pin::pin!(copy_out::send_copy_out(client, copy));
                    match select(send, cancel.as_mut()).await {
                        Either::Left((result, _)) => result?,
                        Either::Right(_) => return Err(PgWireError::QueryCanceled),
                    }
                }
                Response::CopyIn(_) | Response::CopyBoth(_) => {
                    return Err(copy_in_error());
                }
            }
        }
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(transaction_status);
        send_ready_for_query(client, transaction_status).await?;
        Ok(())
    }

    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(response) = self.set_timeout(client, query) {
            return response.map(|r| vec![r]);
        }
        rewrite::check_nesting(query).map_err(too_complex)?;
        let rewritten = rewrite::rewrite(query);
        let query = rewritten.as_deref().unwrap_or(query);
        if let Some(copy) = copy_out::parse(query) {
            let copy = copy.map_err(|why| {
                PgWireError::UserError(Box::new(ErrorInfo::new(
                    "ERROR".to_owned(),
                    "0A000".to_owned(),
                    why,
                )))
            })?;
            // The rows come from the query path, with its hooks, limits and timeout.
            let result_format = match copy.format {
                copy_out::Format::Binary => Format::UnifiedBinary,
                _ => Format::UnifiedText,
            };
            let responses = super::execute::RESULT_FORMAT
                .scope(
                    result_format,
                    <Self as SimpleQueryHandler>::do_query(self, client, &copy.select),
                )
                .await?;
            return responses
                .into_iter()
                .map(|r| match r {
                    Response::Query(rows) => {
                        copy_out::into_copy(rows, copy.format.clone()).map(Response::CopyOut)
                    }
                    other => Ok(other),
                })
                .collect();
        }
        let mut context = RunContext::new(client, self.timeout(client));
        self.admit(&mut context).await?;
        let (started, peer, timeout) = (context.started, context.client, context.timeout);
        let run = <DfSessionService as SimpleQueryHandler>::do_query(&self.inner, client, query);
        match guarded(run, timeout, query).await {
            Ok(responses) => Ok(responses
                .into_iter()
                .map(|r| with_log(r, query, &context))
                .collect()),
            Err(e) => {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                info!(client = %peer, duration_ms = format!("{ms:.1}"), sql = %shorten(query), "query rejected");
                Err(e)
            }
        }
    }
}

#[async_trait]
impl ExtendedQueryHandler for Frontend {
    type Statement = <DfSessionService as ExtendedQueryHandler>::Statement;
    type QueryParser = RewritingParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::new(RewritingParser(self.inner.query_parser()))
    }

    /// A portal that is already running (a `DECLARE`d cursor, or a row-limited Execute) is
    /// described by its live result; others by planning their statement. psycopg describes
    /// its server-side cursors this way, and a wrong (empty) description crashes its C code.
    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        target: &Portal<Self::Statement>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let PortalExecutionState::Suspended(running) = &*target.state().lock().await {
            return Ok(DescribePortalResponse::new(
                running.row_schema().as_ref().clone(),
            ));
        }
        let schema = self.query_parser().get_result_schema(
            &target.statement.statement,
            Some(&target.result_column_format),
        )?;
        Ok(DescribePortalResponse::new(schema))
    }

    /// pgwire's default `Execute` collects every row of a portal into memory before sending
    /// when the client asks for all rows (`max_rows = 0`, what most drivers do). This streams
    /// them instead, and lets a CancelRequest stop the query while rows are being sent.
    /// Row-limited executes (cursors, JDBC `fetchSize`) keep pgwire's bounded fetch.
    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut message = message;
        // As PostgreSQL, a row limit of zero or below means all rows. pgwire reserves room for
        // `max_rows` rows up front, so one Execute asking for a billion rows would abort the
        // whole server on allocation failure (found by the protocol fuzz target); larger
        // limits are served in batches (the client gets PortalSuspended and executes again).
        message.max_rows = message.max_rows.clamp(0, MAX_ROWS_PER_EXECUTE);
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal = match client.portal_store().get_portal(name) {
            Some(Entry::Value(portal)) if message.max_rows == 0 => portal,
            _ => return self._on_execute(client, message).await,
        };
        if !matches!(*portal.state.lock().await, PortalExecutionState::Initial) {
            return self._on_execute(client, message).await;
        }
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);

        let mut cancel = cancel_signal(client).await;
        let response = {
            let query = std::pin::pin!(<Self as ExtendedQueryHandler>::do_query(
                self,
                client,
                portal.as_ref(),
                0
            ));
            match select(query, cancel.as_mut()).await {
                Either::Left((result, _)) => result?,
                Either::Right(_) => return Err(PgWireError::QueryCanceled),
            }
        };
        let mut transaction_status = client.transaction_status();
        match response {
            Response::Query(results) => {
                *portal.state.lock().await = PortalExecutionState::Finished;
                let send = std::pin::pin!(send_query_response(client, results, false));
                match select(send, cancel.as_mut()).await {
                    Either::Left((result, _)) => result?,
                    Either::Right(_) => return Err(PgWireError::QueryCanceled),
                }
            }
            Response::EmptyQuery => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
            }
            Response::Execution(tag) => send_execution_response(client, tag).await?,
            Response::TransactionStart(tag) => {
                send_execution_response(client, tag).await?;
                transaction_status = transaction_status.to_in_transaction_state();
            }
            Response::TransactionEnd(tag) => {
                send_execution_response(client, tag).await?;
                transaction_status = transaction_status.to_idle_state();
                client.portal_store().rm_portal(DEFAULT_NAME);
            }
            Response::Error(err) => {
                client
                    .send(PgWireBackendMessage::ErrorResponse((*err).into()))
                    .await?;
                transaction_status = transaction_status.to_error_state();
            }
            Response::CopyIn(_) | Response::CopyOut(_) | Response::CopyBoth(_) => {
                return Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                    "ERROR".to_owned(),
                    "0A000".to_owned(),
                    "COPY is not supported in the extended query protocol; send it as a simple query".to_owned(),
                ))));
            }
        }
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(transaction_status);
        Ok(())
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let sql = portal.statement.statement.0.clone();
        if let Some(response) = self.set_timeout(client, &sql) {
            return response;
        }
        let plan = portal.statement.statement.1.as_ref().map(|(_, plan)| plan);
        if let Some(inlined) = inline_params::inline_if_gapped(portal, &sql, plan) {
            let mut responses =
                <Self as SimpleQueryHandler>::do_query(self, client, &inlined).await?;
            return match responses.len() {
                1 => Ok(responses.remove(0)),
                _ => Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                    "ERROR".to_owned(),
                    "42601".to_owned(),
                    "cannot insert multiple commands into a prepared statement".to_owned(),
                )))),
            };
        }
        let mut context = RunContext::new(client, self.timeout(client));
        self.admit(&mut context).await?;
        let (started, peer, timeout) = (context.started, context.client, context.timeout);
        let mut outcome = self
            .run_portal(client, portal, max_rows, timeout, &sql)
            .await;
        if outcome.as_ref().is_err_and(float_for_decimal) {
            // A float8 parameter compared with a numeric column (psycopg and SQLAlchemy send
            // Python floats so): bind it as the numeric it spells, as PostgreSQL would.
            if let Some(numeric) = floats_as_numeric(portal) {
                outcome = self
                    .run_portal(client, &numeric, max_rows, timeout, &sql)
                    .await;
            }
        }
        match outcome {
            Ok(response) => Ok(with_log(response, &sql, &context)),
            Err(e) => {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                info!(client = %peer, duration_ms = format!("{ms:.1}"), sql = %shorten(&sql), "query rejected");
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_timeout_values() {
        assert_eq!(parse_timeout("5000"), Some(5000));
        assert_eq!(parse_timeout("'2s'"), Some(2000));
        assert_eq!(parse_timeout("1min"), Some(60_000));
        assert_eq!(parse_timeout("0"), Some(0));
        assert_eq!(parse_timeout("soon"), None);
        assert_eq!(parse_timeout("999999999h"), None);
        assert!(matches!(
            timeout_statement("SET statement_timeout = 100"),
            Some(Some(Ok(100)))
        ));
        assert!(matches!(
            timeout_statement("set statement_timeout to '3s';"),
            Some(Some(Ok(3000)))
        ));
        assert!(matches!(
            timeout_statement("SET statement_timeout TO DEFAULT"),
            Some(None)
        ));
        assert!(matches!(
            timeout_statement("RESET statement_timeout"),
            Some(None)
        ));
        assert!(matches!(
            timeout_statement("SET statement_timeout = 'x'"),
            Some(Some(Err(_)))
        ));
        assert!(timeout_statement("SET search_path = public").is_none());
    }
}
