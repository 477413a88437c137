//! The async authorizer: the core's [`xaa::authorizer::Authorizer`] decisions, run over a
//! [`Client`].

use std::time::SystemTime;

use http::HeaderValue;
use http::header::AUTHORIZATION;
use xaa::authorizer::{Acquired, AuthorizerConfig, Flight, Landed, User, Verdict, Waited};
use xaa::{AccessToken, HttpRequest, HttpResponse};

use crate::{Client, Error};

/// The most MCP requests [`Authorizer::send`] makes for one call: the core allows one fresh
/// token after a 401 and a few scope step-ups (decisions.md D18); this is a backstop.
const MAX_ATTEMPTS: u32 = 16;

/// Attaches valid tokens to MCP requests, on tokio.
///
/// The core's [`xaa::authorizer::Authorizer`] decides (cache, single-flight, refresh, 401 and
/// 403 handling); this type runs the flows it hands out over a [`Client`], with the system
/// clock:
///
/// 1. `acquire`. A cached token is returned at once. A token due for refresh is returned at
///    once too, and the refresh flight runs in a task of its own (`tokio::spawn`). Otherwise
///    the caller runs the flight ([`Client::run`], then [`Flight::land`]) or, when another task
///    already runs it for the same user and scope, awaits its result (`Waiter::wait`).
/// 2. [`Authorizer::send`] attaches `Authorization: Bearer`, sends, and asks `on_response`
///    whether to return the response, acquire again and resend, or fail.
///
/// A transport failure during a flight lands it as [`xaa::Error::Transport`], so the tasks
/// waiting on it learn what happened; the task that ran it gets this crate's typed error.
/// Dropping a `token` or `send` future that runs a flight abandons it: its waiters try again.
///
/// Cheap to clone: clones share the token cache and the connection pool.
#[derive(Clone, Debug)]
pub struct Authorizer {
    authorizer: xaa::authorizer::Authorizer,
    client: Client,
}

impl Authorizer {
    /// An authorizer with an in-memory token cache, sending through `client`.
    pub fn new(config: AuthorizerConfig, client: Client) -> Self {
        Self::from_authorizer(xaa::authorizer::Authorizer::new(config), client)
    }

    /// Wraps an existing core authorizer (one with a persistent
    /// [`TokenStore`](xaa::cache::TokenStore), or one shared with another driver).
    pub fn from_authorizer(authorizer: xaa::authorizer::Authorizer, client: Client) -> Self {
        Self { authorizer, client }
    }

    /// The core authorizer.
    pub fn authorizer(&self) -> &xaa::authorizer::Authorizer {
        &self.authorizer
    }

    /// The HTTP client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A handle acting for `user` alone: the single-user case.
    pub fn with_user(&self, user: User) -> UserAuthorizer {
        UserAuthorizer {
            inner: self.clone(),
            user,
        }
    }

    /// A valid access token for `user`, running the enterprise flow if needed.
    ///
    /// # Errors
    ///
    /// [`Error::Flow`] with the flow's error (or, for a flight another task ran, its
    /// [`xaa::Error::Transport`]); a transport-level variant when this task's flight failed to
    /// get a response.
    pub async fn token(&self, user: &User) -> Result<AccessToken, Error> {
        loop {
            match self.authorizer.acquire(user, SystemTime::now())? {
                Acquired::Token(token) => return Ok(token),
                Acquired::TokenAndRefresh(token, flight) => {
                    self.refresh_in_background(flight);
                    return Ok(token);
                }
                Acquired::Run(flight) => return self.fly(flight).await,
                Acquired::Wait(waiter) => match waiter.wait().await {
                    Waited::Token(token) => return Ok(token),
                    Waited::Failed(error) => return Err(Error::Flow(error)),
                    Waited::Again => continue,
                },
            }
        }
    }

