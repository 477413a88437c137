//! The device authorization grant (RFC 8628) as a [`Flow`](crate::Flow): the device
//! authorization request, then polls of the token endpoint no more often than the interval,
//! then the ID token's check (docs/signin.md, "Device authorization grant").
//!
//! A flow's outputs have no timer: between polls, [`DeviceSignIn`] answers
//! [`Output::Wait`](crate::Output::Wait) with no request outstanding, and
//! [`DeviceSignIn::next_poll_at`] says when to poll it again.

use std::time::{Duration, SystemTime};

use super::authorization_request::SignInOptions;
use super::device_authorization::DeviceAuthorization;
use super::engine::{GrantFlow, GrantStep, Verdict};
use super::id_token_check::IdTokenCheck;
use super::id_token_claims::IdTokenClaims;
use super::idp_endpoint::IdpEndpoint;
use super::keys::IdpKeys;
use super::provider::SignInClient;
use super::scope::requested_scope;
use super::session::SignIn;
use super::token_response::{Tokens, granted_tokens, json_body};
use crate::grant::TokenForm;
use crate::wire::token_endpoint_failure;
use crate::{Error, ErrorCode, Flow, HttpResponse, OAuthError, Output, Purpose, Scope, TransmitId};

/// The grant type of the token requests (RFC 8628 section 3.4).
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// How much `slow_down` lengthens the interval (RFC 8628 section 3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// How a device sign-in ended.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum DeviceOutcome {
    /// The person approved; the ID token was checked.
    SignedIn(Box<SignIn>),
    /// The person or the IdP's policy said no (`access_denied`, RFC 8628 section 3.5).
    Denied(OAuthError),
    /// The device code expired before the person approved (`expired_token`, RFC 8628 section
    /// 3.5, or its `expires_in` passed): start again.
    Expired,
}

/// The device authorization request (RFC 8628 section 3.1).
#[derive(Debug)]
struct AuthorizeStep {
    endpoint: IdpEndpoint,
    scope: Scope,
}

impl GrantStep for AuthorizeStep {
    type Output = DeviceAuthorization;

    fn endpoint(&self) -> &IdpEndpoint {
        &self.endpoint
    }

    fn form(&self) -> TokenForm<'_> {
        let mut form = TokenForm::default();
        form.push("scope", self.scope.to_string());
        form
    }

    fn judge(
        &mut self,
        now: SystemTime,
        response: HttpResponse,
    ) -> Result<Verdict<DeviceAuthorization>, Error> {
        let purpose = self.endpoint.purpose();
        if !response.status().is_success() {
            return Err(token_endpoint_failure(purpose, &response));
        }
        let invalid = |violation| Error::InvalidResponse { purpose, violation };
        let policy = &self.endpoint.policy;
        let body = json_body(&response, policy).map_err(invalid)?;
        DeviceAuthorization::from_json(body, now, policy)
            .map(Verdict::Done)
            .map_err(invalid)
    }
}

/// The polls of the token endpoint (RFC 8628 section 3.4). `Debug` prints the device code
/// `[redacted]`.
#[derive(Debug)]
struct PollStep {
    endpoint: IdpEndpoint,
    authorization: DeviceAuthorization,
    interval: Duration,
    next_poll_at: SystemTime,
}

impl PollStep {
    /// The next poll, `interval` after `now` (RFC 8628 section 3.5).
    fn wait(&mut self, now: SystemTime) -> Verdict<DeviceOutcome> {
        self.next_poll_at = crate::json::saturating_add(now, self.interval);
        Verdict::Again
    }
}

impl GrantStep for PollStep {
    type Output = DeviceOutcome;

    fn endpoint(&self) -> &IdpEndpoint {
        &self.endpoint
    }

    fn due_at(&self) -> Option<SystemTime> {
        Some(self.next_poll_at)
    }

    fn form(&self) -> TokenForm<'_> {
        let mut form = TokenForm::default();
        form.push("grant_type", DEVICE_CODE_GRANT_TYPE);
        form.push(
            "device_code",
            self.authorization.device_code.expose_secret(),
        );
        form
    }

    fn judge(
        &mut self,
        now: SystemTime,
        response: HttpResponse,
    ) -> Result<Verdict<DeviceOutcome>, Error> {
        let refusal = match granted_tokens(&self.endpoint, &response, true) {
            Ok(tokens) => return Ok(Verdict::Tokens(tokens)),
            Err(refusal) => refusal,
        };
        // A 2xx answer that could not be read carries no OAuth error: it fails here.
        let Some(error) = refusal.oauth_error() else {
            return Err(refusal);
        };
        match error.code.as_str() {
            "authorization_pending" => Ok(self.wait(now)),
            "slow_down" => {
                self.interval = self.interval.saturating_add(SLOW_DOWN_STEP);
                Ok(self.wait(now))
            }
            "expired_token" => Ok(Verdict::Done(DeviceOutcome::Expired)),
            _ if error.code == ErrorCode::AccessDenied => {
                Ok(Verdict::Done(DeviceOutcome::Denied(error.clone())))
            }
            _ => Err(refusal),
        }
    }

    fn finish(
        &mut self,
        now: SystemTime,
        tokens: Tokens,
        claims: Option<IdTokenClaims>,
    ) -> Result<DeviceOutcome, Error> {
        SignIn::from_tokens(now, tokens, claims)
            .map(|sign_in| DeviceOutcome::SignedIn(Box::new(sign_in)))
    }
}

