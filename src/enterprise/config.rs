//! What [`EnterpriseAuth`](super::EnterpriseAuth) needs to know: the grant source, the two
//! client registrations, the trust mode and the policy.

use crate::discovery::AuthServerDiscovered;
use crate::dpop_hook::Binding;
use crate::grant::SubjectToken;
use crate::renewal_hook::Renewing;
use crate::{Assertion, ClientCredentials, Policy, Scope};

/// How the enterprise IdP is reached.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdpEndpoint {
    /// Its issuer identifier: the metadata is discovered and its `issuer` checked
    /// (protocol.md 2.3, 6 rule 2).
    Issuer(String),
    /// Its token endpoint, configured directly (no discovery).
    TokenEndpoint(String),
}

/// What to do with a SAML subject token (decisions.md D15).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SamlMode {
    /// Send the assertion as the token-exchange subject (protocol.md 2.7 option A).
    #[default]
    Direct,
    /// Exchange it first for an IdP refresh token, then use that (option B).
    ExchangeForRefreshToken,
}

/// The enterprise IdP and the client's registration there.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct IdentityProvider {
    /// How to reach it.
    pub endpoint: IdpEndpoint,
    /// The client's registration at the IdP (never sent to the MCP authorization server).
    pub credentials: ClientCredentials,
    /// SAML handling.
    pub saml: SamlMode,
}

impl IdentityProvider {
    /// An IdP discovered from its issuer.
    pub fn issuer(issuer: impl Into<String>, credentials: ClientCredentials) -> Self {
        Self {
            endpoint: IdpEndpoint::Issuer(issuer.into()),
            credentials,
            saml: SamlMode::Direct,
        }
    }

    /// An IdP known by its token endpoint.
    pub fn token_endpoint(endpoint: impl Into<String>, credentials: ClientCredentials) -> Self {
        Self {
            endpoint: IdpEndpoint::TokenEndpoint(endpoint.into()),
            credentials,
            saml: SamlMode::Direct,
        }
    }

    /// Sets the SAML handling.
    pub fn with_saml(mut self, saml: SamlMode) -> Self {
        self.saml = saml;
        self
    }

    pub(crate) fn issuer_str(&self) -> Option<&str> {
        match &self.endpoint {
            IdpEndpoint::Issuer(issuer) => Some(issuer),
            IdpEndpoint::TokenEndpoint(_) => None,
        }
    }

    /// Its token endpoint: the configured one, else the one its `discovered` metadata names.
    pub(super) fn token_endpoint_from<'a>(
        &'a self,
        discovered: Option<&'a AuthServerDiscovered>,
    ) -> Option<&'a str> {
        match &self.endpoint {
            IdpEndpoint::TokenEndpoint(endpoint) => Some(endpoint),
            IdpEndpoint::Issuer(_) => {
                discovered.map(|found| found.metadata.token_endpoint.as_str())
            }
        }
    }
}

/// Where the assertion for the jwt-bearer grant comes from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum GrantSource {
    /// The enterprise flow: the subject token is exchanged at the IdP for an ID-JAG.
    Enterprise {
        /// The IdP.
        idp: IdentityProvider,
        /// The user's subject token.
        subject: SubjectToken,
    },
    /// A caller-supplied JWT (a workload-identity token, an ID-JAG obtained elsewhere): only
    /// discovery and the jwt-bearer grant run, and a rejection is final.
    Assertion(Assertion),
}

/// Which authorization server the ID-JAG may be sent to (design: two trust modes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trust {
    /// The first entry of the MCP server's `authorization_servers` (decisions.md D7).
    #[default]
    Discover,
    /// Only this issuer, which must appear in `authorization_servers` when that document was
    /// fetched: a hostile MCP server cannot redirect the ID-JAG.
    Pinned(String),
}

/// The MCP authorization server side of the configuration.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthorizationServer {
    /// How it is chosen.
    pub trust: Trust,
    /// The client's registration there (never sent to the IdP).
    pub credentials: ClientCredentials,
}

