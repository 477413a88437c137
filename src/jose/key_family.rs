//! The asymmetric algorithms real keys sign and verify with (RFC 7518 section 3.1), what key
//! each needs, and the crypto provider `jsonwebtoken` signs and verifies through.

use jsonwebtoken::Algorithm;

/// Installs the `aws-lc-rs` provider for `jsonwebtoken`, once per process; a provider already
/// installed (by us or the application) stays.
pub(super) fn install_crypto_provider() {
    // Err only means a provider is already installed.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

/// The key an asymmetric algorithm needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum KeyFamily {
    /// ECDSA on the named curve, with coordinates of this many bytes (RFC 7518 section 3.4).
    Ec {
        /// `crv` (RFC 7518 section 6.2.1.1).
        crv: &'static str,
        /// The length of `x` and `y`, in bytes.
        coordinate_len: usize,
    },
    /// RSA, at least 2048 bits (RFC 7518 sections 3.3 and 3.5).
    Rsa,
}

/// The registered name, the `jsonwebtoken` value and the key family of an asymmetric `alg`.
pub(super) fn asymmetric(alg: &str) -> Option<(&'static str, Algorithm, KeyFamily)> {
    let p256 = KeyFamily::Ec {
        crv: "P-256",
        coordinate_len: 32,
    };
    let p384 = KeyFamily::Ec {
        crv: "P-384",
        coordinate_len: 48,
    };
    Some(match alg {
        "ES256" => ("ES256", Algorithm::ES256, p256),
        "ES384" => ("ES384", Algorithm::ES384, p384),
        "RS256" => ("RS256", Algorithm::RS256, KeyFamily::Rsa),
        "RS384" => ("RS384", Algorithm::RS384, KeyFamily::Rsa),
        "RS512" => ("RS512", Algorithm::RS512, KeyFamily::Rsa),
        "PS256" => ("PS256", Algorithm::PS256, KeyFamily::Rsa),
        "PS384" => ("PS384", Algorithm::PS384, KeyFamily::Rsa),
        "PS512" => ("PS512", Algorithm::PS512, KeyFamily::Rsa),
        _ => return None,
    })
}
