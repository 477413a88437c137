//! What a sign-in yields, and the refusals of the IdP's token endpoint common to its grants.

use std::time::SystemTime;

use super::id_token_claims::IdTokenClaims;
use super::token_response::Tokens;
use crate::json::saturating_add;
use crate::wire::token_endpoint_failure;
use crate::{AccessToken, Error, ErrorCode, HttpResponse, IdToken, Purpose, RefreshToken, Scope};

/// A completed sign-in: the ID token, checked, with its claims, and the other tokens the IdP
/// issued. Keep [`refresh_token`](Self::refresh_token) and [`claims`](Self::claims) to renew.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SignIn {
    /// The ID token: the subject token of the enterprise flow.
    pub id_token: IdToken,
    /// Its checked claims.
    pub claims: IdTokenClaims,
    /// `access_token` and its `token_type`, when issued.
    pub access_token: Option<(AccessToken, String)>,
    /// `refresh_token`, when issued.
    pub refresh_token: Option<RefreshToken>,
    /// When the access token expires, from `expires_in`.
    pub access_token_expires_at: Option<SystemTime>,
    /// The scope granted, when the IdP said.
    pub scope: Option<Scope>,
}

impl SignIn {
    /// The sign-in from tokens whose ID token was accepted with `claims`.
    pub(crate) fn from_tokens(
        now: SystemTime,
        tokens: Tokens,
        claims: Option<IdTokenClaims>,
    ) -> Result<Self, Error> {
        let (Some(id_token), Some(claims)) = (tokens.id_token, claims) else {
            return Err(Error::Misuse(
                "a sign-in finished without a checked ID token",
            ));
        };
        Ok(Self {
            id_token,
            claims,
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            access_token_expires_at: tokens
                .expires_in
                .map(|lifetime| saturating_add(now, lifetime)),
            scope: tokens.scope,
        })
    }
}

/// A non-2xx answer of the token endpoint: `invalid_grant` means the grant (code, device code,
/// refresh token) is spent or revoked and the person must sign in again (RFC 6749 section
/// 5.2); anything else is the OAuth error as sent, a redirect or an unexpected status.
pub(crate) fn token_refusal(purpose: Purpose, response: &HttpResponse) -> Error {
    match token_endpoint_failure(purpose, response) {
        Error::OAuth {
            purpose,
            status,
            error,
        } if error.code == ErrorCode::InvalidGrant => Error::ReauthenticationRequired {
            purpose,
            status,
            error,
        },
        other => other,
    }
}
