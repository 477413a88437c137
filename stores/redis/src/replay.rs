//! A `jti` replay store shared by every replica of an authorization server (decisions.md D23,
//! RFC 7523 section 3 rule 7: a `jti` may be used only once).
//!
//! One use is registered as `SET <prefix>:jti:<digest> <value> NX EXAT <retain_until>`: the
//! first `SET` wins, every later one sees the key and is a replay, until the token can no
//! longer be accepted and Redis forgets the key. The digest covers the kind of token, its
//! issuer and its `jti`, so no name carries them in clear.

use std::sync::LazyLock;

use redis::{ConnectionLike, Script, Value, aio, cmd};
use xaa::server::{ReplayChecks, ReplayError, ReplayMode, ReplayVerdict, TokenUse};

use crate::digest::Digest;
use crate::error::StoreError;
use crate::prefix::KeyPrefix;
use crate::request::{Request, ScriptCall};

/// The value of an entry registered under [`ReplayMode::Strict`]: it never equals a token
/// digest, so no later use matches it.
const STRICT_ENTRY: &str = "1";

/// `KEYS[1]` the entry, `ARGV[1]` the token's digest, `ARGV[2]` the expiry (seconds since the
/// epoch). Registers the use, or accepts it when the entry holds the same digest: 1 accepted,
/// 0 replayed.
static REGISTER_ALLOWING_IDENTICAL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EXAT', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
",
    )
});

/// Why a use was not registered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayRefusal {
    /// The `jti` was used before and the mode does not accept this use.
    #[error("the jti was already used")]
    Replayed,
    /// Redis could not tell: the caller must refuse the token (fail closed), since accepting
    /// it could accept a replay.
    #[error("the replay check could not be made")]
    Unavailable(#[source] StoreError),
}

impl ReplayRefusal {
    /// The core's reading: [`ReplayError::Replayed`], or [`ReplayError::Unavailable`] for a
    /// Redis that could not answer.
    pub fn into_replay_error(self) -> ReplayError {
        match self {
            Self::Replayed => ReplayError::Replayed,
            Self::Unavailable(_) => ReplayError::Unavailable,
        }
    }
}

/// Remembers each `(kind, issuer, jti)` in Redis until the token can no longer be accepted.
#[derive(Clone, Debug, Default)]
pub struct RedisReplayStore {
    prefix: KeyPrefix,
}

impl RedisReplayStore {
    /// A store writing under `prefix`.
    pub fn new(prefix: KeyPrefix) -> Self {
        Self { prefix }
    }

    /// Performs a server handler's replay step (`xaa::server`, decisions.md D29): registers
    /// each use of `checks` in order, stopping at the first refusal, and returns the verdicts
    /// to finish the request with. A Redis that cannot answer gives
    /// [`ReplayError::Unavailable`], which the handler refuses (fail closed).
    pub fn check(
        &self,
        connection: &mut impl ConnectionLike,
        checks: &ReplayChecks,
    ) -> Vec<ReplayVerdict> {
        checks.check_with(|token_use| {
            self.register(connection, token_use)
                .map_err(ReplayRefusal::into_replay_error)
        })
    }

    /// [`RedisReplayStore::check`] over an async connection.
    pub async fn check_async<C: aio::ConnectionLike + Send>(
        &self,
        connection: &mut C,
        checks: &ReplayChecks,
    ) -> Vec<ReplayVerdict> {
        let mut run = checks.run();
        while let Some(token_use) = run.next_use() {
            let answer = self.register_async(connection, token_use).await;
            run.record(answer.map_err(ReplayRefusal::into_replay_error));
        }
        run.into_verdicts()
    }

    /// Records `token`'s use under its mode, or refuses it as a replay. Atomic across every
    /// replica: of two simultaneous uses of one `jti`, one only is accepted (strict mode).
    pub fn register(
        &self,
        connection: &mut impl ConnectionLike,
        token: &TokenUse,
    ) -> Result<(), ReplayRefusal> {
        let reply = self
            .register_request(token)
            .run(connection)
            .map_err(ReplayRefusal::Unavailable)?;
        read_registration(reply)
    }

    /// [`RedisReplayStore::register`] over an async connection.
    pub async fn register_async<C: aio::ConnectionLike + Send>(
        &self,
        connection: &mut C,
        token: &TokenUse,
    ) -> Result<(), ReplayRefusal> {
        let reply = self
            .register_request(token)
            .run_async(connection)
            .await
            .map_err(ReplayRefusal::Unavailable)?;
        read_registration(reply)
    }

    fn register_request(&self, token: &TokenUse) -> Request {
        let key = self
            .prefix
            .jti_key(&Digest::of_jti(token.kind, &token.issuer, &token.jti));
        // Redis refuses an expiry of 0; a time in the past stores nothing, and the token is
        // then past accepting anyway.
        let expiry = token.retain_until.max(1);
        match (token.mode, token.token_for_comparison()) {
            (ReplayMode::AllowIdenticalResubmission, Some(compared)) => {
                Request::Script(ScriptCall {
                    script: &REGISTER_ALLOWING_IDENTICAL,
                    keys: vec![key],
                    args: vec![
                        Digest::of_token(compared.expose_secret()).to_hex().into(),
                        expiry.to_string().into(),
                    ],
                })
            }
            // Strict, and any mode this crate does not know yet: the strictest reading.
            _ => {
                let mut set = cmd("SET");
                set.arg(key)
                    .arg(STRICT_ENTRY)
                    .arg("NX")
                    .arg("EXAT")
                    .arg(expiry);
                Request::Command(set)
            }
        }
    }
}

/// `OK` or 1: registered; nil or 0: replayed.
fn read_registration(reply: Value) -> Result<(), ReplayRefusal> {
    match reply {
        Value::Okay | Value::Int(1) => Ok(()),
        Value::Nil | Value::Int(0) => Err(ReplayRefusal::Replayed),
        _ => Err(ReplayRefusal::Unavailable(StoreError::UnexpectedReply {
            command: "the jti registration",
        })),
    }
}
