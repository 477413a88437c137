//! [`AuthorizeMiddleware`]: the authorizer as a [`reqwest_middleware::Middleware`] (feature
//! `middleware`), for an application that already sends its MCP requests through a
//! `reqwest_middleware::ClientWithMiddleware`.
//!
//! ```no_run
//! use reqwest_middleware::ClientBuilder;
//! use xaa_reqwest::middleware::AuthorizeMiddleware;
//! use xaa_reqwest::{Authorizer, AuthorizerConfig, User};
//!
//! # async fn example(config: AuthorizerConfig, alice: User) -> Result<(), Box<dyn std::error::Error>> {
//! let authorizer = Authorizer::new(config)?; // the flows run on its own client
//! let reqwest = reqwest::Client::builder()
//!     .redirect(reqwest::redirect::Policy::none())
//!     .build()?;
//! let http = ClientBuilder::new(reqwest)
//!     .with(AuthorizeMiddleware::new(authorizer))
//!     .build();
//! let response = http
//!     .post("https://mcp.example.com/mcp")
//!     .with_extension(alice) // whose token: never guessed
//!     .header("content-type", "application/json")
//!     .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
//!     .send()
//!     .await?;
//! # let _ = response;
//! # Ok(())
//! # }
//! ```
//!
//! # The user
//!
//! Each request names its user with an [`xaa::authorizer::User`] in reqwest-middleware's
//! per-request [`Extensions`] (`RequestBuilder::with_extension`, or
//! `ClientWithMiddleware::execute_with_extensions`): reqwest 0.13 gives no access to a
//! `reqwest::Request`'s own extensions. A request without one fails with
//! [`AdapterError::NoUser`] and nothing is sent.
//!
//! # Attempts
//!
//! The middleware runs the authorizer's one loop ([`Authorizer::call`]): a token for the user
//! (cached, or the enterprise flow run over the authorizer's own [`crate::Client`], never
//! through this middleware stack), its headers set on a copy of the request, replacing any:
//! `Authorization: Bearer` (RFC 6750 section 2.1), or for a token bound to the authorizer's
//! DPoP key (see [DPoP](#dpop)) `Authorization: DPoP` and a fresh `DPoP` proof made for this
//! attempt (RFC 9449 section 7.1); the copy sent through `next`, and the core's verdict on the
//! answer: one resend with the server's nonce after a DPoP nonce demand, one fresh exchange and
//! one resend after a 401, a wider scope and a resend after a 403 `insufficient_scope` (within
//! [`xaa::authorizer::AuthorizerConfig::max_step_ups`]).
//! Every other answer, error statuses included, is returned as it came, its body unread. When
//! the core gives up, the result is [`AdapterError::Authorization`] with
//! [`xaa::Error::ResourceServerRejected`], as [`Authorizer::send`] reports it; when no token can
//! be had, [`AdapterError::Authorization`] with the flow's error. Failures of `next` (the
//! connection, a later middleware) are returned as they are.
//!
//! Each attempt goes through `next`, so the middlewares after this one see every attempt, each
//! with its own token, and a copy of the extensions; the extensions of the last attempt are
//! handed back to the middlewares before this one.
//!
//! # The body
//!
//! A body of bytes is cloned for each attempt. A streamed body (`Body::wrap_stream`,
//! `Body::wrap`) is read first, at most the client's
//! [`resource_body_bytes`](crate::ClientBuilder::resource_body_bytes)
//! ([`DEFAULT_RESOURCE_BODY_BYTES`](crate::DEFAULT_RESOURCE_BODY_BYTES) by default), and sent
//! as bytes; a larger one is [`AdapterError::BodyTooLarge`] and nothing is sent.
//!
//! Every attempt sends the same bytes, so a proof's `content_digest` (when the binding sends
//! one) covers exactly what the server receives.
//!
//! Keep reqwest's redirects off (`redirect::Policy::none()`, as above): a bearer token is not
//! for another location (decisions.md D4), and a DPoP proof names the URI it was made for.
//!
//! # DPoP
//!
//! With `AuthorizerConfig::dpop` the tokens are bound
//! to the client's key (RFC 9449), and a bound token is only ever sent with a proof: each
//! attempt carries a proof of its own (its `jti`, `iat`, `htm`, `htu` of the request's URL,
//! `ath` of the token, the nonce the MCP server last supplied). A `401` whose `DPoP` challenge
//! is `use_dpop_nonce` gets one resend with the nonce of its `DPoP-Nonce` header; a second
//! demand is [`xaa::DpopRefusal::NonceLoop`], an `invalid_dpop_proof` is
//! [`xaa::DpopRefusal::ProofRefused`], both final, as [`AdapterError::Authorization`] with
//! [`xaa::Error::Dpop`].

