//! The address guard on every client (decisions.md D5), over real loopback HTTP: names pinned
//! with `ClientBuilder::resolve` and IP literals are judged before any connection, and a
//! deadline bounds a whole run. No test connects anywhere but 127.0.0.1: a refused address is
//! refused before ureq connects, which the listeners' connection counts show.

#[path = "../../tests-shared/loopback.rs"]
mod support;

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use support::{read_request, response};
use xaa::discovery::{AddressClass, AddressGuard, classify};
use xaa::{Flow, HttpResponse, Output, Purpose, Transmit, TransmitId};
use xaa_ureq::{Client, ClientBuilder, Error, ProxySetting};

/// A loopback server answering every request `200 ok` after `delay`, counting connections.
struct Server {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl Server {
    fn start(delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                counted.fetch_add(1, Ordering::SeqCst);
                thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    read_request(&mut stream);
                    thread::sleep(delay);
                    let _ = stream.write_all(&response("200 OK", &[], b"ok"));
                });
            }
        });
        Self { addr, connections }
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn builder() -> ClientBuilder {
    Client::builder()
        .proxy(ProxySetting::None)
        .timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(1))
}

fn get(url: &str) -> http::Request<Vec<u8>> {
    http::Request::get(url).body(Vec::new()).expect("request")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("IP address")
}

/// The refusal of `result`: the host and address the guard named.
fn refusal(result: Result<HttpResponse, Error>) -> (String, IpAddr, String) {
    match result {
        Err(error @ Error::PrivateAddress { .. }) => {
            let message = error.to_string();
            let Error::PrivateAddress { host, address, .. } = error else {
                unreachable!("matched above")
            };
            (host, address, message)
        }
        other => panic!("expected the guard's refusal, got {other:?}"),
    }
}

/// A name pinned to a never-class address is refused by the default client, and by a guard
/// that allows everything else and the host itself, at once and without a connection. The
/// port is the local server's, so a connection to `0.0.0.0` would have reached it on Linux.
#[test]
fn a_name_resolved_to_a_never_address_is_refused_before_any_connect() {
    let server = Server::start(Duration::ZERO);
    let url = format!("http://meta.test:{}/latest/meta-data", server.port());
    let permissive = AddressGuard::new(["meta.test"])
        .allow_private(true)
        .allow_loopback(true);
    for never in ["169.254.169.254", "::ffff:169.254.169.254", "0.0.0.0"] {
        let clients = [
            builder().resolve("meta.test", [ip(never)]),
            builder()
                .resolve("META.test.", [ip(never)])
                .address_guard(permissive.clone()),
        ];
        for client in clients {
            let client = client.build().expect("client");
            let started = Instant::now();
            let (host, address, message) = refusal(client.send(get(&url)));
            assert!(started.elapsed() < Duration::from_millis(500), "{never}");
            assert_eq!(host, "meta.test");
            assert_eq!(address, ip(never));
            assert_eq!(classify(address), AddressClass::Never);
            assert!(message.contains("which is never connected to"), "{message}");
        }
    }
    assert_eq!(server.connections(), 0);
}

#[test]
fn a_name_resolved_to_loopback_connects_only_when_loopback_is_allowed() {
    let server = Server::start(Duration::ZERO);
    let url = format!("http://app.test:{}/", server.port());
    let pinned = || builder().resolve("app.test", [ip("127.0.0.1")]);

    // The default guard refuses only the never class.
    let response = pinned().build().expect("client").send(get(&url));
    assert_eq!(response.expect("loopback allowed").body(), b"ok");
    assert_eq!(server.connections(), 1);

    let strict = pinned()
        .deny_private_addresses(true)
        .build()
        .expect("client");
    let (host, address, message) = refusal(strict.send(get(&url)));
    assert_eq!((host.as_str(), address), ("app.test", ip("127.0.0.1")));
    assert!(message.contains("a loopback address"), "{message}");
    assert_eq!(server.connections(), 1, "refused before connecting");

    let allowed = [
        pinned().deny_private_addresses(true).allow_host("APP.test"),
        pinned().address_guard(AddressGuard::default().allow_loopback(true)),
    ];
    for (n, client) in allowed.into_iter().enumerate() {
        let response = client.build().expect("client").send(get(&url));
        assert_eq!(response.expect("allowed").body(), b"ok");
        assert_eq!(server.connections(), n + 2);
    }
}

