//! The domain's one error type and its RFC 9457 `application/problem+json` form.
//!
//! Every variant documents the status it answers with. Internal errors keep their cause for
//! the log and show the client nothing but a request to retry.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One invalid input field: `field` is a path such as `emails[1]` or `opportunity.amount`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the request is malformed (JSON syntax, query string, filter syntax, unknown fields).
    #[error("{detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// 422: well-formed input that breaks a rule; every offending field is named.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 422 `unknown-reference`: well-formed ids that name no live record of the tenant
    /// (an `owner_id`, `company_id`, activity link, ...); every such field is named. Apart
    /// from `validation` because it depends on the data, not on the request's shape.
    #[error("unknown references")]
    UnknownReference(Vec<FieldError>),
    /// 422 `inconsistent`: fields valid one by one but not together, or not with the record's
    /// current data or the clock (a meeting that ends before it starts, a lead assigned to
    /// no one, an expiry in the past); every such field is named. Apart from `validation`
    /// because no request schema can state these rules.
    #[error("inconsistent fields")]
    Inconsistent(Vec<FieldError>),
    /// 401: no credentials, or credentials that are expired, tampered with or revoked.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: authenticated, but the role does not allow the operation.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such record in the caller's tenant (a foreign tenant's record looks the same).
    #[error("{0} not found")]
    NotFound(String),
    /// 409: the request conflicts with current state (duplicate key, invalid transition, ...).
    /// `code` becomes the problem type; `extra` is merged into the problem body.
    #[error("{detail}")]
    Conflict {
        code: &'static str,
        detail: String,
        extra: Option<Map<String, Value>>,
    },
    /// 412: `If-Match` named a version that is no longer current.
    #[error("version {expected} is stale; current version is {current}")]
    PreconditionFailed { expected: i64, current: i64 },
    /// 428: a conditional request was required (PATCH without `If-Match`).
    #[error("{0}")]
    PreconditionRequired(String),
    /// 413: the body is larger than the limit.
    #[error("request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 415: the body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422 with its own problem type: e.g. an idempotency key reused with another body.
    #[error("{detail}")]
    Unprocessable { code: &'static str, detail: String },
    /// 429: over the rate limit; retry after the given number of seconds.
    #[error("rate limit exceeded")]
    RateLimited { retry_after_secs: u64 },
    /// 503: a dependency (database, another service) is unavailable.
    #[error("{0}")]
    Unavailable(String),
    /// 504: a dependency did not answer in time.
    #[error("{0}")]
    Timeout(String),
    /// A problem answered by another service, passed on with its own status and body.
    #[error("{}", .0.detail.as_deref().unwrap_or("remote error"))]
    Remote(Box<Problem>),
    /// 500: anything unexpected. The cause is logged, never shown.
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        let e = FieldError::new(field, message);
        Error::BadRequest {
            detail: format!("{}: {}", e.field, e.message),
            errors: vec![e],
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, message)])
    }

    pub fn inconsistent(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Inconsistent(vec![FieldError::new(field, message)])
    }

    pub fn not_found(object: impl Into<String>) -> Self {
        Error::NotFound(object.into())
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            detail: detail.into(),
            extra: None,
        }
    }

    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Internal(e.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Error::Validation(_)
            | Error::UnknownReference(_)
            | Error::Inconsistent(_)
            | Error::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Error::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            Error::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::Remote(p) => StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_GATEWAY),
        }
    }

    /// The stable problem code, also the last segment of the problem `type`.
    pub fn code(&self) -> &str {
        match self {
            Error::BadRequest { .. } => "malformed-request",
            Error::Validation(_) => "validation",
            Error::UnknownReference(_) => "unknown-reference",
            Error::Inconsistent(_) => "inconsistent",
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not-found",
            Error::Conflict { code, .. } | Error::Unprocessable { code, .. } => code,
            Error::PreconditionFailed { .. } => "precondition-failed",
            Error::PreconditionRequired(_) => "precondition-required",
            Error::PayloadTooLarge { .. } => "payload-too-large",
            Error::UnsupportedMediaType(_) => "unsupported-media-type",
            Error::RateLimited { .. } => "rate-limited",
            Error::Unavailable(_) => "unavailable",
            Error::Timeout(_) => "timeout",
            Error::Internal(_) => "internal",
            Error::Remote(p) => p.code(),
        }
    }

    /// The RFC 9457 body. Internal causes are replaced by a generic sentence.
    pub fn problem(&self) -> Problem {
        if let Error::Remote(p) = self {
            return (**p).clone();
        }
        let status = self.status();
        let detail = match self {
            Error::Internal(_) => "an unexpected error occurred; it has been logged".to_owned(),
            Error::Validation(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                format!("invalid fields: {}", fields.join(", "))
            }
            Error::Inconsistent(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                format!("these fields do not fit together: {}", fields.join(", "))
            }
            Error::UnknownReference(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                format!(
                    "these fields name no live record of this tenant: {}",
                    fields.join(", ")
                )
            }
            other => other.to_string(),
        };
        let mut problem = Problem::new(self.code(), status.as_u16(), detail);
        match self {
            Error::Validation(errors)
            | Error::UnknownReference(errors)
            | Error::Inconsistent(errors)
            | Error::BadRequest { errors, .. } => {
                problem.errors = errors.clone();
            }
            Error::Conflict {
                extra: Some(extra), ..
            } => problem.extra = extra.clone(),
            Error::PreconditionFailed { current, .. } => {
                problem
                    .extra
                    .insert("current_version".into(), Value::from(*current));
            }
            _ => {}
        }
        problem
    }
}

/// Postgres error helpers: map constraint violations to client errors by constraint name.
impl Error {
    /// The violated constraint's name, when `e` is a constraint violation.
    pub fn constraint(e: &sqlx::Error) -> Option<&str> {
        match e {
            sqlx::Error::Database(db) => db.constraint(),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for Error {
    /// Pool and connection failures are 503s; database errors get the answer of
    /// [`crate::sqlstate`]'s catalogue (a client error wherever the client caused it);
    /// anything else is a 500 whose cause is logged.
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut => {
                Error::Unavailable("the database is overloaded; retry shortly".into())
            }
            sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                Error::Unavailable("the database is unavailable".into())
            }
            sqlx::Error::Database(db) => crate::sqlstate::answer_db(db.as_ref(), "request")
                .unwrap_or_else(|| Error::Internal(Box::new(e))),
            _ => Error::Internal(Box::new(e)),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(Box::new(e))
    }
}

/// An RFC 9457 problem document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Problem {
    pub const CONTENT_TYPE: &'static str = "application/problem+json";

    pub fn new(code: &str, status: u16, detail: impl Into<String>) -> Self {
        let title = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error")
            .to_owned();
        Problem {
            kind: format!("/problems/{code}"),
            title,
            status,
            detail: Some(detail.into()),
            errors: Vec::new(),
            extra: Map::new(),
        }
    }

    /// The code, i.e. the last segment of `type`.
    pub fn code(&self) -> &str {
        self.kind.rsplit('/').next().unwrap_or(&self.kind)
    }
}
