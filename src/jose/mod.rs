//! Keys, JWS signing and verification, and JWK Sets: the JOSE layer both sides share (feature
//! `jose`; the server side and real keys build on it, never the reverse).
//!
//! Without cryptography (feature `jose`):
//!
//! * [`TokenSigner`] and [`SignatureVerifier`]: the only operations a key performs, over the
//!   exact JWS signing input (RFC 7515 section 5.1);
//! * [`KeySet`] and [`KeyRing`]: the keys of one party, chosen by `kid`; never fetched
//!   (decisions.md D22);
//! * [`AlgorithmAllowList`] and [`SharedKeyAlgorithm`]: which `alg` values are acceptable,
//!   never `none`, HMAC only on purpose (RFC 8725 section 3.1);
//! * [`sign_jwt`] and [`verify_jws`]: the compact serialization (RFC 7515 section 7.1). The
//!   header, the signing input and the algorithm are decided here, so a token's header never
//!   chooses how it is verified.
//!
//! Real keys (feature `jwt`), over `jsonwebtoken` with the `aws-lc-rs` backend:
//!
//! * `SigningKey` (ES256, ES384, RS256, RS384, RS512, PS256, PS384, PS512): a
//!   [`TokenSigner`], generated or loaded from PEM;
//! * `VerifyingKey`, from a `Jwk`: a [`SignatureVerifier`] that refuses any algorithm its
//!   key is not for, whatever a token's header says (RFC 8725 section 3.1);
//! * `Jwks`: the `jwks_uri` document (RFC 7517 section 5), and the [`KeyRing`] built from it;
//! * `SharedKey`: HMAC, only for an issuer or client with which a secret was deliberately
//!   agreed;
//! * `JwtAssertionSigner`: an [`AssertionSigner`](crate::AssertionSigner) for
//!   `private_key_jwt`;
//! * `RandomJti`: random `jti` values.
//!
//! `jsonwebtoken` needs a process-wide crypto provider: the constructors of real keys install
//! the `aws-lc-rs` one, and an already installed provider is left alone. That is the only
//! global state.

mod algorithms;
mod jws;
mod jws_error;
mod key_set;
mod signer;
mod verifier;

#[cfg(feature = "jwt")]
mod assertion_signer;
#[cfg(feature = "jwt")]
mod jwk;
#[cfg(feature = "jwt")]
mod jwks_key_ring;
#[cfg(feature = "jwt")]
mod key_error;
#[cfg(feature = "jwt")]
mod key_family;
#[cfg(feature = "jwt")]
mod random_jti;
#[cfg(feature = "jwt")]
mod shared_key;
#[cfg(feature = "jwt")]
mod signing_key;
#[cfg(feature = "jwt")]
mod verifying_key;

#[cfg(feature = "dpop")]
pub(crate) use algorithms::is_none_or_shared;
pub use algorithms::{AlgorithmAllowList, SharedKeyAlgorithm};
#[cfg(feature = "server")]
pub(crate) use jws::UnverifiedJws;
pub use jws::{sign_jwt, verify_jws};
pub use jws_error::JwsError;
pub use key_set::{KeyRing, KeySet};
pub use signer::TokenSigner;
pub use verifier::{SignatureVerifier, VerifyError};

#[cfg(feature = "jwt")]
pub use assertion_signer::JwtAssertionSigner;
#[cfg(feature = "jwt")]
pub use jwk::{Jwk, Jwks};
#[cfg(feature = "jwt")]
pub use key_error::KeyError;
#[cfg(feature = "jwt")]
pub use random_jti::{RandomJti, random_jti};
#[cfg(feature = "jwt")]
pub use shared_key::SharedKey;
#[cfg(feature = "jwt")]
pub use signing_key::SigningKey;
#[cfg(all(feature = "jwt", feature = "dpop"))]
pub(crate) use signing_key::pkcs8_pem;
#[cfg(feature = "jwt")]
pub use verifying_key::VerifyingKey;
