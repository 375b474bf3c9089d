//! A webhook receiver in the test process: a real HTTP server on 127.0.0.1 (the servers
//! under test run on this machine) that records every request and answers as scripted.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// One request as received.
#[derive(Clone, Debug)]
pub(super) struct Hit {
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    pub(super) answered: u16,
}

impl Hit {
    pub(super) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub(super) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }

    /// Whether `X-Crm-Signature` is `hex(HMAC-SHA256(secret, "{X-Crm-Timestamp}.{body}"))`.
    pub(super) fn signed_with(&self, secret: &str) -> bool {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(self.header("x-crm-timestamp").as_bytes());
        mac.update(b".");
        mac.update(&self.body);
        hex::encode(mac.finalize().into_bytes()) == self.header("x-crm-signature")
    }
}

#[derive(Default)]
struct Inner {
    /// Statuses for the next requests, in order; 204 once they run out.
    script: VecDeque<u16>,
    hits: Vec<Hit>,
}

/// A running receiver; stops serving when dropped.
pub(super) struct Receiver {
    /// The URL to subscribe.
    pub(super) url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Answers `script` to the first requests in turn, then 204 to every other.
    pub(super) async fn start(script: &[u16]) -> anyhow::Result<Receiver> {
        let inner = Arc::new(Mutex::new(Inner {
            script: script.iter().copied().collect(),
            hits: Vec::new(),
        }));
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Receiver {
            url: format!("http://{addr}/hook"),
            inner,
            task,
        })
    }

    /// Every request so far, oldest first.
    pub(super) fn hits(&self) -> Vec<Hit> {
        self.inner
            .lock()
            .map(|i| i.hits.clone())
            .unwrap_or_default()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let Ok(mut inner) = inner.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    let answered = inner.script.pop_front().unwrap_or(204);
    inner.hits.push(Hit {
        headers,
        body,
        answered,
    });
    StatusCode::from_u16(answered).unwrap_or(StatusCode::NO_CONTENT)
}
