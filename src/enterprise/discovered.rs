//! What the discovery stage hands to the token stage.

use crate::discovery::{AuthServerDiscovered, ResourceDiscovered};

/// What discovery found: every document the token requests need.
#[derive(Debug)]
pub(super) struct Discovered {
    /// The protected resource's metadata.
    pub(super) resource: ResourceDiscovered,
    /// The MCP authorization server's metadata.
    pub(super) authorization_server: AuthServerDiscovered,
    /// The IdP's metadata, when it was configured by issuer.
    pub(super) idp: Option<AuthServerDiscovered>,
}
