//! What every contender is pointed at: the testkit's endpoints, the two client registrations
//! and the user's ID token, written once by the parent and handed to child processes as JSON.

use std::time::Duration;

use oauth2::ClientSecret as OAuthSecret;
use rmcp::transport::auth::enterprise::{EmaAuthorizationServer, EmaClientAuthentication};
use serde::{Deserialize, Serialize};
use xaa::authorizer::{AuthorizerConfig, User};
use xaa::grant::SubjectToken;
use xaa::{
    AuthorizationServer, ClientCredentials, ClientSecret, Discovery, EnterpriseConfig, IdToken,
    IdentityProvider, Policy,
};
use xaa_testkit::Testkit;

/// The environment variable a child process reads its [`Target`] from.
pub(crate) const TARGET_ENV: &str = "XAA_BENCH_TARGET";

/// The scope every contender requests (the testkit's echo tool needs it; xaa selects it from
/// the 401 challenge, the others are told).
pub(crate) const SCOPE: &str = "tools:read";

/// Everything a contender needs to reach the kit's servers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Target {
    pub(crate) mcp_url: String,
    pub(crate) idp_issuer: String,
    pub(crate) idp_token_endpoint: String,
    pub(crate) idp_client_id: String,
    pub(crate) as_issuer: String,
    pub(crate) as_token_endpoint: String,
    pub(crate) as_client_id: String,
    pub(crate) as_secret: String,
    pub(crate) id_token: String,
    /// A discovery from a cold xaa flow: what `Start::Cached` reuses. The other contenders are
    /// given the same endpoints directly.
    pub(crate) discovery: Option<Discovery>,
}

impl Target {
    /// The kit's endpoints and registrations (public client at the IdP, `client_secret_basic`
    /// at the authorization server: the kit's defaults) and a fresh ID token for alice.
    pub(crate) fn from_kit(kit: &Testkit) -> Result<Self, crate::contenders::BoxError> {
        let as_client = kit.as_client();
        let as_secret = as_client
            .secret()
            .ok_or("the kit's authorization-server client has no secret")?
            .expose_secret()
            .to_owned();
        Ok(Self {
            mcp_url: kit.mcp_url().to_owned(),
            idp_issuer: kit.idp_issuer().to_owned(),
            idp_token_endpoint: kit.idp_token_endpoint().to_owned(),
            idp_client_id: kit.idp_client().client_id,
            as_issuer: kit.authorization_server_issuer().to_owned(),
            as_token_endpoint: kit.authorization_server_token_endpoint().to_owned(),
            as_client_id: as_client.client_id,
            as_secret,
            id_token: kit.id_token("alice").expose_secret().to_owned(),
            discovery: None,
        })
    }

    /// Reads the target a parent process wrote.
    pub(crate) fn from_env() -> Result<Self, crate::contenders::BoxError> {
        let json = std::env::var(TARGET_ENV).map_err(|_| format!("{TARGET_ENV} is not set"))?;
        Ok(serde_json::from_str(&json)?)
    }

    /// The port of an `http://127.0.0.1:P/...` URL.
    pub(crate) fn port(url: &str) -> Option<u16> {
        let rest = url.strip_prefix("http://")?;
        let authority = rest.split('/').next()?;
        authority.rsplit(':').next()?.parse().ok()
    }

    fn idp(&self) -> IdentityProvider {
        IdentityProvider::issuer(
            self.idp_issuer.as_str(),
            ClientCredentials::public(self.idp_client_id.as_str()),
        )
    }

    fn authorization_server(&self) -> AuthorizationServer {
        AuthorizationServer::discovered(ClientCredentials::basic(
            self.as_client_id.as_str(),
            ClientSecret::new(self.as_secret.as_str()),
        ))
    }

    /// xaa's flow configuration: what `Testkit::enterprise_config` builds, plus the policy.
    pub(crate) fn xaa_config(&self, speculative: bool) -> EnterpriseConfig {
        let mut policy = Policy::loopback();
        policy.speculative_resource_metadata = speculative;
        EnterpriseConfig::new(
            self.idp(),
            SubjectToken::IdToken(IdToken::new(self.id_token.as_str())),
            self.authorization_server(),
        )
        .policy(policy)
    }

    /// xaa's authorizer configuration, refreshing `lead` before expiry.
    pub(crate) fn authorizer_config(&self, lead: Duration) -> AuthorizerConfig {
        AuthorizerConfig::new(
            self.mcp_url.as_str(),
            self.idp(),
            self.authorization_server(),
        )
        .policy(Policy::loopback())
        .refresh_lead(lead)
    }

    /// The user the authorizer acts for.
    pub(crate) fn user(&self) -> Result<User, xaa::Error> {
        User::from_id_token(SubjectToken::IdToken(IdToken::new(self.id_token.as_str())))
    }

    /// rmcp's view of the IdP: a public client (`EmaClientAuthentication::None`).
    pub(crate) fn rmcp_idp(&self) -> EmaAuthorizationServer {
        EmaAuthorizationServer::new(
            self.idp_issuer.as_str(),
            self.idp_token_endpoint.as_str(),
            self.idp_client_id.as_str(),
        )
        .with_client_authentication(EmaClientAuthentication::None)
    }

    /// rmcp's view of the MCP authorization server: `client_secret_basic`.
    pub(crate) fn rmcp_as(&self) -> EmaAuthorizationServer {
        EmaAuthorizationServer::new(
            self.as_issuer.as_str(),
            self.as_token_endpoint.as_str(),
            self.as_client_id.as_str(),
        )
        .with_client_authentication(EmaClientAuthentication::ClientSecretBasic(
            OAuthSecret::new(self.as_secret.clone()),
        ))
    }
}
