//! Protected-resource discovery (RFC 9728, protocol.md 2.1 and 2.2, decisions.md D1, D2, D6):
//! from the MCP server URL to its validated metadata.

mod speculative;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderValue, Method};
use url::Url;

use self::speculative::{Settled, SpeculativeFetch};
use super::metadata::ProtectedResourceMetadata;
use super::urls::{
    ResourceCandidate, UrlGuard, identifier_without_fragment, resource_metadata_candidates,
};
use crate::challenge::{self, AuthScheme, BearerChallenge, Challenge};
use crate::constants::MCP_PROTOCOL_VERSION;
use crate::error::{Attempt, Unsupported, sanitize};
use crate::flow::TransmitIds;
use crate::wire::{self, cache_lifetime};
use crate::{
    Error, Flow, HttpRequest, HttpResponse, Output, Policy, Purpose, Transmit, TransmitId,
    Violation,
};

/// Where resource discovery starts.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ResourceStart {
    /// Send the MCP `initialize` POST without a token and read the challenge (decisions.md D6).
    Probe,
    /// The caller already holds the MCP server's 401 or 403 (an authorizer never probes twice).
    Challenge(http::HeaderMap),
    /// The caller knows the metadata URL: it is fetched and nothing else (decisions.md D1).
    MetadataUrl(String),
}

/// The validated protected-resource metadata and how it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceDiscovered {
    /// The document. Its `resource` passed the RFC 9728 section 3.3 identity check.
    pub metadata: Arc<ProtectedResourceMetadata>,
    /// Where it was fetched.
    pub metadata_url: String,
    /// The Bearer challenge the MCP server sent, when there was one.
    pub challenge: Option<BearerChallenge>,
    /// How long the document may be reused (decisions.md D20); `None` when the server did not say.
    pub cache_lifetime: Option<Duration>,
}

#[derive(Clone, Debug)]
enum Request {
    Probe,
    Metadata(ResourceCandidate),
}

/// How far discovery is.
#[derive(Debug)]
enum Phase {
    /// The probe is out: the order of the candidates is not known yet.
    Probing,
    /// The challenge (or its absence) decided the order: the candidates left, in order.
    Fetching {
        remaining: VecDeque<ResourceCandidate>,
        /// The Bearer challenge the MCP server sent, when there was one.
        challenge: Option<BearerChallenge>,
    },
    /// Decided; the outcome waits for the next poll.
    Finished(Result<ResourceDiscovered, Error>),
    /// The outcome was handed out.
    Returned,
}

/// Finds and validates the MCP server's protected-resource metadata.
///
/// The order of candidates is protocol.md 2.2: the challenge's `resource_metadata` pointer and
/// nothing else (decisions.md D1), otherwise the path-inserted then the root well-known URL.
/// Discovery moves to the next candidate on a 4xx or a body that is not JSON, and stops on a
/// document that breaks a MUST, a redirect, or a 5xx (decisions.md D2).
#[derive(Debug)]
pub struct ResourceDiscovery {
    identifier: String,
    server: Url,
    guard: UrlGuard,
    ids: TransmitIds,
    ready: VecDeque<Request>,
    in_flight: Vec<(TransmitId, Request)>,
    phase: Phase,
    /// The speculative fetch, when [`Policy::speculative_resource_metadata`] is on and it is
    /// not settled yet (or settled unwanted, to drop its answer).
    speculative: Option<SpeculativeFetch>,
    attempts: Vec<Attempt>,
}

impl ResourceDiscovery {
    /// Starts discovery for the MCP endpoint `server_url` (kept verbatim as the resource
    /// identifier).
    pub fn new(server_url: &str, start: ResourceStart, policy: &Policy) -> Result<Self, Error> {
        let (guard, _) = UrlGuard::for_server(policy, server_url)?;
        Self::with_guard(server_url, start, &guard)
    }

