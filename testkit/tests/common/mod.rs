//! A minimal blocking HTTP/1.1 client over `std::net::TcpStream` for driving `xaa` flows
//! against the kit: `Connection: close`, Content-Length request bodies, responses read to EOF.
#![allow(dead_code, unreachable_pub)]

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime};

use xaa::{HttpRequest, HttpResponse};

/// Responses larger than this are refused (the kit's oversized-body fault sends 8 MiB).
pub const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

/// Sends one request and reads the whole response.
pub fn send(request: HttpRequest) -> io::Result<HttpResponse> {
    let (host, port) = host_port(&request)?;
    let stream = TcpStream::connect((host.as_str(), port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    exchange(stream, &request)
}

/// The request's host and port (80 by default).
pub fn host_port(request: &HttpRequest) -> io::Result<(String, u16)> {
    let uri = request.uri();
    let host = uri
        .host()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no host"))?;
    Ok((host.to_owned(), uri.port_u16().unwrap_or(80)))
}

/// Writes the request on `stream` and reads the response to EOF.
pub fn exchange(mut stream: impl Read + Write, request: &HttpRequest) -> io::Result<HttpResponse> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_owned());
    let (host, port) = host_port(request)?;
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", |target| target.as_str());
    let mut head = format!(
        "{} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        request.method(),
        request.body().len()
    );
    for (name, value) in request.headers() {
        let value = value.to_str().map_err(|_| invalid("header value"))?;
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(request.body())?;
    let mut raw = Vec::new();
    stream.take(MAX_RESPONSE_BYTES + 1).read_to_end(&mut raw)?;
    if raw.len() as u64 > MAX_RESPONSE_BYTES {
        return Err(io::Error::other("response too large"));
    }
    parse_response(&raw)
}

/// Parses a complete response: status line, headers, a body of exactly Content-Length bytes.
pub fn parse_response(raw: &[u8]) -> io::Result<HttpResponse> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("head not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| bad("status line"))?;
    let mut response = http::Response::builder().status(status);
    let mut length = 0;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or_else(|| bad("header line"))?;
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().map_err(|_| bad("content-length"))?;
        }
        response = response.header(name.trim(), value.trim());
    }
    let body = &raw[end + 4..];
    if body.len() < length {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "body cut short",
        ));
    }
    response
        .body(body[..length].to_vec())
        .map_err(|_| bad("response"))
}

/// Runs a flow to completion over [`send`] with the system clock.
pub fn drive<F: xaa::Flow>(flow: F) -> Result<F::Output, xaa::DriveError<io::Error>> {
    xaa::drive(flow, SystemTime::now, send)
}

/// A request with a JSON body.
pub fn json_request(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: &serde_json::Value,
) -> HttpRequest {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder
        .body(serde_json::to_vec(body).expect("JSON"))
        .expect("request")
}

/// A GET request.
pub fn get(url: &str) -> HttpRequest {
    http::Request::builder()
        .uri(url)
        .header("accept", "application/json")
        .body(Vec::new())
        .expect("request")
}