/// ureq resolves IP literals through its resolver, so the guard sees them: `0.0.0.0` (which
/// reaches local listeners on Linux), `[::]` and `0` (read as 0.0.0.0) are refused by the
/// default client, `[::ffff:127.0.0.1]` is loopback.
#[test]
fn ip_literals_are_judged_by_the_default_guard() {
    let server = Server::start(Duration::ZERO);
    let port = server.port();
    let client = builder().build().expect("client");
    for literal in ["0.0.0.0", "[::]", "[::ffff:0.0.0.0]"] {
        let (_, address, _) = refusal(client.send(get(&format!("http://{literal}:{port}/"))));
        assert_eq!(classify(address), AddressClass::Never, "{literal}");
    }
    // `0` is 0.0.0.0 to getaddrinfo; a resolver that does not know it fails, never connects.
    match client.send(get(&format!("http://0:{port}/"))) {
        Err(Error::PrivateAddress { address, .. }) => assert_eq!(address, ip("0.0.0.0")),
        Err(other) => assert!(other.is_transport(), "{other:?}"),
        Ok(response) => panic!("`0` reached a server: {response:?}"),
    }
    assert_eq!(server.connections(), 0);

    let mapped = format!("http://[::ffff:127.0.0.1]:{port}/");
    let strict = builder()
        .deny_private_addresses(true)
        .build()
        .expect("client");
    let (_, address, _) = refusal(strict.send(get(&mapped)));
    assert_eq!(classify(address), AddressClass::Loopback);
    assert_eq!(server.connections(), 0);

    // Where the system connects to an IPv4-mapped address at all, the default client does.
    let mapped_addr: SocketAddr = format!("[::ffff:127.0.0.1]:{port}").parse().expect("addr");
    if TcpStream::connect_timeout(&mapped_addr, Duration::from_secs(1)).is_ok() {
        let response = client.send(get(&mapped)).expect("loopback allowed");
        assert_eq!(response.body(), b"ok");
    }
}

/// GETs `url` `count` times, one after the other.
struct Gets {
    url: String,
    left: usize,
    waiting: bool,
}

impl Flow for Gets {
    type Output = ();

    fn poll_output(&mut self, _now: SystemTime) -> Result<Output<()>, xaa::Error> {
        if self.waiting {
            return Ok(Output::Wait);
        }
        if self.left == 0 {
            return Ok(Output::Done(()));
        }
        self.left -= 1;
        self.waiting = true;
        Ok(Output::Transmit(Transmit {
            id: TransmitId::new(0),
            purpose: Purpose::TokenExchange,
            request: get(&self.url),
        }))
    }

    fn handle_response(
        &mut self,
        _now: SystemTime,
        _id: TransmitId,
        _response: HttpResponse,
    ) -> Result<(), xaa::Error> {
        self.waiting = false;
        Ok(())
    }
}

/// Three requests answered after 400 ms each, a 2 s timeout per request, a 1 s deadline: the
/// third request gets what is left, and the run ends near the deadline, not at 1.2 s or 2.8 s.
#[test]
fn a_deadline_bounds_the_whole_run() {
    let server = Server::start(Duration::from_millis(400));
    let client = builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let flow = |left| Gets {
        url: format!("http://{}/", server.addr),
        left,
        waiting: false,
    };
    client
        .run_until(flow(1), Instant::now() + Duration::from_secs(5))
        .expect("one request well within the deadline");

    let started = Instant::now();
    let error = client
        .run_until(flow(3), started + Duration::from_secs(1))
        .expect_err("past the deadline");
    let elapsed = started.elapsed();
    assert!(
        matches!(
            error,
            Error::DeadlineExceeded {
                purpose: Some(Purpose::TokenExchange)
            }
        ),
        "{error:?}"
    );
    assert!(error.is_transport());
    assert!(
        elapsed >= Duration::from_millis(700) && elapsed < Duration::from_millis(1900),
        "{elapsed:?}"
    );

    // No time left: nothing is sent.
    let before = server.connections();
    let late = client.send_until(get(&format!("http://{}/", server.addr)), Instant::now());
    assert!(
        matches!(late, Err(Error::DeadlineExceeded { purpose: None })),
        "{late:?}"
    );
    assert_eq!(server.connections(), before);
}

/// Timeouts far beyond any clock (`--timeout 9223372036854775807` once panicked with "overflow
/// when adding duration to instant") are cut to the maximum, and requests still work.
#[test]
fn a_huge_timeout_does_not_panic() {
    let server = Server::start(Duration::ZERO);
    for huge in [
        Duration::MAX,
        Duration::from_secs(u64::MAX),
        Duration::from_secs(i64::MAX.unsigned_abs()),
    ] {
        let client = Client::builder()
            .proxy(ProxySetting::None)
            .timeout(huge)
            .connect_timeout(huge)
            .build()
            .expect("client");
        let url = format!("http://{}/", server.addr);
        assert_eq!(client.send(get(&url)).expect("response").body(), b"ok");
        let far = Instant::now() + Duration::from_secs(3600);
        assert_eq!(
            client.send_until(get(&url), far).expect("response").body(),
            b"ok"
        );
    }
}
