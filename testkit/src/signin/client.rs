//! Client authentication at the sign-in endpoints (RFC 6749 section 2.3), under the IdP
//! client's method in force: `none` (the `client_id` alone, RFC 6749 section 2.1 public
//! client), `client_secret_basic`, `client_secret_post`, or `private_key_jwt` (RFC 7523
//! sections 2.2 and 3, OpenID Connect Core 1.0 section 9).

use std::time::{Duration, SystemTime};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use serde_json::Value;
use xaa::constants::CLIENT_ASSERTION_TYPE_JWT_BEARER;
use xaa::jose::{AlgorithmAllowList, verify_jws};
use xaa::server::ClientAuthMethod;

use super::params::Params;
use super::responses::OAuthError;
use crate::state::Shared;

/// The authenticated client's id, or why not.
pub(crate) fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    params: &Params,
    now: SystemTime,
) -> Result<String, OAuthError> {
    let registered = &shared.identity.idp_client;
    let method = shared.settings().idp_client_auth;
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(crate::form::parse_basic_authorization);
    let body_secret = params.optional("client_secret")?;
    let body_id = params.optional("client_id")?;
    let (client_id, secret) = match method {
        ClientAuthMethod::None => {
            if basic.is_some() || body_secret.is_some() {
                return Err(OAuthError::invalid_client(
                    "this client is public: it must send its client_id and no secret",
                ));
            }
            (body_id.map(str::to_owned), None)
        }
        ClientAuthMethod::ClientSecretBasic => match basic {
            Some((id, secret)) if body_secret.is_none() => (Some(id), Some(secret)),
            _ => {
                return Err(OAuthError::invalid_client(
                    "this client must authenticate with HTTP Basic (client_secret_basic)",
                ));
            }
        },
        ClientAuthMethod::ClientSecretPost => match body_secret {
            Some(secret) if basic.is_none() => (
                body_id.map(str::to_owned),
                Some(xaa::ClientSecret::new(secret)),
            ),
            _ => {
                return Err(OAuthError::invalid_client(
                    "this client must send client_id and client_secret in the body \
                     (client_secret_post)",
                ));
            }
        },
        ClientAuthMethod::PrivateKeyJwt => {
            let assertion_type = params.optional("client_assertion_type")?;
            let assertion = params.optional("client_assertion")?;
            match assertion {
                Some(assertion)
                    if basic.is_none()
                        && body_secret.is_none()
                        && assertion_type == Some(CLIENT_ASSERTION_TYPE_JWT_BEARER) =>
                {
                    (Some(verify_assertion(shared, assertion, now)?), None)
                }
                _ => {
                    return Err(OAuthError::invalid_client(
                        "this client must authenticate with a client assertion \
                         (private_key_jwt)",
                    ));
                }
            }
        }
        _ => {
            return Err(OAuthError::invalid_client(
                "the sign-in endpoints accept none, client_secret_basic, client_secret_post \
                 and private_key_jwt",
            ));
        }
    };
    let Some(client_id) = client_id else {
        return Err(OAuthError::invalid_client("the request names no client"));
    };
    if client_id != registered.client_id {
        return Err(OAuthError::invalid_client("unknown client"));
    }
    if body_id.is_some_and(|id| id != client_id) {
        return Err(OAuthError::invalid_client(
            "the client_id in the body is not the authenticated client",
        ));
    }
    if let Some(secret) = secret {
        let matches = verify_slices_are_equal(
            secret.expose_secret().as_bytes(),
            registered.secret.expose_secret().as_bytes(),
        )
        .is_ok();
        if !matches {
            return Err(OAuthError::invalid_client("client authentication failed"));
        }
    }
    Ok(client_id)
}

/// The longest an assertion may live: a client assertion is for one request.
const MAX_ASSERTION_LIFETIME: Duration = Duration::from_secs(300);

/// The client id of a valid `private_key_jwt` assertion (RFC 7523 section 3): signed by the
/// registered key under an asymmetric algorithm, `iss` and `sub` the client, `aud` the
/// issuer or the token endpoint, `exp` in the future and at most five minutes away, and a
/// `jti` never seen before.
fn verify_assertion(
    shared: &Shared,
    assertion: &str,
    now: SystemTime,
) -> Result<String, OAuthError> {
    let registered = &shared.identity.idp_client;
    let refused =
        |why: &str| OAuthError::invalid_client(format!("client assertion refused: {why}"));
    verify_jws(
        assertion,
        &registered.key.key_ring(),
        &AlgorithmAllowList::asymmetric(),
    )
    .map_err(|_| refused("its signature does not verify with the registered key"))?;
    let jwt = xaa::jwt::peek(assertion).map_err(|_| refused("it is not a JWT"))?;
    let client_id = registered.client_id.as_str();
    if jwt.claim_str("iss") != Some(client_id) || jwt.claim_str("sub") != Some(client_id) {
        return Err(refused("iss and sub must be the client id"));
    }
    let audiences = [
        shared.urls.idp_issuer.as_str(),
        shared.urls.idp_token_endpoint.as_str(),
    ];
    let aud_ok = match jwt.claims.get("aud") {
        Some(Value::String(aud)) => audiences.contains(&aud.as_str()),
        Some(Value::Array(values)) => values
            .iter()
            .any(|aud| aud.as_str().is_some_and(|aud| audiences.contains(&aud))),
        _ => false,
    };
    if !aud_ok {
        return Err(refused("aud must be the issuer or the token endpoint"));
    }
    let now_seconds = crate::users::unix_seconds(now);
    let exp = jwt
        .claim_time("exp")
        .ok_or_else(|| refused("exp is missing"))?;
    if exp <= now_seconds || exp > now_seconds + MAX_ASSERTION_LIFETIME.as_secs() {
        return Err(refused("exp must be in the next five minutes"));
    }
    let jti = jwt
        .claim_str("jti")
        .ok_or_else(|| refused("jti is missing"))?;
    let expires_at = now + Duration::from_secs(exp - now_seconds);
    if !shared
        .sign_in
        .store()
        .first_use_of_assertion(jti, expires_at, now)
    {
        return Err(refused("its jti was used before"));
    }
    Ok(client_id.to_owned())
}
