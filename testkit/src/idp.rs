//! The enterprise IdP: RFC 8414 and OpenID Connect metadata, its JWKS, and the token-exchange
//! endpoint, the core's [`xaa::server::IdentityProviderEndpoint`] behind it; the sign-in
//! endpoints and grants are [`crate::signin`]'s.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value};
use xaa::IdJag;
use xaa::jose::{SigningKey, TokenSigner};
use xaa::server::ExchangeOutcome;

use crate::endpoint::{Endpoint, Server};
use crate::faults::{
    EVIL_ORIGIN, Fault, IdJagFault, WRONG_CLIENT_ID, WRONG_JKT, edit_json,
    insufficient_user_authentication, invalid_grant,
};
use crate::http_util::{metadata_response, method_not_allowed, not_found, with_cache_control};
use crate::signin;
use crate::state::Shared;
use crate::urls::OAUTH_METADATA;

/// How long ago an [`IdJagFault::Expired`] ID-JAG expired: beyond any sensible clock skew.
const EXPIRED_BY: Duration = Duration::from_secs(120);

/// Answers a request routed to one of the IdP's endpoints.
pub(crate) fn handle(
    shared: &Shared,
    endpoint: Endpoint,
    request: &Request<Vec<u8>>,
    fault: Option<&Fault>,
    now: SystemTime,
) -> Response<Vec<u8>> {
    match endpoint {
        Endpoint::IdpMetadata => metadata(shared, request, fault),
        Endpoint::Jwks if request.method() == Method::GET => {
            with_cache_control(shared.sign_in.keys.jwks().to_response())
        }
        Endpoint::Jwks => method_not_allowed("GET"),
        Endpoint::IdpToken if signin::is_sign_in_grant(request.body()) => {
            signin::token(shared, request, fault, now)
        }
        Endpoint::IdpToken => token(shared, request, fault, now),
        Endpoint::IdpAuthorization => signin::authorization_page(shared, request, now),
        Endpoint::IdpSignIn => signin::sign_in_form(shared, request, fault, now),
        Endpoint::IdpDeviceAuthorization => signin::device_authorization(shared, request, now),
        Endpoint::IdpDeviceVerification => signin::device_verification(shared, request, now),
        Endpoint::IdpRevocation => signin::revocation(shared, request, now),
        _ => not_found(),
    }
}

fn metadata(
    shared: &Shared,
    request: &Request<Vec<u8>>,
    fault: Option<&Fault>,
) -> Response<Vec<u8>> {
    if request.uri().path() == OAUTH_METADATA && shared.settings().idp_oidc_only {
        return not_found();
    }
    if request.method() != Method::GET {
        return method_not_allowed("GET");
    }
    let mut document = shared
        .servers()
        .idp
        .metadata()
        .with_jwks_uri(shared.urls.idp_jwks_uri.as_str())
        .with_member("subject_types_supported", Value::from(vec!["public"]))
        .with_member(
            "id_token_signing_alg_values_supported",
            Value::from(vec![shared.identity.idp_key.algorithm()]),
        );
    for (name, value) in signin::metadata_members(shared) {
        document = document.with_member(name, value);
    }
    if fault == Some(&Fault::WrongIssuer) {
        document = document.with_member("issuer", Value::from(EVIL_ORIGIN));
    }
    metadata_response(document.to_json())
}

