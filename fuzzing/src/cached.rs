//! A cached discovery, as an earlier flow would have stored it: built through its serialized
//! form, the only way to make one outside the core (the cache stores it so).

use serde_json::json;
use xaa::Discovery;
use xaa::discovery::{AuthorizationServerMetadata, ProtectedResourceMetadata};

/// Everything a discovery holds; `fresh_until` in seconds since the epoch.
pub(crate) struct Documents<'a> {
    pub(crate) server_url: &'a str,
    pub(crate) resource_metadata_url: &'a str,
    pub(crate) resource_metadata: &'a ProtectedResourceMetadata,
    pub(crate) authorization_server: &'a AuthorizationServerMetadata,
    pub(crate) idp: Option<&'a AuthorizationServerMetadata>,
    pub(crate) fresh_until: u64,
}

/// The discovery of `documents`, with no scope selected; `None` if the core does not read it
/// back.
pub(crate) fn discovery(documents: &Documents<'_>) -> Option<Discovery> {
    let serialized = json!({
        "server_url": documents.server_url,
        "resource_metadata": documents.resource_metadata,
        "resource_metadata_url": documents.resource_metadata_url,
        "authorization_server": documents.authorization_server,
        "idp": documents.idp,
        "scope": null,
        "fresh_until": documents.fresh_until,
    });
    serde_json::from_value(serialized).ok()
}
