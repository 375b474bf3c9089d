//! The API contract suite: every check speaks only HTTP to a base URL and creates its own
//! tenants through sign-up, so the same checks run unchanged against the monolith and the
//! microservices' gateway.
//!
//! Checks are grouped by area (one module each) and registered in [`checks`]. [`run`] runs
//! them all and reports every failure, not just the first. Eventually consistent reads
//! (timelines, analytics, webhook deliveries) are polled with [`eventually_get`] for up to
//! [`SETTLE`]; `receiver` is the in-process HTTP server the webhook checks subscribe.

mod activities;
mod analytics;
mod auth;
mod compose;
mod conversion;
mod hardening;
mod leads;
mod receiver;
mod records;
mod references;
mod safety;
mod sales;
mod webhooks;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use uuid::Uuid;

use crm_core::{Actor, Role};

use crate::server::{Client, Reply};

/// Where the API under test lives.
#[derive(Clone, Debug)]
pub struct Suite {
    /// The root URL, e.g. `http://127.0.0.1:8080`.
    pub root: String,
}

/// A signed-up tenant: its admin and how it signed in.
pub struct Session {
    pub suite: Suite,
    pub admin: Client,
    pub email: String,
    pub password: String,
    pub refresh_token: String,
}

pub type Check =
    for<'a> fn(&'a Suite) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// Every check, with its name.
pub fn checks() -> Vec<(&'static str, Check)> {
    let mut v = Vec::new();
    v.extend(auth::CHECKS);
    v.extend(records::CHECKS);
    v.extend(safety::CHECKS);
    v.extend(hardening::CHECKS);
    v.extend(references::CHECKS);
    v.extend(leads::CHECKS);
    v.extend(conversion::CHECKS);
    v.extend(sales::CHECKS);
    v.extend(activities::CHECKS);
    v.extend(analytics::CHECKS);
    v.extend(webhooks::CHECKS);
    v.extend(compose::CHECKS);
    v
}

/// The outcome of a run.
#[derive(Debug, Default)]
pub struct Report {
    pub passed: Vec<&'static str>,
    pub failed: Vec<(&'static str, String)>,
}

/// Runs every check whose name contains `filter` (all when `None`), a few at a time.
pub async fn run(root: &str, filter: Option<&str>) -> Report {
    let suite = Suite {
        root: root.trim_end_matches('/').to_owned(),
    };
    let selected: Vec<_> = checks()
        .into_iter()
        .filter(|(name, _)| filter.is_none_or(|f| name.contains(f)))
        .collect();
    let mut report = Report::default();
    for chunk in selected.chunks(4) {
        let results = futures::future::join_all(chunk.iter().map(|(name, check)| {
            let suite = suite.clone();
            async move {
                let r = tokio::time::timeout(Duration::from_secs(120), check(&suite)).await;
                (
                    *name,
                    r.map_err(|_| anyhow::anyhow!("timed out after 120 s"))
                        .and_then(|r| r),
                )
            }
        }))
        .await;
        for (name, r) in results {
            match r {
                Ok(()) => report.passed.push(name),
                Err(e) => report.failed.push((name, format!("{e:#}"))),
            }
        }
    }
    report
}

impl Suite {
    /// The API base, `<root>/api/v1`.
    pub fn api(&self) -> String {
        format!("{}/api/v1", self.root)
    }

    fn anonymous(&self) -> Client {
        Client::new(
            self.api(),
            None,
            Actor::new(Uuid::nil(), Uuid::nil(), Role::Viewer),
        )
    }