impl AuthorizationServer {
    /// Discovered from the MCP server's metadata.
    pub fn discovered(credentials: ClientCredentials) -> Self {
        Self {
            trust: Trust::Discover,
            credentials,
        }
    }

    /// Pinned to one issuer.
    pub fn pinned(issuer: impl Into<String>, credentials: ClientCredentials) -> Self {
        Self {
            trust: Trust::Pinned(issuer.into()),
            credentials,
        }
    }
}

/// Everything [`EnterpriseAuth`](super::EnterpriseAuth) needs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EnterpriseConfig {
    /// Where the assertion comes from.
    pub grant: GrantSource,
    /// The MCP authorization server.
    pub authorization_server: AuthorizationServer,
    /// The scope to request; `None` selects it per decisions.md D8.
    pub scope: Option<Scope>,
    /// Limits and switches.
    pub policy: Policy,
    /// The DPoP key tokens are bound to, and when (RFC 9449; ID-JAG draft section 9.8); `None`
    /// for bearer tokens.
    pub(crate) dpop: Option<Binding>,
    /// The session renewed with its refresh token before the exchange, its renewed ID token
    /// then the subject token (feature `signin`; without it always `None`).
    #[cfg_attr(not(feature = "signin"), allow(dead_code))]
    pub(crate) renewal: Option<Renewing>,
}

impl EnterpriseConfig {
    /// The enterprise flow with the default (strict) policy.
    pub fn new(
        idp: IdentityProvider,
        subject: SubjectToken,
        authorization_server: AuthorizationServer,
    ) -> Self {
        Self {
            grant: GrantSource::Enterprise { idp, subject },
            authorization_server,
            scope: None,
            policy: Policy::default(),
            dpop: None,
            renewal: None,
        }
    }

    /// Only the jwt-bearer leg, with a caller-supplied assertion.
    pub fn with_assertion(assertion: Assertion, authorization_server: AuthorizationServer) -> Self {
        Self {
            grant: GrantSource::Assertion(assertion),
            authorization_server,
            scope: None,
            policy: Policy::default(),
            dpop: None,
            renewal: None,
        }
    }

    /// Sets the policy.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Binds the tokens to a DPoP key under the binding's policy (RFC 9449; ID-JAG draft
    /// section 9.8): proofs go with the token exchange and the jwt-bearer grant, the ID-JAG's
    /// `cnf.jkt` and the access token's `token_type` are checked, and a server's nonce demand
    /// gets one retry.
    #[cfg(feature = "dpop")]
    pub fn dpop(mut self, binding: crate::dpop::DpopBinding) -> Self {
        self.dpop = Some(binding);
        self
    }

    /// Renews the person's session at the IdP with its refresh token before the token
    /// exchange, and sends the renewed ID token as the subject token in place of the
    /// configured one (OpenID Connect Core 1.0 section 12). The IdP must be configured by
    /// issuer: its discovered metadata names the token endpoint and the `jwks_uri` the renewed
    /// ID token is checked against.
    #[cfg(feature = "signin")]
    pub fn session_renewal(mut self, renewal: crate::signin::SessionRenewal) -> Self {
        self.renewal = Some(renewal);
        self
    }

    /// The DPoP binding in force, when there is one and it is not off.
    pub(crate) fn binding(&self) -> Option<&Binding> {
        self.dpop.as_ref().filter(|binding| binding.is_on())
    }

    /// Sets the scope, overriding decisions.md D8's selection.
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The IdP, in the enterprise flow; `None` with a caller-supplied assertion.
    pub(super) fn idp(&self) -> Option<&IdentityProvider> {
        match &self.grant {
            GrantSource::Enterprise { idp, .. } => Some(idp),
            GrantSource::Assertion(_) => None,
        }
    }

    /// The IdP's issuer, when the IdP takes part and is configured by issuer.
    pub(super) fn idp_issuer(&self) -> Option<&str> {
        self.idp().and_then(IdentityProvider::issuer_str)
    }
}
