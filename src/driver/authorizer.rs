//! [`ClientAuthorizer`]: the core's authorizer over a driver's client, for any user
//! ([`ClientAuthorizer::token`], [`ClientAuthorizer::send`]) or one ([`UserAuthorizer`]).

use std::future::{Future, ready};

use http::StatusCode;

use super::authorize::{self, Called, McpAnswer};
use super::block_on::block_on;
use super::builder::{ClientBuilder, FromOptions};
use super::client::{AsyncClient, AsyncTransport, BlockingClient, BlockingTransport};
use super::error::DriverError;
use crate::authorizer::{AuthorizerConfig, User};
use crate::{AccessToken, HttpRequest, HttpResponse};

/// Attaches valid tokens to MCP requests: `xaa_ureq::Authorizer` (blocking, over a
/// [`BlockingClient`]) and `xaa_reqwest::Authorizer` (async, over an [`AsyncClient`]).
///
/// The core's [`authorizer::Authorizer`](crate::authorizer::Authorizer) decides (cache,
/// single-flight, refresh, 401 and 403 handling); this type runs its loop over the client, with
/// the transport's clock:
///
/// 1. A cached token is used at once. A token due for refresh is used at once too, and the
///    refresh flight runs in the background ([`BlockingTransport::refresh_in_background`]: a
///    thread, a task). Otherwise the caller runs the flight, or, when another caller already
///    runs it for the same user and scope, waits for its result.
/// 2. `send` attaches `Authorization: Bearer` (for a DPoP-bound token `Authorization: DPoP`
///    and a fresh proof), sends, and asks the core whether to return the response, acquire
///    again and resend, or fail.
///
/// A transport failure during a flight lands it as [`crate::Error::Transport`], so the callers
/// waiting on it learn what happened; the caller that ran it gets the driver's typed error.
/// Dropping an async `token` or `send` future that runs a flight abandons it: its waiters try
/// again.
///
/// Cheap to clone: clones share the token cache and the connection pool.
#[derive(Clone, Debug)]
pub struct ClientAuthorizer<C> {
    authorizer: crate::authorizer::Authorizer,
    client: C,
}

impl<C> ClientAuthorizer<C> {
    /// An authorizer with an in-memory token cache, sending through `client`.
    pub fn with_client(config: AuthorizerConfig, client: C) -> Self {
        Self::from_authorizer(crate::authorizer::Authorizer::new(config), client)
    }

    /// Wraps an existing core authorizer (one with a persistent
    /// [`TokenStore`](crate::cache::TokenStore), or one shared with another driver).
    pub fn from_authorizer(authorizer: crate::authorizer::Authorizer, client: C) -> Self {
        Self { authorizer, client }
    }

    /// The core authorizer.
    pub fn authorizer(&self) -> &crate::authorizer::Authorizer {
        &self.authorizer
    }

    /// The HTTP client.
    pub fn client(&self) -> &C {
        &self.client
    }

    /// A handle acting for `user` alone: the single-user case.
    pub fn with_user(&self, user: User) -> UserAuthorizer<C>
    where
        C: Clone,
    {
        UserAuthorizer {
            inner: self.clone(),
            user,
        }
    }
}

