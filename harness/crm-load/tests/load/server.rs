//! A real HTTP/1.1 test server (hyper) for the engine's tests and the cross-check: it counts
//! every request it answers with atomics, and can stall, fail, rate-limit or hang up.
//!
//! Routes: `GET /ok` (200 "ok"; stalled during a stall window), `POST /echo` (200, the body
//! back), `GET /status/{code}`, `GET /close` (hangs up without answering), `GET /sleep/{ms}`,
//! `GET /chunked` ("hello, world" in three chunks).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::Frame;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the server counted, per route.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) ok: AtomicU64,
    pub(crate) echo: AtomicU64,
    pub(crate) status: AtomicU64,
    pub(crate) close: AtomicU64,
    pub(crate) sleep: AtomicU64,
    pub(crate) total: AtomicU64,
    /// TCP connections accepted.
    pub(crate) connections: AtomicU64,
    /// Requests carrying a `traceparent`, and those whose sampled flag is set.
    pub(crate) traceparents: AtomicU64,
    pub(crate) sampled: AtomicU64,
}

impl Counts {
    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::SeqCst)
    }
}

#[derive(Debug, Default)]
struct State {
    counts: Counts,
    /// `/ok` requests arriving in [from, until) are held for `delay` first.
    stall: Mutex<Option<(Instant, Instant, Duration)>>,
    /// The tasks serving accepted connections, so that killing the server closes them too.
    conns: Mutex<Vec<tokio::task::AbortHandle>>,
}

/// A running server; aborted on drop.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

impl TestServer {
    /// Starts on 127.0.0.1 port 0 (or `port`).
    pub(crate) async fn start_on(port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        let accept = tokio::spawn(serve(listener, state.clone()));
        Ok(Self {
            addr,
            state,
            accept,
        })
    }

    pub(crate) async fn start() -> Self {
        Self::start_on(0).await.expect("bind 127.0.0.1:0")
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn counts(&self) -> &Counts {
        &self.state.counts
    }

    /// Holds every `/ok` request arriving in [from, from + length) for `delay`.
    pub(crate) fn stall(&self, from: Instant, length: Duration, delay: Duration) {
        *self.state.stall.lock().unwrap() = Some((from, from + length, delay));
    }
}

impl TestServer {
    /// Dies as a killed process would: stops listening and drops every open connection.
    pub(crate) fn kill(&self) {
        self.accept.abort();
        for c in self.state.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn serve(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        state.counts.connections.fetch_add(1, Ordering::SeqCst);
        let task_state = state.clone();
        let task = tokio::spawn(async move {
            let service = service_fn(move |req| handle(task_state.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        state.conns.lock().unwrap().push(task.abort_handle());
    }
}

/// Returned by the service to make hyper drop the connection without a response.
#[derive(Debug)]
struct HangUp;

impl std::fmt::Display for HangUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("hang up")
    }
}

impl std::error::Error for HangUp {}

type Body = BoxBody<Bytes, Infallible>;

fn reply(status: StatusCode, body: Bytes) -> Result<Response<Body>, HangUp> {
    let mut r = Response::new(Full::new(body).boxed());
    *r.status_mut() = status;
    Ok(r)
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, HangUp> {
    let counts = &state.counts;
    counts.total.fetch_add(1, Ordering::SeqCst);
    if let Some(tp) = req.headers().get("traceparent") {
        counts.traceparents.fetch_add(1, Ordering::SeqCst);
        if tp.as_bytes().ends_with(b"-01") {
            counts.sampled.fetch_add(1, Ordering::SeqCst);
        }
    }
    let path = req.uri().path().to_owned();
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    match (parts.next().unwrap_or(""), parts.next()) {
        ("ok", None) => {
            counts.ok.fetch_add(1, Ordering::SeqCst);
            let stall = *state.stall.lock().unwrap();
            if let Some((from, until, delay)) = stall {
                let now = Instant::now();
                if now >= from && now < until {
                    tokio::time::sleep(delay).await;
                }
            }
            reply(StatusCode::OK, Bytes::from_static(b"ok"))
        }
        ("echo", None) => {
            counts.echo.fetch_add(1, Ordering::SeqCst);
            let body = req
                .into_body()
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            reply(StatusCode::OK, body)
        }
        ("status", Some(code)) => {
            counts.status.fetch_add(1, Ordering::SeqCst);
            let status = code
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or(StatusCode::BAD_REQUEST);
            reply(status, Bytes::new())
        }
        ("close", None) => {
            counts.close.fetch_add(1, Ordering::SeqCst);
            Err(HangUp)
        }
        ("sleep", Some(ms)) => {
            counts.sleep.fetch_add(1, Ordering::SeqCst);
            let ms = ms.parse::<u64>().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            reply(StatusCode::OK, Bytes::new())
        }
        ("chunked", None) => {
            // No length known up front, so hyper sends it chunked.
            let pieces = ["hel", "lo, ", "world"]
                .map(|p| Ok::<_, Infallible>(Frame::data(Bytes::from_static(p.as_bytes()))));
            let body = StreamBody::new(futures::stream::iter(pieces)).boxed();
            Ok(Response::new(body))
        }
        _ => reply(StatusCode::NOT_FOUND, Bytes::new()),
    }
}
