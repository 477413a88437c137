//! [`AuthorizeLayer`]: the authorizer as a [`tower::Layer`] (feature `tower`),
//! for an application whose MCP requests go through a tower stack: hyper-util's client, a
//! `tower::service_fn`, a stack of tower-http layers.
//!
//! ```no_run
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//! use tower::{ServiceBuilder, ServiceExt};
//! use xaa_reqwest::tower::AuthorizeLayer;
//! use xaa_reqwest::{Authorizer, AuthorizerConfig, User};
//!
//! # async fn example(config: AuthorizerConfig, alice: User) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let authorizer = Authorizer::new(config)?; // the flows run on its own client
//! let hyper = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
//! let mcp = ServiceBuilder::new()
//!     .layer(AuthorizeLayer::new(authorizer))
//!     .service(hyper);
//! let mut request = http::Request::post("http://127.0.0.1:8080/mcp")
//!     .header("content-type", "application/json")
//!     .body(Full::new(Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)))?;
//! request.extensions_mut().insert(alice); // whose token: never guessed
//! let response = mcp.oneshot(request).await?; // a Response<hyper::body::Incoming>
//! # let _ = response;
//! # Ok(())
//! # }
//! ```
//!
//! # Types
//!
//! [`AuthorizeService<S>`] is a `Service<http::Request<B>>` for any request body `B`
//! ([`http_body::Body`] + `Send + 'static`, its error `Into<BoxError>`), over an inner
//! `S: Service<http::Request<Full<Bytes>>, Response = http::Response<ResBody>> + Clone + Send +
//! 'static` (its future `Send`, its error `Into<BoxError>`, `ResBody: Send + 'static`): hyper-util's
//! `legacy::Client<_, Full<Bytes>>`, or a `tower::service_fn` taking `Request<Full<Bytes>>`. It
//! returns the inner service's response as it is, body unread, and its errors are boxed
//! ([`tower::BoxError`], as tower's own layers do): the inner service's
//! error as it came, or an [`AdapterError`] (downcast the box).
//!
//! # The user
//!
//! Each request names its user with an [`xaa::authorizer::User`] in its
//! [`http::Request::extensions`]. A request without one fails with [`AdapterError::NoUser`]
//! and nothing is sent.
//!
//! # Attempts
//!
//! The service runs the authorizer's one loop ([`Authorizer::call`]): a token for the user
//! (cached, or the enterprise flow run over the authorizer's own [`crate::Client`]: discovery
//! and token requests never go through the inner service, only the MCP requests do),
//! its headers set on a copy of the request, replacing any: `Authorization: Bearer` (RFC 6750
//! section 2.1), or for a token bound to the authorizer's DPoP key (see [DPoP](#dpop))
//! `Authorization: DPoP` and a fresh `DPoP` proof made for this attempt (RFC 9449 section 7.1);
//! the copy sent through the inner service, and the core's verdict on the answer: one resend
//! with the server's nonce after a DPoP nonce demand, one fresh exchange and one resend after a
//! 401, a wider scope and a resend after a 403 `insufficient_scope` (within
//! [`xaa::authorizer::AuthorizerConfig::max_step_ups`]). Every
//! other answer, error statuses included, is returned as it came. When the core gives up, the
//! error is [`AdapterError::Authorization`] with [`xaa::Error::ResourceServerRejected`], as
//! [`Authorizer::send`] reports it; when no token can be had, [`AdapterError::Authorization`]
//! with the flow's error.
//!
//! The first attempt goes through the inner service [`Service::poll_ready`] made ready; each
//! resend through a clone of it, made ready in turn.
//!
//! # The body
//!
//! The request body is read whole before the first attempt, at most the client's
//! [`resource_body_bytes`](crate::ClientBuilder::resource_body_bytes)
//! ([`DEFAULT_RESOURCE_BODY_BYTES`](crate::DEFAULT_RESOURCE_BODY_BYTES) by default), so that
//! it can be sent again; a larger one is [`AdapterError::BodyTooLarge`] and nothing is sent.
//! Every attempt sends the same bytes, so a proof's `content_digest` (when the binding sends
//! one) covers exactly what the server receives. Let the inner service follow no redirects
//! (hyper-util's client follows none): a bearer token is not for another location
//! (decisions.md D4), and a DPoP proof names the URI it was made for.
//!
//! # DPoP
//!
//! With `AuthorizerConfig::dpop` the tokens are bound
//! to the client's key (RFC 9449), and a bound token is only ever sent with a proof: each
//! attempt carries a proof of its own (its `jti`, `iat`, `htm`, `htu` of the request's URI,
//! `ath` of the token, the nonce the MCP server last supplied). The request's URI must then be
//! absolute, as a client's is (a proof names its target: RFC 9449 section 4.2); a relative one
//! is [`xaa::DpopRefusal::ProofNotMade`] and nothing is sent. A `401` whose `DPoP` challenge is
//! `use_dpop_nonce` gets one resend with the nonce of its `DPoP-Nonce` header; a second demand
//! is [`xaa::DpopRefusal::NonceLoop`], an `invalid_dpop_proof` is
//! [`xaa::DpopRefusal::ProofRefused`], both final, as [`AdapterError::Authorization`] with
//! [`xaa::Error::Dpop`].

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tower::{Layer, Service};
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use xaa::AccessToken;
use xaa::driver::{Called, McpAnswer};

