//! URNs, media types and well-known paths of the profile (protocol.md 5, "Constants").

/// RFC 8693 token-exchange grant type.
pub const GRANT_TYPE_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 7523 JWT-bearer grant type.
pub const GRANT_TYPE_JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The JWT authorization grant with DPoP binding (draft-parecki-oauth-jwt-dpop-grant): an
/// assertion bound to a key, redeemed with a DPoP proof by that key.
pub const GRANT_TYPE_JWT_DPOP: &str = "urn:ietf:params:oauth:grant-type:jwt-dpop";
/// The ID-JAG token type, requested from and issued by the IdP.
pub const TOKEN_TYPE_ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// RFC 8693 token type of an OpenID Connect ID token.
pub const TOKEN_TYPE_ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
/// RFC 8693 token type of a SAML 2.0 assertion.
pub const TOKEN_TYPE_SAML2: &str = "urn:ietf:params:oauth:token-type:saml2";
/// RFC 8693 token type of a refresh token.
pub const TOKEN_TYPE_REFRESH_TOKEN: &str = "urn:ietf:params:oauth:token-type:refresh_token";
/// The authorization grant profile an MCP authorization server advertises.
pub const GRANT_PROFILE_ID_JAG: &str = "urn:ietf:params:oauth:grant-profile:id-jag";
/// The JWT `typ` of an ID-JAG.
pub const ID_JAG_TYP: &str = "oauth-id-jag+jwt";
/// RFC 7523 section 2.2 client assertion type.
pub const CLIENT_ASSERTION_TYPE_JWT_BEARER: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// `token_type` of the token-exchange response (the ID-JAG is not an access token).
pub(crate) const TOKEN_TYPE_NOT_APPLICABLE: &str = "N_A";
/// RFC 9728 well-known suffix.
pub const WELL_KNOWN_PROTECTED_RESOURCE: &str = "/.well-known/oauth-protected-resource";
/// RFC 8414 well-known suffix.
pub const WELL_KNOWN_OAUTH_AUTHORIZATION_SERVER: &str = "/.well-known/oauth-authorization-server";
/// OpenID Connect Discovery well-known suffix.
pub const WELL_KNOWN_OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";
/// The MCP extension identifier a client declares in its capabilities.
pub const MCP_EXTENSION_ID: &str = "io.modelcontextprotocol/enterprise-managed-authorization";
/// The MCP protocol version the probe announces.
pub const MCP_PROTOCOL_VERSION: &str = "2025-11-25";
