//! The skeleton every context service is built on, so a service's own crate only says which
//! context it serves, which other services it calls and which events it handles.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream;
use axum::Router;
use futures::future::BoxFuture;
use sqlx::PgPool;
use tokio::net::TcpListener;

use crm_core::migrate::Migration;
use crm_core::outbox::{EventHandler, Relay};
use crm_http::auth::{Authenticator, JwksKeys};
use crm_http::client::{CallPolicy, ServiceClient, TokenSource, Upstream};
use crm_http::metrics::Metrics;
use crm_http::server::{self, Edge, ReadyCheck};

use crate::events::{self, Consumer, NatsDispatcher};

/// Settings every service takes, from flags or `CRM_*` environment variables.
#[derive(Clone, Debug, clap::Args)]
pub struct ServiceSettings {
    /// PostgreSQL URL of this service's own database.
    #[arg(long, env = "CRM_DATABASE_URL")]
    pub database_url: String,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "CRM_LISTEN", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    #[arg(long, env = "CRM_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    #[arg(long, env = "CRM_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// Replicas of the services this one calls (comma-separated base URLs).
    #[arg(long, env = "CRM_IDENTITY_URLS", value_delimiter = ',')]
    pub identity_urls: Vec<String>,
    #[arg(long, env = "CRM_CUSTOMERS_URLS", value_delimiter = ',')]
    pub customers_urls: Vec<String>,
    #[arg(long, env = "CRM_SALES_URLS", value_delimiter = ',')]
    pub sales_urls: Vec<String>,
    #[arg(long, env = "CRM_ACTIVITIES_URLS", value_delimiter = ',')]
    pub activities_urls: Vec<String>,
    /// Activities checks that the leads it links to exist.
    #[arg(long, env = "CRM_LEADS_URLS", value_delimiter = ',')]
    pub leads_urls: Vec<String>,
    /// Shared by the services and the gateway: guards identity's internal endpoints.
    #[arg(long, env = "CRM_INTERNAL_SECRET")]
    pub internal_secret: String,
    #[arg(long, env = "CRM_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    #[arg(long, env = "CRM_DRAIN_TIMEOUT_MS", default_value_t = 10_000)]
    pub drain_timeout_ms: u64,
    #[arg(long, env = "CRM_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

impl ServiceSettings {
    pub fn log_format(&self) -> &str {
        &self.log_format
    }

