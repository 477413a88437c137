//! Which leg each request of [`EnterpriseAuth`](super::EnterpriseAuth) belongs to: the flow
//! hands out its own [`TransmitId`]s and routes each answer back to the leg that asked.

use super::step::Step;
use crate::flow::TransmitIds;
use crate::{Error, Transmit, TransmitId};

#[derive(Debug)]
struct Route {
    /// The id the caller sees.
    outer: TransmitId,
    step: Step,
    /// The id the leg gave the request.
    inner: TransmitId,
}

/// The requests handed out and not yet answered.
#[derive(Debug, Default)]
pub(super) struct Routes {
    ids: TransmitIds,
    outstanding: Vec<Route>,
    /// Requests of legs that finished without them (a speculative fetch that was not needed, a
    /// re-submission that was refused): their answers are accepted and dropped.
    abandoned: Vec<TransmitId>,
}

impl Routes {
    /// Gives a leg's request the flow's next id and remembers where its answer goes.
    pub(super) fn route(&mut self, step: Step, transmit: Transmit) -> Transmit {
        debug_assert!(step.purposes().contains(&transmit.purpose));
        let outer = self.ids.allocate();
        self.outstanding.push(Route {
            outer,
            step,
            inner: transmit.id,
        });
        tracing::debug!(purpose = %transmit.purpose, transmit_id = outer.get(), method = %transmit.request.method(), "request ready");
        Transmit {
            id: outer,
            ..transmit
        }
    }

    /// Abandons the outstanding requests of `step`, which finished without them.
    pub(super) fn abandon(&mut self, step: Step) {
        let abandoned = &mut self.abandoned;
        self.outstanding.retain(|route| {
            let gone = route.step == step;
            if gone {
                abandoned.push(route.outer);
            }
            !gone
        });
    }

    /// Where the answer to `id` goes: the leg and its own id, or `None` for an abandoned
    /// request. An id that is not outstanding is [`Error::Misuse`].
    pub(super) fn answer(&mut self, id: TransmitId) -> Result<Option<(Step, TransmitId)>, Error> {
        if let Some(position) = self.abandoned.iter().position(|a| *a == id) {
            self.abandoned.swap_remove(position);
            return Ok(None);
        }
        let position = self
            .outstanding
            .iter()
            .position(|r| r.outer == id)
            .ok_or(Error::Misuse(
                "response for a request that is not outstanding",
            ))?;
        let route = self.outstanding.swap_remove(position);
        Ok(Some((route.step, route.inner)))
    }
}
