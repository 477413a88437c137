//! The device authorization grant (RFC 8628) run to its end by a client: the core's
//! [`DeviceSignIn`] says what to send and, while the person has not approved yet, when to poll
//! again ([`DeviceSignIn::next_poll_at`]: the `interval`, five seconds more after each
//! `slow_down`, RFC 8628 section 3.5); the client sends, waits on the transport's clock and
//! timer, and gives up at the caller's deadline. Written once for both kinds of client.

use std::future::{Future, ready};
use std::time::{Duration, SystemTime};

use super::block_on::block_on;
use super::client::{AsyncClient, AsyncTransport, BlockingClient, BlockingTransport};
use super::error::DriverError;
use super::transport::Transport;
use crate::signin::{DeviceAuthorization, DeviceOutcome, DeviceSignIn};
use crate::{Error, Flow, HttpRequest, HttpResponse, Output, Purpose};

/// What the polling loop needs of a client: its clock, a request sent, a wait.
trait Poller {
    type Transport: Transport;

    fn now(&self) -> SystemTime;

    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, DriverError<Self::Transport>>>;

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()>;
}

impl<T: BlockingTransport> Poller for BlockingClient<T> {
    type Transport = T;

    fn now(&self) -> SystemTime {
        self.transport().now()
    }

    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, DriverError<T>>> {
        ready(BlockingClient::send(self, request))
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        std::thread::sleep(duration);
        ready(())
    }
}

impl<T: AsyncTransport> Poller for AsyncClient<T> {
    type Transport = T;

    fn now(&self) -> SystemTime {
        self.transport().now()
    }

    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, DriverError<T>>> {
        AsyncClient::send(self, request)
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        self.transport().sleep(duration)
    }
}

impl<T: BlockingTransport> BlockingClient<T> {
    /// Runs the device grant `flow` until the person approves or refuses, the device code
    /// expires, or `deadline` (on the transport's clock) would pass before the next poll.
    /// `tell` is called once, with the user code and where to enter it, when the first poll
    /// is waited for: show it to the person.
    ///
    /// # Errors
    ///
    /// [`DriverError::Flow`] with the flow's error (an unusable answer, a refused ID token, an
    /// IdP error other than the grant's own); [`DriverError::DeadlineExceeded`] for
    /// [`Purpose::DeviceToken`] when the next poll would come after `deadline`; the
    /// transport-level variants naming the step whose request failed.
    pub fn sign_in_on_device(
        &self,
        flow: DeviceSignIn,
        deadline: SystemTime,
        tell: impl FnMut(&DeviceAuthorization),
    ) -> Result<DeviceOutcome, DriverError<T>> {
        block_on(poll_device(self, flow, deadline, tell))
    }
}

impl<T: AsyncTransport> AsyncClient<T> {
    /// As [`BlockingClient::sign_in_on_device`], waiting on the transport's timer between
    /// polls.
    ///
    /// # Errors
    ///
    /// As [`BlockingClient::sign_in_on_device`].
    pub async fn sign_in_on_device(
        &self,
        flow: DeviceSignIn,
        deadline: SystemTime,
        tell: impl FnMut(&DeviceAuthorization),
    ) -> Result<DeviceOutcome, DriverError<T>> {
        poll_device(self, flow, deadline, tell).await
    }
}

/// The loop: send what the flow asks, wait until it is due to poll again, stop at its outcome
/// or before `deadline`.
async fn poll_device<P: Poller>(
    client: &P,
    mut flow: DeviceSignIn,
    deadline: SystemTime,
    mut tell: impl FnMut(&DeviceAuthorization),
) -> Result<DeviceOutcome, DriverError<P::Transport>> {
    let mut told = false;
    loop {
        match flow.poll_output(client.now())? {
            Output::Transmit(transmit) => {
                let response = client
                    .send(transmit.request)
                    .await
                    .map_err(|error| error.with_purpose(transmit.purpose))?;
                flow.handle_response(client.now(), transmit.id, response)?;
            }
            Output::Wait => {
                if !told && let Some(authorization) = flow.authorization() {
                    tell(authorization);
                    told = true;
                }
                let due = flow.next_poll_at().ok_or(Error::Misuse(
                    "the device sign-in waits with no poll scheduled",
                ))?;
                if due > deadline {
                    return Err(DriverError::DeadlineExceeded {
                        purpose: Some(Purpose::DeviceToken),
                    });
                }
                let wait = due.duration_since(client.now()).unwrap_or_default();
                client.sleep(wait).await;
            }
            Output::Done(outcome) => return Ok(outcome),
        }
    }
}
