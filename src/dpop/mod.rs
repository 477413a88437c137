//! DPoP proofs (RFC 9449): the proof-of-possession layer both sides share (feature `dpop`).
//!
//! A DPoP proof is a JWT the client signs for each HTTP request with a key pair of its own and
//! sends in the `DPoP` header (RFC 9449 section 4.1). A token issued against a proof is bound
//! to the key's thumbprint (`cnf.jkt`, section 6.1), so a stolen token is useless without the
//! private key.
//!
//! Without cryptography (feature `dpop`; builds for `wasm32-unknown-unknown`):
//!
//! * [`DpopProofClaims`]: the claims of one request's proof (section 4.2): `jti` from a
//!   [`JtiSource`](crate::JtiSource), `htm`, `htu` (the target URI without query and
//!   fragment), `iat` from the time passed in, and optionally `ath` (section 7.1) and `nonce`
//!   (sections 8 and 9); [`DpopProofClaims::sign`] builds the header (`typ` `dpop+jwt`, `alg`,
//!   `jwk`) and returns a [`DpopProof`];
//! * [`DpopSigner`]: the client's key pair, which signs the exact signing input and hashes with
//!   SHA-256 (for `ath` and the thumbprint), so the core holds no hash function;
//! * [`PublicJwk`]: the proof's `jwk`, an `EC`, `RSA` or `OKP` public key; a private member is
//!   refused when it is made (section 4.3 item 7), so none can be sent;
//! * [`PublicJwk::thumbprint`]: the RFC 7638 thumbprint, the `jkt` of section 6.1;
//! * [`DpopVerifier`]: what a server needs of cryptography to check a proof: the signature
//!   with the proof's own `jwk` (section 4.3 item 6), and SHA-256.
//!
//! Real keys (features `dpop` and `jwt`), over `aws-lc-rs`:
//!
//! * `EsDpopKey`: an ES256 (P-256) [`DpopSigner`], generated in memory or loaded from PKCS#8;
//! * `JwkDpopVerifier`: a [`DpopVerifier`] for `EC` (P-256, P-384) and `RSA` keys.
//!
//! Checking proofs (features `dpop` and `server`): `xaa::server::DpopValidator` applies
//! every check of RFC 9449 section 4.3 and registers each proof's `jti` in the server's
//! `ReplayStore` (section 11.1); it lives beside the other server-side checks because it
//! shares their replay store (decisions.md D27).

mod client;
mod content_digest;
mod htu;
mod jwk;
mod proof;
mod proof_error;
mod signer;
mod thumbprint;

#[cfg(feature = "jwt")]
mod es_key;
#[cfg(feature = "jwt")]
mod jwk_verifier;

pub use client::{DpopBinding, DpopPolicy, ResourceAnswer, ResourceHeaders};
pub(crate) use client::{IdJagConfirmation, TokenAnswer};
pub use content_digest::{CONTENT_DIGEST_CLAIM, content_digest};
#[cfg(feature = "server")]
pub(crate) use htu::comparison_form;
pub use jwk::{PublicJwk, PublicJwkError};
pub use proof::{DpopProof, DpopProofClaims};
pub use proof_error::DpopProofError;
pub use signer::{DpopSigner, DpopVerifier};

#[cfg(feature = "jwt")]
pub use es_key::EsDpopKey;
#[cfg(feature = "jwt")]
pub use jwk_verifier::JwkDpopVerifier;

/// The `typ` header of every DPoP proof (RFC 9449 section 4.2): media type
/// `application/dpop+jwt` (section 13.6).
pub const DPOP_TYP: &str = "dpop+jwt";

/// The request header that carries a proof (RFC 9449 section 4.1), in lower case as HTTP/2
/// and the `http` crate spell header names.
pub const DPOP_HEADER: &str = "dpop";

/// The response header in which a server supplies a nonce (RFC 9449 section 8.1).
pub const DPOP_NONCE_HEADER: &str = "dpop-nonce";

/// Whether `alg` names a signature by an asymmetric key: not empty, not `none`, not HMAC
/// (RFC 9449 sections 4.2 and 4.3 item 5).
pub(crate) fn is_asymmetric(alg: &str) -> bool {
    !alg.is_empty() && !crate::jose::is_none_or_shared(alg)
}
