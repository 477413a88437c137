//! [`BlockingClient`] and [`AsyncClient`]: a driver's transport with the client's limits, running
//! flows and sending single requests; and what a transport does for them: send one request,
//! blocking ([`BlockingTransport`]) or async ([`AsyncTransport`]), and run a refresh in the
//! background.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use super::builder::{ClientBuilder, FromOptions};
use super::deadline::Budget;
use super::error::DriverError;
use super::options::ClientOptions;
use super::refresh::Refresh;
use super::shared_store::{AsyncSharedTokenStore, SharedStore, SharedTokenStore};
use super::transport::{MonotonicClock, Transport};
use super::wire::Limits;
use crate::{Flow, HttpRequest, HttpResponse};

/// A transport that blocks the calling thread.
///
/// [`BlockingTransport::send`] follows the core's run loop (the [`crate`] docs): it sends the
/// request as given, follows no redirect (a 3xx is a response, which the core refuses:
/// decisions.md D4), returns every status as a response, and reads at most
/// [`Limits::max_body_bytes`].
pub trait BlockingTransport: Transport + Clone {
    /// Sends one request and reads the whole response.
    ///
    /// # Errors
    ///
    /// The transport-level variants of [`DriverError`], with no purpose: no response was had.
    fn send(&self, request: HttpRequest, limits: Limits)
    -> Result<HttpResponse, DriverError<Self>>;

    /// Runs a refresh on a thread of its own ([`Refresh`]'s `run`): the caller already has a
    /// valid token. A refresh dropped unrun releases its waiters, who try again.
    fn refresh_in_background(refresh: Refresh<BlockingClient<Self>>);
}

/// A transport whose requests are futures, on any executor the transport supports.
///
/// [`AsyncTransport::send`] follows the same rules as [`BlockingTransport::send`].
pub trait AsyncTransport: Transport + Clone + Send + Sync {
    /// Sends one request and reads the whole response.
    ///
    /// # Errors
    ///
    /// The transport-level variants of [`DriverError`], with no purpose: no response was had.
    fn send(
        &self,
        request: HttpRequest,
        limits: Limits,
    ) -> impl Future<Output = Result<HttpResponse, DriverError<Self>>> + Send;

    /// Runs a refresh in a task of its own ([`Refresh`]'s `run`): the caller already
    /// has a valid token. A refresh dropped unrun releases its waiters, who try again.
    fn refresh_in_background(refresh: Refresh<AsyncClient<Self>>);

    /// A future that is ready once `duration` has passed, and not before (the executor's
    /// timer): the driver waits with it between renewals of a shared store's lease
    /// ([`super::shared_store`]). The core has no timer of its own.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// A transport built from the shared [`ClientOptions`].
pub trait BuildTransport: Transport {
    /// Builds the HTTP client: TLS roots, the address guard as its resolver, the proxy, the
    /// timeouts, no redirects.
    ///
    /// # Errors
    ///
    /// [`DriverError::Config`] for options the client refuses.
    fn build(options: &ClientOptions) -> Result<Self, DriverError<Self>>;
}

/// The limits a client applies, from its [`ClientOptions`].
#[derive(Clone, Copy, Debug)]
struct ClientLimits {
    /// The total timeout of one request, which a deadline can only shorten.
    timeout: Duration,
    max_body_bytes: usize,
    resource_body_bytes: usize,
}

impl From<&ClientOptions> for ClientLimits {
    fn from(options: &ClientOptions) -> Self {
        Self {
            timeout: options.timeout,
            max_body_bytes: options.max_body_bytes,
            resource_body_bytes: options.resource_body_bytes,
        }
    }
}

/// A blocking HTTP client for OAuth flows (`xaa_ureq::Client`): the driver's transport (no
/// redirects, every status a response, a total timeout, a body cap, TLS, the address guard)
/// with the client's limits.
///
/// Cheap to clone when the transport is: clones share the connection pool.
#[derive(Clone)]
pub struct BlockingClient<T> {
    transport: T,
    limits: ClientLimits,
    shared: Option<SharedStore<dyn SharedTokenStore>>,
}

/// An async HTTP client for OAuth flows (`xaa_reqwest::Client`), as [`BlockingClient`]: flows
/// run with [`drive_async`](crate::drive_async), independent requests in flight together.
///
/// Cheap to clone when the transport is: clones share the connection pool.
#[derive(Clone)]
pub struct AsyncClient<T> {
    transport: T,
    limits: ClientLimits,
    shared: Option<SharedStore<dyn AsyncSharedTokenStore>>,
}

impl<T: fmt::Debug> fmt::Debug for BlockingClient<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug("BlockingClient", &self.transport, &self.limits, f)
    }
}

impl<T: fmt::Debug> fmt::Debug for AsyncClient<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug("AsyncClient", &self.transport, &self.limits, f)
    }
}

