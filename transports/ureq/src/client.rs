//! The HTTP client: a ureq agent configured for OAuth, and the conversions around it.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::Method;
use ureq::Agent;
use ureq::unversioned::transport::DefaultConnector;
use xaa::{DriveError, Flow, HttpRequest, HttpResponse, Policy};

use crate::Error;
use crate::guard::{AddressGuard, GuardedResolver};
use crate::tls;

/// The default total time for one request: connect, TLS, send, and read the whole response.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The default body cap of MCP responses ([`BlockingAuthorizer::send`]). Flows use the much
/// smaller [`Policy::max_body_bytes`].
///
/// [`BlockingAuthorizer::send`]: crate::BlockingAuthorizer::send
pub const DEFAULT_RESOURCE_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Which proxy the client goes through.
///
/// Whatever the setting, the address guard ([`ClientBuilder::deny_private_addresses`]) checks
/// what this process resolves: through a proxy that is the proxy's own host (list it with
/// [`ClientBuilder::allow_host`] if it is on a private address), while the target's name is
/// resolved, and not checked, by the proxy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxySetting {
    /// The first of `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` (or their lowercase forms) that
    /// is set, for every request, with `NO_PROXY` exempting hosts; read once, when the client
    /// is built. No variable set: direct connections. This is ureq's own default, kept.
    #[default]
    Environment,
    /// Direct connections only, whatever the environment says.
    None,
    /// This proxy for every request: `http://host:port` or `https://host:port` (HTTP
    /// `CONNECT`), optionally with `user:password@`. SOCKS is not enabled in this crate.
    Url(String),
}

/// Builds a [`Client`]. Every default is the production setting.
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    timeout: Duration,
    connect_timeout: Option<Duration>,
    max_body_bytes: usize,
    resource_body_bytes: usize,
    webpki_roots: bool,
    extra_roots: Vec<Vec<u8>>,
    deny_private_addresses: bool,
    allowed_hosts: Vec<String>,
    proxy: ProxySetting,
    user_agent: String,
}

impl Default for ClientBuilder {
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
            proxy: ProxySetting::Environment,
            user_agent: concat!("xaa-ureq/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

impl ClientBuilder {
    /// The total time one request may take, from resolving the host to reading the last byte
    /// of the body ([`DEFAULT_TIMEOUT`]). Past it the request fails with [`Error::Timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A shorter bound for resolving and connecting (including TLS), within the total timeout.
    /// None by default.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The body cap of the responses a flow reads, [`Policy::max_body_bytes`] by default. A
    /// larger body is [`Error::BodyTooLarge`], never a truncated body. The
    /// [`BlockingAuthorizer`](crate::BlockingAuthorizer) uses its own configuration's policy
    /// instead.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// The body cap of MCP responses read by
    /// [`BlockingAuthorizer::send`](crate::BlockingAuthorizer::send)
    /// ([`DEFAULT_RESOURCE_BODY_BYTES`]).
    pub fn resource_body_bytes(mut self, limit: usize) -> Self {
        self.resource_body_bytes = limit;
        self
    }

    /// Trusts this root certificate (DER) besides Mozilla's: a company CA, or one a test
    /// generated.
    pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(der.into());
        self
    }

    /// Whether to trust Mozilla's roots (the `webpki-root-certs` crate). On by default; off,
    /// only the certificates of [`ClientBuilder::add_root_certificate`] are trusted.
    pub fn webpki_roots(mut self, on: bool) -> Self {
        self.webpki_roots = on;
        self
    }

    /// The address guard (decisions.md D5): refuse to connect to a host every address of
    /// which is private, loopback, link-local or otherwise local
    /// ([`xaa::discovery::is_private_or_local`]), and connect only to the public ones of a host
    /// that has both. IP literals are checked too. Off by default, because MCP servers and IdPs
    /// inside a company network legitimately resolve to private addresses; turn it on where
    /// a hostile document could name an internal host, and list the internal hosts you trust
    /// with [`ClientBuilder::allow_host`].
    ///
    /// The core refuses private IP literals in URLs on its own (`Policy::allow_private_addresses`);
    /// this guard adds the check on what names resolve to, which only the driver sees.
    pub fn deny_private_addresses(mut self, on: bool) -> Self {
        self.deny_private_addresses = on;
        self
    }

    /// Exempts a host (a name or an IP literal, compared case-insensitively) from the address
    /// guard: a proxy, an on-premises IdP.
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.allowed_hosts.push(host.into());
        self
    }

    /// Which proxy to use; [`ProxySetting::Environment`] by default.
    pub fn proxy(mut self, proxy: ProxySetting) -> Self {
        self.proxy = proxy;
        self
    }

