//! Which JWS `alg` values are acceptable: an explicit allow-list, never `none`, and HMAC only
//! on purpose (RFC 8725 section 3.1).

/// The shared-key (HMAC) algorithms (RFC 7518 section 3.2). They are refused unless
/// deliberately enabled for one issuer or client with
/// [`AlgorithmAllowList::with_shared_key`] (protocol.md 3.3 step 3).
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

/// Whether `alg` is `none` or a shared-key (HMAC) algorithm, in any letter case: never a
/// signature by an asymmetric key (RFC 8725 section 3.1).
pub(crate) fn is_none_or_shared(alg: &str) -> bool {
    alg.eq_ignore_ascii_case("none")
        || alg
            .get(..2)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("HS"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
