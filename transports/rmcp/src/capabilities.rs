//! Declaring the extension in the client's capabilities.

use rmcp::model::{ClientCapabilities, ClientConfig};

/// The extension's identifier, declared in `capabilities.extensions` of `initialize`
/// (SEP-1724): `io.modelcontextprotocol/enterprise-managed-authorization`.
pub const EXTENSION_ID: &str = xaa::constants::MCP_EXTENSION_ID;

/// Declares the enterprise-managed-authorization extension in `capabilities.extensions`
/// (rmcp's [`ClientCapabilities::extensions`], an
/// [`ExtensionCapabilities`](rmcp::model::ExtensionCapabilities) map), with no settings (an
/// empty object). Other declared extensions and settings already there are kept.
pub fn declare_extension(capabilities: &mut ClientCapabilities) {
    capabilities
        .extensions
        .get_or_insert_with(Default::default)
        .entry(EXTENSION_ID.to_owned())
        .or_default();
}

/// rmcp's default client configuration (the `initialize` parameters: protocol version,
/// capabilities, client info) with the extension declared: a client handler that does
/// nothing else, ready to `serve` a transport.
pub fn client_config() -> ClientConfig {
    let mut config = ClientConfig::default();
    declare_extension(&mut config.capabilities);
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_is_an_empty_object_in_extensions() {
        let config = client_config();
        let json = serde_json::to_value(&config.capabilities).ok();
        assert_eq!(
            json.as_ref().and_then(|caps| caps
                .pointer("/extensions/io.modelcontextprotocol~1enterprise-managed-authorization")),
            Some(&serde_json::json!({}))
        );
    }

    #[test]
    fn declaring_keeps_other_extensions_and_settings() {
        let mut capabilities = ClientCapabilities::default();
        let mut settings = rmcp::model::JsonObject::new();
        settings.insert("k".into(), true.into());
        let extensions = capabilities.extensions.get_or_insert_with(Default::default);
        extensions.insert("io.example/other".into(), rmcp::model::JsonObject::new());
        extensions.insert(EXTENSION_ID.into(), settings.clone());
        declare_extension(&mut capabilities);
        let extensions = capabilities.extensions.unwrap_or_default();
        assert_eq!(extensions.len(), 2);
        assert_eq!(extensions.get(EXTENSION_ID), Some(&settings));
    }
}
