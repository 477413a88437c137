//! The address guard (decisions.md D5): a resolver that refuses private, loopback and
//! link-local addresses unless the host is allowed.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use xaa::discovery::is_private_or_local;

/// Which hosts may resolve to private addresses.
#[derive(Clone, Debug, Default)]
pub(crate) struct AddressGuard {
    /// Lowercased host names or IP literals exempt from the guard (a proxy on the company
    /// network, an on-premises IdP).
    allowed_hosts: Vec<String>,
}

impl AddressGuard {
    pub(crate) fn new(allowed_hosts: &[String]) -> Self {
        Self {
            allowed_hosts: allowed_hosts.iter().map(|h| normalize(h)).collect(),
        }
    }

    pub(crate) fn allows_host(&self, host: &str) -> bool {
        self.allowed_hosts.contains(&normalize(host))
    }

    /// Checks a URI whose host is an IP literal: those never reach the resolver.
    pub(crate) fn check_literal(&self, uri: &http::Uri) -> Result<(), PrivateAddressRefused> {
        let Some(host) = uri.host() else {
            return Ok(());
        };
        let Ok(address) = normalize(host).parse::<IpAddr>() else {
            return Ok(());
        };
        if is_private_or_local(address) && !self.allows_host(host) {
            return Err(PrivateAddressRefused {
                host: normalize(host),
                address,
            });
        }
        Ok(())
    }

    /// Keeps the public addresses of `host`; none left is a refusal.
    fn filter(
        &self,
        host: &str,
        addresses: Vec<SocketAddr>,
    ) -> Result<Vec<SocketAddr>, PrivateAddressRefused> {
        if self.allows_host(host) {
            return Ok(addresses);
        }
        let refused = addresses
            .iter()
            .map(SocketAddr::ip)
            .find(|ip| is_private_or_local(*ip));
        let kept: Vec<_> = addresses
            .into_iter()
            .filter(|a| !is_private_or_local(a.ip()))
            .collect();
        match refused {
            Some(address) if kept.is_empty() => Err(PrivateAddressRefused {
                host: normalize(host),
                address,
            }),
            _ => Ok(kept),
        }
    }
}

/// Lowercase, without the brackets of an IPv6 literal or a trailing dot.
fn normalize(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// The resolver's refusal, carried through reqwest's error chain and turned into
/// [`Error::PrivateAddress`](crate::Error::PrivateAddress).
#[derive(Debug)]
pub(crate) struct PrivateAddressRefused {
    pub(crate) host: String,
    pub(crate) address: IpAddr,
}

impl fmt::Display for PrivateAddressRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} resolves to the private address {}",
            self.host, self.address
        )
    }
}

impl std::error::Error for PrivateAddressRefused {}

/// The system resolver (`getaddrinfo` on tokio's blocking pool, as reqwest's default), with
/// private addresses filtered out of every answer. A host whose every address is private is
/// refused; one with public addresses too connects to those only (a DNS-rebinding answer
/// mixing both cannot steer the connection inside).
#[derive(Debug)]
pub(crate) struct GuardedResolver {
    guard: Arc<AddressGuard>,
}

impl GuardedResolver {
    pub(crate) fn new(guard: Arc<AddressGuard>) -> Self {
        Self { guard }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = Arc::clone(&self.guard);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // The port is replaced by the connector.
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept = guard.filter(&host, resolved)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_hosts_match_case_insensitively_without_brackets() {
        let guard = AddressGuard::new(&["Proxy.Corp.".into(), "[::1]".into()]);
        assert!(guard.allows_host("proxy.corp"));
        assert!(guard.allows_host("[::1]"));
        assert!(!guard.allows_host("idp.corp"));
    }

    #[test]
    fn mixed_answers_keep_the_public_addresses() {
        let guard = AddressGuard::default();
        let public: SocketAddr = "93.184.215.14:0".parse().expect("addr");
        let private: SocketAddr = "10.0.0.1:0".parse().expect("addr");
        assert_eq!(
            guard.filter("a.example", vec![private, public]).ok(),
            Some(vec![public])
        );
        assert!(guard.filter("a.example", vec![private]).is_err());
    }

    #[test]
    fn private_literals_are_refused_unless_allowed() {
        let uri: http::Uri = "http://[::1]:8080/x".parse().expect("uri");
        assert!(AddressGuard::default().check_literal(&uri).is_err());
        assert!(
            AddressGuard::new(&["::1".into()])
                .check_literal(&uri)
                .is_ok()
        );
        let public: http::Uri = "https://93.184.215.14/".parse().expect("uri");
        assert!(AddressGuard::default().check_literal(&public).is_ok());
    }
}
