//! The checked URL of a request the core built, carried in the request's extensions so that a
//! driver whose HTTP client takes a [`url::Url`] (reqwest does) need not parse the URI again.

use url::{Position, Url};

/// The URL a flow checked before it built a request (URL policy, issuer and resource rules),
/// attached to the request's [`extensions`](http::Request::extensions) by every request the
/// core emits.
///
/// It names the same address as the request's URI, which was converted from it. A driver may
/// use it in place of parsing [`http::Request::uri`] again, but only after
/// [`RequestUrl::matches`] confirms the two agree: a caller may have changed the URI, or built
/// the request by hand with a stale extension. Requests are sent to their URI; this is an
/// optimization, never a second source of truth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestUrl(Url);

impl RequestUrl {
    pub(crate) fn new(url: &Url) -> Self {
        Self(url.clone())
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.0
    }

    /// Takes the URL out.
    pub fn into_url(self) -> Url {
        self.0
    }

    /// Whether `uri` is exactly this URL: the same scheme, the same authority text (user info,
    /// host and port as written) and the same path and query. A URL with a fragment never
    /// matches, as a URI has none.
    pub fn matches(&self, uri: &http::Uri) -> bool {
        let url = &self.0;
        url.fragment().is_none()
            && uri.scheme_str() == Some(url.scheme())
            && uri.authority().map(http::uri::Authority::as_str)
                == Some(&url[Position::BeforeUsername..Position::AfterPort])
            && uri.path_and_query().map(http::uri::PathAndQuery::as_str)
                == Some(&url[Position::BeforePath..Position::AfterQuery])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(url: &str, uri: &str) -> bool {
        let url = Url::parse(url).expect("test URL");
        RequestUrl::new(&url).matches(&uri.parse().expect("test URI"))
    }

    #[test]
    fn a_uri_converted_from_the_url_matches() {
        for url in [
            "https://idp.example.com/oauth2/token",
            "https://idp.example.com:8443/t?x=1&y=%20",
            "http://127.0.0.1:4000/",
            "https://user:pw@as.example.com/token",
            "https://[::1]:9000/a/b",
        ] {
            assert!(pair(url, url), "{url}");
        }
    }

    #[test]
    fn any_other_uri_does_not() {
        let url = "https://idp.example.com/oauth2/token";
        for uri in [
            "http://idp.example.com/oauth2/token",
            "https://idp.example.com:443/oauth2/token",
            "https://evil.example.com/oauth2/token",
            "https://idp.example.com/oauth2/token2",
            "https://idp.example.com/oauth2/token?",
            "https://idp.example.com/oauth2/token?a",
            "https://x@idp.example.com/oauth2/token",
            "/oauth2/token",
        ] {
            assert!(!pair(url, uri), "{uri}");
        }
        assert!(!pair(
            "https://idp.example.com/t#f",
            "https://idp.example.com/t"
        ));
    }
}
