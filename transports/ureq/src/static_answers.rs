//! Static answers for host names, used instead of DNS ([`ClientBuilder::resolve`], like curl's
//! `--resolve`): a test or a deployment pins where a name goes, and the address guard still
//! judges the addresses.
//!
//! [`ClientBuilder::resolve`]: crate::ClientBuilder::resolve

use std::net::{IpAddr, SocketAddr};

use ureq::http::Uri;

/// Host names with the addresses they stand for, names compared case-insensitively and
/// without a trailing dot.
#[derive(Clone, Debug, Default)]
pub(crate) struct StaticAnswers(Vec<(String, Vec<IpAddr>)>);

impl StaticAnswers {
    /// Sets the answer for `host`, replacing an earlier one.
    pub(crate) fn insert(&mut self, host: &str, addresses: Vec<IpAddr>) {
        let host = normalize(host);
        self.0.retain(|(known, _)| *known != host);
        self.0.push((host, addresses));
    }

    /// The socket addresses for `uri`'s host, with the URI's port (or its scheme's default),
    /// when a static answer names that host. `Err` for a URI with neither port nor a known
    /// scheme.
    pub(crate) fn lookup(&self, uri: &Uri) -> Option<Result<Vec<SocketAddr>, ureq::Error>> {
        let host = normalize(uri.host()?);
        let (_, addresses) = self.0.iter().find(|(known, _)| *known == host)?;
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        Some(match port {
            Some(port) => Ok(addresses
                .iter()
                .map(|ip| SocketAddr::new(*ip, port))
                .collect()),
            None => Err(ureq::Error::BadUri(format!("no port for {host}"))),
        })
    }
}

/// Lowercase, without the brackets of an IPv6 literal or a trailing dot.
fn normalize(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(answers: &StaticAnswers, uri: &str) -> Option<Vec<SocketAddr>> {
        let uri: Uri = uri.parse().expect("URI");
        answers.lookup(&uri).map(|answer| answer.expect("a port"))
    }

    #[test]
    fn answers_by_name_with_the_uri_port() {
        let mut answers = StaticAnswers::default();
        answers.insert("Meta.Test.", vec!["169.254.169.254".parse().expect("ip")]);
        let expected = |port| Some(vec![SocketAddr::new([169, 254, 169, 254].into(), port)]);
        assert_eq!(found(&answers, "http://meta.test:8080/x"), expected(8080));
        assert_eq!(found(&answers, "https://META.test./"), expected(443));
        assert_eq!(found(&answers, "http://meta.test/"), expected(80));
        assert_eq!(found(&answers, "http://other.test/"), None);

        answers.insert("meta.test", vec!["10.0.0.1".parse().expect("ip")]);
        assert_eq!(
            found(&answers, "http://meta.test:1/"),
            Some(vec![SocketAddr::new([10, 0, 0, 1].into(), 1)])
        );
    }
}
