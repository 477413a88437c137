//! [`AuthorizeMiddleware`]: the authorizer as a [`ureq::middleware::Middleware`] (feature
//! `middleware`), for an application that already sends its MCP requests with a ureq 3
//! [`Agent`](ureq::Agent).
//!
//! ```no_run
//! use xaa_ureq::middleware::AuthorizeMiddleware;
//! use xaa_ureq::{Authorizer, AuthorizerConfig, User};
//!
//! # fn example(config: AuthorizerConfig, alice: User) -> Result<(), Box<dyn std::error::Error>> {
//! let authorizer = Authorizer::new(config)?; // the flows run on its own client
//! let agent: ureq::Agent = ureq::Agent::config_builder()
//!     .http_status_as_error(false) // a 403's challenge reaches the middleware
//!     .max_redirects(0)
//!     .middleware(AuthorizeMiddleware::new(authorizer)) // last: see "Attempts"
//!     .build()
//!     .into();
//! let response = agent
//!     .post("https://mcp.example.com/mcp")
//!     .extension(alice) // whose token: never guessed
//!     .header("content-type", "application/json")
//!     .send(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)?;
//! # let _ = response;
//! # Ok(())
//! # }
//! ```
//!
//! # The user
//!
//! Each request names its user with an [`xaa::authorizer::User`] in its extensions
//! (`RequestBuilder::extension`, or [`http::Request::extensions_mut`] before `Agent::run`). A
//! request without one fails with [`AdapterError::NoUser`] and nothing is sent.
//!
//! # Attempts
//!
//! The middleware runs the authorizer's one loop ([`Authorizer::call`]): a token for the user
//! (cached, or the enterprise flow run over the authorizer's own [`crate::Client`], never
//! through this agent), its headers set on the request, replacing any: `Authorization: Bearer`
//! (RFC 6750 section 2.1), or for a token bound to the authorizer's DPoP key (see [DPoP](#dpop))
//! `Authorization: DPoP` and a fresh `DPoP` proof made for this attempt (RFC 9449 section 7.1);
//! and the core's verdict on the answer: one resend with the server's nonce after a DPoP nonce
//! demand, one fresh exchange and one resend after a 401, a wider scope and a resend after a 403
//! `insufficient_scope` (within [`xaa::authorizer::AuthorizerConfig::max_step_ups`]). Every other answer, error statuses
//! included, is returned as it came, its body unread. When the core gives up, the error is
//! [`AdapterError::Authorization`] with [`xaa::Error::ResourceServerRejected`], as
//! [`Authorizer::send`] reports it; when no token can be had, [`AdapterError::Authorization`]
//! with the flow's error. Both travel as `ureq::Error::Other` ([`adapter_error`] finds them).
//! Failures of the agent are returned as they are.
//!
//! ureq's [`MiddlewareNext`] runs once, and a request body can be read once. So the first
//! attempt goes through `next` (the later middlewares, then the agent), and a resend goes
//! through the agent of the authorizer's own [`crate::Client`], with that client's settings
//! (its timeout, TLS roots, proxy, address guard, no redirects), not this agent's: **the
//! middlewares after this one see only the first attempt.** Add this middleware last.
//!
//! With ureq's default `http_status_as_error(true)`, a 4xx or 5xx answer reaches a middleware
//! as `ureq::Error::StatusCode`, without its header fields: a 401 is still answered with one
//! fresh exchange, but a 403 cannot be read as `insufficient_scope`. Turn it off, as above, for
//! scope step-ups. A resend's error status is reported the way the first attempt's was.
//!
//! # The body
//!
//! The request body is read whole before the first attempt, at most the client's
//! [`resource_body_bytes`](crate::ClientBuilder::resource_body_bytes)
//! ([`DEFAULT_RESOURCE_BODY_BYTES`](crate::DEFAULT_RESOURCE_BODY_BYTES) by default), and sent
//! with its `Content-Length`; a larger one is [`AdapterError::BodyTooLarge`] and nothing is
//! sent. The same bytes go with every attempt, so a proof's `content_digest` (when the binding
//! sends one) covers exactly what the server receives.
//!
//! # DPoP
//!
//! With `AuthorizerConfig::dpop` the tokens are bound
//! to the client's key (RFC 9449), and a bound token is only ever sent with a proof: each
//! attempt, the first and every resend, carries a proof of its own (its `jti`, `iat`, `htm`,
//! `htu` of the request's URI, `ath` of the token, the nonce the MCP server last supplied). A
//! `401` whose `DPoP` challenge is `use_dpop_nonce` gets one resend with the nonce of its
//! `DPoP-Nonce` header; a second demand is [`xaa::DpopRefusal::NonceLoop`], an
//! `invalid_dpop_proof` is [`xaa::DpopRefusal::ProofRefused`], both final, in
//! [`AdapterError::Authorization`] as [`xaa::Error::Dpop`]. Turn `http_status_as_error` off
//! (as above): with it on, a `401` reaches the middleware without its header fields, so a nonce
//! demand reads as a refused token (one fresh exchange, then
//! [`xaa::Error::ResourceServerRejected`]) and a refused proof is not told apart.

use std::io::Read;

use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use ureq::middleware::{Middleware, MiddlewareNext};
use ureq::{Body, SendBody};
use xaa::AccessToken;
use xaa::driver::{Called, McpAnswer, Transport, request_user, sends_body, set_authorization};

use crate::{AdapterError, Authorizer};

/// The [`AdapterError`] inside a ureq error, if it is one.
pub fn adapter_error(error: &ureq::Error) -> Option<&AdapterError> {
    match error {
        ureq::Error::Other(error) => error.downcast_ref(),
        _ => None,
    }
}

