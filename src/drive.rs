//! Run any [`Flow`](crate::Flow) over a caller-supplied send closure, blocking or async.
//!
//! The drivers are the whole run loop of the [`Flow`] contract and nothing more: they own no HTTP
//! client, no runtime and no protocol logic. The caller supplies
//!
//! * a **clock** (`FnMut() -> SystemTime`): every `now` handed to the flow comes from it, and so
//!   does the `elapsed_ms` of the log events; the drivers never read the system clock;
//! * a **send** closure: it performs one HTTP request and returns the response. Any status is a
//!   response (a 4xx or 5xx is for the flow to judge); only a failure to get a response at all
//!   is the closure's `Err`, returned as [`DriveError::Transport`]. The closure must not follow
//!   redirects: a 3xx goes back to the flow, which refuses it (decisions.md D4). It should cap
//!   the body it reads at `Policy::max_body_bytes`. Each request carries its step as a
//!   [`Purpose`] extension (`request.extensions().get::<Purpose>()`), for the closure's own
//!   logs or a test's fake servers; it is never sent.
//!
//! A stuck machine is an error, not a hang: every drive is bounded by a number of transmits
//! (`limit`, [`drive`] and [`drive_async`] use 64), and a flow that waits with nothing
//! outstanding is reported as [`Error::Misuse`] instead of waiting forever.
//!
//! # Logging
//!
//! Each request sent and each response (or transport failure) is a `tracing` event at `debug`
//! level, with the fields `purpose`, `transmit_id`, `method` and `url` (scheme, host, port and
//! path only: never the query, the user info, a header or a body), then `status` and
//! `elapsed_ms` (measured with the caller's clock).

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use crate::{Error, Flow, HttpRequest, HttpResponse, Output, Purpose, Transmit, TransmitId};

/// The transmit bound of [`drive`] and [`drive_async`]. Above `Policy::max_transmits`'s default
/// (16), so a flow of this crate reports its own bound first; this one is the backstop for any
/// [`Flow`].
const DEFAULT_LIMIT: u32 = 64;

/// The stall: [`Output::Wait`] with no response the driver could hand back.
const STALL: &str = "flow is waiting with no request outstanding";

/// Why a drive ended without the flow's output.
///
/// `Display` names the step and the transport's message; it never prints the request, whose
/// headers and body may carry credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriveError<E> {
    /// The send closure failed to get a response for a request of the step `purpose`. The drive
    /// stopped there: nothing was handed to the flow.
    #[error("{purpose}: transport failed: {source}")]
    Transport {
        /// The step whose request failed.
        purpose: Purpose,
        /// The send closure's error.
        source: E,
    },
    /// The flow ended with an error, or the drive bound was hit
    /// ([`Error::TooManyTransmits`]), or the flow stalled ([`Error::Misuse`]).
    #[error(transparent)]
    Flow(#[from] Error),
}

impl<E> DriveError<E> {
    /// The step the error belongs to, when it is known: the failed request's purpose, or
    /// [`Error::purpose`].
    pub fn purpose(&self) -> Option<Purpose> {
        match self {
            Self::Transport { purpose, .. } => Some(*purpose),
            Self::Flow(error) => error.purpose(),
        }
    }
}

