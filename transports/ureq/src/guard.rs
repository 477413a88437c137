//! The address guard (decisions.md D5) as ureq's resolver, installed on every client: the
//! decision is the core's [`AddressGuard`]; this file only feeds it what ureq's default
//! resolver (or a static answer) gave.
//!
//! ureq hands IP-literal hosts to its resolver too (`[::1]:443` parses as a socket address
//! there), so literals are checked here as well, with no separate check.

use std::net::SocketAddr;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;
use xaa::discovery::{AddressGuard, StaticAnswers};
use xaa::driver::port_of;

/// ureq's default resolver, or a static answer, with every answer filtered by the guard.
#[derive(Debug)]
pub(crate) struct GuardedResolver {
    pub(crate) inner: DefaultResolver,
    pub(crate) guard: AddressGuard,
    pub(crate) answers: StaticAnswers,
}

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let resolved: Vec<_> = match static_answer(&self.answers, uri) {
            Some(answer) => answer?,
            None => self.inner.resolve(uri, config, timeout)?.to_vec(),
        };
        let host = uri.host().unwrap_or_default();
        let kept = self
            .guard
            .filter(host, resolved)
            .map_err(|refused| ureq::Error::Other(Box::new(refused)))?;
        let mut answer = self.empty();
        for address in kept {
            // At most as many as ureq keeps; more from a static answer are dropped.
            if answer.try_push(address).is_err() {
                break;
            }
        }
        if answer.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(answer)
    }
}

/// The static answer for `uri`'s host, on the URI's port (or its scheme's default). `Err` for
/// a URI with neither a port nor a known scheme.
fn static_answer(
    answers: &StaticAnswers,
    uri: &Uri,
) -> Option<Result<Vec<SocketAddr>, ureq::Error>> {
    let host = uri.host()?;
    let port = port_of(uri);
    let addresses = answers.lookup(host, port.unwrap_or(0))?;
    Some(
        port.map(|_| addresses)
            .ok_or_else(|| ureq::Error::BadUri(format!("no port for {host}"))),
    )
}
