//! The address guard for drivers (decisions.md D5, RFC 9728 section 7.7): which resolved
//! addresses a connection may use. The flows check URLs; a driver's resolver asks this guard
//! about the addresses a host name resolved to, so one decision serves every driver.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use super::urls::is_private_or_local;

/// Refuses private, loopback and link-local addresses, except for hosts explicitly allowed
/// (a proxy on the company network, an on-premises IdP).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressGuard {
    allowed_hosts: Vec<String>,
}

/// A host whose every address is private, and it is not allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateAddressRefused {
    /// The host, normalized.
    pub host: String,
    /// The first private address it resolved to.
    pub address: IpAddr,
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

/// Lowercase, without the brackets of an IPv6 literal or a trailing dot.
fn normalize(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

impl AddressGuard {
    /// A guard exempting `allowed_hosts` (names or IP literals, any case).
    pub fn new<I, S>(allowed_hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            allowed_hosts: allowed_hosts
                .into_iter()
                .map(|h| normalize(h.as_ref()))
                .collect(),
        }
    }

    /// Whether `host` is exempt.
    pub fn allows_host(&self, host: &str) -> bool {
        self.allowed_hosts.contains(&normalize(host))
    }

    /// Checks a host that is an IP literal (those never reach a resolver); names pass.
    pub fn check_literal(&self, host: &str) -> Result<(), PrivateAddressRefused> {
        match normalize(host).parse::<IpAddr>() {
            Ok(address) if is_private_or_local(address) && !self.allows_host(host) => {
                Err(PrivateAddressRefused {
                    host: normalize(host),
                    address,
                })
            }
            _ => Ok(()),
        }
    }

    /// Keeps the public addresses `host` resolved to. A host with only private addresses is
    /// refused; one with both connects to the public ones only, so a DNS-rebinding answer that
    /// mixes the two cannot steer the connection inside.
    pub fn filter(
        &self,
        host: &str,
        addresses: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, PrivateAddressRefused> {
        let addresses: Vec<SocketAddr> = addresses.into_iter().collect();
        if self.allows_host(host) {
            return Ok(addresses);
        }
        let refused = addresses
            .iter()
            .map(SocketAddr::ip)
            .find(|ip| is_private_or_local(*ip));
        let kept: Vec<SocketAddr> = addresses
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

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    #[test]
    fn filters_private_addresses() {
        let guard = AddressGuard::new(["Proxy.Corp.", "[::1]"]);
        assert!(guard.allows_host("proxy.corp"));
        assert!(guard.allows_host("::1"));
        let mixed = [addr("10.0.0.1:443"), addr("93.184.216.34:443")];
        assert_eq!(
            guard.filter("example.com", mixed),
            Ok(vec![addr("93.184.216.34:443")])
        );
        let private = [addr("127.0.0.1:443")];
        assert!(guard.filter("evil.example", private).is_err());
        assert_eq!(guard.filter("proxy.corp", private), Ok(private.to_vec()));
        assert!(guard.check_literal("[fe80::1]").is_err());
        assert!(guard.check_literal("[::1]").is_ok());
        assert!(guard.check_literal("example.com").is_ok());
    }
}
