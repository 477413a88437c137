//! The address guard (decisions.md D5) as ureq's resolver: the decision is the core's
//! [`AddressGuard`]; this file only feeds it what ureq's default resolver answered.

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;
pub(crate) use xaa::discovery::{AddressGuard, PrivateAddressRefused};

/// ureq's default resolver, with every answer filtered by the guard.
#[derive(Debug)]
pub(crate) struct GuardedResolver {
    inner: DefaultResolver,
    guard: AddressGuard,
}

impl GuardedResolver {
    pub(crate) fn new(guard: AddressGuard) -> Self {
        Self {
            inner: DefaultResolver::default(),
            guard,
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
        let kept = self
            .guard
            .filter(host, resolved.iter().copied())
            .map_err(|refused| ureq::Error::Other(Box::new(refused)))?;
        let mut answer = self.empty();
        for address in kept {
            answer.push(address);
        }
        Ok(answer)
    }
}
