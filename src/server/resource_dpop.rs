//! A resource server's (MCP server's) check of a request with a DPoP-bound access token (RFC
//! 9449 section 7): the `DPoP` authorization scheme, the proof for this request (`htm`, `htu`,
//! `ath`, `iat`, the key the token is bound to, the server's nonce), and `content_digest` of
//! MCP's draft DPoP extension; a refusal renders the `401` with a `DPoP` challenge.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use http::header::WWW_AUTHENTICATE;
use http::{Request, Response, StatusCode};
use url::Url;

use super::authorization_header::authorization_credentials;
use super::dpop_error::DpopError;
use super::dpop_nonce::DpopNonces;
use super::dpop_validator::{DpopValidator, ProofExpectations, ValidatedProof};
use super::pending_access::PendingAccess;
use super::replay::ReplayError;
use super::replay_step::{ReplayChecks, ReplayVerdict, Unsettled};
use super::response::{header_value, quoted};
use super::verdict_fault::VerdictFault;
use crate::AccessToken;
use crate::dpop::{DPOP_HEADER, DPOP_NONCE_HEADER, is_asymmetric};

/// The authorization scheme a token was presented with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenScheme {
    /// `Bearer` (RFC 6750 section 2.1).
    Bearer,
    /// `DPoP` (RFC 9449 section 7.1): the token is bound to a key and a proof goes with it.
    Dpop,
}

/// The access token of a request and the scheme it came with. Its `Debug` shows the scheme
/// only.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PresentedToken {
    /// The scheme.
    pub scheme: TokenScheme,
    /// The token.
    pub token: AccessToken,
}

impl fmt::Debug for PresentedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresentedToken")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

/// The access token of a request, from its single `Authorization` header, with the `Bearer`
/// (RFC 6750 section 2.1) or `DPoP` (RFC 9449 section 7.1) scheme, either compared without
/// regard to case (RFC 9110 section 11.1). `None` without one such header.
pub fn presented_token<B>(request: &Request<B>) -> Option<PresentedToken> {
    let (scheme, token) = authorization_credentials(request)?;
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        TokenScheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        TokenScheme::Dpop
    } else {
        return None;
    };
    Some(PresentedToken {
        scheme,
        token: AccessToken::new(token),
    })
}

/// Why a resource server refused a request's token or proof.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopResourceFault {
    /// A token bound to a key was presented with the `Bearer` scheme (RFC 9449 section 7.2:
    /// a bound token must come with the `DPoP` scheme and a proof).
    #[error(
        "the access token is bound to a DPoP key and must be presented with the DPoP scheme and a proof (RFC 9449 section 7.2)"
    )]
    BearerWithBoundToken,
    /// A token bound to no key was presented with the `DPoP` scheme (RFC 9449 section 7.1:
    /// the scheme is for bound tokens).
    #[error(
        "the access token is not bound to a DPoP key and cannot be presented with the DPoP scheme (RFC 9449 section 7.1)"
    )]
    UnboundTokenWithDpop,
    /// This resource accepts only DPoP-bound tokens and the token is a bearer token.
    #[error("this resource accepts only DPoP-bound access tokens (RFC 9449 section 7.1)")]
    DpopRequired,
    /// The proof was refused, or its nonce is missing or stale.
    #[error("{0}")]
    Proof(DpopError),
    /// The host's replay verdicts do not answer the proof's use (decisions.md D29): a fault
    /// of the host, answered 500.
    #[error("{0}")]
    ReplayVerdicts(VerdictFault),
}

impl DpopResourceFault {
    /// The error code of the challenge: `invalid_token` for the token and the scheme (RFC 6750
    /// section 3.1), the proof's code otherwise: `invalid_dpop_proof`, `use_dpop_nonce`, or
    /// `temporarily_unavailable` when the replay store is full (RFC 9449 sections 7.1 and 9).
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::Proof(error) => error.error_code(),
            Self::ReplayVerdicts(_) => "server_error",
            _ => "invalid_token",
        }
    }
}

/// A refused request: the fault, and the response to send.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DpopResourceRefusal {
    /// What was refused.
    pub fault: DpopResourceFault,
    /// The status: 401, 503 when the replay store is full or could not answer, 500 when the
    /// host's replay verdicts do not answer the proof's use (decisions.md D23, D29).
    pub status: StatusCode,
    /// The `WWW-Authenticate` value: `DPoP error="...", error_description="...",
    /// algs="..."` (RFC 9449 section 7.1), with `resource_metadata` when configured (RFC 9728
    /// section 5.1). `None` with a 503.
    pub www_authenticate: Option<String>,
    /// The `DPoP-Nonce` sent: the nonce the next proof must carry (RFC 9449 section 9).
    pub dpop_nonce: Option<String>,
}

impl DpopResourceRefusal {
    /// The response: the status, `WWW-Authenticate`, `DPoP-Nonce` when set, an empty body.
    pub fn to_response(&self) -> Response<Vec<u8>> {
        let mut response = Response::new(Vec::new());
        *response.status_mut() = self.status;
        if let Some(challenge) = &self.www_authenticate {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, header_value(challenge));
        }
        if let Some(nonce) = &self.dpop_nonce {
            response
                .headers_mut()
                .insert(DPOP_NONCE_HEADER, header_value(nonce));
        }
        response
    }
}

