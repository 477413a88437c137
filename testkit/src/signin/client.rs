//! Client authentication at the sign-in endpoints (RFC 6749 section 2.3), under the IdP
//! client's method in force: `none` (the `client_id` alone, RFC 6749 section 2.1 public
//! client), `client_secret_basic` or `client_secret_post`. `private_key_jwt` is not offered
//! here: such a client is refused with `invalid_client`.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use xaa::server::ClientAuthMethod;

use super::params::Params;
use super::responses::OAuthError;
use crate::state::Shared;

/// The authenticated client's id, or why not.
pub(crate) fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    params: &Params,
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
        _ => {
            return Err(OAuthError::invalid_client(
                "the sign-in endpoints accept only none, client_secret_basic and \
                 client_secret_post",
            ));
        }
    };
    let Some(client_id) = client_id.filter(|id| *id == registered.client_id) else {
        return Err(OAuthError::invalid_client("unknown client"));
    };
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
