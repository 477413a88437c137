//! The token store's file format, version 1: the last discovery per MCP server and the
//! tokens, each entry bound to the settings it was obtained under by an opaque string that
//! the store only keeps and compares.

use std::cmp::Reverse;
use std::fmt;
use std::time::SystemTime;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use xaa::Discovery;
use xaa::cache::{CacheKey, CachedToken};

use super::session::Session;

/// The format this command reads and writes.
pub(crate) const FORMAT_VERSION: u64 = 1;

/// The most tokens kept; beyond it the ones expiring soonest go.
pub(crate) const MAX_TOKENS: usize = 1000;

/// The most discoveries kept (one per MCP server); beyond it the ones going stale soonest go.
pub(crate) const MAX_DISCOVERIES: usize = 100;

/// What the file holds.
#[derive(Default)]
pub(crate) struct Stored {
    discoveries: Vec<DiscoveryEntry>,
    tokens: Vec<TokenEntry>,
    /// The sign-in at the IdP of `xaa login`, when there is one.
    session: Option<Session>,
}

/// The discovery of one MCP server.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscoveryEntry {
    server: String,
    binding: String,
    discovery: Discovery,
}

/// One token under its cache key.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    key: CacheKey,
    binding: String,
    token: CachedToken,
}

/// The file as read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[allow(dead_code, reason = "checked by VersionProbe before this is parsed")]
    version: u64,
    discoveries: Vec<DiscoveryEntry>,
    tokens: Vec<TokenEntry>,
    #[serde(default)]
    session: Option<Session>,
}

/// The file as written.
#[derive(Serialize)]
struct DocumentRef<'a> {
    version: u64,
    discoveries: &'a [DiscoveryEntry],
    tokens: &'a [TokenEntry],
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a Session>,
}

/// Only the version, read first so that another version is named as such.
#[derive(Deserialize)]
struct VersionProbe {
    version: Option<serde_json::Value>,
}

/// Why bytes are not a token store of this format. Never quotes the file's contents: a
/// token could stand where something else belongs.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FormatError {
    /// Not JSON at all.
    NotJson { line: usize, column: usize },
    /// JSON, but not an object.
    NotAnObject,
    /// JSON without a format version (another file, or a store of an older xaa).
    NoVersion,
    /// A version other than [`FORMAT_VERSION`]; `None` when it is not a number.
    OtherVersion(Option<u64>),
    /// Version 1, but the entries do not have its shape.
    Malformed { line: usize, column: usize },
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotJson { line, column } => {
                write!(f, "it is not JSON (line {line}, column {column})")
            }
            Self::NotAnObject => f.write_str("it is JSON but not an object"),
            Self::NoVersion => f.write_str("it has no format version"),
            Self::OtherVersion(Some(version)) => write!(
                f,
                "it has format version {version}; this xaa reads version {FORMAT_VERSION}"
            ),
            Self::OtherVersion(None) => f.write_str("its format version is not a number"),
            Self::Malformed { line, column } => write!(
                f,
                "its entries do not match format version {FORMAT_VERSION} (line {line}, column {column})"
            ),
        }
    }
}