/// What the polls need, kept until the device authorization answer arrives.
#[derive(Debug)]
struct PollSetup {
    endpoint: IdpEndpoint,
    check: IdTokenCheck,
}

#[derive(Debug)]
enum Stage {
    Authorizing(GrantFlow<AuthorizeStep>, Box<PollSetup>),
    Polling(GrantFlow<PollStep>),
    Failed(Error),
    Over,
}

/// The device authorization grant as a [`Flow`](crate::Flow). After the first response,
/// show [`authorization`](Self::authorization) to the person; whenever the flow answers
/// [`Output::Wait`] with no request outstanding, poll it again at
/// [`next_poll_at`](Self::next_poll_at).
#[derive(Debug)]
pub struct DeviceSignIn {
    stage: Stage,
}

impl DeviceSignIn {
    /// Starts a device sign-in at `client`'s IdP, asking for `openid` and `options.scope`
    /// (with `offline_access` when asked and listed). `max_age`, `prompt` and `login_hint`
    /// have no place in this grant and are not sent. The ID token is checked like the code
    /// flow's, without a `nonce` (none is sent).
    pub fn new(
        client: &SignInClient,
        keys: IdpKeys,
        options: &SignInOptions,
    ) -> Result<Self, Error> {
        let authorize_endpoint = IdpEndpoint::new(
            client,
            Purpose::DeviceAuthorization,
            "device_authorization_endpoint",
            client.metadata.device_authorization_endpoint.as_deref(),
        )?;
        let token_endpoint = IdpEndpoint::token(client, Purpose::DeviceToken)?;
        let check = IdTokenCheck::new(client, keys, client.id_token_expectations())?;
        let step = AuthorizeStep {
            endpoint: authorize_endpoint,
            scope: requested_scope(client, &options.scope, options.offline_access, true),
        };
        let setup = PollSetup {
            endpoint: token_endpoint,
            check,
        };
        Ok(Self {
            stage: Stage::Authorizing(GrantFlow::new(step, None), Box::new(setup)),
        })
    }

    /// What to show the person, once the IdP answered the device authorization request.
    pub fn authorization(&self) -> Option<&DeviceAuthorization> {
        match &self.stage {
            Stage::Polling(flow) => Some(&flow.step().authorization),
            _ => None,
        }
    }

    /// When the next poll is due, while the flow waits for it; `None` otherwise.
    pub fn next_poll_at(&self) -> Option<SystemTime> {
        match &self.stage {
            Stage::Polling(flow) => flow.due_at(),
            _ => None,
        }
    }

    /// The interval between polls now in force, `slow_down` included.
    pub fn interval(&self) -> Option<Duration> {
        match &self.stage {
            Stage::Polling(flow) => Some(flow.step().interval),
            _ => None,
        }
    }

    /// Moves on to polling once the device authorization answer is in.
    fn advance(&mut self, now: SystemTime) {
        let Stage::Authorizing(flow, _) = &mut self.stage else {
            return;
        };
        let answer = flow.poll_output(now);
        let ids = flow.ids();
        let previous = std::mem::replace(&mut self.stage, Stage::Over);
        let Stage::Authorizing(flow, setup) = previous else {
            return;
        };
        self.stage = match answer {
            Ok(Output::Done(authorization)) => {
                let PollSetup { endpoint, check } = *setup;
                let step = PollStep {
                    endpoint,
                    interval: authorization.interval,
                    // The first poll waits an interval too: nobody approves in less.
                    next_poll_at: crate::json::saturating_add(now, authorization.interval),
                    authorization,
                };
                Stage::Polling(GrantFlow::continuing(step, Some(check), ids))
            }
            Ok(_) => Stage::Authorizing(flow, setup),
            Err(error) => Stage::Failed(error),
        };
    }
}

impl Flow for DeviceSignIn {
    type Output = DeviceOutcome;

    fn poll_output(&mut self, now: SystemTime) -> Result<Output<DeviceOutcome>, Error> {
        match &mut self.stage {
            Stage::Authorizing(flow, _) => match flow.poll_output(now)? {
                Output::Transmit(transmit) => Ok(Output::Transmit(transmit)),
                _ => Ok(Output::Wait),
            },
            Stage::Polling(flow) => {
                let expired = flow
                    .due_at()
                    .is_some_and(|_| now >= flow.step().authorization.expires_at);
                if expired {
                    self.stage = Stage::Over;
                    return Ok(Output::Done(DeviceOutcome::Expired));
                }
                let output = flow.poll_output(now);
                if matches!(output, Ok(Output::Done(_)) | Err(_)) {
                    self.stage = Stage::Over;
                }
                output
            }
            Stage::Failed(_) => match std::mem::replace(&mut self.stage, Stage::Over) {
                Stage::Failed(error) => Err(error),
                _ => Err(Error::Misuse("device sign-in already finished")),
            },
            Stage::Over => Err(Error::Misuse("device sign-in already finished")),
        }
    }

    fn handle_response(
        &mut self,
        now: SystemTime,
        id: TransmitId,
        response: HttpResponse,
    ) -> Result<(), Error> {
        match &mut self.stage {
            Stage::Authorizing(flow, _) => {
                flow.handle_response(now, id, response)?;
                self.advance(now);
                Ok(())
            }
            Stage::Polling(flow) => flow.handle_response(now, id, response),
            Stage::Failed(_) | Stage::Over => Err(Error::Misuse(
                "response for a request that is not outstanding",
            )),
        }
    }
}
