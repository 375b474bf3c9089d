//! A proxy in front of the Docker engine's socket that lowers the API version in request paths
//! to the engine's maximum. testcontainers 0.28 speaks API 1.53 (its bollard's default) and
//! does not negotiate, which an engine 20.10 (API 1.41) refuses; through this proxy it works
//! against any engine. Plain request/response only (no connection upgrades: attach, exec).

use std::path::{Path, PathBuf};

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{UnixListener, UnixStream};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A running proxy; stops when dropped.
pub(crate) struct ApiVersionProxy {
    socket: PathBuf,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ApiVersionProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `/v1.53/containers/json?all=true` → `/v1.41/containers/json?all=true` when 1.53 > `max`.
pub(crate) fn lower_version(path_and_query: &str, max: (u32, u32)) -> String {
    let Some(rest) = path_and_query.strip_prefix("/v") else {
        return path_and_query.to_owned();
    };
    let (version, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let parsed = version
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
    match parsed {
        Some(v) if v > max => format!("/v{}.{}{tail}", max.0, max.1),
        _ => path_and_query.to_owned(),
    }
}

async fn forward(
    mut req: Request<Incoming>,
    engine: PathBuf,
    max: (u32, u32),
) -> Result<Response<Incoming>, BoxError> {
    let target = req
        .uri()
        .path_and_query()
        .map(|p| lower_version(p.as_str(), max))
        .unwrap_or_else(|| "/".to_owned());
    *req.uri_mut() = target.parse()?;
    let stream = UnixStream::connect(&engine).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender.send_request(req).await?)
}

impl ApiVersionProxy {
    /// Listens on a fresh unix socket, forwarding to the engine at `engine_socket`, whose
    /// API version is at most `max`.
    pub(crate) fn start(engine_socket: &Path, max: (u32, u32)) -> ApiVersionProxy {
        let dir = tempfile::Builder::new()
            .prefix("crm-bench-docker-proxy-")
            .tempdir()
            .expect("temp dir");
        let socket = dir.path().join("docker.sock");
        let listener = UnixListener::bind(&socket).expect("bind the proxy's socket");
        let engine = engine_socket.to_owned();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let engine = engine.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let engine = engine.clone();
                        forward(req, engine, max)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        ApiVersionProxy {
            socket,
            _dir: dir,
            task,
        }
    }

    /// The `DOCKER_HOST` value that reaches the engine through the proxy.
    pub(crate) fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }
}

#[test]
fn only_versions_above_the_engines_are_lowered() {
    assert_eq!(
        lower_version("/v1.53/containers/json?all=1", (1, 41)),
        "/v1.41/containers/json?all=1"
    );
    assert_eq!(lower_version("/v1.40/info", (1, 41)), "/v1.40/info");
    assert_eq!(lower_version("/_ping", (1, 41)), "/_ping");
}
