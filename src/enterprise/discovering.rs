//! The first stage of [`EnterpriseAuth`](super::EnterpriseAuth): discovery. The protected
//! resource's metadata (RFC 9728), the MCP authorization server's and the IdP's (RFC 8414,
//! OpenID Connect Discovery), in flight together; no token request is representable yet.

use std::sync::Arc;
use std::time::SystemTime;

use super::checks::{
    ServersApart, check_authorization_server_issuer, check_jwt_bearer_support, check_pinned_listed,
    check_token_exchange_support, first_authorization_server, scope_for, servers_apart,
};
use super::config::{EnterpriseConfig, GrantSource, Trust};
use super::discovered::Discovered;
use super::granting::Granting;
use super::leg::Leg;
use super::outcome::Discovery;
use super::step::Step;
use crate::discovery::{
    AuthServerDiscovered, AuthServerDiscovery, AuthorizationServerMetadata, ResourceDiscovered,
    ResourceDiscovery, UrlGuard,
};
use crate::error::sanitize;
use crate::grant::IssuedIdJag;
use crate::{Error, HttpResponse, Output, Purpose, Scope, TransmitId};

/// The discovery legs, and what the token stage will need from the start.
#[derive(Debug)]
pub(super) struct Discovering {
    resource: Leg<ResourceDiscovery>,
    /// Pending until its issuer is known: from the start when pinned, else once the MCP
    /// server names it.
    authorization_server: Leg<AuthServerDiscovery>,
    /// `None` when there is no IdP metadata to find: the IdP's token endpoint is configured,
    /// or no IdP takes part.
    idp: Option<Leg<AuthServerDiscovery>>,
    /// The servers found apart by the second of the two to finish; a cached pair is checked
    /// as discovery completes.
    apart: Option<ServersApart>,
    /// An ID-JAG to re-submit before any exchange (decisions.md D13).
    resubmit: Option<IssuedIdJag>,
}

impl Discovering {
    /// Discovery from the MCP server: its URL, its challenge or its metadata URL.
    pub(super) fn from_resource(resource: ResourceDiscovery) -> Self {
        Self {
            resource: Leg::start(resource),
            authorization_server: Leg::Pending,
            idp: None,
            apart: None,
            resubmit: None,
        }
    }

    /// Discovery from a cached one (decisions.md D20): its documents are taken as found,
    /// under today's configuration. A pinned authorization server other than the cached one
    /// is discovered afresh; the cached IdP metadata is used only for the configured issuer.
    pub(super) fn from_cache(
        discovery: Discovery,
        config: &EnterpriseConfig,
        guard: &UrlGuard,
    ) -> Result<Self, Error> {
        let Discovery {
            resource_metadata,
            resource_metadata_url,
            authorization_server,
            idp,
            ..
        } = discovery;
        let resource = ResourceDiscovered {
            metadata: resource_metadata,
            metadata_url: resource_metadata_url,
            challenge: None,
            cache_lifetime: None,
        };
        check_pinned_listed(&config.authorization_server.trust, &resource)?;
        let authorization_server = match &config.authorization_server.trust {
            Trust::Pinned(pinned) if *pinned != authorization_server.issuer => {
                Leg::start(authorization_server_discovery(pinned, guard)?)
            }
            // Pinned to the cached one: its issuer was checked as the flow was built.
            Trust::Pinned(_) => {
                Leg::Done(cached_authorization_server(config, authorization_server)?)
            }
            Trust::Discover => {
                check_authorization_server_issuer(guard, config, &authorization_server.issuer)?;
                Leg::Done(cached_authorization_server(config, authorization_server)?)
            }
        };
        let idp = match (idp, config.idp_issuer()) {
            (Some(idp), Some(configured)) if idp.issuer == configured => {
                Some(Leg::Done(found_in_cache(idp)))
            }
            _ => None,
        };
        Ok(Self {
            resource: Leg::Done(resource),
            authorization_server,
            idp,
            apart: None,
            resubmit: None,
        })
    }

    /// Re-submits `id_jag` before any exchange (decisions.md D13).
    pub(super) fn resubmit(&mut self, id_jag: IssuedIdJag) {
        self.resubmit = Some(id_jag);
    }