fn debug(
    name: &str,
    transport: &dyn fmt::Debug,
    limits: &ClientLimits,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    f.debug_struct(name)
        .field("timeout", &limits.timeout)
        .field("max_body_bytes", &limits.max_body_bytes)
        .field("resource_body_bytes", &limits.resource_body_bytes)
        .field("transport", transport)
        .finish()
}

impl<T: BlockingTransport + BuildTransport> FromOptions for BlockingClient<T> {
    type Error = DriverError<T>;

    fn from_options(options: ClientOptions) -> Result<Self, DriverError<T>> {
        Ok(Self::with_transport(T::build(&options)?, &options))
    }
}

impl<T: AsyncTransport + BuildTransport> FromOptions for AsyncClient<T> {
    type Error = DriverError<T>;

    fn from_options(options: ClientOptions) -> Result<Self, DriverError<T>> {
        Ok(Self::with_transport(T::build(&options)?, &options))
    }
}

impl<T: BlockingTransport> BlockingClient<T> {
    /// A client with every default; see [`ClientBuilder`].
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::build`].
    pub fn new() -> Result<Self, DriverError<T>>
    where
        T: BuildTransport,
    {
        Self::builder().build()
    }

    /// A builder with every default.
    pub fn builder() -> ClientBuilder<Self> {
        ClientBuilder::default()
    }

    /// A client over a transport built elsewhere (a test's), with the limits of `options`.
    pub fn with_transport(transport: T, options: &ClientOptions) -> Self {
        Self {
            transport,
            limits: options.into(),
            shared: None,
        }
    }

    /// The client with a token store shared by many replicas: an authorizer over it reads a
    /// token another replica obtained before running an exchange, and takes the store's lease
    /// so that one replica of the fleet runs each exchange ([`super::shared_store`]).
    #[must_use]
    pub fn with_shared_store(mut self, store: SharedStore<dyn SharedTokenStore>) -> Self {
        self.shared = Some(store);
        self
    }

    /// The shared token store, when there is one.
    pub fn shared_store(&self) -> Option<&SharedStore<dyn SharedTokenStore>> {
        self.shared.as_ref()
    }

    /// The driver's transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The body cap of MCP requests and responses ([`ClientBuilder::resource_body_bytes`]):
    /// what the driver's middleware adapters buffer at most.
    pub fn resource_body_bytes(&self) -> usize {
        self.limits.resource_body_bytes
    }

    /// Runs `flow` to completion with [`drive`](crate::drive()), the transport's clock and this
    /// client, each response body capped at the client's
    /// [`ClientBuilder::max_body_bytes`].
    ///
    /// # Errors
    ///
    /// [`DriverError::Flow`] with the flow's error; a transport-level variant ([`DriverError::Transport`],
    /// [`DriverError::Timeout`], [`DriverError::BodyTooLarge`], [`DriverError::PrivateAddress`]) naming the
    /// step whose request failed.
    pub fn run<F: Flow>(&self, flow: F) -> Result<F::Output, DriverError<T>> {
        self.run_flow(flow, self.limits.max_body_bytes)
    }

    /// [`BlockingClient::run`] within `deadline`: each request's total timeout is the
    /// client's, or the time left until `deadline` when that is shorter, and no request starts
    /// once it has passed.
    ///
    /// # Errors
    ///
    /// As [`BlockingClient::run`], and [`DriverError::DeadlineExceeded`] naming the step that had no
    /// time left, or whose request the deadline cut short.
    pub fn run_until<F: Flow>(
        &self,
        flow: F,
        deadline: Instant,
    ) -> Result<F::Output, DriverError<T>>
    where
        T: MonotonicClock,
    {
        let limit = self.limits.max_body_bytes;
        crate::drive(
            flow,
            || self.transport.now(),
            |request| self.send_until_with(request, limit, deadline),
        )
        .map_err(DriverError::from_drive)
    }

    /// Sends one request as given and reads the whole response, body capped at
    /// [`ClientBuilder::max_body_bytes`]. Any status is a response; a 3xx is not followed.
    ///
    /// # Errors
    ///
    /// The transport-level variants, with no purpose: no response was had.
    pub fn send(&self, request: HttpRequest) -> Result<HttpResponse, DriverError<T>> {
        self.send_within(request, self.limits.max_body_bytes, None)
    }

    /// [`BlockingClient::send`] within `deadline`: the request's total timeout is the
    /// client's, or the time left until `deadline` when that is shorter.
    ///
    /// # Errors
    ///
    /// As [`BlockingClient::send`], and [`DriverError::DeadlineExceeded`] when `deadline` has passed
    /// (nothing is sent) or passes before the response is read.
    pub fn send_until(
        &self,
        request: HttpRequest,
        deadline: Instant,
    ) -> Result<HttpResponse, DriverError<T>>
    where
        T: MonotonicClock,
    {
        self.send_until_with(request, self.limits.max_body_bytes, deadline)
    }

    /// Runs a flow, bodies capped at `limit`.
    pub(super) fn run_flow<F: Flow>(
        &self,
        flow: F,
        limit: usize,
    ) -> Result<F::Output, DriverError<T>> {
        crate::drive(
            flow,
            || self.transport.now(),
            |request| self.send_within(request, limit, None),
        )
        .map_err(DriverError::from_drive)
    }

    /// Sends an MCP request, body capped at [`ClientBuilder::resource_body_bytes`].
    pub(super) fn send_resource(
        &self,
        request: HttpRequest,
    ) -> Result<HttpResponse, DriverError<T>> {
        self.send_within(request, self.limits.resource_body_bytes, None)
    }

    fn send_until_with(
        &self,
        request: HttpRequest,
        limit: usize,
        deadline: Instant,
    ) -> Result<HttpResponse, DriverError<T>>
    where
        T: MonotonicClock,
    {
        let budget = Budget::until(deadline, self.transport.instant(), self.limits.timeout)?;
        self.send_within(request, limit, Some(budget))
    }

    fn send_within(
        &self,
        request: HttpRequest,
        limit: usize,
        budget: Option<Budget>,
    ) -> Result<HttpResponse, DriverError<T>> {
        let limits = Limits {
            max_body_bytes: limit,
            timeout: budget.map(|budget| budget.timeout),
        };
        self.transport
            .send(request, limits)
            .map_err(|error| Budget::explain(budget, error))
    }
}

impl<T: AsyncTransport> AsyncClient<T> {
    /// A client with every default; see [`ClientBuilder`]. Needs the runtime the transport
    /// runs on (tokio for `xaa-reqwest`) when used, not when built.
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::build`].
    pub fn new() -> Result<Self, DriverError<T>>
    where
        T: BuildTransport,
    {
        Self::builder().build()
    }

    /// A builder with every default.
    pub fn builder() -> ClientBuilder<Self> {
        ClientBuilder::default()
    }

    /// A client over a transport built elsewhere (a test's), with the limits of `options`.
    pub fn with_transport(transport: T, options: &ClientOptions) -> Self {
        Self {
            transport,
            limits: options.into(),
            shared: None,
        }
    }

    /// The client with a token store shared by many replicas: an authorizer over it reads a
    /// token another replica obtained before running an exchange, and takes the store's lease
    /// so that one replica of the fleet runs each exchange ([`super::shared_store`]).
    #[must_use]
    pub fn with_shared_store(mut self, store: SharedStore<dyn AsyncSharedTokenStore>) -> Self {
        self.shared = Some(store);
        self
    }

    /// The shared token store, when there is one.
    pub fn shared_store(&self) -> Option<&SharedStore<dyn AsyncSharedTokenStore>> {
        self.shared.as_ref()
    }

    /// The driver's transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The body cap of MCP requests and responses, as [`BlockingClient::resource_body_bytes`].
    pub fn resource_body_bytes(&self) -> usize {
        self.limits.resource_body_bytes
    }

    /// Runs `flow` to completion with [`drive_async`](crate::drive_async) (independent
    /// requests in flight together), the transport's clock and this client, each response
    /// body capped at the client's [`ClientBuilder::max_body_bytes`].
    ///
    /// # Errors
    ///
    /// [`DriverError::Flow`] with the flow's error; a transport-level variant ([`DriverError::Transport`],
    /// [`DriverError::Timeout`], [`DriverError::BodyTooLarge`], [`DriverError::PrivateAddress`]) naming the
    /// step whose request failed.
    pub async fn run<F: Flow>(&self, flow: F) -> Result<F::Output, DriverError<T>> {
        self.run_flow(flow, self.limits.max_body_bytes).await
    }

    /// Sends one request as given and reads the whole response, body capped at
    /// [`ClientBuilder::max_body_bytes`]. Any status is a response; a 3xx is not followed.
    ///
    /// # Errors
    ///
    /// The transport-level variants, with no purpose: no response was had.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, DriverError<T>> {
        let limits = Limits::body(self.limits.max_body_bytes);
        self.transport.send(request, limits).await
    }

    /// Runs a flight's flow, bodies capped at `limit`.
    pub(super) async fn run_flow<F: Flow>(
        &self,
        flow: F,
        limit: usize,
    ) -> Result<F::Output, DriverError<T>> {
        let limits = Limits::body(limit);
        crate::drive_async(
            flow,
            || self.transport.now(),
            |request| self.transport.send(request, limits),
        )
        .await
        .map_err(DriverError::from_drive)
    }

    /// Sends an MCP request, body capped at [`ClientBuilder::resource_body_bytes`].
    pub(super) fn send_resource(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, DriverError<T>>> + Send + '_ {
        self.transport
            .send(request, Limits::body(self.limits.resource_body_bytes))
    }
}
