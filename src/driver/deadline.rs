//! A deadline over a whole run: each request gets the client's timeout or the time left,
//! whichever is shorter, and a request that starts after the deadline is never sent.

use std::time::{Duration, Instant};

use super::error::DriverError;
use super::transport::Transport;

/// The total timeout of one request sent within a deadline.
#[derive(Clone, Copy, Debug)]
pub(super) struct Budget {
    pub(super) timeout: Duration,
    /// The deadline is closer than the client's own timeout: a total timeout is the deadline's.
    deadline_binds: bool,
}

impl Budget {
    /// The smaller of `timeout` and the time left from `now` until `deadline`; none left is
    /// [`DriverError::DeadlineExceeded`].
    pub(super) fn until<T: Transport>(
        deadline: Instant,
        now: Instant,
        timeout: Duration,
    ) -> Result<Self, DriverError<T>> {
        let left = deadline.saturating_duration_since(now);
        if left.is_zero() {
            return Err(DriverError::DeadlineExceeded { purpose: None });
        }
        Ok(Self {
            timeout: left.min(timeout),
            deadline_binds: left < timeout,
        })
    }

    /// A total timeout that was the deadline's is [`DriverError::DeadlineExceeded`].
    pub(super) fn explain<T: Transport>(
        budget: Option<Self>,
        error: DriverError<T>,
    ) -> DriverError<T> {
        match error {
            DriverError::Timeout { purpose, source }
                if T::is_total_timeout(&source) && budget.is_some_and(|b| b.deadline_binds) =>
            {
                DriverError::DeadlineExceeded { purpose }
            }
            other => other,
        }
    }
}
