//! Building and running the monolith.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use sqlx::PgPool;
use tokio::net::TcpListener;

use crm_activities::{Activities, ActivitiesEvents, TimelineHandler};
use crm_analytics::Analytics;
use crm_compose::Compose;
use crm_core::outbox::{EventHandler, LocalDispatcher, Relay};
use crm_core::refs::Owners;
use crm_customers::Customers;
use crm_http::auth::Authenticator;
use crm_http::faults::Faults;
use crm_http::metrics::Metrics;
use crm_http::ratelimit::{Quota, RateLimiter};
use crm_http::server::{self, Edge, ReadyCheck};
use crm_identity::{Identity, Users};
use crm_leads::Leads;
use crm_leads::convert::local::LocalConverter;
use crm_notifications::{Deliverer, Notifications};
use crm_sales::{Sales, SalesEvents};

use crate::settings::Settings;

/// A built application: listening, migrated, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    relay: Relay,
    deliverer: Deliverer,
    drain: Duration,
    seeded: bool,
}

async fn connect(url: &str, max: u32) -> anyhow::Result<PgPool> {
    crm_core::db::connect(url, max)
        .await
        .context("connect to the database")
}

/// Every context's migrations, in dependency order, into the one database.
async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    crm_core::migrate::run(pool, "core", crm_core::migrate::CORE).await?;
    Identity::migrate(pool).await?;
    Customers::migrate(pool).await?;
    Sales::migrate(pool).await?;
    Activities::migrate(pool).await?;
    Leads::migrate(pool).await?;
    Analytics::migrate(pool).await?;
    Notifications::migrate(pool).await?;
    Ok(())
}

/// `crm-monolith migrate`.
pub async fn migrate_only(settings: &Settings) -> anyhow::Result<()> {
    let pool = connect(&settings.database_url, 2).await?;
    migrate(&pool).await.context("apply migrations")
}

/// The OpenAPI document of the whole API (the gateway serves the same one).
pub fn openapi() -> serde_json::Value {
    crm_compose::document()
}

