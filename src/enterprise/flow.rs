//! [`EnterpriseAuth`]: the whole client flow, composed of the step flows, with independent
//! requests in flight together.

use std::time::{Duration, SystemTime};

use super::checks::check_authorization_server_issuer;
use super::config::{EnterpriseConfig, GrantSource, Trust};
use super::discovered::Discovered;
use super::discovering::Discovering;
use super::granting::{Granted, Granting};
use super::outcome::{Authorization, Discovery};
use super::routes::Routes;
use super::start::Start;
use super::step::Step;
use super::subject::Subject;
use crate::discovery::{
    AuthServerDiscovered, DEFAULT_METADATA_LIFETIME, ResourceDiscovery, ResourceStart, UrlGuard,
};
use crate::grant::unix_seconds;
use crate::{Error, Flow, HttpResponse, Output, Purpose, Scope, TransmitId};

/// Where the flow is.
#[derive(Debug)]
enum Stage {
    /// Finding the documents; no token request can run.
    Discovering(Discovering),
    /// Every document known and the servers apart: the token requests run.
    Granting(Granting),
    /// An error ended the flow.
    Failed,
    /// The authorization was handed out.
    Returned,
}

impl Stage {
    /// The IdP's metadata, once found.
    fn found_idp(&self) -> Option<&AuthServerDiscovered> {
        match self {
            Stage::Discovering(discovering) => discovering.found_idp(),
            Stage::Granting(granting) => granting.found_idp(),
            Stage::Failed | Stage::Returned => None,
        }
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
    /// The scope to request: configured, cached, or selected once the protected resource's
    /// metadata is known (decisions.md D8).
    scope: Option<Scope>,
    /// Until when a cached discovery's documents may be reused (decisions.md D20); `None` when
    /// they are fetched now.
    cached_fresh_until: Option<u64>,
    subject: Subject,
    stage: Stage,
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
        if let Trust::Pinned(issuer) = &config.authorization_server.trust {
            check_authorization_server_issuer(&guard, &config, issuer)?;
        }
        let mut scope = config.scope.clone();
        let mut cached_fresh_until = None;
        let mut from_cache = |discovery: Discovery| {
            if scope.is_none() {
                scope = discovery.scope.clone();
            }
            cached_fresh_until = Some(discovery.fresh_until);
            Discovering::from_cache(discovery, &config, &guard)
        };
        let from_resource = |url: &str, start| {
            ResourceDiscovery::with_guard(url, start, &guard).map(Discovering::from_resource)
        };
        let mut discovering = match start {
            Start::ServerUrl(url) => from_resource(&url, ResourceStart::Probe)?,
            Start::Challenge {
                server_url,
                headers,
            } => from_resource(&server_url, ResourceStart::Challenge(headers))?,
            Start::ResourceMetadata {
                server_url,
                metadata_url,
            } => from_resource(&server_url, ResourceStart::MetadataUrl(metadata_url))?,
            Start::Cached(discovery) => from_cache(discovery)?,
            Start::Resubmit { discovery, id_jag } => {
                let mut discovering = from_cache(discovery)?;
                // With a caller-supplied assertion there is no ID-JAG of ours to re-submit.
                if matches!(config.grant, GrantSource::Enterprise { .. }) {
                    discovering.resubmit(id_jag);
                }
                discovering
            }
        };
        if let Trust::Pinned(issuer) = &config.authorization_server.trust {
            discovering.start_pinned(issuer, &guard)?;
        }
        discovering.start_idp(&config, &guard)?;
        Ok(Self {
            subject: Subject::new(&config)?,
            server_url,
            guard,
            routes: Routes::default(),
            scope,
            cached_fresh_until,
            stage: Stage::Discovering(discovering),
            config,
        })
    }

    /// Starts every leg whose inputs are known, in the order of the specification: the SAML
    /// trade once the IdP's token endpoint is known, the token stage once discovery is
    /// complete, then its requests.
    fn advance(&mut self) -> Result<(), Error> {
        let found_idp = self.stage.found_idp();
        self.subject.advance(&self.config, found_idp, &self.guard)?;
        self.finish_discovery()?;
        if let Stage::Granting(granting) = &mut self.stage {
            granting.advance(
                &self.config,
                &self.guard,
                self.scope.as_ref(),
                &self.subject,
            )?;
        }
        Ok(())
    }

    /// Moves to the token stage once discovery is complete: ID-JAG draft section 9.3, nothing
    /// goes to the authorization server, and no ID-JAG is asked for, before it is known not to
    /// be the IdP.
    fn finish_discovery(&mut self) -> Result<(), Error> {
        let Stage::Discovering(discovering) = &self.stage else {
            return Ok(());
        };
        let Some(apart) = discovering.complete(&self.config)? else {
            return Ok(());
        };
        self.stage = match std::mem::replace(&mut self.stage, Stage::Failed) {
            Stage::Discovering(discovering) => {
                Stage::Granting(discovering.into_granting(&self.config.grant, apart)?)
            }
            other => other,
        };
        Ok(())
    }