impl<C: FromOptions> ClientAuthorizer<C> {
    /// An authorizer with an in-memory token cache, sending through a client with every
    /// default ([`ClientBuilder`]).
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::build`].
    pub fn new(config: AuthorizerConfig) -> Result<Self, C::Error> {
        Ok(Self::with_client(config, ClientBuilder::default().build()?))
    }
}

impl<T: BlockingTransport> ClientAuthorizer<BlockingClient<T>> {
    /// A valid access token for `user`, running the enterprise flow on this thread if needed.
    ///
    /// # Errors
    ///
    /// [`DriverError::Flow`] with the flow's error (or, for a flight another thread ran, its
    /// [`crate::Error::Transport`]); a transport-level variant when this thread's flight failed
    /// to get a response.
    pub fn token(&self, user: &User) -> Result<AccessToken, DriverError<T>> {
        block_on(authorize::token(&self.client, &self.authorizer, user))
    }

    /// Sends an MCP request for `user` with `Authorization: Bearer <token>`, or for a
    /// DPoP-bound token `Authorization: DPoP <token>` and a fresh proof (replacing any such
    /// header it has), and handles the server's 401 or 403: one fresh token after a 401, a
    /// wider scope after a 403 `insufficient_scope` (decisions.md D18). Any other response,
    /// error statuses included, is returned as it is.
    ///
    /// The response body is read whole, capped at [`ClientBuilder::resource_body_bytes`]: a
    /// `text/event-stream` response is read until the server closes it.
    ///
    /// # Errors
    ///
    /// As [`ClientAuthorizer::token`]; [`DriverError::Flow`] with [`crate::Error::ResourceServerRejected`]
    /// when the server refuses even a fresh token; the transport-level variants when the MCP
    /// request got no response.
    pub fn send(&self, user: &User, request: HttpRequest) -> Result<HttpResponse, DriverError<T>> {
        block_on(authorize::send(
            &self.client,
            &self.authorizer,
            user,
            request,
        ))
    }
}

impl<T: BlockingTransport> ClientAuthorizer<BlockingClient<T>> {
    /// One MCP call for `user` made by `attempt`, any way the caller sends (a stream, another
    /// client): the loop of [`ClientAuthorizer::send`] around it. `attempt` gets the token, to
    /// send with the headers [`set_authorization`](super::set_authorization) makes for the
    /// exact request (a bound token is never a bearer token), and the status of the refused
    /// answer it resends after, if any; its answer is judged through [`McpAnswer`].
    ///
    /// # Errors
    ///
    /// As [`ClientAuthorizer::token`]: no token could be had. A refusal is [`Called::Refused`], with
    /// the server's last answer.
    pub fn call<R, F>(&self, user: &User, mut attempt: F) -> Result<Called<R>, DriverError<T>>
    where
        R: McpAnswer,
        F: FnMut(&AccessToken, Option<StatusCode>) -> R,
    {
        block_on(authorize::call(
            &self.client,
            &self.authorizer,
            user,
            |token, resending_after| ready(attempt(token, resending_after)),
        ))
    }
}

impl<T: AsyncTransport> ClientAuthorizer<AsyncClient<T>> {
    /// The async `call`: as the blocking one, `attempt` returning a future.
    ///
    /// # Errors
    ///
    /// As the blocking `call`.
    pub async fn call<R, F, Fut>(
        &self,
        user: &User,
        attempt: F,
    ) -> Result<Called<R>, DriverError<T>>
    where
        R: McpAnswer,
        F: FnMut(&AccessToken, Option<StatusCode>) -> Fut,
        Fut: Future<Output = R>,
    {
        authorize::call(&self.client, &self.authorizer, user, attempt).await
    }

    /// The async `token`: as the blocking one, concurrent tasks needing a token for the same
    /// user sharing one flow.
    ///
    /// # Errors
    ///
    /// [`DriverError::Flow`] with the flow's error (or, for a flight another task ran, its
    /// [`crate::Error::Transport`]); a transport-level variant when this task's flight failed
    /// to get a response.
    pub async fn token(&self, user: &User) -> Result<AccessToken, DriverError<T>> {
        authorize::token(&self.client, &self.authorizer, user).await
    }

    /// The async `send`: as the blocking one.
    ///
    /// # Errors
    ///
    /// As the blocking `send`.
    pub async fn send(
        &self,
        user: &User,
        request: HttpRequest,
    ) -> Result<HttpResponse, DriverError<T>> {
        authorize::send(&self.client, &self.authorizer, user, request).await
    }
}

/// An [`ClientAuthorizer`] acting for one user, from [`ClientAuthorizer::with_user`].
#[derive(Clone, Debug)]
pub struct UserAuthorizer<C> {
    inner: ClientAuthorizer<C>,
    user: User,
}

impl<C> UserAuthorizer<C> {
    /// The user.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// The authorizer behind this handle.
    pub fn authorizer(&self) -> &ClientAuthorizer<C> {
        &self.inner
    }
}

impl<T: BlockingTransport> UserAuthorizer<BlockingClient<T>> {
    /// [`ClientAuthorizer::token`] for the user.
    ///
    /// # Errors
    ///
    /// As [`ClientAuthorizer::token`].
    pub fn token(&self) -> Result<AccessToken, DriverError<T>> {
        self.inner.token(&self.user)
    }

    /// [`ClientAuthorizer::send`] for the user.
    ///
    /// # Errors
    ///
    /// As [`ClientAuthorizer::send`].
    pub fn send(&self, request: HttpRequest) -> Result<HttpResponse, DriverError<T>> {
        self.inner.send(&self.user, request)
    }
}

impl<T: AsyncTransport> UserAuthorizer<AsyncClient<T>> {
    /// The async `token` for the user.
    ///
    /// # Errors
    ///
    /// As the authorizer's.
    pub async fn token(&self) -> Result<AccessToken, DriverError<T>> {
        self.inner.token(&self.user).await
    }

    /// The async `send` for the user.
    ///
    /// # Errors
    ///
    /// As the authorizer's.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, DriverError<T>> {
        self.inner.send(&self.user, request).await
    }
}
