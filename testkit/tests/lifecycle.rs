//! Starting and stopping a kit leaks nothing: after 50 cycles the process has the same threads
//! and file descriptors as before. The only test of this binary, so no other test's threads
//! or sockets come and go while it counts.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use xaa_testkit::{Endpoint, Options, Testkit};

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).expect("procfs").count()
}

/// Writes a GET for the kit's protected-resource metadata on `stream`, keep-alive.
fn request_prm(stream: &mut TcpStream, kit: &Testkit) {
    let authority = kit.mcp_origin().trim_start_matches("http://");
    let request = format!(
        "GET /.well-known/oauth-protected-resource/mcp HTTP/1.1\r\nHost: {authority}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("write");
}

/// Reads one complete response from a keep-alive connection.
fn read_response(stream: &mut TcpStream) -> xaa::HttpResponse {
    let mut raw = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = stream.read(&mut buffer).expect("read");
        assert_ne!(read, 0, "connection closed before a full response");
        raw.extend_from_slice(&buffer[..read]);
        if let Ok(response) = common::parse_response(&raw) {
            return response;
        }
    }
}

/// The server side of `stream` is closed: EOF or a reset, not a timeout.
fn assert_closed(stream: &mut TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut buffer = [0u8; 64];
    match stream.read(&mut buffer) {
        Ok(0) => {}
        Err(error) if error.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("the connection is still open after stop: {other:?}"),
    }
}

/// One start/stop with an idle keep-alive connection and a request in flight at stop time.
fn cycle() {
    let kit = Testkit::start(Options::default()).expect("kit starts");
    let address = kit.mcp_origin().trim_start_matches("http://").to_owned();

    let mut idle = TcpStream::connect(&address).expect("connect");
    idle.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    request_prm(&mut idle, &kit);
    assert_eq!(read_response(&mut idle).status(), 200);

    kit.set_delay(Endpoint::ResourceMetadata, Duration::from_secs(60));
    let mut in_flight = TcpStream::connect(&address).expect("connect");
    request_prm(&mut in_flight, &kit);
    // Wait until the request is being served (recorded), then stop under it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while kit.requests_to(Endpoint::ResourceMetadata).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the delayed request never arrived"
        );
        std::thread::sleep(Duration::from_millis(1));
    }

    let stopping = Instant::now();
    kit.stop();
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "stop waited for the delayed request"
    );
    assert_closed(&mut idle);
    assert_closed(&mut in_flight);
}

#[test]
fn fifty_starts_and_stops_leak_no_thread_and_no_descriptor() {
    // Warm-up: process-wide things created lazily on first use (the crypto provider, ...).
    cycle();
    let threads = count("/proc/self/task");
    let descriptors = count("/proc/self/fd");
    for _ in 0..50 {
        cycle();
    }
    assert_eq!(count("/proc/self/task"), threads, "threads leaked");
    assert_eq!(
        count("/proc/self/fd"),
        descriptors,
        "file descriptors leaked"
    );

    // Dropping a kit stops it just the same.
    let kit = Testkit::start(Options::default()).expect("kit starts");
    let mut idle =
        TcpStream::connect(kit.mcp_origin().trim_start_matches("http://")).expect("connect");
    request_prm(&mut idle, &kit);
    assert_eq!(read_response(&mut idle).status(), 200);
    drop(kit);
    assert_closed(&mut idle);
    drop(idle);
    assert_eq!(count("/proc/self/task"), threads, "threads leaked by drop");
    assert_eq!(
        count("/proc/self/fd"),
        descriptors,
        "descriptors leaked by drop"
    );
}