    /// [`ResourceDiscovery::new`] as a step of a flow whose guard was made for `server_url`:
    /// the URLs it checks are the flow's.
    pub(crate) fn with_guard(
        server_url: &str,
        start: ResourceStart,
        guard: &UrlGuard,
    ) -> Result<Self, Error> {
        let server = guard.check(Purpose::ResourceProbe, server_url)?;
        let speculative = guard.policy().speculative_resource_metadata;
        let guard = guard.clone();
        let mut discovery = Self {
            identifier: identifier_without_fragment(server_url).to_owned(),
            server,
            guard,
            ids: TransmitIds::default(),
            ready: VecDeque::new(),
            in_flight: Vec::new(),
            phase: Phase::Probing,
            speculative: None,
            attempts: Vec::new(),
        };
        match start {
            ResourceStart::Probe => {
                discovery.ready.push_back(Request::Probe);
                if speculative {
                    let first = discovery.well_known().into_iter().next();
                    if let Some(candidate) = first {
                        discovery.speculative = Some(SpeculativeFetch::Awaited(candidate.clone()));
                        discovery.ready.push_back(Request::Metadata(candidate));
                    }
                }
            }
            ResourceStart::Challenge(headers) => discovery.read_challenge(&headers)?,
            ResourceStart::MetadataUrl(url) => discovery.use_pointer(&url, None)?,
        }
        Ok(discovery)
    }