use xaa::driver::{BoxError, Transport, request_user, set_authorization};

use crate::adapter;
use crate::{AdapterError, Authorizer};

/// A [`Layer`] wrapping a service in an [`AuthorizeService`]: see the [module](self) docs.
///
/// Cheap to clone: clones share the authorizer's token cache.
#[derive(Clone, Debug)]
pub struct AuthorizeLayer {
    authorizer: Authorizer,
}

impl AuthorizeLayer {
    /// Authorizes each request for the [`xaa::authorizer::User`] in its extensions through
    /// `authorizer`, whose client runs the flows and sets the body cap.
    pub fn new(authorizer: Authorizer) -> Self {
        Self { authorizer }
    }

    /// The authorizer (its token cache is shared with every clone).
    pub fn authorizer(&self) -> &Authorizer {
        &self.authorizer
    }
}

impl<S> Layer<S> for AuthorizeLayer {
    type Service = AuthorizeService<S>;

    fn layer(&self, inner: S) -> AuthorizeService<S> {
        AuthorizeService {
            inner,
            authorizer: self.authorizer.clone(),
        }
    }
}

/// A service sending each request through `S` with the authorizer's token (a bearer token, or
/// a DPoP-bound one with a fresh proof), resending as the core's verdict allows: see the [module](self) docs.
#[derive(Clone)]
pub struct AuthorizeService<S> {
    inner: S,
    authorizer: Authorizer,
}

impl<S> fmt::Debug for AuthorizeService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizeService")
            .field("authorizer", &self.authorizer)
            .finish_non_exhaustive()
    }
}

impl<S> AuthorizeService<S> {
    /// The inner service.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The authorizer.
    pub fn authorizer(&self) -> &Authorizer {
        &self.authorizer
    }
}

/// The future of [`AuthorizeService::call`].
pub type ResponseFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

impl<S, B, ResBody> Service<Request<B>> for AuthorizeService<S>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ResBody: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResBody>;
    type Error = BoxError;
    type Future = ResponseFuture<Response<ResBody>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The service `poll_ready` readied takes the first attempt; a clone stays here.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        Box::pin(authorize(ready, self.authorizer.clone(), request))
    }
}

/// The loop for one request: the user, the body buffered, then the authorizer's `call`.
async fn authorize<S, B, ResBody>(
    ready: S,
    authorizer: Authorizer,
    request: Request<B>,
) -> Result<Response<ResBody>, BoxError>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    let (parts, body) = request.into_parts();
    let user = request_user::<crate::ReqwestTransport>(&parts.extensions)?;
    let limit = authorizer.client().resource_body_bytes();
    let body = adapter::collect_capped(body, limit).await?;
    let template = ready.clone();
    let mut ready = Some(ready);
    let shared = &authorizer;
    let attempt = move |token: &AccessToken, _: Option<StatusCode>| {
        let service = ready.take().unwrap_or_else(|| template.clone());
        let request = authorized_copy(shared, &parts, &body, token);
        async move { Attempted(send(service, request).await) }
    };
    match authorizer.call(&user, attempt).await {
        Ok(Called::Answered(Attempted(result))) => result,
        Ok(Called::Refused(_, error)) => Err(AdapterError::from(crate::Error::Flow(error)).into()),
        Err(error) => Err(AdapterError::from(error).into()),
    }
}

/// Waits for the service to be ready, then sends the request through it.
async fn send<S, ResBody>(
    mut service: S,
    request: Result<Request<Full<Bytes>>, AdapterError>,
) -> Result<Response<ResBody>, BoxError>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
{
    let request = request?;
    poll_fn(|cx| service.poll_ready(cx))
        .await
        .map_err(Into::into)?;
    service.call(request).await.map_err(Into::into)
}

/// A copy of the request with the headers `token` needs for this exact request (its method,
/// URI and body), made now.
fn authorized_copy(
    authorizer: &Authorizer,
    parts: &Parts,
    body: &Bytes,
    token: &AccessToken,
) -> Result<Request<Full<Bytes>>, AdapterError> {
    let mut request = Request::from_parts(parts.clone(), Full::new(body.clone()));
    set_authorization(
        request.headers_mut(),
        authorizer.authorizer(),
        token,
        (&parts.method, &parts.uri),
        body,
        authorizer.client().transport().now(),
    )?;
    Ok(request)
}

/// One attempt's outcome, with what the core judges: a response's status and header fields;
/// a failure to get one is returned as it is.
struct Attempted<T>(Result<Response<T>, BoxError>);

impl<T> McpAnswer for Attempted<T> {
    fn judged(&self) -> Option<(StatusCode, &HeaderMap)> {
        let response = self.0.as_ref().ok()?;
        Some((response.status(), response.headers()))
    }
}
