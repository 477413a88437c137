//! `jti` replay detection (decisions.md D23, EMA section 7.4.2, RFC 7523 section 3 rule 7).
//!
//! The store is shared by concurrent requests, so [`ReplayStore::register`] takes `&self` and
//! is an atomic check-and-insert: two simultaneous submissions of one `jti` cannot both pass.
//! With `&mut self` instead, the host would have to lock the whole server around every
//! request, serializing signature verification too.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use crate::constant_time_eq;
use crate::json::unix_seconds;
use crate::secret::Assertion;

/// What a re-used `jti` means (protocol.md Q3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayMode {
    /// Any second use of a `jti` is refused until the token expires (EMA section 7.4.2). Default.
    #[default]
    Strict,
    /// A byte-identical re-submission of the same token is accepted (ID-JAG draft section 4.4.3 lets a
    /// client re-submit an unexpired ID-JAG); a *different* token with the same `jti` is still
    /// refused.
    AllowIdenticalResubmission,
}

/// Which kind of token a `jti` belongs to, so an ID-JAG and a client assertion whose issuers
/// happen to be spelled alike never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TokenKind {
    /// An ID-JAG presented to the MCP authorization server.
    IdJag,
    /// A `private_key_jwt` client assertion (RFC 7523 section 2.2).
    ClientAssertion,
    /// A DPoP proof (RFC 9449 section 11.1), registered under the thumbprint of its key in
    /// place of an issuer.
    #[cfg(feature = "dpop")]
    DpopProof,
}

/// One use of a token, to be registered with a [`ReplayStore`]: what a handler hands the host
/// in its replay step ([`ReplayChecks`](super::ReplayChecks), decisions.md D29).
///
/// It carries the compact token itself only under [`ReplayMode::AllowIdenticalResubmission`],
/// where the store must tell an identical re-submission from a different token with the same
/// `jti`; under [`ReplayMode::Strict`] it carries none. The core has no hash function (it is
/// crypto-free), so the store digests the token if it keeps anything of it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenUse {
    /// The kind of token.
    pub kind: TokenKind,
    /// Its `iss`; for a DPoP proof, the JWK thumbprint of its key (RFC 9449 section 6.1).
    pub issuer: String,
    /// Its `jti`.
    pub jti: String,
    /// Seconds since the epoch until which the token could still be accepted: its `exp` plus
    /// the clock skew. The entry must be kept that long.
    pub retain_until: u64,
    /// What a re-used `jti` means for this token.
    pub mode: ReplayMode,
    /// The whole compact token, under [`ReplayMode::AllowIdenticalResubmission`] only.
    token: Option<Assertion>,
}

impl TokenUse {
    /// One use of `token`, whose `kind`, `issuer` and `jti` are given, to be remembered until
    /// `retain_until` (seconds since the epoch). The token is kept only when `mode` is
    /// [`ReplayMode::AllowIdenticalResubmission`].
    pub fn new(
        kind: TokenKind,
        issuer: impl Into<String>,
        jti: impl Into<String>,
        token: &str,
        retain_until: u64,
        mode: ReplayMode,
    ) -> Self {
        let token = (mode == ReplayMode::AllowIdenticalResubmission).then(|| Assertion::new(token));
        Self {
            kind,
            issuer: issuer.into(),
            jti: jti.into(),
            retain_until,
            mode,
            token,
        }
    }

    /// The compact token, to compare a re-submission with: `Some` only under
    /// [`ReplayMode::AllowIdenticalResubmission`]. A store keeping it should keep a digest.
    pub fn token_for_comparison(&self) -> Option<&Assertion> {
        self.token.as_ref()
    }

    /// Whether this use is of `(kind, issuer, jti)`.
    pub(crate) fn same_key(&self, kind: TokenKind, issuer: &str, jti: &str) -> bool {
        self.kind == kind && self.issuer == issuer && self.jti == jti
    }
}

impl fmt::Debug for TokenUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenUse")
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("jti", &self.jti)
            .field("retain_until", &self.retain_until)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Why a [`ReplayStore`] refused a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The `jti` was used before and the mode does not accept this use.
    #[error("the jti was already used")]
    Replayed,
    /// The store is full of unexpired entries; accepting would mean forgetting one.
    #[error("the replay store is full")]
    Full,
    /// The store could not answer (a shared store out of reach): the token is refused, since
    /// accepting it could accept a replay (fail closed, decisions.md D29).
    #[error("the replay store could not answer")]
    Unavailable,
}

/// Remembers `(kind, iss, jti)` until the token can no longer be accepted.
pub trait ReplayStore: Send + Sync {
    /// Records this use under its [`mode`](TokenUse::mode), or refuses it. Must be atomic
    /// with respect to concurrent calls.
    fn register(&self, token: &TokenUse, now: SystemTime) -> Result<(), ReplayError>;
}

type Key = (TokenKind, String, String);

struct Entry {
    /// The token, kept only when registered under
    /// [`ReplayMode::AllowIdenticalResubmission`] (zeroized on drop).
    token: Option<Assertion>,
}

#[derive(Default)]
struct Entries {
    by_key: HashMap<Key, Entry>,
    by_expiry: BTreeSet<(u64, Key)>,
}

