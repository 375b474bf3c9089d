//! Fault injection, for the benchmark's fault experiments: one module of a process (a
//! context: `customers`, `analytics`, ...) can be made to fail while the rest runs on.
//!
//! - `panic`: every request to the module's routes panics (answered 500 by the edge stack's
//!   panic catcher, as a real bug would be) and its event handlers fail, so their events wait
//!   and are applied once the module is healed.
//! - `slow-query`: before each of its requests and events the module holds one of its pool's
//!   connections in `pg_sleep` — a slow query, with the pool contention that comes with it.
//! - `cpu-hog`: busy threads in the process beside the module.
//! - `heal`: back to normal.
//!
//! Switched at run time with `PUT /admin/faults/{module}` carrying `X-Internal-Secret`;
//! without a configured secret the admin routes refuse everything. The monolith has a switch
//! per context; a microservice has one, for its own context — so the same fault can be
//! injected into either build.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::{get, put};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

use crm_core::Error;
use crm_core::event::EventEnvelope;
use crm_core::outbox::EventHandler;

use crate::{ApiError, ApiResult, Json};

/// What to do to a module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FaultAction {
    Panic,
    SlowQuery,
    CpuHog,
    Heal,
}

/// `PUT /admin/faults/{module}`.
#[derive(Clone, Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetFault {
    pub action: FaultAction,
    /// How long each slow query sleeps (`slow-query`), milliseconds.
    #[serde(default)]
    pub delay_ms: u64,
    /// Busy threads (`cpu-hog`).
    #[serde(default = "one")]
    pub threads: u32,
}

fn one() -> u32 {
    1
}

/// A module's current faults, as `GET /admin/faults` shows them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModuleFaults {
    pub panic: bool,
    pub slow_query_ms: u64,
    pub cpu_hog_threads: u32,
}

/// The switch of one module, checked on every request of its routes.
pub struct Switch {
    name: &'static str,
    pool: PgPool,
    panic: AtomicBool,
    slow_ms: AtomicU64,
    /// Each running hog thread watches its own flag.
    hogs: std::sync::Mutex<Vec<Arc<AtomicBool>>>,
}

impl Switch {
    fn state(&self) -> ModuleFaults {
        ModuleFaults {
            panic: self.panic.load(Ordering::Relaxed),
            slow_query_ms: self.slow_ms.load(Ordering::Relaxed),
            cpu_hog_threads: self.hogs.lock().expect("hogs").len() as u32,
        }
    }

    fn set(&self, f: &SetFault) {
        match f.action {
            FaultAction::Panic => self.panic.store(true, Ordering::Relaxed),
            FaultAction::SlowQuery => self.slow_ms.store(f.delay_ms.max(1), Ordering::Relaxed),
            FaultAction::CpuHog => {
                let mut hogs = self.hogs.lock().expect("hogs");
                for _ in 0..f.threads.max(1) {
                    let stop = Arc::new(AtomicBool::new(false));
                    let flag = stop.clone();
                    std::thread::spawn(move || {
                        let mut x: u64 = 1;
                        while !flag.load(Ordering::Relaxed) {
                            for _ in 0..10_000 {
                                x = std::hint::black_box(
                                    x.wrapping_mul(6364136223846793005).wrapping_add(1),
                                );
                            }
                        }
                    });
                    hogs.push(stop);
                }
            }
            FaultAction::Heal => {
                self.panic.store(false, Ordering::Relaxed);
                self.slow_ms.store(0, Ordering::Relaxed);
                for h in self.hogs.lock().expect("hogs").drain(..) {
                    h.store(true, Ordering::Relaxed);
                }
            }
        }
        tracing::warn!(module = self.name, action = ?f.action, delay_ms = f.delay_ms, "fault switched");
    }

    /// Fails or slows one unit of the module's work (a request or an event).
    async fn strike(&self, conn: Option<&mut PgConnection>) -> Result<(), Error> {
        if self.panic.load(Ordering::Relaxed) {
            // Unavailable, not a bad event: the relay retries it later instead of parking it
            // in dead_letters, as it would for a module that is down rather than wrong.
            return Err(Error::Unavailable(format!(
                "injected fault: {} is failing",
                self.name
            )));
        }
        let ms = self.slow_ms.load(Ordering::Relaxed);
        if ms > 0 {
            let q = sqlx::query("SELECT pg_sleep($1)").bind(ms as f64 / 1000.0);
            let slept = match conn {
                Some(c) => q.execute(c).await.map(|_| ()),
                None => q.execute(&self.pool).await.map(|_| ()),
            };
            if let Err(e) = slept {
                tracing::warn!(module = self.name, "slow query failed: {e}");
            }
        }
        Ok(())
    }
}

