//! The metadata documents discovery fetches: protected-resource metadata (RFC 9728 section 2)
//! and authorization-server metadata (RFC 8414 section 2, OpenID Connect Discovery section 3).
//! Pure parsers, public so they can be fuzzed and reused.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::constants::{
    GRANT_PROFILE_ID_JAG, GRANT_TYPE_JWT_BEARER, GRANT_TYPE_JWT_DPOP, GRANT_TYPE_TOKEN_EXCHANGE,
    TOKEN_TYPE_ID_JAG,
};
use crate::error::Unsupported;
use crate::json::Member;
use crate::wire::{optional_bool, optional_str, optional_str_array, parse_object, required_str};
use crate::{ClientAuth, Scope, Violation};

/// Protected-resource metadata (RFC 9728 section 2). Unknown members are ignored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ProtectedResourceMetadata {
    /// `resource`, verbatim: the RFC 8707 resource indicator used later.
    pub resource: String,
    /// `authorization_servers`, verbatim issuer identifiers; MCP requires at least one.
    pub authorization_servers: Vec<String>,
    /// `scopes_supported`.
    pub scopes_supported: Option<Vec<String>>,
    /// `bearer_methods_supported`.
    pub bearer_methods_supported: Option<Vec<String>>,
    /// `jwks_uri`.
    pub jwks_uri: Option<String>,
    /// `resource_name`.
    pub resource_name: Option<String>,
    /// `dpop_bound_access_tokens_required`.
    pub dpop_bound_access_tokens_required: bool,
}

impl ProtectedResourceMetadata {
    /// Parses a document. A body that is not a JSON object is [`Violation::NotJson`]; a
    /// missing `resource` or an empty `authorization_servers` is
    /// [`Violation::MissingField`].
    pub fn from_json(body: &[u8]) -> Result<Self, Violation> {
        Self::from_object(&parse_object(body)?)
    }

