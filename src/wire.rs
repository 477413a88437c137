//! Request building and response reading shared by every step: JSON GETs, form POSTs, the
//! body cap, Content-Type, duplicate members, redirects and OAuth error bodies.

use std::time::Duration;

use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Method};
use serde_json::{Map, Value};
use url::Url;

use crate::display_safety::sanitize;
use crate::error::{ErrorCode, OAuthError};
use crate::json::{self, JsonSource, Member, ObjectError, StringFault};
use crate::{Error, HttpRequest, HttpResponse, Policy, Purpose, RequestUrl, Violation};

/// `Content-Type` of form bodies.
pub(crate) const FORM_URLENCODED: &str = "application/x-www-form-urlencoded";

/// A GET asking for JSON, with no credentials (RFC 9728 section 3.1, RFC 8414 section 3.1).
pub(crate) fn get_json(url: &Url) -> HttpRequest {
    let mut request = HttpRequest::new(Vec::new());
    *request.method_mut() = Method::GET;
    set_url(&mut request, url);
    request
        .headers_mut()
        .insert(ACCEPT, HeaderValue::from_static("application/json"));
    request
}

/// A form POST to a token endpoint (RFC 6749 section 3.2).
pub(crate) fn post_form(url: &Url, body: Vec<u8>) -> HttpRequest {
    let mut request = HttpRequest::new(body);
    *request.method_mut() = Method::POST;
    set_url(&mut request, url);
    let headers = request.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(FORM_URLENCODED));
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    request
}

/// Addresses `request` to a checked URL: its URI, and the URL itself as a [`RequestUrl`]
/// extension for drivers that would otherwise parse the URI back into a URL.
pub(crate) fn set_url(request: &mut HttpRequest, url: &Url) {
    *request.uri_mut() = to_uri(url);
    request.extensions_mut().insert(RequestUrl::new(url));
}

/// Converts a checked URL. A `Url` that parsed is always a valid URI, so the fallback is never
/// taken; it keeps the function total.
fn to_uri(url: &Url) -> http::Uri {
    url.as_str().parse().unwrap_or_default()
}

/// The error for a 3xx: redirects are never followed (decisions.md D4).
pub(crate) fn redirect(purpose: Purpose, response: &HttpResponse) -> Option<Error> {
    let status = response.status();
    status.is_redirection().then(|| Error::Redirect {
        purpose,
        status: status.as_u16(),
        location: response
            .headers()
            .get(LOCATION)
            .map(|v| sanitize(&String::from_utf8_lossy(v.as_bytes()))),
    })
}

/// Whether a `Content-Type` names JSON (`application/json`, `*/*+json`); an absent header is
/// tolerated.
pub(crate) fn is_json_content_type(response: &HttpResponse) -> Result<(), Violation> {
    let Some(value) = response.headers().get(CONTENT_TYPE) else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    let essence = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" || essence.ends_with("+json") {
        Ok(())
    } else {
        Err(Violation::ContentType(sanitize(&text)))
    }
}

/// Reads a success body as one JSON object: within the size cap, JSON Content-Type, no member
/// given twice (a parser-differential attack: two readers could see different values).
pub(crate) fn json_object(
    response: &HttpResponse,
    policy: &Policy,
) -> Result<Map<String, Value>, Violation> {
    parse_object(json_body(response, policy)?)
}

/// A success body that may be read as JSON: within the size cap, with a JSON `Content-Type`.
fn json_body<'a>(response: &'a HttpResponse, policy: &Policy) -> Result<&'a [u8], Violation> {
    let body = response.body();
    if body.len() > policy.max_body_bytes {
        return Err(Violation::BodyTooLarge {
            limit: policy.max_body_bytes,
        });
    }
    is_json_content_type(response)?;
    Ok(body)
}

/// The members `names` of a JSON response body, after the same checks as [`json_object`], read
/// in one pass without building a map.
pub(crate) fn json_members<'a, const N: usize>(
    response: &'a HttpResponse,
    policy: &Policy,
    names: [&str; N],
) -> Result<[Member<'a>; N], Violation> {
    read_members(json_body(response, policy)?, names)
}

