//! What the servers share: URLs, keys and client registrations, the runtime settings, the
//! core's sans-IO servers built from them ([`crate::core_servers`]), faults, the request log,
//! issued tokens.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use xaa::ClientSecret;
use xaa::jose::KeyRing;
use xaa::jose::SigningKey;
use xaa::server::InMemoryReplayStore;

use crate::core_servers::{Parts, Servers};
use crate::endpoint::Endpoint;
use crate::faults::{ArmedFault, Fault};
use crate::options::{Options, Tool};
use crate::recorder::Recorder;
use crate::tokens::AccessTokens;
use crate::users::Subjects;

/// Well-known paths.
pub(crate) const OAUTH_METADATA: &str = xaa::constants::WELL_KNOWN_OAUTH_AUTHORIZATION_SERVER;
pub(crate) const OIDC_METADATA: &str = xaa::constants::WELL_KNOWN_OPENID_CONFIGURATION;
pub(crate) const PRM_ROOT: &str = xaa::constants::WELL_KNOWN_PROTECTED_RESOURCE;
pub(crate) const PRM_PATH: &str = "/.well-known/oauth-protected-resource/mcp";
pub(crate) const MCP_PATH: &str = "/mcp";
pub(crate) const TOKEN_PATH: &str = "/token";
pub(crate) const JWKS_PATH: &str = "/jwks";

/// What a listener serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Listener {
    Idp,
    AuthorizationServer,
    /// The authorization server's token endpoint on its own origin.
    AsToken,
    Mcp,
}

/// Every URL of the kit, fixed at start.
#[derive(Clone, Debug)]
pub(crate) struct Urls {
    pub(crate) idp_issuer: String,
    pub(crate) idp_token_endpoint: String,
    pub(crate) idp_jwks_uri: String,
    pub(crate) as_origin: String,
    pub(crate) as_issuer: String,
    pub(crate) as_metadata_path: String,
    /// The token endpoint's path on the issuer's origin; `None` when it lives elsewhere.
    pub(crate) as_token_path: Option<String>,
    pub(crate) as_token_endpoint: String,
    pub(crate) mcp_origin: String,
    pub(crate) mcp_url: String,
    pub(crate) prm_path_url: String,
    pub(crate) prm_root_url: String,
}

impl Urls {
    /// `origins` are those of the IdP, the AS, the MCP server and the optional fourth
    /// listener; `as_issuer_path` is normalized (`""` or `/segment...`).
    pub(crate) fn new(
        idp: String,
        authorization_server: String,
        mcp: String,
        as_token_origin: Option<String>,
        as_issuer_path: &str,
    ) -> Self {
        let as_issuer = format!("{authorization_server}{as_issuer_path}");
        let (as_token_path, as_token_endpoint) = match as_token_origin {
            Some(origin) => (None, format!("{origin}{TOKEN_PATH}")),
            None => {
                let path = format!("{as_issuer_path}{TOKEN_PATH}");
                let endpoint = format!("{authorization_server}{path}");
                (Some(path), endpoint)
            }
        };
        Self {
            idp_token_endpoint: format!("{idp}{TOKEN_PATH}"),
            idp_jwks_uri: format!("{idp}{JWKS_PATH}"),
            idp_issuer: idp,
            as_metadata_path: format!("{OAUTH_METADATA}{as_issuer_path}"),
            as_token_path,
            as_token_endpoint,
            as_issuer,
            as_origin: authorization_server,
            mcp_url: format!("{mcp}{MCP_PATH}"),
            prm_path_url: format!("{mcp}{PRM_PATH}"),
            prm_root_url: format!("{mcp}{PRM_ROOT}"),
            mcp_origin: mcp,
        }
    }

    /// The resource identifiers the MCP server answers to: its URL (path-inserted PRM) and
    /// its origin (root PRM).
    pub(crate) fn resources(&self) -> [&str; 2] {
        [self.mcp_url.as_str(), self.mcp_origin.as_str()]
    }
}