    pub(crate) fn from_object(object: &Map<String, Value>) -> Result<Self, Violation> {
        let resource = required_str(Member::of(object, "resource"), "resource")?;
        let authorization_servers =
            optional_str_array(object, "authorization_servers")?.unwrap_or_default();
        if authorization_servers.is_empty() {
            return Err(Violation::MissingField("authorization_servers"));
        }
        Ok(Self {
            resource,
            authorization_servers,
            scopes_supported: optional_str_array(object, "scopes_supported")?,
            bearer_methods_supported: optional_str_array(object, "bearer_methods_supported")?,
            jwks_uri: optional_str(Member::of(object, "jwks_uri"), "jwks_uri")?,
            resource_name: optional_str(Member::of(object, "resource_name"), "resource_name")?,
            dpop_bound_access_tokens_required: object
                .get("dpop_bound_access_tokens_required")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }

    /// `scopes_supported` as a [`Scope`], when present and non-empty.
    pub fn scopes(&self) -> Option<Scope> {
        let scope: Scope = self
            .scopes_supported
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        (!scope.is_empty()).then_some(scope)
    }
}

/// Authorization-server metadata (RFC 8414 section 2), for the MCP authorization server and
/// for the IdP alike. Unknown members are ignored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct AuthorizationServerMetadata {
    /// `issuer`, verbatim.
    pub issuer: String,
    /// `token_endpoint`.
    pub token_endpoint: String,
    /// `jwks_uri`.
    pub jwks_uri: Option<String>,
    /// `grant_types_supported`.
    pub grant_types_supported: Option<Vec<String>>,
    /// `token_endpoint_auth_methods_supported`.
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// `token_endpoint_auth_signing_alg_values_supported`.
    pub token_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// `authorization_grant_profiles_supported` (ID-JAG draft section 7.2).
    pub authorization_grant_profiles_supported: Option<Vec<String>>,
    /// `identity_chaining_requested_token_types_supported` (ID-JAG draft section 7.1).
    pub identity_chaining_requested_token_types_supported: Option<Vec<String>>,
    /// `scopes_supported`.
    pub scopes_supported: Option<Vec<String>>,
    /// `dpop_signing_alg_values_supported`: the algorithms the server accepts DPoP proofs
    /// signed with (RFC 9449 section 5.1).
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// `authorization_endpoint`, where a person signs in (RFC 8414 section 2, OpenID Connect
    /// Discovery 1.0 section 3).
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// `device_authorization_endpoint` (RFC 8628 section 4).
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    /// `revocation_endpoint` (RFC 8414 section 2, RFC 7009).
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// `code_challenge_methods_supported` (RFC 8414 section 2, RFC 7636).
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// `authorization_response_iss_parameter_supported`: the server puts `iss` in every
    /// authorization response (RFC 9207 section 3); absent means `false`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

impl AuthorizationServerMetadata {
    /// Parses a document. `issuer` and `token_endpoint` are required (the flow needs the
    /// token endpoint; RFC 8414 section 2 makes it required unless only implicit is supported).
    pub fn from_json(body: &[u8]) -> Result<Self, Violation> {
        Self::from_object(&parse_object(body)?)
    }

    pub(crate) fn from_object(object: &Map<String, Value>) -> Result<Self, Violation> {
        Ok(Self {
            issuer: required_str(Member::of(object, "issuer"), "issuer")?,
            token_endpoint: required_str(Member::of(object, "token_endpoint"), "token_endpoint")?,
            jwks_uri: optional_str(Member::of(object, "jwks_uri"), "jwks_uri")?,
            grant_types_supported: optional_str_array(object, "grant_types_supported")?,
            token_endpoint_auth_methods_supported: optional_str_array(
                object,
                "token_endpoint_auth_methods_supported",
            )?,
            token_endpoint_auth_signing_alg_values_supported: optional_str_array(
                object,
                "token_endpoint_auth_signing_alg_values_supported",
            )?,
            authorization_grant_profiles_supported: optional_str_array(
                object,
                "authorization_grant_profiles_supported",
            )?,
            identity_chaining_requested_token_types_supported: optional_str_array(
                object,
                "identity_chaining_requested_token_types_supported",
            )?,
            scopes_supported: optional_str_array(object, "scopes_supported")?,
            dpop_signing_alg_values_supported: optional_str_array(
                object,
                "dpop_signing_alg_values_supported",
            )?,
            authorization_endpoint: optional_str(
                Member::of(object, "authorization_endpoint"),
                "authorization_endpoint",
            )?,
            device_authorization_endpoint: optional_str(
                Member::of(object, "device_authorization_endpoint"),
                "device_authorization_endpoint",
            )?,
            revocation_endpoint: optional_str(
                Member::of(object, "revocation_endpoint"),
                "revocation_endpoint",
            )?,
            code_challenge_methods_supported: optional_str_array(
                object,
                "code_challenge_methods_supported",
            )?,
            authorization_response_iss_parameter_supported: optional_bool(
                object,
                "authorization_response_iss_parameter_supported",
            )?,
        })
    }

    /// Whether this MCP authorization server can take the jwt-bearer grant with the ID-JAG
    /// profile from a client authenticating with `auth` (decisions.md D3: an absent list means
    /// proceed; a present list lacking the value is unsupported).
    pub fn check_jwt_bearer_support(&self, auth: &ClientAuth) -> Result<(), Unsupported> {
        self.check_id_jag_grant_support(auth, false)
    }

    /// [`check_jwt_bearer_support`](Self::check_jwt_bearer_support), where with `binds_tokens`
    /// (a client with a DPoP key) the `jwt-dpop` grant (draft-parecki-oauth-jwt-dpop-grant)
    /// listed instead of `jwt-bearer` will do.
    pub(crate) fn check_id_jag_grant_support(
        &self,
        auth: &ClientAuth,
        binds_tokens: bool,
    ) -> Result<(), Unsupported> {
        let jwt_dpop = binds_tokens && !lacks(&self.grant_types_supported, GRANT_TYPE_JWT_DPOP);
        if lacks(&self.grant_types_supported, GRANT_TYPE_JWT_BEARER) && !jwt_dpop {
            return Err(Unsupported::GrantType(GRANT_TYPE_JWT_BEARER));
        }
        if lacks(
            &self.authorization_grant_profiles_supported,
            GRANT_PROFILE_ID_JAG,
        ) {
            return Err(Unsupported::GrantProfile);
        }
        self.check_auth_method(auth)
    }

    /// Whether this IdP can exchange a subject token for an ID-JAG for a client authenticating
    /// with `auth` (decisions.md D3).
    pub fn check_token_exchange_support(&self, auth: &ClientAuth) -> Result<(), Unsupported> {
        if lacks(&self.grant_types_supported, GRANT_TYPE_TOKEN_EXCHANGE) {
            return Err(Unsupported::GrantType(GRANT_TYPE_TOKEN_EXCHANGE));
        }
        if lacks(
            &self.identity_chaining_requested_token_types_supported,
            TOKEN_TYPE_ID_JAG,
        ) {
            return Err(Unsupported::RequestedTokenType);
        }
        self.check_auth_method(auth)
    }

    /// Whether `token_endpoint_auth_methods_supported`, when present, lists the method.
    pub fn check_auth_method(&self, auth: &ClientAuth) -> Result<(), Unsupported> {
        let method = auth.method_name();
        if lacks(&self.token_endpoint_auth_methods_supported, method) {
            return Err(Unsupported::AuthMethod(method));
        }
        Ok(())
    }
}

/// A list that is present and lacks `value` (decisions.md D3).
fn lacks(list: &Option<Vec<String>>, value: &str) -> bool {
    list.as_ref()
        .is_some_and(|items| !items.iter().any(|v| v == value))
}

/// How long a fetched document may be reused when the server sent no `Cache-Control`.
pub(crate) const DEFAULT_METADATA_LIFETIME: Duration = Duration::from_secs(3600);