/// [`json::read_members`] with this module's violations.
pub(crate) fn read_members<'a, const N: usize>(
    body: &'a [u8],
    names: [&str; N],
) -> Result<[Member<'a>; N], Violation> {
    json::read_members(body, names).map_err(object_violation)
}

/// Parses a JSON object, refusing duplicate members at the top level.
pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, Violation> {
    json::parse_object(body).map_err(object_violation)
}

/// The violation for an object that could not be read.
fn object_violation(error: ObjectError) -> Violation {
    match error {
        ObjectError::DuplicateMember(name) => Violation::DuplicateField(sanitize(&name)),
        ObjectError::NotAnObject => Violation::NotJson,
    }
}

/// An OAuth error body (RFC 6749 section 5.2), when the body is one.
pub(crate) fn oauth_error(body: &[u8]) -> Option<OAuthError> {
    let object = parse_object(body).ok()?;
    let code = object.get("error")?.as_str()?;
    if code.is_empty() {
        return None;
    }
    let text = |name: &str| object.get(name).and_then(Value::as_str).map(sanitize);
    Some(OAuthError {
        code: ErrorCode::parse(code),
        description: text("error_description"),
        uri: text("error_uri"),
        max_age: object.get("max_age").and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        }),
    })
}

/// The error for a non-success status at a token endpoint: a redirect, an OAuth error, or an
/// unexpected status with the start of the body.
pub(crate) fn token_endpoint_failure(purpose: Purpose, response: &HttpResponse) -> Error {
    if let Some(error) = redirect(purpose, response) {
        return error;
    }
    let status = response.status().as_u16();
    match oauth_error(response.body()) {
        Some(error) => Error::OAuth {
            purpose,
            status,
            error,
        },
        None => unexpected_status(purpose, response),
    }
}

/// An [`Error::UnexpectedStatus`] with the start of the body.
pub(crate) fn unexpected_status(purpose: Purpose, response: &HttpResponse) -> Error {
    Error::UnexpectedStatus {
        purpose,
        status: response.status().as_u16(),
        body: body_snippet(response.body()),
    }
}

/// The start of a body, for error messages.
pub(crate) fn body_snippet(body: &[u8]) -> String {
    let end = body.len().min(crate::display_safety::MAX_ERROR_TEXT * 4);
    sanitize(&String::from_utf8_lossy(&body[..end]))
}

/// How long a metadata document may be reused, from `Cache-Control` (decisions.md D20,
/// RFC 9728 section 7.10): `no-store` and `no-cache` mean zero, `max-age` its value, and
/// without either the caller's default applies.
pub(crate) fn cache_lifetime(response: &HttpResponse) -> Option<Duration> {
    let mut lifetime = None;
    for value in response.headers().get_all(CACHE_CONTROL) {
        let text = String::from_utf8_lossy(value.as_bytes());
        for directive in text.split(',') {
            let directive = directive.trim();
            let (name, argument) = directive
                .split_once('=')
                .map_or((directive, None), |(n, a)| (n.trim(), Some(a.trim())));
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return Some(Duration::ZERO);
            }
            if name.eq_ignore_ascii_case("max-age") {
                let seconds = argument
                    .map(|a| a.trim_matches('"'))
                    .and_then(|a| a.parse::<u64>().ok())
                    .unwrap_or(0);
                lifetime = Some(Duration::from_secs(seconds));
            }
        }
    }
    lifetime
}

/// A required, non-empty string member of a document ([`JsonSource::Document`]).
pub(crate) fn required_str(member: Member<'_>, field: &'static str) -> Result<String, Violation> {
    member
        .required_str(JsonSource::Document)
        .map(|text| text.into_owned())
        .map_err(|fault| field_violation(fault, field))
}

/// An optional string member of a document ([`JsonSource::Document`]); present with another
/// type is a violation.
pub(crate) fn optional_str(
    member: Member<'_>,
    field: &'static str,
) -> Result<Option<String>, Violation> {
    member
        .optional_str(JsonSource::Document)
        .map(|text| text.map(|text| text.into_owned()))
        .map_err(|fault| field_violation(fault, field))
}

/// An optional boolean member: absent is `false`, any other type a violation.
pub(crate) fn optional_bool(
    object: &Map<String, Value>,
    field: &'static str,
) -> Result<bool, Violation> {
    match object.get(field) {
        None => Ok(false),
        Some(Value::Bool(value)) => Ok(*value),
        Some(_) => Err(Violation::InvalidField {
            field,
            reason: "not a boolean".into(),
        }),
    }
}

