//! The address guard (decisions.md D5) as reqwest's resolver, installed on every client: the
//! decision is the core's [`AddressGuard`]; this file only feeds it what the system resolver
//! (or a static answer) gave.
//!
//! reqwest connects to IP-literal hosts without asking the resolver, so the client checks
//! literals itself before sending ([`AddressGuard::check_literal`]).

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use xaa::discovery::{AddressGuard, StaticAnswers};

/// The system resolver (`getaddrinfo` on tokio's blocking pool, as reqwest's default), or a
/// static answer, with every answer filtered by the guard.
#[derive(Debug)]
pub(crate) struct GuardedResolver {
    guard: Arc<AddressGuard>,
    answers: Arc<StaticAnswers>,
}

impl GuardedResolver {
    pub(crate) fn new(guard: Arc<AddressGuard>, answers: StaticAnswers) -> Self {
        Self {
            guard,
            answers: Arc::new(answers),
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = Arc::clone(&self.guard);
        let answers = Arc::clone(&self.answers);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // The port is replaced by the connector, for a static answer as for the system's.
            let resolved: Vec<SocketAddr> = match answers.lookup(&host, 0) {
                Some(addresses) => addresses,
                // The port is replaced by the connector.
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            let kept = guard.filter(&host, resolved)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}
