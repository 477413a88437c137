//! Waiting for another replica's lease to end: woken by the holder's announcement, and by a
//! bounded poll for a holder that died without one.
//!
//! The waiter looks at the lease, subscribes to the lease's channel, and looks again: a
//! release before the subscription is seen by the second look, one after it by the
//! subscription. Between looks it listens for the announcement
//! for a while that doubles from [`FIRST_POLL`] up to [`LONGEST_POLL`], never past the
//! deadline: a lease that merely expired (its holder died) is noticed within
//! [`LONGEST_POLL`].

use std::future::poll_fn;
use std::pin::pin;
use std::time::{Duration, Instant};

use futures_core::Stream;
use redis::{Client, ConnectionLike, Value, aio, cmd};
use xaa::cache::CacheKey;

use crate::digest::Digest;
use crate::error::StoreError;
use crate::lease::RedisLeases;
use crate::request::Request;

/// The first interval between two looks at the lease.
pub const FIRST_POLL: Duration = Duration::from_millis(20);
/// The longest interval between two looks at the lease.
pub const LONGEST_POLL: Duration = Duration::from_millis(500);

/// How a wait for a lease ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Waited {
    /// The lease is gone: released by its holder (the token is likely stored) or expired.
    /// Read the store; when the token is still missing, try to acquire the lease.
    Released,
    /// The deadline passed with the lease still held.
    TimedOut,
}

/// What to do after a look at the lease.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Done(Waited),
    /// Listen for the announcement this long, then look again.
    Listen(Duration),
}

/// The decisions of a wait, shared by the blocking and the async loop.
struct Schedule {
    deadline: Instant,
    poll: Duration,
}

impl Schedule {
    fn new(deadline: Instant) -> Self {
        Self {
            deadline,
            poll: FIRST_POLL,
        }
    }

    /// How the wait ends after a look, if it ends: the lease gone, or the deadline passed.
    fn outcome(&self, held: bool, now: Instant) -> Option<Waited> {
        if !held {
            Some(Waited::Released)
        } else if now >= self.deadline {
            Some(Waited::TimedOut)
        } else {
            None
        }
    }

    fn after_look(&mut self, held: bool, now: Instant) -> Step {
        if let Some(waited) = self.outcome(held, now) {
            return Step::Done(waited);
        }
        let remaining = self.deadline.saturating_duration_since(now);
        let listen = self.poll.min(remaining);
        self.poll = (self.poll * 2).min(LONGEST_POLL);
        Step::Listen(listen)
    }

    /// What is left until the deadline, at least a millisecond (a zero read timeout means
    /// "block forever" to the socket).
    fn remaining(&self) -> Duration {
        self.deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    }
}

impl RedisLeases {
    /// Waits until the lease on `key` is gone or `deadline` passes. `subscriber` opens the
    /// connection that listens for the holder's announcement (a subscribed connection can
    /// send nothing else); `connection` looks at the lease.
    pub fn wait_for(
        &self,
        connection: &mut impl ConnectionLike,
        subscriber: &Client,
        key: &CacheKey,
        deadline: Instant,
    ) -> Result<Waited, StoreError> {
        let digest = Digest::of_cache_key(key);
        let look = self.look_request(&digest);
        let mut schedule = Schedule::new(deadline);
        let held = read_held(look.run(connection)?)?;
        if let Some(waited) = schedule.outcome(held, Instant::now()) {
            return Ok(waited);
        }
        let mut listener = subscriber.get_connection_with_timeout(schedule.remaining())?;
        listener.set_read_timeout(Some(schedule.remaining()))?;
        listener.set_write_timeout(Some(schedule.remaining()))?;
        let mut listener = listener.as_pubsub();
        listener.subscribe(self.prefix.released_channel(&digest))?;
        loop {
            let held = read_held(look.run(connection)?)?;
            match schedule.after_look(held, Instant::now()) {
                Step::Done(waited) => return Ok(waited),
                Step::Listen(duration) => {
                    listener.set_read_timeout(Some(duration))?;
                    match listener.get_message() {
                        Ok(_) => return Ok(Waited::Released),
                        Err(error) if error.is_timeout() => {}
                        Err(error) => return Err(error.into()),
                    }
                }
            }
        }
    }

    /// [`RedisLeases::wait_for`] over an async connection; the announcement arrives on an
    /// async subscription.
    pub async fn wait_for_async<C: aio::ConnectionLike + Send>(
        &self,
        connection: &mut C,
        subscriber: &Client,
        key: &CacheKey,
        deadline: Instant,
    ) -> Result<Waited, StoreError> {
        let digest = Digest::of_cache_key(key);
        let look = self.look_request(&digest);
        let mut schedule = Schedule::new(deadline);
        let held = read_held(look.run_async(connection).await?)?;
        if let Some(waited) = schedule.outcome(held, Instant::now()) {
            return Ok(waited);
        }
        let tokio_deadline = tokio::time::Instant::from_std(deadline);
        let subscribed = tokio::time::timeout_at(tokio_deadline, async {
            let mut listener = subscriber.get_async_pubsub().await?;
            listener
                .subscribe(self.prefix.released_channel(&digest))
                .await?;
            Ok::<_, redis::RedisError>(listener)
        })
        .await;
        let mut listener = match subscribed {
            Ok(listener) => listener?,
            Err(_elapsed) => return Ok(Waited::TimedOut),
        };
        let mut messages = pin!(listener.on_message());
        loop {
            let held = read_held(look.run_async(connection).await?)?;
            match schedule.after_look(held, Instant::now()) {
                Step::Done(waited) => return Ok(waited),
                Step::Listen(duration) => {
                    let next = poll_fn(|context| messages.as_mut().poll_next(context));
                    match tokio::time::timeout(duration, next).await {
                        Ok(Some(_)) => return Ok(Waited::Released),
                        Ok(None) => return Err(StoreError::SubscriptionClosed),
                        Err(_elapsed) => {}
                    }
                }
            }
        }
    }

    fn look_request(&self, digest: &Digest) -> Request {
        let mut exists = cmd("EXISTS");
        exists.arg(self.prefix.lease_key(digest));
        Request::Command(exists)
    }
}

fn read_held(reply: Value) -> Result<bool, StoreError> {
    match reply {
        Value::Int(count) => Ok(count > 0),
        _ => Err(StoreError::UnexpectedReply { command: "EXISTS" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gone_lease_ends_the_wait_whatever_the_time() {
        let now = Instant::now();
        let mut schedule = Schedule::new(now);
        assert_eq!(
            schedule.after_look(false, now),
            Step::Done(Waited::Released)
        );
        assert_eq!(schedule.after_look(true, now), Step::Done(Waited::TimedOut));
    }

    #[test]
    fn the_poll_doubles_up_to_its_bound_and_never_passes_the_deadline() {
        let now = Instant::now();
        let mut schedule = Schedule::new(now + Duration::from_secs(10));
        let listens: Vec<Step> = (0..7).map(|_| schedule.after_look(true, now)).collect();
        let millis = [20, 40, 80, 160, 320, 500, 500];
        let expected: Vec<Step> = millis
            .iter()
            .map(|&ms| Step::Listen(Duration::from_millis(ms)))
            .collect();
        assert_eq!(listens, expected);
        let close = now + Duration::from_millis(9_990);
        assert_eq!(
            schedule.after_look(true, close),
            Step::Listen(Duration::from_millis(10))
        );
    }
}
