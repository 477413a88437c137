//! The cryptography boundary of the server side: signing and verifying JWS signatures.
//!
//! The core never touches key material. It builds the JOSE header and the JWS signing input
//! itself (RFC 7515 section 5.1), decides which algorithms are acceptable, chooses the key by
//! `kid`, and only then hands the exact signing input to a [`SignatureVerifier`] together with
//! the algorithm *it* decided on. A token's header can therefore never pick a key type
//! (RFC 8725 section 3.1). The `jwt` feature implements these traits in [`crate::jose`].

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use crate::SignerError;

/// Signs JWS with one private (or deliberately shared) key (RFC 7515 section 5.1).
pub trait TokenSigner: Send + Sync {
    /// The JWS `alg` this key produces (RFC 7518 section 3.1): `ES256`, `RS256`, ...
    fn algorithm(&self) -> &str;

    /// The `kid` to put in the header (RFC 7515 section 4.1.4), so verifiers can pick the key
    /// from a JWKS.
    fn kid(&self) -> Option<&str>;

    /// Signs the JWS signing input, `ASCII(BASE64URL(header) '.' BASE64URL(payload))`, and
    /// returns the raw signature bytes (RFC 7515 section 5.1 step 5).
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignerError>;
}

/// Why a [`SignatureVerifier`] refused a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The key is not for this algorithm: its `kty`, curve or `alg` does not match
    /// (RFC 7517 section 4.4, RFC 8725 section 3.1).
    #[error("the key is not for this algorithm")]
    AlgorithmMismatch,
    /// The signature does not verify.
    #[error("the signature does not verify")]
    InvalidSignature,
}

/// Verifies JWS signatures with one public (or deliberately shared) key.
pub trait SignatureVerifier: Send + Sync {
    /// Checks `signature` over the exact `signing_input` with `algorithm`. The algorithm was
    /// already checked against an allow-list by the caller; implementations must still refuse
    /// one their key is not for ([`VerifyError::AlgorithmMismatch`]) rather than adapt.
    fn verify(
        &self,
        algorithm: &str,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyError>;
}

/// The verification keys of one party (an IdP, a client), selected by `kid`.
///
/// The module never fetches keys (decisions.md D22): a token naming an unknown `kid` is rejected
/// with a typed `UnknownKey`, and the host may refetch the JWKS (rate-limited) into its key set
/// and retry.
pub trait KeySet: Send + Sync {
    /// The key named `kid`; for a token without `kid`, the only key when there is exactly one.
    fn select(&self, kid: Option<&str>) -> Option<Arc<dyn SignatureVerifier>>;
}

/// A [`KeySet`] the host can update while requests are being served: keep an `Arc<KeyRing>`,
/// hand a clone to the server, and [`replace`](KeyRing::replace) its keys after refetching a
/// JWKS (decisions.md D22).
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

/// The shared-key (HMAC) algorithms. They are refused unless deliberately enabled for one
/// issuer or client with [`AlgorithmAllowList::with_shared_key`] (protocol.md 3.3 step 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SharedKeyAlgorithm {
    /// HMAC with SHA-256.
    Hs256,
    /// HMAC with SHA-384.
    Hs384,
    /// HMAC with SHA-512.
    Hs512,
}

impl SharedKeyAlgorithm {
    /// The JWS `alg` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
        }
    }
}

/// The asymmetric algorithms accepted by default (RFC 7518 section 3.1).
const ASYMMETRIC: [&str; 8] = [
    "ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
];

/// An explicit list of acceptable JWS `alg` values (EMA section 7.4.1, RFC 8725 section 3.1).
///
/// `none` can never be on it, and the HMAC algorithms only through
/// [`with_shared_key`](Self::with_shared_key). Comparison is exact: `alg` values are
/// case-sensitive (RFC 7515 section 4.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlgorithmAllowList {
    algorithms: Vec<String>,
}

impl Default for AlgorithmAllowList {
    fn default() -> Self {
        Self::asymmetric()
    }
}

impl AlgorithmAllowList {
    /// ES256, ES384, RS256, RS384, RS512, PS256, PS384 and PS512.
    pub fn asymmetric() -> Self {
        Self::only(&ASYMMETRIC)
    }

    /// Exactly these algorithms. `none` and the `HS*` family are dropped: use
    /// [`with_shared_key`](Self::with_shared_key) to accept a shared key on purpose.
    pub fn only(algorithms: &[&str]) -> Self {
        let algorithms = algorithms
            .iter()
            .filter(|alg| !is_none_or_shared(alg))
            .map(|alg| (*alg).to_owned())
            .collect();
        Self { algorithms }
    }

    /// Also accepts a shared-key algorithm. Only for an issuer or client with which a secret
    /// was deliberately agreed; the key set must then hold that shared key.
    pub fn with_shared_key(mut self, algorithm: SharedKeyAlgorithm) -> Self {
        self.algorithms.push(algorithm.as_str().to_owned());
        self
    }

    /// Whether `alg` is on the list.
    pub fn allows(&self, alg: &str) -> bool {
        self.algorithms.iter().any(|allowed| allowed == alg)
    }

    /// The algorithms, in order (for `*_signing_alg_values_supported` metadata).
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.algorithms.iter().map(String::as_str)
    }
}

fn is_none_or_shared(alg: &str) -> bool {
    alg.eq_ignore_ascii_case("none")
        || alg
            .get(..2)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("HS"))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Accepts;

    impl SignatureVerifier for Accepts {
        fn verify(&self, _: &str, _: &[u8], _: &[u8]) -> Result<(), VerifyError> {
            Ok(())
        }
    }

    #[test]
    fn allow_list_never_holds_none_or_hmac_unless_asked() {
        let list = AlgorithmAllowList::only(&["ES256", "none", "HS256", "NONE", "hs512"]);
        assert!(list.allows("ES256"));
        assert!(!list.allows("none"));
        assert!(!list.allows("HS256"));
        assert!(!list.allows("es256"), "alg is case-sensitive");
        let list = list.with_shared_key(SharedKeyAlgorithm::Hs256);
        assert!(list.allows("HS256"));
        assert!(!AlgorithmAllowList::default().allows("HS256"));
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
