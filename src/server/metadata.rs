//! Authorization-server metadata (RFC 8414 section 2, OpenID Connect Discovery 1.0 section 3)
//! for the MCP authorization server and the IdP, with the fields that advertise the profile
//! (protocol.md 5).
//!
//! Every field is optional and public, and [`extra`](AuthorizationServerMetadataDocument::extra)
//! members are written last, over the typed ones: a test double can omit a field, add one, or
//! lie about one (a wrong `issuer`) to exercise a client.

use http::{Response, StatusCode};
use serde_json::{Map, Value};

use super::clients::ClientRegistry;
use crate::constants::{
    GRANT_PROFILE_ID_JAG, GRANT_TYPE_JWT_BEARER, GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ID_JAG,
};
use crate::jose::AlgorithmAllowList;
use crate::json_response::json_response;

/// An RFC 8414 metadata document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizationServerMetadataDocument {
    /// `issuer` (RFC 8414 section 2: REQUIRED; clients compare it byte for byte).
    pub issuer: String,
    /// `token_endpoint`.
    pub token_endpoint: Option<String>,
    /// `jwks_uri`: where the server's signing keys are (the IdP's verify its ID-JAGs).
    pub jwks_uri: Option<String>,
    /// `grant_types_supported`.
    pub grant_types_supported: Option<Vec<String>>,
    /// `authorization_grant_profiles_supported` (ID-JAG draft section 7.2; MCP authorization server).
    pub authorization_grant_profiles_supported: Option<Vec<String>>,
    /// `identity_chaining_requested_token_types_supported` (ID-JAG draft section 7.1; IdP).
    pub identity_chaining_requested_token_types_supported: Option<Vec<String>>,
    /// `token_endpoint_auth_methods_supported`.
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// `token_endpoint_auth_signing_alg_values_supported` (for `private_key_jwt`).
    pub token_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// `scopes_supported`.
    pub scopes_supported: Option<Vec<String>>,
    /// `dpop_signing_alg_values_supported` (RFC 9449 section 5.1): the algorithms accepted
    /// for DPoP proofs.
    #[cfg(feature = "dpop")]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// Further members, written last: they override the typed fields above.
    pub extra: Map<String, Value>,
}

impl AuthorizationServerMetadataDocument {
    /// A document with only `issuer`.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            ..Self::default()
        }
    }

    /// An MCP authorization server: the jwt-bearer grant and the id-jag profile
    /// (ID-JAG draft section 7.2: listing the profile requires listing jwt-bearer).
    pub fn mcp_authorization_server(
        issuer: impl Into<String>,
        token_endpoint: impl Into<String>,
    ) -> Self {
        Self {
            token_endpoint: Some(token_endpoint.into()),
            grant_types_supported: Some(vec![GRANT_TYPE_JWT_BEARER.to_owned()]),
            authorization_grant_profiles_supported: Some(vec![GRANT_PROFILE_ID_JAG.to_owned()]),
            ..Self::new(issuer)
        }
    }

    /// An IdP: the token-exchange grant and the id-jag requested token type (ID-JAG draft section 7.1).
    pub fn identity_provider(issuer: impl Into<String>, token_endpoint: impl Into<String>) -> Self {
        Self {
            token_endpoint: Some(token_endpoint.into()),
            grant_types_supported: Some(vec![GRANT_TYPE_TOKEN_EXCHANGE.to_owned()]),
            identity_chaining_requested_token_types_supported: Some(vec![
                TOKEN_TYPE_ID_JAG.to_owned(),
            ]),
            ..Self::new(issuer)
        }
    }

    /// Sets `jwks_uri`.
    pub fn with_jwks_uri(mut self, jwks_uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(jwks_uri.into());
        self
    }

    /// Sets (or, with `Value::Null`, blanks) any member, overriding the typed fields.
    pub fn with_member(mut self, name: impl Into<String>, value: Value) -> Self {
        self.extra.insert(name.into(), value);
        self
    }

    /// The JSON document.
    pub fn to_json(&self) -> Value {
        let mut document = Map::new();
        document.insert("issuer".into(), Value::from(self.issuer.as_str()));
        let optional_members = [
            (
                "token_endpoint",
                self.token_endpoint
                    .as_ref()
                    .map(|v| Value::from(v.as_str())),
            ),
            (
                "jwks_uri",
                self.jwks_uri.as_ref().map(|v| Value::from(v.as_str())),
            ),
            ("grant_types_supported", list(&self.grant_types_supported)),
            (
                "authorization_grant_profiles_supported",
                list(&self.authorization_grant_profiles_supported),
            ),
            (
                "identity_chaining_requested_token_types_supported",
                list(&self.identity_chaining_requested_token_types_supported),
            ),
            (
                "token_endpoint_auth_methods_supported",
                list(&self.token_endpoint_auth_methods_supported),
            ),
            (
                "token_endpoint_auth_signing_alg_values_supported",
                list(&self.token_endpoint_auth_signing_alg_values_supported),
            ),
            ("scopes_supported", list(&self.scopes_supported)),
            #[cfg(feature = "dpop")]
            (
                "dpop_signing_alg_values_supported",
                list(&self.dpop_signing_alg_values_supported),
            ),
        ];
        for (name, value) in optional_members {
            if let Some(value) = value {
                document.insert(name.into(), value);
            }
        }
        for (name, value) in &self.extra {
            document.insert(name.clone(), value.clone());
        }
        Value::Object(document)
    }

    /// A `200` JSON response carrying the document.
    pub fn to_response(&self) -> Response<Vec<u8>> {
        json_response(StatusCode::OK, &self.to_json())
    }
}

/// Fills `token_endpoint_auth_methods_supported` from the registry, and the signing
/// algorithms when `private_key_jwt` is among them.
pub(crate) fn fill_client_auth_metadata(
    metadata: &mut AuthorizationServerMetadataDocument,
    clients: &ClientRegistry,
) {
    let methods = clients.methods();
    if methods.contains(&"private_key_jwt") {
        metadata.token_endpoint_auth_signing_alg_values_supported = Some(
            AlgorithmAllowList::default()
                .iter()
                .map(str::to_owned)
                .collect(),
        );
    }
    metadata.token_endpoint_auth_methods_supported =
        Some(methods.into_iter().map(str::to_owned).collect());
}

/// Fills `dpop_signing_alg_values_supported` with the algorithms `validator` accepts (RFC
/// 9449 section 5.1).
#[cfg(feature = "dpop")]
pub(crate) fn fill_dpop_metadata(
    metadata: &mut AuthorizationServerMetadataDocument,
    validator: &super::DpopValidator,
) {
    metadata.dpop_signing_alg_values_supported = Some(
        validator
            .algorithms()
            .iter()
            .filter(|alg| crate::dpop::is_asymmetric(alg))
            .map(str::to_owned)
            .collect(),
    );
}

fn list(values: &Option<Vec<String>>) -> Option<Value> {
    values.as_ref().map(|values| {
        Value::from(
            values
                .iter()
                .map(|v| Value::from(v.as_str()))
                .collect::<Vec<_>>(),
        )
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn extra_members_override_and_absent_fields_are_omitted() {
        let mut metadata = AuthorizationServerMetadataDocument::mcp_authorization_server(
            "https://as",
            "https://as/token",
        )
        .with_member("issuer", json!("https://evil"));
        metadata.authorization_grant_profiles_supported = None;
        assert_eq!(
            metadata.to_json(),
            json!({
                "issuer": "https://evil",
                "token_endpoint": "https://as/token",
                "grant_types_supported": [GRANT_TYPE_JWT_BEARER],
            })
        );
    }
}
