//! What a driver supplies: its HTTP client as a [`Transport`], with its failures and its clock.
//! How it sends, blocking or async, is in [`super::client`], next to the clients it serves.

use std::time::{Instant, SystemTime};

/// A driver's HTTP client as the shared code sees it: the failures it reports, and the clock.
///
/// The core reads no clock: the driver's (`SystemTime::now`) or a test's.
pub trait Transport: Sized {
    /// The client's own error, for a request that got no response.
    type Failure: std::error::Error + Send + Sync + 'static;

    /// The time now, for token lifetimes.
    fn now(&self) -> SystemTime;

    /// The failure in the client's words, without a URL: the text of
    /// [`DriverError::Transport`](super::DriverError::Transport)'s `Display`, after `transport failed: `.
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
    /// ([`DriverError::DeadlineExceeded`](super::DriverError::DeadlineExceeded)).
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
