//! Authorization-server metadata discovery (RFC 8414 section 3, OpenID Connect Discovery
//! section 4, protocol.md 2.3): the same algorithm for the MCP authorization server and the IdP.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::metadata::AuthorizationServerMetadata;
use super::urls::{UrlGuard, authorization_server_metadata_candidates};
use crate::error::{Attempt, sanitize};
use crate::flow::TransmitIds;
use crate::wire::{self, cache_lifetime};
use crate::{Error, Flow, HttpResponse, Output, Policy, Purpose, Transmit, TransmitId, Violation};

/// Validated authorization-server metadata and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthServerDiscovered {
    /// The document; its `issuer` is identical to the one asked for and its `token_endpoint`
    /// passed the URL policy.
    pub metadata: Arc<AuthorizationServerMetadata>,
    /// Where it was fetched.
    pub metadata_url: String,
    /// How long it may be reused (decisions.md D20); `None` when the server did not say.
    pub cache_lifetime: Option<Duration>,
}

/// Where one issuer's discovery is.
#[derive(Debug)]
enum State {
    /// The next candidate is to be sent.
    Ready,
    /// A candidate is being fetched.
    InFlight(TransmitId, String),
    /// Decided; the outcome waits for the next poll.
    Finished(Result<AuthServerDiscovered, Error>),
    /// The outcome was handed out.
    Returned,
}

/// Fetches the metadata of one issuer, trying the candidates in the MCP 2025-11-25 order one
/// at a time (decisions.md D2: next on a 4xx or a body that is not JSON; stop on a document
/// that breaks a MUST, a redirect or a 5xx).
#[derive(Debug)]
pub struct AuthServerDiscovery {
    purpose: Purpose,
    issuer: String,
    guard: UrlGuard,
    ids: TransmitIds,
    remaining: VecDeque<String>,
    state: State,
    attempts: Vec<Attempt>,
}

impl AuthServerDiscovery {
    /// Discovery of `issuer` (kept verbatim for the identity check). `purpose` is
    /// [`Purpose::AuthorizationServerMetadata`] or [`Purpose::IdpMetadata`].
    pub fn new(issuer: &str, purpose: Purpose, policy: &Policy) -> Result<Self, Error> {
        Self::with_guard(issuer, purpose, UrlGuard::new(policy, None))
    }

    pub(crate) fn with_guard(
        issuer: &str,
        purpose: Purpose,
        guard: UrlGuard,
    ) -> Result<Self, Error> {
        let parsed = guard.check_issuer(purpose, issuer)?;
        Ok(Self {
            purpose,
            issuer: issuer.to_owned(),
            remaining: authorization_server_metadata_candidates(&parsed).into(),
            guard,
            ids: TransmitIds::default(),
            state: State::Ready,
            attempts: Vec::new(),
        })
    }

    /// The issuer being discovered, verbatim.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    fn exhausted(&mut self) -> Error {
        Error::DiscoveryFailed {
            purpose: self.purpose,
            attempts: std::mem::take(&mut self.attempts),
        }
    }

    fn evaluate(
        &mut self,
        url: String,
        response: HttpResponse,
    ) -> Option<Result<AuthServerDiscovered, Error>> {
        let purpose = self.purpose;
        if let Some(error) = wire::redirect(purpose, &response) {
            return Some(Err(error));
        }
        let status = response.status();
        let attempt = |outcome: &str| Attempt {
            url: sanitize(&url),
            outcome: outcome.to_owned(),
        };
        if status.is_server_error() {
            self.attempts.push(attempt(status.as_str()));
            return Some(Err(self.exhausted()));
        }
        if !status.is_success() {
            self.attempts.push(attempt(status.as_str()));
            return None;
        }
        let object = match wire::json_object(&response, self.guard.policy()) {
            Ok(object) => object,
            Err(Violation::NotJson | Violation::ContentType(_)) => {
                self.attempts.push(attempt("200, not a JSON object"));
                return None;
            }
            Err(violation) => return Some(Err(Error::InvalidResponse { purpose, violation })),
        };
        // RFC 8414 section 3.3 and OpenID Connect Discovery section 4.3: the issuer must be
        // identical to the one the URL was built from, before anything else is believed.
        match object.get("issuer").and_then(|v| v.as_str()) {
            Some(found) if found == self.issuer => {}
            found => {
                return Some(Err(Error::IssuerMismatch {
                    purpose,
                    expected: self.issuer.clone(),
                    found: sanitize(found.unwrap_or("(none)")),
                }));
            }
        }
        let metadata = match AuthorizationServerMetadata::from_object(&object) {
            Ok(metadata) => metadata,
            Err(violation) => return Some(Err(Error::InvalidResponse { purpose, violation })),
        };
        // decisions.md D4: an endpoint named by a validated document may be on another origin,
        // but must pass the same URL policy.
        if let Err(error) = self.guard.check(purpose, &metadata.token_endpoint) {
            return Some(Err(error));
        }
        Some(Ok(AuthServerDiscovered {
            metadata: Arc::new(metadata),
            metadata_url: url,
            cache_lifetime: cache_lifetime(&response),
        }))
    }
}

impl Flow for AuthServerDiscovery {
    type Output = AuthServerDiscovered;

    fn poll_output(&mut self, _now: SystemTime) -> Result<Output<AuthServerDiscovered>, Error> {
        match self.state {
            State::Ready => {}
            State::InFlight(..) => return Ok(Output::Wait),
            State::Finished(_) | State::Returned => {
                return match std::mem::replace(&mut self.state, State::Returned) {
                    State::Finished(outcome) => outcome.map(Output::Done),
                    _ => Err(Error::Misuse("metadata discovery already finished")),
                };
            }
        }
        let Some(url) = self.remaining.pop_front() else {
            self.state = State::Returned;
            return Err(self.exhausted());
        };
        let parsed = self.guard.check(self.purpose, &url)?;
        let id = self.ids.allocate();
        self.state = State::InFlight(id, url);
        Ok(Output::Transmit(Transmit {
            id,
            purpose: self.purpose,
            request: wire::get_json(&parsed),
        }))
    }

    fn handle_response(
        &mut self,
        _now: SystemTime,
        id: TransmitId,
        response: HttpResponse,
    ) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Ready) {
            State::InFlight(expected, url) if expected == id => {
                if let Some(outcome) = self.evaluate(url, response) {
                    self.state = State::Finished(outcome);
                }
                Ok(())
            }
            other => {
                self.state = other;
                Err(Error::Misuse(
                    "response for a request that is not outstanding",
                ))
            }
        }
    }
}
