//! An ID token checked end to end: its signature against the IdP's keys under the allowed
//! algorithms, fetching the IdP's JWK Set once when no key has the token's `kid`, then its
//! claims (OpenID Connect Core 1.0 section 3.1.3.7; docs/signin.md, "Keys").

use std::time::SystemTime;

use url::Url;

use super::id_token_claims::{IdTokenClaims, IdTokenExpectations, check_claims};
use super::keys::IdpKeys;
use super::provider::SignInClient;
use super::token_response::json_body;
use crate::display_safety::sanitize;
use crate::id_token_error::IdTokenError;
use crate::jose::{AlgorithmAllowList, JwsError, verify_jws};
use crate::jwt::{decode_object, jws_segments};
use crate::wire::{get_json, redirect, unexpected_status};
use crate::{Error, HttpRequest, HttpResponse, IdToken, Policy, Purpose, Violation};

/// What checking an ID token needs: the IdP's keys and where to fetch them, the algorithms
/// allowed, and what the claims must say.
#[derive(Debug)]
pub(crate) struct IdTokenCheck {
    keys: IdpKeys,
    jwks_uri: Url,
    algorithms: AlgorithmAllowList,
    policy: Policy,
    pub(crate) expected: IdTokenExpectations,
}

/// How an attempt ended short of an error.
pub(crate) enum Attempt {
    /// Signature and claims accepted.
    Accepted(IdTokenClaims),
    /// No key has the token's `kid`: fetch the JWK Set, then try once more.
    NeedKeys,
}

impl IdTokenCheck {
    /// The check of ID tokens from `client`'s IdP; its `jwks_uri` must be present and pass the
    /// URL policy.
    pub(crate) fn new(
        client: &SignInClient,
        keys: IdpKeys,
        expected: IdTokenExpectations,
    ) -> Result<Self, Error> {
        let jwks_uri = client.endpoint(
            Purpose::IdpKeys,
            "jwks_uri",
            client.metadata.jwks_uri.as_deref(),
        )?;
        Ok(Self {
            keys,
            jwks_uri,
            algorithms: client.algorithms.clone(),
            policy: client.policy.clone(),
            expected,
        })
    }

    /// Checks `token`. With `may_fetch`, an unknown `kid` asks for the key set instead of
    /// failing; the `alg` is judged first, so a token with `alg` `none` never causes a fetch.
    pub(crate) fn attempt(
        &self,
        purpose: Purpose,
        token: &IdToken,
        now: SystemTime,
        may_fetch: bool,
    ) -> Result<Attempt, Error> {
        let refused = |error| Error::InvalidResponse {
            purpose,
            violation: Violation::IdToken(error),
        };
        match verify_jws(
            token.expose_secret(),
            self.keys.ring().as_ref(),
            &self.algorithms,
        ) {
            Ok(()) => {}
            Err(JwsError::UnknownKey { .. }) if may_fetch => return Ok(Attempt::NeedKeys),
            Err(JwsError::Malformed) => return Err(refused(IdTokenError::Malformed)),
            Err(error) => return Err(refused(IdTokenError::Signature(error))),
        }
        let (_, payload) =
            jws_segments(token.expose_secret()).map_err(|_| refused(IdTokenError::Malformed))?;
        let claims = decode_object(payload).map_err(|_| refused(IdTokenError::Malformed))?;
        check_claims(&claims, &self.expected, now)
            .map(Attempt::Accepted)
            .map_err(refused)
    }

    /// The GET of the IdP's JWK Set: no credentials.
    pub(crate) fn keys_request(&self) -> HttpRequest {
        get_json(&self.jwks_uri)
    }

    /// Loads the keys of the JWK Set response: a 2xx, JSON, within the body cap.
    pub(crate) fn keys_response(&self, response: &HttpResponse) -> Result<(), Error> {
        let purpose = Purpose::IdpKeys;
        if let Some(error) = redirect(purpose, response) {
            return Err(error);
        }
        if !response.status().is_success() {
            return Err(unexpected_status(purpose, response));
        }
        let invalid = |violation| Error::InvalidResponse { purpose, violation };
        let body = json_body(response, &self.policy).map_err(invalid)?;
        self.keys.load(body).map_err(|reason| {
            invalid(Violation::InvalidField {
                field: "keys",
                reason: sanitize(&reason),
            })
        })
    }
}
