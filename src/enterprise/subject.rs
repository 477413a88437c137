//! The subject token the token exchange presents at the IdP, and the SAML trade that may
//! prepare it (protocol.md 2.7 option B, decisions.md D15).

use std::time::SystemTime;

use super::config::{GrantSource, SamlMode};
use super::leg::Leg;
use crate::discovery::{AuthServerDiscovered, UrlGuard};
use crate::grant::{SamlRefreshExchange, SamlRefreshRequest, SubjectToken};
use crate::{Error, HttpResponse, Output, RefreshToken, TransmitId};

/// Which subject token the exchange presents.
#[derive(Debug)]
pub(super) enum Subject {
    /// The configured one, as it is (or none at all: with a caller-supplied assertion no IdP
    /// takes part).
    AsConfigured,
    /// The IdP refresh token a SAML assertion is traded for first (RFC 8693 at the IdP's token
    /// endpoint, protocol.md 2.7 option B): the trade starts once that endpoint is known, and
    /// the exchange waits for it.
    SamlRefresh(Leg<SamlRefreshExchange>),
}

impl Subject {
    /// What `grant` asks for.
    pub(super) fn new(grant: &GrantSource) -> Self {
        match grant {
            GrantSource::Enterprise {
                idp,
                subject: SubjectToken::Saml2(_),
            } if idp.saml == SamlMode::ExchangeForRefreshToken => Self::SamlRefresh(Leg::Pending),
            GrantSource::Enterprise { .. } | GrantSource::Assertion(_) => Self::AsConfigured,
        }
    }

    /// Starts the SAML trade once the IdP's token endpoint is known: configured, or named by
    /// its `discovered` metadata.
    pub(super) fn advance(
        &mut self,
        grant: &GrantSource,
        discovered: Option<&AuthServerDiscovered>,
        guard: &UrlGuard,
    ) -> Result<(), Error> {
        let Self::SamlRefresh(leg @ Leg::Pending) = self else {
            return Ok(());
        };
        let GrantSource::Enterprise {
            idp,
            subject: SubjectToken::Saml2(assertion),
        } = grant
        else {
            return Ok(());
        };
        let Some(endpoint) = idp.token_endpoint_from(discovered) else {
            return Ok(());
        };
        let request = SamlRefreshRequest {
            token_endpoint: endpoint.to_owned(),
            idp_issuer: idp.issuer_str().map(str::to_owned),
            credentials: idp.credentials.clone(),
            assertion: assertion.clone(),
            scope: None,
        };
        *leg = Leg::start(SamlRefreshExchange::with_guard(request, guard)?);
        Ok(())
    }

    /// The token to present, once it is ready: `configured`, or the IdP refresh token the SAML
    /// trade gave.
    pub(super) fn token(&self, configured: &SubjectToken) -> Option<SubjectToken> {
        match self {
            Self::AsConfigured => Some(configured.clone()),
            Self::SamlRefresh(leg) => leg.output().cloned().map(SubjectToken::RefreshToken),
        }
    }

    /// The IdP refresh token the SAML trade gave, for the caller to keep as its next subject
    /// token.
    pub(super) fn into_refresh_token(self) -> Option<RefreshToken> {
        match self {
            Self::AsConfigured => None,
            Self::SamlRefresh(leg) => leg.into_output(),
        }
    }

    /// Polls the SAML trade, when there is one.
    pub(super) fn poll(&mut self, now: SystemTime) -> Result<Output<()>, Error> {
        match self {
            Self::AsConfigured => Ok(Output::Wait),
            Self::SamlRefresh(leg) => leg.poll(now, |_| Ok(())),
        }
    }

    /// Hands the SAML trade the answer to its request `id`.
    pub(super) fn handle_response(
        &mut self,
        now: SystemTime,
        id: TransmitId,
        response: HttpResponse,
    ) -> Result<(), Error> {
        match self {
            Self::AsConfigured => Err(Error::Misuse("response for a finished step")),
            Self::SamlRefresh(leg) => leg.handle_response(now, id, response),
        }
    }
}
