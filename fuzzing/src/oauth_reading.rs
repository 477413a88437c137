//! The OAuth error an error body carries (RFC 6749 section 5.2), read here apart from the core:
//! an object with unique member names and a non-empty string `error`; the code parsed by
//! `ErrorCode::parse`, the description and URI shown as errors show server text, `max_age`
//! (RFC 9470 section 3) a non-negative integer or a string of one.

use serde_json::Value;
use xaa::{ErrorCode, OAuthError};

use crate::shown::shown;
use crate::unique_object::unique_object;

/// The OAuth error of `body`, or `None` when it carries none.
pub(crate) fn oauth_error_of(body: &[u8]) -> Option<OAuthError> {
    let object = unique_object(body).ok()?;
    let code = object.get("error")?.as_str()?;
    if code.is_empty() {
        return None;
    }
    let text = |name: &str| object.get(name).and_then(Value::as_str).map(shown);
    let mut error = OAuthError::new(ErrorCode::parse(code));
    error.description = text("error_description");
    error.uri = text("error_uri");
    error.max_age = object.get("max_age").and_then(|value| {
        value
            .as_u64()
            .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
    });
    Some(error)
}
