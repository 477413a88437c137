//! Client configuration: credentials per server, and the [`Policy`] every flow enforces.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::secret::{Assertion, ClientSecret};

/// Limits and switches every flow enforces. `Default` is the strict production setting.
///
/// ```
/// let mut policy = xaa::Policy::default();
/// policy.allow_http_loopback = true; // tests against servers on 127.0.0.1
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// Allow plain `http` for loopback hosts (127.0.0.0/8, `::1`, `localhost`). Off by default
    /// (protocol.md 6 rule 1).
    pub allow_http_loopback: bool,
    /// Allow URLs naming private or loopback IP literals even when the MCP server itself is not
    /// in such a range (decisions.md D5). Off by default. Link-local, unspecified, broadcast,
    /// multicast and reserved addresses stay refused whatever this says.
    pub allow_private_addresses: bool,
    /// Largest response body a flow accepts. Drivers cap their reads at this size.
    pub max_body_bytes: usize,
    /// Most requests one flow may emit before it is declared stuck ([`Error::TooManyTransmits`](crate::Error::TooManyTransmits)).
    pub max_transmits: u32,
    /// Tolerance when comparing `exp` and `iat` against `now`.
    pub clock_skew: Duration,
    /// Accept an encrypted (JWE) ID-JAG without claim checks (decisions.md D11). On by default.
    pub allow_encrypted_id_jag: bool,
    /// Fetch the path-inserted protected-resource metadata alongside the probe (design: four
    /// sequential round trips instead of five). Off by default.
    pub speculative_resource_metadata: bool,
    /// Send `resource` on the jwt-bearer request (decisions.md D14). Off by default.
    pub jwt_bearer_resource: bool,
    /// Lifetime assumed for an access token sent without `expires_in` (decisions.md D9).
    pub default_access_token_lifetime: Duration,
    /// The ceiling of [`Policy::default_access_token_lifetime`].
    pub max_default_access_token_lifetime: Duration,
    /// `expires_in` values above this are refused as absurd (decisions.md D9).
    pub max_expires_in: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            allow_http_loopback: false,
            allow_private_addresses: false,
            max_body_bytes: 256 * 1024,
            max_transmits: 16,
            clock_skew: Duration::from_secs(60),
            allow_encrypted_id_jag: true,
            speculative_resource_metadata: false,
            jwt_bearer_resource: false,
            default_access_token_lifetime: Duration::from_secs(300),
            max_default_access_token_lifetime: Duration::from_secs(3600),
            max_expires_in: Duration::from_secs(366 * 24 * 3600),
        }
    }
}

impl Policy {
    /// The policy for tests and development against servers on loopback: plain http allowed there.
    pub fn loopback() -> Self {
        Self {
            allow_http_loopback: true,
            ..Self::default()
        }
    }

    /// The lifetime to assume when `expires_in` is absent: the configured default, capped.
    pub(crate) fn assumed_access_token_lifetime(&self) -> Duration {
        self.default_access_token_lifetime
            .min(self.max_default_access_token_lifetime)
    }
}

/// The claims of a `private_key_jwt` client assertion (RFC 7523 section 3), built by the flow
/// and signed by an [`AssertionSigner`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ClientAssertionClaims {
    /// The client id.
    pub iss: String,
    /// The client id.
    pub sub: String,
    /// The token endpoint, or the issuer (see [`AssertionAudience`]).
    pub aud: String,
    /// A unique id from the configured [`JtiSource`].
    pub jti: String,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
}

/// Signs client assertions. The core has no cryptography: implement this over any JOSE library
/// (the `jwt` feature provides one).
pub trait AssertionSigner: Send + Sync {
    /// The JWS `alg` the signer produces (`ES256`, `RS256`, ...).
    fn algorithm(&self) -> &str;

    /// Signs the claims into a compact JWS.
    fn sign(&self, claims: &ClientAssertionClaims) -> Result<Assertion, SignerError>;
}