/// The authorizer as a ureq [`Middleware`]: see the [module](self) docs.
///
/// Cheap to clone: clones share the authorizer's token cache.
#[derive(Clone, Debug)]
pub struct AuthorizeMiddleware {
    authorizer: Authorizer,
}

impl AuthorizeMiddleware {
    /// Authorizes each request for the [`User`](xaa::authorizer::User) in its extensions through `authorizer`, whose
    /// client runs the flows, sends the resends and sets the body cap.
    pub fn new(authorizer: Authorizer) -> Self {
        Self { authorizer }
    }

    /// The authorizer (its token cache is shared with every clone).
    pub fn authorizer(&self) -> &Authorizer {
        &self.authorizer
    }

    /// A resend, through the authorizer's client: `parts` with `headers`, and `body`.
    fn resend(&self, parts: &Parts, headers: HeaderMap, body: Option<&[u8]>) -> Answer {
        let mut request = Request::new(());
        *request.method_mut() = parts.method.clone();
        *request.uri_mut() = parts.uri.clone();
        *request.version_mut() = parts.version;
        *request.headers_mut() = headers;
        let (head, ()) = request.into_parts();
        let agent = &self.authorizer.client().transport().agent;
        match body {
            Some(body) => agent.run(Request::from_parts(head, body)),
            None => agent.run(Request::from_parts(head, ())),
        }
    }
}

impl AuthorizeMiddleware {
    /// The headers of one attempt: the request's, with those `token` needs for this exact
    /// request (its method, URI and body), made now.
    fn authorized_headers(
        &self,
        parts: &Parts,
        body: Option<&[u8]>,
        token: &AccessToken,
    ) -> Result<HeaderMap, AdapterError> {
        let mut headers = parts.headers.clone();
        let client = self.authorizer.client();
        set_authorization(
            &mut headers,
            self.authorizer.authorizer(),
            token,
            (&parts.method, &parts.uri),
            body.unwrap_or_default(),
            client.transport().now(),
        )?;
        Ok(headers)
    }
}

/// What one attempt got.
type Answer = Result<Response<Body>, ureq::Error>;

impl Middleware for AuthorizeMiddleware {
    fn handle(&self, request: Request<SendBody>, next: MiddlewareNext) -> Answer {
        let user = request_user(request.extensions()).map_err(failed)?;
        let (mut parts, body) = request.into_parts();
        let limit = self.authorizer.client().resource_body_bytes();
        let body = read_capped(body, limit).map_err(failed)?;
        let body = sends_body(&parts.method, &body).then_some(body.as_slice());
        if let Some(body) = body
            && !parts.headers.contains_key(CONTENT_LENGTH)
            && !parts.headers.contains_key(TRANSFER_ENCODING)
        {
            parts
                .headers
                .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        let mut next = Some(next);
        let mut status_as_error = false;
        let attempt = |token: &AccessToken, _: Option<StatusCode>| {
            let result = match self.authorized_headers(&parts, body, token) {
                Err(error) => Err(failed(error)),
                Ok(headers) => match next.take() {
                    Some(next) => first(next, &parts, headers, body),
                    None => self.resend(&parts, headers, body),
                },
            };
            status_as_error |= matches!(result, Err(ureq::Error::StatusCode(_)));
            Attempted {
                result,
                no_headers: HeaderMap::new(),
            }
        };
        let called = self.authorizer.call(&user, attempt);
        match called {
            Ok(Called::Answered(answer)) => match answer.result {
                // The agent reports error statuses as errors: so is a resend's.
                Ok(response) if status_as_error && is_error(response.status()) => {
                    Err(ureq::Error::StatusCode(response.status().as_u16()))
                }
                result => result,
            },
            Ok(Called::Refused(_, error)) => Err(failed(crate::Error::Flow(error).into())),
            Err(error) => Err(failed(error.into())),
        }
    }
}

/// The first attempt, through the rest of the chain: the request as it came, its body buffered.
fn first(next: MiddlewareNext, parts: &Parts, headers: HeaderMap, body: Option<&[u8]>) -> Answer {
    let mut parts = parts.clone();
    parts.headers = headers;
    match body {
        Some(mut bytes) => next.handle(Request::from_parts(
            parts,
            SendBody::from_reader(&mut bytes),
        )),
        None => next.handle(Request::from_parts(parts, SendBody::none())),
    }
}

/// One attempt's outcome, with what the core judges.
struct Attempted {
    result: Answer,
    no_headers: HeaderMap,
}

impl McpAnswer for Attempted {
    fn judged(&self) -> Option<(StatusCode, &HeaderMap)> {
        match &self.result {
            Ok(response) => Some((response.status(), response.headers())),
            // `http_status_as_error(true)`: the status, without the answer's header fields.
            Err(ureq::Error::StatusCode(code)) => StatusCode::from_u16(*code)
                .ok()
                .map(|status| (status, &self.no_headers)),
            Err(_) => None,
        }
    }
}

fn is_error(status: StatusCode) -> bool {
    status.is_client_error() || status.is_server_error()
}

/// Reads the whole body, at most `limit` bytes.
fn read_capped(body: SendBody, limit: usize) -> Result<Vec<u8>, AdapterError> {
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    body.into_reader()
        .take(cap)
        .read_to_end(&mut bytes)
        .map_err(|error| AdapterError::Body(Box::new(error)))?;
    if bytes.len() > limit {
        return Err(AdapterError::BodyTooLarge { limit });
    }
    Ok(bytes)
}

fn failed(error: AdapterError) -> ureq::Error {
    ureq::Error::Other(Box::new(error))
}
