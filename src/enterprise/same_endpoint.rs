//! Whether two token endpoint URLs reach the same endpoint: the comparison behind the refusal
//! to send the authorization server's credentials and the ID-JAG to the IdP (ID-JAG draft
//! section 9.3).
//!
//! Identity of issuers is exact (RFC 8414 section 3.3); this comparison is deliberately wider,
//! because it guards a refusal: two spellings a server may route to one handler count as the
//! same endpoint. A wrong match refuses a deployment no one runs (two servers whose token
//! endpoints differ only by the spellings below, on one host and port); a missed match sends
//! one server's secret to the other. So, after parsing (RFC 3986 section 6.2.2: scheme and host
//! in lower case, the default port dropped, dot-segments removed):
//!
//! - the host ignores a trailing dot (the same DNS name, RFC 1034 section 3.1);
//! - the path is compared percent-decoded (RFC 3986 section 6.2.2.2), in ASCII lower case
//!   (case-insensitive servers exist), with empty segments ignored: a trailing slash or a
//!   doubled one makes no difference;
//! - the query, the fragment and any user information are ignored: they do not change which
//!   server receives the request.

use url::Url;

/// The parts of a URL that decide which endpoint a request reaches.
#[derive(Debug, PartialEq, Eq)]
struct EndpointKey {
    scheme: String,
    host: String,
    port: Option<u16>,
    path: Vec<Vec<u8>>,
}

impl EndpointKey {
    fn of(url: &str) -> Option<Self> {
        let url = Url::parse(url).ok()?;
        let host = url.host_str()?;
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        let path = percent_decoded(url.path())
            .split(|&b| b == b'/')
            .filter(|segment| !segment.is_empty())
            .map(<[u8]>::to_ascii_lowercase)
            .collect();
        Some(Self {
            scheme: url.scheme().to_owned(),
            host,
            port: url.port_or_known_default(),
            path,
        })
    }
}

/// Whether `a` and `b` reach the same token endpoint, by the rules of the module. Text that
/// does not parse as a URL with a host matches only itself.
pub(crate) fn same_endpoint(a: &str, b: &str) -> bool {
    match (EndpointKey::of(a), EndpointKey::of(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// `%XX` sequences decoded (RFC 3986 section 2.1); a `%` not followed by two hex digits stays.
fn percent_decoded(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = match (bytes.get(index + 1), bytes.get(index + 2)) {
            (Some(&high), Some(&low)) if byte == b'%' => hex(high).zip(hex(low)),
            _ => None,
        };
        match escaped {
            Some((high, low)) => {
                out.push(high << 4 | low);
                index += 3;
            }
            None => {
                out.push(byte);
                index += 1;
            }
        }
    }
    out
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "https://idp.example.com/oauth2/token";

    #[test]
    fn spellings_of_one_endpoint_match() {
        for same in [
            TOKEN,
            "https://IDP.Example.COM/oauth2/token",
            "https://idp.example.com:443/oauth2/token",
            "https://idp.example.com./oauth2/token",
            "https://idp.example.com/oauth2/token/",
            "https://idp.example.com//oauth2//token",
            "https://idp.example.com/oauth2/./x/../token",
            "https://idp.example.com/oauth2/%74oken",
            "https://idp.example.com/oauth2%2Ftoken",
            "https://idp.example.com/OAuth2/Token",
            "https://idp.example.com/oauth2/token?tenant=1",
            "https://idp.example.com/oauth2/token#f",
            "https://user:pw@idp.example.com/oauth2/token",
        ] {
            assert!(same_endpoint(TOKEN, same), "{same}");
            assert!(same_endpoint(same, TOKEN), "{same}");
        }
    }

    #[test]
    fn other_endpoints_do_not() {
        for other in [
            "https://as.example.com/oauth2/token",
            "http://idp.example.com/oauth2/token",
            "https://idp.example.com:8443/oauth2/token",
            "https://idp.example.com/oauth2/default/token",
            "https://idp.example.com/oauth2/token2",
            "https://idp.example.com/token",
            "https://sub.idp.example.com/oauth2/token",
            "not a url",
        ] {
            assert!(!same_endpoint(TOKEN, other), "{other}");
        }
        assert!(same_endpoint("not a url", "not a url"));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decoded("/a%2Fb%41"), b"/a/bA");
        assert_eq!(percent_decoded("%"), b"%");
        assert_eq!(percent_decoded("%4"), b"%4");
        assert_eq!(percent_decoded("%zz%e9"), b"%zz\xe9");
    }
}
