//! What the IdP's sign-in side remembers (issued codes, refresh-token families, device
//! grants, pending transactions) and its ID-token signing keys: the state the kit's shared
//! state holds, apart from the endpoints (`crate::signin`) that use it.

pub(crate) mod keys;
pub(crate) mod store;

use std::sync::{Mutex, MutexGuard, PoisonError};

use xaa::jose::SigningKey;

use self::keys::SigningKeys;
use self::store::Store;

/// What the sign-in side remembers: issued codes, refresh-token families, device grants,
/// pending sign-in transactions, and the ID-token signing keys.
pub(crate) struct SignInState {
    store: Mutex<Store>,
    pub(crate) keys: SigningKeys,
}

impl SignInState {
    /// Nothing issued yet; ID tokens signed with `key` until a rotation.
    pub(crate) fn new(key: &SigningKey) -> Self {
        Self {
            store: Mutex::new(Store::default()),
            keys: SigningKeys::new(key.clone()),
        }
    }

    /// Forgets every transaction, code, refresh token and device grant (the signing keys stay
    /// as rotated).
    pub(crate) fn forget_all(&self) {
        *self.store() = Store::default();
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
