//! Connection startup: TLS requirement, authentication (trust or SCRAM-SHA-256, as PostgreSQL
//! does it), then the session's role and limits, and the server parameters clients expect.

use std::fmt::Debug;
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use datafusion_postgres::pgwire::api::auth::{
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata,
    DefaultServerParameterProvider, ServerParameterProvider, StartupHandler,
};
use datafusion_postgres::pgwire::api::{
    ClientInfo, ConnectionManager, PgWireConnectionState, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator,
};
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use datafusion_postgres::pgwire::messages::startup::Authentication;
use datafusion_postgres::pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use futures::{Sink, SinkExt};
use tracing::{info, warn};

use super::watch::{Activity, Sessions};
use crate::pg_compat::settings;
use crate::security::scram::{ScramError, ServerExchange, MECHANISM};
use crate::security::{Limits, Method, Role, Security, Verifier};

/// What a session is allowed: read by the query handlers and hooks.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user: String,
    pub role: Role,
    pub limits: Limits,
}

/// A SCRAM exchange in progress on this connection.
struct Exchange(Mutex<Option<ServerExchange>>);

pub struct Startup {
    pub(super) connections: Arc<ConnectionManager>,
    pids: RandomPidSecretKeyGenerator,
    pub(super) security: RwLock<Arc<Security>>,
    pub(super) sessions: Arc<Sessions>,
}

impl Startup {
    pub fn new(connections: Arc<ConnectionManager>, sessions: Arc<Sessions>) -> Self {
        Startup {
            connections,
            pids: RandomPidSecretKeyGenerator::default(),
            security: RwLock::new(Arc::new(Security::default())),
            sessions,
        }
    }

    fn security(&self) -> Arc<Security> {
        match self.security.read() {
            Ok(s) => Arc::clone(&s),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

fn fatal(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".to_owned(),
        code.to_owned(),
        message,
    )))
}

fn auth_failed(user: &str) -> PgWireError {
    fatal(
        "28P01",
        format!("password authentication failed for user \"{user}\""),
    )
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let security = self.security();
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                if security.require_tls && !client.is_secure() {
                    warn!(client = %client.socket_addr(), "refused: plaintext connection but TLS is required");
                    return Err(fatal(
                        "28000",
                        "this server requires TLS: connect with sslmode=require (or verify-full)"
                            .into(),
                    ));
                }
                if client_user(&*client).is_empty() {
                    return Err(fatal(
                        "28000",
                        "no user name given: connect with a user (e.g. psql -U analyst)".into(),
                    ));
                }
                match security.method {
                    Method::Trust => self.admit(client, &security).await,
                    Method::Scram => {
                        client.set_state(PgWireConnectionState::AuthenticationInProgress);
                        client
                            .send(PgWireBackendMessage::Authentication(Authentication::SASL(
                                vec![MECHANISM.to_owned()],
                            )))
                            .await?;
                        Ok(())
                    }
                }
            }
            PgWireFrontendMessage::PasswordMessageFamily(msg)
                if security.method == Method::Scram
                    && matches!(
                        client.state(),
                        PgWireConnectionState::AuthenticationInProgress
                    ) =>
            {
                let slot = client
                    .session_extensions()
                    .get_or_insert_with(|| Exchange(Mutex::new(None)));
                let pending = slot.0.lock().ok().and_then(|mut s| s.take());
                let name = client_user(&*client);
                match pending {
                    None => {
                        let first = msg.into_sasl_initial_response()?;
                        if first.auth_method != MECHANISM {
                            return Err(fatal(
                                "28000",
                                format!(
                                    "SASL mechanism {} is not supported; this server offers {MECHANISM}",
                                    first.auth_method
                                ),
                            ));
                        }
                        let (verifier, mock) = match security.users.get(&name) {
                            Some(u) => (u.verifier.clone(), false),
                            None => (Verifier::mock(&security.mock_secret, &name), true),
                        };
                        let data = first.data.unwrap_or_default();
                        let (exchange, server_first) = ServerExchange::start(&data, verifier, mock)
                            .map_err(|e| scram_error(e, &name))?;
                        if let Ok(mut s) = slot.0.lock() {
                            *s = Some(exchange);
                        }
                        client
                            .send(PgWireBackendMessage::Authentication(
                                Authentication::SASLContinue(server_first.into_bytes().into()),
                            ))
                            .await?;
                        Ok(())
                    }
                    Some(exchange) => {
                        let response = msg.into_sasl_response()?;
                        match exchange.finish(&response.data) {
                            Ok(server_final) => {
                                client
                                    .feed(PgWireBackendMessage::Authentication(
                                        Authentication::SASLFinal(server_final.into_bytes().into()),
                                    ))
                                    .await?;
                                self.admit(client, &security).await
                            }
                            Err(e) => {
                                warn!(client = %client.socket_addr(), user = %name, "authentication failed");
                                Err(scram_error(e, &name))
                            }
                        }
                    }
                }
            }
            _ => Err(fatal(
                "08P01",
                "unexpected message during authentication".into(),
            )),
        }
    }
}

fn scram_error(e: ScramError, user: &str) -> PgWireError {
    match e {
        ScramError::WrongPassword => auth_failed(user),
        ScramError::ChannelBinding => fatal("28000", e.to_string()),
        ScramError::Protocol(_) | ScramError::BadVerifier => fatal("08P01", e.to_string()),
    }
}

fn client_user<C: ClientInfo + ?Sized>(client: &C) -> String {
    client.metadata().get("user").cloned().unwrap_or_default()
}

impl Startup {
    /// The client is who it says: record its role and limits, register it for CancelRequest
    /// and the idle timeout, and send the server parameters.
    async fn admit<C>(&self, client: &mut C, security: &Security) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let user = client_user(&*client);
        let (role, limits) = match security.users.get(&user) {
            Some(u) => (u.role, u.limits),
            None => (security.trust_role, security.trust_limits),
        };
        client.session_extensions().insert(SessionInfo {
            user: user.clone(),
            role,
            limits,
        });
        if let Some(activity) = self.sessions.get(client.socket_addr()) {
            activity.set_secure(client.is_secure());
            client
                .session_extensions()
                .insert::<Arc<Activity>>(activity);
        }
        let (pid, secret_key) = self.pids.generate(client);
        client.set_pid_and_secret_key(pid, secret_key.clone());
        let (handle, guard) = self.connections.register(pid, secret_key);
        client.session_extensions().insert(handle);
        client.session_extensions().insert(guard);
        finish_authentication(client, &ServerParams).await?;
        let meta = client.metadata();
        info!(
            client = %client.socket_addr(),
            user = %user,
            role = role.name(),
            tls = client.is_secure(),
            database = meta.get("database").map(String::as_str).unwrap_or(""),
            application = meta.get("application_name").map(String::as_str).unwrap_or(""),
            "connection accepted"
        );
        Ok(())
    }
}

struct ServerParams;

impl ServerParameterProvider for ServerParams {
    fn server_parameters<C>(&self, client: &C) -> Option<std::collections::HashMap<String, String>>
    where
        C: ClientInfo,
    {
        let mut params = DefaultServerParameterProvider::default().server_parameters(client)?;
        for name in [
            "server_version",
            "DateStyle",
            "TimeZone",
            "IntervalStyle",
            "is_superuser",
            "application_name",
            "session_authorization",
            "client_encoding",
        ] {
            if let Some(setting) = settings::find(name) {
                params.insert(
                    setting.name.to_owned(),
                    setting.value(Some(client.metadata())),
                );
            }
        }
        params.remove("scram_iterations");
        Some(params)
    }
}
