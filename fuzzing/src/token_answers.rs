//! The token-response targets: `token_response` (the response parser and the jwt-bearer grant)
//! and `token_exchange_response` (the token exchange and its ID-JAG checks), each answer run
//! through the grant alone (see `grants`).

use std::time::Duration;

use http::header::CONTENT_TYPE;
use serde_json::Value;
use xaa::constants::{GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN};
use xaa::grant::{SubjectToken, TokenResponse};
use xaa::{Error, ErrorCode, HttpResponse, IdToken, Policy, Purpose, Scope};

use crate::checks::{
    NOW_SECS, check_error_text, check_scope, check_violation_shape, json_object, json_response, now,
};
use crate::input::Input;
use crate::oauth_reading::oauth_error_of;
use crate::world::{AS_CLIENT, AS_ISSUER, IDP_CLIENT, IDP_ISSUER, RESOURCE};
use crate::{form, grants};

/// The client secret at the authorization server.
pub(crate) const AS_SECRET: &str = "as-secret-3a1f0c7d";
/// The client secret at the IdP.
const IDP_SECRET: &str = "idp-secret-9e2b4d60";
/// The caller-supplied assertion of the jwt-bearer grants.
pub(crate) const ASSERTION: &str =
    "eyJ0eXAiOiJvYXV0aC1pZC1qYWcrand0In0.eyJjYWxsZXIiOiJhc3NlcnRpb24ifQ.c2ln";

/// The ID token the exchanges send, valid for an hour.
pub(crate) fn subject_id_token() -> String {
    format!(
        "{}.{}.c3ViamVjdC1zaWc",
        xaa::jwt::encode_segment(&serde_json::json!({"alg": "ES256", "kid": "k1"})),
        xaa::jwt::encode_segment(&serde_json::json!({
            "iss": IDP_ISSUER, "sub": "alice", "aud": IDP_CLIENT,
            "iat": NOW_SECS - 60, "exp": NOW_SECS + 3600,
        }))
    )
}

/// A token response body as RFC 6749 section 5.1 / RFC 8693 section 2.2.1: `TokenResponse`
/// agrees with serde_json's reading (token, types, `expires_in` within the policy, scope,
/// refresh token); and the same body handed to the jwt-bearer grant as a 200 gives an access
/// token only when it is a Bearer token within the requested scope, with the promised expiry.
pub fn token_response(data: &[u8]) {
    let policy = Policy::default();
    let object = json_object(data);
    match TokenResponse::from_json(data, &policy) {
        Ok(parsed) => {
            let Some(object) = object else {
                panic!("a token response from a body that is not an object");
            };
            let text = |field: &str| object.get(field).and_then(Value::as_str);
            assert_eq!(text("access_token"), Some(parsed.access_token.as_str()));
            assert!(!parsed.access_token.is_empty() && !parsed.token_type.is_empty());
            assert_eq!(text("token_type"), Some(parsed.token_type.as_str()));
            assert_eq!(
                text("issued_token_type"),
                parsed.issued_token_type.as_deref()
            );
            assert_eq!(text("scope").map(Scope::parse), parsed.scope);
            if let Some(scope) = text("scope") {
                check_scope(scope);
            }
            assert_eq!(
                object.get("refresh_token").is_some_and(|v| !v.is_null()),
                parsed.had_refresh_token
            );
            if let Some(lifetime) = parsed.expires_in {
                assert!(lifetime <= policy.max_expires_in, "an absurd expires_in");
            }
            if let Some(seconds) = object.get("expires_in").and_then(Value::as_u64) {
                assert_eq!(parsed.expires_in, Some(Duration::from_secs(seconds)));
            }
        }
        Err(violation) => check_violation_shape(&violation, object.as_ref()),
    }
    let response = json_response(200, data.to_vec());
    check_jwt_bearer_answer(&response, &Scope::parse("tools:read tools:write"));
}

/// Runs one jwt-bearer grant against `response` and checks the outcome independently.
pub(crate) fn check_jwt_bearer_answer(response: &HttpResponse, requested: &Scope) {
    let outcome = grants::jwt_bearer(ASSERTION, AS_SECRET, requested, response.clone(), now());
    let status = response.status();
    match outcome {
        Ok(issued) => {
            assert!(status.is_success(), "an access token from HTTP {status}");
            let Some(object) = json_object(response.body()) else {
                panic!("an access token from a body that is not a JSON object");
            };
            let text = |field: &str| object.get(field).and_then(Value::as_str);
            assert_eq!(
                text("access_token"),
                Some(issued.access_token.expose_secret())
            );
            assert!(issued.token_type.eq_ignore_ascii_case("bearer"));
            let scope = issued.scope.clone().unwrap_or_default();
            assert!(scope.is_subset_of(requested), "the grant widened the scope");
            assert!(issued.expires_at >= now());
            if let Some(seconds) = object.get("expires_in").and_then(Value::as_u64) {
                assert_eq!(issued.expires_at, now() + Duration::from_secs(seconds));
            }
        }
        Err(error) => {
            assert_eq!(error.purpose(), Some(Purpose::JwtBearer));
            check_error_text(&error, &[AS_SECRET, ASSERTION]);
            check_failure_status(&error, response);
        }
    }
}

