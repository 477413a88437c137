//! The replay step (decisions.md D29): a handler does not call a replay store; it hands the
//! host the `jti` uses a request awaits ([`ReplayChecks`]), the host registers them with any
//! store (in memory, shared, blocking or async) and hands back one [`ReplayVerdict`] per use,
//! and the handler finishes.
//!
//! The uses are listed only once every other check has passed, so a request refused for
//! another reason uses nothing up. They come in the order the checks ran (a DPoP proof, then a
//! client assertion, then the ID-JAG); [`ReplayChecks::check_with`] stops at the first refusal
//! and marks the rest [skipped](ReplayVerdict::skipped), so a replayed proof does not burn
//! the ID-JAG it came with.
//!
//! A host cannot finish without a verdict for every use: finishing compares the verdicts with
//! the uses, one for one and in order, and refuses a missing, extra, reordered or unwarranted
//! verdict as a fault of the host ([`VerdictFault`], `server_error`), never by panicking.

use std::time::SystemTime;

use super::rejection::{RejectReason, Rejection};
use super::replay::{ReplayError, ReplayStore, TokenKind, TokenUse};
use super::token_fault::TokenFault;
use super::verdict_fault::VerdictFault;
use crate::display_safety::sanitize;

/// The `jti` uses a request awaits, in the order to register them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayChecks {
    uses: Vec<TokenUse>,
}

impl ReplayChecks {
    /// Adds a use, after the ones already listed.
    pub(crate) fn push(&mut self, token_use: TokenUse) {
        self.uses.push(token_use);
    }

    /// Adds `later`'s uses, after the ones already listed.
    pub(crate) fn append(&mut self, later: ReplayChecks) {
        self.uses.extend(later.uses);
    }

    /// The uses, in the order to register them.
    pub fn uses(&self) -> &[TokenUse] {
        &self.uses
    }

    /// Registers each use with `register`, in order, and stops at the first refusal: the
    /// uses after it are [skipped](ReplayVerdict::skipped), left unused for a later request.
    /// `register` is the host's store call; an async host drives a [`ReplayRun`] instead.
    pub fn check_with(
        &self,
        mut register: impl FnMut(&TokenUse) -> Result<(), ReplayError>,
    ) -> Vec<ReplayVerdict> {
        let mut run = self.run();
        while let Some(token_use) = run.next_use() {
            run.record(register(token_use));
        }
        run.into_verdicts()
    }

    /// The registration loop as steps, for a host that awaits its store: ask
    /// [`next_use`](ReplayRun::next_use), register it, [`record`](ReplayRun::record) the
    /// answer, until there is no next use; then [`into_verdicts`](ReplayRun::into_verdicts).
    pub fn run(&self) -> ReplayRun<'_> {
        ReplayRun {
            uses: &self.uses,
            verdicts: Vec::with_capacity(self.uses.len()),
            refused: false,
        }
    }

    /// [`check_with`](Self::check_with) a synchronous [`ReplayStore`], such as the
    /// [`InMemoryReplayStore`](super::InMemoryReplayStore).
    pub fn check_in(&self, store: &dyn ReplayStore, now: SystemTime) -> Vec<ReplayVerdict> {
        self.check_with(|token_use| store.register(token_use, now))
    }

    /// Matches `verdicts` with the uses: `Ok` when every use was registered, else the first
    /// refusal, or the host's fault when the verdicts do not answer the uses one for one.
    pub(crate) fn settle(&self, verdicts: &[ReplayVerdict]) -> Result<(), Unsettled<'_>> {
        if verdicts.len() != self.uses.len() {
            return Err(Unsettled::Host(VerdictFault::Count {
                uses: self.uses.len(),
                verdicts: verdicts.len(),
            }));
        }
        let mut refusal = None;
        for (position, (token_use, verdict)) in self.uses.iter().zip(verdicts).enumerate() {
            if !token_use.same_key(verdict.kind, &verdict.issuer, &verdict.jti) {
                return Err(Unsettled::Host(VerdictFault::OtherUse { position }));
            }
            match (verdict.answer, refusal) {
                (Answer::Skipped, None) => {
                    return Err(Unsettled::Host(VerdictFault::SkippedWithoutRefusal {
                        position,
                    }));
                }
                (Answer::Refused(error), None) => refusal = Some((token_use, error)),
                _ => {}
            }
        }
        match refusal {
            None => Ok(()),
            Some((token_use, error)) => Err(Unsettled::Refused { token_use, error }),
        }
    }
}

/// The registration of a [`ReplayChecks`]' uses, one at a time, stopping at the first refusal.
#[derive(Debug)]
pub struct ReplayRun<'a> {
    uses: &'a [TokenUse],
    verdicts: Vec<ReplayVerdict>,
    refused: bool,
}

