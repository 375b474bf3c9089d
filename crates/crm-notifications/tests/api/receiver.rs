//! A real HTTP receiver on 127.0.0.1 that checks signatures with `verify_signature` and
//! fails, hangs or succeeds as a test asks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;

use crm_notifications::verify_signature;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Behaviour {
    Succeed,
    /// Answers 500 to the first n requests.
    FailFirst(usize),
    /// Answers 503 to every request.
    AlwaysFail,
    /// Never answers the first n requests (as if the receiver hung).
    HangFirst(usize),
}

/// One request as received.
#[derive(Clone, Debug)]
pub(crate) struct Hit {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
    pub(crate) signature_ok: bool,
    pub(crate) answered: u16,
}

impl Hit {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

struct Inner {
    behaviour: Behaviour,
    secret: Mutex<String>,
    count: AtomicUsize,
    hits: Mutex<Vec<Hit>>,
}

pub(crate) struct Receiver {
    /// The URL to subscribe.
    pub(crate) url: String,
    inner: Arc<Inner>,
}

impl Receiver {
    pub(crate) async fn start(behaviour: Behaviour, secret: &str) -> Receiver {
        let inner = Arc::new(Inner {
            behaviour,
            secret: Mutex::new(secret.to_owned()),
            count: AtomicUsize::new(0),
            hits: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            inner,
        }
    }

    /// The secret signatures are checked with from now on.
    pub(crate) fn set_secret(&self, secret: &str) {
        *self.inner.secret.lock().unwrap() = secret.to_owned();
    }

    pub(crate) fn hits(&self) -> Vec<Hit> {
        self.inner.hits.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived; panics after 15 s.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Hit> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let hits = self.hits();
            if hits.len() >= n {
                return hits;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} requests arrived",
                hits.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let n = inner.count.fetch_add(1, Ordering::SeqCst);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let secret = inner.secret.lock().unwrap().clone();
    let signature_ok = verify_signature(
        &secret,
        header("x-crm-timestamp"),
        &body,
        &header("x-crm-signature"),
    );
    let (status, hang) = match inner.behaviour {
        Behaviour::Succeed => (StatusCode::NO_CONTENT, false),
        Behaviour::FailFirst(k) if n < k => (StatusCode::INTERNAL_SERVER_ERROR, false),
        Behaviour::FailFirst(_) => (StatusCode::NO_CONTENT, false),
        Behaviour::AlwaysFail => (StatusCode::SERVICE_UNAVAILABLE, false),
        Behaviour::HangFirst(k) => (StatusCode::NO_CONTENT, n < k),
    };
    inner.hits.lock().unwrap().push(Hit {
        headers: headers.clone(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        signature_ok,
        answered: status.as_u16(),
    });
    if hang {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    status
}
