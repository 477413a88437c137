//! The subject token the token exchange presents at the IdP, and the leg that may prepare
//! it: the SAML trade (protocol.md 2.7 option B, decisions.md D15), or the renewal of a
//! signed-in session with its refresh token (feature `signin`, docs/signin.md).

use std::time::SystemTime;

use super::config::{EnterpriseConfig, GrantSource, SamlMode};
use super::leg::Leg;
use crate::discovery::{AuthServerDiscovered, UrlGuard};
use crate::grant::{SamlRefreshExchange, SamlRefreshRequest, SubjectToken};
use crate::{Error, HttpResponse, Output, RefreshToken, TransmitId};

#[cfg(feature = "signin")]
use super::config::IdpEndpoint;
#[cfg(feature = "signin")]
use crate::signin::{Refresh, SessionRenewal, SignInClient};
#[cfg(feature = "signin")]
use crate::{Purpose, Violation};

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
    /// The signed-in person's session renewed with its refresh token at the IdP (OpenID
    /// Connect Core 1.0 section 12): the refresh starts once the IdP's metadata is known, the
    /// exchange waits for it and presents the renewed ID token.
    #[cfg(feature = "signin")]
    SessionRenewal(Box<Renewing>),
}

/// A session renewal under way. Boxed in [`Subject`]: a finished refresh holds every token of
/// the IdP's answer.
#[cfg(feature = "signin")]
#[derive(Debug)]
pub(super) struct Renewing {
    /// What to renew; its sink is called once, when the refresh lands.
    renewal: SessionRenewal,
    /// Whether the sink has been called.
    delivered: bool,
    leg: Leg<Refresh>,
}

impl Subject {
    /// What `config` asks for. A session renewal needs an IdP configured by issuer: its
    /// metadata names the `jwks_uri` the renewed ID token is checked against.
    pub(super) fn new(config: &EnterpriseConfig) -> Result<Self, Error> {
        #[cfg(feature = "signin")]
        if let (Some(renewal), GrantSource::Enterprise { idp, .. }) =
            (&config.renewal, &config.grant)
        {
            if let IdpEndpoint::TokenEndpoint(_) = idp.endpoint {
                return Err(Error::Config(
                    "renewing a session needs the IdP configured by its issuer: its metadata \
                     names the keys a renewed ID token is checked against"
                        .into(),
                ));
            }
            return Ok(Self::SessionRenewal(Box::new(Renewing {
                renewal: renewal.clone(),
                delivered: false,
                leg: Leg::Pending,
            })));
        }
        Ok(match &config.grant {
            GrantSource::Enterprise {
                idp,
                subject: SubjectToken::Saml2(_),
            } if idp.saml == SamlMode::ExchangeForRefreshToken => Self::SamlRefresh(Leg::Pending),
            GrantSource::Enterprise { .. } | GrantSource::Assertion(_) => Self::AsConfigured,
        })
    }

    /// Starts the SAML trade once the IdP's token endpoint is known: configured, or named by
    /// its `discovered` metadata.
    pub(super) fn advance(
        &mut self,
        config: &EnterpriseConfig,
        discovered: Option<&AuthServerDiscovered>,
        guard: &UrlGuard,
    ) -> Result<(), Error> {
        #[cfg(feature = "signin")]
        if let Self::SessionRenewal(renewing) = self {
            return renewing.start(config, discovered);
        }
        let grant = &config.grant;
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
            #[cfg(feature = "signin")]
            Self::SessionRenewal(renewing) => renewing
                .leg
                .output()
                .and_then(|renewal| renewal.id_token.as_ref())
                .map(|(id_token, _)| SubjectToken::IdToken(id_token.clone())),
        }
    }

    /// The IdP refresh token the SAML trade gave, for the caller to keep as its next subject
    /// token.
    pub(super) fn into_refresh_token(self) -> Option<RefreshToken> {
        match self {
            Self::AsConfigured => None,
            Self::SamlRefresh(leg) => leg.into_output(),
            #[cfg(feature = "signin")]
            Self::SessionRenewal { .. } => None,
        }
    }

    /// Polls the SAML trade, when there is one.
    pub(super) fn poll(&mut self, now: SystemTime) -> Result<Output<()>, Error> {
        match self {
            Self::AsConfigured => Ok(Output::Wait),
            Self::SamlRefresh(leg) => leg.poll(now, |_| Ok(())),
            #[cfg(feature = "signin")]
            Self::SessionRenewal(renewing) => renewing.poll(now),
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
            #[cfg(feature = "signin")]
            Self::SessionRenewal(renewing) => renewing.leg.handle_response(now, id, response),
        }
    }
}

#[cfg(feature = "signin")]
impl Renewing {
    /// Starts the refresh once the IdP's metadata is known (its issuer already checked by
    /// discovery): the sign-in client of that IdP, with the exchange's own credentials there.
    fn start(
        &mut self,
        config: &EnterpriseConfig,
        discovered: Option<&AuthServerDiscovered>,
    ) -> Result<(), Error> {
        let (Leg::Pending, Some(discovered), GrantSource::Enterprise { idp, .. }) =
            (&self.leg, discovered, &config.grant)
        else {
            return Ok(());
        };
        let mut client = SignInClient::new(
            (*discovered.metadata).clone(),
            idp.credentials.clone(),
            &config.policy,
        )?;
        if let Some(algorithms) = &self.renewal.algorithms {
            client = client.with_algorithms(algorithms.clone())?;
        }
        self.leg = Leg::start(Refresh::new(
            &client,
            self.renewal.keys.clone(),
            self.renewal.refresh_token.clone(),
            self.renewal.previous.clone(),
            self.renewal.scope.as_ref(),
        )?);
        Ok(())
    }

    /// Polls the refresh. When it lands, the session takes the renewal at once, before
    /// anything else can fail: the refresh token may have rotated, and the old one is then
    /// void (RFC 9700 section 4.14.2). A renewal without an ID token gives the exchange no
    /// subject token: refused.
    fn poll(&mut self, now: SystemTime) -> Result<Output<()>, Error> {
        let Self {
            renewal,
            delivered,
            leg,
        } = self;
        leg.poll(now, |renewed| {
            if !*delivered {
                *delivered = true;
                (renewal.sink)(renewed);
            }
            match renewed.id_token {
                Some(_) => Ok(()),
                None => Err(Error::InvalidResponse {
                    purpose: Purpose::Refresh,
                    violation: Violation::MissingField("id_token"),
                }),
            }
        })
    }
}