/// Runs `flow` to completion, sending its requests one after another through `send`, with the
/// default bound of 64 transmits. See [`drive_with_limit`].
///
/// # Example
///
/// A toy flow that needs no request; a real one returns [`Output::Transmit`]s first and is
/// driven the same way.
///
/// ```
/// use std::time::SystemTime;
/// use xaa::{Error, Flow, HttpResponse, Output, TransmitId};
///
/// struct Ready(Option<&'static str>);
///
/// impl Flow for Ready {
///     type Output = &'static str;
///
///     fn poll_output(&mut self, _now: SystemTime) -> Result<Output<&'static str>, Error> {
///         self.0.take().map(Output::Done).ok_or(Error::Misuse("polled after Done"))
///     }
///
///     fn handle_response(
///         &mut self,
///         _now: SystemTime,
///         _id: TransmitId,
///         _response: HttpResponse,
///     ) -> Result<(), Error> {
///         Err(Error::Misuse("no request is outstanding"))
///     }
/// }
///
/// // Any HTTP client: convert the request, send it, convert the response back.
/// let send = |_request: xaa::HttpRequest| -> Result<HttpResponse, std::io::Error> {
///     Ok(HttpResponse::new(Vec::new()))
/// };
/// let output = xaa::drive(Ready(Some("done")), SystemTime::now, send)?;
/// assert_eq!(output, "done");
/// # Ok::<(), xaa::DriveError<std::io::Error>>(())
/// ```
pub fn drive<F, C, S, E>(flow: F, clock: C, send: S) -> Result<F::Output, DriveError<E>>
where
    F: Flow,
    C: FnMut() -> SystemTime,
    S: FnMut(HttpRequest) -> Result<HttpResponse, E>,
{
    drive_with_limit(flow, clock, send, DEFAULT_LIMIT)
}

/// Runs `flow` to completion, sending its requests one after another through `send`.
///
/// The loop:
///
/// 1. drain `poll_output(clock())` until [`Output::Wait`] or [`Output::Done`], queueing every
///    [`Transmit`]; `Done(v)` returns `v` at once;
/// 2. send the oldest queued request, hand its response back with
///    `handle_response(clock(), id, response)`, and go to 1.
///
/// Independent requests the flow emits together are therefore sent sequentially, in the order
/// emitted; use [`drive_async`] to overlap them.
///
/// # Errors
///
/// * [`DriveError::Transport`] as soon as `send` fails, naming the request's [`Purpose`]; the
///   flow is dropped without seeing anything more.
/// * [`DriveError::Flow`] with the flow's own error.
/// * [`DriveError::Flow`] with [`Error::TooManyTransmits`] when the flow emits more than `limit`
///   transmits in total (counted when emitted, before anything is sent): a stuck machine is an
///   error, not a hang.
/// * [`DriveError::Flow`] with [`Error::Misuse`] when the flow returns [`Output::Wait`] while no
///   request is outstanding.
pub fn drive_with_limit<F, C, S, E>(
    mut flow: F,
    mut clock: C,
    mut send: S,
    limit: u32,
) -> Result<F::Output, DriveError<E>>
where
    F: Flow,
    C: FnMut() -> SystemTime,
    S: FnMut(HttpRequest) -> Result<HttpResponse, E>,
{
    let mut budget = Budget::new(limit);
    let mut queue = VecDeque::new();
    loop {
        if let Some(output) = drain(&mut flow, &mut clock, &mut budget, |t| queue.push_back(t))? {
            return Ok(output);
        }
        let Some(Transmit {
            id,
            purpose,
            mut request,
        }) = queue.pop_front()
        else {
            return Err(Error::Misuse(STALL).into());
        };
        request.extensions_mut().insert(purpose);
        let started = clock();
        log_sent(id, purpose, &request);
        let result = send(request);
        let now = clock();
        let response = answered(id, purpose, started, now, result)?;
        flow.handle_response(now, id, response)?;
    }
}

/// Runs `flow` to completion with every outstanding request in flight concurrently, with the
/// default bound of 64 transmits. See [`drive_async_with_limit`].
pub async fn drive_async<F, C, S, Fut, E>(
    flow: F,
    clock: C,
    send: S,
) -> Result<F::Output, DriveError<E>>
where
    F: Flow,
    C: FnMut() -> SystemTime,
    S: FnMut(HttpRequest) -> Fut,
    Fut: Future<Output = Result<HttpResponse, E>>,
{
    drive_async_with_limit(flow, clock, send, DEFAULT_LIMIT).await
}

