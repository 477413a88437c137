//! [`EnterpriseAuth`]: the whole client flow, composed of the step flows, with independent
//! requests in flight together.

use std::time::{Duration, SystemTime};

use super::config::{EnterpriseConfig, GrantSource, IdpEndpoint, SamlMode, Trust};
use super::outcome::{Authorization, Discovery};
use super::routes::Routes;
use super::same_endpoint::same_endpoint;
use super::start::Start;
use super::step::Step;
use crate::challenge::BearerChallenge;
use crate::discovery::{
    AuthServerDiscovered, AuthServerDiscovery, DEFAULT_METADATA_LIFETIME, ResourceDiscovered,
    ResourceDiscovery, ResourceStart, UrlGuard,
};
use crate::error::sanitize;
use crate::grant::{
    IssuedAccessToken, IssuedIdJag, JwtBearerGrant, JwtBearerRequest, SamlRefreshExchange,
    SamlRefreshRequest, SubjectToken, TokenExchange, TokenExchangeRequest, unix_seconds,
};
use crate::{
    Assertion, Error, ErrorCode, Flow, HttpResponse, Output, Purpose, RefreshToken, Scope,
    Transmit, TransmitId,
};

#[derive(Debug, PartialEq, Eq)]
enum Status {
    Running,
    Failed,
    Returned,
}

// Short-lived, on the stack of one poll; boxing the Transmit would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Polled<T> {
    Idle,
    Wait,
    Transmit(Transmit),
    Done(T),
}

fn poll_child<F: Flow>(
    slot: &mut Option<Box<F>>,
    now: SystemTime,
) -> Result<Polled<F::Output>, Error> {
    let Some(flow) = slot.as_mut() else {
        return Ok(Polled::Idle);
    };
    let output = flow.poll_output(now);
    match output {
        Ok(Output::Transmit(transmit)) => Ok(Polled::Transmit(transmit)),
        Ok(Output::Wait) => Ok(Polled::Wait),
        Ok(Output::Done(value)) => {
            *slot = None;
            Ok(Polled::Done(value))
        }
        Err(error) => {
            *slot = None;
            Err(error)
        }
    }
}

fn feed<F: Flow>(
    slot: &mut Option<Box<F>>,
    now: SystemTime,
    id: TransmitId,
    response: HttpResponse,
) -> Result<(), Error> {
    match slot.as_mut() {
        Some(flow) => flow.handle_response(now, id, response),
        None => Err(Error::Misuse("response for a finished step")),
    }
}

/// The whole enterprise-managed authorization flow as one [`Flow`].
///
/// From the MCP server URL (or a challenge, a metadata URL, a cached [`Discovery`]) to an
/// access token: protected-resource discovery, authorization-server and IdP metadata, the
/// token exchange at the IdP, the jwt-bearer grant at the MCP authorization server. The IdP's
/// metadata does not wait for resource discovery: both are in flight together. Cold critical
/// path from the server URL: probe, PRM, authorization-server metadata, token exchange,
/// jwt-bearer (four round trips with [`Policy::speculative_resource_metadata`](crate::Policy)).
#[derive(Debug)]
pub struct EnterpriseAuth {
    config: EnterpriseConfig,
    server_url: String,
    guard: UrlGuard,
    routes: Routes,
    status: Status,

    resource: Option<Box<ResourceDiscovery>>,
    idp_metadata: Option<Box<AuthServerDiscovery>>,
    as_metadata: Option<Box<AuthServerDiscovery>>,
    saml: Option<Box<SamlRefreshExchange>>,
    exchange: Option<Box<TokenExchange>>,
    bearer: Option<Box<JwtBearerGrant>>,