/// A request the resource server may serve.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DpopAccess {
    /// The proof, for a DPoP-bound token; `None` for a bearer token.
    pub proof: Option<ValidatedProof>,
    /// The nonce to supply in `DPoP-Nonce` on the response: the current one, when the proof
    /// carried the previous one (RFC 9449 sections 8.2 and 9).
    pub dpop_nonce: Option<String>,
}

impl DpopAccess {
    /// Adds `DPoP-Nonce` to the response when a newer nonce is to be supplied.
    pub fn apply<B>(&self, response: &mut Response<B>) {
        if let Some(nonce) = &self.dpop_nonce {
            response
                .headers_mut()
                .insert(DPOP_NONCE_HEADER, header_value(nonce));
        }
    }
}

/// Checks requests at a resource server that accepts DPoP-bound access tokens (RFC 9449
/// section 7).
///
/// The host reads the token with [`presented_token`], validates it as it validates any token
/// (signature or introspection, audience, expiry, scope) and learns from it the key it is
/// bound to (`cnf.jkt`, section 6), then calls [`check`](Self::check).
#[derive(Clone, Debug)]
pub struct DpopResourceGuard {
    validator: DpopValidator,
    nonces: Option<Arc<DpopNonces>>,
    require_dpop: bool,
    require_content_digest: bool,
    resource_metadata: Option<String>,
}

impl DpopResourceGuard {
    /// A guard checking proofs with `validator` (its `iat` window, 5 minutes either way by
    /// default, and its replay store); bearer tokens stay accepted, `content_digest` is
    /// checked when present, and no nonce is required.
    pub fn new(validator: DpopValidator) -> Self {
        Self {
            validator,
            nonces: None,
            require_dpop: false,
            require_content_digest: false,
            resource_metadata: None,
        }
    }

    /// Requires proofs to carry a nonce from `nonces` (RFC 9449 section 9).
    pub fn with_nonces(mut self, nonces: Arc<DpopNonces>) -> Self {
        self.nonces = Some(nonces);
        self
    }

    /// Refuses bearer tokens: only DPoP-bound tokens are served.
    pub fn requiring_dpop(mut self) -> Self {
        self.require_dpop = true;
        self
    }

    /// Refuses proofs without `content_digest` (MCP's draft DPoP extension).
    pub fn requiring_content_digest(mut self) -> Self {
        self.require_content_digest = true;
        self
    }

    /// Names the protected-resource metadata in challenges (RFC 9728 section 5.1).
    pub fn with_resource_metadata(mut self, url: impl Into<String>) -> Self {
        self.resource_metadata = Some(url.into());
        self
    }

    /// Checks a request received at `uri` (absolute, as the client addressed it) carrying
    /// `presented`, whose token the host found bound to `bound_jkt` (its `cnf.jkt`, `None`
    /// for a bearer token), at `now`:
    ///
    /// - a bound token with the `Bearer` scheme is refused (RFC 9449 section 7.2), as is an
    ///   unbound one with `DPoP` (section 7.1), and a bearer token when DPoP is required;
    /// - with `DPoP`, the proof is checked (section 4.3 and 7.1): `htm` the request's method,
    ///   `htu` `uri`, `ath` the token's hash, `iat` within the window, the key the token's
    ///   `cnf.jkt`, the nonce, `content_digest` the digest of the exact body when present or
    ///   required, and its `jti` not seen before.
    ///
    /// Runs the replay step itself against the validator's replay store.
    pub fn check(
        &self,
        request: &Request<Vec<u8>>,
        uri: &Url,
        presented: &PresentedToken,
        bound_jkt: Option<&str>,
        now: SystemTime,
    ) -> Result<DpopAccess, Box<DpopResourceRefusal>> {
        let pending = self.begin(request, uri, presented, bound_jkt, now)?;
        let verdicts = pending
            .checks()
            .check_in(self.validator.replay_store(), now);
        self.finish(pending, &verdicts)
    }

