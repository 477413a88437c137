//! [`xaa::drive_async`] on any executor: a small HTTP/1.1 client made of a hyper 1 client
//! connection over whatever TCP stream the executor provides, with the connection task
//! spawned on that same executor. Nothing here names a runtime: the tests implement
//! [`Runtime`] for smol and for async-std, and run a whole [`xaa::EnterpriseAuth`] flow on
//! each against the loopback testkit.
//!
//! ```text
//!   drive_async(flow, clock, |request| client.send(request))
//!        |  every outstanding request in flight together
//!        v
//!   Client::send: Runtime::connect (the executor's TcpStream)
//!                 -> hyper::client::conn::http1::handshake(FuturesIo(stream))
//!                 -> Runtime::spawn(connection)          (the executor drives the socket)
//!                 -> send_request, body capped at max_body_bytes
//! ```
//!
//! Plain http only: enough for loopback tests. For https, wrap the stream in a TLS stream of
//! the same traits (e.g. `futures-rustls`) before the handshake.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::HOST;
use http::{HeaderValue, Uri};
use http_body_util::{BodyExt, Full, Limited};
use xaa::{HttpRequest, HttpResponse};

/// What an executor provides to [`Client`]: TCP connections and a way to run a task.
pub trait Runtime: Clone + Send + Sync + 'static {
    /// The executor's TCP stream (`smol::net::TcpStream`, `async_std::net::TcpStream`, ...).
    type Stream: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static;

    /// Opens a TCP connection to `host:port` on the executor's reactor.
    fn connect(
        &self,
        host: String,
        port: u16,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// Runs `task` to completion in the background on the executor.
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static);
}

/// Why [`Client::send`] got no response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL cannot be sent by this client (not `http`, no host).
    #[error("unsupported URL {0}")]
    Url(String),
    /// Connecting failed.
    #[error("connect: {0}")]
    Connect(#[source] io::Error),
    /// HTTP/1.1 failed (handshake, request, response head).
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    /// The response body failed or is longer than the cap.
    #[error("response body: {0}")]
    Body(String),
}

/// A one-connection-per-request HTTP/1.1 client on the executor `R`: no pool, no redirects
/// (a 3xx is a response, for the flow to refuse), any status a response.
#[derive(Clone, Debug)]
pub struct Client<R> {
    runtime: R,
    max_body_bytes: usize,
}

impl<R: Runtime> Client<R> {
    /// A client on `runtime` reading at most `max_body_bytes` of a response body
    /// (`Policy::max_body_bytes`).
    pub fn new(runtime: R, max_body_bytes: usize) -> Self {
        Self {
            runtime,
            max_body_bytes,
        }
    }

    /// Sends one request and reads the whole response: the `send` of [`xaa::drive_async`].
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, Error> {
        let uri = request.uri().clone();
        let (host, port, authority) = target(&uri)?;
        let stream = self
            .runtime
            .connect(host, port)
            .await
            .map_err(Error::Connect)?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(FuturesIo::new(stream)).await?;
        // The executor drives the socket; the task ends when `sender` is dropped.
        self.runtime.spawn(async move {
            let _ = connection.await;
        });
        let (mut parts, body) = request.into_parts();
        // HTTP/1.1 origin-form, with the authority in Host (RFC 9112 section 3.2).
        parts.uri = uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse()
            .map_err(|_| Error::Url(uri.to_string()))?;
        parts.headers.insert(HOST, authority);
        let request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let response = sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, self.max_body_bytes)
            .collect()
            .await
            .map_err(|e| Error::Body(e.to_string()))?
            .to_bytes();
        Ok(http::Response::from_parts(parts, body.to_vec()))
    }
}

/// Host, port and `Host` header of an `http` URL.
fn target(uri: &Uri) -> Result<(String, u16, HeaderValue), Error> {
    let unsupported = || Error::Url(uri.to_string());
    if uri.scheme_str() != Some("http") {
        return Err(unsupported());
    }
    let authority = uri.authority().ok_or_else(unsupported)?;
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = authority.port_u16().unwrap_or(80);
    let header = HeaderValue::from_str(authority.as_str()).map_err(|_| unsupported())?;
    Ok((host.to_owned(), port, header))
}

/// hyper's I/O traits over the `futures-io` ones that smol, async-std and async-io streams
/// implement. Reads go through a small buffer, so no `unsafe` is needed.
#[derive(Debug)]
pub struct FuturesIo<T> {
    inner: T,
}

impl<T> FuturesIo<T> {
    /// Wraps a `futures-io` stream.
    pub fn new(inner: T) -> Self {
        Self { inner }
    }
}

impl<T: futures_io::AsyncRead + Unpin> hyper::rt::Read for FuturesIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let mut chunk = [0u8; 8 * 1024];
        let room = buf.remaining().min(chunk.len());
        match Pin::new(&mut self.inner).poll_read(cx, &mut chunk[..room]) {
            Poll::Ready(Ok(read)) => {
                buf.put_slice(&chunk[..read]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: futures_io::AsyncWrite + Unpin> hyper::rt::Write for FuturesIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}