    /// Polls the leg of `step`, routing its request. [`Output::Done`] when its requests are
    /// over.
    fn poll_step(&mut self, step: Step, now: SystemTime) -> Result<Output<()>, Error> {
        // Matched whole, here and in the callers, rather than through `?`: most polls of a leg
        // return nothing, and `?` copies the request-sized result on each (2% of a cold flow).
        match self.poll_leg(step, now) {
            Ok(Output::Transmit(transmit)) => {
                Ok(Output::Transmit(self.routes.route(step, transmit)))
            }
            Ok(Output::Done(())) => {
                self.routes.abandon(step);
                Ok(Output::Done(()))
            }
            waiting_or_failed => waiting_or_failed,
        }
    }

    /// Polls the leg of `step` where it is: the SAML trade in any stage, the others in theirs.
    fn poll_leg(&mut self, step: Step, now: SystemTime) -> Result<Output<()>, Error> {
        match (step, &mut self.stage) {
            (Step::Subject, _) => self.subject.poll(now),
            (_, Stage::Discovering(discovering)) => {
                discovering.poll(step, now, &self.config, &self.guard, &mut self.scope)
            }
            (_, Stage::Granting(granting)) => granting.poll(step, now),
            (_, Stage::Failed | Stage::Returned) => Ok(Output::Wait),
        }
    }

    fn is_granted(&self) -> bool {
        matches!(&self.stage, Stage::Granting(granting) if granting.is_granted())
    }

    fn finish(&mut self, now: SystemTime) -> Result<Authorization, Error> {
        let missing = || Error::Misuse("flow finished without its inputs");
        let Stage::Granting(granting) = std::mem::replace(&mut self.stage, Stage::Returned) else {
            return Err(missing());
        };
        let Granted {
            access,
            discovered:
                Discovered {
                    resource: found,
                    authorization_server: found_as,
                    idp: found_idp,
                },
            id_jag,
        } = granting.into_granted().ok_or_else(missing)?;
        let idp_token_endpoint = self
            .config
            .idp()
            .and_then(|idp| idp.token_endpoint_from(found_idp.as_ref()));
        let checked = self.guard.remember(
            &self.server_url,
            [
                Some(found_as.metadata.issuer.as_str()),
                Some(found_as.metadata.token_endpoint.as_str()),
                idp_token_endpoint,
            ]
            .into_iter()
            .flatten(),
        );
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
        let subject = std::mem::replace(&mut self.subject, Subject::AsConfigured);
        Ok(Authorization {
            access_token: access.access_token,
            token_type: access.token_type,
            expires_at: access.expires_at,
            scope: access.scope,
            resource,
            authorization_server: discovery.authorization_server.issuer.clone(),
            id_jag,
            idp_refresh_token: subject.into_refresh_token(),
            discovery,
        })
    }

    fn poll_inner(&mut self, now: SystemTime) -> Result<Output<Authorization>, Error> {
        loop {
            self.advance()?;
            if self.is_granted() {
                return self.finish(now).map(Output::Done);
            }
            let mut progressed = false;
            for step in Step::ALL {
                match self.poll_step(step, now) {
                    Ok(Output::Transmit(transmit)) => {
                        let limit = self.config.policy.max_transmits;
                        if transmit.id.get() >= limit {
                            return Err(Error::TooManyTransmits { limit });
                        }
                        return Ok(Output::Transmit(transmit));
                    }
                    Ok(Output::Wait) => {}
                    Ok(Output::Done(())) => progressed = true,
                    Err(error) => return Err(error),
                }
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
        match self.stage {
            Stage::Discovering(_) | Stage::Granting(_) => {}
            Stage::Failed => return Err(Error::Misuse("the flow already failed")),
            Stage::Returned => return Err(Error::Misuse("the flow already finished")),
        }
        let outcome = self.poll_inner(now);
        if let Err(error) = &outcome {
            tracing::debug!(purpose = error.purpose().map(Purpose::as_str), error = %error, "flow failed");
            self.stage = Stage::Failed;
        }
        outcome
    }

    fn handle_response(
        &mut self,
        now: SystemTime,
        id: TransmitId,
        response: HttpResponse,
    ) -> Result<(), Error> {
        if matches!(self.stage, Stage::Failed | Stage::Returned) {
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
        match (step, &mut self.stage) {
            (Step::Subject, _) => self.subject.handle_response(now, inner, response),
            (_, Stage::Discovering(discovering)) => {
                discovering.handle_response(step, now, inner, response)
            }
            (_, Stage::Granting(granting)) => granting.handle_response(step, now, inner, response),
            (_, Stage::Failed | Stage::Returned) => {
                Err(Error::Misuse("the flow is no longer running"))
            }
        }
    }
}