/// The violation for a string member that is unusable.
fn field_violation(fault: StringFault, field: &'static str) -> Violation {
    match fault {
        StringFault::Missing => Violation::MissingField(field),
        StringFault::NotAString => Violation::InvalidField {
            field,
            reason: "not a string".into(),
        },
    }
}

/// An optional array of strings; present with another shape is a violation.
pub(crate) fn optional_str_array(
    object: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<Vec<String>>, Violation> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or(Violation::InvalidField {
                        field,
                        reason: "an entry is not a string".into(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(Violation::InvalidField {
            field,
            reason: "not an array".into(),
        }),
    }
}

/// `expires_in` (decisions.md D9): a non-negative integer, or a decimal string of one; above
/// `policy.max_expires_in` it is refused as absurd. `Ok(None)` when absent.
pub(crate) fn expires_in(
    value: &Member<'_>,
    policy: &Policy,
) -> Result<Option<Duration>, Violation> {
    let invalid = |reason: &str| Violation::InvalidField {
        field: "expires_in",
        reason: reason.into(),
    };
    let seconds = match value {
        Member::Absent | Member::Null => return Ok(None),
        Member::Number(Some(seconds)) => *seconds,
        Member::Number(None) => return Err(invalid("negative or not an integer")),
        Member::String(text) => text
            .trim()
            .parse::<u64>()
            .map_err(|_| invalid("not a decimal integer"))?,
        Member::OneStringArray(_) | Member::Other => return Err(invalid("not a number")),
    };
    let lifetime = Duration::from_secs(seconds);
    if lifetime > policy.max_expires_in {
        return Err(invalid("absurdly large"));
    }
    Ok(Some(lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn duplicate_members_are_refused() {
        assert_eq!(
            parse_object(br#"{"issuer":"a","issuer":"b"}"#),
            Err(Violation::DuplicateField("issuer".into()))
        );
        assert!(
            parse_object(br#"{"a":{"b":1,"b":2}}"#).is_ok(),
            "only the top level matters"
        );
        assert_eq!(parse_object(b"[1]"), Err(Violation::NotJson));
        assert_eq!(parse_object(b"{} x"), Err(Violation::NotJson));
        assert_eq!(parse_object(b"\xff"), Err(Violation::NotJson));
    }

    #[test]
    fn expires_in_shapes() {
        let policy = Policy::default();
        let get = |v: Value| {
            let object = object(json!({ "expires_in": v }));
            expires_in(&Member::of(&object, "expires_in"), &policy)
        };
        assert_eq!(get(json!(300)), Ok(Some(Duration::from_secs(300))));
        assert_eq!(get(json!("300")), Ok(Some(Duration::from_secs(300))));
        assert!(get(json!(-1)).is_err());
        assert!(get(json!("-1")).is_err());
        assert!(get(json!(1e300)).is_err());
        assert!(get(json!(u64::MAX)).is_err());
        assert!(get(json!(true)).is_err());
        assert_eq!(expires_in(&Member::Absent, &policy), Ok(None));
    }

    #[test]
    fn cache_control() {
        let with = |v: &'static str| {
            let mut r = HttpResponse::new(Vec::new());
            r.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static(v));
            cache_lifetime(&r)
        };
        assert_eq!(with("public, max-age=600"), Some(Duration::from_secs(600)));
        assert_eq!(with("no-store"), Some(Duration::ZERO));
        assert_eq!(with("max-age=60, no-cache"), Some(Duration::ZERO));
        assert_eq!(cache_lifetime(&HttpResponse::new(Vec::new())), None);
    }

    #[test]
    fn oauth_error_bodies() {
        let e = oauth_error(br#"{"error":"insufficient_user_authentication","max_age":"30","error_description":"step\nup"}"#)
            .expect("an error body");
        assert_eq!(e.code, ErrorCode::InsufficientUserAuthentication);
        assert_eq!(e.max_age, Some(30));
        assert_eq!(e.description.as_deref(), Some("step up"));
        assert!(oauth_error(b"<html>").is_none());
        assert!(oauth_error(br#"{"error":""}"#).is_none());
    }
}
