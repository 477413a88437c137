//! The `htu` claim: the HTTP target URI of the request a proof is for, without query and
//! fragment (RFC 9449 section 4.2), and the form in which a server compares it with the URI a
//! request was received at (RFC 9449 section 4.3 item 9).

use url::Url;

/// The `htu` a client puts in a proof for a request to `target` (RFC 9449 section 4.2): the
/// absolute `http` or `https` URI with its query and fragment removed. `None` for anything
/// else, and for a URI with user information, which a target URI never has (RFC 9110 section
/// 4.2.4).
pub(crate) fn proof_htu(target: &str) -> Option<String> {
    let mut url = Url::parse(target).ok()?;
    let usable = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none();
    if !usable {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url.into())
}

/// The form in which two `htu` values compare (RFC 9449 section 4.3 item 9): query and
/// fragment ignored, then the syntax-based and scheme-based normalisation of RFC 3986 sections
/// 6.2.2 and 6.2.3: scheme and host in lower case, the default port dropped, dot-segments
/// removed, an empty path made `/` (all by the WHATWG parsing of the `url` crate), and in the
/// path every percent-encoded unreserved character decoded and every other escape in upper
/// case (RFC 3986 section 6.2.2.2). `None` when `uri` is no absolute URI with a host, or has
/// user information: such a value matches nothing.
#[cfg(feature = "server")]
pub(crate) fn comparison_form(uri: &str) -> Option<String> {
    let url = Url::parse(uri).ok()?;
    let host = url.host_str()?;
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let mut form = format!("{}://{host}", url.scheme());
    if let Some(port) = url.port() {
        form.push(':');
        form.push_str(&port.to_string());
    }
    push_normalized_path(&mut form, url.path());
    Some(form)
}

/// Appends `path` with each `%XX` that encodes an unreserved character (RFC 3986 section 2.3)
/// decoded and every other one in upper case (RFC 3986 section 6.2.2.2).
#[cfg(feature = "server")]
fn push_normalized_path(out: &mut String, path: &str) {
    let mut rest = path;
    while let Some(index) = rest.find('%') {
        out.push_str(&rest[..index]);
        let escape = rest.get(index + 1..index + 3).and_then(|hex| {
            u8::from_str_radix(hex, 16)
                .ok()
                .filter(|_| hex.bytes().all(|b| b.is_ascii_hexdigit()))
        });
        match escape {
            Some(byte) if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) => {
                out.push(char::from(byte));
                rest = &rest[index + 3..];
            }
            Some(byte) => {
                out.push_str(&format!("%{byte:02X}"));
                rest = &rest[index + 3..];
            }
            None => {
                out.push('%');
                rest = &rest[index + 1..];
            }
        }
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_htu_drops_query_and_fragment() {
        assert_eq!(
            proof_htu("https://AS.example.com:443/token?x=1#f").as_deref(),
            Some("https://as.example.com/token")
        );
        assert_eq!(
            proof_htu("https://as.example.com").as_deref(),
            Some("https://as.example.com/")
        );
        for unusable in [
            "/token",
            "ftp://as.example.com/token",
            "https://user@as.example.com/token",
            "urn:x:y",
        ] {
            assert_eq!(proof_htu(unusable), None, "{unusable}");
        }
    }

    #[test]
    #[cfg(feature = "server")]
    fn spellings_of_one_uri_compare_equal() {
        let base = comparison_form("https://mcp.example.com/a/b~c");
        assert!(base.is_some());
        for same in [
            "HTTPS://MCP.Example.COM/a/b~c",
            "https://mcp.example.com:443/a/b~c",
            "https://mcp.example.com/a/./x/../b~c",
            "https://mcp.example.com/%61/b%7Ec",
            "https://mcp.example.com/a/b~c?q=1",
            "https://mcp.example.com/a/b~c#frag",
        ] {
            assert_eq!(comparison_form(same), base, "{same}");
        }
        assert_eq!(
            comparison_form("https://mcp.example.com/a%2fb"),
            comparison_form("https://mcp.example.com/a%2Fb")
        );
    }

    #[test]
    #[cfg(feature = "server")]
    fn other_uris_do_not() {
        let base = comparison_form("https://mcp.example.com/a/b");
        for other in [
            "http://mcp.example.com/a/b",
            "https://mcp.example.com:8443/a/b",
            "https://other.example.com/a/b",
            "https://mcp.example.com/a/B",
            "https://mcp.example.com/a/b/",
            "https://mcp.example.com/a%2Fb",
        ] {
            assert_ne!(comparison_form(other), base, "{other}");
        }
        assert_eq!(comparison_form("https://u:p@mcp.example.com/a/b"), None);
        assert_eq!(comparison_form("/a/b"), None);
        assert_eq!(
            comparison_form("https://mcp.example.com/%zz%4").as_deref(),
            Some("https://mcp.example.com/%zz%4")
        );
    }
}
