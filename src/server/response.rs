//! Rendering token-endpoint responses and challenge parameters.

use http::header::{CACHE_CONTROL, PRAGMA};
use http::{HeaderValue, Response, StatusCode};
use serde_json::Value;

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