    /// The resource identifier: the MCP server URL as given.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    fn well_known(&self) -> Vec<ResourceCandidate> {
        resource_metadata_candidates(&self.identifier, &self.server)
    }

    fn use_pointer(&mut self, url: &str, challenge: Option<BearerChallenge>) -> Result<(), Error> {
        self.guard.check(Purpose::ResourceMetadata, url)?;
        let candidate = ResourceCandidate {
            url: url.to_owned(),
            // RFC 9728 section 3.3: fetched through the pointer, `resource` must be the URL the
            // client used for its request.
            expected_resource: self.identifier.clone(),
        };
        self.decide(VecDeque::from([candidate]), challenge);
        Ok(())
    }

    /// Reads the MCP server's challenge (RFC 9728 section 5.1, decisions.md D6). A field the
    /// strict parser refuses (RFC 9110 section 11.6.1) is a typed error naming what is wrong
    /// with it: neither a guess at its schemes nor a fallback past a pointer it may carry.
    ///
    /// A field that holds no challenge at all (only empty list elements, RFC 9110 section 5.6.1)
    /// offers no scheme, so it is read as no field: well-known discovery, as without one.
    fn read_challenge(&mut self, headers: &http::HeaderMap) -> Result<(), Error> {
        let challenges =
            challenge::from_headers(headers).map_err(|error| Error::InvalidResponse {
                purpose: Purpose::ResourceProbe,
                violation: Violation::MalformedChallenge(error),
            })?;
        let bearer = challenges
            .iter()
            .filter_map(BearerChallenge::from_challenge)
            .find(|c| c.scheme == AuthScheme::Bearer);
        if bearer.is_none() && !challenges.is_empty() {
            return Err(Error::Unsupported {
                purpose: Purpose::ResourceProbe,
                what: Unsupported::ChallengeScheme(offered_schemes(&challenges)),
            });
        }
        match bearer.as_ref().and_then(|c| c.resource_metadata.clone()) {
            Some(url) => self.use_pointer(&url, bearer),
            None => {
                let candidates = self.well_known().into();
                self.decide(candidates, bearer);
                Ok(())
            }
        }
    }

    fn decide(
        &mut self,
        candidates: VecDeque<ResourceCandidate>,
        challenge: Option<BearerChallenge>,
    ) {
        self.phase = Phase::Fetching {
            remaining: candidates,
            challenge,
        };
        self.next_candidate();
    }

    /// Queues the next candidate, or uses the speculative fetch when it is that candidate.
    fn next_candidate(&mut self) {
        let Phase::Fetching { remaining, .. } = &mut self.phase else {
            return;
        };
        let Some(candidate) = remaining.pop_front() else {
            let attempts = std::mem::take(&mut self.attempts);
            self.finish(Err(Error::DiscoveryFailed {
                purpose: Purpose::ResourceMetadata,
                attempts,
            }));
            return;
        };
        if let Some(speculative) = self.speculative.take() {
            match speculative.settle(&candidate) {
                Settled::Wanted(Some((fetched, response))) => {
                    return self.evaluate(fetched, response);
                }
                // Still in flight: judged when it arrives.
                Settled::Wanted(None) => return,
                Settled::Unwanted(unwanted) => self.speculative = Some(unwanted),
            }
        }
        self.ready.push_back(Request::Metadata(candidate));
    }

    fn finish(&mut self, outcome: Result<ResourceDiscovered, Error>) {
        if !matches!(self.phase, Phase::Finished(_) | Phase::Returned) {
            self.phase = Phase::Finished(outcome);
        }
        self.ready.clear();
    }

    fn handle_probe(&mut self, response: HttpResponse) -> Result<(), Error> {
        if let Some(error) = wire::redirect(Purpose::ResourceProbe, &response) {
            return Err(error);
        }
        let status = response.status();
        if status.is_server_error() {
            return Err(wire::unexpected_status(Purpose::ResourceProbe, &response));
        }
        if status == http::StatusCode::UNAUTHORIZED || status == http::StatusCode::FORBIDDEN {
            return self.read_challenge(response.headers());
        }
        // A server that answers without a challenge may still protect later requests; its
        // metadata is at the well-known location (MCP 2025-11-25).
        let candidates = self.well_known().into();
        self.decide(candidates, None);
        Ok(())
    }

    /// Judges one metadata answer (decisions.md D2).
    fn evaluate(&mut self, candidate: ResourceCandidate, response: HttpResponse) {
        let purpose = Purpose::ResourceMetadata;
        if let Some(error) = wire::redirect(purpose, &response) {
            return self.finish(Err(error));
        }
        let status = response.status();
        let outcome = |s: &str| Attempt {
            url: sanitize(&candidate.url),
            outcome: s.to_owned(),
        };
        if status.is_server_error() {
            self.attempts.push(outcome(status.as_str()));
            let attempts = std::mem::take(&mut self.attempts);
            return self.finish(Err(Error::DiscoveryFailed { purpose, attempts }));
        }
        if !status.is_success() {
            self.attempts.push(outcome(status.as_str()));
            return self.next_candidate();
        }
        let object = match wire::json_object(&response, self.guard.policy()) {
            Ok(object) => object,
            Err(Violation::NotJson | Violation::ContentType(_)) => {
                self.attempts.push(outcome("200, not a JSON object"));
                return self.next_candidate();
            }
            Err(violation) => {
                return self.finish(Err(Error::InvalidResponse { purpose, violation }));
            }
        };
        let metadata = match ProtectedResourceMetadata::from_object(&object) {
            Ok(metadata) => metadata,
            Err(violation) => {
                return self.finish(Err(Error::InvalidResponse { purpose, violation }));
            }
        };
        // RFC 9728 section 3.3: identical, code point for code point, no normalisation.
        if metadata.resource != candidate.expected_resource {
            return self.finish(Err(Error::ResourceMismatch {
                expected: candidate.expected_resource,
                found: sanitize(&metadata.resource),
            }));
        }
        let cache_lifetime = cache_lifetime(&response);
        let challenge = match &self.phase {
            Phase::Fetching { challenge, .. } => challenge.clone(),
            Phase::Probing | Phase::Finished(_) | Phase::Returned => None,
        };
        self.finish(Ok(ResourceDiscovered {
            metadata: Arc::new(metadata),
            metadata_url: candidate.url,
            challenge,
            cache_lifetime,
        }));
    }

    fn probe_request(&self) -> HttpRequest {
        let body = probe_body();
        let mut request = HttpRequest::new(body.into_bytes());
        *request.method_mut() = Method::POST;
        wire::set_url(&mut request, &self.server);
        let headers = request.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        request
    }
}

