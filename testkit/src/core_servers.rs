//! The core's sans-IO servers ([`IdentityProviderEndpoint`], [`AuthorizationServerEndpoint`]) built from the
//! kit's identity and settings, and rebuilt whenever a setting they depend on changes; the
//! replay stores are shared across rebuilds.

use std::sync::Arc;
use std::time::Duration;

use xaa::jose::KeyRing;
use xaa::jose::RandomJti;
use xaa::server::{
    ApprovedTarget, AuthorizationServerConfig, AuthorizationServerEndpoint, ClientAuthMethod,
    ClientRegistry, IdentityProviderConfig, IdentityProviderEndpoint, InMemoryReplayStore,
    RegisteredClient, ServedResource, StaticExchangePolicy, TimeRules, TrustedIssuer,
};

use xaa::server::resource::DpopResourceGuard;

use crate::dpop::{self, NonceSet};
use crate::endpoint::Server;
use crate::identity::{ClientKeys, Identity};
use crate::options::Options;
use crate::tokens::{AccessTokens, Issuer};
use crate::urls::Urls;
use crate::users::Subjects;

/// The core's servers, rebuilt whenever a setting they depend on changes.
pub(crate) struct Servers {
    pub(crate) idp: IdentityProviderEndpoint,
    pub(crate) authorization_server: AuthorizationServerEndpoint,
    /// The MCP server's check of DPoP-bound tokens, when DPoP is on.
    pub(crate) mcp_dpop: Option<DpopResourceGuard>,
}

impl ClientKeys {
    /// The registration a server holds for this client under `method`.
    pub(crate) fn registered(&self, method: ClientAuthMethod) -> RegisteredClient {
        let id = self.client_id.as_str();
        match method {
            ClientAuthMethod::ClientSecretBasic => {
                RegisteredClient::client_secret_basic(id, self.secret.clone())
            }
            ClientAuthMethod::ClientSecretPost => {
                RegisteredClient::client_secret_post(id, self.secret.clone())
            }
            ClientAuthMethod::PrivateKeyJwt => {
                RegisteredClient::private_key_jwt(id, Arc::new(self.key.key_ring()))
            }
            _ => RegisteredClient::public(id),
        }
    }
}

/// The ingredients of [`Servers`].
pub(crate) struct Parts<'a> {
    pub(crate) urls: &'a Urls,
    pub(crate) identity: &'a Identity,
    pub(crate) settings: &'a Options,
    pub(crate) idp_keys: &'a Arc<KeyRing>,
    pub(crate) subjects: &'a Arc<Subjects>,
    pub(crate) tokens: &'a Arc<AccessTokens>,
    pub(crate) idp_replay: &'a Arc<InMemoryReplayStore>,
    pub(crate) as_replay: &'a Arc<InMemoryReplayStore>,
    pub(crate) mcp_replay: &'a Arc<InMemoryReplayStore>,
    pub(crate) dpop_nonces: &'a Arc<NonceSet>,
}