/// Every module's switch in one process.
#[derive(Clone, Default)]
pub struct Faults {
    switches: Arc<std::sync::Mutex<BTreeMap<&'static str, Arc<Switch>>>>,
}

impl Faults {
    pub fn new() -> Faults {
        Faults::default()
    }

    /// The switch of `module` (created on first use) over its pool.
    pub fn switch(&self, module: &'static str, pool: &PgPool) -> Arc<Switch> {
        self.switches
            .lock()
            .expect("switches")
            .entry(module)
            .or_insert_with(|| {
                Arc::new(Switch {
                    name: module,
                    pool: pool.clone(),
                    panic: AtomicBool::new(false),
                    slow_ms: AtomicU64::new(0),
                    hogs: Default::default(),
                })
            })
            .clone()
    }

    /// `routes` with `module`'s switch in front of every one of them.
    pub fn guard(&self, module: &'static str, pool: &PgPool, routes: Router) -> Router {
        routes.layer(from_fn_with_state(self.switch(module, pool), inject))
    }

    /// `handler` failing or slowed while `module` is.
    pub fn guard_handler(
        &self,
        module: &'static str,
        pool: &PgPool,
        handler: Arc<dyn EventHandler>,
    ) -> Arc<dyn EventHandler> {
        Arc::new(Guarded {
            inner: handler,
            switch: self.switch(module, pool),
        })
    }

    fn get(&self, module: &str) -> Option<Arc<Switch>> {
        self.switches.lock().expect("switches").get(module).cloned()
    }

    fn all(&self) -> BTreeMap<String, ModuleFaults> {
        self.switches
            .lock()
            .expect("switches")
            .iter()
            .map(|(k, s)| ((*k).to_owned(), s.state()))
            .collect()
    }
}

async fn inject(State(s): State<Arc<Switch>>, req: Request, next: Next) -> Response {
    if s.panic.load(Ordering::Relaxed) {
        // A real panic, caught by the edge stack like any bug would be.
        panic!("injected fault: the {} module is failing", s.name);
    }
    let _ = s.strike(None).await;
    next.run(req).await
}

struct Guarded {
    inner: Arc<dyn EventHandler>,
    switch: Arc<Switch>,
}

#[async_trait]
impl EventHandler for Guarded {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn wants(&self, event: &EventEnvelope) -> bool {
        self.inner.wants(event)
    }

    async fn handle(&self, conn: &mut PgConnection, event: &EventEnvelope) -> crm_core::Result<()> {
        self.switch.strike(Some(&mut *conn)).await?;
        self.inner.handle(conn, event).await
    }

    fn after_commit(&self, event: &EventEnvelope) {
        self.inner.after_commit(event)
    }
}

/// Whether `headers` carry `X-Internal-Secret: <secret>` (compared in constant time); an
/// empty secret matches nothing.
pub fn internal_secret_ok(secret: &str, headers: &HeaderMap) -> bool {
    let given = headers
        .get("x-internal-secret")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    !secret.is_empty()
        && given.len() == secret.len()
        && given
            .bytes()
            .zip(secret.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[derive(Clone)]
struct Admin {
    faults: Faults,
    secret: Arc<String>,
}

fn authorised(a: &Admin, headers: &HeaderMap) -> ApiResult<()> {
    if internal_secret_ok(&a.secret, headers) {
        Ok(())
    } else {
        Err(ApiError(Error::Unauthorized(
            "the fault admin API needs X-Internal-Secret".into(),
        )))
    }
}

/// `GET /admin/faults` and `PUT /admin/faults/{module}`, guarded by the internal secret.
pub fn admin_router(faults: Faults, secret: String) -> Router {
    Router::new()
        .route("/admin/faults", get(show))
        .route("/admin/faults/{module}", put(set))
        .with_state(Admin {
            faults,
            secret: Arc::new(secret),
        })
}

async fn show(
    State(a): State<Admin>,
    headers: HeaderMap,
) -> ApiResult<axum::Json<BTreeMap<String, ModuleFaults>>> {
    authorised(&a, &headers)?;
    Ok(axum::Json(a.faults.all()))
}

async fn set(
    State(a): State<Admin>,
    headers: HeaderMap,
    Path(module): Path<String>,
    Json(body): Json<SetFault>,
) -> ApiResult<axum::Json<ModuleFaults>> {
    authorised(&a, &headers)?;
    let s = a
        .faults
        .get(&module)
        .ok_or_else(|| ApiError(Error::NotFound(format!("module '{module}'"))))?;
    if body.action == FaultAction::SlowQuery && body.delay_ms == 0 {
        return Err(ApiError(Error::Validation(vec![
            crm_core::FieldError::new("delay_ms", "a slow query needs a positive delay_ms"),
        ])));
    }
    s.set(&body);
    Ok(axum::Json(s.state()))
}
