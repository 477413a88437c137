//! A `jti` replay store shared by every replica of an authorization server (decisions.md D23,
//! RFC 7523 section 3 rule 7: a `jti` may be used only once).
//!
//! One use is registered as `SET <prefix>:jti:<digest> <value> NX EXAT <retain_until>`: the
//! first `SET` wins, every later one sees the key and is a replay, until the token can no
//! longer be accepted and Redis forgets the key. The digest covers the kind of token, its
//! issuer and its `jti`, so no name carries them in clear.

use std::sync::LazyLock;

use redis::{ConnectionLike, Script, Value, aio, cmd};
use xaa::server::{ReplayMode, TokenKind, TokenUse};

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

/// One use of a token, as registered: what [`TokenUse`] tells, in a form any caller can build.
#[derive(Clone, Copy)]
pub struct JtiUse<'a> {
    /// The kind of token.
    pub kind: TokenKind,
    /// Its `iss`; for a DPoP proof, the JWK thumbprint of its key.
    pub issuer: &'a str,
    /// Its `jti`.
    pub jti: &'a str,
    /// The whole compact token, compared (as a digest) only under
    /// [`ReplayMode::AllowIdenticalResubmission`].
    pub token: &'a str,
    /// Seconds since the epoch until which the token could still be accepted (its `exp` plus
    /// the clock skew): the entry is kept that long.
    pub retain_until: u64,
}

impl<'a> From<&TokenUse<'a>> for JtiUse<'a> {
    fn from(use_: &TokenUse<'a>) -> Self {
        Self {
            kind: use_.kind,
            issuer: use_.issuer,
            jti: use_.jti,
            token: use_.token,
            retain_until: use_.retain_until,
        }
    }
}

impl std::fmt::Debug for JtiUse<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JtiUse")
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("jti", &self.jti)
            .field("retain_until", &self.retain_until)
            .finish_non_exhaustive()
    }
}

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

    /// Records `token`'s use, or refuses it as a replay. Atomic across every replica: of two
    /// simultaneous uses of one `jti`, one only is accepted (strict mode).
    pub fn register(
        &self,
        connection: &mut impl ConnectionLike,
        token: &JtiUse<'_>,
        mode: ReplayMode,
    ) -> Result<(), ReplayRefusal> {
        let reply = self
            .register_request(token, mode)
            .run(connection)
            .map_err(ReplayRefusal::Unavailable)?;
        read_registration(reply)
    }

    /// [`RedisReplayStore::register`] over an async connection.
    pub async fn register_async<C: aio::ConnectionLike + Send>(
        &self,
        connection: &mut C,
        token: &JtiUse<'_>,
        mode: ReplayMode,
    ) -> Result<(), ReplayRefusal> {
        let reply = self
            .register_request(token, mode)
            .run_async(connection)
            .await
            .map_err(ReplayRefusal::Unavailable)?;
        read_registration(reply)
    }

    fn register_request(&self, token: &JtiUse<'_>, mode: ReplayMode) -> Request {
        let key = self
            .prefix
            .jti_key(&Digest::of_jti(token.kind, token.issuer, token.jti));
        // Redis refuses an expiry of 0; a time in the past stores nothing, and the token is
        // then past accepting anyway.
        let expiry = token.retain_until.max(1);
        match mode {
            ReplayMode::AllowIdenticalResubmission => Request::Script(ScriptCall {
                script: &REGISTER_ALLOWING_IDENTICAL,
                keys: vec![key],
                args: vec![Digest::of_token(token.token).to_hex(), expiry.to_string()],
            }),
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
