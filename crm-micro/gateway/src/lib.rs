//! The gateway: the microservice CRM's public API, byte for byte the monolith's.
//!
//! It authenticates (JWTs against identity's JWKS; API keys resolved by identity and swapped
//! for a short-lived JWT the services accept), applies per-tenant and per-key rate limits,
//! routes each request to a healthy replica of the owning service (least outstanding
//! requests, active health checks, a circuit breaker per service), composes the customer
//! 360 view and search by parallel fan-out through the same context traits the monolith
//! calls in-process, and serves the same OpenAPI document.
//!
//! In balancer mode (`--mode balancer`) it is only the load balancer in front of replicas of
//! the monolith: every request goes to a monolith replica through the same forwarding,
//! balancing, health checks, breaker and retries, with no authentication, routing or
//! composition of its own ([`balancer`]).
//!
//! # Layout
//! - [`routes`]: the route table, path pattern → service.
//! - [`proxy`]: forwarding, breakers, retries, timeouts, streaming.
//! - [`registry`]: replicas per service, from a watched file and the admin API.
//! - [`balancer`]: the balancer mode's router.

pub mod balancer;
pub mod proxy;
pub mod registry;
pub mod routes;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use clap::Parser;
use tokio::net::TcpListener;

use crm_compose::Compose;
use crm_core::Actor;
use crm_http::ApiError;
use crm_http::auth::{ApiKeyId, Authenticator, JwksKeys};
use crm_http::client::{CallPolicy, ServiceClient, TokenSource};
use crm_http::metrics::Metrics;
use crm_http::ratelimit::{Quota, RateLimiter};
use crm_http::server::{self, Edge, ReadyCheck};

use crate::registry::{Registry, Replicas};
use crate::routes::Service;

/// What the gateway is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// The microservices' public API.
    Api,
    /// A load balancer in front of replicas of the monolith, nothing more.
    Balancer,
}

#[derive(Clone, Debug, Parser)]
#[command(name = "gateway", version, about = "The microservice CRM's public API")]
pub struct Settings {
    /// `api` (the microservices' gateway) or `balancer` (in front of monolith replicas).
    #[arg(long, env = "CRM_GATEWAY_MODE", value_enum, default_value = "api")]
    pub mode: Mode,
    /// Balancer mode: the monolith's replicas (comma-separated base URLs), used when there
    /// is no registry file (whose key is then `monolith`).
    #[arg(long, env = "CRM_MONOLITH_URLS", value_delimiter = ',')]
    pub monolith: Vec<String>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "CRM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// JSON file of replicas per service, watched for changes.
    #[arg(long, env = "CRM_REGISTRY")]
    pub registry: Option<PathBuf>,
    /// Replicas per service (comma-separated base URLs), used when there is no registry file.
    #[arg(long, env = "CRM_IDENTITY_URLS", value_delimiter = ',')]
    pub identity: Vec<String>,
    #[arg(long, env = "CRM_CUSTOMERS_URLS", value_delimiter = ',')]
    pub customers: Vec<String>,
    #[arg(long, env = "CRM_SALES_URLS", value_delimiter = ',')]
    pub sales: Vec<String>,
    #[arg(long, env = "CRM_ACTIVITIES_URLS", value_delimiter = ',')]
    pub activities: Vec<String>,
    #[arg(long, env = "CRM_LEADS_URLS", value_delimiter = ',')]
    pub leads: Vec<String>,
    #[arg(long, env = "CRM_ANALYTICS_URLS", value_delimiter = ',')]
    pub analytics: Vec<String>,
    #[arg(long, env = "CRM_NOTIFICATIONS_URLS", value_delimiter = ',')]
    pub notifications: Vec<String>,
    /// Shared with the services: guards identity's internal endpoints and the admin API.
    #[arg(long, env = "CRM_INTERNAL_SECRET")]
    pub internal_secret: String,
    /// How long a resolved API key is trusted without asking identity again, in ms. 0 (the
    /// default) asks every time, so a revoked key stops at once, as in the monolith; a cache
    /// saves identity a call per API-key request at the price of revocations taking that long.
    #[arg(long, env = "CRM_API_KEY_CACHE_MS", default_value_t = 0)]
    pub api_key_cache_ms: u64,
    /// Per-tenant rate limit in requests per second (0 disables).
    #[arg(long, env = "CRM_RATE_LIMIT_TENANT", default_value_t = 0.0)]
    pub rate_limit_tenant: f64,
    /// Per-API-key rate limit in requests per second (0 disables).
    #[arg(long, env = "CRM_RATE_LIMIT_KEY", default_value_t = 0.0)]
    pub rate_limit_key: f64,
    /// How long a proxied request may take, in milliseconds (event streams excepted).
    #[arg(long, env = "CRM_UPSTREAM_TIMEOUT_MS", default_value_t = 10_000)]
    pub upstream_timeout_ms: u64,
    /// Interval of the active health checks, in milliseconds.
    #[arg(long, env = "CRM_HEALTH_CHECK_MS", default_value_t = 1_000)]
    pub health_check_ms: u64,
    #[arg(long, env = "CRM_DRAIN_TIMEOUT_MS", default_value_t = 10_000)]
    pub drain_timeout_ms: u64,
    #[arg(long, env = "CRM_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

impl Settings {
    fn initial_replicas(&self) -> anyhow::Result<Replicas> {
        if let Some(file) = &self.registry {
            return registry::read(file)
                .with_context(|| format!("read the registry {}", file.display()));
        }
        if self.mode == Mode::Balancer {
            return Ok([("monolith".to_owned(), self.monolith.clone())].into());
        }
        Ok([
            ("identity", &self.identity),
            ("customers", &self.customers),
            ("sales", &self.sales),
            ("activities", &self.activities),
            ("leads", &self.leads),
            ("analytics", &self.analytics),
            ("notifications", &self.notifications),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.clone()))
        .collect())
    }
}