    /// Sends an MCP request for `user` with `Authorization: Bearer <token>` (replacing any
    /// `Authorization` header it has), and handles the server's 401 or 403: one fresh token
    /// after a 401, a wider scope after a 403 `insufficient_scope` (decisions.md D18). Any
    /// other response, error statuses included, is returned as it is.
    ///
    /// The response body is read whole, capped at [`ClientBuilder::resource_body_bytes`]: a
    /// `text/event-stream` response is read until the server closes it.
    ///
    /// [`ClientBuilder::resource_body_bytes`]: crate::ClientBuilder::resource_body_bytes
    ///
    /// # Errors
    ///
    /// As [`Authorizer::token`]; [`Error::Flow`] with
    /// [`xaa::Error::ResourceServerRejected`] when the server refuses even a fresh token; the
    /// transport-level variants when the MCP request got no response.
    pub async fn send(&self, user: &User, request: HttpRequest) -> Result<HttpResponse, Error> {
        let (parts, body) = request.into_parts();
        for _ in 0..MAX_ATTEMPTS {
            let token = self.token(user).await?;
            let mut request = http::Request::from_parts(parts.clone(), body.clone());
            request.headers_mut().insert(AUTHORIZATION, bearer(&token)?);
            let response = self.client.send_resource(request).await?;
            match self.authorizer.on_response(
                user,
                &token,
                response.status(),
                response.headers(),
                SystemTime::now(),
            ) {
                Verdict::Accept => return Ok(response),
                Verdict::Retry => continue,
                Verdict::Fail(error) => return Err(Error::Flow(error)),
            }
        }
        Err(Error::Flow(xaa::Error::Misuse(
            "the authorizer asked for more retries than any policy allows",
        )))
    }

    /// Runs a flight to its landing: its flow, then the one retry the core may ask for.
    async fn fly(&self, mut flight: Flight) -> Result<AccessToken, Error> {
        loop {
            let Some(flow) = flight.take_flow() else {
                // Dropping the flight releases its waiters.
                return Err(Error::Flow(xaa::Error::Misuse("a flight without a flow")));
            };
            let limit = self.authorizer.config().policy.max_body_bytes;
            let (result, failure) = match self.client.run_with_limit(flow, limit).await {
                Ok(authorization) => (Ok(authorization), None),
                Err(Error::Flow(error)) => (Err(error), None),
                Err(error) => (Err(error.to_flow_error()), Some(error)),
            };
            match flight.land(result, SystemTime::now()) {
                Landed::Token(token) => return Ok(token),
                Landed::Retry(next) => flight = *next,
                Landed::Failed(error) => return Err(failure.unwrap_or(Error::Flow(error))),
            }
        }
    }

    /// Runs a refresh flight in a task of its own; the caller already has a valid token.
    fn refresh_in_background(&self, flight: Flight) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to spawn on: drop the flight, its waiters try again.
            tracing::debug!(
                event = "refresh_not_started",
                "no tokio runtime for the background refresh"
            );
            return;
        };
        let this = self.clone();
        runtime.spawn(async move {
            if let Err(error) = this.fly(flight).await {
                tracing::debug!(event = "refresh_failed", error = %error, "background refresh failed");
            }
        });
    }
}

/// An [`Authorizer`] acting for one user, from [`Authorizer::with_user`].
#[derive(Clone, Debug)]
pub struct UserAuthorizer {
    inner: Authorizer,
    user: User,
}

impl UserAuthorizer {
    /// The user.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// The authorizer behind this handle.
    pub fn authorizer(&self) -> &Authorizer {
        &self.inner
    }

    /// [`Authorizer::token`] for the user.
    ///
    /// # Errors
    ///
    /// As [`Authorizer::token`].
    pub async fn token(&self) -> Result<AccessToken, Error> {
        self.inner.token(&self.user).await
    }

    /// [`Authorizer::send`] for the user.
    ///
    /// # Errors
    ///
    /// As [`Authorizer::send`].
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, Error> {
        self.inner.send(&self.user, request).await
    }
}

/// `Bearer <token>`, marked sensitive so HTTP libraries keep it out of their logs.
fn bearer(token: &AccessToken) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
        .map_err(|_| Error::InvalidRequest("the access token is not a valid header value"))?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn futures_are_send() {
        let Ok(client) = Client::new() else {
            return;
        };
        let config = AuthorizerConfig::new(
            "https://mcp.example.com/mcp",
            xaa::IdentityProvider::issuer(
                "https://idp.example.com",
                xaa::ClientCredentials::public("idp"),
            ),
            xaa::AuthorizationServer::discovered(xaa::ClientCredentials::public("client")),
        );
        let authorizer = Authorizer::new(config, client);
        let user = User::new(
            xaa::cache::Principal::subject("https://idp.example.com", "alice"),
            std::sync::Arc::new(xaa::grant::SubjectToken::IdToken(xaa::IdToken::new("t"))),
        );
        assert_send(&authorizer.token(&user));
        assert_send(&authorizer.send(&user, HttpRequest::new(Vec::new())));
    }
}