impl Parts<'_> {
    pub(crate) fn build(&self) -> Servers {
        Servers {
            idp: self.identity_provider(),
            authorization_server: self.authorization_server(),
            mcp_dpop: self.mcp_dpop(),
        }
    }

    /// The MCP server's guard: DPoP-bound tokens checked with their proofs (RFC 9449 section
    /// 7), bearer tokens refused when DPoP is required.
    fn mcp_dpop(&self) -> Option<DpopResourceGuard> {
        let settings = self.settings;
        if !settings.dpop {
            return None;
        }
        let mut guard = DpopResourceGuard::new(dpop::validator(Arc::clone(self.mcp_replay) as _));
        if settings.dpop_required {
            guard = guard.requiring_dpop();
        }
        if settings.mcp_content_digest_required {
            guard = guard.requiring_content_digest();
        }
        if settings.requires_dpop_nonce(Server::Mcp) {
            guard = guard.with_nonces(Arc::clone(self.dpop_nonces.of(Server::Mcp)));
        }
        Some(guard)
    }

    fn identity_provider(&self) -> IdentityProviderEndpoint {
        let (urls, identity, settings) = (self.urls, self.identity, self.settings);
        let mut config =
            IdentityProviderConfig::new(urls.idp_issuer.as_str(), urls.idp_token_endpoint.as_str());
        config.id_jag_lifetime = settings.id_jag_lifetime;
        let clients =
            ClientRegistry::new().with(identity.idp_client.registered(settings.idp_client_auth));
        let all_scopes = settings.all_scopes();
        let target = |resource: &str| {
            let mut target = ApprovedTarget::new(urls.as_issuer.as_str(), resource)
                .for_client(
                    identity.idp_client.client_id.as_str(),
                    identity.as_client.client_id.as_str(),
                )
                .with_default_scope(settings.echo_scope.clone());
            if !all_scopes.is_empty() {
                target = target.with_allowed_scopes(all_scopes.clone());
            }
            target
        };
        let policy = urls
            .resources()
            .into_iter()
            .fold(StaticExchangePolicy::new(), |policy, resource| {
                policy.with(target(resource))
            });
        let idp = IdentityProviderEndpoint::new(
            config,
            clients,
            Arc::new(identity.idp_key.clone()),
            Arc::clone(self.idp_keys) as _,
            Arc::new(RandomJti),
            Arc::new(policy),
        )
        .with_subject_verifier(Arc::clone(self.subjects) as _)
        .with_refresh_token_issuer(Arc::clone(self.subjects) as _)
        .with_replay_store(Arc::clone(self.idp_replay) as _);
        if !settings.dpop {
            return idp;
        }
        let idp = idp.with_dpop(dpop::validator(Arc::clone(self.idp_replay) as _));
        if settings.requires_dpop_nonce(Server::Idp) {
            return idp.with_dpop_nonces(Arc::clone(self.dpop_nonces.of(Server::Idp)));
        }
        idp
    }

    fn authorization_server(&self) -> AuthorizationServerEndpoint {
        let (urls, identity, settings) = (self.urls, self.identity, self.settings);
        let all_scopes = settings.all_scopes();
        let mut config = AuthorizationServerConfig::new(
            urls.as_issuer.as_str(),
            urls.as_token_endpoint.as_str(),
        );
        for resource in urls.resources() {
            let mut served = ServedResource::new(resource);
            if !all_scopes.is_empty() {
                served = served.with_allowed_scopes(all_scopes.clone());
            }
            config = config.with_resource(served);
        }
        let max_lifetime = settings.id_jag_lifetime.max(Duration::from_secs(600));
        config.id_jag_times = TimeRules::default().with_max_lifetime(Some(max_lifetime));
        config.replay_mode = settings.id_jag_replay;
        config.require_dpop_bound_tokens = settings.dpop && settings.dpop_required;
        config.accept_jwt_dpop_grant = settings.dpop && settings.jwt_dpop_grant;
        let clients =
            ClientRegistry::new().with(identity.as_client.registered(settings.as_client_auth));
        let issuer = Issuer {
            store: Arc::clone(self.tokens),
            lifetime: settings.access_token_lifetime,
        };
        let server = AuthorizationServerEndpoint::new(config, clients, Arc::new(issuer))
            .trust(TrustedIssuer::new(
                urls.idp_issuer.as_str(),
                Arc::clone(self.idp_keys) as _,
            ))
            .with_replay_store(Arc::clone(self.as_replay) as _);
        if !settings.dpop {
            return server;
        }
        let server = server.with_dpop(dpop::validator(Arc::clone(self.as_replay) as _));
        if settings.requires_dpop_nonce(Server::AuthorizationServer) {
            let nonces = self.dpop_nonces.of(Server::AuthorizationServer);
            return server.with_dpop_nonces(Arc::clone(nonces));
        }
        server
    }
}
