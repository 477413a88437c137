//! [`Options`]: how a [`Testkit`](crate::Testkit) starts. The knobs marked *runtime* can also
//! be changed on a running kit through `&Testkit` methods, so one kit serves many tests.

use std::collections::HashMap;
use std::time::Duration;

use xaa::Scope;
use xaa::server::{ClientAuthMethod, ReplayMode};

use crate::endpoint::{Endpoint, Server};
use crate::faults::Fault;
use crate::tls::TlsIdentity;

/// A tool of the MCP server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tool {
    /// `echo`: returns its `message`. Needs `tools:read` by default; its scope is also the
    /// `scope` of the 401 challenge.
    Echo,
    /// `admin_echo`: the same, but needs `tools:admin` by default (for step-up tests).
    AdminEcho,
}

impl Tool {
    /// Both tools.
    pub const ALL: [Self; 2] = [Self::Echo, Self::AdminEcho];

    /// The tool's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::Echo => "echo",
            Self::AdminEcho => "admin_echo",
        }
    }

    /// The tool with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|tool| tool.name() == name)
    }
}

/// How a [`Testkit`](crate::Testkit) starts. `Default` is a kit on `http://127.0.0.1`, issuers
/// without a path, every metadata document at its usual place, a public IdP client and a
/// `client_secret_basic` client at the authorization server (the MCP conformance suite's
/// set-up).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// The host written in every URL: `127.0.0.1` (default) or `localhost`. The listeners
    /// always bind 127.0.0.1.
    pub host: String,
    /// Serve https with this certificate instead of plain http.
    pub tls: Option<TlsIdentity>,
    /// A path for the authorization server's issuer, e.g. `/tenant1`: its metadata is then at
    /// `/.well-known/oauth-authorization-server/tenant1` and its token endpoint at
    /// `/tenant1/token`.
    pub as_issuer_path: Option<String>,
    /// Serve the authorization server's token endpoint on a fourth origin, not its issuer's
    /// (legitimate per RFC 8414, decisions.md D4).
    pub as_token_endpoint_elsewhere: bool,
    /// *Runtime.* The IdP publishes only `/.well-known/openid-configuration` (as the
    /// conformance suite's IdP does); its RFC 8414 URL answers 404.
    pub idp_oidc_only: bool,
    /// *Runtime.* Protected-resource metadata only at the root
    /// (`/.well-known/oauth-protected-resource`, `resource` = the origin); the path-inserted
    /// URL answers 404 and the challenge points at the root.
    pub prm_root_only: bool,
    /// *Runtime.* Send `resource_metadata` in the MCP server's 401 challenge (default on).
    pub challenge_resource_metadata: bool,
    /// *Runtime.* Lifetime of ID tokens from [`Testkit::id_token`](crate::Testkit::id_token).
    /// Default 1 hour.
    pub id_token_lifetime: Duration,
    /// *Runtime.* Lifetime of minted ID-JAGs. Default 5 minutes.
    pub id_jag_lifetime: Duration,
    /// *Runtime.* Lifetime of access tokens, whole seconds, at least 1. Default 1 hour.
    pub access_token_lifetime: Duration,
    /// *Runtime.* The scope [`Tool::Echo`] needs. Default `tools:read`.
    pub echo_scope: Scope,
    /// *Runtime.* The scope [`Tool::AdminEcho`] needs. Default `tools:admin`.
    pub admin_echo_scope: Scope,
    /// *Runtime.* How the client authenticates at the IdP. Default `none` (public client).
    pub idp_client_auth: ClientAuthMethod,
    /// *Runtime.* How the client authenticates at the authorization server. Default
    /// `client_secret_basic`.
    pub as_client_auth: ClientAuthMethod,
    /// *Runtime.* What the authorization server makes of an ID-JAG `jti` it has seen
    /// (decisions.md D23). Default [`ReplayMode::Strict`], as the EMA profile requires;
    /// [`ReplayMode::AllowIdenticalResubmission`] lets a client re-submit the very same ID-JAG
    /// (decisions.md D13).
    pub id_jag_replay: ReplayMode,
    /// *Runtime.* A delay before each endpoint answers.
    pub delays: HashMap<Endpoint, Duration>,
    /// *Runtime.* Faults armed from the start (until cleared).
    pub faults: HashMap<Endpoint, Fault>,
    /// *Runtime.* DPoP (RFC 9449) on all three servers: proofs are checked (ES256 only,
    /// advertised in the IdP and authorization-server metadata), an ID-JAG or access token
    /// requested with a proof is bound to its key, and the MCP server checks
    /// `Authorization: DPoP` requests. Off by default: the servers then ignore `DPoP`.
    pub dpop: bool,
    /// *Runtime.* With [`dpop`](Self::dpop): the authorization server issues only bound
    /// tokens (a token request without a proof is `invalid_dpop_proof`) and the MCP server
    /// refuses bearer tokens.
    pub dpop_required: bool,
    /// *Runtime.* With [`dpop`](Self::dpop): the servers that require their nonce in proofs
    /// (RFC 9449 sections 8 and 9), supplied in `DPoP-Nonce`.
    pub dpop_nonce_servers: Vec<Server>,
    /// *Runtime.* With [`dpop`](Self::dpop): the authorization server also serves the
    /// `urn:ietf:params:oauth:grant-type:jwt-dpop` grant and lists it in its metadata.
    pub jwt_dpop_grant: bool,
    /// *Runtime.* With [`dpop`](Self::dpop): the MCP server refuses proofs without
    /// `content_digest` (MCP's draft DPoP extension); it always checks one that is present.
    pub mcp_content_digest_required: bool,
    /// *Runtime.* The redirect-URI paths registered for the IdP client's sign-in: any
    /// `http://127.0.0.1:<port><path>` or `http://[::1]:<port><path>` with one of these
    /// paths is accepted, whatever the port (RFC 8252 section 7.3). Default `["/callback"]`.
    pub sign_in_redirect_paths: Vec<String>,
    /// *Runtime.* How long a device code and its user code live (RFC 8628 section 3.2
    /// `expires_in`). Default 10 minutes.
    pub device_code_lifetime: Duration,
    /// *Runtime.* The polling interval the device authorization response names (RFC 8628
    /// section 3.2 `interval`, whole seconds, at least 1). Default 5 seconds.
    pub device_poll_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            tls: None,
            as_issuer_path: None,
            as_token_endpoint_elsewhere: false,
            idp_oidc_only: false,
            prm_root_only: false,
            challenge_resource_metadata: true,
            id_token_lifetime: Duration::from_secs(3600),
            id_jag_lifetime: Duration::from_secs(300),
            access_token_lifetime: Duration::from_secs(3600),
            echo_scope: Scope::parse("tools:read"),
            admin_echo_scope: Scope::parse("tools:admin"),
            idp_client_auth: ClientAuthMethod::None,
            as_client_auth: ClientAuthMethod::ClientSecretBasic,
            id_jag_replay: ReplayMode::Strict,
            delays: HashMap::new(),
            faults: HashMap::new(),
            dpop: false,
            dpop_required: false,
            dpop_nonce_servers: Vec::new(),
            jwt_dpop_grant: false,
            mcp_content_digest_required: false,
            sign_in_redirect_paths: vec!["/callback".to_owned()],
            device_code_lifetime: Duration::from_secs(600),
            device_poll_interval: Duration::from_secs(5),
        }
    }
}

