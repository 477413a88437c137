//! Real HTTP servers on 127.0.0.1 for testing MCP Enterprise-Managed Authorization (ID-JAG):
//! an enterprise IdP, an MCP authorization server and an MCP server, built on the sans-IO
//! handlers of [`xaa::server`].
//!
//! ```text
//!  IdP                     http://127.0.0.1:P1
//!    /.well-known/oauth-authorization-server, /.well-known/openid-configuration
//!    /jwks, /token (RFC 8693 token exchange: subject token -> ID-JAG; and the sign-in
//!    grants: authorization_code, refresh_token, device_code)
//!    /authorize (sign-in page), /authorize/sign-in (its form), /device_authorization,
//!    /device (device verification page), /revoke (RFC 7009)
//!  authorization server    http://127.0.0.1:P2[/tenant]
//!    /.well-known/oauth-authorization-server[/tenant]
//!    [/tenant]/token (RFC 7523 jwt-bearer: ID-JAG -> access token), or on a fourth origin
//!  MCP server              http://127.0.0.1:P3
//!    /mcp (Streamable HTTP, JSON; Bearer required), /.well-known/oauth-protected-resource[/mcp]
//! ```
//!
//! Each server has its own listener (its own origin), all served by one tokio runtime on a
//! thread the [`Testkit`] owns, so a kit works the same from blocking and from async tests.
//! [`Testkit::stop`] (or dropping the kit) closes every listener and connection and joins
//! the thread.
//!
//! The kit is also a recorder and a saboteur: every request is kept ([`Testkit::requests`],
//! with the client credentials it presented), most behaviour can be changed on a running kit
//! (client authentication methods, lifetimes, scopes, delays, where metadata is published),
//! and each endpoint can be told to misbehave in a specific way ([`Fault`]).
//!
//! ```no_run
//! use xaa::grant::SubjectToken;
//! use xaa_testkit::{Endpoint, Fault, Options, Testkit};
//!
//! let kit = Testkit::start(Options::default())?;
//! // The client side needs the MCP URL, the IdP issuer, both client registrations and a
//! // subject token; `enterprise_config` bundles them.
//! let config = kit.enterprise_config(SubjectToken::IdToken(kit.id_token("alice")));
//! let flow = xaa::EnterpriseAuth::new(config, xaa::Start::ServerUrl(kit.mcp_url().into()))?;
//! // ... drive `flow` with any HTTP client (xaa::drive), then look at what the servers saw:
//! for request in kit.token_requests() {
//!     println!("{} {} {:?}", request.server, request.path, request.credentials);
//! }
//! // The next flow meets a lying authorization server.
//! kit.set_fault(Endpoint::AsMetadata, Fault::WrongIssuer);
//! # let _ = flow;
//! kit.stop();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The kit has no cargo features of its own; it builds on `xaa` with `jwt` and `server`.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authorization_server;
mod clients;
mod core_servers;
mod dpop;
mod endpoint;
mod faults;
pub mod form;
mod http_util;
mod identity;
mod idp;
mod knobs;
mod mcp;
mod options;
mod recorder;
mod serve;
mod sign_in_record;
mod sign_in_state;
mod signin;
mod state;
mod tls;
mod tokens;
mod urls;
mod users;

use std::sync::Arc;
use std::time::SystemTime;

use xaa::grant::SubjectToken;
use xaa::jose::SigningKey;
use xaa::{AccessToken, IdToken, Policy, RefreshToken, SamlAssertion, Scope};

pub use clients::{AS_CLIENT_ID, ClientRegistration, Credential, IDP_CLIENT_ID};
pub use endpoint::{Endpoint, Server};
pub use faults::{
    EVIL_ORIGIN, Fault, IdJagFault, OVERSIZED_BODY_BYTES, UNREACHABLE_ISSUER, WRONG_JKT,
};
pub use options::{Options, Tool};
pub use recorder::{PresentedCredentials, RecordedRequest};
pub use signin::{AuthorizationResponseFault, DeviceGrantFault, IdTokenFault, SignInRecord};
pub use tls::TlsIdentity;
pub use tokens::AccessTokenInfo;
pub use users::{USERS, email};
pub use xaa::server::{ClientAuthMethod, ReplayMode};

use crate::identity::{ClientKeys, Identity};
use crate::serve::Running;
use crate::state::{Listener, Shared};
use crate::urls::{Urls, normalize_path};

/// Why a kit could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Binding a listener or starting the runtime thread failed.
    #[error("testkit I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A key could not be generated.
    #[error("testkit key: {0}")]
    Key(#[from] xaa::jose::KeyError),
    /// The TLS certificate or key is unusable.
    #[error("testkit TLS: {0}")]
    Tls(String),
}

/// An IdP, an MCP authorization server and an MCP server, running on 127.0.0.1 until
/// [`stop`](Testkit::stop)ped or dropped.
pub struct Testkit {
    shared: Arc<Shared>,
    running: Running,
    initial: Options,
}

