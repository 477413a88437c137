//! Small response builders shared by the servers.

use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use serde_json::Value;

/// What metadata documents (and the JWKS) say about caching.
pub(crate) const METADATA_CACHE_CONTROL: &str = "max-age=3600";

/// A JSON response.
pub(crate) fn json(status: StatusCode, body: &Value) -> Response<Vec<u8>> {
    let mut response = Response::new(serde_json::to_vec(body).unwrap_or_default());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A `200` metadata document with `Cache-Control: max-age=3600`.
pub(crate) fn metadata_response(document: Value) -> Response<Vec<u8>> {
    with_cache_control(json(StatusCode::OK, &document))
}

/// Adds `Cache-Control: max-age=3600`.
pub(crate) fn with_cache_control(mut response: Response<Vec<u8>>) -> Response<Vec<u8>> {
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static(METADATA_CACHE_CONTROL),
    );
    response
}

/// A bodiless response.
pub(crate) fn empty(status: StatusCode) -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = status;
    response
}

/// `404`.
pub(crate) fn not_found() -> Response<Vec<u8>> {
    empty(StatusCode::NOT_FOUND)
}

/// `405` with `Allow`.
pub(crate) fn method_not_allowed(allow: &'static str) -> Response<Vec<u8>> {
    let mut response = empty(StatusCode::METHOD_NOT_ALLOWED);
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}
