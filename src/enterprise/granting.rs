//! The second stage of [`EnterpriseAuth`](super::EnterpriseAuth): every document is known and
//! the two servers are apart, so the token requests run. The token exchange at the IdP (RFC
//! 8693) gives the ID-JAG, the jwt-bearer grant at the MCP authorization server (RFC 7523)
//! trades it for the access token.

use std::time::SystemTime;

use super::checks::ServersApart;
use super::config::{EnterpriseConfig, GrantSource};
use super::discovered::Discovered;
use super::leg::Leg;
use super::step::Step;
use super::subject::Subject;
use crate::constants::GRANT_TYPE_JWT_DPOP;
use crate::discovery::AuthorizationServerMetadata;
use crate::discovery::{AuthServerDiscovered, UrlGuard};
use crate::dpop_hook::Binding;
use crate::grant::{
    IssuedAccessToken, IssuedIdJag, JwtBearerGrant, JwtBearerRequest, TokenExchange,
    TokenExchangeRequest,
};
use crate::{
    Assertion, DpopRefusal, Error, ErrorCode, HttpResponse, Output, Purpose, Scope, TransmitId,
};

/// Where the jwt-bearer grant's assertion comes from.
#[derive(Debug)]
enum AssertionSource {
    /// The caller's own ([`GrantSource::Assertion`]): no IdP takes part.
    Caller,
    /// A cached ID-JAG, re-submitted before any exchange (decisions.md D13). Refused with
    /// `invalid_grant`, it gives way to a fresh exchange, once.
    Resubmitted(IssuedIdJag),
    /// The token exchange at the IdP.
    Exchange(Leg<TokenExchange>),
}

/// The token legs, and what discovery found.
#[derive(Debug)]
pub(super) struct Granting {
    discovered: Discovered,
    assertion: AssertionSource,
    bearer: Leg<JwtBearerGrant>,
}

/// What a finished [`Granting`] leaves.
pub(super) struct Granted {
    pub(super) access: IssuedAccessToken,
    pub(super) discovered: Discovered,
    /// The ID-JAG used; `None` with a caller-supplied assertion.
    pub(super) id_jag: Option<IssuedIdJag>,
}

impl Granting {
    /// The token stage for `grant`, with what discovery found and an ID-JAG to re-submit; only
    /// once the servers are known apart.
    pub(super) fn new(
        grant: &GrantSource,
        discovered: Discovered,
        _apart: ServersApart,
        resubmit: Option<IssuedIdJag>,
    ) -> Self {
        let assertion = match (grant, resubmit) {
            (GrantSource::Assertion(_), _) => AssertionSource::Caller,
            (GrantSource::Enterprise { .. }, Some(id_jag)) => AssertionSource::Resubmitted(id_jag),
            (GrantSource::Enterprise { .. }, None) => AssertionSource::Exchange(Leg::Pending),
        };
        Self {
            discovered,
            assertion,
            bearer: Leg::Pending,
        }
    }

    /// The IdP's metadata, when it was configured by issuer.
    pub(super) fn found_idp(&self) -> Option<&AuthServerDiscovered> {
        self.discovered.idp.as_ref()
    }

    /// Whether the access token is issued.
    pub(super) fn is_granted(&self) -> bool {
        self.bearer.output().is_some()
    }

    /// Starts every token request whose inputs are known: the exchange once the subject token
    /// is ready, the grant once it has an assertion.
    pub(super) fn advance(
        &mut self,
        config: &EnterpriseConfig,
        guard: &UrlGuard,
        scope: Option<&Scope>,
        subject: &Subject,
    ) -> Result<(), Error> {
        self.start_exchange(config, guard, scope, subject)?;
        self.start_bearer(config, guard, scope)
    }

