//! Server-supplied DPoP nonces (RFC 9449 sections 8 and 9): the current nonce, the previous
//! one still accepted for a grace period after a rotation, and rotation at a time passed in.
//!
//! The core draws no random values: each nonce comes from a caller-supplied
//! [`JtiSource`](crate::JtiSource), which must give unpredictable values (section 8: the nonce
//! limits how long a proof made in advance stays usable, so a client must not be able to guess
//! the next one) made of the characters a nonce may hold (section 8.1: visible ASCII without
//! `"` and `\`), as the base64url values of `xaa::jose::RandomJti` are.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use crate::JtiSource;

/// How long a nonce stays current by default before it is rotated.
const DEFAULT_ROTATION: Duration = Duration::from_secs(300);

/// How long the previous nonce stays accepted after a rotation by default: a client that
/// fetched it just before the rotation can still use it once.
const DEFAULT_GRACE: Duration = Duration::from_secs(60);

/// The nonces one server supplies in `DPoP-Nonce` and requires in proofs (RFC 9449 sections
/// 8 and 9). Shared by reference (`Arc`) between the endpoints of one server; each server
/// should have its own, since a nonce is chosen by the server that checks it.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::{Duration, SystemTime};
/// use xaa::server::DpopNonces;
///
/// let counter = AtomicU32::new(0);
/// // A real server draws each nonce from a random source.
/// let nonces = DpopNonces::new(Arc::new(move || {
///     format!("nonce-{}", counter.fetch_add(1, Ordering::Relaxed))
/// }));
/// let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
/// assert_eq!(nonces.current(start), "nonce-0");
/// // Five minutes later it rotates; the previous one is accepted for one more minute.
/// let later = start + Duration::from_secs(300);
/// assert_eq!(nonces.current(later), "nonce-1");
/// assert!(nonces.accepts("nonce-0", later));
/// assert!(!nonces.accepts("nonce-0", later + Duration::from_secs(61)));
/// ```
pub struct DpopNonces {
    source: Arc<dyn JtiSource>,
    rotation: Duration,
    grace: Duration,
    state: Mutex<Option<NonceState>>,
}

/// The nonces in use, from the first call on.
struct NonceState {
    current: String,
    current_since: SystemTime,
    previous: Option<String>,
}

/// The nonces a proof may carry at one moment: the current one, and the previous one while
/// its grace period lasts.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AcceptedNonces {
    pub(crate) current: String,
    pub(crate) previous: Option<String>,
}

impl DpopNonces {
    /// Nonces drawn from `source`, each current for 5 minutes, the previous one accepted for
    /// 1 minute after a rotation.
    pub fn new(source: Arc<dyn JtiSource>) -> Self {
        Self {
            source,
            rotation: DEFAULT_ROTATION,
            grace: DEFAULT_GRACE,
            state: Mutex::new(None),
        }
    }

    /// Rotates the nonce every `rotation` (RFC 9449 section 8.2 leaves the period to the
    /// server).
    pub fn with_rotation(mut self, rotation: Duration) -> Self {
        self.rotation = rotation;
        self
    }

    /// Accepts the previous nonce for `grace` after a rotation; zero accepts only the
    /// current one.
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The nonce to supply at `now`, rotating first if it has been current for the rotation
    /// period.
    pub fn current(&self, now: SystemTime) -> String {
        self.accepted(now).current
    }

    /// Rotates now, whatever the period: the current nonce becomes the previous one. Returns
    /// the new nonce.
    pub fn rotate(&self, now: SystemTime) -> String {
        let mut state = self.lock();
        let next = self.source.next_jti();
        let previous = state.take().map(|old| old.current);
        *state = Some(NonceState {
            current: next.clone(),
            current_since: now,
            previous,
        });
        next
    }

    /// Whether a proof carrying `nonce` is accepted at `now`: the current nonce, or the
    /// previous one within its grace period.
    pub fn accepts(&self, nonce: &str, now: SystemTime) -> bool {
        let accepted = self.accepted(now);
        crate::constant_time_eq(nonce.as_bytes(), accepted.current.as_bytes())
            || accepted.previous.is_some_and(|previous| {
                crate::constant_time_eq(nonce.as_bytes(), previous.as_bytes())
            })
    }

    /// The nonces accepted at `now`, rotating first when due.
    pub(crate) fn accepted(&self, now: SystemTime) -> AcceptedNonces {
        let mut guard = self.lock();
        let state = match guard.take() {
            Some(state) if elapsed(state.current_since, now) < self.rotation => state,
            old => NonceState {
                current: self.source.next_jti(),
                current_since: now,
                previous: old.map(|old| old.current),
            },
        };
        let accepted = AcceptedNonces {
            current: state.current.clone(),
            previous: state
                .previous
                .clone()
                .filter(|_| elapsed(state.current_since, now) < self.grace),
        };
        *guard = Some(state);
        accepted
    }

    /// The state; a panic elsewhere while it was held leaves it consistent (each update is a
    /// single assignment), so a poisoned lock is taken as it is.
    fn lock(&self) -> MutexGuard<'_, Option<NonceState>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How long from `since` to `now`; zero when the clock went back.
fn elapsed(since: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(since).unwrap_or_default()
}

impl fmt::Debug for DpopNonces {
    /// The periods only: the nonces themselves stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopNonces")
            .field("rotation", &self.rotation)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn counting() -> DpopNonces {
        let counter = AtomicU32::new(0);
        DpopNonces::new(Arc::new(move || {
            format!("n{}", counter.fetch_add(1, Ordering::Relaxed))
        }))
        .with_rotation(Duration::from_secs(100))
        .with_grace(Duration::from_secs(10))
    }

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn the_nonce_rotates_after_its_period_and_the_previous_one_has_a_grace_period() {
        let nonces = counting();
        assert_eq!(nonces.current(at(1000)), "n0");
        assert_eq!(nonces.current(at(1099)), "n0");
        assert!(!nonces.accepts("n1", at(1099)));
        assert_eq!(nonces.current(at(1100)), "n1");
        assert!(nonces.accepts("n0", at(1109)));
        assert!(!nonces.accepts("n0", at(1110)));
        assert!(nonces.accepts("n1", at(1110)));
    }

    #[test]
    fn a_forced_rotation_keeps_the_previous_nonce_for_the_grace_period() {
        let nonces = counting().with_grace(Duration::ZERO);
        assert_eq!(nonces.current(at(1000)), "n0");
        assert_eq!(nonces.rotate(at(1001)), "n1");
        assert!(!nonces.accepts("n0", at(1001)));
        assert_eq!(nonces.current(at(1001)), "n1");
    }

    #[test]
    fn a_clock_that_goes_back_does_not_rotate() {
        let nonces = counting();
        assert_eq!(nonces.current(at(1000)), "n0");
        assert_eq!(nonces.current(at(10)), "n0");
    }

    #[test]
    fn debug_shows_no_nonce() {
        let nonces = counting();
        let _ = nonces.current(at(1000));
        assert!(!format!("{nonces:?}").contains("n0"));
    }
}
