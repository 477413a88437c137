//! The address guard (decisions.md D5): a resolver that refuses private, loopback and
//! link-local addresses unless the host is allowed.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;
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

    fn allows_host(&self, host: &str) -> bool {
        let host = normalize(host);
        self.allowed_hosts.contains(&host)
    }
}

/// Lowercase, without the brackets of an IPv6 literal or a trailing dot.
fn normalize(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// The resolver's refusal, carried through ureq as `ureq::Error::Other` and turned into
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

/// ureq's default resolver, with private addresses filtered out of every answer. A host whose
/// every address is private is refused; one with public addresses too connects to those only
/// (a DNS-rebinding answer mixing both cannot steer the connection inside).
#[derive(Debug)]
pub(crate) struct GuardedResolver {
    inner: DefaultResolver,
    guard: Arc<AddressGuard>,
}

impl GuardedResolver {
    pub(crate) fn new(guard: AddressGuard) -> Self {
        Self {
            inner: DefaultResolver::default(),
            guard: Arc::new(guard),
        }
    }
}

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let resolved = self.inner.resolve(uri, config, timeout)?;
        let host = uri.host().unwrap_or_default();
        if self.guard.allows_host(host) {
            return Ok(resolved);
        }
        let mut kept = self.empty();
        let mut refused = None;
        for address in &resolved {
            if is_private_or_local(address.ip()) {
                refused.get_or_insert(address.ip());
            } else {
                kept.push(*address);
            }
        }
        match refused {
            Some(address) if kept.is_empty() => {
                Err(ureq::Error::Other(Box::new(PrivateAddressRefused {
                    host: normalize(host),
                    address,
                })))
            }
            _ => Ok(kept),
        }
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
}