impl Options {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `host` (`127.0.0.1` or `localhost`) in every URL.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// Serves https with `identity`.
    pub fn tls(mut self, identity: TlsIdentity) -> Self {
        self.tls = Some(identity);
        self
    }

    /// Gives the authorization server's issuer a path, e.g. `/tenant1`.
    pub fn as_issuer_path(mut self, path: impl Into<String>) -> Self {
        self.as_issuer_path = Some(path.into());
        self
    }

    /// Serves the authorization server's token endpoint on a fourth origin.
    pub fn as_token_endpoint_elsewhere(mut self, elsewhere: bool) -> Self {
        self.as_token_endpoint_elsewhere = elsewhere;
        self
    }

    /// The IdP publishes only its OpenID Connect configuration.
    pub fn idp_oidc_only(mut self, oidc_only: bool) -> Self {
        self.idp_oidc_only = oidc_only;
        self
    }

    /// Protected-resource metadata only at the root.
    pub fn prm_root_only(mut self, root_only: bool) -> Self {
        self.prm_root_only = root_only;
        self
    }

    /// Whether the 401 challenge carries `resource_metadata`.
    pub fn challenge_resource_metadata(mut self, send: bool) -> Self {
        self.challenge_resource_metadata = send;
        self
    }

    /// Sets the ID token lifetime.
    pub fn id_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.id_token_lifetime = lifetime;
        self
    }

    /// Sets the ID-JAG lifetime.
    pub fn id_jag_lifetime(mut self, lifetime: Duration) -> Self {
        self.id_jag_lifetime = lifetime;
        self
    }

    /// Sets the access-token lifetime (whole seconds, at least 1).
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_token_lifetime = lifetime;
        self
    }

    /// Sets the scope a tool needs.
    pub fn tool_scope(mut self, tool: Tool, scope: Scope) -> Self {
        match tool {
            Tool::Echo => self.echo_scope = scope,
            Tool::AdminEcho => self.admin_echo_scope = scope,
        }
        self
    }

    /// Sets how the client authenticates at the IdP.
    pub fn idp_client_auth(mut self, method: ClientAuthMethod) -> Self {
        self.idp_client_auth = method;
        self
    }

    /// Sets how the client authenticates at the authorization server.
    pub fn as_client_auth(mut self, method: ClientAuthMethod) -> Self {
        self.as_client_auth = method;
        self
    }

    /// Delays an endpoint's answers.
    pub fn delay(mut self, endpoint: Endpoint, delay: Duration) -> Self {
        self.delays.insert(endpoint, delay);
        self
    }

    /// Arms a fault from the start.
    pub fn fault(mut self, endpoint: Endpoint, fault: Fault) -> Self {
        self.faults.insert(endpoint, fault);
        self
    }

    /// Turns DPoP on (or off) on all three servers.
    pub fn dpop(mut self, on: bool) -> Self {
        self.dpop = on;
        self
    }

    /// With DPoP on: only bound tokens at the authorization server and the MCP server.
    pub fn dpop_required(mut self, required: bool) -> Self {
        self.dpop_required = required;
        self
    }

    /// With DPoP on: `server` requires its nonce in proofs.
    pub fn dpop_nonce(mut self, server: Server) -> Self {
        if !self.dpop_nonce_servers.contains(&server) {
            self.dpop_nonce_servers.push(server);
        }
        self
    }

    /// With DPoP on: the authorization server serves and offers the `jwt-dpop` grant.
    pub fn jwt_dpop_grant(mut self, offered: bool) -> Self {
        self.jwt_dpop_grant = offered;
        self
    }

    /// With DPoP on: the MCP server requires `content_digest` in proofs.
    pub fn mcp_content_digest_required(mut self, required: bool) -> Self {
        self.mcp_content_digest_required = required;
        self
    }

    /// Whether `server` requires its DPoP nonce.
    pub(crate) fn requires_dpop_nonce(&self, server: Server) -> bool {
        self.dpop && self.dpop_nonce_servers.contains(&server)
    }

    /// The scope a tool needs.
    pub(crate) fn scope_of(&self, tool: Tool) -> &Scope {
        match tool {
            Tool::Echo => &self.echo_scope,
            Tool::AdminEcho => &self.admin_echo_scope,
        }
    }

    /// Every tool's scope: `scopes_supported`, and what the IdP and AS may grant.
    pub(crate) fn all_scopes(&self) -> Scope {
        self.echo_scope.union(&self.admin_echo_scope)
    }
}