pub struct Gateway {
    listener: TcpListener,
    router: Router,
    registry: Registry,
    drain: Duration,
}

fn quota(rate: f64) -> Option<Quota> {
    (rate > 0.0).then_some(Quota {
        per_second: rate,
        burst: (rate * 2.0).max(10.0),
    })
}

/// Services accept only JWTs: a request made with an API key continues with a short-lived
/// token for the same actor.
async fn swap_api_keys(
    State(tokens): State<Arc<dyn TokenSource>>,
    mut req: Request,
    next: Next,
) -> Response {
    if req.extensions().get::<ApiKeyId>().is_some() {
        let Some(actor) = req.extensions().get::<Actor>().cloned() else {
            return next.run(req).await;
        };
        match tokens.token(&actor).await {
            Ok(t) => {
                if let Ok(v) = format!("Bearer {t}").parse() {
                    req.headers_mut().insert(http::header::AUTHORIZATION, v);
                }
            }
            Err(e) => return ApiError(e).into_response(),
        }
    }
    next.run(req).await
}

impl Gateway {
    pub async fn build(settings: Settings) -> anyhow::Result<Gateway> {
        let services: &[Service] = match settings.mode {
            Mode::Api => &Service::ALL,
            Mode::Balancer => &[Service::Monolith],
        };
        let registry = Registry::new(&settings.initial_replicas()?, services)?;
        registry.check_health(Duration::from_millis(settings.health_check_ms));
        if let Some(file) = &settings.registry {
            registry.watch(file.clone(), Duration::from_secs(1));
        }
        let router = match settings.mode {
            Mode::Api => api_router(&settings, &registry)?,
            Mode::Balancer => balancer::router(&settings, &registry)?,
        };
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("listen on {}", settings.listen))?;
        Ok(Gateway {
            listener,
            router,
            registry,
            drain: Duration::from_millis(settings.drain_timeout_ms),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    pub fn registry(&self) -> Registry {
        self.registry.clone()
    }

    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr(), "gateway listening");
        server::serve(self.listener, self.router, shutdown, self.drain)
            .await
            .context("serve")
    }
}