    /// Starts the pinned authorization server's discovery, unless it is known: its issuer is
    /// known from the start, so its metadata does not wait for the MCP server's.
    pub(super) fn start_pinned(&mut self, issuer: &str, guard: &UrlGuard) -> Result<(), Error> {
        if self.authorization_server.is_pending() {
            self.authorization_server = Leg::start(authorization_server_discovery(issuer, guard)?);
        }
        Ok(())
    }

    /// Starts the IdP's discovery, unless its metadata is known or there is none to find. It
    /// needs nothing else, so it is in flight from the start.
    pub(super) fn start_idp(
        &mut self,
        config: &EnterpriseConfig,
        guard: &UrlGuard,
    ) -> Result<(), Error> {
        if self.idp.is_none()
            && let Some(issuer) = config.idp_issuer()
        {
            let discovery =
                AuthServerDiscovery::with_guard(issuer, Purpose::IdpMetadata, guard.clone())?;
            self.idp = Some(Leg::start(discovery));
        }
        Ok(())
    }

    /// The IdP's metadata, once found.
    pub(super) fn found_idp(&self) -> Option<&AuthServerDiscovered> {
        self.idp.as_ref().and_then(Leg::output)
    }

    /// Polls the leg of `step`; a leg of another stage has nothing to send. A leg that
    /// finishes is judged against the others and the configuration.
    pub(super) fn poll(
        &mut self,
        step: Step,
        now: SystemTime,
        config: &EnterpriseConfig,
        guard: &UrlGuard,
        scope: &mut Option<Scope>,
    ) -> Result<Output<()>, Error> {
        let Self {
            resource,
            authorization_server,
            idp,
            apart,
            ..
        } = self;
        match step {
            Step::ResourceDiscovery => resource.poll(now, |found| {
                if let Some(discovery) = resource_found(found, config, guard, scope)? {
                    *authorization_server = Leg::start(discovery);
                }
                Ok(())
            }),
            Step::IdpDiscovery => match idp {
                Some(leg) => leg.poll(now, |found| {
                    *apart = idp_found(found, config, authorization_server.output())?;
                    Ok(())
                }),
                None => Ok(Output::Wait),
            },
            Step::AuthorizationServerDiscovery => authorization_server.poll(now, |found| {
                *apart =
                    authorization_server_found(found, config, idp.as_ref().and_then(Leg::output))?;
                Ok(())
            }),
            Step::Subject | Step::TokenExchange | Step::JwtBearer => Ok(Output::Wait),
        }
    }

    /// Hands the leg of `step` the answer to its request `id`.
    pub(super) fn handle_response(
        &mut self,
        step: Step,
        now: SystemTime,
        id: TransmitId,
        response: HttpResponse,
    ) -> Result<(), Error> {
        match (step, &mut self.idp) {
            (Step::ResourceDiscovery, _) => self.resource.handle_response(now, id, response),
            (Step::IdpDiscovery, Some(leg)) => leg.handle_response(now, id, response),
            (Step::AuthorizationServerDiscovery, _) => {
                self.authorization_server.handle_response(now, id, response)
            }
            _ => Err(Error::Misuse("response for a finished step")),
        }
    }

    /// Once every document is known, the proof that the two servers are apart (ID-JAG draft
    /// section 9.3): then the token requests may start. `None` before.
    pub(super) fn complete(
        &self,
        config: &EnterpriseConfig,
    ) -> Result<Option<ServersApart>, Error> {
        let (Some(_), Some(found_as)) =
            (self.resource.output(), self.authorization_server.output())
        else {
            return Ok(None);
        };
        let found_idp = match &self.idp {
            Some(leg) => match leg.output() {
                Some(found) => Some(found),
                None => return Ok(None),
            },
            None => None,
        };
        match self.apart {
            Some(apart) => Ok(Some(apart)),
            None => servers_apart(config, Some(found_as), found_idp),
        }
    }