    found_resource: Option<ResourceDiscovered>,
    /// The chosen authorization server issuer, once known.
    as_issuer: Option<String>,
    found_as: Option<AuthServerDiscovered>,
    found_idp: Option<AuthServerDiscovered>,
    subject: Option<SubjectToken>,
    saml_pending: bool,
    idp_refresh_token: Option<RefreshToken>,
    scope: Option<Scope>,
    id_jag: Option<IssuedIdJag>,
    resubmitting: bool,
    exchange_started: bool,
    bearer_started: bool,
    /// Whether the authorization server was found apart from the IdP (ID-JAG draft section
    /// 9.3); no token request of the enterprise flow starts before.
    servers_apart: bool,
    access: Option<IssuedAccessToken>,
    cached_fresh_until: Option<u64>,
}

impl EnterpriseAuth {
    /// Prepares the flow. Configuration problems (an unusable URL, an IdP that is the
    /// authorization server) are reported here, before anything is sent.
    pub fn new(config: EnterpriseConfig, start: Start) -> Result<Self, Error> {
        let server_url = start.server_url().to_owned();
        let (guard, _) = match start.cached() {
            Some(discovery) => {
                UrlGuard::for_discovery(&config.policy, &server_url, &discovery.checked)?
            }
            None => UrlGuard::for_server(&config.policy, &server_url)?,
        };
        let (subject, saml_pending) = match &config.grant {
            GrantSource::Enterprise { idp, subject } => {
                let pending = matches!(subject, SubjectToken::Saml2(_))
                    && idp.saml == SamlMode::ExchangeForRefreshToken;
                (Some(subject.clone()), pending)
            }
            GrantSource::Assertion(_) => (None, false),
        };
        let mut flow = Self {
            server_url,
            guard,
            routes: Routes::default(),
            status: Status::Running,
            resource: None,
            idp_metadata: None,
            as_metadata: None,
            saml: None,
            exchange: None,
            bearer: None,
            found_resource: None,
            as_issuer: None,
            found_as: None,
            found_idp: None,
            subject,
            saml_pending,
            idp_refresh_token: None,
            scope: config.scope.clone(),
            id_jag: None,
            resubmitting: false,
            exchange_started: false,
            bearer_started: false,
            servers_apart: false,
            access: None,
            cached_fresh_until: None,
            config,
        };
        if let Trust::Pinned(issuer) = &flow.config.authorization_server.trust {
            let issuer = issuer.clone();
            flow.choose_authorization_server(&issuer)?;
        }
        match start {
            Start::ServerUrl(url) => flow.start_resource(&url, ResourceStart::Probe)?,
            Start::Challenge {
                server_url,
                headers,
            } => flow.start_resource(&server_url, ResourceStart::Challenge(headers))?,
            Start::ResourceMetadata {
                server_url,
                metadata_url,
            } => flow.start_resource(&server_url, ResourceStart::MetadataUrl(metadata_url))?,
            Start::Cached(discovery) => flow.use_cached(discovery)?,
            Start::Resubmit { discovery, id_jag } => {
                flow.use_cached(discovery)?;
                // With a caller-supplied assertion there is no ID-JAG of ours to re-submit.
                if matches!(flow.config.grant, GrantSource::Enterprise { .. }) {
                    flow.id_jag = Some(id_jag);
                    flow.resubmitting = true;
                }
            }
        }
        if flow.as_issuer.is_some() && flow.found_as.is_none() && flow.as_metadata.is_none() {
            // Pinned: the issuer is known from the start, so its metadata does not wait.
            flow.start_as_discovery()?;
        }
        flow.start_idp_discovery()?;
        Ok(flow)
    }

    fn start_resource(&mut self, server_url: &str, start: ResourceStart) -> Result<(), Error> {
        self.resource = Some(Box::new(ResourceDiscovery::with_guard(
            server_url,
            start,
            &self.guard,
        )?));
        Ok(())
    }