    /// Settings for tests: a database, NATS and the identity service's URL.
    pub fn for_tests(
        database_url: String,
        nats_url: String,
        identity: Option<String>,
        secret: &str,
    ) -> Self {
        ServiceSettings {
            database_url,
            listen: "127.0.0.1:0".parse().expect("valid address"),
            nats_url,
            db_max_connections: 8,
            identity_urls: identity.into_iter().collect(),
            customers_urls: Vec::new(),
            sales_urls: Vec::new(),
            activities_urls: Vec::new(),
            leads_urls: Vec::new(),
            internal_secret: secret.to_owned(),
            request_timeout_ms: 30_000,
            drain_timeout_ms: 2_000,
            log_format: "text".into(),
        }
    }
}

/// Logs to stderr (`text` for people, `json` for machines; `RUST_LOG` picks the levels) and,
/// when `CRM_OTLP_ENDPOINT` is set, exports spans as the OpenTelemetry service `service`
/// (`gateway`, `customers`, …).
pub fn init_tracing(service: &str, format: &str) -> anyhow::Result<crm_telemetry::Telemetry> {
    Ok(crm_telemetry::init(
        service,
        format,
        "info,sqlx=warn,async_nats=warn",
    )?)
}

/// A background task: given a future that resolves at shutdown.
pub type Task = Box<dyn FnOnce(BoxFuture<'static, ()>) -> BoxFuture<'static, ()> + Send>;

/// What a service has once connected: its database (migrated), NATS, metrics, and the means
/// to call other services on behalf of an actor.
pub struct Base {
    pub name: &'static str,
    pub settings: ServiceSettings,
    pub pool: PgPool,
    pub js: jetstream::Context,
    pub metrics: Metrics,
    pub identity: Arc<Upstream>,
    pub tokens: Arc<dyn TokenSource>,
}

/// How often replicas of called services are health-checked.
const HEALTH_CHECKS: Duration = Duration::from_secs(1);

impl Base {
    /// Connects the database and applies the core migrations and the given contexts', then
    /// connects NATS and makes sure the event stream exists.
    pub async fn connect(
        name: &'static str,
        settings: ServiceSettings,
        contexts: &[(&str, &[Migration])],
    ) -> anyhow::Result<Base> {
        let pool = crm_core::db::connect(&settings.database_url, settings.db_max_connections)
            .await
            .context("connect to the database")?;
        crm_core::migrate::run(&pool, "core", crm_core::migrate::CORE).await?;
        for (context, migrations) in contexts {
            crm_core::migrate::run(&pool, context, migrations).await?;
        }
        let js = events::connect(&settings.nats_url, name)
            .await
            .context("connect to NATS")?;
        events::ensure_stream(&js)
            .await
            .context("create the event stream")?;
        let metrics = Metrics::new();
        metrics.track_pool(pool.clone());
        metrics.track_outbox(pool.clone());
        let identity = Upstream::new("identity", settings.identity_urls.clone());
        if !settings.identity_urls.is_empty() {
            identity.clone().spawn_health_checks(HEALTH_CHECKS);
        }
        let tokens: Arc<dyn TokenSource> = Arc::new(crm_identity::client::InternalTokens::new(
            identity.clone(),
            settings.internal_secret.clone(),
        ));
        Ok(Base {
            name,
            settings,
            pool,
            js,
            metrics,
            identity,
            tokens,
        })
    }

    /// A health-checked upstream of another service.
    pub fn upstream(&self, service: &str, urls: &[String]) -> Arc<Upstream> {
        let u = Upstream::new(service, urls.to_vec());
        u.clone().spawn_health_checks(HEALTH_CHECKS);
        u
    }

    /// A resilient client of another service, acting with tokens for the caller's actor.
    pub fn client(&self, service: &str, urls: &[String]) -> ServiceClient {
        ServiceClient::new(
            self.upstream(service, urls),
            self.tokens.clone(),
            CallPolicy::default(),
        )
    }

    /// Access tokens verified against identity's JWKS. Services take no API keys: the gateway
    /// swaps them for tokens.
    pub fn authenticator(&self) -> Authenticator {
        Authenticator::new(Arc::new(JwksKeys::new(self.identity.clone())), None)
    }

    /// Assembles the service: `routes` (public ones already under `/api/v1`, plus any
    /// internal ones) behind the edge stack, the ops endpoints with `openapi`, the relay from
    /// this service's outbox to NATS, a durable consumer running `handlers` (if any), and
    /// `tasks`.
    pub async fn finish(
        self,
        routes: Router,
        auth: Authenticator,
        handlers: Vec<Arc<dyn EventHandler>>,
        tasks: Vec<Task>,
        openapi: serde_json::Value,
    ) -> anyhow::Result<Service> {
        // The service's one module can be made to fail (the benchmark's fault experiments).
        let faults = crm_http::faults::Faults::new();
        let routes = faults.guard(self.name, &self.pool, routes);
        let handlers: Vec<Arc<dyn EventHandler>> = handlers
            .into_iter()
            .map(|h| faults.guard_handler(self.name, &self.pool, h))
            .collect();
        let edge = Edge {
            auth,
            metrics: self.metrics.clone(),
            limiter: None,
            idempotency: Some(self.pool.clone()),
            timeout: Duration::from_millis(self.settings.request_timeout_ms),
        };
        let pool = self.pool.clone();
        let ready: ReadyCheck = Arc::new(move || {
            let pool = pool.clone();
            Box::pin(async move {
                sqlx::query("SELECT 1")
                    .execute(&pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("database: {e}"))
            })
        });
        let router = server::fallbacks(
            server::with_edge(routes, &edge)
                .merge(server::ops(self.metrics.clone(), ready, Arc::new(openapi)))
                .merge(crm_http::faults::admin_router(
                    faults,
                    self.settings.internal_secret.clone(),
                )),
        );
        let relay = Relay::new(
            self.pool.clone(),
            Arc::new(NatsDispatcher::new(self.js.clone())),
        );
        let consumer = (!handlers.is_empty()).then(|| {
            let c = Consumer::new(self.name, self.pool.clone(), handlers);
            c.track_lag(&self.js, &self.metrics);
            c
        });
        let listener = TcpListener::bind(self.settings.listen)
            .await
            .with_context(|| format!("listen on {}", self.settings.listen))?;
        Ok(Service {
            name: self.name,
            listener,
            router,
            relay,
            consumer,
            js: self.js,
            tasks,
            drain: Duration::from_millis(self.settings.drain_timeout_ms),
        })
    }
}

/// Routes under `/api/v1` plus root-level ones.
pub fn api(public: Router) -> Router {
    Router::new().nest(crm_http::API, public)
}

/// A built service, listening and ready to run.
pub struct Service {
    name: &'static str,
    listener: TcpListener,
    router: Router,
    relay: Relay,
    consumer: Option<Consumer>,
    js: jetstream::Context,
    tasks: Vec<Task>,
    drain: Duration,
}

impl Service {
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    /// Serves until `shutdown`, then drains requests and stops the relay, the consumer and
    /// the tasks.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(service = self.name, addr = %self.local_addr(), "service listening");
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = move || -> BoxFuture<'static, ()> {
            let mut rx = stop_rx.clone();
            Box::pin(async move {
                let _ = rx.wait_for(|s| *s).await;
            })
        };
        let mut handles = vec![tokio::spawn(self.relay.run(stopped()))];
        if let Some(c) = self.consumer {
            handles.push(tokio::spawn(c.run(self.js.clone(), stopped())));
        }
        for task in self.tasks {
            handles.push(tokio::spawn(task(stopped())));
        }
        let served = server::serve(self.listener, self.router, shutdown, self.drain).await;
        let _ = stop_tx.send(true);
        for h in handles {
            let _ = h.await;
        }
        tracing::info!(service = self.name, "service stopped");
        served.context("serve")
    }
}
