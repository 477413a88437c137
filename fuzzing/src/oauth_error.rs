//! The `oauth_error` target: OAuth error bodies at both token endpoints.

use http::HeaderValue;
use serde_json::Value;
use xaa::{Error, ErrorCode, OAuthError, Scope};

use crate::checks::{assert_single_line, json_object, json_response, now};
use crate::grants;
use crate::input::Input;
use crate::oauth_reading::oauth_error_of;
use crate::token_answers::{AS_SECRET, ASSERTION, check_exchange_answer, check_jwt_bearer_answer};
use crate::unique_object::unique_object;

/// An OAuth error body (RFC 6749 section 5.2): the client reads a code (as the error of a
/// failed token request) exactly when serde_json sees a non-empty string `error` in an object
/// without duplicate members, and reads exactly the error `oauth_error_of` reads; codes,
/// descriptions and URIs are sanitized and bounded; `ErrorCode` parsing is stable.
/// The first byte picks an HTTP status under which the rest is also handed to a jwt-bearer
/// grant and a token exchange: the typed error must be exactly that body's error, and an IdP's
/// `invalid_grant` must mean re-authentication.
pub fn oauth_error(data: &[u8]) {
    let mut input = Input::new(data);
    let status = *input.pick(&[400u16, 401, 403, 500, 503, 302, 404, 429, 200]);
    let body = input.rest();
    let object = json_object(body);
    let read = client_reading(body);
    crate::trace!("the client reads {read:?}");
    assert_eq!(read, oauth_error_of(body), "the client reads another error");
    match read {
        Some(error) => {
            let Some(object) = object else {
                panic!("an OAuth error from a body that is not an object");
            };
            let Some(code) = object.get("error").and_then(Value::as_str) else {
                panic!("an OAuth error without a string `error`");
            };
            assert!(!code.is_empty());
            assert_eq!(error.code, ErrorCode::parse(code));
            assert_eq!(ErrorCode::parse(error.code.as_str()), error.code);
            for text in [
                Some(error.code.as_str()),
                error.description.as_deref(),
                error.uri.as_deref(),
            ]
            .into_iter()
            .flatten()
            {
                assert_single_line(text);
                assert!(text.chars().count() <= 257);
            }
            assert_single_line(&error.to_string());
        }
        None => {
            if let Some(object) = &object
                && object
                    .get("error")
                    .and_then(Value::as_str)
                    .is_some_and(|c| !c.is_empty())
            {
                assert!(
                    unique_object(body).is_err(),
                    "a readable error body was ignored"
                );
            }
        }
    }
    let mut response = json_response(status, body.to_vec());
    if status == 302 {
        response.headers_mut().insert(
            http::header::LOCATION,
            HeaderValue::from_static("https://evil.example/steal"),
        );
    }
    check_jwt_bearer_answer(&response, &Scope::parse("tools:read"));
    check_exchange_answer(&response, None);
}

/// The error the client reads from `body`: the body of a 400 answer to a jwt-bearer grant, whose
/// failure is that error, or an unexpected status when the body carries none.
fn client_reading(body: &[u8]) -> Option<OAuthError> {
    let response = json_response(400, body.to_vec());
    let scope = Scope::parse("tools:read");
    match grants::jwt_bearer(ASSERTION, AS_SECRET, &scope, response, now()) {
        Err(Error::OAuth { error, .. }) => Some(error),
        Err(Error::UnexpectedStatus { .. }) => None,
        other => panic!("a 400 gave {other:?}"),
    }
}
