//! Text PostgreSQL cannot store, refused at the edge.
//!
//! PostgreSQL's `text` and `jsonb` cannot hold the NUL character (U+0000); a value carrying
//! one fails deep inside a statement (SQLSTATE 22021/22P05) where nobody knows which field
//! it came from. Every way text enters the API is checked here first, so the client learns
//! which field to fix:
//! - JSON bodies ([`check_value`], called by the one JSON extractor on the parsed body; a NUL
//!   can only arrive as the escape `\u0000`, a raw control byte being a JSON syntax error):
//!   the first string or key holding one is named by its path. [`check_json`] does the same
//!   for raw bytes, scanning for the escape before parsing.
//! - query strings ([`query`], a layer of the edge): every decoded parameter, key and value.
//! - headers cannot carry a NUL at all (HTTP forbids control bytes in them); headers that
//!   are not UTF-8 are refused by the extractors that read them.
//!
//! Lone UTF-16 surrogates (`\ud800`) are refused by the JSON parser itself, and percent-
//! encoded bytes that are not UTF-8 decode to U+FFFD, which is storable.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crm_core::Error;

use crate::error::ApiError;

const NUL_MESSAGE: &str = "must not contain the NUL character (\\u0000)";

/// Refuses a JSON body holding a NUL in any string or key, naming its path (`items[2].name`).
pub fn check_json(bytes: &[u8]) -> Result<(), Error> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    // `\\u0000` (an escaped backslash, then text) also matches; only a walk can tell.
    let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
        return Ok(());
    };
    check_value(&v)
}

/// [`check_json`] for a body already parsed.
pub fn check_value(v: &Value) -> Result<(), Error> {
    match nul_path(v, "") {
        Some(path) => Err(Error::bad_request(
            if path.is_empty() { "body" } else { &path },
            NUL_MESSAGE,
        )),
        None => Ok(()),
    }
}

/// The path of the first string or key holding a NUL.
fn nul_path(v: &Value, path: &str) -> Option<String> {
    match v {
        Value::String(s) if s.contains('\0') => Some(path.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_path(x, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, x)| {
            let here = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if k.contains('\0') {
                return Some(here.replace('\0', "\\u0000"));
            }
            nul_path(x, &here)
        }),
        _ => None,
    }
}

/// The first query parameter whose decoded name or value holds a NUL.
pub fn query_nul(query: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    pairs
        .into_iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| k.replace('\0', "\\u0000"))
}

/// Edge layer: a query string carrying a NUL answers 400 naming the parameter, before any
/// handler (or, in the gateway, any service) sees it.
pub async fn query(req: Request, next: Next) -> Response {
    if let Some(q) = req.uri().query()
        && q.contains("%00")
        && let Some(name) = query_nul(q)
    {
        return ApiError(Error::bad_request(name, NUL_MESSAGE)).into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(body: &str) -> Option<String> {
        match check_json(body.as_bytes()) {
            Ok(()) => None,
            Err(Error::BadRequest { errors, .. }) => Some(errors[0].field.clone()),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_nul_anywhere_in_a_body_is_named_by_its_path() {
        assert_eq!(field(r#"{"name": "a\u0000b"}"#).as_deref(), Some("name"));
        assert_eq!(
            field(r#"{"items": [{"x": 1}, {"address": {"city": "\u0000"}}]}"#).as_deref(),
            Some("items[1].address.city")
        );
        assert_eq!(field(r#""\u0000""#).as_deref(), Some("body"));
        assert_eq!(field(r#"{"a\u0000": 1}"#).as_deref(), Some("a\\u0000"));
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_plain_text() {
        assert_eq!(field(r#"{"name": "C:\\u0000"}"#), None);
        assert_eq!(field(r#"{"name": "plain"}"#), None);
    }

    #[test]
    fn query_parameters_with_a_nul_are_named() {
        assert_eq!(
            query_nul("limit=5&filter=name%5Beq%5D%3A%22a%00%22").as_deref(),
            Some("filter")
        );
        assert_eq!(query_nul("q=%00").as_deref(), Some("q"));
        assert_eq!(query_nul("q=abc&limit=2"), None);
    }
}
