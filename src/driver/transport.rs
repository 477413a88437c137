//! What a driver supplies: its HTTP client as a [`Transport`], sending one request at a time,
//! blocking or async.

use std::future::Future;
use std::time::{Instant, SystemTime};

use super::authorizer::Refresh;
use super::client::{AsyncClient, BlockingClient};
use super::error::Error;
use super::options::ClientOptions;
use super::wire::Limits;
use crate::{HttpRequest, HttpResponse};

/// A driver's HTTP client as the shared code sees it: the failures it reports, and the clock.
///
/// The core reads no clock: the driver's (`SystemTime::now`) or a test's.
pub trait Transport: Sized {
    /// The client's own error, for a request that got no response.
    type Failure: std::error::Error + Send + Sync + 'static;

    /// The time now, for token lifetimes.
    fn now(&self) -> SystemTime;

    /// The failure in the client's words, without a URL: the text of
    /// [`Error::Transport`]'s `Display`, after `transport failed: `.
    fn describe(failure: &Self::Failure) -> String {
        failure.to_string()
    }

    /// Which of the client's timeouts fired, when it says: `global` shows as `request timed
    /// out (global)`.
    fn timeout_detail(failure: &Self::Failure) -> Option<String> {
        let _ = failure;
        None
    }

    /// Whether a timeout is the request's total one, which a deadline shortens (rather than,
    /// say, the connect timeout): only then is it the deadline's
    /// ([`Error::DeadlineExceeded`]).
    fn is_total_timeout(failure: &Self::Failure) -> bool {
        let _ = failure;
        true
    }
}

/// A transport that tells the monotonic time, so a whole run can be bound by a deadline
/// (`run_until`, `send_until`).
pub trait MonotonicClock: Transport {
    /// The monotonic time now (`Instant::now`).
    fn instant(&self) -> Instant;
}

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
    /// The transport-level variants of [`Error`], with no purpose: no response was had.
    fn send(&self, request: HttpRequest, limits: Limits) -> Result<HttpResponse, Error<Self>>;

    /// Runs a refresh on a thread of its own ([`Refresh::run`]): the caller already has a
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
    /// The transport-level variants of [`Error`], with no purpose: no response was had.
    fn send(
        &self,
        request: HttpRequest,
        limits: Limits,
    ) -> impl Future<Output = Result<HttpResponse, Error<Self>>> + Send;

    /// Runs a refresh in a task of its own ([`Refresh::run`](Refresh)): the caller already
    /// has a valid token. A refresh dropped unrun releases its waiters, who try again.
    fn refresh_in_background(refresh: Refresh<AsyncClient<Self>>);
}

/// A transport built from the shared [`ClientOptions`].
pub trait BuildTransport: Transport {
    /// Builds the HTTP client: TLS roots, the address guard as its resolver, the proxy, the
    /// timeouts, no redirects.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for options the client refuses.
    fn build(options: &ClientOptions) -> Result<Self, Error<Self>>;
}
