//! Fault injection: what an endpoint does wrong, on purpose, for negative tests.
//!
//! A fault is set per [`Endpoint`](crate::Endpoint) with
//! [`Testkit::set_fault`](crate::Testkit::set_fault) (until cleared) or
//! [`Testkit::set_fault_times`](crate::Testkit::set_fault_times) (for the next `n` requests).
//! The transport faults ([`Fault::Redirect`], [`Fault::ServerError`], [`Fault::NotJson`],
//! [`Fault::WrongContentType`], [`Fault::OversizedBody`], [`Fault::Slow`],
//! [`Fault::CloseMidBody`]) work on every endpoint; the others only where their doc says, and
//! are ignored elsewhere.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Response, StatusCode};
use hyper::body::{Bytes, Frame};
use serde_json::Value;

/// The host that wrong metadata points at.
pub const EVIL_ORIGIN: &str = "https://evil.example.com";

/// Where [`Fault::UnreachableAuthorizationServer`] sends the client: nobody listens there.
pub const UNREACHABLE_ISSUER: &str = "http://127.0.0.1:1";

/// The size of the [`Fault::OversizedBody`] body: larger than any sensible response cap.
pub const OVERSIZED_BODY_BYTES: usize = 8 * 1024 * 1024;

/// What an endpoint does wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Metadata (authorization server or IdP) with `issuer` [`EVIL_ORIGIN`].
    WrongIssuer,
    /// Protected-resource metadata whose `resource` is on another host
    /// (`https://evil.example.com/mcp`, or the evil origin for the root document).
    ForeignResource,
    /// Protected-resource metadata whose `authorization_servers` is
    /// `[`[`UNREACHABLE_ISSUER`]`]`.
    UnreachableAuthorizationServer,
    /// `302 Found` with `Location` this URL.
    Redirect(String),
    /// `500 Internal Server Error`, plain text.
    ServerError,
    /// `200`, `Content-Type: application/json`, a body that is not JSON.
    NotJson,
    /// The normal response, with `Content-Type: text/html`.
    WrongContentType,
    /// `200`, JSON, [`OVERSIZED_BODY_BYTES`] long.
    OversizedBody,
    /// Sleeps this long, then answers normally (a response past a client's timeout).
    Slow(Duration),
    /// The normal status and headers with a `Content-Length` larger than what is sent: part of
    /// the body goes out, then the connection is dropped.
    CloseMidBody,
    /// A faulty ID-JAG from the IdP token endpoint (re-signed with the IdP key, or unsigned
    /// for [`IdJagFault::AlgNone`]).
    IdJag(IdJagFault),
    /// IdP token endpoint: `issued_token_type` is the access-token URN, not the id-jag one.
    WrongIssuedTokenType,
    /// IdP token endpoint: `token_type` `Bearer` instead of `N_A`.
    BearerTokenType,
    /// IdP or authorization-server token endpoint: a `refresh_token` member in the success
    /// response, where none belongs.
    RefreshToken,
    /// MCP server: every request is answered 401 with the challenge (`error="invalid_token"`
    /// when a token was sent), whatever the token.
    Unauthorized,
    /// Protected-resource metadata whose `authorization_servers` is this list (hostile or
    /// internal hosts a client must refuse to contact).
    AuthorizationServers(Vec<String>),
    /// Authorization-server token endpoint: a success whose `access_token` is this text
    /// (controls, spaces or line breaks a client must refuse to print).
    AccessToken(String),
    /// IdP or authorization-server token endpoint: `400 invalid_grant` with this
    /// `error_description` (text a client must escape before showing it).
    ErrorDescription(String),
    /// IdP token endpoint, token exchange: `400 insufficient_user_authentication` (RFC 9470
    /// section 3), with `max_age` when given: the IdP wants the person to sign in again,
    /// more recently than that many seconds ago.
    InsufficientUserAuthentication(Option<u64>),
    /// Authorization-server token endpoint, DPoP on: the token is issued unbound and
    /// answered with `token_type` `Bearer`, whatever the proof (a downgrade a client that
    /// asked for a bound token must refuse).
    DpopDowngrade,
    /// IdP or authorization-server token endpoint, or MCP server: every request is answered
    /// `use_dpop_nonce` with a nonce never supplied before (a client must not retry forever).
    DpopNonceLoop,
    /// MCP server: every request is answered `401` with `DPoP error="invalid_dpop_proof"`.
    InvalidDpopProof,
    /// [`Endpoint::IdpSignIn`](crate::Endpoint::IdpSignIn): the authorization response
    /// (the `303` to the redirect URI) is wrong in this way.
    AuthorizationResponse(crate::AuthorizationResponseFault),
    /// IdP token endpoint, sign-in grants (authorization code, refresh token, device code):
    /// the ID token is wrong in this way.
    IdToken(crate::IdTokenFault),
    /// IdP token endpoint, device-code grant: the poll is answered with this error.
    DeviceGrant(crate::DeviceGrantFault),
}