impl Stored {
    /// Parses a whole file: JSON first, then an object, then its version, then the entries.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        serde_json::from_slice::<IgnoredAny>(bytes).map_err(|e| FormatError::NotJson {
            line: e.line(),
            column: e.column(),
        })?;
        if bytes.trim_ascii_start().first() != Some(&b'{') {
            return Err(FormatError::NotAnObject);
        }
        let probe: VersionProbe =
            serde_json::from_slice(bytes).map_err(|_| FormatError::NoVersion)?;
        match probe.version {
            None => return Err(FormatError::NoVersion),
            Some(version) if version.as_u64() != Some(FORMAT_VERSION) => {
                return Err(FormatError::OtherVersion(version.as_u64()));
            }
            Some(_) => {}
        }
        let document: Document =
            serde_json::from_slice(bytes).map_err(|e| FormatError::Malformed {
                line: e.line(),
                column: e.column(),
            })?;
        Ok(Self {
            discoveries: document.discoveries,
            tokens: document.tokens,
            session: document.session,
        })
    }

    /// The whole file.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut bytes = serde_json::to_vec_pretty(&DocumentRef {
            version: FORMAT_VERSION,
            discoveries: &self.discoveries,
            tokens: &self.tokens,
            session: self.session.as_ref(),
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// The discovery stored for `server`, if it was stored under `binding`.
    pub(crate) fn discovery(&self, server: &str, binding: &str) -> Option<&Discovery> {
        self.discoveries
            .iter()
            .find(|entry| entry.server == server)
            .filter(|entry| entry.binding == binding)
            .map(|entry| &entry.discovery)
    }

    /// Stores `discovery` for `server`, replacing the one stored before whatever its binding.
    pub(crate) fn put_discovery(&mut self, server: String, binding: String, discovery: Discovery) {
        self.discoveries.retain(|entry| entry.server != server);
        self.discoveries.push(DiscoveryEntry {
            server,
            binding,
            discovery,
        });
    }

    /// The token stored under `key`, if it was stored under `binding`.
    pub(crate) fn token(&self, key: &CacheKey, binding: &str) -> Option<&CachedToken> {
        self.tokens
            .iter()
            .find(|entry| entry.key == *key)
            .filter(|entry| entry.binding == binding)
            .map(|entry| &entry.token)
    }

    /// The session of `xaa login`, if one is stored.
    pub(crate) fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// Stores `session` in place of any other, or removes it (`None`).
    pub(crate) fn set_session(&mut self, session: Option<Session>) {
        self.session = session;
    }

    /// Drops every access token (sign-out: they were obtained for the session).
    pub(crate) fn clear_tokens(&mut self) {
        self.tokens.clear();
    }

    /// Every token stored, with its key, whatever its binding.
    pub(crate) fn tokens(&self) -> impl Iterator<Item = (&CacheKey, &CachedToken)> {
        self.tokens.iter().map(|entry| (&entry.key, &entry.token))
    }

    /// Stores `token` under `key`, replacing the one stored before whatever its binding.
    pub(crate) fn put_token(&mut self, key: CacheKey, binding: String, token: CachedToken) {
        self.tokens.retain(|entry| entry.key != key);
        self.tokens.push(TokenEntry {
            key,
            binding,
            token,
        });
    }

    /// Drops the tokens expired and the discoveries gone stale at `now`, then, beyond
    /// [`MAX_TOKENS`] and [`MAX_DISCOVERIES`], the ones that would expire soonest.
    pub(crate) fn prune(&mut self, now: SystemTime) {
        self.tokens.retain(|entry| now < entry.token.expires_at);
        self.discoveries
            .retain(|entry| entry.discovery.is_fresh(now));
        if self.tokens.len() > MAX_TOKENS {
            self.tokens
                .sort_by_key(|entry| Reverse(entry.token.expires_at));
            self.tokens.truncate(MAX_TOKENS);
        }
        if self.discoveries.len() > MAX_DISCOVERIES {
            self.discoveries
                .sort_by_key(|entry| Reverse(entry.discovery.fresh_until));
            self.discoveries.truncate(MAX_DISCOVERIES);
        }
    }

    /// How many tokens are stored.
    #[cfg(test)]
    fn token_count(&self) -> usize {
        self.tokens.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use xaa::cache::Principal;
    use xaa::{AccessToken, Scope};

    use super::*;

    fn key(user: &str) -> CacheKey {
        CacheKey::new(
            "https://as.example",
            "https://mcp.example/mcp",
            "client",
            &Scope::parse("tools:read"),
            Principal::subject("https://idp.example", user),
        )
    }

    fn token(value: &str, expires_at: SystemTime) -> CachedToken {
        CachedToken::new(AccessToken::new(value), expires_at)
    }

    #[test]
    fn a_token_is_found_only_under_its_binding_and_replaced_whatever_its_binding() {
        let later = SystemTime::now() + Duration::from_secs(600);
        let mut stored = Stored::default();
        stored.put_token(key("alice"), "settings-a".into(), token("one", later));
        assert!(stored.token(&key("alice"), "settings-a").is_some());
        assert!(stored.token(&key("alice"), "settings-b").is_none());
        assert!(stored.token(&key("bob"), "settings-a").is_none());
        stored.put_token(key("alice"), "settings-b".into(), token("two", later));
        assert_eq!(stored.token_count(), 1);
        assert!(stored.token(&key("alice"), "settings-a").is_none());
        let found = stored
            .token(&key("alice"), "settings-b")
            .map(|t| &t.access_token);
        assert_eq!(found.map(AccessToken::expose_secret), Some("two"));
    }

    #[test]
    fn the_file_round_trips_and_other_files_are_named_for_what_they_are() {
        let later = SystemTime::now() + Duration::from_secs(600);
        let mut stored = Stored::default();
        stored.put_token(key("alice"), String::new(), token("one", later));
        let bytes = stored.encode().expect("encodes");
        let back = Stored::parse(&bytes).expect("parses");
        assert!(back.token(&key("alice"), "").is_some());

        assert!(matches!(
            Stored::parse(b"not json{"),
            Err(FormatError::NotJson { line: 1, .. })
        ));
        assert_eq!(Stored::parse(b"{}").err(), Some(FormatError::NoVersion));
        assert_eq!(
            Stored::parse(b"[1, 2]").err(),
            Some(FormatError::NotAnObject)
        );
        assert_eq!(Stored::parse(b" [1]").err(), Some(FormatError::NotAnObject));
        assert_eq!(
            Stored::parse(br#"{"discovery": {}, "tokens": []}"#).err(),
            Some(FormatError::NoVersion),
            "the unversioned format of earlier releases"
        );
        assert_eq!(
            Stored::parse(br#"{"version": 2, "discoveries": [], "tokens": []}"#).err(),
            Some(FormatError::OtherVersion(Some(2)))
        );
        assert_eq!(
            Stored::parse(br#"{"version": "secret-looking", "tokens": []}"#).err(),
            Some(FormatError::OtherVersion(None))
        );
        let malformed = Stored::parse(br#"{"version": 1, "discoveries": [], "tokens": "at-x"}"#);
        assert!(matches!(malformed, Err(FormatError::Malformed { .. })));
        assert!(
            !malformed
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
                .contains("at-x")
        );
    }

    #[test]
    fn pruning_drops_expired_tokens_then_the_soonest_beyond_the_bound() {
        let now = SystemTime::now();
        let mut stored = Stored::default();
        stored.put_token(key("gone"), String::new(), token("old", now));
        for n in 0..=MAX_TOKENS {
            let expires_at = now + Duration::from_secs(60 + n as u64);
            stored.put_token(
                key(&format!("user{n}")),
                String::new(),
                token("t", expires_at),
            );
        }
        stored.prune(now);
        assert_eq!(stored.token_count(), MAX_TOKENS);
        assert!(stored.token(&key("gone"), "").is_none(), "expired");
        assert!(
            stored.token(&key("user0"), "").is_none(),
            "the soonest to expire"
        );
        assert!(
            stored
                .token(&key(&format!("user{MAX_TOKENS}")), "")
                .is_some()
        );
    }
}
