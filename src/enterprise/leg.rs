//! [`Leg`]: one step flow inside [`EnterpriseAuth`](super::EnterpriseAuth), pending, running
//! or done.

use std::time::SystemTime;

use crate::{Error, Flow, HttpResponse, Output, TransmitId};

/// One step [`Flow`] of the composed flow.
#[derive(Debug)]
pub(super) enum Leg<F: Flow> {
    /// Not started: what it needs is not known yet.
    Pending,
    /// Started. Boxed: the step flows differ much in size, their outputs less.
    Running(Box<F>),
    /// Finished, with what it produced.
    Done(F::Output),
}

impl<F: Flow> Leg<F> {
    /// A leg that runs `flow`.
    pub(super) fn start(flow: F) -> Self {
        Self::Running(Box::new(flow))
    }

    /// Whether it has not started yet.
    pub(super) fn is_pending(&self) -> bool {
        matches!(self, Self::Pending)
    }

    /// What it produced, once done.
    pub(super) fn output(&self) -> Option<&F::Output> {
        match self {
            Self::Done(output) => Some(output),
            Self::Pending | Self::Running(_) => None,
        }
    }

    /// What it produced, once done.
    pub(super) fn into_output(self) -> Option<F::Output> {
        match self {
            Self::Done(output) => Some(output),
            Self::Pending | Self::Running(_) => None,
        }
    }

    /// Polls a running leg. A pending or done leg has nothing to send: [`Output::Wait`]. When
    /// the step finishes, `finished` judges its output first; the leg then keeps it and this
    /// call, the only one to do so, returns [`Output::Done`]. An error (the step's or
    /// `finished`'s) leaves the leg running: the caller ends the flow or restarts the leg.
    pub(super) fn poll(
        &mut self,
        now: SystemTime,
        finished: impl FnOnce(&F::Output) -> Result<(), Error>,
    ) -> Result<Output<()>, Error> {
        let Self::Running(flow) = self else {
            return Ok(Output::Wait);
        };
        match flow.poll_output(now) {
            Ok(Output::Transmit(transmit)) => Ok(Output::Transmit(transmit)),
            Ok(Output::Wait) => Ok(Output::Wait),
            Ok(Output::Done(output)) => {
                finished(&output)?;
                *self = Self::Done(output);
                Ok(Output::Done(()))
            }
            Err(error) => Err(error),
        }
    }

    /// Hands a running leg the answer to its request `id`.
    pub(super) fn handle_response(
        &mut self,
        now: SystemTime,
        id: TransmitId,
        response: HttpResponse,
    ) -> Result<(), Error> {
        match self {
            Self::Running(flow) => flow.handle_response(now, id, response),
            Self::Pending | Self::Done(_) => Err(Error::Misuse("response for a finished step")),
        }
    }
}
