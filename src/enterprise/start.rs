//! [`Start`]: where an [`EnterpriseAuth`](super::EnterpriseAuth) begins.

use super::outcome::Discovery;
use crate::grant::IssuedIdJag;

/// Where an [`EnterpriseAuth`](super::EnterpriseAuth) starts.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Start {
    /// Nothing but the MCP server URL: probe it (decisions.md D6).
    ServerUrl(String),
    /// The MCP server's 401 or 403, already received by the caller for a request to
    /// `server_url`.
    Challenge {
        /// The URL the rejected request went to.
        server_url: String,
        /// The response's headers (its `WWW-Authenticate` fields).
        headers: http::HeaderMap,
    },
    /// A known protected-resource metadata URL for `server_url`.
    ResourceMetadata {
        /// The MCP server URL.
        server_url: String,
        /// The metadata URL; fetched and nothing else (decisions.md D1).
        metadata_url: String,
    },
    /// A cached discovery: only the token requests run (two POSTs).
    Cached(Discovery),
    /// A cached discovery and an unexpired ID-JAG to re-submit first (decisions.md D13,
    /// opt-in): one POST, falling back once to a fresh exchange on `invalid_grant`.
    Resubmit {
        /// The cached discovery.
        discovery: Discovery,
        /// The ID-JAG to re-submit.
        id_jag: IssuedIdJag,
    },
}

impl Start {
    /// The MCP server URL the flow is for, verbatim.
    pub(super) fn server_url(&self) -> &str {
        match self {
            Start::ServerUrl(url)
            | Start::Challenge {
                server_url: url, ..
            }
            | Start::ResourceMetadata {
                server_url: url, ..
            } => url,
            Start::Cached(discovery) | Start::Resubmit { discovery, .. } => &discovery.server_url,
        }
    }

    /// The cached discovery it starts from, if any.
    pub(super) fn cached(&self) -> Option<&Discovery> {
        match self {
            Start::Cached(discovery) | Start::Resubmit { discovery, .. } => Some(discovery),
            Start::ServerUrl(_) | Start::Challenge { .. } | Start::ResourceMetadata { .. } => None,
        }
    }
}
