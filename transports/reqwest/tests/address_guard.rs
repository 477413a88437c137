//! The address guard on every client (decisions.md D5), over real loopback HTTP: IP literals
//! (which reqwest connects to without its resolver) and names pinned with
//! `ClientBuilder::resolve` are judged before any connection. No test connects anywhere but
//! 127.0.0.1: a refused address is refused before reqwest connects, which the listener's
//! connection count shows.

#[path = "../../tests-shared/loopback.rs"]
mod support;

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use support::{read_request, response};
use xaa::discovery::{AddressClass, AddressGuard, classify};
use xaa_reqwest::{Client, ClientBuilder, Error, ProxySetting};

/// A loopback server answering every request `200 ok`, counting connections.
fn server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            counted.fetch_add(1, Ordering::SeqCst);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            read_request(&mut stream);
            let _ = stream.write_all(&response("200 OK", &[], b"ok"));
        }
    });
    (addr, connections)
}

fn builder() -> ClientBuilder {
    Client::builder()
        .proxy(ProxySetting::None)
        .timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(1))
}

fn get(url: String) -> xaa::HttpRequest {
    http::Request::get(url).body(Vec::new()).expect("request")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("IP address")
}

/// `0.0.0.0` (which reaches local listeners on Linux), `0` (the URL parser's 0.0.0.0), `[::]`
/// and a name pinned to the metadata service are refused by the default client, at once and
/// without a connection; the same name pinned to loopback connects.
#[tokio::test]
async fn never_class_literals_and_names_are_refused_by_default() {
    let (addr, connections) = server();
    let port = addr.port();
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
        match client.send(get(format!("http://{host}:{port}/"))).await {
            Err(error @ Error::PrivateAddress { address, .. }) => {
                assert_eq!(address, ip(refused), "{host}");
                assert_eq!(classify(address), AddressClass::Never);
                let message = error.to_string();
                assert!(message.contains("which is never connected to"), "{message}");
            }
            other => panic!("{host}: expected the guard's refusal, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_millis(500), "{host}");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0);

    let pinned = client
        .send(get(format!("http://app.test:{port}/")))
        .await
        .expect("loopback is allowed by the default guard");
    assert_eq!(pinned.body(), b"ok");
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

/// A guard allowing private and loopback addresses and the host itself still refuses the
/// never class; the full guard refuses a pinned loopback name.
#[tokio::test]
async fn the_guard_set_outright_keeps_the_never_rule() {
    let (addr, connections) = server();
    let port = addr.port();
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
        let result = permissive.send(get(format!("http://{host}:{port}/"))).await;
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
    let result = strict.send(get(format!("http://app.test:{port}/"))).await;
    assert!(
        matches!(result, Err(Error::PrivateAddress { address, .. }) if address == ip("127.0.0.1")),
        "{result:?}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

/// Timeouts far beyond any clock are cut to the maximum, and requests still work.
#[tokio::test]
async fn a_huge_timeout_does_not_panic() {
    let (addr, _) = server();
    let client = Client::builder()
        .proxy(ProxySetting::None)
        .timeout(Duration::from_secs(i64::MAX.unsigned_abs()))
        .connect_timeout(Duration::MAX)
        .build()
        .expect("client");
    let response = client
        .send(get(format!("http://{addr}/")))
        .await
        .expect("response");
    assert_eq!(response.body(), b"ok");
}
