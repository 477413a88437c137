//! The HTTP client: a ureq agent configured for OAuth, and the conversions around it.

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use http::Method;
use ureq::unversioned::transport::DefaultConnector;
use ureq::{Agent, AsSendBody};
use xaa::{DriveError, Flow, HttpRequest, HttpResponse, Policy};

use crate::Error;
use crate::guard::{AddressGuard, GuardedResolver};
use crate::tls;
use xaa::discovery::StaticAnswers;

/// The default total time for one request: connect, TLS, send, and read the whole response.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest timeout a client takes ([`ClientBuilder::timeout`],
/// [`ClientBuilder::connect_timeout`]): one day. Longer values are cut to it, so no timeout,
/// however large, overflows the clock when a request starts.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

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
    address_guard: Option<AddressGuard>,
    static_answers: StaticAnswers,
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
            address_guard: None,
            static_answers: StaticAnswers::default(),
            proxy: ProxySetting::Environment,
            user_agent: concat!("xaa-ureq/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

impl ClientBuilder {
    /// The total time one request may take, from resolving the host to reading the last byte
    /// of the body ([`DEFAULT_TIMEOUT`]). Past it the request fails with [`Error::Timeout`].
    /// At most [`MAX_TIMEOUT`]: a longer one is cut to it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.min(MAX_TIMEOUT);
        self
    }

    /// A shorter bound for resolving and connecting (including TLS), within the total timeout.
    /// None by default. At most [`MAX_TIMEOUT`]: a longer one is cut to it.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout.min(MAX_TIMEOUT));
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
    /// multicast, ...: [`AddressGuard::never_only`](xaa::discovery::AddressGuard::never_only)),
    /// whatever a name resolves to and for IP literals alike. [`ClientBuilder::address_guard`]
    /// sets the guard outright instead.
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
    /// goes to one of `addresses`, on the port of the request's URI (or its scheme's
    /// default). Names are compared case-insensitively and without a trailing dot; a second
    /// call for the same host replaces the first. The address guard still judges these
    /// addresses, as it does DNS answers. Through a proxy, only the proxy's own host is
    /// resolved here.
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
        let guard = match self.address_guard {
            Some(guard) => guard,
            None if self.deny_private_addresses => AddressGuard::new(&self.allowed_hosts),
            None => AddressGuard::never_only(),
        };
        let agent = Agent::with_parts(
            config,
            DefaultConnector::new(),
            GuardedResolver::new(guard, self.static_answers),
        );
        Ok(Client {
            agent,
            timeout: self.timeout,
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
    /// The total timeout of one request, which a deadline can only shorten.
    timeout: Duration,
    max_body_bytes: usize,
    resource_body_bytes: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("timeout", &self.timeout)
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

    /// [`Client::run`] within `deadline`: each request's total timeout is the client's, or the
    /// time left until `deadline` when that is shorter, and no request starts once it has
    /// passed.
    ///
    /// # Errors
    ///
    /// As [`Client::run`], and [`Error::DeadlineExceeded`] naming the step that had no time
    /// left, or whose request the deadline cut short.
    pub fn run_until<F: Flow>(&self, flow: F, deadline: Instant) -> Result<F::Output, Error> {
        xaa::drive(flow, SystemTime::now, |request| {
            self.send_within(request, self.max_body_bytes, Some(deadline))
        })
        .map_err(from_drive)
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

    /// [`Client::send`] within `deadline`: the request's total timeout is the client's, or the
    /// time left until `deadline` when that is shorter.
    ///
    /// # Errors
    ///
    /// As [`Client::send`], and [`Error::DeadlineExceeded`] when `deadline` has passed (nothing
    /// is sent) or passes before the response is read.
    pub fn send_until(
        &self,
        request: HttpRequest,
        deadline: Instant,
    ) -> Result<HttpResponse, Error> {
        self.send_within(request, self.max_body_bytes, Some(deadline))
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
        self.send_within(request, limit, None)
    }

    fn send_within(
        &self,
        request: HttpRequest,
        limit: usize,
        deadline: Option<Instant>,
    ) -> Result<HttpResponse, Error> {
        let budget = deadline
            .map(|deadline| Budget::until(deadline, self.timeout))
            .transpose()?;
        let (parts, body) = request.into_parts();
        let response = if body.is_empty() && !carries_body(&parts.method) {
            // No `Content-Length: 0` on a GET.
            self.execute(http::Request::from_parts(parts, ()), budget)
        } else {
            self.execute(http::Request::from_parts(parts, body), budget)
        }?;
        read_capped(response, limit).map_err(|error| explain(error, budget))
    }

    /// Runs the request, with a total timeout cut to `budget` when there is one.
    fn execute<S: AsSendBody>(
        &self,
        request: http::Request<S>,
        budget: Option<Budget>,
    ) -> Result<http::Response<ureq::Body>, Error> {
        let request = match budget {
            Some(budget) => self
                .agent
                .configure_request(request)
                .timeout_global(Some(budget.timeout))
                .build(),
            None => request,
        };
        self.agent
            .run(request)
            .map_err(|error| explain(Error::from(error), budget))
    }
}

/// The total timeout of one request sent within a deadline.
#[derive(Clone, Copy, Debug)]
struct Budget {
    timeout: Duration,
    /// The deadline is closer than the client's own timeout: a total timeout is the deadline's.
    deadline_binds: bool,
}

impl Budget {
    /// The smaller of `timeout` and the time left until `deadline`; none left is
    /// [`Error::DeadlineExceeded`].
    fn until(deadline: Instant, timeout: Duration) -> Result<Self, Error> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::DeadlineExceeded { purpose: None });
        }
        Ok(Self {
            timeout: left.min(timeout),
            deadline_binds: left < timeout,
        })
    }
}

/// A total timeout that was the deadline's is [`Error::DeadlineExceeded`].
fn explain(error: Error, budget: Option<Budget>) -> Error {
    match error {
        Error::Timeout {
            purpose,
            reason: ureq::Timeout::Global,
        } if budget.is_some_and(|budget| budget.deadline_binds) => {
            Error::DeadlineExceeded { purpose }
        }
        other => other,
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