impl Entries {
    /// Forgets every entry whose time has passed.
    fn evict_expired(&mut self, now: u64) {
        while let Some(first) = self.by_expiry.first() {
            if first.0 > now {
                break;
            }
            if let Some((_, key)) = self.by_expiry.pop_first() {
                self.by_key.remove(&key);
            }
        }
    }
}

/// A bounded in-memory [`ReplayStore`]. Entries are evicted once `retain_until` has passed;
/// when every slot holds an unexpired entry, new tokens are refused ([`ReplayError::Full`])
/// rather than forgetting one that could then be replayed.
///
/// Memory: one entry per accepted `jti`; under
/// [`ReplayMode::AllowIdenticalResubmission`] the entry also keeps the token to compare.
pub struct InMemoryReplayStore {
    capacity: usize,
    entries: Mutex<Entries>,
}

impl InMemoryReplayStore {
    /// The default capacity: 10 000 live entries.
    pub const DEFAULT_CAPACITY: usize = 10_000;

    /// A store for at most `capacity` live entries.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// How many entries are held (expired ones included until the next registration).
    pub fn len(&self) -> usize {
        self.lock().by_key.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // accepts a replay: at worst an entry is missing from the expiry index and lives on.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for InMemoryReplayStore {
    fn default() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }
}

impl fmt::Debug for InMemoryReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryReplayStore")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl ReplayStore for InMemoryReplayStore {
    fn register(&self, token: &TokenUse, now: SystemTime) -> Result<(), ReplayError> {
        let now = unix_seconds(now);
        let mode = token.mode;
        let mut entries = self.lock();
        entries.evict_expired(now);
        let key: Key = (token.kind, token.issuer.clone(), token.jti.clone());
        if let Some(existing) = entries.by_key.get(&key) {
            let identical = existing
                .token
                .as_ref()
                .zip(token.token_for_comparison())
                .is_some_and(|(kept, presented)| {
                    constant_time_eq(
                        kept.expose_secret().as_bytes(),
                        presented.expose_secret().as_bytes(),
                    )
                });
            return match mode {
                ReplayMode::AllowIdenticalResubmission if identical => Ok(()),
                _ => Err(ReplayError::Replayed),
            };
        }
        if entries.by_key.len() >= self.capacity {
            return Err(ReplayError::Full);
        }
        let kept = token.token_for_comparison().cloned();
        entries.by_expiry.insert((token.retain_until, key.clone()));
        entries.by_key.insert(key, Entry { token: kept });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn use_of(jti: &str, token: &str, retain_until: u64, mode: ReplayMode) -> TokenUse {
        TokenUse::new(
            TokenKind::IdJag,
            "https://idp",
            jti,
            token,
            retain_until,
            mode,
        )
    }

    #[test]
    fn strict_refuses_until_eviction() {
        let store = InMemoryReplayStore::default();
        assert_eq!(
            store.register(&use_of("a", "t", 100, ReplayMode::Strict), at(10)),
            Ok(())
        );
        assert_eq!(
            store.register(&use_of("a", "t", 100, ReplayMode::Strict), at(99)),
            Err(ReplayError::Replayed)
        );
        assert_eq!(
            store.register(&use_of("a", "t", 100, ReplayMode::Strict), at(100)),
            Ok(())
        );
    }

    #[test]
    fn identical_resubmission_only_when_asked_and_identical() {
        let store = InMemoryReplayStore::default();
        let mode = ReplayMode::AllowIdenticalResubmission;
        assert_eq!(
            store.register(&use_of("a", "t1", 100, mode), at(10)),
            Ok(())
        );
        assert_eq!(
            store.register(&use_of("a", "t1", 100, mode), at(11)),
            Ok(())
        );
        assert_eq!(
            store.register(&use_of("a", "t2", 100, mode), at(12)),
            Err(ReplayError::Replayed)
        );
        assert_eq!(
            store.register(&use_of("a", "t1", 100, ReplayMode::Strict), at(13)),
            Err(ReplayError::Replayed)
        );
    }

    #[test]
    fn kinds_do_not_collide() {
        let store = InMemoryReplayStore::default();
        assert_eq!(
            store.register(&use_of("a", "t", 100, ReplayMode::Strict), at(10)),
            Ok(())
        );
        let mut other = use_of("a", "t", 100, ReplayMode::Strict);
        other.kind = TokenKind::ClientAssertion;
        assert_eq!(store.register(&other, at(10)), Ok(()));
    }

    #[test]
    fn bounded_refuses_when_full_and_frees_on_expiry() {
        let store = InMemoryReplayStore::with_capacity(1);
        assert_eq!(
            store.register(&use_of("a", "t", 100, ReplayMode::Strict), at(10)),
            Ok(())
        );
        assert_eq!(
            store.register(&use_of("b", "t", 100, ReplayMode::Strict), at(10)),
            Err(ReplayError::Full)
        );
        assert_eq!(
            store.register(&use_of("b", "t", 200, ReplayMode::Strict), at(100)),
            Ok(())
        );
        assert_eq!(store.len(), 1);
    }
}
