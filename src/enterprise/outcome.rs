//! What a finished [`EnterpriseAuth`](super::EnterpriseAuth) hands back, and the reusable
//! discovery result.

use std::sync::Arc;
use std::time::SystemTime;

use crate::discovery::{AuthorizationServerMetadata, CheckedUrls, ProtectedResourceMetadata};
use crate::grant::IssuedIdJag;
use crate::{AccessToken, RefreshToken, Scope};

/// Everything discovery found, reusable for later flows: with it, a new access token costs
/// exactly two POSTs (design: Starting points).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Discovery {
    /// The MCP server URL the flow started from, verbatim.
    pub server_url: String,
    /// The validated protected-resource metadata (shared: cloning a discovery copies no
    /// document).
    pub resource_metadata: Arc<ProtectedResourceMetadata>,
    /// Where it was fetched.
    pub resource_metadata_url: String,
    /// The chosen MCP authorization server's validated metadata.
    pub authorization_server: Arc<AuthorizationServerMetadata>,
    /// The IdP's validated metadata, when the IdP was configured by issuer.
    pub idp: Option<Arc<AuthorizationServerMetadata>>,
    /// The scope selected at discovery time (decisions.md D8).
    pub scope: Option<Scope>,
    /// Until when the documents may be reused (decisions.md D20), seconds since the epoch.
    pub fresh_until: u64,
    /// The URLs the flow checked, so the next flow does not parse them again (a memo: not
    /// serialized, not compared, ignored unless the same URLs meet the same policy).
    #[serde(skip)]
    pub(crate) checked: CheckedUrls,
}

impl Discovery {
    /// The resource indicator: the protected-resource metadata's `resource`, verbatim.
    pub fn resource(&self) -> &str {
        &self.resource_metadata.resource
    }

    /// Whether the documents may still be reused at `now` (decisions.md D20).
    pub fn is_fresh(&self, now: SystemTime) -> bool {
        crate::grant::unix_seconds(now) < self.fresh_until
    }
}

/// The result of a whole flow.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Authorization {
    /// The access token for the MCP server.
    pub access_token: AccessToken,
    /// Its `token_type` (`Bearer`, or `DPoP` when bound: then
    /// [`AccessToken::dpop_jkt`] names the key).
    pub token_type: String,
    /// When it expires.
    pub expires_at: SystemTime,
    /// The scope granted.
    pub scope: Option<Scope>,
    /// The resource it is for (the protected-resource metadata's `resource`, verbatim).
    pub resource: String,
    /// The issuer of the authorization server that issued it.
    pub authorization_server: String,
    /// The ID-JAG used, with its expiry; `None` when a caller-supplied assertion was used.
    pub id_jag: Option<IssuedIdJag>,
    /// An IdP refresh token obtained from a SAML assertion (protocol.md 2.7 option B): keep
    /// it as the next subject token.
    pub idp_refresh_token: Option<RefreshToken>,
    /// The discovery result, reusable for the next flow.
    pub discovery: Discovery,
}
