//! The metadata targets: protected-resource metadata and authorization-server metadata
//! (`xaa::discovery`), each against serde_json's reading of the same bytes.

use serde_json::Value;
use xaa::constants::{
    GRANT_PROFILE_ID_JAG, GRANT_TYPE_JWT_BEARER, GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ID_JAG,
};
use xaa::discovery::{AuthorizationServerMetadata, ProtectedResourceMetadata};
use xaa::{ClientAuth, ClientSecret, Scope};

use crate::checks::{MarkerSigner, check_violation_shape, json_object, str_array};

/// Protected-resource metadata (RFC 9728 section 2): a document that parses has a non-empty
/// `resource` and `authorization_servers`, agrees member by member with serde_json's reading,
/// and survives a serialize/parse round trip; a failure is the right `Violation`.
pub fn protected_resource_metadata(data: &[u8]) {
    let object = json_object(data);
    match ProtectedResourceMetadata::from_json(data) {
        Ok(metadata) => {
            let Some(object) = object else {
                panic!("parsed metadata from a body serde_json does not read as an object");
            };
            assert!(!metadata.resource.is_empty());
            assert!(!metadata.authorization_servers.is_empty());
            assert_eq!(
                object.get("resource").and_then(Value::as_str),
                Some(metadata.resource.as_str())
            );
            assert_eq!(
                str_array(&object, "authorization_servers").as_ref(),
                Some(&metadata.authorization_servers)
            );
            assert_eq!(
                str_array(&object, "scopes_supported"),
                metadata.scopes_supported
            );
            let expected_scope: Scope = metadata
                .scopes_supported
                .iter()
                .flatten()
                .map(String::as_str)
                .collect();
            assert_eq!(
                metadata.scopes(),
                (!expected_scope.is_empty()).then_some(expected_scope)
            );
            let serialized = serde_json::to_vec(&metadata).unwrap_or_default();
            assert_eq!(
                ProtectedResourceMetadata::from_json(&serialized).as_ref(),
                Ok(&metadata),
                "serialized metadata parses differently"
            );
        }
        Err(violation) => check_violation_shape(&violation, object.as_ref()),
    }
}

/// Authorization-server metadata (RFC 8414 section 2): a document that parses has a non-empty
/// `issuer` and `token_endpoint`, agrees with serde_json's reading, round-trips, and its
/// support checks follow decisions.md D3 (absent means proceed, present must list the value),
/// recomputed here for every client authentication method.
pub fn authorization_server_metadata(data: &[u8]) {
    let object = json_object(data);
    match AuthorizationServerMetadata::from_json(data) {
        Ok(metadata) => {
            let Some(object) = object else {
                panic!("parsed metadata from a body serde_json does not read as an object");
            };
            assert!(!metadata.issuer.is_empty() && !metadata.token_endpoint.is_empty());
            assert_eq!(
                object.get("issuer").and_then(Value::as_str),
                Some(metadata.issuer.as_str())
            );
            assert_eq!(
                object.get("token_endpoint").and_then(Value::as_str),
                Some(metadata.token_endpoint.as_str())
            );
            let grants = str_array(&object, "grant_types_supported");
            assert_eq!(grants, metadata.grant_types_supported);
            let methods = str_array(&object, "token_endpoint_auth_methods_supported");
            assert_eq!(methods, metadata.token_endpoint_auth_methods_supported);
            let profiles = str_array(&object, "authorization_grant_profiles_supported");
            let chaining = str_array(&object, "identity_chaining_requested_token_types_supported");
            let allows = |list: &Option<Vec<String>>, value: &str| {
                list.as_ref().is_none_or(|l| l.iter().any(|v| v == value))
            };
            for auth in sample_auth_methods() {
                let method_ok = allows(&methods, auth.method_name());
                let bearer_ok = allows(&grants, GRANT_TYPE_JWT_BEARER)
                    && allows(&profiles, GRANT_PROFILE_ID_JAG)
                    && method_ok;
                assert_eq!(metadata.check_jwt_bearer_support(&auth).is_ok(), bearer_ok);
                let exchange_ok = allows(&grants, GRANT_TYPE_TOKEN_EXCHANGE)
                    && allows(&chaining, TOKEN_TYPE_ID_JAG)
                    && method_ok;
                assert_eq!(
                    metadata.check_token_exchange_support(&auth).is_ok(),
                    exchange_ok
                );
            }
            let serialized = serde_json::to_vec(&metadata).unwrap_or_default();
            assert_eq!(
                AuthorizationServerMetadata::from_json(&serialized).as_ref(),
                Ok(&metadata)
            );
        }
        Err(violation) => check_violation_shape(&violation, object.as_ref()),
    }
}

fn sample_auth_methods() -> [ClientAuth; 4] {
    let jti: std::sync::Arc<dyn xaa::JtiSource> = std::sync::Arc::new(|| "jti".to_owned());
    [
        ClientAuth::None,
        ClientAuth::ClientSecretBasic(ClientSecret::new("s")),
        ClientAuth::ClientSecretPost(ClientSecret::new("s")),
        ClientAuth::PrivateKeyJwt(xaa::PrivateKeyJwt::new(
            std::sync::Arc::new(MarkerSigner("c2ln")),
            jti,
        )),
    ]
}