/// Runs `flow` to completion with every outstanding request in flight concurrently.
///
/// The same loop as [`drive_with_limit`], except that `send` is called for each [`Transmit`] as
/// soon as the flow emits it, and all the returned futures are polled together: whichever
/// completes first is handed back to the flow first, in any order. The function needs no
/// runtime: it works on any executor.
///
/// The returned future is `Send` exactly when the flow, the two closures and `Fut` are.
///
/// ```compile_fail
/// # use std::rc::Rc;
/// # use std::time::SystemTime;
/// # use xaa::{Error, Flow, HttpRequest, HttpResponse, Output, TransmitId};
/// struct NotSend(Rc<()>); // a flow that is not Send
/// impl Flow for NotSend {
///     type Output = ();
///     fn poll_output(&mut self, _: SystemTime) -> Result<Output<()>, Error> {
///         Ok(Output::Done(()))
///     }
///     fn handle_response(&mut self, _: SystemTime, _: TransmitId, _: HttpResponse) -> Result<(), Error> {
///         Ok(())
///     }
/// }
/// fn assert_send<T: Send>(_: &T) {}
/// let send = |_: HttpRequest| async { Ok::<_, std::io::Error>(HttpResponse::new(Vec::new())) };
/// assert_send(&xaa::drive_async(NotSend(Rc::new(())), SystemTime::now, send));
/// ```
///
/// # Errors
///
/// As [`drive_with_limit`]. On a transport error the other requests still in flight are
/// dropped (cancelled) with the flow; so are they when the flow is done before their responses
/// arrive. Dropping the returned future cancels every request in flight.
pub async fn drive_async_with_limit<F, C, S, Fut, E>(
    mut flow: F,
    mut clock: C,
    mut send: S,
    limit: u32,
) -> Result<F::Output, DriveError<E>>
where
    F: Flow,
    C: FnMut() -> SystemTime,
    S: FnMut(HttpRequest) -> Fut,
    Fut: Future<Output = Result<HttpResponse, E>>,
{
    let mut budget = Budget::new(limit);
    let mut in_flight: Vec<InFlight<Fut>> = Vec::new();
    loop {
        let mut emitted = Vec::new();
        if let Some(output) = drain(&mut flow, &mut clock, &mut budget, |t| emitted.push(t))? {
            return Ok(output);
        }
        for Transmit {
            id,
            purpose,
            mut request,
        } in emitted
        {
            request.extensions_mut().insert(purpose);
            let started = clock();
            log_sent(id, purpose, &request);
            in_flight.push(InFlight {
                id,
                purpose,
                started,
                future: Box::pin(send(request)),
            });
        }
        if in_flight.is_empty() {
            return Err(Error::Misuse(STALL).into());
        }
        let (done, result) = poll_fn(|cx| {
            for index in 0..in_flight.len() {
                if let Poll::Ready(result) = in_flight[index].future.as_mut().poll(cx) {
                    let done = in_flight.remove(index);
                    return Poll::Ready((done, result));
                }
            }
            Poll::Pending
        })
        .await;
        let now = clock();
        let response = answered(done.id, done.purpose, done.started, now, result)?;
        flow.handle_response(now, done.id, response)?;
    }
}

/// One request of [`drive_async_with_limit`] whose response has not arrived.
struct InFlight<Fut> {
    id: TransmitId,
    purpose: Purpose,
    started: SystemTime,
    future: Pin<Box<Fut>>,
}

/// Counts transmits against the drive's bound.
struct Budget {
    limit: u32,
    emitted: u32,
}

impl Budget {
    fn new(limit: u32) -> Self {
        Self { limit, emitted: 0 }
    }

    /// Accounts for one more transmit; past the bound it is [`Error::TooManyTransmits`].
    fn take(&mut self) -> Result<(), Error> {
        if self.emitted >= self.limit {
            return Err(Error::TooManyTransmits { limit: self.limit });
        }
        self.emitted += 1;
        Ok(())
    }
}

