//! The prefix of every Redis key the stores write, and the key names built on it.

use crate::digest::Digest;
use crate::error::ConfigError;

/// The first part of every key and channel name the stores use, so several applications (or
/// environments) can share one Redis without seeing each other's entries.
///
/// 1 to 64 printable ASCII characters without spaces; [`KeyPrefix::default`] is `xaa`. No
/// name built on it carries a secret: the rest of a name is a SHA-256 digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    /// The longest prefix accepted.
    pub const MAX_LEN: usize = 64;

    /// Checks and wraps `prefix`.
    pub fn new(prefix: impl Into<String>) -> Result<Self, ConfigError> {
        let prefix = prefix.into();
        let printable = prefix.bytes().all(|byte| byte.is_ascii_graphic());
        if prefix.is_empty() || prefix.len() > Self::MAX_LEN || !printable {
            return Err(ConfigError::Prefix);
        }
        Ok(Self(prefix))
    }

    /// The prefix itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<prefix>:tok:<digest>`: where a sealed token is stored.
    pub(crate) fn token_key(&self, digest: &Digest) -> String {
        self.name("tok", digest)
    }

    /// `<prefix>:lease:<digest>`: the single-flight lease of one cache key.
    pub(crate) fn lease_key(&self, digest: &Digest) -> String {
        self.name("lease", digest)
    }

    /// `<prefix>:released:<digest>`: the channel a lease holder publishes on when it lets go.
    pub(crate) fn released_channel(&self, digest: &Digest) -> String {
        self.name("released", digest)
    }

    /// `<prefix>:fence`: the counter fencing tokens are drawn from.
    pub(crate) fn fence_counter(&self) -> String {
        format!("{}:fence", self.0)
    }

    /// `<prefix>:jti:<digest>`: the replay entry of one token.
    pub(crate) fn jti_key(&self, digest: &Digest) -> String {
        self.name("jti", digest)
    }

    fn name(&self, kind: &str, digest: &Digest) -> String {
        format!("{}:{kind}:{}", self.0, digest.to_hex())
    }
}

impl Default for KeyPrefix {
    fn default() -> Self {
        Self("xaa".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_printable_bounded_and_not_empty() {
        assert_eq!(KeyPrefix::new("app-1").map(|p| p.0), Ok("app-1".to_owned()));
        for bad in ["", "has space", "tab\t", "new\nline", "é"] {
            assert_eq!(KeyPrefix::new(bad), Err(ConfigError::Prefix), "{bad:?}");
        }
        assert!(KeyPrefix::new("a".repeat(64)).is_ok());
        assert_eq!(KeyPrefix::new("a".repeat(65)), Err(ConfigError::Prefix));
    }

    #[test]
    fn names_are_the_prefix_a_kind_and_a_hex_digest() {
        let digest = Digest::of_parts("test", &[b"x"]);
        let name = KeyPrefix::default().token_key(&digest);
        assert_eq!(name, format!("xaa:tok:{}", digest.to_hex()));
        assert_eq!(name.len(), "xaa:tok:".len() + 64);
        assert_eq!(KeyPrefix::default().fence_counter(), "xaa:fence");
    }
}