/// Ready when every upstream has a healthy replica; otherwise says which have none.
pub(crate) fn ready_check(registry: &Registry) -> ReadyCheck {
    let registry = registry.clone();
    Arc::new(move || {
        let r = registry.clone();
        Box::pin(async move {
            let down: Vec<&str> = r
                .upstreams
                .iter()
                .filter(|(_, u)| !u.replicas().iter().any(|x| x.healthy))
                .map(|(s, _)| s.name())
                .collect();
            if down.is_empty() {
                Ok(())
            } else {
                Err(format!("no healthy replica of: {}", down.join(", ")))
            }
        })
    })
}

/// Forwarding to `s`'s replicas as every route of it does: its breaker, the shared client.
pub(crate) fn target(
    registry: &Registry,
    s: Service,
    http: &reqwest::Client,
    settings: &Settings,
) -> proxy::Target {
    let upstream = registry.upstream(s);
    proxy::Target {
        service: s,
        breaker: Arc::new(proxy::BREAKER.fresh(upstream.clone())),
        upstream,
        http: http.clone(),
        timeout: Duration::from_millis(settings.upstream_timeout_ms),
    }
}

/// The client the proxy forwards with.
pub(crate) fn forwarding_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// The microservices' public API: authentication, limits, routes, composition.
fn api_router(settings: &Settings, registry: &Registry) -> anyhow::Result<Router> {
    let identity = registry.upstream(Service::Identity);
    let tokens: Arc<dyn TokenSource> = Arc::new(crm_identity::client::InternalTokens::new(
        identity.clone(),
        settings.internal_secret.clone(),
    ));
    let api_keys = Arc::new(
        crm_identity::client::RemoteApiKeys::new(
            identity.clone(),
            settings.internal_secret.clone(),
        )
        .with_ttl(Duration::from_millis(settings.api_key_cache_ms)),
    );
    let auth = Authenticator::new(Arc::new(JwksKeys::new(identity.clone())), Some(api_keys));

    let policy = CallPolicy::default();
    let client =
        |s: Service| ServiceClient::new(registry.upstream(s), tokens.clone(), policy.clone());
    let compose = Compose {
        customers: Arc::new(crm_customers::client::CustomersClient::new(client(
            Service::Customers,
        ))),
        sales: Arc::new(crm_sales::client::SalesClient::new(client(Service::Sales))),
        activities: Arc::new(crm_activities::client::ActivitiesClient::new(client(
            Service::Activities,
        ))),
        leads: Arc::new(crm_leads::client::LeadsClient::new(client(Service::Leads))),
    };

    let http = forwarding_client()?;
    let mut targets: HashMap<Service, proxy::Target> = HashMap::new();
    for s in Service::ALL {
        targets.insert(s, target(registry, s, &http, settings));
    }
    let mut routes = Router::new();
    for (pattern, s) in routes::table() {
        routes = routes.route(
            &pattern,
            any(proxy::forward).with_state(targets[&s].clone()),
        );
    }
    let routes = routes
        .nest(crm_http::API, crm_compose::router(compose))
        .layer(from_fn_with_state(tokens.clone(), swap_api_keys));

    let metrics = Metrics::new();
    let edge = Edge {
        auth,
        metrics: metrics.clone(),
        limiter: match (
            quota(settings.rate_limit_tenant),
            quota(settings.rate_limit_key),
        ) {
            (None, None) => None,
            (t, k) => Some(RateLimiter::new(t, k)),
        },
        // Keys are honoured by the service that owns the write; the gateway passes them on.
        idempotency: None,
        timeout: Duration::from_millis(settings.upstream_timeout_ms + 1_000),
    };
    let ready = ready_check(registry);
    let router = server::fallbacks(
        server::with_edge(routes, &edge)
            .merge(server::ops(
                metrics,
                ready,
                Arc::new(crm_compose::document()),
            ))
            .merge(registry::admin_router(
                registry.clone(),
                settings.internal_secret.clone(),
            )),
    );
    Ok(router)
}