    fn use_cached(&mut self, discovery: Discovery) -> Result<(), Error> {
        let Discovery {
            resource_metadata,
            resource_metadata_url,
            authorization_server,
            idp,
            scope,
            fresh_until,
            ..
        } = discovery;
        if self.scope.is_none() {
            self.scope = scope;
        }
        self.cached_fresh_until = Some(fresh_until);
        let issuer = authorization_server.issuer.clone();
        self.found_resource = Some(ResourceDiscovered {
            metadata: resource_metadata,
            metadata_url: resource_metadata_url,
            challenge: None,
            cache_lifetime: None,
        });
        self.check_pinned_listed()?;
        if self.as_issuer.is_none() {
            self.choose_authorization_server(&issuer)?;
        }
        if self.as_issuer.as_deref() != Some(issuer.as_str()) {
            // A pinned issuer other than the cached one: discover it afresh.
            self.start_as_discovery()?;
        } else {
            self.as_metadata = None;
            self.found_as = Some(AuthServerDiscovered {
                metadata: authorization_server,
                metadata_url: String::new(),
                cache_lifetime: None,
            });
            self.check_as_support()?;
        }
        if let (Some(idp), Some(configured)) = (idp, self.idp_issuer())
            && idp.issuer == configured
        {
            self.found_idp = Some(AuthServerDiscovered {
                metadata: idp,
                metadata_url: String::new(),
                cache_lifetime: None,
            });
        }
        Ok(())
    }

    fn idp_issuer(&self) -> Option<&str> {
        match &self.config.grant {
            GrantSource::Enterprise { idp, .. } => idp.issuer_str(),
            GrantSource::Assertion(_) => None,
        }
    }

    fn start_idp_discovery(&mut self) -> Result<(), Error> {
        if self.found_idp.is_some() {
            return Ok(());
        }
        if let Some(issuer) = self.idp_issuer() {
            let discovery =
                AuthServerDiscovery::with_guard(issuer, Purpose::IdpMetadata, self.guard.clone())?;
            self.idp_metadata = Some(Box::new(discovery));
        }
        Ok(())
    }

    /// Sets the authorization server issuer and refuses an IdP that is the authorization
    /// server (ID-JAG draft section 9.3: never redeem an ID-JAG in the domain that issued it).
    fn choose_authorization_server(&mut self, issuer: &str) -> Result<(), Error> {
        self.guard
            .check_issuer(Purpose::AuthorizationServerMetadata, issuer)?;
        if self.idp_issuer() == Some(issuer) {
            return Err(Error::IdpIsAuthorizationServer {
                issuer: sanitize(issuer),
            });
        }
        self.as_issuer = Some(issuer.to_owned());
        Ok(())
    }

    fn start_as_discovery(&mut self) -> Result<(), Error> {
        if let Some(issuer) = &self.as_issuer {
            self.as_metadata = Some(Box::new(AuthServerDiscovery::with_guard(
                issuer,
                Purpose::AuthorizationServerMetadata,
                self.guard.clone(),
            )?));
        }
        Ok(())
    }

    /// A pinned authorization server must be listed by the MCP server (design: trust modes).
    fn check_pinned_listed(&self) -> Result<(), Error> {
        let (Trust::Pinned(pinned), Some(found)) = (
            &self.config.authorization_server.trust,
            &self.found_resource,
        ) else {
            return Ok(());
        };
        let listed = &found.metadata.authorization_servers;
        if listed.iter().any(|s| s == pinned) {
            Ok(())
        } else {
            Err(Error::AuthorizationServerNotListed {
                pinned: pinned.clone(),
                listed: listed.iter().map(|s| sanitize(s)).collect(),
            })
        }
    }

