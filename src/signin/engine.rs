//! The one state machine behind every sign-in request: send a request to the IdP, judge the
//! answer, and when it carries an ID token, check it, fetching the IdP's keys once if needed.
//! The code exchange, the device grant's polls, the refresh and the revocation are each a
//! [`GrantStep`] run by [`GrantFlow`], and each public flow is a newtype over its `GrantFlow`
//! made a [`Flow`] by `crate::grant::single_flow!`, as the token grants' are over `Single`.

use std::time::SystemTime;

use super::id_token_check::{Attempt, IdTokenCheck};
use super::id_token_claims::IdTokenClaims;
use super::idp_endpoint::IdpEndpoint;
use super::token_response::Tokens;
use crate::echo_guard::EchoGuard;
use crate::flow::TransmitIds;
use crate::grant::TokenForm;
use crate::{Error, Flow, HttpResponse, Output, Purpose, TransmitId};

/// What a step made of an answer.
pub(crate) enum Verdict<T> {
    /// Tokens: check the ID token, when there is one, then [`GrantStep::finish`].
    Tokens(Tokens),
    /// Ask again, no earlier than [`GrantStep::due_at`] (a pending device authorization).
    Again,
    /// Finished without tokens to check.
    Done(T),
}

/// One form POST to the IdP: where it goes, what it says and how to judge the answer.
pub(crate) trait GrantStep {
    type Output;
    /// The endpoint the form is posted to, the client authenticated there.
    fn endpoint(&self) -> &IdpEndpoint;
    /// The form's parameters.
    fn form(&self) -> TokenForm<'_>;
    /// No request is sent before this time.
    fn due_at(&self) -> Option<SystemTime> {
        None
    }
    fn judge(
        &mut self,
        now: SystemTime,
        response: HttpResponse,
    ) -> Result<Verdict<Self::Output>, Error>;
    /// The output, from tokens whose ID token (if any) was accepted with `claims`. A step
    /// whose [`judge`](Self::judge) never answers [`Verdict::Tokens`] keeps this default.
    fn finish(
        &mut self,
        _now: SystemTime,
        _tokens: Tokens,
        _claims: Option<IdTokenClaims>,
    ) -> Result<Self::Output, Error> {
        Err(Error::Misuse("this sign-in answer carries no tokens"))
    }
}

#[derive(Debug)]
enum State<T> {
    Ready,
    Requesting(TransmitId),
    NeedKeys(Tokens),
    FetchingKeys(TransmitId, Tokens),
    Finished(Result<T, Error>),
    Returned,
}

/// Drives a [`GrantStep`] through the [`Flow`] contract.
#[derive(Debug)]
pub(crate) struct GrantFlow<S: GrantStep> {
    step: S,
    check: Option<IdTokenCheck>,
    ids: TransmitIds,
    state: State<S::Output>,
    /// The secrets of the request in flight, kept out of an error answer that echoes them.
    echoes: EchoGuard,
}

impl<S: GrantStep> GrantFlow<S> {
    /// A flow whose answers carry no ID token to check (`check` is `None`) or do.
    pub(crate) fn new(step: S, check: Option<IdTokenCheck>) -> Self {
        Self::continuing(step, check, TransmitIds::default())
    }

    /// A flow that goes on numbering transmits where an earlier stage stopped.
    pub(crate) fn continuing(step: S, check: Option<IdTokenCheck>, ids: TransmitIds) -> Self {
        Self {
            step,
            check,
            ids,
            state: State::Ready,
            echoes: EchoGuard::default(),
        }
    }

    pub(crate) fn step(&self) -> &S {
        &self.step
    }

    /// The transmit numbering, for the next stage.
    pub(crate) fn ids(&self) -> TransmitIds {
        self.ids.clone()
    }

    /// When the next request is due, while one is waiting to be sent.
    pub(crate) fn due_at(&self) -> Option<SystemTime> {
        match self.state {
            State::Ready => self.step.due_at(),
            _ => None,
        }
    }

    /// Checks the ID token of `tokens`, if any, and finishes; or asks for keys first.
    fn conclude(&mut self, now: SystemTime, tokens: Tokens, may_fetch: bool) -> State<S::Output> {
        let purpose = self.step.endpoint().purpose();
        let (Some(check), Some(id_token)) = (&self.check, &tokens.id_token) else {
            return State::Finished(self.step.finish(now, tokens, None));
        };
        match check.attempt(purpose, id_token, now, may_fetch) {
            Ok(Attempt::Accepted(claims)) => {
                State::Finished(self.step.finish(now, tokens, Some(claims)))
            }
            Ok(Attempt::NeedKeys) => State::NeedKeys(tokens),
            Err(error) => State::Finished(Err(error)),
        }
    }
}

impl<S: GrantStep> Flow for GrantFlow<S> {
    type Output = S::Output;

    fn poll_output(&mut self, now: SystemTime) -> Result<Output<S::Output>, Error> {
        match std::mem::replace(&mut self.state, State::Returned) {
            State::Ready => {
                if self.step.due_at().is_some_and(|due| now < due) {
                    self.state = State::Ready;
                    return Ok(Output::Wait);
                }
                let endpoint = self.step.endpoint();
                let request = endpoint.post(self.step.form(), now)?;
                self.echoes = EchoGuard::of(&request);
                let transmit = self.ids.transmit(endpoint.purpose(), request);
                self.state = State::Requesting(transmit.id);
                Ok(Output::Transmit(transmit))
            }
            State::NeedKeys(tokens) => {
                let Some(check) = &self.check else {
                    return Err(Error::Misuse("keys wanted without an ID token check"));
                };
                let transmit = self.ids.transmit(Purpose::IdpKeys, check.keys_request());
                self.state = State::FetchingKeys(transmit.id, tokens);
                Ok(Output::Transmit(transmit))
            }
            state @ (State::Requesting(_) | State::FetchingKeys(..)) => {
                self.state = state;
                Ok(Output::Wait)
            }
            State::Finished(outcome) => outcome.map(Output::Done),
            State::Returned => Err(Error::Misuse("sign-in request already finished")),
        }
    }

    fn handle_response(
        &mut self,
        now: SystemTime,
        id: TransmitId,
        response: HttpResponse,
    ) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Returned) {
            State::Requesting(expected) if expected == id => {
                let response = self.echoes.scrub(response);
                self.state = match self.step.judge(now, response) {
                    Ok(Verdict::Tokens(tokens)) => self.conclude(now, tokens, true),
                    Ok(Verdict::Again) => State::Ready,
                    Ok(Verdict::Done(output)) => State::Finished(Ok(output)),
                    Err(error) => State::Finished(Err(error)),
                };
                Ok(())
            }
            State::FetchingKeys(expected, tokens) if expected == id => {
                let loaded = match &self.check {
                    Some(check) => check.keys_response(&response),
                    None => Err(Error::Misuse("keys fetched without an ID token check")),
                };
                self.state = match loaded {
                    Ok(()) => self.conclude(now, tokens, false),
                    Err(error) => State::Finished(Err(error)),
                };
                Ok(())
            }
            state => {
                self.state = state;
                Err(Error::Misuse(
                    "response for a request that is not outstanding",
                ))
            }
        }
    }
}
