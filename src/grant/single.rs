//! The one-request flow shared by every token request: build, send once, judge the answer.

use std::time::SystemTime;

use crate::flow::TransmitIds;
use crate::{Error, Flow, HttpRequest, HttpResponse, Output, Purpose, Transmit, TransmitId};

/// One token-endpoint request: how to build it and how to judge the answer.
pub(crate) trait TokenStep {
    type Output;
    fn purpose(&self) -> Purpose;
    fn request(&self, now: SystemTime) -> Result<HttpRequest, Error>;
    fn response(&self, now: SystemTime, response: HttpResponse) -> Result<Self::Output, Error>;
}

/// Drives a [`TokenStep`] through the [`Flow`] contract.
#[derive(Debug)]
pub(crate) struct Single<S: TokenStep> {
    step: S,
    state: State<S::Output>,
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
        }
    }

    pub(crate) fn step(&self) -> &S {
        &self.step
    }
}

impl<S: TokenStep> Flow for Single<S> {
    type Output = S::Output;

    fn poll_output(&mut self, now: SystemTime) -> Result<Output<S::Output>, Error> {
        match std::mem::replace(&mut self.state, State::Returned) {
            State::Ready => {
                let request = self.step.request(now)?;
                let id = TransmitIds::default().allocate();
                self.state = State::InFlight(id);
                Ok(Output::Transmit(Transmit {
                    id,
                    purpose: self.step.purpose(),
                    request,
                }))
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
                self.state = State::Finished(self.step.response(now, response));
                Ok(())
            }
            _ => Err(Error::Misuse(
                "response for a request that is not outstanding",
            )),
        }
    }
}

/// Implements [`Flow`] for a public newtype over [`Single`].
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