/// Why an [`AssertionSigner`] failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SignerError(pub String);

/// Supplies unique `jti` values for client assertions. The core has no randomness: the caller
/// decides (a UUID, a counter, ...). Any `Fn() -> String` is a source.
pub trait JtiSource: Send + Sync {
    /// A value never returned before.
    fn next_jti(&self) -> String;
}

impl<F: Fn() -> String + Send + Sync> JtiSource for F {
    fn next_jti(&self) -> String {
        self()
    }
}

/// The `aud` of a `private_key_jwt` assertion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AssertionAudience {
    /// The token endpoint URL (RFC 7523 section 3).
    #[default]
    TokenEndpoint,
    /// The authorization server's issuer identifier (newer guidance; protocol.md Q10).
    Issuer,
}

/// `private_key_jwt` settings (RFC 7523 section 2.2).
#[derive(Clone)]
#[non_exhaustive]
pub struct PrivateKeyJwt {
    /// Signs the assertion.
    pub signer: Arc<dyn AssertionSigner>,
    /// Supplies each assertion's `jti`.
    pub jti: Arc<dyn JtiSource>,
    /// What `aud` names.
    pub audience: AssertionAudience,
    /// `exp - iat`.
    pub lifetime: Duration,
}

impl PrivateKeyJwt {
    /// An assertion signed by `signer`, `jti` from `jti`, audience the token endpoint, 60 s life.
    pub fn new(signer: Arc<dyn AssertionSigner>, jti: Arc<dyn JtiSource>) -> Self {
        Self {
            signer,
            jti,
            audience: AssertionAudience::TokenEndpoint,
            lifetime: Duration::from_secs(60),
        }
    }

    /// Names the issuer instead of the token endpoint in `aud`.
    pub fn with_audience(mut self, audience: AssertionAudience) -> Self {
        self.audience = audience;
        self
    }
}

impl fmt::Debug for PrivateKeyJwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKeyJwt")
            .field("algorithm", &self.signer.algorithm())
            .field("audience", &self.audience)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

/// How the client authenticates at a token endpoint (RFC 6749 section 2.3, RFC 7523 section 2.2).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ClientAuth {
    /// A public client: `client_id` in the body, no secret.
    None,
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 section 2.3.1).
    ClientSecretBasic(ClientSecret),
    /// `client_id` and `client_secret` in the body.
    ClientSecretPost(ClientSecret),
    /// A signed client assertion.
    PrivateKeyJwt(PrivateKeyJwt),
}

impl ClientAuth {
    /// The method's name in `token_endpoint_auth_methods_supported`.
    pub fn method_name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic(_) => "client_secret_basic",
            Self::ClientSecretPost(_) => "client_secret_post",
            Self::PrivateKeyJwt(_) => "private_key_jwt",
        }
    }
}

/// A client registration at one server: the IdP or the MCP authorization server. The two are
/// separate, and the flow never sends one server's credentials to the other
/// (protocol.md 6 rule 6).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientCredentials {
    /// The client's id at this server.
    pub client_id: String,
    /// How it authenticates there.
    pub auth: ClientAuth,
}

impl ClientCredentials {
    /// Credentials with the given id and method.
    pub fn new(client_id: impl Into<String>, auth: ClientAuth) -> Self {
        Self {
            client_id: client_id.into(),
            auth,
        }
    }

    /// A public client (no authentication beyond the id).
    pub fn public(client_id: impl Into<String>) -> Self {
        Self::new(client_id, ClientAuth::None)
    }

    /// `client_secret_basic`.
    pub fn basic(client_id: impl Into<String>, secret: ClientSecret) -> Self {
        Self::new(client_id, ClientAuth::ClientSecretBasic(secret))
    }

    /// `client_secret_post`.
    pub fn post(client_id: impl Into<String>, secret: ClientSecret) -> Self {
        Self::new(client_id, ClientAuth::ClientSecretPost(secret))
    }
}