    fn on_resource(&mut self, found: ResourceDiscovered) -> Result<(), Error> {
        tracing::debug!(
            purpose = "resource_metadata",
            url = %sanitize(&found.metadata_url),
            resource = %sanitize(&found.metadata.resource),
            "protected-resource metadata validated"
        );
        if self.scope.is_none() {
            // decisions.md D8: the challenge's scope, else scopes_supported, else none.
            self.scope = found
                .challenge
                .as_ref()
                .and_then(|c: &BearerChallenge| c.scope.clone())
                .filter(|s| !s.is_empty())
                .or_else(|| found.metadata.scopes());
        }
        let first = found.metadata.authorization_servers.first().cloned();
        self.found_resource = Some(found);
        self.check_pinned_listed()?;
        if self.as_issuer.is_none() {
            // decisions.md D7: the first entry.
            let issuer = first.ok_or(Error::InvalidResponse {
                purpose: Purpose::ResourceMetadata,
                violation: crate::Violation::MissingField("authorization_servers"),
            })?;
            self.choose_authorization_server(&issuer)?;
            self.start_as_discovery()?;
        }
        Ok(())
    }

    /// decisions.md D3, before any credential goes to the authorization server.
    fn check_as_support(&self) -> Result<(), Error> {
        if let Some(found) = &self.found_as {
            found
                .metadata
                .check_jwt_bearer_support(&self.config.authorization_server.credentials.auth)
                .map_err(|what| Error::Unsupported {
                    purpose: Purpose::AuthorizationServerMetadata,
                    what,
                })?;
        }
        Ok(())
    }

    fn on_as(&mut self, found: AuthServerDiscovered) -> Result<(), Error> {
        tracing::debug!(purpose = "authorization_server_metadata", issuer = %sanitize(&found.metadata.issuer), "authorization-server metadata validated");
        self.found_as = Some(found);
        // An IdP posing as the authorization server is named as such, not as a server that
        // lacks the jwt-bearer grant.
        self.check_servers_apart()?;
        self.check_as_support()
    }

    /// ID-JAG draft section 9.3: the ID-JAG is never redeemed in the domain that issued it, and
    /// the authorization server's credentials never go to the IdP. Whichever way the IdP was
    /// configured, once both sides are known: the authorization server's issuer must not be the
    /// IdP's (configured or discovered), and its token endpoint must not reach the IdP's
    /// ([`same_endpoint`]). Records in `servers_apart` that both sides were compared.
    fn check_servers_apart(&mut self) -> Result<(), Error> {
        if !self.servers_apart {
            self.servers_apart = self.servers_found_apart()?;
        }
        Ok(())
    }

    /// [`Self::check_servers_apart`] without the record: `Ok(false)` while a side is unknown.
    fn servers_found_apart(&self) -> Result<bool, Error> {
        let GrantSource::Enterprise { idp, .. } = &self.config.grant else {
            // A caller-supplied assertion: no IdP takes part.
            return Ok(true);
        };
        let Some(found_as) = &self.found_as else {
            return Ok(false);
        };
        let authorization_server = &found_as.metadata;
        let discovered = self.found_idp.as_ref().map(|f| f.metadata.issuer.as_str());
        if [idp.issuer_str(), discovered].contains(&Some(authorization_server.issuer.as_str())) {
            return Err(Error::IdpIsAuthorizationServer {
                issuer: sanitize(&authorization_server.issuer),
            });
        }
        let idp_token_endpoint = match &idp.endpoint {
            IdpEndpoint::TokenEndpoint(endpoint) => endpoint.as_str(),
            IdpEndpoint::Issuer(_) => match &self.found_idp {
                Some(found) => found.metadata.token_endpoint.as_str(),
                None => return Ok(false),
            },
        };
        if same_endpoint(idp_token_endpoint, &authorization_server.token_endpoint) {
            return Err(Error::AuthorizationServerIsIdp {
                issuer: sanitize(&authorization_server.issuer),
                token_endpoint: sanitize(&authorization_server.token_endpoint),
            });
        }
        Ok(true)
    }

