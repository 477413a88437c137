//! The JSON answers of the sign-in endpoints: OAuth errors (RFC 6749 section 5.2) and token
//! responses (section 5.1), never cached.

use http::header::{CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use serde_json::Value;

use crate::http_util::json;

/// An OAuth error: its status, code and a description for people.
#[derive(Debug)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) description: String,
}

impl OAuthError {
    /// `400` with `code`.
    pub(crate) fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            description: description.into(),
        }
    }

    /// `400 invalid_request`.
    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    /// `400 invalid_grant`.
    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }

    /// `401 invalid_client` (RFC 6749 section 5.2).
    pub(crate) fn invalid_client(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_client",
            description: description.into(),
        }
    }

    /// The JSON response; a `401` carries `WWW-Authenticate: Basic`.
    pub(crate) fn to_response(&self) -> Response<Vec<u8>> {
        let body = serde_json::json!({
            "error": self.code,
            "error_description": self.description,
        });
        let mut response = no_store(json(self.status, &body));
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"xaa-testkit\""),
            );
        }
        response
    }
}

/// `200` with `body`, not cached (RFC 6749 section 5.1).
pub(crate) fn success(body: &Value) -> Response<Vec<u8>> {
    no_store(json(StatusCode::OK, body))
}

/// Adds `Cache-Control: no-store` and `Pragma: no-cache`.
fn no_store(mut response: Response<Vec<u8>>) -> Response<Vec<u8>> {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// `303 See Other` to `location` (RFC 9110 section 15.4.4): the browser follows it with a GET.
pub(crate) fn see_other(location: &str) -> Response<Vec<u8>> {
    redirect(StatusCode::SEE_OTHER, location)
}

/// `302 Found` to `location`.
pub(crate) fn found(location: &str) -> Response<Vec<u8>> {
    redirect(StatusCode::FOUND, location)
}

fn redirect(status: StatusCode, location: &str) -> Response<Vec<u8>> {
    let mut response = crate::http_util::empty(status);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(http::header::LOCATION, value);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
