//! Static answers for host names, used by a driver's resolver instead of DNS (like curl's
//! `--resolve`): a test or a deployment pins where a name goes, and the address guard still
//! judges the addresses. The decision of which name matches lives here, so every driver
//! matches alike.

use std::net::{IpAddr, SocketAddr};

use super::address_guard::normalize;

/// Host names with the addresses they stand for, names compared case-insensitively, without
/// the brackets of an IPv6 literal and without a trailing dot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StaticAnswers(Vec<(String, Vec<IpAddr>)>);

impl StaticAnswers {
    /// Sets the answer for `host`, replacing an earlier one.
    pub fn insert(&mut self, host: &str, addresses: Vec<IpAddr>) {
        let host = normalize(host);
        self.0.retain(|(known, _)| *known != host);
        self.0.push((host, addresses));
    }

    /// The socket addresses for `host` on `port`, when a static answer names it.
    pub fn lookup(&self, host: &str, port: u16) -> Option<Vec<SocketAddr>> {
        let host = normalize(host);
        let (_, addresses) = self.0.iter().find(|(known, _)| *known == host)?;
        Some(
            addresses
                .iter()
                .map(|ip| SocketAddr::new(*ip, port))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_by_name_whatever_the_spelling_the_last_answer_winning() {
        let mut answers = StaticAnswers::default();
        answers.insert("Meta.Test.", vec![IpAddr::from([169, 254, 169, 254])]);
        let expected = |port| Some(vec![SocketAddr::new([169, 254, 169, 254].into(), port)]);
        assert_eq!(answers.lookup("meta.test", 8080), expected(8080));
        assert_eq!(answers.lookup("META.test.", 443), expected(443));
        assert_eq!(answers.lookup("other.test", 443), None);
        answers.insert("meta.test", vec![IpAddr::from([10, 0, 0, 1])]);
        assert_eq!(
            answers.lookup("meta.test", 1),
            Some(vec![SocketAddr::new([10, 0, 0, 1].into(), 1)])
        );
    }
}