    fn on_idp(&mut self, found: AuthServerDiscovered) -> Result<(), Error> {
        tracing::debug!(purpose = "idp_metadata", issuer = %sanitize(&found.metadata.issuer), "IdP metadata validated");
        if let GrantSource::Enterprise { idp, .. } = &self.config.grant {
            found
                .metadata
                .check_token_exchange_support(&idp.credentials.auth)
                .map_err(|what| Error::Unsupported {
                    purpose: Purpose::IdpMetadata,
                    what,
                })?;
        }
        self.found_idp = Some(found);
        self.check_servers_apart()
    }

    fn idp_token_endpoint(&self) -> Option<String> {
        match &self.config.grant {
            GrantSource::Enterprise { idp, .. } => match &idp.endpoint {
                IdpEndpoint::TokenEndpoint(endpoint) => Some(endpoint.clone()),
                IdpEndpoint::Issuer(_) => self
                    .found_idp
                    .as_ref()
                    .map(|f| f.metadata.token_endpoint.clone()),
            },
            GrantSource::Assertion(_) => None,
        }
    }

    /// Starts every step whose inputs are known.
    fn advance(&mut self) -> Result<(), Error> {
        let GrantSource::Enterprise { idp, .. } = &self.config.grant else {
            return self.advance_bearer();
        };
        // Runs on every poll: the credentials are cloned only for a step that starts.
        if self.saml_pending
            && self.saml.is_none()
            && let (Some(endpoint), Some(SubjectToken::Saml2(assertion))) =
                (self.idp_token_endpoint(), &self.subject)
        {
            let request = SamlRefreshRequest {
                token_endpoint: endpoint,
                idp_issuer: self.idp_issuer().map(str::to_owned),
                credentials: idp.credentials.clone(),
                assertion: assertion.clone(),
                scope: None,
            };
            self.saml = Some(Box::new(SamlRefreshExchange::with_guard(
                request,
                &self.guard,
            )?));
        }
        // ID-JAG draft section 9.3: nothing goes to the authorization server, and no ID-JAG is
        // asked for, before it is known not to be the IdP.
        if !self.servers_apart {
            self.servers_apart = self.servers_found_apart()?;
            if !self.servers_apart {
                return Ok(());
            }
        }
        if !self.exchange_started
            && !self.saml_pending
            && self.id_jag.is_none()
            && let (Some(endpoint), Some(found_as), Some(found), Some(subject)) = (
                self.idp_token_endpoint(),
                &self.found_as,
                &self.found_resource,
                &self.subject,
            )
        {
            {
                let request = TokenExchangeRequest {
                    token_endpoint: endpoint,
                    idp_issuer: self.idp_issuer().map(str::to_owned),
                    credentials: idp.credentials.clone(),
                    subject: subject.clone(),
                    audience: found_as.metadata.issuer.clone(),
                    resource: found.metadata.resource.clone(),
                    scope: self.scope.clone(),
                    authorization_server_client_id: self
                        .config
                        .authorization_server
                        .credentials
                        .client_id
                        .clone(),
                };
                self.exchange = Some(Box::new(TokenExchange::with_guard(request, &self.guard)?));
                self.exchange_started = true;
            }
        }
        self.advance_bearer()
    }

    fn advance_bearer(&mut self) -> Result<(), Error> {
        if self.bearer_started {
            return Ok(());
        }
        let (Some(found_as), Some(found)) = (&self.found_as, &self.found_resource) else {
            return Ok(());
        };
        let (assertion, send_scope) = match (&self.config.grant, &self.id_jag) {
            (GrantSource::Assertion(assertion), _) => (assertion.clone(), self.scope.clone()),
            (GrantSource::Enterprise { .. }, Some(issued)) => {
                (Assertion::new(issued.id_jag.expose_secret()), None)
            }
            (GrantSource::Enterprise { .. }, None) => return Ok(()),
        };
        let requested_scope = match &self.id_jag {
            Some(issued) => issued.scope.clone().or_else(|| self.scope.clone()),
            None => self.scope.clone(),
        };
        let request = JwtBearerRequest {
            token_endpoint: found_as.metadata.token_endpoint.clone(),
            issuer: Some(found_as.metadata.issuer.clone()),
            credentials: self.config.authorization_server.credentials.clone(),
            assertion,
            scope: send_scope,
            requested_scope,
            resource: self
                .config
                .policy
                .jwt_bearer_resource
                .then(|| found.metadata.resource.clone()),
        };
        self.bearer = Some(Box::new(JwtBearerGrant::with_guard(request, &self.guard)?));
        self.bearer_started = true;
        Ok(())
    }

