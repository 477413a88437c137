//! The HTTP client: a reqwest client configured for OAuth, and the conversions around it.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::Method;
use xaa::{DriveError, Flow, HttpRequest, HttpResponse, Policy, RequestUrl};

use crate::Error;
use crate::guard::{AddressGuard, GuardedResolver};
use xaa::discovery::StaticAnswers;

/// The default total time for one request: connect, TLS, send, and read the whole response.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The default connect timeout (resolve, TCP and TLS), within the total one.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest timeout a client takes ([`ClientBuilder::timeout`],
/// [`ClientBuilder::connect_timeout`]): one day. Longer values are cut to it, so no timeout,
/// however large, overflows the clock when a request starts.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The default body cap of MCP responses ([`Authorizer::send`]). Flows use the much smaller
/// [`Policy::max_body_bytes`].
///
/// [`Authorizer::send`]: crate::Authorizer::send
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
    /// reqwest's default, kept: `HTTP_PROXY` for http and `HTTPS_PROXY` for https URLs
    /// (`ALL_PROXY` for both, lowercase forms too), `NO_PROXY` exempting hosts, and with the
    /// `system-proxy` feature (on by default) the operating system's settings on macOS and
    /// Windows. No setting: direct connections.
    #[default]
    Environment,
    /// Direct connections only, whatever the environment says.
    None,
    /// This proxy for every request: `http://host:port`, `https://host:port`, optionally with
    /// `user:password@`.
    Url(String),
}

