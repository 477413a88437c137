//! The address guard on every client (decisions.md D5), over real loopback HTTP: names pinned
//! with `ClientBuilder::resolve` and IP literals are judged before any connection, and (for
//! the blocking client) a deadline bounds a whole run. No test connects anywhere but
//! 127.0.0.1: a refused address is refused before the client connects, which the listener's
//! connection count shows.

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::driver::{Client, ClientBuilder, Error, ProxySetting};
use crate::loopback::{read_request, response};
use xaa::discovery::{AddressClass, AddressGuard, classify};
use xaa::{HttpRequest, HttpResponse};

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

fn get(url: &str) -> HttpRequest {
    http::Request::get(url).body(Vec::new()).expect("request")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("IP address")
}

/// The refusal of `result`: the host and address the guard named, and its message.
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

/// The host `0` is 0.0.0.0 to the URL parser reqwest uses, refused as such. ureq hands it to
/// its resolver, which may not know it: then it fails without connecting.
fn zero_host_refused(result: Result<HttpResponse, Error>) {
    match result {
        Err(error @ Error::PrivateAddress { .. }) => {
            let (_, address, message) = refusal(Err(error));
            assert_eq!(address, ip("0.0.0.0"));
            assert!(message.contains("which is never connected to"), "{message}");
        }
        Err(other) if crate::BLOCKING => assert!(other.is_transport(), "{other:?}"),
        other => panic!("`0`: expected the guard's refusal, got {other:?}"),
    }
}

driver_test! {
    /// A name pinned to a never-class address is refused by the default client, and by a
    /// guard that allows everything else and the host itself, at once and without a
    /// connection. The port is the local server's, so a connection to `0.0.0.0` would have
    /// reached it on Linux.
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
                let (host, address, message) = refusal(wait!(client.send(get(&url))));
                assert!(started.elapsed() < Duration::from_millis(500), "{never}");
                assert_eq!(host, "meta.test");
                assert_eq!(address, ip(never));
                assert_eq!(classify(address), AddressClass::Never);
                assert!(message.contains("which is never connected to"), "{message}");
            }
        }
        assert_eq!(server.connections(), 0);
    }
}

driver_test! {
    fn a_name_resolved_to_loopback_connects_only_when_loopback_is_allowed() {
        let server = Server::start(Duration::ZERO);
        let url = format!("http://app.test:{}/", server.port());
        let pinned = || builder().resolve("app.test", [ip("127.0.0.1")]);

        // The default guard refuses only the never class.
        let response = wait!(pinned().build().expect("client").send(get(&url)));
        assert_eq!(response.expect("loopback allowed").body(), b"ok");
        assert_eq!(server.connections(), 1);

        let strict = pinned()
            .deny_private_addresses(true)
            .build()
            .expect("client");
        let (host, address, message) = refusal(wait!(strict.send(get(&url))));
        assert_eq!((host.as_str(), address), ("app.test", ip("127.0.0.1")));
        assert!(message.contains("a loopback address"), "{message}");
        assert_eq!(server.connections(), 1, "refused before connecting");

        let allowed = [
            pinned().deny_private_addresses(true).allow_host("APP.test"),
            pinned().address_guard(AddressGuard::default().allow_loopback(true)),
        ];
        for (n, client) in allowed.into_iter().enumerate() {
            let response = wait!(client.build().expect("client").send(get(&url)));
            assert_eq!(response.expect("allowed").body(), b"ok");
            assert_eq!(server.connections(), n + 2);
        }
    }
}

driver_test! {
    /// The guard sees IP literals too (ureq hands them to its resolver, reqwest's client
    /// checks them before sending): `0.0.0.0` (which reaches local listeners on Linux), `[::]`
    /// and `0` (read as 0.0.0.0) are refused by the default client, `[::ffff:127.0.0.1]` is
    /// loopback.
    fn ip_literals_are_judged_by_the_default_guard() {
        let server = Server::start(Duration::ZERO);
        let port = server.port();
        let client = builder().build().expect("client");
        for literal in ["0.0.0.0", "[::]", "[::ffff:0.0.0.0]"] {
            let (_, address, _) =
                refusal(wait!(client.send(get(&format!("http://{literal}:{port}/")))));
            assert_eq!(classify(address), AddressClass::Never, "{literal}");
        }
        zero_host_refused(wait!(client.send(get(&format!("http://0:{port}/")))));
        assert_eq!(server.connections(), 0);

        let mapped = format!("http://[::ffff:127.0.0.1]:{port}/");
        let strict = builder()
            .deny_private_addresses(true)
            .build()
            .expect("client");
        let (_, address, _) = refusal(wait!(strict.send(get(&mapped))));
        assert_eq!(classify(address), AddressClass::Loopback);
        assert_eq!(server.connections(), 0);

        // Where the system connects to an IPv4-mapped address at all, the default client does.
        let mapped_addr: SocketAddr = format!("[::ffff:127.0.0.1]:{port}").parse().expect("addr");
        if TcpStream::connect_timeout(&mapped_addr, Duration::from_secs(1)).is_ok() {
            let response = wait!(client.send(get(&mapped))).expect("loopback allowed");
            assert_eq!(response.body(), b"ok");
        }
    }
}