fn quota(rate: f64) -> Option<Quota> {
    (rate > 0.0).then_some(Quota {
        per_second: rate,
        burst: (rate * 2.0).max(10.0),
    })
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let pool = connect(&settings.database_url, settings.db_max_connections).await?;
        migrate(&pool).await.context("apply migrations")?;
        // Writes check their references (owners, companies, links, ...) while their
        // transaction holds a connection; giving those reads their own small pool means a full
        // main pool can never wait on itself.
        let lookups = connect(&settings.database_url, 4).await?;

        let identity = Arc::new(
            Identity::new(
                pool.clone(),
                crm_identity::Settings {
                    allow_signup: settings.allow_signup,
                    access_ttl_secs: settings.access_ttl_secs,
                    ..Default::default()
                },
            )
            .await?,
        );
        // Who answers which references, in-process (the microservices ask over HTTP).
        let users = Owners::new().with(&["user"], Arc::new(Users::new(lookups.clone())));
        let customers_lookup = Arc::new(Customers::new(lookups.clone()));
        let customers = Arc::new(Customers::new(pool.clone()).with_owners(users.clone()));
        let sales =
            Arc::new(Sales::new(pool.clone(), customers_lookup.clone()).with_owners(users.clone()));
        let converter = Arc::new(LocalConverter::new(
            pool.clone(),
            customers.clone(),
            sales.clone(),
        ));
        let leads = Arc::new(
            Leads::new(pool.clone(), identity.clone(), converter.clone())
                .with_owners(users.clone()),
        );
        let activities = Arc::new(
            Activities::new(pool.clone()).with_owners(
                users
                    .with(&["company", "contact"], customers_lookup.clone())
                    .with(
                        &["lead"],
                        Arc::new(Leads::new(lookups.clone(), identity.clone(), converter)),
                    )
                    .with(
                        &["opportunity"],
                        Arc::new(Sales::new(lookups, customers_lookup)),
                    ),
            ),
        );
        if settings.seed_demo {
            crate::demo::Demo {
                identity: identity.clone(),
                customers: customers.clone(),
                sales: sales.clone(),
                leads: leads.clone(),
            }
            .seed()
            .await
            .context("seed the demo tenant")?;
        }
        let analytics = Arc::new(Analytics::new(pool.clone()));
        let notifications = Arc::new(Notifications::new(pool.clone()));

        // Each context can be made to fail on its own (the benchmark's fault experiments).
        let faults = Faults::new();
        let guard = |module, routes| faults.guard(module, &pool, routes);
        // Events go from the outbox to these, in order, each exactly once.
        let handlers: Vec<Arc<dyn EventHandler>> = vec![
            faults.guard_handler("activities", &pool, Arc::new(TimelineHandler)),
            faults.guard_handler("activities", &pool, Arc::new(ActivitiesEvents)),
            faults.guard_handler("sales", &pool, Arc::new(SalesEvents::new())),
            faults.guard_handler("analytics", &pool, Arc::new(analytics.handler())),
            faults.guard_handler("notifications", &pool, Arc::new(notifications.handler())),
        ];
        let relay = Relay::new(
            pool.clone(),
            Arc::new(LocalDispatcher::new(pool.clone(), handlers)),
        );
        let deliverer = notifications.deliverer(crm_notifications::Settings::default())?;

        let metrics = Metrics::new();
        metrics.track_pool(pool.clone());
        metrics.track_outbox(pool.clone());
        analytics.track_metrics(&metrics);
        let edge = Edge {
            auth: Authenticator::new(identity.keys(), Some(identity.clone())),
            metrics: metrics.clone(),
            limiter: match (
                quota(settings.rate_limit_tenant),
                quota(settings.rate_limit_key),
            ) {
                (None, None) => None,
                (t, k) => Some(RateLimiter::new(t, k)),
            },
            idempotency: Some(pool.clone()),
            timeout: Duration::from_millis(settings.request_timeout_ms),
        };
        let compose = Compose {
            customers: customers.clone(),
            sales: sales.clone(),
            activities: activities.clone(),
            leads: leads.clone(),
        };
        let api = Router::new()
            .merge(guard(
                "identity",
                crm_identity::http::router(identity.clone()),
            ))
            .merge(guard("customers", crm_customers::http::router(customers)))
            .merge(guard("sales", crm_sales::http::router(sales)))
            .merge(guard(
                "activities",
                crm_activities::http::router(activities),
            ))
            .merge(guard("leads", crm_leads::http::router(leads)))
            .merge(guard("analytics", crm_analytics::http::router(analytics)))
            .merge(guard(
                "notifications",
                crm_notifications::http::router(notifications),
            ))
            .merge(crm_compose::router(compose));
        let routes = Router::new()
            .nest(crm_http::API, api)
            .merge(crm_identity::http::well_known(identity));
        let ready_pool = pool.clone();
        let ready: ReadyCheck = Arc::new(move || {
            let pool = ready_pool.clone();
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
                .merge(server::ops(metrics, ready, Arc::new(openapi())))
                .merge(crm_http::faults::admin_router(
                    faults,
                    settings.internal_secret.clone(),
                )),
        );

        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("listen on {}", settings.listen))?;
        Ok(Application {
            listener,
            router,
            relay,
            deliverer,
            drain: Duration::from_millis(settings.drain_timeout_ms),
            seeded: settings.seed_demo,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    /// Serves until `shutdown`, then drains requests and stops the background workers.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr();
        tracing::info!(%addr, "crm-monolith listening");
        if self.seeded {
            tracing::info!("{}", crate::demo::banner(addr));
        }
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let relay = tokio::spawn(self.relay.run(stopped(stop_rx.clone())));
        let deliverer = tokio::spawn(self.deliverer.run(stopped(stop_rx)));
        let served = server::serve(self.listener, self.router, shutdown, self.drain).await;
        let _ = stop_tx.send(true);
        let _ = relay.await;
        let _ = deliverer.await;
        tracing::info!("crm-monolith stopped");
        served.context("serve")
    }
}
