//! The nonces servers supply in `DPoP-Nonce` (RFC 9449 sections 8 and 9), remembered per server
//! and updated from every response that carries one.

use std::collections::VecDeque;
use std::sync::Mutex;

use http::HeaderMap;

use crate::dpop::DPOP_NONCE_HEADER;

/// How many servers' nonces are kept; the least recently set is forgotten first. A flow talks
/// to three servers; an authorizer to a few per MCP server.
const MAX_SERVERS: usize = 64;

/// The longest nonce kept, in bytes. RFC 9449 sets no bound; a nonce is an opaque value a
/// server chooses, and one that cannot fit in a header line is no nonce.
const MAX_NONCE_BYTES: usize = 1024;

/// The latest nonce of each server, keyed by origin (scheme, host and port).
#[derive(Debug, Default)]
pub(crate) struct NonceMemory {
    latest: Mutex<VecDeque<(String, String)>>,
}

impl NonceMemory {
    /// The latest nonce `origin` supplied.
    pub(crate) fn get(&self, origin: &str) -> Option<String> {
        let latest = self
            .latest
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        latest
            .iter()
            .find(|(server, _)| server == origin)
            .map(|(_, nonce)| nonce.clone())
    }

    /// Remembers the nonce in `headers`, when there is exactly one usable `DPoP-Nonce`; returns
    /// whether there was.
    pub(crate) fn observe(&self, origin: &str, headers: &HeaderMap) -> bool {
        let Some(nonce) = usable_nonce(headers) else {
            return false;
        };
        let mut latest = self
            .latest
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        latest.retain(|(server, _)| server != origin);
        if latest.len() >= MAX_SERVERS {
            latest.pop_front();
        }
        latest.push_back((origin.to_owned(), nonce));
        true
    }
}

/// The one `DPoP-Nonce` value of `headers`, if it is a nonce: `1*NQCHAR`, visible ASCII
/// without `"` and `\` (RFC 9449 section 8.1), at most [`MAX_NONCE_BYTES`]. Several headers
/// are no usable nonce: which one the server meant cannot be told.
fn usable_nonce(headers: &HeaderMap) -> Option<String> {
    let mut values = headers.get_all(DPOP_NONCE_HEADER).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let bytes = value.as_bytes();
    let usable = !bytes.is_empty()
        && bytes.len() <= MAX_NONCE_BYTES
        && bytes
            .iter()
            .all(|byte| matches!(byte, 0x21 | 0x23..=0x5B | 0x5D..=0x7E));
    usable.then(|| String::from_utf8_lossy(bytes).into_owned())
}

/// The key nonces are kept under: the origin of `uri` (RFC 6454 section 4), in lower case.
pub(crate) fn origin_of(uri: &http::Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or_default();
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    format!("{scheme}://{authority}").to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(DPOP_NONCE_HEADER, value.parse().expect("header value"));
        }
        map
    }

    #[test]
    fn a_nonce_is_remembered_per_origin_and_replaced_by_the_next() {
        let memory = NonceMemory::default();
        assert!(memory.observe("https://as.example", &headers(&["n-1"])));
        assert!(memory.observe("https://idp.example", &headers(&["other"])));
        assert!(memory.observe("https://as.example", &headers(&["n-2"])));
        assert_eq!(memory.get("https://as.example").as_deref(), Some("n-2"));
        assert_eq!(memory.get("https://idp.example").as_deref(), Some("other"));
        assert_eq!(memory.get("https://mcp.example"), None);
    }

    #[test]
    fn values_that_are_no_nonce_are_ignored() {
        let memory = NonceMemory::default();
        for bad in [&["a\"b"][..], &["a\\b"], &["a b"], &["one", "two"], &[""]] {
            assert!(
                !memory.observe("https://as.example", &headers(bad)),
                "{bad:?}"
            );
        }
        let long = "n".repeat(MAX_NONCE_BYTES + 1);
        assert!(!memory.observe("https://as.example", &headers(&[&long])));
        assert_eq!(memory.get("https://as.example"), None);
    }

    #[test]
    fn the_memory_is_bounded() {
        let memory = NonceMemory::default();
        for server in 0..MAX_SERVERS + 10 {
            memory.observe(&format!("https://s{server}.example"), &headers(&["n"]));
        }
        assert_eq!(memory.latest.lock().expect("lock").len(), MAX_SERVERS);
        assert_eq!(memory.get("https://s0.example"), None);
        assert!(
            memory
                .get(&format!("https://s{}.example", MAX_SERVERS + 9))
                .is_some()
        );
    }

    #[test]
    fn origins_ignore_path_and_case() {
        let uri: http::Uri = "https://AS.Example:8443/token?x=1".parse().expect("uri");
        assert_eq!(origin_of(&uri), "https://as.example:8443");
    }
}