    fn start_exchange(
        &mut self,
        config: &EnterpriseConfig,
        guard: &UrlGuard,
        scope: Option<&Scope>,
        subject: &Subject,
    ) -> Result<(), Error> {
        let AssertionSource::Exchange(leg @ Leg::Pending) = &mut self.assertion else {
            return Ok(());
        };
        let GrantSource::Enterprise {
            idp,
            subject: configured,
        } = &config.grant
        else {
            return Ok(());
        };
        let (Some(endpoint), Some(subject)) = (
            idp.token_endpoint_from(self.discovered.idp.as_ref()),
            subject.token(configured),
        ) else {
            return Ok(());
        };
        let request = TokenExchangeRequest {
            token_endpoint: endpoint.to_owned(),
            idp_issuer: idp.issuer_str().map(str::to_owned),
            credentials: idp.credentials.clone(),
            subject,
            audience: self.discovered.authorization_server.metadata.issuer.clone(),
            resource: self.discovered.resource.metadata.resource.clone(),
            scope: scope.cloned(),
            authorization_server_client_id: config
                .authorization_server
                .credentials
                .client_id
                .clone(),
        };
        // Under DpopPolicy::Required an authorization server that rules the key's algorithm
        // out is refused before an ID-JAG is minted for it.
        let server = &self.discovered.authorization_server.metadata;
        proof_binding(config, Some(server), Purpose::JwtBearer)?;
        let idp = self
            .discovered
            .idp
            .as_ref()
            .map(|found| found.metadata.as_ref());
        let dpop = proof_binding(config, idp, Purpose::TokenExchange)?;
        *leg = Leg::start(TokenExchange::with_guard(request, guard)?.dpop(dpop));
        Ok(())
    }

    /// The ID-JAG to present, once there is one; `None` with a caller-supplied assertion too.
    fn id_jag(&self) -> Option<&IssuedIdJag> {
        match &self.assertion {
            AssertionSource::Caller => None,
            AssertionSource::Resubmitted(id_jag) => Some(id_jag),
            AssertionSource::Exchange(leg) => leg.output(),
        }
    }

    fn start_bearer(
        &mut self,
        config: &EnterpriseConfig,
        guard: &UrlGuard,
        scope: Option<&Scope>,
    ) -> Result<(), Error> {
        if !self.bearer.is_pending() {
            return Ok(());
        }
        let id_jag = self.id_jag();
        // An ID-JAG carries its scope, so `scope` (RFC 7523 section 2.1) goes only with the
        // caller's own assertion.
        let (assertion, send_scope) = match (&config.grant, id_jag) {
            (GrantSource::Assertion(assertion), _) => (assertion.clone(), scope.cloned()),
            (GrantSource::Enterprise { .. }, Some(issued)) => {
                (Assertion::new(issued.id_jag.expose_secret()), None)
            }
            (GrantSource::Enterprise { .. }, None) => return Ok(()),
        };
        let requested_scope = id_jag
            .and_then(|issued| issued.scope.clone())
            .or_else(|| scope.cloned());
        let bound_id_jag = id_jag.and_then(|issued| issued.dpop_jkt.as_deref());
        let metadata = &self.discovered.authorization_server.metadata;
        let dpop = bearer_binding(config, metadata, bound_id_jag)?;
        // draft-parecki-oauth-jwt-dpop-grant: the grant for an assertion bound to a key, used
        // when the server offers it; the ID-JAG draft's own text keeps jwt-bearer otherwise.
        let jwt_dpop = dpop.is_some()
            && bound_id_jag.is_some()
            && metadata
                .grant_types_supported
                .as_ref()
                .is_some_and(|types| types.iter().any(|t| t == GRANT_TYPE_JWT_DPOP));
        let request = JwtBearerRequest {
            token_endpoint: self
                .discovered
                .authorization_server
                .metadata
                .token_endpoint
                .clone(),
            issuer: Some(self.discovered.authorization_server.metadata.issuer.clone()),
            credentials: config.authorization_server.credentials.clone(),
            assertion,
            scope: send_scope,
            requested_scope,
            resource: config
                .policy
                .jwt_bearer_resource
                .then(|| self.discovered.resource.metadata.resource.clone()),
        };
        self.bearer = Leg::start(JwtBearerGrant::with_guard(request, guard)?.dpop(dpop, jwt_dpop));
        Ok(())
    }

