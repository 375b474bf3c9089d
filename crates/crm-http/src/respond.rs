//! Success responses that carry `Location` and `ETag`.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crm_core::record::Resource;

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits are a valid header")
}

fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(e) => crate::ApiError(crm_core::Error::from(e)).into_response(),
    }
}

/// `201 Created` with `Location: /api/v1/{collection}/{id}` and the record's `ETag`.
pub struct Created<R>(pub R);

impl<R: Resource> IntoResponse for Created<R> {
    fn into_response(self) -> Response {
        let meta = self.0.meta();
        let location = format!("{}/{}/{}", crate::API, R::COLLECTION, meta.id);
        let tag = etag(meta.version);
        let mut res = json_response(StatusCode::CREATED, &self.0);
        if let Ok(l) = HeaderValue::from_str(&location) {
            res.headers_mut().insert(header::LOCATION, l);
        }
        res.headers_mut().insert(header::ETAG, tag);
        res
    }
}

/// `200 OK` with the record and its `ETag` (the version `If-Match` expects).
pub struct Versioned<R>(pub R);

impl<R: Resource> IntoResponse for Versioned<R> {
    fn into_response(self) -> Response {
        let tag = etag(self.0.meta().version);
        let mut res = json_response(StatusCode::OK, &self.0);
        res.headers_mut().insert(header::ETAG, tag);
        res
    }
}

/// Any serialisable body with a chosen status.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    json_response(status, body)
}