/// Polls `flow` until it waits (`None`) or is done (`Some`), handing each transmit to `emit`.
fn drain<F, C, E>(
    flow: &mut F,
    clock: &mut C,
    budget: &mut Budget,
    mut emit: impl FnMut(Transmit),
) -> Result<Option<F::Output>, DriveError<E>>
where
    F: Flow,
    C: FnMut() -> SystemTime,
{
    loop {
        match flow.poll_output(clock())? {
            Output::Transmit(transmit) => {
                budget.take()?;
                emit(transmit);
            }
            Output::Wait => return Ok(None),
            Output::Done(output) => return Ok(Some(output)),
        }
    }
}

/// Logs the outcome of one request and turns a transport failure into [`DriveError::Transport`].
fn answered<E>(
    id: TransmitId,
    purpose: Purpose,
    started: SystemTime,
    now: SystemTime,
    result: Result<HttpResponse, E>,
) -> Result<HttpResponse, DriveError<E>> {
    let elapsed_ms = elapsed_ms(started, now);
    match result {
        Ok(response) => {
            tracing::debug!(
                purpose = purpose.as_str(),
                transmit_id = id.get(),
                status = response.status().as_u16(),
                elapsed_ms,
                "xaa response received"
            );
            Ok(response)
        }
        Err(source) => {
            // The caller's error is not logged: it is theirs to report, and may quote the URL.
            tracing::debug!(
                purpose = purpose.as_str(),
                transmit_id = id.get(),
                elapsed_ms,
                "xaa transport failed"
            );
            Err(DriveError::Transport { purpose, source })
        }
    }
}

fn log_sent(id: TransmitId, purpose: Purpose, request: &HttpRequest) {
    tracing::debug!(
        purpose = purpose.as_str(),
        transmit_id = id.get(),
        method = %request.method(),
        url = %LoggedUri(request.uri()),
        "xaa request sent"
    );
}

/// Milliseconds from `started` to `now`, zero if the caller's clock went backwards.
fn elapsed_ms(started: SystemTime, now: SystemTime) -> u64 {
    let elapsed = now.duration_since(started).unwrap_or(Duration::ZERO);
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// A request URI as logged: scheme, host, port and path; never user info, query or fragment.
struct LoggedUri<'a>(&'a http::Uri);

