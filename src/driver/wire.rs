//! How a driver puts a request on the wire and reads the response back: the rules every
//! driver shares, which requests carry a body and the cap on what a response may send.

use std::time::Duration;

use http::{HeaderMap, Method, Uri};

use super::error::DriverError;
use super::transport::Transport;

/// Whether a request goes out with a body: a non-empty one, or an empty one on a method that
/// normally has a body (POST, PUT, PATCH: sent as `Content-Length: 0`). An empty GET has none,
/// no `Content-Length: 0` either (RFC 9110 section 8.6).
pub fn sends_body(method: &Method, body: &[u8]) -> bool {
    !body.is_empty() || matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

/// The port a request to `uri` connects to: the URI's own, else its scheme's default
/// (RFC 9110 sections 4.2.1 and 4.2.2: 80 for `http`, 443 for `https`); `None` for another
/// scheme without one.
pub fn port_of(uri: &Uri) -> Option<u16> {
    uri.port_u16().or(match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    })
}

/// The limits of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The body cap: a larger body is [`DriverError::BodyTooLarge`], never a truncated body.
    pub max_body_bytes: usize,
    /// A total timeout shorter than the client's own, the time left until a deadline.
    pub timeout: Option<Duration>,
}

impl Limits {
    /// A body cap, and the client's own timeout.
    pub fn body(max_body_bytes: usize) -> Self {
        Self {
            max_body_bytes,
            timeout: None,
        }
    }

    /// Refuses a response whose `Content-Length` is over the cap, before reading any of it.
    ///
    /// # Errors
    ///
    /// [`DriverError::BodyTooLarge`].
    pub fn check_declared<T: Transport>(&self, headers: &HeaderMap) -> Result<(), DriverError<T>> {
        let declared = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let cap = u64::try_from(self.max_body_bytes).unwrap_or(u64::MAX);
        match declared {
            Some(length) if length > cap => Err(self.too_large()),
            _ => Ok(()),
        }
    }

    /// Appends a chunk of a body being read, refusing one that takes it past the cap: the
    /// caller drops the connection without reading the rest.
    ///
    /// # Errors
    ///
    /// [`DriverError::BodyTooLarge`].
    pub fn append<T: Transport>(
        &self,
        body: &mut Vec<u8>,
        chunk: &[u8],
    ) -> Result<(), DriverError<T>> {
        if chunk.len() > self.max_body_bytes.saturating_sub(body.len()) {
            return Err(self.too_large());
        }
        body.extend_from_slice(chunk);
        Ok(())
    }

    /// [`DriverError::BodyTooLarge`] for this cap.
    pub fn too_large<T: Transport>(&self) -> DriverError<T> {
        DriverError::BodyTooLarge {
            purpose: None,
            limit: self.max_body_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_empty_bodyless_method_goes_without_a_body() {
        assert!(!sends_body(&Method::GET, b""));
        assert!(!sends_body(&Method::DELETE, b""));
        assert!(sends_body(&Method::GET, b"x"));
        for method in [Method::POST, Method::PUT, Method::PATCH] {
            assert!(sends_body(&method, b""));
        }
    }

    #[test]
    fn a_port_is_the_uris_or_its_schemes() {
        let port = |uri: &str| port_of(&uri.parse().expect("URI"));
        assert_eq!(port("https://as.example/token"), Some(443));
        assert_eq!(port("http://127.0.0.1/mcp"), Some(80));
        assert_eq!(port("https://as.example:8443/"), Some(8443));
        assert_eq!(port("ftp://as.example/"), None);
    }
}
