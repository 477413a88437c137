//! The one-request flow shared by every token request: build, send, judge the answer. With a
//! DPoP binding the request carries a proof, and a nonce demand gets exactly one retry with the
//! server's nonce (RFC 9449 section 8).

use std::time::SystemTime;

use crate::dpop_hook::{Binding, TokenAnswer};
use crate::echo_guard::EchoGuard;
use crate::flow::TransmitIds;
use crate::{DpopRefusal, Error, Flow, HttpRequest, HttpResponse, Output, Purpose, TransmitId};

/// One token-endpoint request: how to build it and how to judge the answer.
pub(crate) trait TokenStep {
    type Output;
    fn purpose(&self) -> Purpose;
    fn request(&self, now: SystemTime) -> Result<HttpRequest, Error>;
    /// Judges the answer; `proof` is the binding whose proof went with the request, if any.
    fn response(
        &self,
        now: SystemTime,
        response: HttpResponse,
        proof: Option<&Binding>,
    ) -> Result<Self::Output, Error>;
}

/// Drives a [`TokenStep`] through the [`Flow`] contract.
#[derive(Debug)]
pub(crate) struct Single<S: TokenStep> {
    step: S,
    state: State<S::Output>,
    /// The key whose proof goes with the request (RFC 9449 section 5).
    dpop: Option<Binding>,
    ids: TransmitIds,
    /// The request in flight, kept to learn the server's nonce from its answer.
    uri: Option<http::Uri>,
    /// Whether the one retry with a server's nonce was spent.
    nonce_retried: bool,
    /// The secrets of the request in flight, kept out of an error answer that echoes them.
    echoes: EchoGuard,
}

#[derive(Debug)]
enum State<T> {
    Ready,
    InFlight(TransmitId),
    Finished(Result<T, Error>),
    Returned,
}

impl<S: TokenStep> Single<S> {
    pub(crate) fn new(step: S) -> Self {
        Self {
            step,
            state: State::Ready,
            dpop: None,
            ids: TransmitIds::default(),
            uri: None,
            nonce_retried: false,
            echoes: EchoGuard::default(),
        }
    }

    /// Sends a DPoP proof made with `binding` with the request.
    pub(crate) fn with_dpop(mut self, binding: Binding) -> Self {
        self.dpop = Some(binding);
        self
    }

    /// The refusal of `refusal` by this step.
    fn dpop_error(&self, refusal: DpopRefusal) -> Error {
        Error::Dpop {
            purpose: Some(self.step.purpose()),
            refusal,
        }
    }

    /// The judgement of `response`, or a retry when it is the server's first nonce demand.
    fn judge(&mut self, now: SystemTime, response: HttpResponse) -> State<S::Output> {
        let response = self.echoes.scrub(response);
        if let (Some(dpop), Some(uri)) = (&self.dpop, &self.uri) {
            match dpop.token_answer(uri, &response) {
                TokenAnswer::RetryWithNonce if !self.nonce_retried => {
                    self.nonce_retried = true;
                    return State::Ready;
                }
                TokenAnswer::RetryWithNonce => {
                    return State::Finished(Err(self.dpop_error(DpopRefusal::NonceLoop)));
                }
                TokenAnswer::NonceMissing => {
                    return State::Finished(Err(self.dpop_error(DpopRefusal::NonceMissing)));
                }
                TokenAnswer::Judge => {}
            }
        }
        State::Finished(self.step.response(now, response, self.dpop.as_ref()))
    }

    pub(crate) fn step(&self) -> &S {
        &self.step
    }

    pub(crate) fn step_mut(&mut self) -> &mut S {
        &mut self.step
    }
}

impl<S: TokenStep> Flow for Single<S> {
    type Output = S::Output;

    fn poll_output(&mut self, now: SystemTime) -> Result<Output<S::Output>, Error> {
        match std::mem::replace(&mut self.state, State::Returned) {
            State::Ready => {
                let mut request = self.step.request(now)?;
                if let Some(dpop) = &self.dpop {
                    dpop.attach_token_proof(&mut request, now)
                        .map_err(|refusal| self.dpop_error(refusal))?;
                }
                self.uri = Some(request.uri().clone());
                self.echoes = EchoGuard::of(&request);
                let transmit = self.ids.transmit(self.step.purpose(), request);
                self.state = State::InFlight(transmit.id);
                Ok(Output::Transmit(transmit))
            }
            State::InFlight(id) => {
                self.state = State::InFlight(id);
                Ok(Output::Wait)
            }
            State::Finished(outcome) => outcome.map(Output::Done),
            State::Returned => Err(Error::Misuse("token request already finished")),
        }
    }

    fn handle_response(
        &mut self,
        now: SystemTime,
        id: TransmitId,
        response: HttpResponse,
    ) -> Result<(), Error> {
        match self.state {
            State::InFlight(expected) if expected == id => {
                self.state = self.judge(now, response);
                Ok(())
            }
            _ => Err(Error::Misuse(
                "response for a request that is not outstanding",
            )),
        }
    }
}

/// Implements [`Flow`] for a public newtype over a [`Flow`]: a [`Single`] here, the sign-in
/// flows' `GrantFlow` in `crate::signin`.
macro_rules! single_flow {
    ($name:ident, $output:ty) => {
        impl $crate::Flow for $name {
            type Output = $output;

            fn poll_output(
                &mut self,
                now: std::time::SystemTime,
            ) -> Result<$crate::Output<$output>, $crate::Error> {
                self.0.poll_output(now)
            }

            fn handle_response(
                &mut self,
                now: std::time::SystemTime,
                id: $crate::TransmitId,
                response: $crate::HttpResponse,
            ) -> Result<(), $crate::Error> {
                self.0.handle_response(now, id, response)
            }
        }
    };
}
pub(crate) use single_flow;
