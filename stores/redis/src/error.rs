//! What can go wrong between the stores and Redis, and in their configuration.

use redis::{ErrorKind, RedisError};

/// Why a store operation did not complete.
///
/// Whatever the variant, the operation's effect is unknown: a token read or write may be
/// treated as a miss by the caller, but a replay check must fail closed (refuse the token).
/// The messages carry no text from the server; the underlying [`RedisError`], when there is
/// one, is the [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Redis could not be reached, or the connection broke during the command.
    #[error("Redis could not be reached or the connection broke")]
    Unreachable(#[source] RedisError),
    /// Redis did not answer within the response timeout.
    #[error("Redis did not answer in time")]
    TimedOut(#[source] RedisError),
    /// Redis answered the command with an error (a full memory, a read-only replica, a script
    /// refused, an authentication failure, ...).
    #[error("Redis refused the command")]
    Refused(#[source] RedisError),
    /// The client could not complete the command for a reason of its own: a reply it could
    /// not parse, an invalid configuration, a refused protocol version.
    #[error("the Redis client could not complete the command")]
    Client(#[source] RedisError),
    /// Redis answered with a reply of a type the command never returns.
    #[error("Redis answered {command} with a reply of an unexpected type")]
    UnexpectedReply {
        /// The command or script that was answered.
        command: &'static str,
    },
    /// Redis closed the subscription a waiter was listening on.
    #[error("Redis closed the subscription to the lease's channel")]
    SubscriptionClosed,
    /// The token could not be sealed (the encryption or the random nonce failed).
    #[error("the token could not be sealed for storage")]
    Sealing,
}

impl From<RedisError> for StoreError {
    fn from(error: RedisError) -> Self {
        if error.is_timeout() {
            Self::TimedOut(error)
        } else if error.is_io_error() || error.is_connection_dropped() {
            Self::Unreachable(error)
        } else if matches!(
            error.kind(),
            ErrorKind::Server(_) | ErrorKind::Extension | ErrorKind::AuthenticationFailed
        ) {
            Self::Refused(error)
        } else {
            Self::Client(error)
        }
    }
}

/// Why a store could not be configured.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A sealing key must be exactly 32 bytes: AES-256.
    #[error("a sealing key must be 32 bytes long (AES-256), this one has {0}")]
    KeyLength(usize),
    /// Two sealing keys share an id, so a value's key id would not tell which key sealed it.
    #[error("two sealing keys have the id {0}: every key needs its own id")]
    DuplicateKeyId(u16),
    /// The system's random source failed while generating a key.
    #[error("the system's random source failed")]
    Randomness,
    /// A key prefix must be 1 to 64 printable ASCII characters, without spaces.
    #[error("a key prefix must be 1 to 64 printable ASCII characters without spaces")]
    Prefix,
}
