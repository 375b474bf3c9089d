//! One request to another service, and what its answer becomes.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crm_core::{Actor, Error, Problem, Result};

/// A request to send through [`super::ServiceClient::send`].
#[derive(Clone, Debug)]
pub struct Call<'a> {
    pub method: Method,
    /// Path and query, e.g. `/api/v1/companies/{id}`, appended to the replica's base URL.
    pub path: String,
    /// Sent as `Authorization: Bearer <token for actor>`; `None` sends no credentials.
    pub actor: Option<&'a Actor>,
    pub body: Option<Bytes>,
    pub headers: HeaderMap,
    /// Whether sending it twice is harmless, and so whether it may be retried.
    pub idempotent: bool,
}

impl<'a> Call<'a> {
    /// GET, HEAD and DELETE are idempotent; other methods are not until they carry an
    /// `Idempotency-Key` ([`Call::idempotency_key`]) or are declared so ([`Call::idempotent`]).
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        let idempotent = matches!(method, Method::GET | Method::HEAD | Method::DELETE);
        Call {
            method,
            path: path.into(),
            actor: None,
            body: None,
            headers: HeaderMap::new(),
            idempotent,
        }
    }

    pub fn actor(mut self, actor: &'a Actor) -> Self {
        self.actor = Some(actor);
        self
    }

    /// A JSON body.
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Result<Self> {
        self.body = Some(Bytes::from(serde_json::to_vec(body)?));
        self.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(self)
    }

    /// Any header; a value that is not a valid header value is a bug of ours (500).
    pub fn header(mut self, name: &'static str, value: &str) -> Result<Self> {
        let value = HeaderValue::from_str(value)
            .map_err(|_| Error::internal(format!("invalid value for header {name}")))?;
        self.headers.insert(HeaderName::from_static(name), value);
        Ok(self)
    }

    /// `Idempotency-Key: key`: the server answers a repeat with the stored response, which
    /// makes the write safe to retry.
    pub fn idempotency_key(mut self, key: Option<&str>) -> Result<Self> {
        if let Some(key) = key {
            self = self.header(crate::idempotency::HEADER, key)?;
            self.idempotent = true;
        }
        Ok(self)
    }

    /// `If-Match: "<version>"`.
    pub fn if_match(self, version: i64) -> Result<Self> {
        self.header("if-match", &format!("\"{version}\""))
    }

    /// Declares the call safe to repeat (a POST that only reads, or whose repeat changes
    /// nothing).
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }
}

/// An answer with a 2xx status.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as `T`; an unexpected body is a contract break between services (500).
    pub fn json<T: DeserializeOwned>(&self, service: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::internal(format!(
                "{service} answered {} with an unexpected body: {e}",
                self.status
            ))
        })
    }
}

/// The error an unsuccessful answer stands for. A problem document is passed on as it is
/// ([`Error::Remote`]); anything else is the service failing (5xx) or a contract break.
pub(crate) fn error_from(
    service: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Error {
    let is_problem = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(Problem::CONTENT_TYPE) || v.starts_with("application/json"));
    if is_problem
        && let Ok(problem) = serde_json::from_slice::<Problem>(body)
        && problem.status == status.as_u16()
    {
        return Error::Remote(Box::new(problem));
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    match status {
        StatusCode::GATEWAY_TIMEOUT => {
            Error::Timeout(format!("{service} answered {status}: {text}"))
        }
        s if s.is_server_error() => {
            Error::Unavailable(format!("{service} is unavailable: it answered {status}"))
        }
        _ => Error::internal(format!("{service} answered {status}: {text}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(ct: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        h
    }

    #[test]
    fn problems_pass_through_and_other_failures_are_classified() {
        let p = Error::invalid("name", "required").problem();
        let body = serde_json::to_vec(&p).unwrap();
        let e = error_from(
            "s",
            StatusCode::UNPROCESSABLE_ENTITY,
            &headers(Problem::CONTENT_TYPE),
            &body,
        );
        assert!(matches!(&e, Error::Remote(r) if **r == p));
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);

        let e = error_from(
            "s",
            StatusCode::BAD_GATEWAY,
            &headers("text/plain"),
            b"oops",
        );
        assert!(matches!(e, Error::Unavailable(_)));
        let e = error_from(
            "s",
            StatusCode::GATEWAY_TIMEOUT,
            &headers("text/plain"),
            b"",
        );
        assert!(matches!(e, Error::Timeout(_)));
        let e = error_from(
            "s",
            StatusCode::METHOD_NOT_ALLOWED,
            &headers("text/plain"),
            b"",
        );
        assert!(matches!(e, Error::Internal(_)));
    }
}