impl fmt::Display for LoggedUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uri = self.0;
        if let Some(scheme) = uri.scheme_str() {
            write!(f, "{scheme}://")?;
        }
        if let Some(host) = uri.host() {
            f.write_str(host)?;
        }
        if let Some(port) = uri.port_u16() {
            write!(f, ":{port}")?;
        }
        f.write_str(uri.path())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex, PoisonError};
    use std::task::{Context, Wake, Waker};

    use super::*;
    use crate::flow::TransmitIds;

    fn request(path: &str) -> HttpRequest {
        // The query stands for a secret that must never be logged.
        http::Request::get(format!("https://as.example{path}?subject_token=secret"))
            .body(Vec::new())
            .expect("a valid request")
    }

    /// Two independent transmits (`/a`, `/b`), then `/c`, which needs both responses. Checks
    /// that each response comes back under its own id (the body echoes the path), and is done
    /// with the paths in the order their responses were handed back.
    #[derive(Default)]
    struct Diamond {
        ids: TransmitIds,
        emitted: Vec<(TransmitId, &'static str)>,
        answered: Vec<&'static str>,
        handled: Arc<AtomicUsize>,
        done: bool,
    }

    impl Diamond {
        fn emit(&mut self, purpose: Purpose, path: &'static str) -> Output<Vec<&'static str>> {
            let id = self.ids.allocate();
            self.emitted.push((id, path));
            Output::Transmit(Transmit {
                id,
                purpose,
                request: request(path),
            })
        }
    }

    impl Flow for Diamond {
        type Output = Vec<&'static str>;

        fn poll_output(&mut self, _now: SystemTime) -> Result<Output<Self::Output>, Error> {
            if self.done {
                return Err(Error::Misuse("polled after Done"));
            }
            Ok(match (self.emitted.len(), self.answered.len()) {
                (0, _) => self.emit(Purpose::ResourceMetadata, "/a"),
                (1, _) => self.emit(Purpose::IdpMetadata, "/b"),
                (2, 2) => self.emit(Purpose::TokenExchange, "/c"),
                (3, 3) => {
                    self.done = true;
                    Output::Done(self.answered.clone())
                }
                _ => Output::Wait,
            })
        }

        fn handle_response(
            &mut self,
            _now: SystemTime,
            id: TransmitId,
            response: HttpResponse,
        ) -> Result<(), Error> {
            self.handled.fetch_add(1, Ordering::SeqCst);
            let Some(&(_, path)) = self.emitted.iter().find(|(emitted, _)| *emitted == id) else {
                return Err(Error::Misuse("response for an unknown id"));
            };
            if self.answered.contains(&path) {
                return Err(Error::Misuse("response handed back twice"));
            }
            if response.body() != path.as_bytes() {
                return Err(Error::Misuse("response handed back under the wrong id"));
            }
            self.answered.push(path);
            Ok(())
        }
    }

    /// Emits a transmit on every poll (`parallel`), or one per response: it never finishes.
    #[derive(Default)]
    struct Endless {
        ids: TransmitIds,
        parallel: bool,
        outstanding: bool,
    }

    impl Flow for Endless {
        type Output = ();

        fn poll_output(&mut self, _now: SystemTime) -> Result<Output<()>, Error> {
            if self.outstanding && !self.parallel {
                return Ok(Output::Wait);
            }
            self.outstanding = true;
            Ok(Output::Transmit(Transmit {
                id: self.ids.allocate(),
                purpose: Purpose::ResourceMetadata,
                request: request("/again"),
            }))
        }

        fn handle_response(
            &mut self,
            _now: SystemTime,
            _id: TransmitId,
            _response: HttpResponse,
        ) -> Result<(), Error> {
            self.outstanding = false;
            Ok(())
        }
    }

    /// Echoes the request path as the body.
    fn echo(request: &HttpRequest) -> HttpResponse {
        HttpResponse::new(request.uri().path().as_bytes().to_vec())
    }

    fn echo_ok(request: HttpRequest) -> Result<HttpResponse, std::io::Error> {
        Ok(echo(&request))
    }

    fn clock() -> SystemTime {
        SystemTime::UNIX_EPOCH
    }

    struct NoopWaker;

    impl Wake for NoopWaker {
        fn wake(self: Arc<Self>) {}
    }

    /// Polls `future` until it is ready; a future still pending after many polls is a hang.
    fn block_on<T>(future: impl Future<Output = T>) -> T {
        let waker = Waker::from(Arc::new(NoopWaker));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        for _ in 0..10_000 {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        }
        panic!("the future hangs");
    }

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn drive_sends_all_three_in_order() {
        let mut sent = Vec::new();
        let out = drive(Diamond::default(), clock, |request: HttpRequest| {
            sent.push(request.uri().path().to_owned());
            echo_ok(request)
        });
        assert_eq!(out.ok(), Some(vec!["/a", "/b", "/c"]));
        assert_eq!(sent, ["/a", "/b", "/c"]);
    }

    #[test]
    fn drive_async_overlaps_independent_requests() {
        // `/a` is sent first but its future stays pending until `/b` has completed: a driver
        // that awaited `/a` alone would hang here.
        let b_done = Arc::new(AtomicBool::new(false));
        let completed = Arc::new(Mutex::new(Vec::new()));
        let send = |request: HttpRequest| {
            let path = request.uri().path().to_owned();
            let mut response = Some(echo(&request));
            let b_done = Arc::clone(&b_done);
            let completed = Arc::clone(&completed);
            poll_fn(move |_cx| {
                if path == "/a" && !b_done.load(Ordering::SeqCst) {
                    return Poll::Pending;
                }
                if path == "/b" {
                    b_done.store(true, Ordering::SeqCst);
                }
                completed
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(path.clone());
                let response = response.take().expect("polled after completion");
                Poll::Ready(Ok::<_, std::io::Error>(response))
            })
        };
        let out = block_on(drive_async(Diamond::default(), clock, send));
        assert_eq!(out.ok(), Some(vec!["/b", "/a", "/c"]));
        assert_eq!(
            *completed.lock().unwrap_or_else(PoisonError::into_inner),
            ["/b", "/a", "/c"]
        );
    }

    #[test]
    fn transport_error_names_the_step_and_feeds_nothing() {
        let flow = Diamond::default();
        let handled = Arc::clone(&flow.handled);
        let result = drive(flow, clock, |request: HttpRequest| {
            if request.uri().path() == "/a" {
                Err(std::io::Error::other("connection refused"))
            } else {
                echo_ok(request)
            }
        });
        let Err(error) = result else {
            panic!("expected a transport error");
        };
        assert!(matches!(
            error,
            DriveError::Transport {
                purpose: Purpose::ResourceMetadata,
                ..
            }
        ));
        assert_eq!(error.purpose(), Some(Purpose::ResourceMetadata));
        assert_eq!(
            error.to_string(),
            "resource_metadata: transport failed: connection refused"
        );
        assert!(!error.to_string().contains("secret"));
        assert_eq!(handled.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn async_transport_error_names_the_step() {
        let flow = Diamond::default();
        let handled = Arc::clone(&flow.handled);
        let send = |request: HttpRequest| {
            let failed = request.uri().path() == "/b";
            async move {
                if failed {
                    Err(std::io::Error::other("reset"))
                } else {
                    // Never completes: the failure of `/b` must end the drive anyway.
                    std::future::pending().await
                }
            }
        };
        let result = block_on(drive_async(flow, clock, send));
        assert_eq!(
            result.err().and_then(|e| e.purpose()),
            Some(Purpose::IdpMetadata)
        );
        assert_eq!(handled.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn limit_counts_emitted_transmits() {
        assert!(drive_with_limit(Diamond::default(), clock, echo_ok, 3).is_ok());
        assert!(matches!(
            drive_with_limit(Diamond::default(), clock, echo_ok, 2),
            Err(DriveError::Flow(Error::TooManyTransmits { limit: 2 }))
        ));
        let async_result = block_on(drive_async_with_limit(
            Diamond::default(),
            clock,
            |r| std::future::ready(echo_ok(r)),
            2,
        ));
        assert!(matches!(
            async_result,
            Err(DriveError::Flow(Error::TooManyTransmits { limit: 2 }))
        ));
    }

    #[test]
    fn endless_flows_hit_the_bound() {
        for parallel in [false, true] {
            let mut sent = 0u32;
            let result = drive(
                Endless {
                    parallel,
                    ..Endless::default()
                },
                clock,
                |r| {
                    sent += 1;
                    echo_ok(r)
                },
            );
            assert!(matches!(
                result,
                Err(DriveError::Flow(Error::TooManyTransmits { limit: 64 }))
            ));
            // Sequential: 64 sent, the 65th refused when emitted. Parallel: refused in the
            // first drain, before anything is sent.
            assert_eq!(sent, if parallel { 0 } else { 64 });

            let result = block_on(drive_async(
                Endless {
                    parallel,
                    ..Endless::default()
                },
                clock,
                |r| std::future::ready(echo_ok(r)),
            ));
            assert!(matches!(
                result,
                Err(DriveError::Flow(Error::TooManyTransmits { limit: 64 }))
            ));
        }
    }

    #[test]
    fn waiting_with_nothing_outstanding_is_misuse() {
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
        assert!(matches!(
            drive(Stalled, clock, echo_ok),
            Err(DriveError::Flow(Error::Misuse(STALL)))
        ));
        assert!(matches!(
            block_on(drive_async(Stalled, clock, |r| std::future::ready(
                echo_ok(r)
            ))),
            Err(DriveError::Flow(Error::Misuse(STALL)))
        ));
    }

    #[test]
    fn async_drive_is_send_when_its_parts_are() {
        let future = drive_async(Diamond::default(), SystemTime::now, |request| async move {
            echo_ok(request)
        });
        assert_send(&future);
        assert_eq!(block_on(future).ok(), Some(vec!["/a", "/b", "/c"]));
    }

    /// Records every event's fields as text.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<Event>>>);

    /// One event's fields, as `(name, value)`.
    type Event = Vec<(String, String)>;

    struct Fields(Vec<(String, String)>);

    impl tracing::field::Visit for Fields {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
            self.0.push((field.name().to_owned(), format!("{value:?}")));
        }
    }

    impl tracing::Subscriber for Recorder {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            let mut fields = Fields(Vec::new());
            event.record(&mut fields);
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(fields.0);
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    #[test]
    fn logs_each_request_without_query_headers_or_body() {
        let recorder = Recorder::default();
        let mut millis = 0;
        let mut ticking_clock = || {
            millis += 250;
            SystemTime::UNIX_EPOCH + Duration::from_millis(millis)
        };
        let result = tracing::subscriber::with_default(recorder.clone(), || {
            // Parallel tests without a subscriber may have registered these callsites as
            // uninteresting: rebuild their interest with this thread's subscriber, then record
            // a clean run (retried in case another thread was registering one meanwhile).
            let mut result = drive(Diamond::default(), clock, echo_ok);
            for _ in 0..3 {
                tracing::callsite::rebuild_interest_cache();
                recorder
                    .0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clear();
                result = drive(Diamond::default(), &mut ticking_clock, echo_ok);
                if recorder
                    .0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .len()
                    == 6
                {
                    break;
                }
            }
            result
        });
        assert!(result.is_ok());
        let events = recorder.0.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(
            events.len(),
            6,
            "one sent and one answered event per request"
        );
        let field = |event: &Event, name: &str| {
            event
                .iter()
                .find(|(field, _)| field == name)
                .map(|(_, value)| value.clone())
        };
        assert_eq!(
            field(&events[0], "url").as_deref(),
            Some("https://as.example/a")
        );
        assert_eq!(field(&events[0], "method").as_deref(), Some("GET"));
        assert_eq!(
            field(&events[0], "purpose").as_deref(),
            Some("\"resource_metadata\"")
        );
        assert_eq!(field(&events[0], "transmit_id").as_deref(), Some("0"));
        assert_eq!(field(&events[1], "status").as_deref(), Some("200"));
        assert_eq!(field(&events[1], "elapsed_ms").as_deref(), Some("250"));
        for event in events.iter() {
            for (name, value) in event {
                assert!(!value.contains("secret"), "{name}={value}");
            }
        }
    }

    #[test]
    fn budget_bound() {
        let mut budget = Budget::new(1);
        assert!(budget.take().is_ok());
        assert_eq!(budget.take(), Err(Error::TooManyTransmits { limit: 1 }));
        assert!(Budget::new(0).take().is_err());
    }

    #[test]
    fn logged_uri_drops_userinfo_query_and_fragment() {
        let uri: http::Uri = "https://user:pw@idp.example:8443/oauth2/token?subject_token=x"
            .parse()
            .expect("a valid URI");
        assert_eq!(
            LoggedUri(&uri).to_string(),
            "https://idp.example:8443/oauth2/token"
        );
        let relative: http::Uri = "/path?q=1".parse().expect("a valid URI");
        assert_eq!(LoggedUri(&relative).to_string(), "/path");
    }

    #[test]
    fn elapsed_uses_the_callers_clock() {
        let t0 = SystemTime::UNIX_EPOCH;
        assert_eq!(elapsed_ms(t0, t0 + Duration::from_millis(1500)), 1500);
        assert_eq!(elapsed_ms(t0 + Duration::from_secs(1), t0), 0);
    }
}