    /// [`check`](Self::check) up to the replay step (decisions.md D29): the access that
    /// awaits only the proof's `jti` check, whose use [`PendingAccess::checks`] lists (none
    /// for a bearer token). The host registers it with its store and hands the verdicts to
    /// [`finish`](Self::finish).
    pub fn begin(
        &self,
        request: &Request<Vec<u8>>,
        uri: &Url,
        presented: &PresentedToken,
        bound_jkt: Option<&str>,
        now: SystemTime,
    ) -> Result<PendingAccess, Box<DpopResourceRefusal>> {
        let bound_jkt = match (presented.scheme, bound_jkt) {
            (TokenScheme::Bearer, Some(_)) => {
                return Err(self.refusal(DpopResourceFault::BearerWithBoundToken, None));
            }
            (TokenScheme::Bearer, None) if self.require_dpop => {
                return Err(self.refusal(DpopResourceFault::DpopRequired, None));
            }
            (TokenScheme::Bearer, None) => {
                return Ok(PendingAccess {
                    checks: ReplayChecks::default(),
                    access: DpopAccess {
                        proof: None,
                        dpop_nonce: None,
                    },
                    current_nonce: None,
                });
            }
            (TokenScheme::Dpop, None) => {
                return Err(self.refusal(DpopResourceFault::UnboundTokenWithDpop, None));
            }
            (TokenScheme::Dpop, Some(jkt)) => jkt,
        };
        let accepted = self.nonces.as_ref().map(|nonces| nonces.accepted(now));
        let current = accepted.as_ref().map(|accepted| accepted.current.as_str());
        let mut expected = ProofExpectations::new(request.method(), uri, now)
            .with_access_token(&presented.token)
            .with_jkt(bound_jkt)
            .with_body(request.body());
        if self.require_content_digest {
            expected = expected.requiring_content_digest();
        }
        if let Some(accepted) = &accepted {
            expected = expected.with_nonce(&accepted.current);
            if let Some(previous) = &accepted.previous {
                expected = expected.with_previous_nonce(previous);
            }
        }
        let (proof, token_use) = self
            .validator
            .validate_proof_deferring_replay(request.headers().get_all(DPOP_HEADER), &expected)
            .map_err(|error| self.refusal(DpopResourceFault::Proof(error), current))?;
        let dpop_nonce = current
            .filter(|current| proof.nonce.as_deref() != Some(*current))
            .map(str::to_owned);
        let mut checks = ReplayChecks::default();
        checks.push(token_use);
        Ok(PendingAccess {
            checks,
            access: DpopAccess {
                proof: Some(proof),
                dpop_nonce,
            },
            current_nonce: current.map(str::to_owned),
        })
    }

    /// Finishes a request [`begin`](Self::begin) left at the replay step, with one verdict
    /// per use of [`PendingAccess::checks`]: the access when the proof's `jti` was
    /// registered; a replayed proof is refused (401, RFC 9449 section 11.1), a store that is
    /// full or could not answer with a 503 (fail closed), verdicts that do not answer the use
    /// with a 500.
    pub fn finish(
        &self,
        pending: PendingAccess,
        verdicts: &[ReplayVerdict],
    ) -> Result<DpopAccess, Box<DpopResourceRefusal>> {
        let fault = match pending.checks.settle(verdicts) {
            Ok(()) => return Ok(pending.access),
            Err(Unsettled::Host(fault)) => DpopResourceFault::ReplayVerdicts(fault),
            Err(Unsettled::Refused { error, .. }) => DpopResourceFault::Proof(match error {
                ReplayError::Replayed => DpopError::Replayed,
                ReplayError::Full => DpopError::ReplayStoreFull,
                ReplayError::Unavailable => DpopError::ReplayStoreUnavailable,
            }),
        };
        Err(self.refusal(fault, pending.current_nonce.as_deref()))
    }

    /// The refusal of `fault`: a `401` with the `DPoP` challenge, the current nonce for a
    /// nonce demand, a `503` when the replay store is full or could not answer, a `500` when
    /// the host's verdicts do not answer the proof's use.
    fn refusal(&self, fault: DpopResourceFault, nonce: Option<&str>) -> Box<DpopResourceRefusal> {
        if matches!(fault, DpopResourceFault::ReplayVerdicts(_)) {
            return Box::new(DpopResourceRefusal {
                fault,
                status: StatusCode::INTERNAL_SERVER_ERROR,
                www_authenticate: None,
                dpop_nonce: None,
            });
        }
        if matches!(
            fault,
            DpopResourceFault::Proof(
                DpopError::ReplayStoreFull | DpopError::ReplayStoreUnavailable
            )
        ) {
            return Box::new(DpopResourceRefusal {
                fault,
                status: StatusCode::SERVICE_UNAVAILABLE,
                www_authenticate: None,
                dpop_nonce: None,
            });
        }
        let is_nonce_demand = fault.error_code() == "use_dpop_nonce";
        Box::new(DpopResourceRefusal {
            www_authenticate: Some(self.challenge(&fault)),
            status: StatusCode::UNAUTHORIZED,
            dpop_nonce: nonce.filter(|_| is_nonce_demand).map(str::to_owned),
            fault,
        })
    }

    /// `DPoP error="...", error_description="...", algs="..."` (RFC 9449 section 7.1), with
    /// `resource_metadata` first when configured (RFC 9728 section 5.1).
    fn challenge(&self, fault: &DpopResourceFault) -> String {
        let algs: Vec<&str> = self
            .validator
            .algorithms()
            .iter()
            .filter(|alg| is_asymmetric(alg))
            .collect();
        let algs = algs.join(" ");
        let description = fault.to_string();
        let params = [
            ("resource_metadata", self.resource_metadata.as_deref()),
            ("error", Some(fault.error_code())),
            ("error_description", Some(description.as_str())),
            ("algs", Some(algs.as_str())),
        ];
        let rendered: Vec<String> = params
            .iter()
            .filter_map(|(name, value)| value.map(|value| format!("{name}={}", quoted(value))))
            .collect();
        format!("DPoP {}", rendered.join(", "))
    }
}
