//! The redirect listener of the authorization code flow (RFC 8252 section 7.3): a TCP listener
//! on `127.0.0.1` at a port the system picks, waiting for exactly one `GET /callback`.
//!
//! Rules:
//! - only the loopback interface is bound, never a wildcard address (RFC 8252 section 8.3);
//! - any other method or path is answered 404 and the wait goes on;
//! - a request head (request line and headers) larger than [`MAX_REQUEST_HEAD_BYTES`] is
//!   answered 431 and dropped;
//! - each connection has [`CONNECTION_TIMEOUT`] to send its request head, and the whole wait
//!   ends at the deadline;
//! - the first `GET /callback` ends the wait and the listener is closed at once, so a second
//!   callback finds no one listening.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::page;

/// The most bytes of request line and headers read from one connection; the callback's query
/// is at most [`xaa::signin::MAX_CALLBACK_QUERY_BYTES`].
pub(crate) const MAX_REQUEST_HEAD_BYTES: usize = xaa::signin::MAX_CALLBACK_QUERY_BYTES + 8 * 1024;

/// How long one connection may take to send its request head.
pub(crate) const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// How often the listener looks for a new connection while waiting.
const ACCEPT_EVERY: Duration = Duration::from_millis(20);

/// The path the IdP redirects to.
pub(crate) const CALLBACK_PATH: &str = "/callback";

/// The listener, bound and not yet waited on.
pub(crate) struct CallbackListener {
    listener: TcpListener,
    address: SocketAddr,
}

/// The callback the browser brought: its query, and the connection to answer it on.
pub(crate) struct Callback {
    /// The query of the request target (without `?`), possibly empty. It holds the code.
    pub(crate) query: String,
    stream: TcpStream,
}

/// Why no callback came.
#[derive(Debug)]
pub(crate) enum ListenError {
    /// The deadline passed first.
    TimedOut,
    /// The listener failed.
    Io(io::Error),
}

impl CallbackListener {
    /// Binds `127.0.0.1` on a port the system picks.
    pub(crate) fn bind() -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        Ok(Self { listener, address })
    }

    /// The `redirect_uri` to send: `http://127.0.0.1:<port>/callback`.
    pub(crate) fn redirect_uri(&self) -> String {
        format!("http://{}{CALLBACK_PATH}", self.address)
    }

    /// Waits until `deadline` for the first `GET /callback`, answering everything else; the
    /// listener is closed when this returns.
    pub(crate) fn wait(self, deadline: Instant) -> Result<Callback, ListenError> {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(ListenError::TimedOut);
            }
            match self.listener.accept() {
                Ok((stream, _)) => {
                    let time_left = deadline.saturating_duration_since(now);
                    if let Some(callback) = serve(stream, CONNECTION_TIMEOUT.min(time_left)) {
                        return Ok(callback);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(ACCEPT_EVERY.min(deadline.saturating_duration_since(now)));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ListenError::Io(e)),
            }
        }
    }
}

impl Callback {
    /// Answers the browser with the page for `outcome`; a browser gone away is no failure of
    /// the sign-in.
    pub(crate) fn answer(mut self, outcome: Result<(), &str>) {
        let status = if outcome.is_ok() {
            "200 OK"
        } else {
            "400 Bad Request"
        };
        let _ = respond(&mut self.stream, status, &page::render(outcome));
    }
}

/// Reads one request head from `stream` and answers it unless it is the callback.
fn serve(mut stream: TcpStream, timeout: Duration) -> Option<Callback> {
    // An accepted socket may inherit the listener's non-blocking mode on some systems.
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    let head = match read_head(&mut stream) {
        Head::Complete(head) => head,
        Head::TooLarge => {
            let _ = respond(&mut stream, "431 Request Header Fields Too Large", "");
            return None;
        }
        Head::Broken => {
            let _ = respond(&mut stream, "400 Bad Request", "");
            return None;
        }
    };
    let request_line = head.split("\r\n").next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next(), parts.next());
    let (path, query) = match target {
        Some(target) => target.split_once('?').unwrap_or((target, "")),
        None => ("", ""),
    };
    if method == Some("GET") && path == CALLBACK_PATH {
        return Some(Callback {
            query: query.to_owned(),
            stream,
        });
    }
    let _ = respond(&mut stream, "404 Not Found", "");
    None
}

/// A request head, read.
enum Head {
    /// Up to the blank line, as text.
    Complete(String),
    /// Longer than [`MAX_REQUEST_HEAD_BYTES`].
    TooLarge,
    /// Closed, timed out, or not text.
    Broken,
}

