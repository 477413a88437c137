//! The blocking authorizer: the core's [`Authorizer`] decisions, run over a [`Client`].

use std::time::SystemTime;

use http::HeaderValue;
use http::header::AUTHORIZATION;
use xaa::authorizer::{
    Acquired, Authorizer, AuthorizerConfig, Flight, Landed, User, Verdict, Waited,
};
use xaa::{AccessToken, HttpRequest, HttpResponse};

use crate::{Client, Error};

/// The most MCP requests [`BlockingAuthorizer::send`] makes for one call: the core allows one
/// fresh token after a 401 and a few scope step-ups (decisions.md D18); this is a backstop.
const MAX_ATTEMPTS: u32 = 16;

/// Attaches valid tokens to MCP requests, blocking the calling thread.
///
/// The core's [`Authorizer`] decides (cache, single-flight, refresh, 401 and 403 handling);
/// this type runs the flows it hands out over a [`Client`], with the system clock:
///
/// 1. [`Authorizer::acquire`]. A cached token is returned at once. A token due for refresh is
///    returned at once too, and the refresh flight runs on a background thread. Otherwise the
///    caller runs the flight ([`Client::run`], then [`Flight::land`]) or, when another thread
///    already runs it for the same user and scope, waits for its result.
/// 2. [`BlockingAuthorizer::send`] attaches `Authorization: Bearer`, sends, and asks
///    [`Authorizer::on_response`] whether to return the response, acquire again and resend,
///    or fail.
///
/// A transport failure during a flight lands it as [`xaa::Error::Transport`], so the threads
/// waiting on it learn what happened; the thread that ran it gets this crate's typed error.
///
/// Cheap to clone: clones share the token cache and the connection pool.
#[derive(Clone, Debug)]
pub struct BlockingAuthorizer {
    authorizer: Authorizer,
    client: Client,
}

impl BlockingAuthorizer {
    /// An authorizer with an in-memory token cache, sending through `client`.
    pub fn new(config: AuthorizerConfig, client: Client) -> Self {
        Self::from_authorizer(Authorizer::new(config), client)
    }

    /// Wraps an existing core authorizer (one with a persistent
    /// [`TokenStore`](xaa::cache::TokenStore), or one shared with another driver).
    pub fn from_authorizer(authorizer: Authorizer, client: Client) -> Self {
        Self { authorizer, client }
    }

    /// The core authorizer.
    pub fn authorizer(&self) -> &Authorizer {
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
    /// [`Error::Flow`] with the flow's error (or, for a flight another thread ran, its
    /// [`xaa::Error::Transport`]); a transport-level variant when this thread's flight failed
    /// to get a response.
    pub fn token(&self, user: &User) -> Result<AccessToken, Error> {
        loop {
            match self.authorizer.acquire(user, SystemTime::now())? {
                Acquired::Token(token) => return Ok(token),
                Acquired::TokenAndRefresh(token, flight) => {
                    self.refresh_in_background(flight);
                    return Ok(token);
                }
                Acquired::Run(flight) => return self.fly(flight),
                Acquired::Wait(waiter) => match waiter.wait_blocking() {
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
    /// As [`BlockingAuthorizer::token`]; [`Error::Flow`] with
    /// [`xaa::Error::ResourceServerRejected`] when the server refuses even a fresh token; the
    /// transport-level variants when the MCP request got no response.
    pub fn send(&self, user: &User, request: HttpRequest) -> Result<HttpResponse, Error> {
        let (parts, body) = request.into_parts();
        for _ in 0..MAX_ATTEMPTS {
            let token = self.token(user)?;
            let mut request = http::Request::from_parts(parts.clone(), body.clone());
            request.headers_mut().insert(AUTHORIZATION, bearer(&token)?);
            let response = self.client.send_resource(request)?;
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
    fn fly(&self, mut flight: Flight) -> Result<AccessToken, Error> {
        loop {
            let Some(flow) = flight.take_flow() else {
                // Dropping the flight releases its waiters.
                return Err(Error::Flow(xaa::Error::Misuse("a flight without a flow")));
            };
            let limit = self.authorizer.config().policy.max_body_bytes;
            let (result, failure) = match self.client.run_with_limit(flow, limit) {
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

    /// Runs a refresh flight on its own thread; the caller already has a valid token.
    fn refresh_in_background(&self, flight: Flight) {
        let this = self.clone();
        let spawned = std::thread::Builder::new()
            .name("xaa-refresh".into())
            .spawn(move || {
                if let Err(error) = this.fly(flight) {
                    tracing::debug!(event = "refresh_failed", error = %error, "background refresh failed");
                }
            });
        if let Err(error) = spawned {
            // The closure, and with it the flight, is dropped: its waiters try again.
            tracing::debug!(event = "refresh_not_started", error = %error, "could not spawn the refresh thread");
        }
    }
}

/// A [`BlockingAuthorizer`] acting for one user, from [`BlockingAuthorizer::with_user`].
#[derive(Clone, Debug)]
pub struct UserAuthorizer {
    inner: BlockingAuthorizer,
    user: User,
}

impl UserAuthorizer {
    /// The user.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// The authorizer behind this handle.
    pub fn authorizer(&self) -> &BlockingAuthorizer {
        &self.inner
    }

    /// [`BlockingAuthorizer::token`] for the user.
    ///
    /// # Errors
    ///
    /// As [`BlockingAuthorizer::token`].
    pub fn token(&self) -> Result<AccessToken, Error> {
        self.inner.token(&self.user)
    }

    /// [`BlockingAuthorizer::send`] for the user.
    ///
    /// # Errors
    ///
    /// As [`BlockingAuthorizer::send`].
    pub fn send(&self, request: HttpRequest) -> Result<HttpResponse, Error> {
        self.inner.send(&self.user, request)
    }
}

/// `Bearer <token>`, marked sensitive so HTTP libraries keep it out of their logs.
fn bearer(token: &AccessToken) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
        .map_err(|_| Error::InvalidRequest("the access token is not a valid header value"))?;
    value.set_sensitive(true);
    Ok(value)
}
