//! Discovery: the MCP server's protected-resource metadata (RFC 9728) and the metadata of the
//! MCP authorization server and the IdP (RFC 8414, OpenID Connect Discovery).

mod address_guard;
mod authorization_server;
#[cfg(test)]
mod candidate_properties;
mod checked_urls;
mod metadata;
mod resource;
mod static_answers;
mod urls;

pub use crate::address_class::{AddressClass, classify};
pub use address_guard::{AddressGuard, PrivateAddressRefused};
pub use authorization_server::{AuthServerDiscovered, AuthServerDiscovery};
pub(crate) use checked_urls::CheckedUrls;
pub(crate) use metadata::DEFAULT_METADATA_LIFETIME;
pub use metadata::{AuthorizationServerMetadata, ProtectedResourceMetadata};
pub use resource::{ResourceDiscovered, ResourceDiscovery, ResourceStart};
pub use static_answers::StaticAnswers;
pub(crate) use urls::UrlGuard;
