//! Proofs on token requests (RFC 9449 section 5) and the one retry a token endpoint's nonce
//! demand gets (section 8).

use std::time::SystemTime;

use http::HeaderValue;

use super::binding::DpopBinding;
use crate::dpop::DPOP_HEADER;
use crate::wire::oauth_error;
use crate::{DpopRefusal, ErrorCode, HttpRequest, HttpResponse};

/// What a token endpoint's answer means for the proof that went with the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenAnswer {
    /// `400` `use_dpop_nonce` with a usable `DPoP-Nonce`: send the request again with a proof
    /// that carries it (RFC 9449 section 8).
    RetryWithNonce,
    /// `400` `use_dpop_nonce` without a usable nonce: nothing to retry with.
    NonceMissing,
    /// Anything else: the step judges the answer.
    Judge,
}

impl DpopBinding {
    /// Adds a `DPoP` header to a token request: `htm` and `htu` of the request, `iat` now, and
    /// the nonce the server last supplied (RFC 9449 sections 4.2 and 5). A token request
    /// carries no access token, so no `ath`.
    pub(crate) fn attach_token_proof(
        &self,
        request: &mut HttpRequest,
        now: SystemTime,
    ) -> Result<(), DpopRefusal> {
        let proof = self.proof(request.method(), request.uri(), None, None, now)?;
        let value =
            HeaderValue::from_str(proof.as_str()).map_err(|_| DpopRefusal::ProofNotMade {
                reason: "the proof is not a valid header value".into(),
            })?;
        request.headers_mut().insert(DPOP_HEADER, value);
        Ok(())
    }

    /// Reads a token endpoint's answer to a request that carried a proof: its `DPoP-Nonce` is
    /// remembered whatever the status (section 8.2), and a nonce demand is told apart.
    pub(crate) fn token_answer(
        &self,
        request_uri: &http::Uri,
        response: &HttpResponse,
    ) -> TokenAnswer {
        let fresh_nonce = self.observe_nonce(request_uri, response.headers());
        if response.status() != http::StatusCode::BAD_REQUEST {
            return TokenAnswer::Judge;
        }
        match oauth_error(response.body()) {
            Some(error) if error.code == ErrorCode::UseDpopNonce => {
                if fresh_nonce {
                    TokenAnswer::RetryWithNonce
                } else {
                    TokenAnswer::NonceMissing
                }
            }
            _ => TokenAnswer::Judge,
        }
    }
}