    /// The token stage, with every document discovery found. Only once
    /// [complete](Self::complete): before, [`Error::Misuse`].
    pub(super) fn into_granting(
        self,
        grant: &GrantSource,
        apart: ServersApart,
    ) -> Result<Granting, Error> {
        let incomplete = Error::Misuse("discovery finished without its documents");
        let (Some(resource), Some(authorization_server)) = (
            self.resource.into_output(),
            self.authorization_server.into_output(),
        ) else {
            return Err(incomplete);
        };
        let idp = match self.idp {
            Some(leg) => Some(leg.into_output().ok_or(incomplete)?),
            None => None,
        };
        let discovered = Discovered {
            resource,
            authorization_server,
            idp,
        };
        Ok(Granting::new(grant, discovered, apart, self.resubmit))
    }
}

fn authorization_server_discovery(
    issuer: &str,
    guard: &UrlGuard,
) -> Result<AuthServerDiscovery, Error> {
    AuthServerDiscovery::with_guard(issuer, Purpose::AuthorizationServerMetadata, guard.clone())
}

/// Metadata from a cached discovery, as if found now.
fn found_in_cache(metadata: Arc<AuthorizationServerMetadata>) -> AuthServerDiscovered {
    AuthServerDiscovered {
        metadata,
        metadata_url: String::new(),
        cache_lifetime: None,
    }
}

/// The cached authorization server's metadata, checked against today's client registration
/// (decisions.md D3).
fn cached_authorization_server(
    config: &EnterpriseConfig,
    metadata: Arc<AuthorizationServerMetadata>,
) -> Result<AuthServerDiscovered, Error> {
    let found = found_in_cache(metadata);
    check_jwt_bearer_support(config, &found)?;
    Ok(found)
}

/// The protected resource's metadata is found (its `resource` checked, RFC 9728 section 3.3):
/// the scope is selected, a pinned authorization server must be listed, and otherwise the
/// listed one is chosen; its discovery is returned, to start.
fn resource_found(
    found: &ResourceDiscovered,
    config: &EnterpriseConfig,
    guard: &UrlGuard,
    scope: &mut Option<Scope>,
) -> Result<Option<AuthServerDiscovery>, Error> {
    tracing::debug!(
        purpose = "resource_metadata",
        url = %sanitize(&found.metadata_url),
        resource = %sanitize(&found.metadata.resource),
        "protected-resource metadata validated"
    );
    if scope.is_none() {
        *scope = scope_for(found);
    }
    check_pinned_listed(&config.authorization_server.trust, found)?;
    match &config.authorization_server.trust {
        // Pinned: in flight since the start.
        Trust::Pinned(_) => Ok(None),
        Trust::Discover => {
            let issuer = first_authorization_server(found)?;
            check_authorization_server_issuer(guard, config, issuer)?;
            authorization_server_discovery(issuer, guard).map(Some)
        }
    }
}

/// The authorization server's metadata is found (its `issuer` checked, RFC 8414 section 3.3):
/// it must be apart from the IdP, then offer the jwt-bearer grant. An IdP posing as the
/// authorization server is named as such, not as a server that lacks the grant. The proof
/// that the servers are apart, once the IdP's side is known too.
fn authorization_server_found(
    found: &AuthServerDiscovered,
    config: &EnterpriseConfig,
    idp: Option<&AuthServerDiscovered>,
) -> Result<Option<ServersApart>, Error> {
    tracing::debug!(purpose = "authorization_server_metadata", issuer = %sanitize(&found.metadata.issuer), "authorization-server metadata validated");
    let apart = servers_apart(config, Some(found), idp)?;
    check_jwt_bearer_support(config, found)?;
    Ok(apart)
}

/// The IdP's metadata is found (its `issuer` checked, RFC 8414 section 3.3): it must offer
/// the token exchange, and be apart from the authorization server. The proof that the servers
/// are apart, once the authorization server's side is known too.
fn idp_found(
    found: &AuthServerDiscovered,
    config: &EnterpriseConfig,
    authorization_server: Option<&AuthServerDiscovered>,
) -> Result<Option<ServersApart>, Error> {
    tracing::debug!(purpose = "idp_metadata", issuer = %sanitize(&found.metadata.issuer), "IdP metadata validated");
    if let Some(idp) = config.idp() {
        check_token_exchange_support(idp, found)?;
    }
    servers_apart(config, authorization_server, Some(found))
}