/// The probe's body: an MCP `initialize` request. Written out rather than built as a JSON value
/// (its strings are constants with nothing to escape; a test parses it).
fn probe_body() -> String {
    format!(
        concat!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"#,
            r#""protocolVersion":"{}","capabilities":{{}},"#,
            r#""clientInfo":{{"name":"xaa","version":"{}"}}}}}}"#
        ),
        MCP_PROTOCOL_VERSION,
        env!("CARGO_PKG_VERSION"),
    )
}

/// The most schemes an unsupported-scheme error names.
const MAX_SCHEMES_NAMED: usize = 4;

/// The schemes a challenge list offers, for an error: each once (ignoring case, RFC 9110
/// section 11.1), in order, at most [`MAX_SCHEMES_NAMED`], sanitized.
fn offered_schemes(challenges: &[Challenge]) -> String {
    let mut schemes: Vec<&str> = Vec::new();
    for challenge in challenges {
        if !schemes.iter().any(|s| challenge.is_scheme(s)) {
            schemes.push(challenge.scheme());
        }
    }
    let more = schemes.len() > MAX_SCHEMES_NAMED;
    schemes.truncate(MAX_SCHEMES_NAMED);
    let mut named = sanitize(&schemes.join(", "));
    if more {
        named.push_str(", ...");
    }
    named
}

impl Flow for ResourceDiscovery {
    type Output = ResourceDiscovered;

    fn poll_output(&mut self, _now: SystemTime) -> Result<Output<ResourceDiscovered>, Error> {
        match self.phase {
            Phase::Probing | Phase::Fetching { .. } => {}
            Phase::Finished(_) | Phase::Returned => {
                return match std::mem::replace(&mut self.phase, Phase::Returned) {
                    Phase::Finished(outcome) => outcome.map(Output::Done),
                    _ => Err(Error::Misuse("resource discovery already finished")),
                };
            }
        }
        let Some(request) = self.ready.pop_front() else {
            return Ok(Output::Wait);
        };
        let id = self.ids.allocate();
        let (purpose, http_request) = match &request {
            Request::Probe => (Purpose::ResourceProbe, self.probe_request()),
            Request::Metadata(candidate) => {
                let url = self
                    .guard
                    .check(Purpose::ResourceMetadata, &candidate.url)?;
                (Purpose::ResourceMetadata, wire::get_json(&url))
            }
        };
        self.in_flight.push((id, request));
        Ok(Output::Transmit(Transmit {
            id,
            purpose,
            request: http_request,
        }))
    }

    fn handle_response(
        &mut self,
        _now: SystemTime,
        id: TransmitId,
        response: HttpResponse,
    ) -> Result<(), Error> {
        if matches!(self.phase, Phase::Returned) {
            return Err(Error::Misuse("resource discovery already finished"));
        }
        let position = self
            .in_flight
            .iter()
            .position(|(i, _)| *i == id)
            .ok_or(Error::Misuse(
                "response for a request that is not outstanding",
            ))?;
        let (_, request) = self.in_flight.swap_remove(position);
        match (request, &self.phase) {
            // An answer nobody waits for any more (a speculative fetch found unwanted).
            (_, Phase::Finished(_) | Phase::Returned) => {}
            (Request::Probe, _) => {
                if let Err(error) = self.handle_probe(response) {
                    self.finish(Err(error));
                }
            }
            // The speculative fetch answered before the probe: hold it.
            (Request::Metadata(_), Phase::Probing) => {
                self.speculative = self.speculative.take().map(|s| s.answered(response));
            }
            (Request::Metadata(candidate), Phase::Fetching { .. }) => {
                let unwanted = self
                    .speculative
                    .as_ref()
                    .is_some_and(|s| s.drops(&candidate));
                if !unwanted {
                    self.evaluate(candidate, response);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_is_an_mcp_initialize_request() {
        let body: serde_json::Value = serde_json::from_str(&probe_body()).expect("JSON");
        assert_eq!(
            body,
            serde_json::json!({
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": MCP_PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "xaa", "version": env!("CARGO_PKG_VERSION")},
                },
            })
        );
    }
}
