//! The options of a driver's HTTP client, one set for every driver, as [`ClientBuilder`]
//! sets them and a [`BuildTransport`] reads them.
//!
//! [`ClientBuilder`]: super::ClientBuilder
//! [`BuildTransport`]: super::BuildTransport

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use super::error::DriverError;
use super::transport::Transport;
use crate::Policy;
use crate::discovery::{AddressGuard, StaticAnswers};

/// The default total time for one request: connect, TLS, send, and read the whole response.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest timeout a client takes ([`ClientBuilder::timeout`],
/// [`ClientBuilder::connect_timeout`]): one day. Longer values are cut to it, so no timeout,
/// however large, overflows the clock when a request starts.
///
/// [`ClientBuilder::timeout`]: super::ClientBuilder::timeout
/// [`ClientBuilder::connect_timeout`]: super::ClientBuilder::connect_timeout
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The default body cap of MCP responses ([`Authorizer::send`](super::ClientAuthorizer)). Flows use
/// the much smaller [`Policy::max_body_bytes`].
pub const DEFAULT_RESOURCE_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Which proxy the client goes through.
///
/// Whatever the setting, the address guard checks what this process resolves: through a proxy
/// that is the proxy's own host (allow it with [`ClientBuilder::allow_host`] if it is on a
/// private address), while the target's name is resolved, and not checked, by the proxy.
///
/// `Debug` never shows a proxy URL, which may carry a password.
///
/// [`ClientBuilder::allow_host`]: super::ClientBuilder::allow_host
#[derive(Clone, Default, PartialEq, Eq)]
pub enum ProxySetting {
    /// The HTTP client's own default, kept: `HTTPS_PROXY`, `HTTP_PROXY` or `ALL_PROXY` (or
    /// their lowercase forms), with `NO_PROXY` exempting hosts, read when the client is built;
    /// `xaa-reqwest` with its `system-proxy` feature also reads the macOS and Windows settings.
    /// No setting: direct connections.
    #[default]
    Environment,
    /// Direct connections only, whatever the environment says.
    None,
    /// This proxy for every request: `http://host:port` or `https://host:port` (HTTP
    /// `CONNECT`), optionally with `user:password@`.
    Url(String),
}

impl fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Environment => f.write_str("Environment"),
            Self::None => f.write_str("None"),
            Self::Url(_) => f.write_str("Url(..)"),
        }
    }
}

/// Everything a driver's client is configured with. Built by [`ClientBuilder`]; a driver
/// reads it in [`BuildTransport::build`]. Every default is the production setting.
///
/// [`ClientBuilder`]: super::ClientBuilder
/// [`BuildTransport::build`]: super::BuildTransport::build
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The total time of one request, at most [`MAX_TIMEOUT`] ([`DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
    /// A bound for resolving and connecting, TLS included, at most [`MAX_TIMEOUT`]; `None`:
    /// the driver's default (none for `xaa-ureq`, 10 s for `xaa-reqwest`).
    pub connect_timeout: Option<Duration>,
    /// The body cap of the responses a flow reads ([`Policy::max_body_bytes`]).
    pub max_body_bytes: usize,
    /// The body cap of MCP responses ([`DEFAULT_RESOURCE_BODY_BYTES`]).
    pub resource_body_bytes: usize,
    /// Whether Mozilla's roots (`webpki-root-certs`) are trusted.
    pub webpki_roots: bool,
    /// More trusted roots, DER.
    pub extra_roots: Vec<Vec<u8>>,
    /// The full address guard instead of the never-class one (decisions.md D5).
    pub deny_private_addresses: bool,
    /// Hosts exempt from the full guard.
    pub allowed_hosts: Vec<String>,
    /// A guard set outright, replacing the two fields above.
    pub address_guard: Option<AddressGuard>,
    /// Names answered without DNS.
    pub static_answers: StaticAnswers,
    /// The proxy.
    pub proxy: ProxySetting,
    /// The `User-Agent` header; `None`: the driver's (`xaa-ureq/<version>`, ...).
    pub user_agent: Option<String>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            max_body_bytes: Policy::default().max_body_bytes,
            resource_body_bytes: DEFAULT_RESOURCE_BODY_BYTES,
            webpki_roots: true,
            extra_roots: Vec::new(),
            deny_private_addresses: false,
            allowed_hosts: Vec::new(),
            address_guard: None,
            static_answers: StaticAnswers::default(),
            proxy: ProxySetting::Environment,
            user_agent: None,
        }
    }
}

impl ClientOptions {
    /// The address guard to install (decisions.md D5, RFC 9728 section 7.7): the one set
    /// outright, else the full guard with the allowed hosts when private addresses are
    /// denied, else the guard that refuses only the never class. Every one refuses the never
    /// class.
    pub fn guard(&self) -> AddressGuard {
        match &self.address_guard {
            Some(guard) => guard.clone(),
            None if self.deny_private_addresses => AddressGuard::new(&self.allowed_hosts),
            None => AddressGuard::never_only(),
        }
    }

    /// The user agent: the one set, or `default` (the driver's name and version).
    pub fn user_agent_or<'a>(&'a self, default: &'a str) -> &'a str {
        self.user_agent.as_deref().unwrap_or(default)
    }

    /// Refuses options that leave no root certificate at all (Mozilla's off, none added):
    /// no server could be verified.
    ///
    /// # Errors
    ///
    /// [`DriverError::Config`].
    pub fn check_roots<T: Transport>(&self) -> Result<(), DriverError<T>> {
        if self.webpki_roots || !self.extra_roots.is_empty() {
            return Ok(());
        }
        Err(DriverError::Config(
            "no root certificates: keep Mozilla's roots or add one".into(),
        ))
    }

    pub(super) fn resolve(&mut self, host: &str, addresses: impl IntoIterator<Item = IpAddr>) {
        self.static_answers
            .insert(host, addresses.into_iter().collect());
    }
}
