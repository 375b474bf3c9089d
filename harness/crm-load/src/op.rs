//! What the caller supplies: a [`Workload`] that turns each arrival into an [`Op`] (one HTTP
//! request, named for its histogram) and learns from each [`Outcome`].

use std::borrow::Cow;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName};
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::LoadError;
use crate::errors::ErrorClass;

/// An operation's name: the key of its histograms and counts (`"list_leads"`).
pub type OpName = Cow<'static, str>;

/// The random number generator handed to [`Workload::next`]: one per worker, seeded from
/// the run's seed and the worker's index, so a run's operation mix is reproducible.
pub type WorkloadRng = rand_chacha::ChaCha8Rng;

/// One request to send.
#[derive(Clone, Debug)]
pub struct Op {
    /// Histogram key; use a `&'static str` so naming costs no allocation.
    pub name: OpName,
    /// HTTP method.
    pub method: Method,
    /// Path and query, origin form (`/api/v1/leads?limit=20`).
    pub path: PathAndQuery,
    /// Extra headers (`Host` is added by the engine).
    pub headers: HeaderMap,
    /// Request body; empty for none.
    pub body: Bytes,
}

impl Op {
    /// An operation with no headers and no body. `path` must start with `/`.
    pub fn new(name: impl Into<OpName>, method: Method, path: &str) -> Result<Self, LoadError> {
        if !path.starts_with('/') {
            return Err(LoadError::Op(format!("path {path:?} must start with /")));
        }
        let path = PathAndQuery::try_from(path)
            .map_err(|e| LoadError::Op(format!("path {path:?}: {e}")))?;
        Ok(Self {
            name: name.into(),
            method,
            path,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        })
    }

    /// A GET.
    pub fn get(name: impl Into<OpName>, path: &str) -> Result<Self, LoadError> {
        Self::new(name, Method::GET, path)
    }

    /// A POST of a JSON body (sets `content-type: application/json`).
    pub fn post_json(
        name: impl Into<OpName>,
        path: &str,
        json: impl Into<Bytes>,
    ) -> Result<Self, LoadError> {
        Ok(Self::new(name, Method::POST, path)?
            .with_header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .with_body(json))
    }

    /// Adds (or replaces) a header.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
}

/// A response that arrived whole (any status).
#[derive(Clone, Debug)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

/// How one operation ended, with its timestamps.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The arrival's index in the schedule (the `seq` given to [`Workload::next`]).
    pub seq: u64,
    /// The response, or why there was none (`Connect`, `Timeout` or `Io`).
    pub result: Result<Response, ErrorClass>,
    /// When the schedule meant the request to be sent (equal to `sent` in closed loop).
    pub intended: Instant,
    /// When it was actually handed to the connection.
    pub sent: Instant,
    /// When the whole response had arrived, or the failure was seen.
    pub done: Instant,
}

impl Outcome {
    /// The error class, if the operation failed (no response, 4xx or 5xx).
    pub fn error(&self) -> Option<ErrorClass> {
        match &self.result {
            Ok(r) => ErrorClass::of_status(r.status),
            Err(class) => Some(*class),
        }
    }

    /// True for a 1xx–3xx response.
    pub fn is_success(&self) -> bool {
        self.error().is_none()
    }

    /// The response status, if one arrived.
    pub fn status(&self) -> Option<StatusCode> {
        self.result.as_ref().ok().map(|r| r.status)
    }

    /// The response body, if one arrived.
    pub fn body(&self) -> Option<&Bytes> {
        self.result.as_ref().ok().map(|r| &r.body)
    }

    /// Latency from the intended send time (free of coordinated omission).
    pub fn corrected(&self) -> Duration {
        self.done.saturating_duration_since(self.intended)
    }

    /// Latency from the actual send time (what a closed-loop tool reports).
    pub fn uncorrected(&self) -> Duration {
        self.done.saturating_duration_since(self.sent)
    }
}

/// The caller's side of a load run: which request to send next, and what to learn from each
/// answer. Shared by every worker thread, hence `Send + Sync`; use interior mutability (an
/// atomic, a `Mutex<Vec<Id>>`) for what [`on_response`](Self::on_response) learns.
///
/// `next` is called once per arrival, in schedule order within a worker, just before the
/// request is sent; keep it cheap (it is on the engine's hot path).
pub trait Workload: Send + Sync + 'static {
    /// The operation for arrival `seq`.
    fn next(&self, seq: u64, rng: &mut WorkloadRng) -> Op;

    /// Called with every outcome, warm-up included, before it is recorded. Learn ids from
    /// `outcome.body()` here (a created lead, to convert later) or note acknowledged writes.
    fn on_response(&self, op: &Op, outcome: &Outcome) {
        let _ = (op, outcome);
    }
}

/// Any `Fn(seq, rng) -> Op` is a workload that learns nothing from responses.
impl<F> Workload for F
where
    F: Fn(u64, &mut WorkloadRng) -> Op + Send + Sync + 'static,
{
    fn next(&self, seq: u64, rng: &mut WorkloadRng) -> Op {
        self(seq, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_need_an_origin_form_path() {
        assert!(Op::get("x", "/a?b=c").is_ok());
        assert!(Op::get("x", "a").is_err());
        assert!(Op::get("x", "/a b").is_err());
        let op = Op::post_json("create", "/leads", "{}").unwrap();
        assert_eq!(op.method, Method::POST);
        assert_eq!(op.headers[CONTENT_TYPE], "application/json");
        assert_eq!(op.body, "{}");
    }
}