driver_test! {
    /// `0.0.0.0`, `0`, `[::]`, `[::ffff:0.0.0.0]` and a name pinned to the metadata service
    /// (however spelt) are refused by the default client, at once and without a connection;
    /// the same client connects to a name pinned to loopback.
    fn never_class_literals_and_names_are_refused_by_default() {
        let server = Server::start(Duration::ZERO);
        let port = server.port();
        let client = builder()
            .resolve("meta.test", [ip("169.254.169.254")])
            .resolve("app.test", [ip("127.0.0.1")])
            .build()
            .expect("client");
        for (host, refused) in [
            ("0.0.0.0", "0.0.0.0"),
            ("0", "0.0.0.0"),
            ("[::]", "::"),
            ("[::ffff:0.0.0.0]", "::ffff:0.0.0.0"),
            ("meta.test", "169.254.169.254"),
            ("META.test.", "169.254.169.254"),
        ] {
            let started = Instant::now();
            let result = wait!(client.send(get(&format!("http://{host}:{port}/"))));
            if host == "0" {
                zero_host_refused(result);
            } else {
                let (_, address, message) = refusal(result);
                assert_eq!(address, ip(refused), "{host}");
                assert_eq!(classify(address), AddressClass::Never);
                assert!(message.contains("which is never connected to"), "{message}");
            }
            assert!(started.elapsed() < Duration::from_millis(500), "{host}");
        }
        assert_eq!(server.connections(), 0);

        let pinned = wait!(client.send(get(&format!("http://app.test:{port}/"))))
            .expect("loopback is allowed by the default guard");
        assert_eq!(pinned.body(), b"ok");
        assert_eq!(server.connections(), 1);
    }
}

driver_test! {
    /// A guard allowing private and loopback addresses and the host itself still refuses the
    /// never class; the full guard refuses a pinned loopback name.
    fn the_guard_set_outright_keeps_the_never_rule() {
        let server = Server::start(Duration::ZERO);
        let port = server.port();
        let permissive = builder()
            .resolve("meta.test", [ip("169.254.169.254")])
            .address_guard(
                AddressGuard::new(["meta.test", "0.0.0.0"])
                    .allow_private(true)
                    .allow_loopback(true),
            )
            .build()
            .expect("client");
        for host in ["meta.test", "0.0.0.0"] {
            let result = wait!(permissive.send(get(&format!("http://{host}:{port}/"))));
            assert!(
                matches!(result, Err(Error::PrivateAddress { .. })),
                "{host}: {result:?}"
            );
        }
        let strict = builder()
            .resolve("app.test", [ip("127.0.0.1")])
            .deny_private_addresses(true)
            .build()
            .expect("client");
        let result = wait!(strict.send(get(&format!("http://app.test:{port}/"))));
        assert!(
            matches!(
                result,
                Err(Error::PrivateAddress { address, .. }) if address == ip("127.0.0.1")
            ),
            "{result:?}"
        );
        assert_eq!(server.connections(), 0);
    }
}

blocking_only! {
    use std::time::SystemTime;

    use xaa::{Flow, Output, Purpose, Transmit, TransmitId};

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
}

blocking_only! {
    /// Three requests answered after 400 ms each, a 2 s timeout per request, a 1 s deadline:
    /// the third request gets what is left, and the run ends near the deadline, not at 1.2 s
    /// or 2.8 s. (`run_until` and `send_until` are the blocking client's.)
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
}

driver_test! {
    /// Timeouts far beyond any clock (`--timeout 9223372036854775807` once panicked with
    /// "overflow when adding duration to instant") are cut to the maximum, and requests still
    /// work.
    fn a_huge_timeout_does_not_panic() {
        let server = Server::start(Duration::ZERO);
        let i64_max = Duration::from_secs(i64::MAX.unsigned_abs());
        for (timeout, connect_timeout) in [
            (Duration::MAX, Duration::MAX),
            (Duration::from_secs(u64::MAX), Duration::from_secs(u64::MAX)),
            (i64_max, i64_max),
            (i64_max, Duration::MAX),
        ] {
            let client = Client::builder()
                .proxy(ProxySetting::None)
                .timeout(timeout)
                .connect_timeout(connect_timeout)
                .build()
                .expect("client");
            let url = format!("http://{}/", server.addr);
            assert_eq!(wait!(client.send(get(&url))).expect("response").body(), b"ok");
            blocking_only! {
                let far = Instant::now() + Duration::from_secs(3600);
                assert_eq!(
                    client.send_until(get(&url), far).expect("response").body(),
                    b"ok"
                );
            }
        }
    }
}