/// Builds a [`Client`]. Every default is the production setting.
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    timeout: Duration,
    connect_timeout: Duration,
    max_body_bytes: usize,
    resource_body_bytes: usize,
    #[cfg(feature = "rustls")]
    webpki_roots: bool,
    #[cfg(feature = "rustls")]
    extra_roots: Vec<Vec<u8>>,
    deny_private_addresses: bool,
    allowed_hosts: Vec<String>,
    address_guard: Option<AddressGuard>,
    static_answers: StaticAnswers,
    proxy: ProxySetting,
    user_agent: String,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_body_bytes: Policy::default().max_body_bytes,
            resource_body_bytes: DEFAULT_RESOURCE_BODY_BYTES,
            #[cfg(feature = "rustls")]
            webpki_roots: true,
            #[cfg(feature = "rustls")]
            extra_roots: Vec::new(),
            deny_private_addresses: false,
            allowed_hosts: Vec::new(),
            address_guard: None,
            static_answers: StaticAnswers::default(),
            proxy: ProxySetting::Environment,
            user_agent: concat!("xaa-reqwest/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

impl ClientBuilder {
    /// The total time one request may take, from connecting to reading the last byte of the
    /// body ([`DEFAULT_TIMEOUT`]). Past it the request fails with [`Error::Timeout`]. At most
    /// [`MAX_TIMEOUT`]: a longer one is cut to it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.min(MAX_TIMEOUT);
        self
    }

    /// The bound for resolving and connecting, TLS included ([`DEFAULT_CONNECT_TIMEOUT`]). At
    /// most [`MAX_TIMEOUT`]: a longer one is cut to it.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout.min(MAX_TIMEOUT);
        self
    }

    /// The body cap of the responses a flow reads, [`Policy::max_body_bytes`] by default. A
    /// larger body is [`Error::BodyTooLarge`], never a truncated body. The
    /// [`Authorizer`](crate::Authorizer) uses its own configuration's policy instead.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// The body cap of MCP responses read by [`Authorizer::send`](crate::Authorizer::send)
    /// ([`DEFAULT_RESOURCE_BODY_BYTES`]).
    pub fn resource_body_bytes(mut self, limit: usize) -> Self {
        self.resource_body_bytes = limit;
        self
    }

    /// Trusts this root certificate (DER) besides Mozilla's: a company CA, or one a test
    /// generated.
    #[cfg(feature = "rustls")]
    pub fn add_root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(der.into());
        self
    }

    /// Whether to trust Mozilla's roots (the `webpki-root-certs` crate). On by default; off,
    /// only the certificates of [`ClientBuilder::add_root_certificate`] are trusted.
    #[cfg(feature = "rustls")]
    pub fn webpki_roots(mut self, on: bool) -> Self {
        self.webpki_roots = on;
        self
    }

    /// The full address guard (decisions.md D5, RFC 9728 section 7.7): on, refuse to connect
    /// to a host every address of which is private or loopback
    /// ([`xaa::discovery::AddressClass`]), and connect only to the allowed ones of a host that
    /// has both, except for the hosts of [`ClientBuilder::allow_host`]
    /// ([`AddressGuard::new`](xaa::discovery::AddressGuard::new)). Off by default, because MCP
    /// servers and IdPs inside a company network legitimately resolve to private addresses;
    /// turn it on where a hostile document could name an internal host.
    ///
    /// On or off, the guard is always installed: off, it refuses only the addresses never
    /// connected to (link-local such as the `169.254.169.254` metadata service, `0.0.0.0`,
    /// multicast, ...: [`AddressGuard::never_only`](xaa::discovery::AddressGuard::never_only)).
    /// It is a resolver given to reqwest (`dns_resolver`); IP literals, which reqwest does not
    /// resolve, are checked before sending. [`ClientBuilder::address_guard`] sets the guard
    /// outright instead.
    ///
    /// The core refuses private IP literals in URLs on its own (`Policy::allow_private_addresses`);
    /// this guard adds the check on what names resolve to, which only the driver sees.
    pub fn deny_private_addresses(mut self, on: bool) -> Self {
        self.deny_private_addresses = on;
        self
    }

    /// Exempts a host (a name or an IP literal, compared case-insensitively) from the full
    /// address guard ([`ClientBuilder::deny_private_addresses`]): a proxy, an on-premises IdP.
    /// Never-class addresses stay refused.
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.allowed_hosts.push(host.into());
        self
    }

    /// The address guard, hosts and switches included, replacing what
    /// [`ClientBuilder::deny_private_addresses`] and [`ClientBuilder::allow_host`] say: for
    /// instance [`AddressGuard::for_server`](xaa::discovery::AddressGuard::for_server), the
    /// flows' URL rule for one MCP server applied to what names resolve to. Whatever the
    /// guard, never-class addresses are refused.
    pub fn address_guard(mut self, guard: AddressGuard) -> Self {
        self.address_guard = Some(guard);
        self
    }

    /// Answers for `host` instead of DNS, like curl's `--resolve`: a connection to `host`
    /// goes to one of `addresses`, on the URL's port. Names are compared case-insensitively
    /// and without a trailing dot; a second call for the same host replaces the first. The
    /// address guard still judges these addresses, as it does DNS answers (reqwest's own
    /// `resolve` would answer before the guard is asked). Through a proxy, only the proxy's
    /// own host is resolved here.
    pub fn resolve(
        mut self,
        host: impl Into<String>,
        addresses: impl IntoIterator<Item = IpAddr>,
    ) -> Self {
        self.static_answers
            .insert(&host.into(), addresses.into_iter().collect());
        self
    }

    /// Which proxy to use; [`ProxySetting::Environment`] by default.
    pub fn proxy(mut self, proxy: ProxySetting) -> Self {
        self.proxy = proxy;
        self
    }

    /// The `User-Agent` header (`xaa-reqwest/<version>` by default).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a root certificate rustls cannot parse, no root certificate at
    /// all, a proxy URL reqwest refuses, or a client reqwest cannot build.
    pub fn build(self) -> Result<Client, Error> {
        let mut builder = reqwest::Client::builder()
            // A 3xx comes back as a response, which the core refuses (decisions.md D4).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent.as_str())
            // No `Referer` header toward token endpoints.
            .referer(false);
        builder = match &self.proxy {
            ProxySetting::Environment => builder,
            ProxySetting::None => builder.no_proxy(),
            ProxySetting::Url(url) => builder.proxy(
                reqwest::Proxy::all(url.as_str())
                    .map_err(|_| Error::Config("the proxy URL is not valid".into()))?,
            ),
        };
        #[cfg(feature = "rustls")]
        {
            builder = builder.tls_backend_preconfigured(crate::tls::config(
                self.webpki_roots,
                &self.extra_roots,
            )?);
        }
        let guard = Arc::new(match self.address_guard {
            Some(guard) => guard,
            None if self.deny_private_addresses => AddressGuard::new(&self.allowed_hosts),
            None => AddressGuard::never_only(),
        });
        builder = builder.dns_resolver(Arc::new(GuardedResolver::new(
            Arc::clone(&guard),
            self.static_answers,
        )));
        let http = builder
            .build()
            .map_err(|e| Error::Config(format!("reqwest: {e}")))?;
        Ok(Client {
            http,
            guard,
            max_body_bytes: self.max_body_bytes,
            resource_body_bytes: self.resource_body_bytes,
        })
    }
}

