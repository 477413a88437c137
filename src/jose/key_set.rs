//! The verification keys of one party, chosen by `kid` (RFC 7515 section 4.1.4).

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use super::verifier::SignatureVerifier;

/// The verification keys of one party (an IdP, a client), selected by `kid`.
///
/// Keys are never fetched here (decisions.md D22): a token naming an unknown `kid` is refused
/// with a typed error, and the host may refetch the JWKS (rate-limited) into its key set and
/// retry.
pub trait KeySet: Send + Sync {
    /// The key named `kid`; for a token without `kid`, the only key when there is exactly one.
    fn select(&self, kid: Option<&str>) -> Option<Arc<dyn SignatureVerifier>>;
}

/// A [`KeySet`] the host can update while requests are being served: keep an `Arc<KeyRing>`,
/// hand a clone to whoever verifies, and [`replace`](KeyRing::replace) its keys after
/// refetching a JWKS (decisions.md D22).
#[derive(Default)]
pub struct KeyRing {
    keys: RwLock<Vec<KeyEntry>>,
}

/// A key of a [`KeyRing`] and its `kid`.
type KeyEntry = (Option<String>, Arc<dyn SignatureVerifier>);

impl KeyRing {
    /// An empty ring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key, builder style.
    pub fn with_key(self, kid: Option<&str>, key: Arc<dyn SignatureVerifier>) -> Self {
        self.insert(kid, key);
        self
    }

    /// Adds a key. A key with the same `kid` is replaced.
    pub fn insert(&self, kid: Option<&str>, key: Arc<dyn SignatureVerifier>) {
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        keys.retain(|(existing, _)| existing.as_deref() != kid);
        keys.push((kid.map(str::to_owned), key));
    }

    /// Replaces every key at once, as after refetching a JWKS.
    pub fn replace(
        &self,
        keys: impl IntoIterator<Item = (Option<String>, Arc<dyn SignatureVerifier>)>,
    ) {
        let fresh: Vec<_> = keys.into_iter().collect();
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = fresh;
    }

    /// How many keys the ring holds.
    pub fn len(&self) -> usize {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether the ring holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl KeySet for KeyRing {
    fn select(&self, kid: Option<&str>) -> Option<Arc<dyn SignatureVerifier>> {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        match kid {
            Some(kid) => keys
                .iter()
                .find(|(existing, _)| existing.as_deref() == Some(kid))
                .map(|(_, key)| Arc::clone(key)),
            None if keys.len() == 1 => keys.first().map(|(_, key)| Arc::clone(key)),
            None => None,
        }
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.keys.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("KeyRing")
            .field("kids", &keys.iter().map(|(kid, _)| kid).collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::VerifyError;

    struct Accepts;

    impl SignatureVerifier for Accepts {
        fn verify(&self, _: &str, _: &[u8], _: &[u8]) -> Result<(), VerifyError> {
            Ok(())
        }
    }

    #[test]
    fn key_ring_selects_by_kid_and_sole_key() {
        let ring = KeyRing::new().with_key(Some("a"), Arc::new(Accepts));
        assert!(ring.select(Some("a")).is_some());
        assert!(ring.select(Some("b")).is_none());
        assert!(
            ring.select(None).is_some(),
            "the only key serves a token without kid"
        );
        ring.insert(Some("b"), Arc::new(Accepts));
        assert!(ring.select(None).is_none(), "ambiguous without kid");
        ring.replace([(
            Some("c".to_owned()),
            Arc::new(Accepts) as Arc<dyn SignatureVerifier>,
        )]);
        assert_eq!(ring.len(), 1);
        assert!(ring.select(Some("a")).is_none());
        assert_eq!(format!("{ring:?}"), "KeyRing { kids: [Some(\"c\")] }");
    }
}