    /// Polls the leg of `step`; a leg of another stage has nothing to send. [`Output::Done`]
    /// when the leg's requests are over: it finished, or the re-submitted ID-JAG was refused
    /// and the grant waits for a fresh exchange.
    pub(super) fn poll(&mut self, step: Step, now: SystemTime) -> Result<Output<()>, Error> {
        match (step, &mut self.assertion) {
            (Step::TokenExchange, AssertionSource::Exchange(leg)) => leg.poll(now, |issued| {
                tracing::debug!(
                    purpose = "token_exchange",
                    encrypted = issued.encrypted,
                    "ID-JAG issued and checked"
                );
                Ok(())
            }),
            (Step::JwtBearer, _) => self.poll_bearer(now),
            _ => Ok(Output::Wait),
        }
    }

    fn poll_bearer(&mut self, now: SystemTime) -> Result<Output<()>, Error> {
        match self.bearer.poll(now, |_| Ok(())) {
            Err(error) if self.exchanges_afresh_after(&error) => {
                tracing::debug!(
                    purpose = "jwt_bearer",
                    "re-submitted ID-JAG refused; exchanging afresh"
                );
                self.assertion = AssertionSource::Exchange(Leg::Pending);
                self.bearer = Leg::Pending;
                Ok(Output::Done(()))
            }
            polled => polled,
        }
    }

    /// decisions.md D13: a re-submitted ID-JAG refused with `invalid_grant` falls back once to
    /// a fresh exchange.
    fn exchanges_afresh_after(&self, error: &Error) -> bool {
        matches!(self.assertion, AssertionSource::Resubmitted(_))
            && matches!(error, Error::OAuth { error, .. } if error.code == ErrorCode::InvalidGrant)
    }

    /// Hands the leg of `step` the answer to its request `id`.
    pub(super) fn handle_response(
        &mut self,
        step: Step,
        now: SystemTime,
        id: TransmitId,
        response: HttpResponse,
    ) -> Result<(), Error> {
        match (step, &mut self.assertion) {
            (Step::TokenExchange, AssertionSource::Exchange(leg)) => {
                leg.handle_response(now, id, response)
            }
            (Step::JwtBearer, _) => self.bearer.handle_response(now, id, response),
            _ => Err(Error::Misuse("response for a finished step")),
        }
    }

    /// What the stage leaves once the access token is issued; `None` before.
    pub(super) fn into_granted(self) -> Option<Granted> {
        let id_jag = match self.assertion {
            AssertionSource::Caller => None,
            AssertionSource::Resubmitted(id_jag) => Some(id_jag),
            AssertionSource::Exchange(leg) => leg.into_output(),
        };
        Some(Granted {
            access: self.bearer.into_output()?,
            discovered: self.discovered,
            id_jag,
        })
    }
}

/// The binding whose proofs go to the server `metadata` describes (`None` for a server known
/// only by its token endpoint), when the configuration has one in force and the server does
/// not rule its algorithm out (RFC 9449 section 5.1).
fn proof_binding(
    config: &EnterpriseConfig,
    metadata: Option<&AuthorizationServerMetadata>,
    purpose: Purpose,
) -> Result<Option<Binding>, Error> {
    let Some(binding) = config.binding() else {
        return Ok(None);
    };
    let sends = binding
        .sends_proofs_to(metadata)
        .map_err(|refusal| Error::Dpop {
            purpose: Some(purpose),
            refusal,
        })?;
    Ok(sends.then(|| binding.clone()))
}

/// The binding for the jwt-bearer grant. An ID-JAG bound to a key is redeemed only with a
/// proof by that key (ID-JAG draft section 9.8): with this client's key whatever the server's
/// metadata says, and never without one, since the server would refuse it anyway and a
/// bound token must not travel as a bearer one.
fn bearer_binding(
    config: &EnterpriseConfig,
    metadata: &AuthorizationServerMetadata,
    bound_id_jag: Option<&str>,
) -> Result<Option<Binding>, Error> {
    let purpose = Purpose::JwtBearer;
    // Under DpopPolicy::Required a server that rules the key's algorithm out is refused
    // even for a bound ID-JAG; under Preferred a bound one still goes with its proof.
    let preferred = proof_binding(config, Some(metadata), purpose)?;
    let Some(jkt) = bound_id_jag else {
        return Ok(preferred);
    };
    config
        .dpop
        .clone()
        .filter(|binding| binding.jkt() == jkt)
        .map(Some)
        .ok_or(Error::Dpop {
            purpose: Some(purpose),
            refusal: DpopRefusal::BoundTokenWithoutKey,
        })
}
