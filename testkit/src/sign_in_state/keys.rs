//! The keys the IdP signs sign-in ID tokens with, and their rotation: a new key with a new
//! `kid`, the previous one kept in the JWKS or dropped from it, so a client's refetch on an
//! unknown `kid` can be tested.
//!
//! Every rotated key is also added to the key ring the kit's token exchange and
//! authorization server trust for the IdP, so an ID token signed after a rotation is still a
//! valid subject token. ID-JAGs and [`Testkit::id_token`](crate::Testkit::id_token) keep the
//! key of the start.

use std::sync::{Arc, PoisonError, RwLock};

use xaa::jose::{Jwks, KeyError, KeyRing, SigningKey, TokenSigner};

/// The current signing key and the keys the JWKS publishes.
pub(crate) struct SigningKeys {
    keys: RwLock<Keys>,
}

struct Keys {
    current: SigningKey,
    /// Newest first; always holds `current`.
    published: Vec<SigningKey>,
    rotations: u32,
}

impl SigningKeys {
    /// `key` signs and is the only key published.
    pub(crate) fn new(key: SigningKey) -> Self {
        Self {
            keys: RwLock::new(Keys {
                published: vec![key.clone()],
                current: key,
                rotations: 0,
            }),
        }
    }

    /// The key that signs ID tokens now.
    pub(crate) fn current(&self) -> SigningKey {
        self.read().current.clone()
    }

    /// The JWKS document: the published keys' public halves, newest first.
    pub(crate) fn jwks(&self) -> Jwks {
        let keys = self.read();
        Jwks::new(
            keys.published
                .iter()
                .map(|key| key.public_jwk().clone())
                .collect(),
        )
    }

    /// Generates a new ES256 key, signs with it from now on, publishes it first, keeps the
    /// previous keys published when `keep_previous` (else publishes only the new one), and
    /// adds it to `trusted`. Returns the new `kid`.
    pub(crate) fn rotate(
        &self,
        keep_previous: bool,
        trusted: &KeyRing,
    ) -> Result<String, KeyError> {
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        let kid = format!("xaa-testkit-idp-key-{}", keys.rotations + 2);
        let key = SigningKey::generate_es256(kid.as_str())?;
        trusted.insert(Some(kid.as_str()), Arc::new(key.verifying_key()?));
        keys.rotations += 1;
        if !keep_previous {
            keys.published.clear();
        }
        keys.published.insert(0, key.clone());
        keys.current = key;
        Ok(kid)
    }

    /// The `kid` of the current key.
    pub(crate) fn current_kid(&self) -> Option<String> {
        self.read().current.kid().map(str::to_owned)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }
}
