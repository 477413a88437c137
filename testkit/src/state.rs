//! What the servers share: the URLs ([`crate::urls`]), keys and client registrations
//! ([`crate::identity`]), the runtime settings, the core's sans-IO servers built from them ([`crate::core_servers`]), faults, the request log,
//! issued tokens.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use xaa::jose::KeyRing;
use xaa::server::InMemoryReplayStore;

use crate::core_servers::{Parts, Servers};
use crate::dpop::NonceSet;
use crate::endpoint::Endpoint;
use crate::faults::{ArmedFault, Fault};
use crate::identity::Identity;
use crate::options::{Options, Tool};
use crate::recorder::Recorder;
use crate::sign_in_state::SignInState;
use crate::tokens::AccessTokens;
use crate::urls::{
    AUTHORIZE_PATH, DEVICE_AUTHORIZATION_PATH, DEVICE_PATH, JWKS_PATH, MCP_PATH, OAUTH_METADATA,
    OIDC_METADATA, PRM_PATH, PRM_ROOT, REVOCATION_PATH, SIGN_IN_PATH, TOKEN_PATH, Urls,
};
use crate::users::Subjects;

/// What a listener serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Listener {
    Idp,
    AuthorizationServer,
    /// The authorization server's token endpoint on its own origin.
    AsToken,
    Mcp,
}

/// Everything the listeners and the [`Testkit`](crate::Testkit) handle share.
pub(crate) struct Shared {
    pub(crate) urls: Urls,
    pub(crate) identity: Identity,
    pub(crate) recorder: Recorder,
    pub(crate) tokens: Arc<AccessTokens>,
    pub(crate) subjects: Arc<Subjects>,
    pub(crate) sessions: Mutex<HashSet<String>>,
    pub(crate) dpop_nonces: Arc<NonceSet>,
    /// The sign-in side of the IdP: transactions, codes, refresh tokens, device grants, the
    /// ID-token signing keys.
    pub(crate) sign_in: SignInState,
    settings: RwLock<Options>,
    servers: RwLock<Arc<Servers>>,
    faults: Mutex<HashMap<Endpoint, ArmedFault>>,
    /// The keys the IdP's and the authorization server's core endpoints trust for the IdP;
    /// a rotated sign-in key is added here.
    pub(crate) idp_keys: Arc<KeyRing>,
    idp_replay: Arc<InMemoryReplayStore>,
    as_replay: Arc<InMemoryReplayStore>,
    mcp_replay: Arc<InMemoryReplayStore>,
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
        let mcp_replay = Arc::new(InMemoryReplayStore::default());
        let dpop_nonces = Arc::new(NonceSet::new());
        let parts = Parts {
            urls: &urls,
            identity: &identity,
            settings: &options,
            idp_keys: &idp_keys,
            subjects: &subjects,
            tokens: &tokens,
            idp_replay: &idp_replay,
            as_replay: &as_replay,
            mcp_replay: &mcp_replay,
            dpop_nonces: &dpop_nonces,
        };
        let servers = RwLock::new(Arc::new(parts.build()));
        let sign_in = SignInState::new(&identity.idp_key);
        Self {
            urls,
            identity,
            recorder: Recorder::default(),
            tokens,
            subjects,
            sessions: Mutex::new(HashSet::new()),
            dpop_nonces,
            sign_in,
            settings: RwLock::new(options),
            servers,
            faults: Mutex::new(faults),
            idp_keys,
            idp_replay,
            as_replay,
            mcp_replay,
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
            mcp_replay: &self.mcp_replay,
            dpop_nonces: &self.dpop_nonces,
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
                AUTHORIZE_PATH => Some(Endpoint::IdpAuthorization),
                SIGN_IN_PATH => Some(Endpoint::IdpSignIn),
                DEVICE_AUTHORIZATION_PATH => Some(Endpoint::IdpDeviceAuthorization),
                DEVICE_PATH => Some(Endpoint::IdpDeviceVerification),
                REVOCATION_PATH => Some(Endpoint::IdpRevocation),
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