    /// Signs up a new tenant and returns its admin session.
    pub async fn signup(&self) -> anyhow::Result<Session> {
        let email = format!("admin-{}@contract.test", Uuid::new_v4().simple());
        let password = "contract suite password".to_owned();
        let r = self
            .anonymous()
            .post(
                "/auth/signup",
                &json!({"tenant_name": "Contract Co", "name": "Ada Admin", "email": email, "password": password}),
            )
            .await;
        let body = status(r, 201).context("sign-up")?;
        Ok(Session {
            suite: self.clone(),
            admin: client_from_tokens(&self.api(), &body)?,
            email,
            password,
            refresh_token: body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        })
    }
}

/// A client from a token response (`access_token`, `user`).
pub fn client_from_tokens(api: &str, tokens: &Value) -> anyhow::Result<Client> {
    let user = &tokens["user"];
    let parse = |v: &Value| Uuid::parse_str(v.as_str().unwrap_or_default());
    let role = Role::parse(user["role"].as_str().unwrap_or_default()).context("role")?;
    let actor = Actor::new(parse(&user["tenant_id"])?, parse(&user["id"])?, role);
    let token = tokens["access_token"]
        .as_str()
        .context("access_token")?
        .to_owned();
    Ok(Client::new(api, Some(token), actor))
}

impl Session {
    /// A new user of this tenant with `role`, signed in.
    pub async fn user(&self, role: Role) -> anyhow::Result<Client> {
        let email = format!(
            "{}-{}@contract.test",
            role.as_str(),
            Uuid::new_v4().simple()
        );
        let password = "another long password";
        status(
            self.admin
                .post("/users", &json!({"email": email, "name": role.as_str(), "role": role.as_str(), "password": password}))
                .await,
            201,
        )
        .context("create user")?;
        let tokens = status(
            self.suite
                .anonymous()
                .post(
                    "/auth/login",
                    &json!({"email": email, "password": password}),
                )
                .await,
            200,
        )
        .context("log in")?;
        client_from_tokens(&self.suite.api(), &tokens)
    }
}

/// The body when the status matches, else an error showing both.
pub fn status(r: Reply, expected: u16) -> anyhow::Result<Value> {
    if r.status.as_u16() != expected {
        bail!("expected {expected}, got {}: {}", r.status.as_u16(), r.body);
    }
    Ok(r.body)
}

/// Checks an error reply: status, problem+json content type, and problem code.
pub fn problem(r: &Reply, expected_status: u16, code: &str) -> anyhow::Result<()> {
    let ct = r.header("content-type").unwrap_or_default();
    if r.status.as_u16() != expected_status
        || r.problem() != code
        || ct != "application/problem+json"
    {
        bail!(
            "expected {expected_status} {code} as problem+json, got {} {} ({ct}): {}",
            r.status.as_u16(),
            r.problem(),
            r.body
        );
    }
    if r.body["title"].as_str().is_none()
        || r.body["status"].as_u64() != Some(expected_status.into())
    {
        bail!("problem lacks title/status: {}", r.body);
    }
    Ok(())
}

/// The fields named in a problem's `errors`.
pub fn fields(r: &Reply) -> Vec<String> {
    r.body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The number of live records in a collection (`?count=true`).
pub async fn count(c: &Client, collection: &str) -> anyhow::Result<i64> {
    let body = status(
        c.get(&format!("/{collection}?count=true&limit=1")).await,
        200,
    )?;
    body["total"].as_i64().context("total")
}

/// The `id` of a record body.
pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

/// Waits until `f` yields `Some`, for eventually consistent reads (projections, timelines).
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await? {
            return Ok(v);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{what}: not reached within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How long eventually consistent reads (timelines, analytics, webhooks) may take; in the
/// microservices they are fed over NATS.
pub const SETTLE: Duration = Duration::from_secs(20);

/// Polls `GET path` until `ok` holds of its 200 body; a timeout shows the last reply.
pub async fn eventually_get(
    c: &Client,
    path: &str,
    timeout: Duration,
    ok: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let r = c.get(path).await;
        if r.status == 200 && ok(&r.body) {
            return Ok(r.body);
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "GET {path}: not as expected within {timeout:?}; last {}: {}",
                r.status.as_u16(),
                r.body
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// POST an action that needs `If-Match: "<version>"` (moves, reopen).
pub async fn post_at(c: &Client, path: &str, version: i64, body: &Value) -> Reply {
    let v = format!("\"{version}\"");
    c.send(
        crate::server::Method::POST,
        path,
        Some(body),
        &[("if-match", &v)],
    )
    .await
}

/// The `version` of a record body.
pub fn version(v: &Value) -> i64 {
    v["version"].as_i64().unwrap_or_default()
}

/// A word of letters only, unique to the call: names that search and duplicate checks can
/// tell apart across concurrent checks.
pub fn word() -> String {
    Uuid::new_v4()
        .simple()
        .to_string()
        .bytes()
        .take(12)
        .map(|b| match b {
            b'0'..=b'9' => (b'g' + (b - b'0')) as char,
            other => other as char,
        })
        .collect()
}

/// The values of `key` in a list body's `data`.
pub fn pluck(list: &Value, key: &str) -> Vec<Value> {
    list["data"]
        .as_array()
        .map(|d| d.iter().map(|x| x[key].clone()).collect())
        .unwrap_or_default()
}

/// Registers a check: `check!(name)` expands to `("name", |s| Box::pin(name(s)))`.
macro_rules! check {
    ($f:ident) => {
        (stringify!($f), |s| Box::pin($f(s)) as _)
    };
}
pub(crate) use check;
