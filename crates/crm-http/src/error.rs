//! Every failure leaves as RFC 9457 `application/problem+json`.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

use crm_core::Error;

/// A domain error on its way to the client. Handlers return `ApiResult<T>` and use `?` on
/// `crm_core::Result`; 5xx causes are logged here with their chain and never sent.
#[derive(Debug)]
pub struct ApiError(pub Error);

pub type ApiResult<T> = Result<T, ApiError>;

impl<E: Into<Error>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem_response(&self.0)
    }
}

/// Builds the problem response for `e`, with `Retry-After` / `WWW-Authenticate` where due.
pub fn problem_response(e: &Error) -> Response {
    let status = e.status();
    if status.is_server_error() {
        let mut chain = String::new();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        tracing::error!(status = status.as_u16(), error = %e, cause = %chain, "request failed");
    }
    let body = serde_json::to_vec(&e.problem()).unwrap_or_default();
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crm_core::Problem::CONTENT_TYPE),
    );
    match e {
        Error::RateLimited { retry_after_secs } => {
            h.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        Error::Unauthorized(_) => {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"crm\""),
            );
        }
        Error::Unavailable(_) => {
            h.insert(header::RETRY_AFTER, HeaderValue::from(1));
        }
        _ => {}
    }
    res
}
