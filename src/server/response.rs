//! Rendering JSON responses and challenge parameters.

use http::header::{CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use serde_json::{Map, Value};

use super::rejection::Rejection;
use crate::json_response::json_response;

/// A token-endpoint response: JSON with `Cache-Control: no-store` and `Pragma: no-cache`
/// (RFC 6749 sections 5.1 and 5.2).
pub(crate) fn no_store(status: StatusCode, body: &Value) -> Response<Vec<u8>> {
    let mut response = json_response(status, body);
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The RFC 6749 section 5.2 error response for a rejection.
pub(crate) fn error_response(rejection: &Rejection) -> Response<Vec<u8>> {
    let mut body = Map::new();
    body.insert("error".into(), Value::from(rejection.error.code.as_str()));
    if let Some(description) = &rejection.error.description {
        body.insert(
            "error_description".into(),
            Value::from(description.as_str()),
        );
    }
    if let Some(uri) = &rejection.error.uri {
        body.insert("error_uri".into(), Value::from(uri.as_str()));
    }
    let mut response = no_store(rejection.status, &Value::Object(body));
    if let Some(challenge) = &rejection.www_authenticate {
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, header_value(challenge));
    }
    response
}

/// A header value from text built with [`quoted`]: every byte is then a valid field-value
/// byte (RFC 9110 section 5.5; UTF-8 goes through as obs-text).
pub(crate) fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_bytes(text.as_bytes()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// An RFC 9110 section 5.6.4 quoted-string: `"` and `\` escaped, control characters (which
/// could split a header) replaced by spaces.
pub(crate) fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_escapes_and_strips_controls() {
        assert_eq!(quoted("a b"), "\"a b\"");
        assert_eq!(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quoted("a\r\nb"), "\"a  b\"");
    }
}
