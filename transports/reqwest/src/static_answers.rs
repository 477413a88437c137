//! Static answers for host names, used instead of DNS ([`ClientBuilder::resolve`], like curl's
//! `--resolve`). They live in the guarded resolver rather than in reqwest's own overrides
//! (`reqwest::ClientBuilder::resolve`), which answer before any custom resolver is asked and
//! so would bypass the address guard.
//!
//! [`ClientBuilder::resolve`]: crate::ClientBuilder::resolve

use std::net::{IpAddr, SocketAddr};

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

    /// The addresses for `host`, port 0 (the connector puts the URL's port in), when a
    /// static answer names it.
    pub(crate) fn lookup(&self, host: &str) -> Option<Vec<SocketAddr>> {
        let host = normalize(host);
        let (_, addresses) = self.0.iter().find(|(known, _)| *known == host)?;
        Some(addresses.iter().map(|ip| SocketAddr::new(*ip, 0)).collect())
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

    #[test]
    fn answers_by_name() {
        let mut answers = StaticAnswers::default();
        answers.insert("Meta.Test.", vec!["169.254.169.254".parse().expect("ip")]);
        let expected = Some(vec![SocketAddr::new([169, 254, 169, 254].into(), 0)]);
        assert_eq!(answers.lookup("meta.test"), expected);
        assert_eq!(answers.lookup("META.test."), expected);
        assert_eq!(answers.lookup("other.test"), None);
        answers.insert("meta.test", vec!["10.0.0.1".parse().expect("ip")]);
        assert_eq!(
            answers.lookup("meta.test"),
            Some(vec![SocketAddr::new([10, 0, 0, 1].into(), 0)])
        );
    }
}