use http::{Extensions, StatusCode};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use xaa::AccessToken;
use xaa::driver::{Called, McpAnswer};

use xaa::driver::{BoxError, DriverError, Transport, request_user, set_authorization};

use crate::adapter;
use crate::{AdapterError, Authorizer};

/// The authorizer as a reqwest-middleware [`Middleware`]: see the [module](self) docs.
///
/// Cheap to clone: clones share the authorizer's token cache.
#[derive(Clone, Debug)]
pub struct AuthorizeMiddleware {
    authorizer: Authorizer,
}

impl AuthorizeMiddleware {
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

/// The [`AdapterError`] inside a reqwest-middleware error, if it is one.
pub fn adapter_error(error: &reqwest_middleware::Error) -> Option<&AdapterError> {
    match error {
        reqwest_middleware::Error::Middleware(error) => error.downcast_ref(),
        reqwest_middleware::Error::Reqwest(_) => None,
    }
}

#[async_trait::async_trait]
impl Middleware for AuthorizeMiddleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let user = request_user(extensions).map_err(failed)?;
        let limit = self.authorizer.client().resource_body_bytes();
        replayable(&mut request, limit).await.map_err(failed)?;
        let (request, next, shared) = (&request, &next, &*extensions);
        let attempt = |token: &AccessToken, _: Option<StatusCode>| {
            let prepared = self.authorized_copy(request, token);
            let next = next.clone();
            let mut extensions = shared.clone();
            async move {
                let result = match prepared {
                    Ok(request) => next.run(request, &mut extensions).await,
                    Err(error) => Err(failed(error)),
                };
                Attempted { result, extensions }
            }
        };
        match self.authorizer.call(&user, attempt).await {
            Ok(Called::Answered(answer)) => {
                *extensions = answer.extensions;
                answer.result
            }
            Ok(Called::Refused(answer, error)) => {
                *extensions = answer.extensions;
                Err(failed(crate::Error::Flow(error).into()))
            }
            Err(error) => Err(failed(error.into())),
        }
    }
}

/// One attempt's outcome and the extensions it ran with.
struct Attempted {
    result: reqwest_middleware::Result<Response>,
    extensions: Extensions,
}

impl McpAnswer for Attempted {
    fn judged(&self) -> Option<(StatusCode, &http::HeaderMap)> {
        let response = self.result.as_ref().ok()?;
        Some((response.status(), response.headers()))
    }
}

/// Makes the body cloneable: a streamed body is read, at most `limit` bytes.
async fn replayable(request: &mut Request, limit: usize) -> Result<(), AdapterError> {
    if let Some(streamed) = request.body_mut().take_if(|b| b.as_bytes().is_none()) {
        *request.body_mut() = Some(adapter::collect_capped(streamed, limit).await?.into());
    }
    Ok(())
}

impl AuthorizeMiddleware {
    /// A copy of the request with the headers `token` needs for this exact request (its method,
    /// URL and body), made now.
    fn authorized_copy(
        &self,
        request: &Request,
        token: &AccessToken,
    ) -> Result<Request, AdapterError> {
        let mut copy = request.try_clone().ok_or_else(|| {
            AdapterError::Body(BoxError::from("the request body cannot be cloned"))
        })?;
        let uri = http::Uri::try_from(request.url().as_str()).map_err(|_| {
            DriverError::Flow(xaa::Error::Misuse("the request URL is not a valid URI"))
        })?;
        let body = request.body().and_then(reqwest::Body::as_bytes);
        set_authorization(
            copy.headers_mut(),
            self.authorizer.authorizer(),
            token,
            (request.method(), &uri),
            body.unwrap_or_default(),
            self.authorizer.client().transport().now(),
        )?;
        Ok(copy)
    }
}

fn failed(error: AdapterError) -> reqwest_middleware::Error {
    reqwest_middleware::Error::middleware(error)
}
