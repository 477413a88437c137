//! What one MCP request carries for its token: `Authorization: Bearer` (RFC 6750 section 2.1),
//! or for a DPoP-bound token `Authorization: DPoP` and a fresh proof (RFC 9449 section 7.1);
//! and what the MCP server's answer means for that proof (section 9).

use std::fmt;
use std::time::SystemTime;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};

use super::Authorizer;
use crate::{AccessToken, DpopRefusal, Error, Purpose, Violation};

/// The header name of a DPoP proof (RFC 9449 section 4.1). This module is compiled without
/// the `dpop` feature too (a bearer token's headers remove a proof left from an earlier
/// attempt), where `crate::dpop::DPOP_HEADER` does not exist; a test keeps the two equal.
const DPOP: &str = "dpop";

/// The authorization headers of one MCP request. `Debug` shows neither value.
pub struct RequestAuthorization {
    authorization: HeaderValue,
    dpop: Option<HeaderValue>,
}

impl fmt::Debug for RequestAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestAuthorization")
            .field("dpop", &self.dpop.is_some())
            .finish_non_exhaustive()
    }
}

impl RequestAuthorization {
    /// Whether the request carries a DPoP proof.
    pub fn is_dpop(&self) -> bool {
        self.dpop.is_some()
    }

    /// Sets `Authorization` and, for a bound token, `DPoP` on `headers`, replacing what was
    /// there (a `DPoP` header left from an earlier attempt is removed for a bearer token).
    pub fn apply(self, headers: &mut HeaderMap) {
        headers.insert(AUTHORIZATION, self.authorization);
        match self.dpop {
            Some(proof) => {
                headers.insert(DPOP, proof);
            }
            None => {
                headers.remove(DPOP);
            }
        }
    }
}

/// What the MCP server's answer means for a DPoP proof.
#[derive(Debug)]
#[must_use]
pub enum DpopVerdict {
    /// A first `use_dpop_nonce`: send the request again once, with a fresh proof carrying the
    /// server's nonce (RFC 9449 section 9).
    RetryWithNonce,
    /// The proof was refused: final for the request.
    Refused(Error),
    /// Nothing about a proof: judge the answer with [`Authorizer::on_response`].
    NotAboutTheProof,
}

impl Authorizer {
    /// The authorization headers for a request with `method` to `uri` carrying exactly `body`
    /// and `token`, at `now`: `Authorization: Bearer` for a bearer token; for a bound token
    /// `Authorization: DPoP` and a fresh proof signed by the configured key, with `ath`, the
    /// server's nonce and, when configured, `content_digest` (RFC 9449 sections 4.2 and 7.1).
    ///
    /// A bound token without the key it is bound to is refused
    /// ([`DpopRefusal::BoundTokenWithoutKey`]): it is never sent as a bearer token.
    pub fn request_authorization(
        &self,
        token: &AccessToken,
        method: &Method,
        uri: &Uri,
        body: &[u8],
        now: SystemTime,
    ) -> Result<RequestAuthorization, Error> {
        let Some(jkt) = token.dpop_jkt() else {
            return Ok(RequestAuthorization {
                authorization: bearer(token)?,
                dpop: None,
            });
        };
        let refused = |refusal| Error::Dpop {
            purpose: None,
            refusal,
        };
        let binding = self
            .config()
            .dpop
            .as_ref()
            .filter(|binding| binding.jkt() == jkt)
            .ok_or_else(|| refused(DpopRefusal::BoundTokenWithoutKey))?;
        dpop_headers(binding, token, method, uri, body, now).map_err(refused)
    }

    /// Reads the MCP server's answer to a request that carried `token`: for a bound token, a
    /// `DPoP-Nonce` is remembered and a `401` DPoP challenge about the proof is told apart
    /// (RFC 9449 sections 7.1 and 9). Call it before [`on_response`](Self::on_response), and
    /// resend at most once on [`DpopVerdict::RetryWithNonce`].
    pub fn dpop_verdict(
        &self,
        token: &AccessToken,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> DpopVerdict {
        if token.dpop_jkt().is_none() {
            return DpopVerdict::NotAboutTheProof;
        }
        let Some(binding) = self.config().dpop.as_ref() else {
            return DpopVerdict::NotAboutTheProof;
        };
        let Ok(uri) = Uri::try_from(self.config().server_url.as_str()) else {
            return DpopVerdict::NotAboutTheProof;
        };
        resource_verdict(binding, &uri, status, headers)
    }
}

/// `Bearer <token>` (RFC 6750 section 2.1), marked sensitive so HTTP libraries keep it out of
/// their logs.
pub(crate) fn bearer(token: &AccessToken) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
        .map_err(|_| unusable_token())?;
    value.set_sensitive(true);
    Ok(value)
}

fn unusable_token() -> Error {
    Error::InvalidResponse {
        purpose: Purpose::JwtBearer,
        violation: Violation::InvalidField {
            field: "access_token",
            reason: "not a valid header value".into(),
        },
    }
}

#[cfg(feature = "dpop")]
fn dpop_headers(
    binding: &crate::dpop::DpopBinding,
    token: &AccessToken,
    method: &Method,
    uri: &Uri,
    body: &[u8],
    now: SystemTime,
) -> Result<RequestAuthorization, DpopRefusal> {
    let headers = binding.resource_headers(method, uri, body, token, now)?;
    Ok(RequestAuthorization {
        authorization: headers.authorization,
        dpop: Some(headers.dpop),
    })
}

#[cfg(not(feature = "dpop"))]
fn dpop_headers(
    binding: &crate::dpop_hook::Binding,
    _: &AccessToken,
    _: &Method,
    _: &Uri,
    _: &[u8],
    _: SystemTime,
) -> Result<RequestAuthorization, DpopRefusal> {
    match binding.never {}
}

#[cfg(feature = "dpop")]
fn resource_verdict(
    binding: &crate::dpop::DpopBinding,
    uri: &Uri,
    status: StatusCode,
    headers: &HeaderMap,
) -> DpopVerdict {
    use crate::dpop::ResourceAnswer;
    match binding.resource_answer(uri, status, headers) {
        ResourceAnswer::RetryWithNonce => DpopVerdict::RetryWithNonce,
        ResourceAnswer::Refused(refusal) => DpopVerdict::Refused(Error::Dpop {
            purpose: None,
            refusal,
        }),
        _ => DpopVerdict::NotAboutTheProof,
    }
}

#[cfg(not(feature = "dpop"))]
fn resource_verdict(
    binding: &crate::dpop_hook::Binding,
    _: &Uri,
    _: StatusCode,
    _: &HeaderMap,
) -> DpopVerdict {
    match binding.never {}
}

#[cfg(all(test, feature = "dpop"))]
mod tests {
    #[test]
    fn the_header_name_is_the_proof_layers() {
        assert_eq!(super::DPOP, crate::dpop::DPOP_HEADER);
    }
}
