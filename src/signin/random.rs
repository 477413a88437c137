//! The caller-supplied source of randomness behind the PKCE verifier, `state` and `nonce`: the
//! core has none of its own (docs/signin.md, "Randomness").

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

/// How many random bytes each value is made of: 256 bits, base64url-encoded into 43
/// characters, which is what RFC 7636 section 4.1 recommends for the code verifier and more
/// than RFC 6749 section 10.10 asks of any guessable value.
pub const RANDOM_VALUE_BYTES: usize = 32;

/// The source failed to produce random bytes; nothing was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no random bytes could be obtained for the sign-in")]
#[non_exhaustive]
pub struct RandomUnavailable;

impl RandomUnavailable {
    /// The error, for implementations written outside this crate.
    pub const fn new() -> Self {
        Self
    }
}

impl Default for RandomUnavailable {
    fn default() -> Self {
        Self::new()
    }
}

/// A cryptographically secure source of random bytes (RFC 7636 section 7.1, RFC 6749 section
/// 10.10). Any `Fn(&mut [u8]) -> Result<(), RandomUnavailable>` is one; with the `jwt`
/// feature, `SystemRandom` draws from the operating system through `aws-lc-rs`.
pub trait RandomSource: Send + Sync {
    /// Fills `destination` with random bytes.
    fn fill(&self, destination: &mut [u8]) -> Result<(), RandomUnavailable>;
}

impl<F: Fn(&mut [u8]) -> Result<(), RandomUnavailable> + Send + Sync> RandomSource for F {
    fn fill(&self, destination: &mut [u8]) -> Result<(), RandomUnavailable> {
        self(destination)
    }
}

impl fmt::Debug for dyn RandomSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RandomSource")
    }
}

/// [`RANDOM_VALUE_BYTES`] random bytes, base64url without padding: 43 characters of the
/// unreserved set (RFC 7636 section 4.1). A source that hands back only zero bytes is broken,
/// not random, and refused.
pub(crate) fn random_value(
    source: &dyn RandomSource,
) -> Result<Zeroizing<String>, RandomUnavailable> {
    let mut bytes = Zeroizing::new([0u8; RANDOM_VALUE_BYTES]);
    source.fill(bytes.as_mut_slice())?;
    if bytes.iter().all(|byte| *byte == 0) {
        return Err(RandomUnavailable);
    }
    Ok(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_slice())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_43_unreserved_characters() {
        let source = |out: &mut [u8]| {
            out.fill(0xfb);
            Ok(())
        };
        let value = random_value(&source).expect("random");
        assert_eq!(value.len(), 43);
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn a_failing_or_all_zero_source_is_refused() {
        let failing = |_: &mut [u8]| Err(RandomUnavailable);
        assert_eq!(random_value(&failing).map(|_| ()), Err(RandomUnavailable));
        let zeros = |_: &mut [u8]| Ok(());
        assert_eq!(random_value(&zeros).map(|_| ()), Err(RandomUnavailable));
    }
}
