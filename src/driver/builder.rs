//! [`ClientBuilder`]: the one builder of every driver's client.

use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;
use std::time::Duration;

use super::options::{ClientOptions, MAX_TIMEOUT, ProxySetting};
use crate::discovery::AddressGuard;

/// A client built from [`ClientOptions`]: [`BlockingClient`](super::BlockingClient) and
/// [`AsyncClient`](super::AsyncClient) over a driver's [`BuildTransport`](super::BuildTransport).
pub trait FromOptions: Sized {
    /// Why the client could not be built.
    type Error;

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// The driver's: a root certificate it cannot parse, no root at all, a proxy URL it
    /// refuses.
    fn from_options(options: ClientOptions) -> Result<Self, Self::Error>;
}

/// Builds a client `C` (`xaa_ureq::Client`, `xaa_reqwest::Client`). Every default is the
/// production setting; see [`ClientOptions`].
pub struct ClientBuilder<C> {
    options: ClientOptions,
    client: PhantomData<fn() -> C>,
}

impl<C> Clone for ClientBuilder<C> {
    fn clone(&self) -> Self {
        Self::from(self.options.clone())
    }
}

impl<C> fmt::Debug for ClientBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientBuilder").field(&self.options).finish()
    }
}

impl<C> Default for ClientBuilder<C> {
    fn default() -> Self {
        Self::from(ClientOptions::default())
    }
}

impl<C> From<ClientOptions> for ClientBuilder<C> {
    fn from(options: ClientOptions) -> Self {
        Self {
            options,
            client: PhantomData,
        }
    }
}

impl<C> ClientBuilder<C> {
    /// The options set so far.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// The total time one request may take, from resolving the host to reading the last byte
    /// of the body ([`DEFAULT_TIMEOUT`](super::DEFAULT_TIMEOUT)). Past it the request fails
    /// with [`DriverError::Timeout`](super::DriverError::Timeout). At most [`MAX_TIMEOUT`]: a longer one
    /// is cut to it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout.min(MAX_TIMEOUT);
        self
    }

    /// A bound for resolving and connecting (including TLS), within the total timeout; the
    /// driver's default when not set (none for `xaa-ureq`, 10 s for `xaa-reqwest`). At most
    /// [`MAX_TIMEOUT`]: a longer one is cut to it.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.options.connect_timeout = Some(timeout.min(MAX_TIMEOUT));
        self
    }

    /// The body cap of the responses a flow reads, [`Policy::max_body_bytes`] by default. A
    /// larger body is [`DriverError::BodyTooLarge`](super::DriverError::BodyTooLarge), never a truncated
    /// body. An [`Authorizer`](super::ClientAuthorizer) uses its own configuration's policy instead.
    ///
    /// [`Policy::max_body_bytes`]: crate::Policy::max_body_bytes
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.options.max_body_bytes = limit;
        self
    }

    /// The body cap of MCP responses read by an [`Authorizer`](super::ClientAuthorizer)'s `send`
    /// ([`DEFAULT_RESOURCE_BODY_BYTES`](super::DEFAULT_RESOURCE_BODY_BYTES)).
    pub fn resource_body_bytes(mut self, limit: usize) -> Self {
        self.options.resource_body_bytes = limit;
        self
    }

    /// Trusts this root certificate (DER) besides Mozilla's: a company CA, or one a test
    /// generated.
    pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.options.extra_roots.push(der.into());
        self
    }

    /// Whether to trust Mozilla's roots (the `webpki-root-certs` crate). On by default; off,
    /// only the certificates of [`ClientBuilder::add_root_certificate`] are trusted.
    pub fn webpki_roots(mut self, on: bool) -> Self {
        self.options.webpki_roots = on;
        self
    }

    /// The full address guard (decisions.md D5, RFC 9728 section 7.7): on, refuse to connect
    /// to a host every address of which is private or loopback
    /// ([`AddressClass`](crate::discovery::AddressClass)), and connect only to the allowed
    /// ones of a host that has both, except for the hosts of [`ClientBuilder::allow_host`]
    /// ([`AddressGuard::new`]). Off by default, because MCP servers and IdPs inside a company
    /// network legitimately resolve to private addresses; turn it on where a hostile document
    /// could name an internal host.
    ///
    /// On or off, the guard is always installed, for what names resolve to and for IP
    /// literals alike: off, it refuses only the addresses never connected to (link-local such
    /// as the `169.254.169.254` metadata service, `0.0.0.0`, multicast, ...:
    /// [`AddressGuard::never_only`]). [`ClientBuilder::address_guard`] sets the guard outright
    /// instead.
    ///
    /// The core refuses private IP literals in URLs on its own
    /// (`Policy::allow_private_addresses`); this guard adds the check on what names resolve
    /// to, which only the driver sees.
    pub fn deny_private_addresses(mut self, on: bool) -> Self {
        self.options.deny_private_addresses = on;
        self
    }

    /// Exempts a host (a name or an IP literal, compared case-insensitively) from the full
    /// address guard ([`ClientBuilder::deny_private_addresses`]): a proxy, an on-premises IdP.
    /// Never-class addresses stay refused.
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.options.allowed_hosts.push(host.into());
        self
    }

    /// The address guard, hosts and switches included, replacing what
    /// [`ClientBuilder::deny_private_addresses`] and [`ClientBuilder::allow_host`] say: for
    /// instance [`AddressGuard::for_server`], the flows' URL rule for one MCP server applied
    /// to what names resolve to. Whatever the guard, never-class addresses are refused.
    pub fn address_guard(mut self, guard: AddressGuard) -> Self {
        self.options.address_guard = Some(guard);
        self
    }

    /// Answers for `host` instead of DNS, like curl's `--resolve`: a connection to `host` goes
    /// to one of `addresses`, on the port of the request's URL (or its scheme's default).
    /// Names are compared case-insensitively and without a trailing dot; a second call for
    /// the same host replaces the first. The address guard still judges these addresses, as
    /// it does DNS answers. Through a proxy, only the proxy's own host is resolved here.
    pub fn resolve(
        mut self,
        host: impl Into<String>,
        addresses: impl IntoIterator<Item = IpAddr>,
    ) -> Self {
        self.options.resolve(&host.into(), addresses);
        self
    }

    /// Which proxy to use; [`ProxySetting::Environment`] by default.
    pub fn proxy(mut self, proxy: ProxySetting) -> Self {
        self.options.proxy = proxy;
        self
    }

    /// The `User-Agent` header (`xaa-ureq/<version>`, `xaa-reqwest/<version>` by default).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.options.user_agent = Some(user_agent.into());
        self
    }
}

impl<C: FromOptions> ClientBuilder<C> {
    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`DriverError::Config`](super::DriverError::Config) for a root certificate the driver cannot
    /// parse, no root certificate at all, a proxy URL it refuses, or a client it cannot
    /// build.
    pub fn build(self) -> Result<C, C::Error> {
        C::from_options(self.options)
    }
}
