//! The drivers through the public API only.
//!
//! A flow outside the crate cannot mint a `TransmitId`, so the scenarios with transmits (the
//! diamond of requests, overlap, transport errors, the transmit bound) are unit tests in
//! `src/drive.rs`; this file checks what an outside `Flow` can do.

use std::error::Error as _;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::SystemTime;

use xaa::{
    DriveError, Error, Flow, HttpRequest, HttpResponse, Output, Purpose, TransmitId, drive,
    drive_async, drive_async_with_limit, drive_with_limit,
};

/// Done at the first poll, without a request.
struct Immediate(Option<u32>);

impl Flow for Immediate {
    type Output = u32;

    fn poll_output(&mut self, _now: SystemTime) -> Result<Output<u32>, Error> {
        self.0
            .take()
            .map(Output::Done)
            .ok_or(Error::Misuse("polled after Done"))
    }

    fn handle_response(
        &mut self,
        _now: SystemTime,
        _id: TransmitId,
        _response: HttpResponse,
    ) -> Result<(), Error> {
        Err(Error::Misuse("no request is outstanding"))
    }
}

/// Waits forever with nothing outstanding.
struct Stalled;

impl Flow for Stalled {
    type Output = ();

    fn poll_output(&mut self, _now: SystemTime) -> Result<Output<()>, Error> {
        Ok(Output::Wait)
    }

    fn handle_response(
        &mut self,
        _now: SystemTime,
        _id: TransmitId,
        _response: HttpResponse,
    ) -> Result<(), Error> {
        Ok(())
    }
}

/// Fails at the first poll.
struct Broken;

impl Flow for Broken {
    type Output = ();

    fn poll_output(&mut self, _now: SystemTime) -> Result<Output<()>, Error> {
        Err(Error::Config("no client id".into()))
    }

    fn handle_response(
        &mut self,
        _now: SystemTime,
        _id: TransmitId,
        _response: HttpResponse,
    ) -> Result<(), Error> {
        Ok(())
    }
}

fn clock() -> SystemTime {
    SystemTime::UNIX_EPOCH
}

fn never_called(_request: HttpRequest) -> Result<HttpResponse, std::io::Error> {
    panic!("the flow sent no request");
}

async fn never_called_async(_request: HttpRequest) -> Result<HttpResponse, std::io::Error> {
    panic!("the flow sent no request");
}

struct NoopWaker;

impl Wake for NoopWaker {
    fn wake(self: Arc<Self>) {}
}

fn block_on<T>(future: impl Future<Output = T>) -> T {
    let waker = Waker::from(Arc::new(NoopWaker));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    for _ in 0..1_000 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("the future hangs");
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn done_without_requests() {
    assert_eq!(drive(Immediate(Some(7)), clock, never_called).ok(), Some(7));
    assert_eq!(
        block_on(drive_async(Immediate(Some(7)), clock, never_called_async)).ok(),
        Some(7)
    );
    // A bound of zero still lets a flow finish that needs no request.
    assert_eq!(
        drive_with_limit(Immediate(Some(7)), clock, never_called, 0).ok(),
        Some(7)
    );
    assert_eq!(
        block_on(drive_async_with_limit(
            Immediate(Some(7)),
            clock,
            never_called_async,
            0
        ))
        .ok(),
        Some(7)
    );
}

#[test]
fn waiting_with_nothing_outstanding_is_misuse_not_a_hang() {
    let expected = "flow misuse: flow is waiting with no request outstanding";
    let sync = drive(Stalled, clock, never_called);
    assert!(matches!(sync, Err(DriveError::Flow(Error::Misuse(_)))));
    assert_eq!(sync.err().map(|e| e.to_string()).as_deref(), Some(expected));

    let asynchronous = block_on(drive_async(Stalled, clock, never_called_async));
    assert!(matches!(
        asynchronous,
        Err(DriveError::Flow(Error::Misuse(_)))
    ));
}

#[test]
fn flow_errors_pass_through() {
    let result = drive(Broken, clock, never_called);
    assert!(matches!(
        &result,
        Err(DriveError::Flow(Error::Config(reason))) if reason == "no client id"
    ));
    assert_eq!(
        result.err().map(|e| e.to_string()).as_deref(),
        Some("configuration: no client id")
    );
    assert!(matches!(
        block_on(drive_async(Broken, clock, never_called_async)),
        Err(DriveError::Flow(Error::Config(_)))
    ));
}

#[test]
fn async_drive_is_send_when_its_parts_are() {
    let future = drive_async(
        Immediate(Some(1)),
        SystemTime::now,
        |_request: HttpRequest| async { Ok::<_, std::io::Error>(HttpResponse::new(Vec::new())) },
    );
    assert_send(&future);
    assert_eq!(block_on(future).ok(), Some(1));
}

#[test]
fn transport_error_names_the_step_and_keeps_its_source() {
    let error: DriveError<std::io::Error> = DriveError::Transport {
        purpose: Purpose::JwtBearer,
        source: std::io::Error::other("connection reset"),
    };
    assert_eq!(error.purpose(), Some(Purpose::JwtBearer));
    assert_eq!(
        error.to_string(),
        "jwt_bearer: transport failed: connection reset"
    );
    assert_eq!(
        error.source().map(ToString::to_string).as_deref(),
        Some("connection reset")
    );

    let flow: DriveError<std::io::Error> = Error::TooManyTransmits { limit: 64 }.into();
    assert_eq!(flow.purpose(), None);
    assert_eq!(
        flow.to_string(),
        Error::TooManyTransmits { limit: 64 }.to_string()
    );
}
