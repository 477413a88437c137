//! Requests and sequential round trips, from the testkit's recorder.

use std::time::Instant;

use xaa_testkit::{Endpoint, RecordedRequest};

/// How a run looked from the servers' side.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shape {
    /// Every request.
    pub(crate) requests: usize,
    /// Requests to a token endpoint (IdP or authorization server).
    pub(crate) token_requests: usize,
    /// Sequential round trips on the critical path ([`rounds`]).
    pub(crate) rounds: usize,
    /// Which endpoints, in arrival order.
    pub(crate) endpoints: Vec<&'static str>,
}

impl Shape {
    pub(crate) fn of(records: &[RecordedRequest]) -> Self {
        Self {
            requests: records.len(),
            token_requests: records.iter().filter(|r| r.is_token_request()).count(),
            rounds: rounds(records),
            endpoints: records.iter().map(|r| endpoint_name(r.endpoint)).collect(),
        }
    }
}

/// Sequential round trips on the critical path: the longest chain of requests each of which
/// started after the previous one had finished (`[started, finished]` as the server saw them).
/// Requests in flight together (overlapping intervals) are never in the same chain, so they
/// count as one round.
///
/// The server notes `started` when it has read the headers and `finished` when the answer is
/// ready, after any injected delay. With no delay a request lasts microseconds, and two
/// requests sent together may be handled one after the other without overlapping; so rounds
/// are only meaningful with a delay on every endpoint (the bench uses one).
pub(crate) fn rounds(records: &[RecordedRequest]) -> usize {
    let mut intervals: Vec<(Instant, Instant)> = records
        .iter()
        .map(|r| (r.started, r.finished.unwrap_or(r.started)))
        .collect();
    intervals.sort();
    // chain[i]: the longest chain ending with request i.
    let mut chain: Vec<usize> = Vec::with_capacity(intervals.len());
    for (i, (start, _)) in intervals.iter().enumerate() {
        let before = intervals[..i]
            .iter()
            .zip(&chain)
            .filter(|((_, finish), _)| finish <= start)
            .map(|(_, length)| *length)
            .max()
            .unwrap_or(0);
        chain.push(before + 1);
    }
    chain.into_iter().max().unwrap_or(0)
}

fn endpoint_name(endpoint: Option<Endpoint>) -> &'static str {
    match endpoint {
        Some(Endpoint::McpServer) => "mcp",
        Some(Endpoint::ResourceMetadata) => "prm",
        Some(Endpoint::AsMetadata) => "as-meta",
        Some(Endpoint::AsToken) => "as-token",
        Some(Endpoint::IdpMetadata) => "idp-meta",
        Some(Endpoint::IdpToken) => "idp-token",
        Some(Endpoint::Jwks) => "jwks",
        _ => "other",
    }
}