fn read_head(stream: &mut TcpStream) -> Head {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            if end > MAX_REQUEST_HEAD_BYTES {
                return Head::TooLarge;
            }
            head.truncate(end);
            return String::from_utf8(head).map_or(Head::Broken, Head::Complete);
        }
        if head.len() > MAX_REQUEST_HEAD_BYTES {
            return Head::TooLarge;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return Head::Broken,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Writes a whole response and closes the connection. The page loads nothing, may not be
/// framed, is not cached, and sends no `Referer` (the callback URL holds the code).
fn respond(stream: &mut TcpStream, status: &str, body: &str) -> io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nContent-Security-Policy: default-src 'none'\r\n\
         X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\nCache-Control: no-store\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;

    fn exchange(address: SocketAddr, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(address).expect("connects");
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        stream.write_all(request).expect("sends");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    }

    fn port_of(uri: &str) -> SocketAddr {
        let url = url::Url::parse(uri).expect("redirect_uri");
        assert_eq!(url.host_str(), Some("127.0.0.1"));
        assert_eq!(url.path(), CALLBACK_PATH);
        SocketAddr::from((Ipv4Addr::LOCALHOST, url.port().expect("port")))
    }

    #[test]
    fn other_paths_and_methods_get_404_and_the_callback_ends_the_wait() {
        let listener = CallbackListener::bind().expect("binds");
        let address = port_of(&listener.redirect_uri());
        let waiting =
            thread::spawn(move || listener.wait(Instant::now() + Duration::from_secs(20)));
        let other = exchange(address, b"GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(other.starts_with("HTTP/1.1 404 Not Found\r\n"), "{other}");
        let post = exchange(
            address,
            b"POST /callback?code=c HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert!(post.starts_with("HTTP/1.1 404 Not Found\r\n"), "{post}");
        let mut stream = TcpStream::connect(address).expect("connects");
        stream
            .write_all(b"GET /callback?code=c&state=s HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("sends");
        let callback = waiting.join().expect("joins").expect("a callback");
        assert_eq!(callback.query, "code=c&state=s");
        callback.answer(Err("<b>denied</b>"));
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(answer.contains("&lt;b&gt;denied&lt;/b&gt;"), "{answer}");
        assert!(answer.contains("Content-Security-Policy: default-src 'none'\r\n"));
        let second = TcpStream::connect(address);
        assert!(second.is_err(), "a second callback finds no listener");
    }

    #[test]
    fn an_oversized_request_head_gets_431_and_the_wait_goes_on() {
        let listener = CallbackListener::bind().expect("binds");
        let address = port_of(&listener.redirect_uri());
        let waiting =
            thread::spawn(move || listener.wait(Instant::now() + Duration::from_secs(20)));
        let mut huge = b"GET /callback?code=".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_REQUEST_HEAD_BYTES + 10));
        huge.extend_from_slice(b" HTTP/1.1\r\n\r\n");
        let answer = exchange(address, &huge);
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
        let mut stream = TcpStream::connect(address).expect("still listening");
        stream
            .write_all(b"GET /callback?state=s HTTP/1.1\r\n\r\n")
            .expect("sends");
        let callback = waiting.join().expect("joins").expect("a callback");
        assert_eq!(callback.query, "state=s");
    }

    #[test]
    fn the_wait_ends_at_the_deadline_and_a_late_callback_is_refused() {
        let listener = CallbackListener::bind().expect("binds");
        let address = port_of(&listener.redirect_uri());
        let started = Instant::now();
        let outcome = listener.wait(started + Duration::from_millis(200));
        assert!(matches!(outcome, Err(ListenError::TimedOut)));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            TcpStream::connect(address).is_err(),
            "nobody listens any more"
        );
    }

    #[test]
    fn a_silent_connection_is_dropped_after_its_timeout_and_the_callback_still_comes() {
        let listener = CallbackListener::bind().expect("binds");
        let address = port_of(&listener.redirect_uri());
        let waiting =
            thread::spawn(move || listener.wait(Instant::now() + Duration::from_secs(30)));
        let _silent = TcpStream::connect(address).expect("connects");
        let mut stream = TcpStream::connect(address).expect("connects");
        stream
            .write_all(b"GET /callback?x=1 HTTP/1.1\r\n\r\n")
            .expect("sends");
        let callback = waiting.join().expect("joins").expect("a callback");
        assert_eq!(callback.query, "x=1");
    }
}