/// How [`Fault::IdJag`] breaks the minted ID-JAG.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdJagFault {
    /// `aud` is another authorization server.
    WrongAudience,
    /// `client_id` is another client.
    WrongClientId,
    /// `resource` is another MCP server.
    WrongResource,
    /// Header `typ` is `JWT`.
    WrongTyp,
    /// `exp` two minutes in the past (beyond any sensible clock skew).
    Expired,
    /// Header `alg` `none`, no signature.
    AlgNone,
    /// No `cnf`, though the request carried a proof (a downgrade to an unbound ID-JAG).
    DropCnf,
    /// `cnf.jkt` names another key than the proof's.
    WrongCnfJkt,
}

/// The `cnf.jkt` of an [`IdJagFault::WrongCnfJkt`] ID-JAG: the RFC 7638 example thumbprint,
/// no key of any test.
pub const WRONG_JKT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/// The value a faulty ID-JAG claim gets.
pub(crate) const WRONG_CLIENT_ID: &str = "someone-else";

/// Armed fault with an optional remaining count.
#[derive(Clone, Debug)]
pub(crate) struct ArmedFault {
    pub(crate) fault: Fault,
    pub(crate) remaining: Option<u32>,
}

impl Fault {
    /// Whether the fault replaces the response regardless of the endpoint (transport faults).
    pub(crate) fn is_transport(&self) -> bool {
        matches!(
            self,
            Self::Redirect(_)
                | Self::ServerError
                | Self::NotJson
                | Self::WrongContentType
                | Self::OversizedBody
                | Self::Slow(_)
                | Self::CloseMidBody
        )
    }
}

/// A response with a body and an optional content type.
pub(crate) fn plain(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
}

/// `400 invalid_grant` with `description` as its `error_description` (RFC 6749 section 5.2).
pub(crate) fn invalid_grant(description: &str) -> Response<Vec<u8>> {
    let body = serde_json::json!({"error": "invalid_grant", "error_description": description});
    plain(
        StatusCode::BAD_REQUEST,
        "application/json",
        body.to_string().into_bytes(),
    )
}

/// `400 insufficient_user_authentication`, with `max_age` when given (RFC 9470 section 3).
pub(crate) fn insufficient_user_authentication(max_age: Option<u64>) -> Response<Vec<u8>> {
    let mut body = serde_json::json!({
        "error": "insufficient_user_authentication",
        "error_description": "a more recent authentication is required",
    });
    if let (Some(max_age), Some(members)) = (max_age, body.as_object_mut()) {
        members.insert("max_age".into(), Value::from(max_age));
    }
    plain(
        StatusCode::BAD_REQUEST,
        "application/json",
        body.to_string().into_bytes(),
    )
}

/// `302` to `location`.
pub(crate) fn redirect(location: &str) -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// A JSON document of [`OVERSIZED_BODY_BYTES`].
pub(crate) fn oversized_body() -> Vec<u8> {
    let mut body = Vec::with_capacity(OVERSIZED_BODY_BYTES);
    body.extend_from_slice(b"{\"padding\":\"");
    body.resize(OVERSIZED_BODY_BYTES - 2, b'a');
    body.extend_from_slice(b"\"}");
    body
}

/// The response with its JSON body object changed by `change`; other bodies are left alone.
pub(crate) fn edit_json(
    mut response: Response<Vec<u8>>,
    change: impl FnOnce(&mut serde_json::Map<String, Value>),
) -> Response<Vec<u8>> {
    if let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(response.body()) {
        change(&mut object);
        let body = serde_json::to_vec(&Value::Object(object)).unwrap_or_default();
        response.headers_mut().remove(CONTENT_LENGTH);
        *response.body_mut() = body;
    }
    response
}

/// Turns a normal response into one that promises more than it sends: the headers with a
/// `Content-Length` larger than the body, the first half of the body, a pause (so hyper
/// flushes what it has), then a body error, upon which hyper drops the connection.
pub(crate) fn close_mid_body(response: Response<Vec<u8>>) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    let declared = body.len().max(64) + 1024;
    let sent = Bytes::copy_from_slice(&body[..body.len().div_ceil(2)]);
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(declared));
    let body = TruncatedBody {
        chunk: Some(sent),
        pause: None,
    };
    Response::from_parts(parts, Body::new(body))
}

/// How long [`TruncatedBody`] waits between its chunk and its error.
const FLUSH_PAUSE: Duration = Duration::from_millis(50);

/// A body that yields one chunk, waits, and then fails.
struct TruncatedBody {
    chunk: Option<Bytes>,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl hyper::body::Body for TruncatedBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Some(chunk) = self.chunk.take() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        let pause = self
            .pause
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(FLUSH_PAUSE)));
        match pause.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "xaa-testkit: connection closed mid-response (Fault::CloseMidBody)",
            )))),
        }
    }
}