/// `""`, or the path with one leading `/` and no trailing one.
pub(crate) fn normalize_path(path: Option<&str>) -> String {
    let trimmed = path.unwrap_or_default().trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// The client registrations and keys, fixed at start.
#[derive(Clone, Debug)]
pub(crate) struct Identity {
    /// The IdP's signing key (ID tokens and ID-JAGs).
    pub(crate) idp_key: SigningKey,
    pub(crate) idp_client: ClientKeys,
    pub(crate) as_client: ClientKeys,
}

/// One client registration: its id, and both kinds of credential, so the method can change.
#[derive(Clone, Debug)]
pub(crate) struct ClientKeys {
    pub(crate) client_id: String,
    pub(crate) secret: ClientSecret,
    pub(crate) key: SigningKey,
}

impl ClientKeys {
    pub(crate) fn generate(client_id: &str, kid: &str) -> Result<Self, xaa::jose::KeyError> {
        Ok(Self {
            client_id: client_id.to_owned(),
            secret: ClientSecret::new(format!("{client_id}-secret-{}", xaa::jose::random_jti())),
            key: SigningKey::generate_es256(kid)?,
        })
    }
}

/// Everything the listeners and the [`Testkit`](crate::Testkit) handle share.
pub(crate) struct Shared {
    pub(crate) urls: Urls,
    pub(crate) identity: Identity,
    pub(crate) recorder: Recorder,
    pub(crate) tokens: Arc<AccessTokens>,
    pub(crate) subjects: Arc<Subjects>,
    pub(crate) sessions: Mutex<HashSet<String>>,
    settings: RwLock<Options>,
    servers: RwLock<Arc<Servers>>,
    faults: Mutex<HashMap<Endpoint, ArmedFault>>,
    idp_keys: Arc<KeyRing>,
    idp_replay: Arc<InMemoryReplayStore>,
    as_replay: Arc<InMemoryReplayStore>,
}

impl Shared {
    pub(crate) fn new(urls: Urls, identity: Identity, options: Options) -> Self {
        let faults = options
            .faults
            .iter()
            .map(|(endpoint, fault)| {
                let armed = ArmedFault {
                    fault: fault.clone(),
                    remaining: None,
                };
                (*endpoint, armed)
            })
            .collect();
        let idp_keys = Arc::new(identity.idp_key.key_ring());
        let subjects = Arc::new(Subjects::new(&identity.idp_client.client_id));
        let tokens = Arc::new(AccessTokens::default());
        let idp_replay = Arc::new(InMemoryReplayStore::default());
        let as_replay = Arc::new(InMemoryReplayStore::default());
        let parts = Parts {
            urls: &urls,
            identity: &identity,
            settings: &options,
            idp_keys: &idp_keys,
            subjects: &subjects,
            tokens: &tokens,
            idp_replay: &idp_replay,
            as_replay: &as_replay,
        };
        let servers = RwLock::new(Arc::new(parts.build()));
        Self {
            urls,
            identity,
            recorder: Recorder::default(),
            tokens,
            subjects,
            sessions: Mutex::new(HashSet::new()),
            settings: RwLock::new(options),
            servers,
            faults: Mutex::new(faults),
            idp_keys,
            idp_replay,
            as_replay,
        }
    }

    /// The settings in force. Do not hold across an `await`.
    pub(crate) fn settings(&self) -> RwLockReadGuard<'_, Options> {
        self.settings.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes settings, then rebuilds the core's servers from them.
    pub(crate) fn update(&self, change: impl FnOnce(&mut Options)) {
        let mut settings = self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        change(&mut settings);
        let parts = Parts {
            urls: &self.urls,
            identity: &self.identity,
            settings: &settings,
            idp_keys: &self.idp_keys,
            subjects: &self.subjects,
            tokens: &self.tokens,
            idp_replay: &self.idp_replay,
            as_replay: &self.as_replay,
        };
        let rebuilt = Arc::new(parts.build());
        *self.servers.write().unwrap_or_else(PoisonError::into_inner) = rebuilt;
    }

    /// The core's servers in force.
    pub(crate) fn servers(&self) -> Arc<Servers> {
        Arc::clone(&self.servers.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The delay set on `endpoint`.
    pub(crate) fn delay(&self, endpoint: Endpoint) -> Option<Duration> {
        self.settings()
            .delays
            .get(&endpoint)
            .copied()
            .filter(|delay| !delay.is_zero())
    }

    /// The fault armed on `endpoint`, counting one use.
    pub(crate) fn take_fault(&self, endpoint: Endpoint) -> Option<Fault> {
        let mut faults = self.faults();
        let armed = faults.get_mut(&endpoint)?;
        let fault = armed.fault.clone();
        if let Some(remaining) = armed.remaining.as_mut() {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                faults.remove(&endpoint);
            }
        }
        Some(fault)
    }

    /// Arms a fault, for `times` requests or (`None`) until cleared.
    pub(crate) fn set_fault(&self, endpoint: Endpoint, fault: Fault, times: Option<u32>) {
        let mut faults = self.faults();
        if times == Some(0) {
            faults.remove(&endpoint);
        } else {
            faults.insert(
                endpoint,
                ArmedFault {
                    fault,
                    remaining: times,
                },
            );
        }
    }

    pub(crate) fn clear_fault(&self, endpoint: Endpoint) {
        self.faults().remove(&endpoint);
    }

    pub(crate) fn clear_faults(&self) {
        self.faults().clear();
    }

    fn faults(&self) -> MutexGuard<'_, HashMap<Endpoint, ArmedFault>> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The endpoint a listener serves at `path`, if any.
    pub(crate) fn route(&self, listener: Listener, path: &str) -> Option<Endpoint> {
        let urls = &self.urls;
        match listener {
            Listener::Idp => match path {
                OAUTH_METADATA | OIDC_METADATA => Some(Endpoint::IdpMetadata),
                TOKEN_PATH => Some(Endpoint::IdpToken),
                JWKS_PATH => Some(Endpoint::Jwks),
                _ => None,
            },
            Listener::AuthorizationServer => {
                if path == urls.as_metadata_path {
                    Some(Endpoint::AsMetadata)
                } else if urls.as_token_path.as_deref() == Some(path) {
                    Some(Endpoint::AsToken)
                } else {
                    None
                }
            }
            Listener::AsToken => (path == TOKEN_PATH).then_some(Endpoint::AsToken),
            Listener::Mcp => match path {
                MCP_PATH => Some(Endpoint::McpServer),
                PRM_PATH | PRM_ROOT => Some(Endpoint::ResourceMetadata),
                _ => None,
            },
        }
    }

    /// The PRM URL the 401 challenge names.
    pub(crate) fn resource_metadata_url(&self) -> String {
        if self.settings().prm_root_only {
            self.urls.prm_root_url.clone()
        } else {
            self.urls.prm_path_url.clone()
        }
    }

    /// The scope `tool` needs.
    pub(crate) fn tool_scope(&self, tool: Tool) -> xaa::Scope {
        self.settings().scope_of(tool).clone()
    }
}
