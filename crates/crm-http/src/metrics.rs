//! Prometheus metrics: request counts and latency histograms per route, plus gauges that
//! are refreshed at scrape time (outbox backlog, pool usage, consumer lag).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use http::{HeaderValue, header};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// Latency buckets in seconds, 100 µs to 10 s.
const BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

type Refresh = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    refreshers: Arc<Mutex<Vec<Refresh>>>,
}

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("crm");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        let in_flight = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "http_requests_in_flight",
            "HTTP requests being served",
            in_flight.clone(),
        );
        Metrics {
            registry: Arc::new(Mutex::new(registry)),
            requests,
            latency,
            in_flight,
            refreshers: Arc::default(),
        }
    }

    /// Registers a gauge (name without the `crm_` prefix).
    pub fn gauge(&self, name: &str, help: &str) -> Gauge {
        let g = Gauge::default();
        self.registry
            .lock()
            .expect("metrics registry lock")
            .register(name, help, g.clone());
        g
    }

    /// Registers a counter (name without the `crm_` prefix and `_total` suffix).
    pub fn counter(&self, name: &str, help: &str) -> Counter {
        let c = Counter::default();
        self.registry
            .lock()
            .expect("metrics registry lock")
            .register(name, help, c.clone());
        c
    }

    /// Runs `f` before every scrape (to refresh gauges that need a query).
    pub fn on_scrape(&self, f: impl Fn() -> BoxFuture<'static, ()> + Send + Sync + 'static) {
        self.refreshers
            .lock()
            .expect("metrics lock")
            .push(Arc::new(f));
    }

    /// Refreshes the gauges and renders the text exposition format.
    pub async fn render(&self) -> String {
        let refreshers: Vec<Refresh> = self.refreshers.lock().expect("metrics lock").clone();
        for f in refreshers {
            f().await;
        }
        let mut out = String::new();
        let registry = self.registry.lock().expect("metrics registry lock");
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
            tracing::warn!(error = %e, "metrics encoding failed");
        }
        out
    }

    /// A gauge set that tracks a pool's size and idle connections.
    pub fn track_pool(&self, pool: sqlx::PgPool) {
        let size = self.gauge("db_pool_connections", "Open database connections");
        let idle = self.gauge("db_pool_idle", "Idle database connections");
        self.on_scrape(move || {
            size.set(pool.size() as i64);
            idle.set(pool.num_idle() as i64);
            Box::pin(async {})
        });
    }

    /// A gauge of the outbox backlog (events not yet published).
    pub fn track_outbox(&self, pool: sqlx::PgPool) {
        let backlog = self.gauge("outbox_backlog", "Events waiting in the outbox");
        self.on_scrape(move || {
            let (pool, backlog) = (pool.clone(), backlog.clone());
            Box::pin(async move {
                if let Ok(n) = crm_core::outbox::pending(&pool).await {
                    backlog.set(n);
                }
            })
        });
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware: counts and times each request under its route template.
pub async fn track(State(m): State<Metrics>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    m.in_flight.inc();
    let res = next.run(req).await;
    m.in_flight.dec();
    m.latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(start.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: res.status().as_u16(),
        })
        .inc();
    res
}

/// `GET /metrics`.
pub async fn endpoint(State(m): State<Metrics>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        m.render().await,
    )
        .into_response()
}