/// A non-success status gives a redirect, an OAuth error (exactly the one the body carries, as
/// [`oauth_error_of`] reads it) or an unexpected status; a success status gives neither.
fn check_failure_status(error: &Error, response: &HttpResponse) {
    let status = response.status();
    if status.is_success() {
        assert!(
            !matches!(
                error,
                Error::OAuth { .. } | Error::UnexpectedStatus { .. } | Error::Redirect { .. }
            ),
            "a 2xx reported as a failure status: {error:?}"
        );
        return;
    }
    if status.is_redirection() {
        assert!(
            matches!(error, Error::Redirect { .. }),
            "a redirect: {error:?}"
        );
        return;
    }
    let expected = oauth_error_of(response.body());
    match (error, expected) {
        (
            Error::OAuth {
                error, status: s, ..
            }
            | Error::ReauthenticationRequired {
                error, status: s, ..
            },
            Some(expected),
        ) => {
            assert_eq!(error, &expected);
            assert_eq!(*s, status.as_u16());
        }
        (Error::UnexpectedStatus { status: s, .. }, None) => assert_eq!(*s, status.as_u16()),
        (error, expected) => panic!("HTTP {status} gave {error:?}, body error {expected:?}"),
    }
}

/// One token-exchange answer: the first byte chooses between a raw body (below 0x80) and a
/// fixture response with structured mutations (the ID-JAG's claims among them), so the
/// fuzzer reaches both the JSON parser and the claim checks.
///
/// Properties: an ID-JAG is accepted only from a 2xx JSON body with `issued_token_type`
/// id-jag and `token_type` `N_A`, a compact JWS or JWE; a JWS must have the ID-JAG `typ`, a
/// real `alg` (printable ASCII, never `none`) with a signature and no `enc`, `aud` the
/// requested audience, `client_id` the authorization-server client, `resource` (if present)
/// the requested resource, an `exp` in the future and a scope within the request, and its
/// expiry is never after its `exp`; a JWE must have base64url segments and a protected header
/// with a real `alg` and `enc`, a `typ` and `cty` that fit a nested ID-JAG, and an encrypted
/// key that fits its `alg` (RFC 7516 sections 4.1 and 5.1). Failures name the token-exchange step,
/// and `invalid_grant` / `insufficient_user_authentication` mean re-authentication
/// (decisions.md D17). No error carries the subject token or the client secret. The request
/// itself carries exactly the profile's parameters.
pub fn token_exchange_response(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.byte();
    let scope = match input.below(3) {
        0 => Some(Scope::parse("tools:read tools:write")),
        1 => None,
        _ => Some(Scope::parse("tools:read")),
    };
    let response = if mode < 0x80 {
        let status = *input.pick(&[200u16, 201, 400, 401, 403, 500, 503, 302, 204]);
        let mut response = json_response(status, input.rest().to_vec());
        if mode & 1 == 1 {
            response.headers_mut().remove(CONTENT_TYPE);
        }
        response
    } else {
        let body = crate::world::mutated_exchange_body(&mut input, scope.as_ref(), now());
        json_response(200, body)
    };
    check_exchange_answer(&response, scope);
}

pub(crate) fn check_exchange_answer(response: &HttpResponse, scope: Option<Scope>) {
    let subject = subject_id_token();
    let exchanged = grants::exchange(
        SubjectToken::IdToken(IdToken::new(subject.clone())),
        IDP_SECRET,
        scope.as_ref(),
        response.clone(),
        now(),
    );
    let form = form::decode(exchanged.request.body());
    let mut names: Vec<&str> = form.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    let mut expected = vec![
        "audience",
        "client_id",
        "client_secret",
        "grant_type",
        "requested_token_type",
        "resource",
        "subject_token",
        "subject_token_type",
    ];
    if scope.is_some() {
        expected.push("scope");
    }
    expected.sort_unstable();
    assert_eq!(names, expected, "the exchange form");
    let value = |name: &str| {
        form.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(value("grant_type"), Some(GRANT_TYPE_TOKEN_EXCHANGE));
    assert_eq!(value("requested_token_type"), Some(TOKEN_TYPE_ID_JAG));
    assert_eq!(value("subject_token_type"), Some(TOKEN_TYPE_ID_TOKEN));
    assert_eq!(value("audience"), Some(AS_ISSUER));
    assert_eq!(value("resource"), Some(RESOURCE));

    let outcome = exchanged.outcome;
    crate::trace!("exchange outcome: {outcome:?}");
    match outcome {
        Ok(issued) => {
            assert!(response.status().is_success());
            let Some(object) = json_object(response.body()) else {
                panic!("an ID-JAG from a body that is not an object");
            };
            let text = |field: &str| object.get(field).and_then(Value::as_str);
            assert_eq!(text("issued_token_type"), Some(TOKEN_TYPE_ID_JAG));
            assert!(text("token_type").is_some_and(|t| t.eq_ignore_ascii_case("N_A")));
            let token = issued.id_jag.expose_secret();
            assert_eq!(text("access_token"), Some(token));
            let checked = crate::id_jag_oracle::check_id_jag(
                token,
                AS_ISSUER,
                AS_CLIENT,
                RESOURCE,
                scope.as_ref(),
                now(),
            );
            assert_eq!(issued.encrypted, checked.is_none());
            if let Some(exp) = checked {
                assert!(
                    crate::world::unix(issued.expires_at) <= exp,
                    "kept beyond the ID-JAG's exp"
                );
            }
            if let (Some(requested), Some(granted)) = (&scope, &issued.scope) {
                assert!(
                    granted.is_subset_of(requested),
                    "the exchange widened the scope"
                );
            }
            // `expires_in: 0` is a (useless) valid answer: never earlier than now.
            assert!(issued.expires_at >= now());
        }
        Err(error) => {
            assert_eq!(error.purpose(), Some(Purpose::TokenExchange));
            check_error_text(&error, &[&subject, IDP_SECRET]);
            check_failure_status(&error, response);
            if let Error::OAuth { error, .. } = &error {
                assert!(!matches!(
                    error.code,
                    ErrorCode::InvalidGrant | ErrorCode::InsufficientUserAuthentication
                ));
            }
        }
    }
}
