//! The parser targets: `WWW-Authenticate`, the two metadata documents, token responses, OAuth
//! error bodies and JWT peeking. Each parse must be total, and a successful parse must agree
//! with an independent reading of the same bytes.

use std::time::{Duration, SystemTime};

use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::{Map, Value};

use super::input::Input;
use super::world::{AS_CLIENT, AS_ISSUER, IDP_CLIENT, IDP_ISSUER, RESOURCE};
use crate::challenge::{
    self, BearerChallenge, Challenge, ChallengeError, MAX_CHALLENGES, MAX_HEADER_BYTES, MAX_PARAMS,
};
use crate::constants::{
    GRANT_PROFILE_ID_JAG, GRANT_TYPE_JWT_BEARER, GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ID_JAG,
    TOKEN_TYPE_ID_TOKEN,
};
use crate::discovery::{AuthorizationServerMetadata, ProtectedResourceMetadata};
use crate::grant::{
    JwtBearerGrant, JwtBearerRequest, SubjectToken, TokenExchange, TokenExchangeRequest,
    TokenResponse,
};
use crate::json::Member;
use crate::jwt::{self, JwtShape};
use crate::{
    Assertion, ClientAuth, ClientCredentials, ClientSecret, Error, ErrorCode, Flow, HttpResponse,
    IdToken, Output, Policy, Purpose, Scope, Violation, wire,
};

/// The fixed clock of the parser targets: 2027-01-15T08:00:00Z.
pub(crate) const NOW_SECS: u64 = 1_800_000_000;

pub(crate) fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

// ---------------------------------------------------------------------------------------------
// WWW-Authenticate

/// `WWW-Authenticate` (RFC 9110 section 11.6.1): `challenge::parse`, `challenge::parse_all`
/// and `challenge::bearer_challenges` never panic; a parse respects the limits; rendering
/// every challenge and parsing the result gives the same challenges; a Bearer challenge
/// re-renders and re-parses to the same interpretation; error positions lie inside the input;
/// several fields parse as the concatenation of their parses. The whole input is one field
/// value; split at NUL bytes it is also a list of header fields.
pub fn www_authenticate(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        check_field_value(text);
    }
    let mut headers = HeaderMap::new();
    for part in data.split(|b| *b == 0).take(8) {
        if let Ok(value) = HeaderValue::from_bytes(part) {
            headers.append(WWW_AUTHENTICATE, value);
        }
    }
    check_header_fields(&headers);
}

fn check_field_value(text: &str) {
    let parsed = challenge::parse(text);
    if text.len() > MAX_HEADER_BYTES {
        assert!(
            matches!(parsed, Err(ChallengeError::TooLong { .. })),
            "an over-long value must be refused as such: {parsed:?}"
        );
        return;
    }
    if let Ok(value) = HeaderValue::from_str(text)
        && value.to_str().is_ok()
    {
        let mut one_field = HeaderMap::new();
        one_field.append(WWW_AUTHENTICATE, value);
        let all = challenge::from_headers(&one_field);
        assert_eq!(
            all, parsed,
            "one field through from_headers must equal parse"
        );
    }
    match parsed {
        Ok(list) => {
            check_challenges(&list);
            let rendered: Vec<String> = list.iter().map(Challenge::render).collect();
            let joined = rendered.join(", ");
            if joined.len() <= MAX_HEADER_BYTES {
                assert_eq!(
                    challenge::parse(&joined).as_ref(),
                    Ok(&list),
                    "re-rendered challenges parse differently: {joined:?}"
                );
            }
            for (one, text) in list.iter().zip(&rendered) {
                if text.len() <= MAX_HEADER_BYTES {
                    assert_eq!(
                        challenge::parse(text),
                        Ok(vec![one.clone()]),
                        "one rendered challenge must parse back alone"
                    );
                }
                if let Some(bearer) = BearerChallenge::from_challenge(one) {
                    check_bearer_round_trip(&bearer);
                }
                if let Some(scope) = one.param("scope") {
                    check_scope(scope);
                }
            }
        }
        Err(error) => check_challenge_error(&error, text.len()),
    }
}