fn token(
    shared: &Shared,
    request: &Request<Vec<u8>>,
    fault: Option<&Fault>,
    now: SystemTime,
) -> Response<Vec<u8>> {
    if fault == Some(&Fault::DpopNonceLoop) {
        return crate::dpop::token_nonce_demand(shared.dpop_nonces.of(Server::Idp), now);
    }
    let mut outcome = match shared.servers().idp.process(request, now) {
        Ok(outcome) => outcome,
        Err(rejection) => return rejection.to_response(),
    };
    if let (Some(Fault::IdJag(id_jag_fault)), ExchangeOutcome::IdJag(minted)) =
        (fault, &mut outcome)
    {
        let broken = break_id_jag(
            &shared.identity.idp_key,
            minted.claims.clone(),
            *id_jag_fault,
            now,
        );
        minted.id_jag = IdJag::new(broken);
    }
    let response = outcome.to_response();
    match fault {
        Some(Fault::WrongIssuedTokenType) => edit_json(response, |body| {
            body.insert(
                "issued_token_type".into(),
                Value::from("urn:ietf:params:oauth:token-type:access_token"),
            );
        }),
        Some(Fault::BearerTokenType) => edit_json(response, |body| {
            body.insert("token_type".into(), Value::from("Bearer"));
        }),
        Some(Fault::RefreshToken) if response.status() == StatusCode::OK => {
            edit_json(response, |body| {
                body.insert(
                    "refresh_token".into(),
                    Value::from("rt-that-does-not-belong"),
                );
            })
        }
        Some(Fault::ErrorDescription(text)) => invalid_grant(text),
        Some(Fault::InsufficientUserAuthentication(max_age)) => {
            insufficient_user_authentication(*max_age)
        }
        _ => response,
    }
}

/// The minted ID-JAG with one thing wrong, re-signed with the IdP's key (or unsigned).
fn break_id_jag(
    key: &SigningKey,
    mut claims: Map<String, Value>,
    fault: IdJagFault,
    now: SystemTime,
) -> String {
    let mut header = Map::new();
    header.insert("alg".into(), Value::from(key.algorithm()));
    header.insert("typ".into(), Value::from(xaa::constants::ID_JAG_TYP));
    if let Some(kid) = key.kid() {
        header.insert("kid".into(), Value::from(kid));
    }
    match fault {
        IdJagFault::WrongAudience => {
            claims.insert("aud".into(), Value::from(format!("{EVIL_ORIGIN}/as")));
        }
        IdJagFault::WrongClientId => {
            claims.insert("client_id".into(), Value::from(WRONG_CLIENT_ID));
        }
        IdJagFault::WrongResource => {
            claims.insert("resource".into(), Value::from(format!("{EVIL_ORIGIN}/mcp")));
        }
        IdJagFault::WrongTyp => {
            header.insert("typ".into(), Value::from("JWT"));
        }
        IdJagFault::Expired => {
            let past = crate::users::unix_seconds(now).saturating_sub(EXPIRED_BY.as_secs());
            let lifetime = claims
                .get("exp")
                .and_then(Value::as_u64)
                .zip(claims.get("iat").and_then(Value::as_u64))
                .map_or(300, |(exp, iat)| exp.saturating_sub(iat));
            claims.insert("exp".into(), Value::from(past));
            claims.insert("iat".into(), Value::from(past.saturating_sub(lifetime)));
        }
        IdJagFault::DropCnf => {
            claims.remove("cnf");
        }
        IdJagFault::WrongCnfJkt => {
            claims.insert("cnf".into(), serde_json::json!({ "jkt": WRONG_JKT }));
        }
        IdJagFault::AlgNone => {
            header.insert("alg".into(), Value::from("none"));
            header.remove("kid");
            return format!(
                "{}.{}.",
                xaa::jwt::encode_segment(&header),
                xaa::jwt::encode_segment(&claims)
            );
        }
    }
    signed_under(key, &header, &claims).unwrap_or_default()
}

/// A compact JWS of `claims` under exactly `header`, even one that disagrees with the key
/// (RFC 7515 section 7.1): the core signs only headers it builds itself.
fn signed_under(
    key: &SigningKey,
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
) -> Option<String> {
    let signing_input = format!(
        "{}.{}",
        xaa::jwt::encode_segment(header),
        xaa::jwt::encode_segment(claims)
    );
    let signature = key.sign(signing_input.as_bytes()).ok()?;
    Some(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}
