//! Where metadata documents live, written from the specifications for the scripted servers:
//! protected-resource metadata (RFC 9728 section 3.1) and authorization-server metadata (RFC
//! 8414 section 3.1, OpenID Connect Discovery 1.0 section 4), in the order of MCP 2025-11-25
//! (protocol.md 2.2 and 2.3). The client computes the same URLs with its own code; a
//! disagreement fails a sane run against these servers.

use url::Url;

/// One protected-resource metadata URL and the `resource` its document must name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResourceCandidate {
    /// The URL to GET.
    pub(crate) url: String,
    /// The `resource` the document there names (RFC 9728 section 3.3).
    pub(crate) expected_resource: String,
}

/// `scheme://host[:port]`, no trailing slash.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// The protected-resource metadata URLs of the MCP endpoint `url` (written as `identifier`),
/// in order: the well-known path inserted before the endpoint's path and query (RFC 9728
/// section 3.1; skipped for an endpoint at the root, whose terminating `/` does not count),
/// naming the endpoint without its fragment; then the root document, naming the origin.
pub(crate) fn resource_metadata_candidates(identifier: &str, url: &Url) -> Vec<ResourceCandidate> {
    let origin = origin(url);
    let root = ResourceCandidate {
        url: format!("{origin}/.well-known/oauth-protected-resource"),
        expected_resource: origin.clone(),
    };
    let path = match url.path() {
        "/" => "",
        path => path,
    };
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    if path.is_empty() && query.is_empty() {
        return vec![root];
    }
    let identifier = identifier
        .split_once('#')
        .map_or(identifier, |(before, _)| before);
    vec![
        ResourceCandidate {
            url: format!("{origin}/.well-known/oauth-protected-resource{path}{query}"),
            expected_resource: identifier.to_owned(),
        },
        root,
    ]
}

/// The metadata URLs of the issuer `issuer`, in order: without a path, RFC 8414 then OpenID
/// Connect at the root; with one (its terminating `/` removed), RFC 8414 inserted, OpenID
/// Connect inserted, OpenID Connect appended.
pub(crate) fn authorization_server_metadata_candidates(issuer: &Url) -> Vec<String> {
    let origin = origin(issuer);
    let path = issuer.path().trim_end_matches('/');
    let oauth = "/.well-known/oauth-authorization-server";
    let openid = "/.well-known/openid-configuration";
    if path.is_empty() {
        vec![format!("{origin}{oauth}"), format!("{origin}{openid}")]
    } else {
        vec![
            format!("{origin}{oauth}{path}"),
            format!("{origin}{openid}{path}"),
            format!("{origin}{path}{openid}"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specifications_examples() {
        let url = |text: &str| Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        // RFC 9728 section 3.1.
        let found = resource_metadata_candidates(
            "https://resource.example.com/resource1#f",
            &url("https://resource.example.com/resource1"),
        );
        assert_eq!(
            found[0].url,
            "https://resource.example.com/.well-known/oauth-protected-resource/resource1"
        );
        assert_eq!(
            found[0].expected_resource,
            "https://resource.example.com/resource1"
        );
        assert_eq!(found[1].expected_resource, "https://resource.example.com");
        assert_eq!(
            resource_metadata_candidates("https://r.example/", &url("https://r.example/")).len(),
            1
        );
        // RFC 8414 section 3.1.
        assert_eq!(
            authorization_server_metadata_candidates(&url("https://example.com/issuer1"))[0],
            "https://example.com/.well-known/oauth-authorization-server/issuer1"
        );
    }
}