    /// The `User-Agent` header (`xaa-ureq/<version>` by default).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a root certificate rustls cannot parse, no root certificate at
    /// all, or a proxy URL ureq refuses.
    pub fn build(self) -> Result<Client, Error> {
        let proxy = match &self.proxy {
            ProxySetting::Environment => ureq::Proxy::try_from_env(),
            ProxySetting::None => None,
            ProxySetting::Url(url) => Some(
                ureq::Proxy::new(url)
                    .map_err(|_| Error::Config("the proxy URL is not valid".into()))?,
            ),
        };
        let config = Agent::config_builder()
            // A 3xx comes back as a response, which the core refuses (decisions.md D4).
            .max_redirects(0)
            // OAuth error bodies (400 invalid_grant, ...) reach the core.
            .http_status_as_error(false)
            .timeout_global(Some(self.timeout))
            .timeout_connect(self.connect_timeout)
            .proxy(proxy)
            .user_agent(self.user_agent.as_str())
            .tls_config(tls::config(self.webpki_roots, &self.extra_roots)?)
            .build();
        let agent = if self.deny_private_addresses {
            Agent::with_parts(
                config,
                DefaultConnector::new(),
                GuardedResolver::new(AddressGuard::new(&self.allowed_hosts)),
            )
        } else {
            Agent::new_with_config(config)
        };
        Ok(Client {
            agent,
            max_body_bytes: self.max_body_bytes,
            resource_body_bytes: self.resource_body_bytes,
        })
    }
}

/// A blocking HTTP client for OAuth flows: ureq 3 with no redirects, every status a response,
/// a total timeout, a body cap, and TLS through rustls with aws-lc-rs.
///
/// Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    agent: Agent,
    max_body_bytes: usize,
    resource_body_bytes: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("resource_body_bytes", &self.resource_body_bytes)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with every default; see [`ClientBuilder`].
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::build`]; with the defaults only a proxy URL in the environment that
    /// ureq cannot use is skipped, not an error.
    pub fn new() -> Result<Self, Error> {
        Self::builder().build()
    }

    /// A builder with every default.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Runs `flow` to completion with [`xaa::drive`], the system clock and this client, each
    /// response body capped at the client's [`ClientBuilder::max_body_bytes`].
    ///
    /// # Errors
    ///
    /// [`Error::Flow`] with the flow's error; a transport-level variant ([`Error::Transport`],
    /// [`Error::Timeout`], [`Error::BodyTooLarge`], [`Error::PrivateAddress`]) naming the
    /// step whose request failed.
    pub fn run<F: Flow>(&self, flow: F) -> Result<F::Output, Error> {
        self.run_with_limit(flow, self.max_body_bytes)
    }

    pub(crate) fn run_with_limit<F: Flow>(
        &self,
        flow: F,
        limit: usize,
    ) -> Result<F::Output, Error> {
        xaa::drive(flow, SystemTime::now, |request| {
            self.send_with_limit(request, limit)
        })
        .map_err(from_drive)
    }

    /// Sends one request as given and reads the whole response, body capped at
    /// [`ClientBuilder::max_body_bytes`]. Any status is a response; a 3xx is not followed.
    ///
    /// # Errors
    ///
    /// The transport-level variants, with no purpose: no response was had.
    pub fn send(&self, request: HttpRequest) -> Result<HttpResponse, Error> {
        self.send_with_limit(request, self.max_body_bytes)
    }

    /// [`Client::send`] with the MCP response cap.
    pub(crate) fn send_resource(&self, request: HttpRequest) -> Result<HttpResponse, Error> {
        self.send_with_limit(request, self.resource_body_bytes)
    }

    pub(crate) fn send_with_limit(
        &self,
        request: HttpRequest,
        limit: usize,
    ) -> Result<HttpResponse, Error> {
        let (parts, body) = request.into_parts();
        let response = if body.is_empty() && !carries_body(&parts.method) {
            // No `Content-Length: 0` on a GET.
            self.agent.run(http::Request::from_parts(parts, ()))
        } else {
            self.agent.run(http::Request::from_parts(parts, body))
        }?;
        read_capped(response, limit)
    }
}

/// Methods whose requests normally have a body: an empty one is sent as `Content-Length: 0`.
fn carries_body(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

/// Reads the whole body, at most `limit` bytes: more is [`Error::BodyTooLarge`].
fn read_capped(response: http::Response<ureq::Body>, limit: usize) -> Result<HttpResponse, Error> {
    let (parts, mut body) = response.into_parts();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let cap = u64::try_from(limit).unwrap_or(u64::MAX);
    if declared.is_some_and(|length| length > cap) {
        return Err(Error::BodyTooLarge {
            purpose: None,
            limit,
        });
    }
    let bytes = body.with_config().limit(cap).read_to_vec()?;
    Ok(http::Response::from_parts(parts, bytes))
}

/// The drive's error as this crate's: a transport failure keeps its type and gains the step.
pub(crate) fn from_drive(error: DriveError<Error>) -> Error {
    match error {
        DriveError::Transport { purpose, source } => source.with_purpose(purpose),
        DriveError::Flow(error) => Error::Flow(error),
        other => Error::Flow(xaa::Error::Transport {
            purpose: other.purpose(),
            message: other.to_string(),
        }),
    }
}
