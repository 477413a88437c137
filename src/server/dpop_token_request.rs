//! A DPoP proof at a token endpoint (RFC 9449 section 5), as the IdP's token exchange and the
//! MCP authorization server's grant both read it: `htm` `POST`, `htu` the configured token
//! endpoint, the server's nonce when it supplies nonces (section 8).

use std::time::SystemTime;

use http::{Method, Request};
use url::Url;

use super::dpop_error::DpopError;
use super::dpop_nonce::DpopNonces;
use super::dpop_validator::{DpopValidator, ProofExpectations, ValidatedProof};
use super::rejection::{RejectReason, Rejection};
use super::replay::TokenUse;
use crate::dpop::DPOP_HEADER;

/// How a token endpoint checks proofs: the validator if it checks any, the server's nonces if
/// it supplies them, and whether this request must carry a proof.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TokenEndpointDpop<'a> {
    pub(crate) validator: Option<&'a DpopValidator>,
    pub(crate) nonces: Option<&'a DpopNonces>,
    pub(crate) required: bool,
}

/// A proof that passed every check but replay.
#[derive(Clone, Debug)]
pub(crate) struct CheckedProof {
    /// The proof; its `jkt` is what a token issued against it is bound to.
    pub(crate) proof: ValidatedProof,
    /// The use of its `jti`, for the replay step (decisions.md D29).
    pub(crate) token_use: TokenUse,
    /// The server's current nonce, supplied with a refusal of the proof (RFC 9449 section 8).
    pub(crate) current_nonce: Option<String>,
    /// The current nonce, when the proof carried an older one still in its grace period: the
    /// successful response supplies it in `DPoP-Nonce` (RFC 9449 section 8.2).
    pub(crate) next_nonce: Option<String>,
}

impl TokenEndpointDpop<'_> {
    /// Checks the request's proof (`htm` `POST`, `htu` `token_endpoint`) but for replay, which
    /// is left to the replay step with the returned use: `Ok(None)` when
    /// it carries none and none is required, or when the server checks no proofs (the `DPoP`
    /// header is then not read). A refused proof is `invalid_dpop_proof`, and so is a required
    /// one that is missing; a missing or stale nonce is `use_dpop_nonce` with the current nonce
    /// in `DPoP-Nonce` (RFC 9449 sections 5 and 8). A server that requires proofs and checks
    /// none refuses every request (`server_error`): it cannot do what it was told.
    pub(crate) fn check(
        &self,
        request: &Request<Vec<u8>>,
        token_endpoint: &str,
        now: SystemTime,
    ) -> Result<Option<CheckedProof>, Box<Rejection>> {
        let Some(validator) = self.validator else {
            if self.required {
                return Err(RejectReason::Issuance(
                    "DPoP proofs are required but no proof validator is configured".into(),
                )
                .into());
            }
            return Ok(None);
        };
        let headers = request.headers().get_all(DPOP_HEADER);
        if headers.iter().next().is_none() {
            if self.required {
                return Err(self.missing(now));
            }
            return Ok(None);
        }
        let uri = Url::parse(token_endpoint).map_err(|_| {
            RejectReason::Issuance("the configured token endpoint is not an absolute URL".into())
        })?;
        let accepted = self.nonces.map(|nonces| nonces.accepted(now));
        let mut expected =
            ProofExpectations::new(&Method::POST, &uri, now).with_body(request.body());
        if let Some(accepted) = &accepted {
            expected = expected.with_nonce(&accepted.current);
            if let Some(previous) = &accepted.previous {
                expected = expected.with_previous_nonce(previous);
            }
        }
        let current = accepted.as_ref().map(|accepted| accepted.current.as_str());
        match validator.validate_proof_deferring_replay(headers, &expected) {
            Ok((proof, token_use)) => {
                let next_nonce = current
                    .filter(|current| proof.nonce.as_deref() != Some(*current))
                    .map(str::to_owned);
                Ok(Some(CheckedProof {
                    proof,
                    token_use,
                    current_nonce: current.map(str::to_owned),
                    next_nonce,
                }))
            }
            Err(error) => Err(refusal(error, current)),
        }
    }

    /// The refusal of a request that must carry a proof and carries none: `invalid_dpop_proof`
    /// (RFC 9449 section 5), with the current nonce when the server supplies nonces, so that
    /// the client's next try can carry it.
    fn missing(&self, now: SystemTime) -> Box<Rejection> {
        let current = self.nonces.map(|nonces| nonces.current(now));
        refusal(DpopError::Missing, current.as_deref())
    }
}

/// A rejection for `error`, supplying `nonce` in `DPoP-Nonce` when there is one.
fn refusal(error: DpopError, nonce: Option<&str>) -> Box<Rejection> {
    let mut rejection = Rejection::new(RejectReason::DpopProof(error));
    rejection.dpop_nonce = nonce.map(str::to_owned);
    Box::new(rejection)
}
