//! A JSON document as an HTTP response, for whatever serves one: a JWKS (RFC 7517 section 5),
//! metadata (RFC 8414 section 3.2, RFC 9728 section 3.2), a token endpoint's answer (RFC 6749
//! section 5).

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};
use serde_json::Value;

/// `body` as `application/json` with the given status.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response<Vec<u8>> {
    // Serializing a `Value` cannot fail.
    let mut response = Response::new(serde_json::to_vec(body).unwrap_or_default());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