    /// decisions.md D13: a re-submitted ID-JAG refused with `invalid_grant` falls back once to
    /// a fresh exchange.
    fn bearer_failed(&mut self, error: Error) -> Result<(), Error> {
        let refused =
            matches!(&error, Error::OAuth { error, .. } if error.code == ErrorCode::InvalidGrant);
        if self.resubmitting && refused {
            tracing::debug!(
                purpose = "jwt_bearer",
                "re-submitted ID-JAG refused; exchanging afresh"
            );
            self.resubmitting = false;
            self.id_jag = None;
            self.bearer_started = false;
            self.routes.abandon(Step::JwtBearer);
            return Ok(());
        }
        Err(error)
    }

    /// Polls one step: `Some(transmit)` to hand out, `Ok(true)` when it finished.
    fn poll_step(
        &mut self,
        step: Step,
        now: SystemTime,
    ) -> Result<(Option<Transmit>, bool), Error> {
        macro_rules! child {
            ($slot:ident, $on_done:ident) => {
                match poll_child(&mut self.$slot, now)? {
                    Polled::Transmit(t) => (Some(t), false),
                    Polled::Done(value) => {
                        self.routes.abandon(step);
                        self.$on_done(value)?;
                        (None, true)
                    }
                    Polled::Idle | Polled::Wait => (None, false),
                }
            };
        }
        let (transmit, finished) = match step {
            Step::ResourceDiscovery => child!(resource, on_resource),
            Step::IdpDiscovery => child!(idp_metadata, on_idp),
            Step::AuthorizationServerDiscovery => child!(as_metadata, on_as),
            Step::SamlRefresh => child!(saml, on_saml),
            Step::TokenExchange => child!(exchange, on_exchange),
            Step::JwtBearer => match poll_child(&mut self.bearer, now) {
                Ok(Polled::Transmit(t)) => (Some(t), false),
                Ok(Polled::Done(value)) => {
                    self.routes.abandon(step);
                    self.access = Some(value);
                    (None, true)
                }
                Ok(Polled::Idle | Polled::Wait) => (None, false),
                Err(error) => {
                    self.bearer_failed(error)?;
                    (None, true)
                }
            },
        };
        Ok((transmit.map(|t| self.routes.route(step, t)), finished))
    }

    fn on_saml(&mut self, refresh_token: RefreshToken) -> Result<(), Error> {
        self.subject = Some(SubjectToken::RefreshToken(refresh_token.clone()));
        self.idp_refresh_token = Some(refresh_token);
        self.saml_pending = false;
        Ok(())
    }

    fn on_exchange(&mut self, issued: IssuedIdJag) -> Result<(), Error> {
        tracing::debug!(
            purpose = "token_exchange",
            encrypted = issued.encrypted,
            "ID-JAG issued and checked"
        );
        self.id_jag = Some(issued);
        Ok(())
    }