/// An async HTTP client for OAuth flows: reqwest 0.13 with no redirects, every status a
/// response, connect and total timeouts, a body cap, and TLS through rustls with aws-lc-rs.
///
/// Cheap to clone: clones share the connection pool. Needs a tokio runtime, as reqwest does.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    guard: Arc<AddressGuard>,
    max_body_bytes: usize,
    resource_body_bytes: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("resource_body_bytes", &self.resource_body_bytes)
            .field("address_guard", &self.guard)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with every default; see [`ClientBuilder`].
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::build`].
    pub fn new() -> Result<Self, Error> {
        Self::builder().build()
    }

    /// A builder with every default.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Runs `flow` to completion with [`xaa::drive_async`] (independent requests in flight
    /// together), the system clock and this client, each response body capped at the client's
    /// [`ClientBuilder::max_body_bytes`].
    ///
    /// # Errors
    ///
    /// [`Error::Flow`] with the flow's error; a transport-level variant ([`Error::Transport`],
    /// [`Error::Timeout`], [`Error::BodyTooLarge`], [`Error::PrivateAddress`]) naming the
    /// step whose request failed.
    pub async fn run<F: Flow>(&self, flow: F) -> Result<F::Output, Error> {
        self.run_with_limit(flow, self.max_body_bytes).await
    }

    pub(crate) async fn run_with_limit<F: Flow>(
        &self,
        flow: F,
        limit: usize,
    ) -> Result<F::Output, Error> {
        xaa::drive_async(flow, SystemTime::now, |request| {
            self.send_with_limit(request, limit)
        })
        .await
        .map_err(from_drive)
    }

    /// Sends one request as given and reads the whole response, body capped at
    /// [`ClientBuilder::max_body_bytes`]. Any status is a response; a 3xx is not followed.
    ///
    /// # Errors
    ///
    /// The transport-level variants, with no purpose: no response was had.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, Error> {
        self.send_with_limit(request, self.max_body_bytes).await
    }

    /// [`Client::send`] with the MCP response cap.
    pub(crate) async fn send_resource(&self, request: HttpRequest) -> Result<HttpResponse, Error> {
        self.send_with_limit(request, self.resource_body_bytes)
            .await
    }

    pub(crate) async fn send_with_limit(
        &self,
        request: HttpRequest,
        limit: usize,
    ) -> Result<HttpResponse, Error> {
        let request = to_reqwest(request)?;
        // The host as reqwest will connect to it: the URL parser's canonical form, so `0` or
        // `0x7f.1` are the IPv4 literals they stand for.
        self.guard
            .check_literal(request.url().host_str().unwrap_or_default())
            .map_err(|refused| Error::PrivateAddress {
                purpose: None,
                host: refused.host,
                address: refused.address,
            })?;
        let response = self.http.execute(request).await?;
        read_capped(response, limit).await
    }
}

/// The request as reqwest's, with no body at all for an empty GET (no `Content-Length: 0`).
fn to_reqwest(request: HttpRequest) -> Result<reqwest::Request, Error> {
    let (mut parts, body) = request.into_parts();
    let url = match parts.extensions.remove::<RequestUrl>() {
        // The URL the core checked and built the URI from: no second parse.
        Some(checked) if checked.matches(&parts.uri) => checked.into_url(),
        _ => reqwest::Url::parse(&parts.uri.to_string())
            .map_err(|_| Error::InvalidRequest("the URI is not an absolute URL"))?,
    };
    let mut out = reqwest::Request::new(parts.method, url);
    *out.headers_mut() = parts.headers;
    *out.version_mut() = parts.version;
    if !body.is_empty() || carries_body(out.method()) {
        *out.body_mut() = Some(body.into());
    }
    Ok(out)
}

/// Methods whose requests normally have a body: an empty one is sent as `Content-Length: 0`.
fn carries_body(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

/// Reads the whole body chunk by chunk, at most `limit` bytes: more is
/// [`Error::BodyTooLarge`], and the connection is dropped without reading the rest.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<HttpResponse, Error> {
    let too_large = Error::BodyTooLarge {
        purpose: None,
        limit,
    };
    if response
        .content_length()
        .is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(too_large);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if chunk.len() > limit - body.len() {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    let mut out = http::Response::new(body);
    *out.status_mut() = response.status();
    *out.version_mut() = response.version();
    *out.headers_mut() = std::mem::take(response.headers_mut());
    Ok(out)
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
