//! The IdP's signing keys as the caller holds them between sign-ins: a [`KeyRing`] filled from
//! the `jwks_uri` document, refetched at most once per ID token whose `kid` it does not know
//! (OpenID Connect Core 1.0 section 10.1.1; docs/signin.md, "Keys").
//!
//! Keys come only from the IdP's `jwks_uri`, never from a token's own header (`jwk`, `jku`,
//! `x5u`, `x5c`; RFC 8725 section 3.10).

use std::fmt;
use std::sync::Arc;

use crate::jose::{KeyRing, SignatureVerifier};

/// The verification keys a JWK Set document holds, each with its `kid`.
pub type JwksKeys = Vec<(Option<String>, Arc<dyn SignatureVerifier>)>;

/// Turns a JWK Set document (RFC 7517 section 5) into verification keys. The core has no
/// cryptography: with the `jwt` feature, `IdpKeys::new` uses one over real keys; without it
/// the caller supplies one, or any `Fn(&[u8]) -> Result<JwksKeys, String>`.
pub trait JwksReader: Send + Sync {
    /// The usable keys of `document`, or why it cannot be read.
    fn read(&self, document: &[u8]) -> Result<JwksKeys, String>;
}

impl<F: Fn(&[u8]) -> Result<JwksKeys, String> + Send + Sync> JwksReader for F {
    fn read(&self, document: &[u8]) -> Result<JwksKeys, String> {
        self(document)
    }
}

/// The IdP's keys, shared: clone it into every flow of the same IdP so that a JWKS fetched
/// by one serves the next. A flow fetches the document when the ring holds no key for an ID
/// token's `kid`, at most once per ID token.
#[derive(Clone)]
pub struct IdpKeys {
    ring: Arc<KeyRing>,
    reader: Arc<dyn JwksReader>,
}

impl IdpKeys {
    /// An empty ring (the first ID token fetches the document) read with `reader`.
    pub fn with_reader(reader: Arc<dyn JwksReader>) -> Self {
        Self {
            ring: Arc::new(KeyRing::new()),
            reader,
        }
    }

    /// The ring the keys live in, e.g. to pre-load keys kept from an earlier run.
    pub fn ring(&self) -> &Arc<KeyRing> {
        &self.ring
    }

    /// Replaces the keys with those of `document`.
    pub(crate) fn load(&self, document: &[u8]) -> Result<(), String> {
        let keys = self.reader.read(document)?;
        self.ring.replace(keys);
        Ok(())
    }
}

impl fmt::Debug for IdpKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdpKeys")
            .field("ring", &self.ring)
            .finish_non_exhaustive()
    }
}