impl<'a> ReplayRun<'a> {
    /// The use to register now: `None` once every use is answered or one was refused.
    pub fn next_use(&self) -> Option<&'a TokenUse> {
        if self.refused {
            return None;
        }
        self.uses.get(self.verdicts.len())
    }

    /// The store's answer for the use [`next_use`](Self::next_use) gave. An answer with no use
    /// awaiting it is ignored: it answers nothing.
    pub fn record(&mut self, answer: Result<(), ReplayError>) {
        if let Some(token_use) = self.next_use() {
            self.refused = answer.is_err();
            self.verdicts.push(ReplayVerdict::new(token_use, answer));
        }
    }

    /// The verdicts, the uses after a refusal marked skipped. A use never answered has no
    /// verdict, and finishing then refuses the request as the host's fault.
    pub fn into_verdicts(mut self) -> Vec<ReplayVerdict> {
        if self.refused {
            let answered = self.verdicts.len();
            self.verdicts
                .extend(self.uses.iter().skip(answered).map(ReplayVerdict::skipped));
        }
        self.verdicts
    }
}

/// The store's answer for one use, as the host hands it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayVerdict {
    kind: TokenKind,
    issuer: String,
    jti: String,
    answer: Answer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Registered,
    Refused(ReplayError),
    Skipped,
}

impl ReplayVerdict {
    /// The store's answer for `token_use`: `Ok` registered, or why it was refused. A store
    /// that could not answer gives [`ReplayError::Unavailable`]: the request is refused.
    pub fn new(token_use: &TokenUse, answer: Result<(), ReplayError>) -> Self {
        Self::with_answer(
            token_use,
            match answer {
                Ok(()) => Answer::Registered,
                Err(error) => Answer::Refused(error),
            },
        )
    }

    /// `token_use` was not registered because a use before it was refused. Accepted only
    /// after a refusal.
    pub fn skipped(token_use: &TokenUse) -> Self {
        Self::with_answer(token_use, Answer::Skipped)
    }

    /// Whether the use was registered.
    pub fn is_registered(&self) -> bool {
        self.answer == Answer::Registered
    }

    fn with_answer(token_use: &TokenUse, answer: Answer) -> Self {
        Self {
            kind: token_use.kind,
            issuer: token_use.issuer.clone(),
            jti: token_use.jti.clone(),
            answer,
        }
    }
}

/// Why the verdicts do not let the request finish.
pub(crate) enum Unsettled<'a> {
    /// The store refused this use.
    Refused {
        token_use: &'a TokenUse,
        error: ReplayError,
    },
    /// The verdicts do not answer the uses.
    Host(VerdictFault),
}

impl Unsettled<'_> {
    /// The rejection a token endpoint answers with: a replayed `jti` is the fault of the token
    /// it belongs to (`invalid_grant`, `invalid_client`, `invalid_dpop_proof`), a full or
    /// unreachable store is `temporarily_unavailable` (decisions.md D23, D29). A refused DPoP
    /// proof supplies `dpop_nonce`, the server's current nonce, as every proof refusal does.
    #[cfg_attr(not(feature = "dpop"), allow(unused_variables))]
    pub(crate) fn rejection(&self, dpop_nonce: Option<&str>) -> Box<Rejection> {
        let (token_use, error) = match self {
            Self::Host(fault) => return RejectReason::ReplayVerdicts(*fault).into(),
            Self::Refused { token_use, error } => (token_use, *error),
        };
        let replayed = || TokenFault::Replayed {
            jti: sanitize(&token_use.jti),
        };
        let reason = match (error, token_use.kind) {
            (ReplayError::Unavailable, _) => RejectReason::ReplayStoreUnavailable,
            #[cfg(feature = "dpop")]
            (ReplayError::Replayed, TokenKind::DpopProof) => {
                return proof_refusal(super::DpopError::Replayed, dpop_nonce);
            }
            #[cfg(feature = "dpop")]
            (ReplayError::Full, TokenKind::DpopProof) => {
                return proof_refusal(super::DpopError::ReplayStoreFull, dpop_nonce);
            }
            (ReplayError::Full, _) => RejectReason::ReplayCacheFull,
            (ReplayError::Replayed, TokenKind::ClientAssertion) => {
                RejectReason::ClientAssertion(replayed())
            }
            (ReplayError::Replayed, _) => RejectReason::IdJag(replayed()),
        };
        reason.into()
    }
}

/// The refusal of a DPoP proof, with the server's current nonce when it supplies nonces.
#[cfg(feature = "dpop")]
fn proof_refusal(error: super::DpopError, dpop_nonce: Option<&str>) -> Box<Rejection> {
    let mut rejection = Rejection::new(RejectReason::DpopProof(error));
    rejection.dpop_nonce = dpop_nonce.map(str::to_owned);
    Box::new(rejection)
}
