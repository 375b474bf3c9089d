//! Serving one context's routes for its tests: the real edge stack (auth, idempotency,
//! metrics, limits, problem responses), a real socket, tokens for any actor.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use ed25519_dalek::SigningKey;
pub use reqwest::{Method, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use crm_core::{Actor, Role};
use crm_http::auth::{Authenticator, StaticKeys};
use crm_http::jwt::{Claims, Signer};
use crm_http::metrics::Metrics;
use crm_http::server::{self, Edge};

/// A running test server.
pub struct TestServer {
    pub base: String,
    signer: Signer,
    client: reqwest::Client,
}

impl TestServer {
    /// Serves `routes` (paths relative to `/api/v1`) with idempotency keys stored in `pool`.
    pub async fn start(routes: Router, pool: sqlx::PgPool) -> TestServer {
        let signer = Signer::new("test", SigningKey::generate(&mut rand::rngs::OsRng));
        let keys = StaticKeys(HashMap::from([(
            signer.kid.clone(),
            signer.jwk().verifying_key().expect("key"),
        )]));
        let edge = Edge {
            auth: Authenticator::new(Arc::new(keys), None),
            metrics: Metrics::new(),
            limiter: None,
            idempotency: Some(pool),
            timeout: Duration::from_secs(30),
        };
        let app = server::fallbacks(server::with_edge(
            Router::new().nest(crm_http::API, routes),
            &edge,
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestServer {
            base: format!("http://{addr}{}", crm_http::API),
            signer,
            client: reqwest::Client::new(),
        }
    }

    /// An access token for `actor`.
    pub fn token(&self, actor: &Actor) -> String {
        self.signer.sign(&Claims::new(actor, 900))
    }

    /// A client acting as a new user with `role` in a new tenant.
    pub fn new_tenant(&self, role: Role) -> Client {
        self.as_actor(Actor::new(Uuid::now_v7(), Uuid::now_v7(), role))
    }

    /// A client acting as `actor`.
    pub fn as_actor(&self, actor: Actor) -> Client {
        Client {
            base: self.base.clone(),
            token: Some(self.token(&actor)),
            actor,
            http: self.client.clone(),
        }
    }
}

/// A JSON client bound to one actor.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub token: Option<String>,
    pub actor: Actor,
    http: reqwest::Client,
}

/// A response: status, headers, and the body as JSON (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The problem code (last segment of `type`), for error replies.
    pub fn problem(&self) -> &str {
        self.body["type"]
            .as_str()
            .and_then(|t| t.rsplit('/').next())
            .unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, returning the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }
}

impl Client {
    /// A client for `base` (ending in `/api/v1`) acting as `actor` with `token`.
    pub fn new(base: impl Into<String>, token: Option<String>, actor: Actor) -> Client {
        Client {
            base: base.into(),
            token,
            actor,
            http: reqwest::Client::new(),
        }
    }

    /// The same client without credentials.
    pub fn anonymous(&self) -> Client {
        Client {
            token: None,
            ..self.clone()
        }
    }

    /// The same client with another bearer token.
    pub fn with_token(&self, token: &str) -> Client {
        Client {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    /// Sends raw bytes with a content type (for malformed-body checks).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body read");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// The same actor's tenant with another user and role.
    pub fn with_role(&self, server: &TestServer, role: Role) -> Client {
        server.as_actor(Actor::new(self.actor.tenant_id, Uuid::now_v7(), role))
    }

    /// Sends a request; `path` is relative to `/api/v1`; extra headers as pairs.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body read");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    /// PATCH with `If-Match: "<version>"`.
    pub async fn patch(&self, path: &str, version: i64, body: &Value) -> Reply {
        let v = format!("\"{version}\"");
        self.send(Method::PATCH, path, Some(body), &[("if-match", &v)])
            .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None, &[]).await
    }
}
