//! How a host's replay verdicts can fail to answer the uses it was given (decisions.md D29).

/// How the verdicts a host handed back fail to answer the uses it was given: a fault of the
/// host, answered `server_error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerdictFault {
    /// There must be one verdict per use.
    #[error("the replay step needs one verdict per use: {uses} uses, {verdicts} verdicts")]
    Count {
        /// How many uses were listed.
        uses: usize,
        /// How many verdicts came back.
        verdicts: usize,
    },
    /// The verdict at this position answers another use: verdicts come in the order of the
    /// uses.
    #[error("the replay verdict at position {position} answers another use")]
    OtherUse {
        /// Its position, from 0.
        position: usize,
    },
    /// A use may be skipped only after a refused one.
    #[error("the use at position {position} was skipped though no use before it was refused")]
    SkippedWithoutRefusal {
        /// Its position, from 0.
        position: usize,
    },
}