fn check_challenges(list: &[Challenge]) {
    assert!(list.len() <= MAX_CHALLENGES, "too many challenges");
    for challenge in list {
        assert!(is_token(challenge.scheme()), "a scheme is a token");
        assert!(
            challenge.params().len() <= MAX_PARAMS,
            "too many parameters"
        );
        assert!(
            challenge.token68().is_none() || challenge.params().is_empty(),
            "a token68 and parameters together"
        );
        for (i, (name, value)) in challenge.params().iter().enumerate() {
            assert!(is_token(name), "a parameter name is a token");
            assert_eq!(name, &name.to_ascii_lowercase(), "names are lowercased");
            assert!(
                value
                    .bytes()
                    .all(|b| b == b'\t' || (0x20..0x7f).contains(&b)),
                "a value holds only what a quoted-string can carry"
            );
            assert!(
                challenge.params()[..i].iter().all(|(n, _)| n != name),
                "a parameter name appears twice"
            );
            assert_eq!(
                challenge.param(&name.to_ascii_uppercase()),
                Some(value.as_str())
            );
        }
    }
}

fn check_bearer_round_trip(bearer: &BearerChallenge) {
    let rendered = bearer.render();
    if rendered.len() > MAX_HEADER_BYTES {
        return;
    }
    let reparsed = challenge::parse(&rendered);
    let Ok(list) = reparsed else {
        panic!("a rendered Bearer challenge does not parse: {rendered:?}: {reparsed:?}");
    };
    assert_eq!(list.len(), 1, "one Bearer challenge renders as one");
    let again = list
        .first()
        .and_then(BearerChallenge::from_challenge)
        .unwrap_or_else(|| panic!("the scheme survives rendering: {rendered:?}"));
    // An unknown error code longer than the error-text limit was truncated with an ellipsis,
    // which renders as `?`: only that field may differ.
    let truncated = matches!(&bearer.error, Some(ErrorCode::Other(code)) if code.contains('…'));
    if truncated {
        let mut expected = bearer.clone();
        let mut found = again;
        expected.error = None;
        found.error = None;
        assert_eq!(found, expected);
    } else {
        assert_eq!(
            &again, bearer,
            "a Bearer challenge changes when re-rendered"
        );
    }
}

fn check_challenge_error(error: &ChallengeError, len: usize) {
    use ChallengeError as E;
    let position = match error {
        E::NonAscii { position }
        | E::ControlCharacter { position }
        | E::ExpectedToken { position }
        | E::ExpectedValue { position }
        | E::UnexpectedCharacter { position, .. }
        | E::UnterminatedQuote { position }
        | E::ParamWithoutScheme { position }
        | E::ParamAfterToken68 { position } => Some(*position),
        _ => None,
    };
    if let Some(position) = position {
        assert!(position <= len, "error position {position} beyond {len}");
    }
    assert_single_line(&error.to_string());
}

fn check_header_fields(headers: &HeaderMap) {
    let all = challenge::from_headers(headers);
    let fields: Vec<&HeaderValue> = headers.get_all(WWW_AUTHENTICATE).iter().collect();
    let bearer = challenge::bearer_challenges(headers);
    match &all {
        Ok(list) => {
            check_challenges(list);
            let expected: Vec<BearerChallenge> = list
                .iter()
                .filter_map(BearerChallenge::from_challenge)
                .collect();
            assert_eq!(bearer.as_ref(), Ok(&expected));
            // Each field alone, concatenated: the same list (fields never join).
            let mut concatenated = Vec::new();
            for field in &fields {
                let Ok(text) = field.to_str() else {
                    panic!("a field that parsed is visible ASCII");
                };
                match challenge::parse(text) {
                    Ok(one) => concatenated.extend(one),
                    Err(error) => panic!("a field fails alone but not in the list: {error}"),
                }
            }
            assert_eq!(&concatenated, list);
        }
        Err(_) => assert!(bearer.is_err(), "bearer_challenges hides a syntax error"),
    }
}

/// `Scope`: parse then Display then parse is the identity, and Display is canonical.
pub(crate) fn check_scope(text: &str) {
    let scope = Scope::parse(text);
    let shown = scope.to_string();
    assert_eq!(Scope::parse(&shown), scope, "Scope does not round-trip");
    assert!(!shown.starts_with(' ') && !shown.ends_with(' ') && !shown.contains("  "));
    let tokens: Vec<&str> = scope.iter().collect();
    for (i, token) in tokens.iter().enumerate() {
        assert!(!token.is_empty() && !token.contains(' '));
        assert!(!tokens[..i].contains(token), "a duplicate scope token");
        assert!(scope.contains(token));
    }
    assert!(scope.is_subset_of(&scope.union(&Scope::parse("x y"))));
    assert_eq!(scope.canonical().canonical(), scope.canonical());
    assert!(scope.difference(&scope).is_empty());
    assert_eq!(scope.intersection(&scope), scope);
}

fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Error text is one line: no control characters.
pub(crate) fn assert_single_line(text: &str) {
    assert!(
        !text.chars().any(char::is_control),
        "error text holds a control character: {text:?}"
    );
}

/// An error never carries a secret, in `Display` or `Debug`, and stays one bounded line.
pub(crate) fn check_error_text(error: &Error, secrets: &[&str]) {
    let shown = error.to_string();
    assert_single_line(&shown);
    assert!(
        shown.chars().count() <= 8 * 1024,
        "an unbounded error message"
    );
    let debug = format!("{error:?}");
    for secret in secrets {
        if secret.len() >= 8 {
            assert!(!shown.contains(secret), "a secret in an error: {shown}");
            assert!(!debug.contains(secret), "a secret in an error's Debug");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Metadata documents

/// The independent reading: serde_json's own object, or why there is none.
fn json_object(data: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(object)) => Some(object),
        _ => None,
    }
}

fn str_array(object: &Map<String, Value>, field: &str) -> Option<Vec<String>> {
    object.get(field)?.as_array().map(|items| {
        items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

fn check_violation_shape(violation: &Violation, object: Option<&Map<String, Value>>) {
    match (violation, object) {
        (Violation::NotJson, None) => {}
        (Violation::NotJson, Some(_)) => panic!("a JSON object was called not JSON"),
        // A duplicate is reported where it occurs, even if the body breaks later.
        (Violation::DuplicateField(_), _) => {}
        (Violation::MissingField(_) | Violation::InvalidField { .. }, Some(_)) => {}
        (other, object) => panic!(
            "unexpected violation {other:?} (object: {})",
            object.is_some()
        ),
    }
    assert_single_line(&violation.to_string());
}

/// Protected-resource metadata (RFC 9728 section 2): a document that parses has a non-empty
/// `resource` and `authorization_servers`, agrees member by member with serde_json's reading,
/// and survives a serialize/parse round trip; a failure is the right `Violation`.
pub fn protected_resource_metadata(data: &[u8]) {
    let object = json_object(data);
    match ProtectedResourceMetadata::from_json(data) {
        Ok(metadata) => {
            let Some(object) = object else {
                panic!("parsed metadata from a body serde_json does not read as an object");
            };
            assert!(!metadata.resource.is_empty());
            assert!(!metadata.authorization_servers.is_empty());
            assert_eq!(
                object.get("resource").and_then(Value::as_str),
                Some(metadata.resource.as_str())
            );
            assert_eq!(
                str_array(&object, "authorization_servers").as_ref(),
                Some(&metadata.authorization_servers)
            );
            assert_eq!(
                str_array(&object, "scopes_supported"),
                metadata.scopes_supported
            );
            let expected_scope: Scope = metadata
                .scopes_supported
                .iter()
                .flatten()
                .map(String::as_str)
                .collect();
            assert_eq!(
                metadata.scopes(),
                (!expected_scope.is_empty()).then_some(expected_scope)
            );
            let serialized = serde_json::to_vec(&metadata).unwrap_or_default();
            assert_eq!(
                ProtectedResourceMetadata::from_json(&serialized).as_ref(),
                Ok(&metadata),
                "serialized metadata parses differently"
            );
        }
        Err(violation) => check_violation_shape(&violation, object.as_ref()),
    }
}

/// Authorization-server metadata (RFC 8414 section 2): a document that parses has a non-empty
/// `issuer` and `token_endpoint`, agrees with serde_json's reading, round-trips, and its
/// support checks follow decisions.md D3 (absent means proceed, present must list the value),
/// recomputed here for every client authentication method.
pub fn authorization_server_metadata(data: &[u8]) {
    let object = json_object(data);
    match AuthorizationServerMetadata::from_json(data) {
        Ok(metadata) => {
            let Some(object) = object else {
                panic!("parsed metadata from a body serde_json does not read as an object");
            };
            assert!(!metadata.issuer.is_empty() && !metadata.token_endpoint.is_empty());
            assert_eq!(
                object.get("issuer").and_then(Value::as_str),
                Some(metadata.issuer.as_str())
            );
            assert_eq!(
                object.get("token_endpoint").and_then(Value::as_str),
                Some(metadata.token_endpoint.as_str())
            );
            let grants = str_array(&object, "grant_types_supported");
            assert_eq!(grants, metadata.grant_types_supported);
            let methods = str_array(&object, "token_endpoint_auth_methods_supported");
            assert_eq!(methods, metadata.token_endpoint_auth_methods_supported);
            let profiles = str_array(&object, "authorization_grant_profiles_supported");
            let chaining = str_array(&object, "identity_chaining_requested_token_types_supported");
            let allows = |list: &Option<Vec<String>>, value: &str| {
                list.as_ref().is_none_or(|l| l.iter().any(|v| v == value))
            };
            for auth in sample_auth_methods() {
                let method_ok = allows(&methods, auth.method_name());
                let bearer_ok = allows(&grants, GRANT_TYPE_JWT_BEARER)
                    && allows(&profiles, GRANT_PROFILE_ID_JAG)
                    && method_ok;
                assert_eq!(metadata.check_jwt_bearer_support(&auth).is_ok(), bearer_ok);
                let exchange_ok = allows(&grants, GRANT_TYPE_TOKEN_EXCHANGE)
                    && allows(&chaining, TOKEN_TYPE_ID_JAG)
                    && method_ok;
                assert_eq!(
                    metadata.check_token_exchange_support(&auth).is_ok(),
                    exchange_ok
                );
            }
            let serialized = serde_json::to_vec(&metadata).unwrap_or_default();
            assert_eq!(
                AuthorizationServerMetadata::from_json(&serialized).as_ref(),
                Ok(&metadata)
            );
        }
        Err(violation) => check_violation_shape(&violation, object.as_ref()),
    }
}

/// A signer for `private_key_jwt` configurations; the core never verifies, the harness only
/// needs a recognizable, unique output.
pub(crate) struct MarkerSigner(pub(crate) &'static str);

impl crate::AssertionSigner for MarkerSigner {
    fn algorithm(&self) -> &str {
        "ES256"
    }

    fn sign(&self, claims: &crate::ClientAssertionClaims) -> Result<Assertion, crate::SignerError> {
        Ok(Assertion::new(format!(
            "eyJhbGciOiJFUzI1NiJ9.{}.{}",
            jwt::encode_segment(claims),
            self.0
        )))
    }
}

fn sample_auth_methods() -> [ClientAuth; 4] {
    let jti: std::sync::Arc<dyn crate::JtiSource> = std::sync::Arc::new(|| "jti".to_owned());
    [
        ClientAuth::None,
        ClientAuth::ClientSecretBasic(ClientSecret::new("s")),
        ClientAuth::ClientSecretPost(ClientSecret::new("s")),
        ClientAuth::PrivateKeyJwt(crate::PrivateKeyJwt::new(
            std::sync::Arc::new(MarkerSigner("c2ln")),
            jti,
        )),
    ]
}

// ---------------------------------------------------------------------------------------------
// Token responses

const AS_TOKEN: &str = "https://as.example.com/token";
const AS_SECRET: &str = "as-secret-3a1f0c7d";
const IDP_TOKEN: &str = "https://idp.example.com/oauth2/token";
const IDP_SECRET: &str = "idp-secret-9e2b4d60";
const ASSERTION: &str = "eyJ0eXAiOiJvYXV0aC1pZC1qYWcrand0In0.eyJjYWxsZXIiOiJhc3NlcnRpb24ifQ.c2ln";

fn subject_id_token() -> String {
    format!(
        "{}.{}.c3ViamVjdC1zaWc",
        jwt::encode_segment(&serde_json::json!({"alg": "ES256", "kid": "k1"})),
        jwt::encode_segment(&serde_json::json!({
            "iss": IDP_ISSUER, "sub": "alice", "aud": IDP_CLIENT,
            "iat": NOW_SECS - 60, "exp": NOW_SECS + 3600,
        }))
    )
}

/// A token response body as RFC 6749 section 5.1 / RFC 8693 section 2.2.1: `TokenResponse`
/// agrees with serde_json's reading (token, types, `expires_in` within the policy, scope,
/// refresh token); and the same body handed to a `JwtBearerGrant` as a 200 gives an access
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

/// A 200/JSON (or other) response with `body`.
pub(crate) fn json_response(status: u16, body: Vec<u8>) -> HttpResponse {
    let mut response = HttpResponse::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Runs one jwt-bearer grant against `response` and checks the outcome independently.
fn check_jwt_bearer_answer(response: &HttpResponse, requested: &Scope) {
    let request = JwtBearerRequest {
        token_endpoint: AS_TOKEN.to_owned(),
        issuer: Some(AS_ISSUER.to_owned()),
        credentials: ClientCredentials::basic(AS_CLIENT, ClientSecret::new(AS_SECRET)),
        assertion: Assertion::new(ASSERTION),
        scope: None,
        requested_scope: Some(requested.clone()),
        resource: None,
    };
    let policy = Policy::default();
    let Ok(mut grant) = JwtBearerGrant::new(request, &policy) else {
        panic!("the fixed jwt-bearer request is valid");
    };
    let transmit = match grant.poll_output(now()) {
        Ok(Output::Transmit(transmit)) => transmit,
        other => panic!("a jwt-bearer grant starts with its POST: {other:?}"),
    };
    assert_eq!(transmit.purpose, Purpose::JwtBearer);
    let outcome = grant
        .handle_response(now(), transmit.id, response.clone())
        .and_then(|()| grant.poll_output(now()));
    let status = response.status();
    match outcome {
        Ok(Output::Done(issued)) => {
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
        Ok(other) => panic!("a finished grant must be Done or an error: {other:?}"),
        Err(error) => {
            assert_eq!(error.purpose(), Some(Purpose::JwtBearer));
            check_error_text(&error, &[AS_SECRET, ASSERTION]);
            check_failure_status(&error, response);
        }
    }
}

/// A non-success status gives a redirect, an OAuth error (exactly what `wire::oauth_error`
/// reads) or an unexpected status; a success status gives neither.
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
    let expected = wire::oauth_error(response.body());
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
        let body = super::world::mutated_exchange_body(&mut input, scope.as_ref(), now());
        json_response(200, body)
    };
    check_exchange_answer(&response, scope);
}

fn check_exchange_answer(response: &HttpResponse, scope: Option<Scope>) {
    let subject = subject_id_token();
    let request = TokenExchangeRequest {
        token_endpoint: IDP_TOKEN.to_owned(),
        idp_issuer: Some(IDP_ISSUER.to_owned()),
        credentials: ClientCredentials::post(IDP_CLIENT, ClientSecret::new(IDP_SECRET)),
        subject: SubjectToken::IdToken(IdToken::new(subject.clone())),
        audience: AS_ISSUER.to_owned(),
        resource: RESOURCE.to_owned(),
        scope: scope.clone(),
        authorization_server_client_id: AS_CLIENT.to_owned(),
    };
    let Ok(mut exchange) = TokenExchange::new(request, &Policy::default()) else {
        panic!("the fixed exchange request is valid");
    };
    let transmit = match exchange.poll_output(now()) {
        Ok(Output::Transmit(transmit)) => transmit,
        other => panic!("an exchange starts with its POST: {other:?}"),
    };
    let form = crate::form::decode(transmit.request.body());
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

    let outcome = exchange
        .handle_response(now(), transmit.id, response.clone())
        .and_then(|()| exchange.poll_output(now()));
    super::trace!("exchange outcome: {outcome:?}");
    match outcome {
        Ok(Output::Done(issued)) => {
            assert!(response.status().is_success());
            let Some(object) = json_object(response.body()) else {
                panic!("an ID-JAG from a body that is not an object");
            };
            let text = |field: &str| object.get(field).and_then(Value::as_str);
            assert_eq!(text("issued_token_type"), Some(TOKEN_TYPE_ID_JAG));
            assert!(text("token_type").is_some_and(|t| t.eq_ignore_ascii_case("N_A")));
            let token = issued.id_jag.expose_secret();
            assert_eq!(text("access_token"), Some(token));
            let checked = super::id_jag_oracle::check_id_jag(
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
                    super::world::unix(issued.expires_at) <= exp,
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
        Ok(other) => panic!("a finished exchange must be Done or an error: {other:?}"),
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

// ---------------------------------------------------------------------------------------------
// OAuth errors

/// An OAuth error body (RFC 6749 section 5.2): `wire::oauth_error` reads a code exactly
/// when serde_json sees a non-empty string `error` in an object without duplicate members;
/// codes, descriptions and URIs are sanitized and bounded; `ErrorCode` parsing is stable.
/// The first byte picks an HTTP status under which the rest is also handed to a jwt-bearer
/// grant and a token exchange: the typed error must be exactly that body's error, and an IdP's
/// `invalid_grant` must mean re-authentication.
pub fn oauth_error(data: &[u8]) {
    let mut input = Input::new(data);
    let status = *input.pick(&[400u16, 401, 403, 500, 503, 302, 404, 429, 200]);
    let body = input.rest();
    let object = json_object(body);
    match wire::oauth_error(body) {
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
                    wire::parse_object(body).is_err(),
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

// ---------------------------------------------------------------------------------------------
// JWT peeking

/// Peeking at a compact JWT without verification: `jwt::shape` agrees with the segment
/// structure; `jwt::peek` succeeds only on a JWS and yields JSON objects that re-encode to
/// the same values; claim accessors agree with the maps; the ID-JAG `typ` test and
/// `single_string` follow decisions.md D10; the subject-token helpers never panic.
pub fn jwt_peek(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let shape = jwt::shape(token);
    let segments: Vec<&str> = token.split('.').collect();
    let base64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    match shape {
        Ok(JwtShape::Jws) => {
            assert_eq!(segments.len(), 3);
            assert!(token.len() <= jwt::MAX_JWT_BYTES);
            assert!(segments.iter().all(|s| base64url(s)));
        }
        Ok(JwtShape::Jwe) => assert_eq!(segments.len(), 5),
        Err(_) => {}
    }
    match jwt::peek(token) {
        Ok(peeked) => {
            assert_eq!(shape, Ok(JwtShape::Jws));
            let rebuilt = format!(
                "{}.{}.c2ln",
                jwt::encode_segment(&peeked.header),
                jwt::encode_segment(&peeked.claims)
            );
            if !has_float(&Value::Object(peeked.header.clone()))
                && !has_float(&Value::Object(peeked.claims.clone()))
            {
                assert_eq!(
                    jwt::peek(&rebuilt).as_ref(),
                    Ok(&peeked),
                    "re-encoding changes a JWT"
                );
            }
            for (name, value) in &peeked.claims {
                assert_eq!(peeked.claim_str(name), value.as_str());
                let time = peeked.claim_time(name);
                if let Some(n) = value.as_u64() {
                    assert_eq!(time, Some(n));
                }
                if value.as_i64().is_some_and(|n| n < 0) || !value.is_number() {
                    assert_eq!(time, None);
                }
                match Member::of(&peeked.claims, name).single_string() {
                    Some(single) => assert!(
                        value.as_str() == Some(single)
                            || value.as_array().is_some_and(|a| a.len() == 1)
                    ),
                    None => assert!(!value.is_string()),
                }
            }
            // The one-pass member reader the client's checks use agrees with the map.
            if let Ok((_, payload)) = jwt::jws_segments(token) {
                let Ok(json) = jwt::decode_segment(payload) else {
                    panic!("peeked claims that do not decode");
                };
                for (name, value) in &peeked.claims {
                    let Ok([member]) = jwt::read_members(&json, [name.as_str()]) else {
                        panic!("the member reader refuses claims the map reads");
                    };
                    assert_eq!(member.as_str(), value.as_str(), "claim {name}");
                    assert_eq!(
                        member.numeric_date(),
                        peeked.claim_time(name),
                        "claim {name}"
                    );
                    assert_eq!(
                        member.single_string(),
                        Member::of(&peeked.claims, name).single_string(),
                        "claim {name}"
                    );
                }
            }
            if let Some(typ) = peeked.header_str("typ") {
                let lower = typ.to_ascii_lowercase();
                assert_eq!(
                    jwt::is_id_jag_typ(typ),
                    lower == "oauth-id-jag+jwt" || lower == "application/oauth-id-jag+jwt"
                );
            }
        }
        Err(jwt::JwtError::Encrypted) => assert_eq!(shape, Ok(JwtShape::Jwe)),
        Err(_) => {}
    }
    // The one-pass member reader accepts a segment exactly when the map parser does.
    if let Ok((header, payload)) = jwt::jws_segments(token) {
        for segment in [header, payload] {
            if let Ok(json) = jwt::decode_segment(segment) {
                let read = jwt::read_members(&json, ["typ", "exp"]);
                let mapped = jwt::decode_object(segment);
                assert_eq!(read.is_ok(), mapped.is_ok(), "{read:?} / {mapped:?}");
            }
        }
    }
    let subject = SubjectToken::IdToken(IdToken::new(token));
    let _ = subject.expires_at();
    let _ = subject.principal();
    let _ = crate::grant::IssuedIdJag::resubmitted(crate::IdJag::new(token), now());
}

fn has_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}
