//! The service registry: which replicas serve each service. Read from a JSON file
//! (`{"customers": ["http://127.0.0.1:7002", ...], ...}`) that is watched for changes, and
//! changeable through `PUT /admin/registry/{service}`, so adding or removing a replica needs
//! no restart. Replicas are health-checked; unhealthy ones receive no traffic.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::{Deserialize, Serialize};

use crm_core::Error;
use crm_http::client::Upstream;
use crm_http::{ApiError, Json};

use crate::routes::Service;

/// Replica URLs per service name.
pub type Replicas = BTreeMap<String, Vec<String>>;

/// The upstreams of every service.
#[derive(Clone)]
pub struct Registry {
    pub upstreams: Arc<BTreeMap<Service, Arc<Upstream>>>,
}

impl Registry {
    /// The upstreams of `services` (every context service in API mode, the monolith in
    /// balancer mode); a name in `initial` that is not one of them is refused.
    pub fn new(initial: &Replicas, services: &[Service]) -> anyhow::Result<Registry> {
        let mut upstreams = BTreeMap::new();
        for &s in services {
            let urls = initial.get(s.name()).cloned().unwrap_or_default();
            upstreams.insert(s, Upstream::new(s.name(), urls));
        }
        for name in initial.keys() {
            anyhow::ensure!(
                Service::parse(name).is_some_and(|s| services.contains(&s)),
                "unknown service '{name}' in the registry (known here: {})",
                services
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Ok(Registry {
            upstreams: Arc::new(upstreams),
        })
    }

    pub fn upstream(&self, s: Service) -> Arc<Upstream> {
        self.upstreams[&s].clone()
    }

    pub fn apply(&self, replicas: &Replicas) {
        for (name, urls) in replicas {
            if let Some(u) = Service::parse(name).and_then(|s| self.upstreams.get(&s)) {
                u.set_replicas(urls.clone());
            }
        }
    }

    /// Starts the health checks of every upstream.
    pub fn check_health(&self, every: Duration) {
        for u in self.upstreams.values() {
            u.clone().spawn_health_checks(every);
        }
    }

    /// Re-reads `file` whenever it changes (polled), applying it.
    pub fn watch(&self, file: PathBuf, every: Duration) {
        let registry = self.clone();
        tokio::spawn(async move {
            let mut seen: Option<SystemTime> = None;
            loop {
                tokio::time::sleep(every).await;
                let Ok(modified) = std::fs::metadata(&file).and_then(|m| m.modified()) else {
                    continue;
                };
                if seen == Some(modified) {
                    continue;
                }
                seen = Some(modified);
                match read(&file) {
                    Ok(r) => {
                        registry.apply(&r);
                        tracing::info!(file = %file.display(), "registry reloaded");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "registry file unreadable; keeping the current one")
                    }
                }
            }
        });
    }
}

pub fn read(file: &std::path::Path) -> anyhow::Result<Replicas> {
    let text = std::fs::read_to_string(file)?;
    Ok(serde_json::from_str(&text)?)
}

#[derive(Clone)]
struct Admin {
    registry: Registry,
    secret: Arc<String>,
}

#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetReplicas {
    pub replicas: Vec<String>,
}

fn authorised(a: &Admin, headers: &HeaderMap) -> Result<(), ApiError> {
    if crm_http::faults::internal_secret_ok(&a.secret, headers) {
        Ok(())
    } else {
        Err(ApiError(Error::Unauthorized(
            "the admin API needs X-Internal-Secret".into(),
        )))
    }
}

/// `GET /admin/registry` and `PUT /admin/registry/{service}`, guarded by the internal secret.
pub fn admin_router(registry: Registry, secret: String) -> Router {
    Router::new()
        .route("/admin/registry", get(show))
        .route("/admin/registry/{service}", put(set))
        .with_state(Admin {
            registry,
            secret: Arc::new(secret),
        })
}

async fn show(State(a): State<Admin>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorised(&a, &headers)?;
    let view: BTreeMap<&str, serde_json::Value> = a
        .registry
        .upstreams
        .iter()
        .map(|(s, u)| {
            (
                s.name(),
                serde_json::to_value(u.replicas()).unwrap_or_default(),
            )
        })
        .collect();
    Ok(Json(view).into_response())
}

async fn set(
    State(a): State<Admin>,
    headers: HeaderMap,
    Path(service): Path<String>,
    Json(body): Json<SetReplicas>,
) -> Result<Response, ApiError> {
    authorised(&a, &headers)?;
    let upstream = Service::parse(&service)
        .and_then(|s| a.registry.upstreams.get(&s).cloned())
        .ok_or_else(|| ApiError(Error::not_found("service")))?;
    for (i, url) in body.replicas.iter().enumerate() {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ApiError(Error::invalid(
                format!("replicas[{i}]"),
                "must be an http(s) base URL",
            )));
        }
    }
    upstream.set_replicas(body.replicas);
    Ok(StatusCode::NO_CONTENT.into_response())
}
