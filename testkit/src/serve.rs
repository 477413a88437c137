//! Listeners, connections and the runtime they run on.
//!
//! A kit owns one current-thread tokio runtime on one dedicated thread. Each listener has an
//! accept loop; each connection is a task serving HTTP/1.1 through hyper (behind TLS when
//! configured) with an axum router whose single handler records the request, applies the
//! endpoint's delay and fault, and calls the server's sans-IO handler. Stopping drops the
//! runtime on its thread, which drops every task: listeners and connections close, in flight
//! or idle, and the thread is joined.

use std::net::TcpListener as StdTcpListener;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use crate::Error;
use crate::endpoint::{Endpoint, Server};
use crate::faults::{self, Fault};
use crate::http_util::not_found;
use crate::state::{Listener, Shared};

/// The largest request body read; larger requests are answered 413.
const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// The running servers: the runtime thread and the signal that stops it.
#[derive(Debug)]
pub(crate) struct Running {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    /// Starts the runtime thread serving `listeners`.
    pub(crate) fn start(
        listeners: Vec<(StdTcpListener, Listener)>,
        shared: Arc<Shared>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let listeners = {
            let _context = runtime.enter();
            listeners
                .into_iter()
                .map(|(listener, role)| Ok((TcpListener::from_std(listener)?, role)))
                .collect::<Result<Vec<_>, std::io::Error>>()?
        };
        let acceptor = tls.map(TlsAcceptor::from);
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("xaa-testkit".into())
            .spawn(move || {
                runtime.block_on(async move {
                    for (listener, role) in listeners {
                        let router = Router::new().fallback(handle).with_state(Context {
                            shared: Arc::clone(&shared),
                            listener: role,
                        });
                        tokio::spawn(accept_loop(listener, router, acceptor.clone()));
                    }
                    // Either a stop signal or the handle dropped without one.
                    let _ = stopped.await;
                });
                // Dropping the runtime drops every task: listeners and connections close.
                drop(runtime);
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops the runtime and joins its thread.
    pub(crate) fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept_loop(listener: TcpListener, router: Router, tls: Option<TlsAcceptor>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of descriptors or the like: back off briefly instead of spinning.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        serve_connection(stream, router).await;
                    }
                }
                None => serve_connection(stream, router).await,
            }
        });
    }
}

async fn serve_connection<I>(io: I, router: Router)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(router))
        .await;
}

/// What each request handler knows: the shared state and which listener it came through.
#[derive(Clone)]
struct Context {
    shared: Arc<Shared>,
    listener: Listener,
}

impl Context {
    fn server(&self) -> Server {
        match self.listener {
            Listener::Idp => Server::Idp,
            Listener::AuthorizationServer | Listener::AsToken => Server::AuthorizationServer,
            Listener::Mcp => Server::Mcp,
        }
    }
}

/// Every request of every listener: read, record, delay, fault, answer.
async fn handle(State(context): State<Context>, request: axum::extract::Request) -> Response {
    let started = Instant::now();
    let shared = &context.shared;
    let (parts, body) = request.into_parts();
    let (body, too_large) = match axum::body::to_bytes(body, MAX_REQUEST_BYTES).await {
        Ok(bytes) => (bytes.to_vec(), false),
        Err(_) => (Vec::new(), true),
    };
    let request = http::Request::from_parts(parts, body);
    let endpoint = shared.route(context.listener, request.uri().path());
    let seq = shared
        .recorder
        .begin(context.server(), endpoint, &request, started);
    let response = if too_large {
        crate::http_util::empty(StatusCode::PAYLOAD_TOO_LARGE).map(Body::from)
    } else {
        respond(shared, endpoint, &request).await
    };
    shared
        .recorder
        .finish(seq, response.status(), Instant::now());
    response
}

/// The answer: the endpoint's delay, then its fault or its handler.
async fn respond(
    shared: &Shared,
    endpoint: Option<Endpoint>,
    request: &http::Request<Vec<u8>>,
) -> Response {
    let Some(endpoint) = endpoint else {
        return not_found().map(Body::from);
    };
    if let Some(delay) = shared.delay(endpoint) {
        tokio::time::sleep(delay).await;
    }
    let fault = shared.take_fault(endpoint);
    let normal = |fault: Option<&Fault>| dispatch(shared, endpoint, request, fault);
    let response = match &fault {
        Some(Fault::Slow(duration)) => {
            tokio::time::sleep(*duration).await;
            normal(None)
        }
        Some(Fault::Redirect(location)) => faults::redirect(location),
        Some(Fault::ServerError) => faults::plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            b"internal server error (xaa-testkit Fault::ServerError)".to_vec(),
        ),
        Some(Fault::NotJson) => faults::plain(
            StatusCode::OK,
            "application/json",
            b"<html><body>this is not JSON</body></html>".to_vec(),
        ),
        Some(Fault::OversizedBody) => {
            faults::plain(StatusCode::OK, "application/json", faults::oversized_body())
        }
        Some(Fault::WrongContentType) => {
            let mut response = normal(None);
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/html"),
            );
            response
        }
        Some(Fault::CloseMidBody) => return faults::close_mid_body(normal(None)),
        other => normal(other.as_ref()),
    };
    response.map(Body::from)
}

/// The server's own answer, with an endpoint-specific fault if one is armed.
fn dispatch(
    shared: &Shared,
    endpoint: Endpoint,
    request: &http::Request<Vec<u8>>,
    fault: Option<&Fault>,
) -> http::Response<Vec<u8>> {
    let fault = fault.filter(|fault| !fault.is_transport());
    let now = SystemTime::now();
    match endpoint.server() {
        Server::Idp => crate::idp::handle(shared, endpoint, request, fault, now),
        Server::AuthorizationServer => {
            crate::authorization_server::handle(shared, endpoint, request, fault, now)
        }
        Server::Mcp => crate::mcp::handle(shared, endpoint, request, fault, now),
    }
}

/// Binds a listener on 127.0.0.1 with an ephemeral port.
pub(crate) fn bind() -> Result<StdTcpListener, Error> {
    let listener = StdTcpListener::bind(("127.0.0.1", 0))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}
