//! Extractors whose failures answer in the API's problem+json format.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crm_core::{Actor, Error, FieldError};

use crate::error::ApiError;

/// JSON body: malformed JSON → 400 `malformed-request`; wrong types, missing or unknown
/// fields → 422 `validation` naming the field path; not JSON → 415; too large → 413.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawJson(bytes) = RawJson::from_request(req, state).await?;
        parse_json(&bytes).map(Json).map_err(ApiError)
    }
}

/// A JSON body not parsed yet: lets a handler check permissions before it judges the body.
pub struct RawJson(pub Bytes);

impl RawJson {
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        parse_json(&self.0)
    }
}

impl<S: Send + Sync> FromRequest<S> for RawJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|m| m == "application/json" || m.ends_with("+json"));
        if !is_json {
            return Err(ApiError(Error::UnsupportedMediaType(
                "send the body as Content-Type: application/json".into(),
            )));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError(Error::PayloadTooLarge {
                    limit: crate::server::BODY_LIMIT,
                })
            } else {
                ApiError(Error::bad_request("body", rejection.body_text()))
            }
        })?;
        Ok(RawJson(bytes))
    }
}

/// Parses a body strictly: exactly one JSON value (whitespace around it is fine, anything
/// else after it is a 400), no text PostgreSQL cannot store (a NUL is a 400 naming the
/// field), and the field path of the first type error (422). A number with a zero fraction
/// (`84.0`) is the integer it equals, as JSON Schema's `integer` says.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        Error::bad_request(
            "body",
            format!("malformed JSON (a body is exactly one JSON value): {e}"),
        )
    })?;
    crate::storable::check_value(&value)?;
    integral_floats(&mut value);
    from_value("", value)
}

/// Turns every float with a zero fraction that fits an `i64` into that integer.
fn integral_floats(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && (-9.2e18..9.2e18).contains(&f)
            {
                *v = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats),
        Value::Object(map) => map.values_mut().for_each(integral_floats),
        _ => {}
    }
}

/// Deserialises a JSON value (e.g. one batch item); field paths are prefixed with `prefix`.
pub fn from_value<T: DeserializeOwned>(prefix: &str, v: serde_json::Value) -> Result<T, Error> {
    let result: Result<T, _> = serde_path_to_error::deserialize(v);
    result.map_err(|e| {
        let path = e.path().to_string();
        field_error(prefix, &path, &e.into_inner().to_string())
    })
}

fn field_error(prefix: &str, path: &str, msg: &str) -> Error {
    // serde reports a missing field at its parent's path and names it only in the message
    // ("missing field `reason`"); the client wants the field itself named.
    let named = msg
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let path = match (path, named) {
        (".", Some(f)) => f.to_owned(),
        (p, Some(f)) => format!("{p}.{f}"),
        (p, None) => p.to_owned(),
    };
    let field = match (prefix, path.as_str()) {
        ("", ".") => "body".to_owned(),
        (p, ".") => p.to_owned(),
        ("", path) => path.to_owned(),
        (p, path) => format!("{p}.{path}"),
    };
    Error::Validation(vec![FieldError::new(field, strip_position(msg))])
}

/// serde_json appends " at line 1 column 42" to messages; the field path says more.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        crate::respond::json(http::StatusCode::OK, &self.0)
    }
}

/// Query string: unknown parameters and bad values answer 400 naming them.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(q).map(Query).map_err(|e| {
            let msg = e.to_string();
            // serde names the parameter between backticks: "unknown field `foo`, expected ..."
            let field = msg.split('`').nth(1).unwrap_or("query").to_owned();
            ApiError(Error::bad_request(field, msg))
        })
    }
}

/// The `{id}` path segment as a UUID; anything else is a 400 naming `id`.
pub struct PathId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw): axum::extract::Path<String> =
            axum::extract::Path::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError(Error::bad_request("id", e.body_text())))?;
        Uuid::parse_str(&raw).map(PathId).map_err(|_| {
            ApiError(Error::bad_request(
                "id",
                format!("'{raw}' is not a valid id"),
            ))
        })
    }
}

/// `If-Match: "<version>"`, required: missing → 428, unparsable → 400.
pub struct IfMatch(pub i64);

/// `If-Match` when present (DELETE accepts both).
pub struct MaybeIfMatch(pub Option<i64>);

/// Exactly what the document's `If-Match` pattern says: a version of 1 to 18 digits, bare
/// or quoted, optionally weak (`3`, `"3"`, `W/"3"`).
fn parse_if_match(v: &HeaderValue) -> Result<i64, ApiError> {
    let raw = v.to_str().unwrap_or("").trim();
    let s = raw.strip_prefix("W/").unwrap_or(raw);
    let s = s.strip_prefix('"').unwrap_or(s);
    let s = s.strip_suffix('"').unwrap_or(s);
    if (1..=18).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = s.parse::<i64>()
    {
        return Ok(n);
    }
    Err(ApiError(Error::bad_request(
        "If-Match",
        format!("'{raw}' is not a version; send the record's ETag, e.g. \"3\""),
    )))
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get(header::IF_MATCH) {
            Some(v) => parse_if_match(v).map(IfMatch),
            None => Err(ApiError(Error::PreconditionRequired(
                "updates need If-Match with the record's current version (its ETag)".into(),
            ))),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MaybeIfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get(header::IF_MATCH)
            .map(parse_if_match)
            .transpose()
            .map(MaybeIfMatch)
    }
}

/// The authenticated caller, put into the request by [`crate::auth::authenticate`].
/// Missing credentials answer 401.
#[derive(Clone, Debug)]
pub struct Caller(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Actor>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| {
                ApiError(Error::Unauthorized(
                    "missing credentials: send Authorization: Bearer <token or API key>".into(),
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        reason: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: i64,
    }

    fn field(json: &str) -> String {
        match parse_json::<Body>(json.as_bytes()) {
            Err(Error::Validation(e)) => e[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn missing_unknown_and_mistyped_fields_are_named_by_path() {
        assert_eq!(field("{}"), "reason");
        assert_eq!(field(r#"{"reason": "x", "colour": 1}"#), "colour");
        assert_eq!(field(r#"{"reason": 1}"#), "reason");
        assert_eq!(field(r#"{"reason": "x", "inner": {}}"#), "inner.n");
        assert_eq!(field(r#"{"reason": "x", "inner": {"n": "1"}}"#), "inner.n");
        assert!(matches!(
            parse_json::<Body>(b"{"),
            Err(Error::BadRequest { .. })
        ));
    }
}
