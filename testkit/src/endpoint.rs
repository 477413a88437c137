//! Names for the three servers and the endpoints they serve.

use std::fmt;

/// One of the three servers of a [`Testkit`](crate::Testkit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Server {
    /// The enterprise IdP: metadata, JWKS, the token endpoint (token exchange and the
    /// sign-in grants), the sign-in pages, device authorization and revocation.
    Idp,
    /// The MCP authorization server: metadata and the jwt-bearer token endpoint (which may
    /// live on a fourth origin, [`Options::as_token_endpoint_elsewhere`](crate::Options)).
    AuthorizationServer,
    /// The MCP server: `/mcp` and its protected-resource metadata.
    Mcp,
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Idp => "IdP",
            Self::AuthorizationServer => "authorization server",
            Self::Mcp => "MCP server",
        })
    }
}

/// An endpoint, the unit that delays and faults are set on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Endpoint {
    /// The MCP endpoint, `/mcp`, every method.
    McpServer,
    /// The protected-resource metadata (RFC 9728), path-inserted and root.
    ResourceMetadata,
    /// The authorization server's RFC 8414 metadata.
    AsMetadata,
    /// The authorization server's token endpoint (jwt-bearer grant).
    AsToken,
    /// The IdP's metadata, RFC 8414 and OpenID Connect Discovery.
    IdpMetadata,
    /// The IdP's token endpoint (token exchange).
    IdpToken,
    /// The IdP's JWKS.
    Jwks,
    /// The IdP's authorization endpoint, `GET /authorize`: the sign-in page (OpenID Connect
    /// Core 1.0 section 3.1.2).
    IdpAuthorization,
    /// The sign-in form's target, `POST /authorize/sign-in`: answers with the authorization
    /// response, a `303` to the client's redirect URI. Authorization-response faults are set
    /// here.
    IdpSignIn,
    /// The IdP's device authorization endpoint, `POST /device_authorization` (RFC 8628
    /// section 3.1).
    IdpDeviceAuthorization,
    /// The IdP's device verification page, `/device` (RFC 8628 section 3.3): a person enters
    /// the user code and picks a user.
    IdpDeviceVerification,
    /// The IdP's revocation endpoint, `POST /revoke` (RFC 7009).
    IdpRevocation,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Self; 12] = [
        Self::McpServer,
        Self::ResourceMetadata,
        Self::AsMetadata,
        Self::AsToken,
        Self::IdpMetadata,
        Self::IdpToken,
        Self::Jwks,
        Self::IdpAuthorization,
        Self::IdpSignIn,
        Self::IdpDeviceAuthorization,
        Self::IdpDeviceVerification,
        Self::IdpRevocation,
    ];

    /// The server the endpoint belongs to.
    pub fn server(self) -> Server {
        match self {
            Self::McpServer | Self::ResourceMetadata => Server::Mcp,
            Self::AsMetadata | Self::AsToken => Server::AuthorizationServer,
            Self::IdpMetadata
            | Self::IdpToken
            | Self::Jwks
            | Self::IdpAuthorization
            | Self::IdpSignIn
            | Self::IdpDeviceAuthorization
            | Self::IdpDeviceVerification
            | Self::IdpRevocation => Server::Idp,
        }
    }

    /// Whether it is a token endpoint.
    pub fn is_token_endpoint(self) -> bool {
        matches!(self, Self::AsToken | Self::IdpToken)
    }

    /// Whether it serves a metadata document (PRM, authorization-server or IdP metadata).
    pub fn is_metadata(self) -> bool {
        matches!(
            self,
            Self::ResourceMetadata | Self::AsMetadata | Self::IdpMetadata
        )
    }
}