impl std::fmt::Debug for Testkit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Testkit")
            .field("idp_issuer", &self.idp_issuer())
            .field(
                "authorization_server_issuer",
                &self.authorization_server_issuer(),
            )
            .field("mcp_url", &self.mcp_url())
            .finish_non_exhaustive()
    }
}

impl Testkit {
    /// Binds the listeners (ephemeral ports), generates the keys (the IdP's ES256 key and a
    /// key for each client registration), and starts serving.
    pub fn start(options: Options) -> Result<Self, Error> {
        let tls = options
            .tls
            .as_ref()
            .map(TlsIdentity::server_config)
            .transpose()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let idp = serve::bind()?;
        let authorization_server = serve::bind()?;
        let mcp = serve::bind()?;
        let as_token = if options.as_token_endpoint_elsewhere {
            Some(serve::bind()?)
        } else {
            None
        };
        let origin = |listener: &std::net::TcpListener| -> Result<String, Error> {
            let port = listener.local_addr()?.port();
            Ok(format!("{scheme}://{}:{port}", options.host))
        };
        let urls = Urls::new(
            origin(&idp)?,
            origin(&authorization_server)?,
            origin(&mcp)?,
            as_token.as_ref().map(origin).transpose()?,
            &normalize_path(options.as_issuer_path.as_deref()),
        );
        let identity = Identity {
            idp_key: SigningKey::generate_es256("xaa-testkit-idp-key")?,
            idp_client: ClientKeys::generate(IDP_CLIENT_ID, "xaa-testkit-idp-client-key")?,
            as_client: ClientKeys::generate(AS_CLIENT_ID, "xaa-testkit-mcp-client-key")?,
        };
        let shared = Arc::new(Shared::new(urls, identity, options.clone()));
        let mut listeners = vec![
            (idp, Listener::Idp),
            (authorization_server, Listener::AuthorizationServer),
            (mcp, Listener::Mcp),
        ];
        if let Some(listener) = as_token {
            listeners.push((listener, Listener::AsToken));
        }
        let running = Running::start(listeners, Arc::clone(&shared), tls)?;
        Ok(Self {
            shared,
            running,
            initial: options,
        })
    }

    /// Stops every server: listeners and connections (idle or mid-request) are closed, and the
    /// runtime thread is joined. Dropping the kit does the same.
    pub fn stop(mut self) {
        self.running.stop();
    }

    /// The MCP endpoint, `http://127.0.0.1:P/mcp`: the resource identifier of the
    /// path-inserted protected-resource metadata.
    pub fn mcp_url(&self) -> &str {
        &self.shared.urls.mcp_url
    }

    /// The MCP server's origin, `http://127.0.0.1:P` (no trailing slash): the resource
    /// identifier of the root protected-resource metadata.
    pub fn mcp_origin(&self) -> &str {
        &self.shared.urls.mcp_origin
    }

    /// The protected-resource metadata URL the 401 challenge names: path-inserted, or the root
    /// one under [`Options::prm_root_only`].
    pub fn resource_metadata_url(&self) -> String {
        self.shared.resource_metadata_url()
    }

    /// The IdP's issuer identifier (its origin).
    pub fn idp_issuer(&self) -> &str {
        &self.shared.urls.idp_issuer
    }

    /// The IdP's token endpoint.
    pub fn idp_token_endpoint(&self) -> &str {
        &self.shared.urls.idp_token_endpoint
    }

    /// The IdP's JWKS URL.
    pub fn idp_jwks_uri(&self) -> &str {
        &self.shared.urls.idp_jwks_uri
    }

    /// The authorization server's issuer identifier (its origin, plus
    /// [`Options::as_issuer_path`]).
    pub fn authorization_server_issuer(&self) -> &str {
        &self.shared.urls.as_issuer
    }

    /// The authorization server's RFC 8414 metadata URL (path-inserted for an issuer with a
    /// path).
    pub fn authorization_server_metadata_url(&self) -> String {
        let urls = &self.shared.urls;
        format!("{}{}", urls.as_origin, urls.as_metadata_path)
    }

    /// The authorization server's token endpoint.
    pub fn authorization_server_token_endpoint(&self) -> &str {
        &self.shared.urls.as_token_endpoint
    }

    /// The client's registration at the IdP, under the method now in force.
    pub fn idp_client(&self) -> ClientRegistration {
        let method = self.shared.settings().idp_client_auth;
        ClientRegistration::new(&self.shared.identity.idp_client, method)
    }

    /// The client's registration at the authorization server, under the method now in force.
    pub fn as_client(&self) -> ClientRegistration {
        let method = self.shared.settings().as_client_auth;
        ClientRegistration::new(&self.shared.identity.as_client, method)
    }

    /// Ready-made credentials for the IdP ([`ClientRegistration::credentials`]).
    pub fn idp_credentials(&self) -> xaa::ClientCredentials {
        self.idp_client().credentials()
    }

    /// Ready-made credentials for the authorization server.
    pub fn as_credentials(&self) -> xaa::ClientCredentials {
        self.as_client().credentials()
    }

