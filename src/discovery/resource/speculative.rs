//! The speculative fetch of [`ResourceDiscovery`](super::ResourceDiscovery)
//! ([`Policy::speculative_resource_metadata`](crate::Policy), off by default): the first
//! well-known metadata URL fetched together with the probe, which saves a round trip when the
//! probe's challenge points there or nowhere. Whether it is wanted is known only once the
//! probe is answered (protocol.md 2.2: a challenge's `resource_metadata` pointer is fetched and
//! nothing else).

use crate::HttpResponse;
use crate::discovery::urls::ResourceCandidate;

/// The speculative fetch, from the moment it is queued.
#[derive(Debug)]
pub(super) enum SpeculativeFetch {
    /// No answer yet, and not yet known to be wanted.
    Awaited(ResourceCandidate),
    /// Answered before the probe decided whether it is wanted: the answer is held until then.
    Held(ResourceCandidate, HttpResponse),
    /// The probe decided on another candidate: the answer is dropped whenever it comes.
    Unwanted(ResourceCandidate),
}

/// What the probe's decision makes of a speculative fetch.
#[derive(Debug)]
pub(super) enum Settled {
    /// It fetched the first candidate: its answer, held or still to come, is judged like any
    /// other, and nothing else is fetched for that candidate.
    Wanted(Option<(ResourceCandidate, HttpResponse)>),
    /// It fetched another URL: the first candidate is fetched, and the fetch is kept to drop
    /// its answer.
    Unwanted(SpeculativeFetch),
}

impl SpeculativeFetch {
    /// Its answer came before the probe decided.
    pub(super) fn answered(self, response: HttpResponse) -> Self {
        match self {
            Self::Awaited(candidate) => Self::Held(candidate, response),
            settled => settled,
        }
    }

    /// Settles the fetch now that the probe decided `first` is the first candidate. A fetch
    /// already found unwanted stays so.
    pub(super) fn settle(self, first: &ResourceCandidate) -> Settled {
        match self {
            Self::Awaited(candidate) if candidate == *first => Settled::Wanted(None),
            Self::Held(candidate, response) if candidate == *first => {
                Settled::Wanted(Some((candidate, response)))
            }
            Self::Awaited(candidate) | Self::Held(candidate, _) | Self::Unwanted(candidate) => {
                Settled::Unwanted(Self::Unwanted(candidate))
            }
        }
    }

    /// Whether an answer for `candidate` is this fetch's, found unwanted.
    pub(super) fn drops(&self, candidate: &ResourceCandidate) -> bool {
        matches!(self, Self::Unwanted(unwanted) if unwanted == candidate)
    }
}