    fn finish(&mut self, now: SystemTime) -> Option<Authorization> {
        let access = self.access.take()?;
        let idp_token_endpoint = self.idp_token_endpoint();
        let found = self.found_resource.take()?;
        let found_as = self.found_as.take()?;
        let checked = self.guard.remember(
            &self.server_url,
            [
                Some(found_as.metadata.issuer.as_str()),
                Some(found_as.metadata.token_endpoint.as_str()),
                idp_token_endpoint.as_deref(),
            ]
            .into_iter()
            .flatten(),
        );
        let found_idp = self.found_idp.take();
        let fresh_until = self.cached_fresh_until.unwrap_or_else(|| {
            let lifetime = [
                found.cache_lifetime,
                found_as.cache_lifetime,
                found_idp.as_ref().and_then(|f| f.cache_lifetime),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(DEFAULT_METADATA_LIFETIME);
            unix_seconds(now).saturating_add(lifetime.as_secs())
        });
        let resource = found.metadata.resource.clone();
        let discovery = Discovery {
            server_url: self.server_url.clone(),
            resource_metadata: found.metadata,
            resource_metadata_url: found.metadata_url,
            authorization_server: found_as.metadata,
            idp: found_idp.map(|f| f.metadata),
            scope: self.scope.clone(),
            fresh_until,
            checked,
        };
        tracing::debug!(
            purpose = "jwt_bearer",
            expires_in_s = access
                .expires_at
                .duration_since(now)
                .unwrap_or(Duration::ZERO)
                .as_secs(),
            "access token issued"
        );
        Some(Authorization {
            access_token: access.access_token,
            token_type: access.token_type,
            expires_at: access.expires_at,
            scope: access.scope,
            resource,
            authorization_server: discovery.authorization_server.issuer.clone(),
            id_jag: self.id_jag.take(),
            idp_refresh_token: self.idp_refresh_token.take(),
            discovery,
        })
    }

    fn poll_inner(&mut self, now: SystemTime) -> Result<Output<Authorization>, Error> {
        loop {
            self.advance()?;
            if self.access.is_some() {
                self.status = Status::Returned;
                return self
                    .finish(now)
                    .map(Output::Done)
                    .ok_or(Error::Misuse("flow finished without its inputs"));
            }
            let mut progressed = false;
            for step in Step::ALL {
                let (transmit, finished) = self.poll_step(step, now)?;
                if let Some(transmit) = transmit {
                    let limit = self.config.policy.max_transmits;
                    if transmit.id.get() >= limit {
                        return Err(Error::TooManyTransmits { limit });
                    }
                    return Ok(Output::Transmit(transmit));
                }
                progressed |= finished;
            }
            if !progressed {
                return Ok(Output::Wait);
            }
        }
    }
}

impl Flow for EnterpriseAuth {
    type Output = Authorization;

    fn poll_output(&mut self, now: SystemTime) -> Result<Output<Authorization>, Error> {
        match self.status {
            Status::Running => {}
            Status::Failed => return Err(Error::Misuse("the flow already failed")),
            Status::Returned => return Err(Error::Misuse("the flow already finished")),
        }
        let outcome = self.poll_inner(now);
        if let Err(error) = &outcome {
            tracing::debug!(purpose = error.purpose().map(Purpose::as_str), error = %error, "flow failed");
            self.status = Status::Failed;
        }
        outcome
    }

    fn handle_response(
        &mut self,
        now: SystemTime,
        id: TransmitId,
        response: HttpResponse,
    ) -> Result<(), Error> {
        if self.status != Status::Running {
            return Err(Error::Misuse("the flow is no longer running"));
        }
        tracing::debug!(
            transmit_id = id.get(),
            status = response.status().as_u16(),
            "response received"
        );
        let Some((step, inner)) = self.routes.answer(id)? else {
            return Ok(());
        };
        match step {
            Step::ResourceDiscovery => feed(&mut self.resource, now, inner, response),
            Step::IdpDiscovery => feed(&mut self.idp_metadata, now, inner, response),
            Step::AuthorizationServerDiscovery => feed(&mut self.as_metadata, now, inner, response),
            Step::SamlRefresh => feed(&mut self.saml, now, inner, response),
            Step::TokenExchange => feed(&mut self.exchange, now, inner, response),
            Step::JwtBearer => feed(&mut self.bearer, now, inner, response),
        }
    }
}
