//! The address guard (decisions.md D5) as reqwest's resolver: the decision is the core's
//! [`AddressGuard`]; this file only feeds it what the system resolver answered.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
pub(crate) use xaa::discovery::{AddressGuard, PrivateAddressRefused};

/// The system resolver (`getaddrinfo` on tokio's blocking pool, as reqwest's default), with
/// every answer filtered by the guard.
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
