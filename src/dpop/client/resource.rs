//! Requests to the MCP server with a DPoP-bound token (RFC 9449 section 7): the two headers,
//! and what the server's `401` means for the proof.

use std::fmt;
use std::time::SystemTime;

use http::{HeaderMap, HeaderValue, StatusCode};

use super::binding::DpopBinding;
use crate::challenge::{AuthScheme, BearerChallenge, from_headers};
use crate::dpop::DPOP_HEADER;
use crate::error::sanitize;
use crate::{AccessToken, DpopRefusal, ErrorCode};

/// The headers of one request to a protected resource with a bound token: `Authorization:
/// DPoP <token>` and a fresh `DPoP` proof with `ath` (RFC 9449 section 7.1). `Debug` shows
/// neither: each lets its holder make that one request.
pub struct ResourceHeaders {
    /// The `Authorization` value, marked sensitive.
    pub authorization: HeaderValue,
    /// The `DPoP` value.
    pub dpop: HeaderValue,
}

impl fmt::Debug for ResourceHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResourceHeaders([redacted])")
    }
}

impl ResourceHeaders {
    /// Puts both headers on `headers`, replacing any `Authorization` and `DPoP` there.
    pub fn apply(self, headers: &mut HeaderMap) {
        headers.insert(http::header::AUTHORIZATION, self.authorization);
        headers.insert(DPOP_HEADER, self.dpop);
    }
}

/// What the MCP server's answer means for the proof (RFC 9449 sections 7.1 and 9).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResourceAnswer {
    /// `401` with a `DPoP` challenge `error="use_dpop_nonce"` and a usable `DPoP-Nonce`: send
    /// the request once more with a fresh proof (section 9).
    RetryWithNonce,
    /// A `DPoP` challenge refused the request: `use_dpop_nonce` without a usable nonce, or
    /// `invalid_dpop_proof`. Final for this request.
    Refused(DpopRefusal),
    /// Nothing about the proof: the caller reads the answer as it would a bearer one.
    Other,
}

impl DpopBinding {
    /// The two headers for a request with `method` to `uri` carrying `body` (the exact bytes
    /// that will be sent) and the bound `token`, made at `now`: `ath` always, `nonce` when the
    /// server supplied one, `content_digest` when [`with_content_digest`](Self::with_content_digest)
    /// is on (RFC 9449 sections 4.2 and 7.1).
    pub fn resource_headers(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        body: &[u8],
        token: &AccessToken,
        now: SystemTime,
    ) -> Result<ResourceHeaders, DpopRefusal> {
        let body = self.sends_content_digest().then_some(body);
        let proof = self.proof(method, uri, Some(token), body, now)?;
        let unusable = |what: &str| DpopRefusal::ProofNotMade {
            reason: format!("the {what} is not a valid header value"),
        };
        let mut authorization = HeaderValue::from_str(&format!(
            "{} {}",
            AuthScheme::DPoP.as_str(),
            token.expose_secret()
        ))
        .map_err(|_| unusable("access token"))?;
        authorization.set_sensitive(true);
        let dpop = HeaderValue::from_str(proof.as_str()).map_err(|_| unusable("proof"))?;
        Ok(ResourceHeaders {
            authorization,
            dpop,
        })
    }

    /// Reads the MCP server's answer to a request from `uri` with a proof: a `DPoP-Nonce` is
    /// remembered whatever the status (section 9), and a `401` whose `DPoP` challenge names a
    /// proof problem is told apart.
    pub fn resource_answer(
        &self,
        uri: &http::Uri,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> ResourceAnswer {
        let fresh_nonce = self.observe_nonce(uri, headers);
        if status != StatusCode::UNAUTHORIZED {
            return ResourceAnswer::Other;
        }
        let Ok(challenges) = from_headers(headers) else {
            return ResourceAnswer::Other;
        };
        let dpop = challenges
            .iter()
            .filter_map(BearerChallenge::from_challenge)
            .find(|challenge| challenge.scheme == AuthScheme::DPoP);
        let Some(challenge) = dpop else {
            return ResourceAnswer::Other;
        };
        match challenge.error {
            Some(ErrorCode::UseDpopNonce) if fresh_nonce => ResourceAnswer::RetryWithNonce,
            Some(ErrorCode::UseDpopNonce) => ResourceAnswer::Refused(DpopRefusal::NonceMissing),
            Some(ErrorCode::InvalidDpopProof) => {
                ResourceAnswer::Refused(DpopRefusal::ProofRefused {
                    description: challenge.error_description.as_deref().map(sanitize),
                })
            }
            _ => ResourceAnswer::Other,
        }
    }
}