    /// The named users ([`USERS`]).
    pub fn users(&self) -> &'static [&'static str] {
        &USERS
    }

    /// A fresh ID token for `user`: ES256 with the IdP's key, `iss` the IdP, `aud` the IdP
    /// client, `sub` the user, `exp` now plus [`Options::id_token_lifetime`].
    pub fn id_token(&self, user: &str) -> IdToken {
        let lifetime = self.shared.settings().id_token_lifetime;
        users::id_token(
            &self.shared.identity.idp_key,
            &self.shared.urls.idp_issuer,
            &self.shared.identity.idp_client.client_id,
            user,
            lifetime,
            SystemTime::now(),
        )
    }

    /// A fresh SAML assertion for `user` (opaque base64url), which the IdP's subject verifier
    /// recognizes as issued to the IdP client.
    pub fn saml_assertion(&self, user: &str) -> SamlAssertion {
        self.shared
            .subjects
            .saml_assertion(&self.shared.urls.idp_issuer, user, SystemTime::now())
    }

    /// A fresh IdP refresh token for `user`, bound to the IdP client.
    pub fn idp_refresh_token(&self, user: &str) -> RefreshToken {
        self.shared.subjects.refresh_token(user)
    }

    /// The token response of a completed sign-in of `user` (JSON: `id_token`, `refresh_token`
    /// starting a family of its own, `access_token`, `scope`), as if they had used the
    /// sign-in page: for tests of renewal and of what follows a sign-in. Not recorded as a
    /// request.
    pub fn signed_in(&self, user: &str) -> serde_json::Value {
        signin::signed_in(&self.shared, user, SystemTime::now())
    }

    /// The IdP's signing key (ID tokens and ID-JAGs), for tests that craft their own tokens.
    pub fn idp_signing_key(&self) -> &SigningKey {
        &self.shared.identity.idp_key
    }

    /// A client configuration for the whole flow against this kit: the IdP by issuer, both
    /// registrations as now in force, the authorization server discovered, and
    /// [`Policy::loopback`] (plain http on 127.0.0.1) unless the kit serves https.
    pub fn enterprise_config(&self, subject: SubjectToken) -> xaa::EnterpriseConfig {
        let policy = if self.shared.urls.mcp_url.starts_with("https:") {
            Policy::default()
        } else {
            Policy::loopback()
        };
        xaa::EnterpriseConfig::new(
            xaa::IdentityProvider::issuer(self.idp_issuer(), self.idp_credentials()),
            subject,
            xaa::AuthorizationServer::discovered(self.as_credentials()),
        )
        .policy(policy)
    }

    /// Issues an access token directly (no ID-JAG), as the authorization server would for
    /// `user` and `scope`, for tests of the MCP server alone.
    pub fn issue_access_token(&self, user: &str, scope: &Scope) -> AccessToken {
        let lifetime = self.shared.settings().access_token_lifetime;
        let lifetime = std::time::Duration::from_secs(lifetime.as_secs().max(1));
        self.shared.tokens.issue(AccessTokenInfo {
            subject: user.to_owned(),
            client_id: self.shared.identity.as_client.client_id.clone(),
            idp_issuer: self.shared.urls.idp_issuer.clone(),
            resource: self.shared.urls.mcp_url.clone(),
            scope: scope.clone(),
            expires_at: SystemTime::now() + lifetime,
            revoked: false,
            dpop_jkt: None,
        })
    }

    /// Issues an access token bound to the DPoP key with thumbprint `jkt` (RFC 9449 section
    /// 6), as the authorization server would for a request with a proof by that key.
    pub fn issue_dpop_access_token(&self, user: &str, scope: &Scope, jkt: &str) -> AccessToken {
        let token = self.issue_access_token(user, scope);
        self.shared.tokens.bind(token.expose_secret(), jkt);
        token
    }

    /// What an access token issued by the kit grants.
    pub fn access_token_info(&self, token: &str) -> Option<AccessTokenInfo> {
        self.shared.tokens.get(token)
    }

    /// Revokes an access token: the MCP server answers 401 `invalid_token` for it. Whether the
    /// token was known.
    pub fn revoke(&self, access_token: &str) -> bool {
        self.shared.tokens.revoke(access_token)
    }

    /// Revokes every access token issued so far.
    pub fn revoke_all(&self) {
        self.shared.tokens.revoke_all();
    }

    /// Every request received since the start or the last [`clear_requests`](Self::clear_requests),
    /// in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorder.snapshot()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.recorder.clear();
    }

    /// How many requests `server` received for `path` (without query).
    pub fn count(&self, server: Server, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|request| request.server == server && request.path == path)
            .count()
    }

    /// The requests routed to `endpoint`.
    pub fn requests_to(&self, endpoint: Endpoint) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|request| request.endpoint == Some(endpoint))
            .collect()
    }

    /// The requests to either token endpoint (IdP, then authorization server, in arrival
    /// order).
    pub fn token_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(RecordedRequest::is_token_request)
            .collect()
    }
}

/// The README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
