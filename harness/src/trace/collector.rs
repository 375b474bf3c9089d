//! The OTLP/HTTP receiver a scenario run listens with on 127.0.0.1 (`POST /v1/traces`,
//! protobuf or JSON). It keeps every span until the harness takes them; a request it cannot
//! decode gets a 400 naming what was wrong and is counted, and the receiver goes on.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::decode::{Encoding, decode};
use super::span::SpanRecord;

/// Largest export request accepted (the CRM sends batches of up to 4096 spans).
const BODY_LIMIT: usize = 64 << 20;

#[derive(Default)]
struct Inner {
    spans: Mutex<Vec<SpanRecord>>,
    rejected: AtomicU64,
    received: AtomicU64,
}

/// A running receiver; stops when dropped.
pub struct Collector {
    addr: SocketAddr,
    inner: Arc<Inner>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Collector {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> anyhow::Result<Collector> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/v1/traces", post(receive))
            .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(inner.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "the OTLP receiver stopped");
            }
        });
        Ok(Collector {
            addr,
            inner,
            stop: Some(tx),
        })
    }

    /// The base URL to give as `CRM_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Takes every span received so far.
    pub fn take(&self) -> Vec<SpanRecord> {
        std::mem::take(&mut *self.inner.spans.lock().expect("spans lock"))
    }

    /// Export requests refused so far.
    pub fn rejected(&self) -> u64 {
        self.inner.rejected.load(Ordering::Relaxed)
    }

    /// Spans received so far (taken or not).
    pub fn received(&self) -> u64 {
        self.inner.received.load(Ordering::Relaxed)
    }

    /// Waits until no span has arrived for `quiet` (the exporters have flushed), at most
    /// `limit`.
    pub async fn settle(&self, quiet: std::time::Duration, limit: std::time::Duration) {
        let until = tokio::time::Instant::now() + limit;
        let mut last = self.received();
        loop {
            tokio::time::sleep(quiet).await;
            let now = self.received();
            if now == last || tokio::time::Instant::now() >= until {
                return;
            }
            last = now;
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let decoded = Encoding::of(ct).and_then(|enc| decode(enc, &body).map(|s| (enc, s)));
    match decoded {
        Ok((enc, spans)) => {
            inner
                .received
                .fetch_add(spans.len() as u64, Ordering::Relaxed);
            inner.spans.lock().expect("spans lock").extend(spans);
            // An empty ExportTraceServiceResponse: no bytes in protobuf, `{}` in JSON.
            match enc {
                Encoding::Protobuf => (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/x-protobuf")],
                    Vec::new(),
                )
                    .into_response(),
                Encoding::Json => (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    b"{}".to_vec(),
                )
                    .into_response(),
            }
        }
        Err(why) => {
            inner.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%why, "refused an OTLP export");
            (StatusCode::BAD_REQUEST, format!("bad OTLP export: {why}\n")).into_response()
        }
    }
}
