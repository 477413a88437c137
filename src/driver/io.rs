//! [`Io`]: what the authorizer's loop needs done, by a blocking client (every future ready
//! when made: the work is done on the calling thread) or an async one.

use std::future::{Future, ready};
use std::time::SystemTime;

use super::client::{AsyncClient, AsyncTransport, BlockingClient, BlockingTransport};
use super::error::DriverError;
use super::refresh::Refresh;
use super::transport::Transport;
use crate::authorizer::{Authorizer, Flight, Waited, Waiter};
use crate::{Authorization, EnterpriseAuth, HttpRequest, HttpResponse};

/// The I/O of the loop: what a blocking or an async client does for it.
pub(super) trait Io {
    /// The driver's transport, whose errors the loop returns.
    type Transport: Transport;

    /// The time now, from the transport.
    fn now(&self) -> SystemTime;

    /// Runs a flight's flow, bodies capped at `max_body_bytes`.
    fn run(
        &self,
        flow: EnterpriseAuth,
        max_body_bytes: usize,
    ) -> impl Future<Output = Result<Authorization, DriverError<Self::Transport>>> + Send;

    /// Sends the MCP request, body capped at the client's resource cap.
    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, DriverError<Self::Transport>>> + Send;

    /// Waits for another caller's flight.
    fn wait(&self, waiter: Waiter) -> impl Future<Output = Waited> + Send;

    /// Hands a refresh flight to the transport, to run in the background.
    fn refresh_in_background(&self, authorizer: &Authorizer, flight: Flight);
}

impl<T: BlockingTransport> Io for BlockingClient<T> {
    type Transport = T;

    fn now(&self) -> SystemTime {
        self.transport().now()
    }

    fn run(
        &self,
        flow: EnterpriseAuth,
        max_body_bytes: usize,
    ) -> impl Future<Output = Result<Authorization, DriverError<T>>> + Send {
        ready(self.run_flow(flow, max_body_bytes))
    }

    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, DriverError<T>>> + Send {
        ready(self.send_resource(request))
    }

    fn wait(&self, waiter: Waiter) -> impl Future<Output = Waited> + Send {
        ready(waiter.wait_blocking())
    }

    fn refresh_in_background(&self, authorizer: &Authorizer, flight: Flight) {
        T::refresh_in_background(Refresh::new(authorizer.clone(), self.clone(), flight));
    }
}

impl<T: AsyncTransport> Io for AsyncClient<T> {
    type Transport = T;

    fn now(&self) -> SystemTime {
        self.transport().now()
    }

    fn run(
        &self,
        flow: EnterpriseAuth,
        max_body_bytes: usize,
    ) -> impl Future<Output = Result<Authorization, DriverError<T>>> + Send {
        self.run_flow(flow, max_body_bytes)
    }

    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, DriverError<T>>> + Send {
        self.send_resource(request)
    }

    fn wait(&self, waiter: Waiter) -> impl Future<Output = Waited> + Send {
        waiter.wait()
    }

    fn refresh_in_background(&self, authorizer: &Authorizer, flight: Flight) {
        T::refresh_in_background(Refresh::new(authorizer.clone(), self.clone(), flight));
    }
}
