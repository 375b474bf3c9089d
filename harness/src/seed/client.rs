//! A small client of the public API for seeding: logged in as the benchmark tenant's admin
//! (logging in again before the access token runs out), JSON in and out, and every
//! non-success answer an error that names the request and shows the problem.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::runtime::Deployment;

/// Access tokens live 15 minutes; log in again well before.
const TOKEN_AGE: Duration = Duration::from_secs(600);

pub(crate) struct Client {
    http: reqwest::Client,
    deployment: Deployment,
    api: String,
    token: Mutex<(String, Instant)>,
}

impl Client {
    pub(crate) async fn login(d: &Deployment) -> anyhow::Result<Client> {
        let token = crate::lifecycle::admin_token(d).await?;
        Ok(Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()?,
            deployment: d.clone(),
            api: format!("{}/api/v1", d.public_url),
            token: Mutex::new((token, Instant::now())),
        })
    }

    async fn token(&self) -> anyhow::Result<String> {
        let mut t = self.token.lock().await;
        if t.1.elapsed() > TOKEN_AGE {
            *t = (
                crate::lifecycle::admin_token(&self.deployment).await?,
                Instant::now(),
            );
        }
        Ok(t.0.clone())
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.api))
            .bearer_auth(self.token().await?);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        if !status.is_success() {
            let shown: String = text.chars().take(2000).collect();
            bail!("{method} {path} answered {status}: {shown}");
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).with_context(|| format!("{method} {path}: not JSON"))
    }

    pub(crate) async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(reqwest::Method::GET, path, None, &[]).await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body), &[])
            .await
    }

    pub(crate) async fn post_with(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body), headers)
            .await
    }

    /// A PATCH; `headers` carry its `If-Match`.
    pub(crate) async fn patch(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Value> {
        self.send(reqwest::Method::PATCH, path, Some(body), headers)
            .await
    }

    /// A POST with an `Idempotency-Key` in `headers`, asked again while the answer is 503
    /// (a saga still finishing) or 409 (the same key still in flight).
    pub(crate) async fn post_retrying(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Value> {
        let mut wait = Duration::from_millis(100);
        for _ in 0..40 {
            match self.post_with(path, body, headers).await {
                Err(e) if retryable(&e.to_string()) => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
                other => return other,
            }
        }
        self.post_with(path, body, headers).await
    }

    /// `POST /{resource}/batch`, all or none: the records in request order.
    pub(crate) async fn batch(
        &self,
        resource: &str,
        mode: &str,
        items: Vec<Value>,
    ) -> anyhow::Result<Vec<Value>> {
        let n = items.len();
        let body = json!({"mode": mode, "items": items, "all_or_none": true});
        let r = self.post(&format!("/{resource}/batch"), &body).await?;
        let results = r["results"]
            .as_array()
            .with_context(|| format!("a batch of {resource} answered without results: {r}"))?;
        if results.len() != n || r["committed"] != json!(true) {
            bail!("a batch of {n} {resource} was not committed: {r}");
        }
        Ok(results.iter().map(|x| x["data"].clone()).collect())
    }

    /// `total` of `GET /{resource}?count=true`.
    pub(crate) async fn count(&self, resource: &str) -> anyhow::Result<u64> {
        let r = self.get(&format!("/{resource}?count=true&limit=1")).await?;
        r["total"]
            .as_u64()
            .with_context(|| format!("no total in the count of {resource}: {r}"))
    }
}

/// A saga still finishing (503) or the same key still in flight (409).
fn retryable(error: &str) -> bool {
    error.contains(" answered 503") || error.contains("idempotency-key-in-flight")
}

/// The `id` of a record in a response.
pub(crate) fn id_of(v: &Value) -> anyhow::Result<uuid::Uuid> {
    let s = v["id"].as_str().with_context(|| format!("no id in {v}"))?;
    Ok(s.parse()?)
}
