//! The tokens the servers hand out but do not format themselves: the MCP authorization
//! server's access tokens and the IdP's refresh tokens. The caller issues them (and can
//! remember them, as a test double must); the core decides *what* is granted.

use std::time::SystemTime;

use serde_json::{Map, Value};

use super::subject::VerifiedSubject;
use crate::{AccessToken, RefreshToken, Scope};

/// Why an issuer could not issue. The client sees only `server_error`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IssueError(pub String);

/// What the MCP authorization server grants for a valid ID-JAG (ID-JAG draft section 4.4, EMA section 5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessTokenGrant {
    /// The IdP that issued the ID-JAG (its `iss`).
    pub issuer: String,
    /// The user (the ID-JAG's `sub`), unique per `issuer` (and `tenant`, when present).
    pub subject: String,
    /// The authenticated client, equal to the ID-JAG's `client_id`.
    pub client_id: String,
    /// The resource the token must be audience-restricted to (EMA section 5.1).
    pub resource: String,
    /// The granted scope (RFC 6749 section 3.3).
    pub scope: Scope,
    /// The ID-JAG's `jti`.
    pub id_jag_jti: String,
    /// The ID-JAG's `exp`, seconds since the epoch.
    pub id_jag_expires_at: u64,
    /// Every claim of the ID-JAG, for subject resolution (`tenant`, `aud_sub`, `email`, ...).
    pub id_jag_claims: Map<String, Value>,
    /// The thumbprint of the DPoP key the token must be bound to (RFC 9449 section 6.1): a
    /// JWT access token names it in `cnf.jkt`, an opaque one is stored with it for
    /// introspection (section 6.2). `None` for a bearer token.
    #[cfg(feature = "dpop")]
    pub dpop_jkt: Option<String>,
}

/// An access token as issued by an [`AccessTokenIssuer`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MintedAccessToken {
    /// The token.
    pub access_token: AccessToken,
    /// Its lifetime in seconds, sent as `expires_in` (RFC 6749 section 5.1).
    pub expires_in: u64,
}

impl MintedAccessToken {
    /// A token with its lifetime.
    pub fn new(access_token: AccessToken, expires_in: u64) -> Self {
        Self {
            access_token,
            expires_in,
        }
    }
}

/// Issues the MCP authorization server's access tokens: the format (opaque, JWT) and storage
/// are the caller's.
pub trait AccessTokenIssuer: Send + Sync {
    /// Issues a token for `grant`.
    fn issue(
        &self,
        grant: &AccessTokenGrant,
        now: SystemTime,
    ) -> Result<MintedAccessToken, IssueError>;
}

impl<F> AccessTokenIssuer for F
where
    F: Fn(&AccessTokenGrant, SystemTime) -> Result<MintedAccessToken, IssueError> + Send + Sync,
{
    fn issue(
        &self,
        grant: &AccessTokenGrant,
        now: SystemTime,
    ) -> Result<MintedAccessToken, IssueError> {
        self(grant, now)
    }
}

/// What the IdP grants when it exchanges a SAML assertion for a refresh token
/// (protocol.md 2.7 option B, ID-JAG draft section 4.5).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefreshTokenGrant {
    /// The authenticated client, which the refresh token must be bound to.
    pub client_id: String,
    /// The verified SAML subject.
    pub subject: VerifiedSubject,
    /// The requested scope (normally `openid offline_access ...`).
    pub scope: Scope,
}

/// A refresh token as issued by a [`RefreshTokenIssuer`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MintedRefreshToken {
    /// The token.
    pub refresh_token: RefreshToken,
    /// Its lifetime in seconds, if it has one.
    pub expires_in: Option<u64>,
    /// The scope it carries; sent back when it differs from the request.
    pub scope: Scope,
}

impl MintedRefreshToken {
    /// A token carrying `scope`, with no stated lifetime.
    pub fn new(refresh_token: RefreshToken, scope: Scope) -> Self {
        Self {
            refresh_token,
            expires_in: None,
            scope,
        }
    }
}

/// Issues IdP refresh tokens; the caller stores them so a later exchange can present them as
/// subject tokens (through its [`SubjectTokenVerifier`](super::SubjectTokenVerifier)).
pub trait RefreshTokenIssuer: Send + Sync {
    /// Issues a refresh token for `grant`.
    fn issue(
        &self,
        grant: &RefreshTokenGrant,
        now: SystemTime,
    ) -> Result<MintedRefreshToken, IssueError>;
}

impl<F> RefreshTokenIssuer for F
where
    F: Fn(&RefreshTokenGrant, SystemTime) -> Result<MintedRefreshToken, IssueError> + Send + Sync,
{
    fn issue(
        &self,
        grant: &RefreshTokenGrant,
        now: SystemTime,
    ) -> Result<MintedRefreshToken, IssueError> {
        self(grant, now)
    }
}
