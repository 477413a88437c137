//! The authorizer's loop for one MCP request, written once for blocking and async clients
//! (the [`crate::authorizer`] module docs; decisions.md D13, D16 to D21):
//!
//! 1. [`Authorizer::acquire`] a token: a cached one, one due for refresh (the refresh flight
//!    runs in the background), a flight to run and land (once more if the core asks, with a
//!    fresh subject token), or another caller's flight to wait for.
//! 2. Send the request with `Authorization: Bearer <token>` (RFC 6750 section 2.1), or for a
//!    DPoP-bound token `Authorization: DPoP <token>` and a fresh proof (RFC 9449 section 7.1).
//! 3. For a bound token, [`Authorizer::dpop_verdict`]: one resend after the server's first
//!    nonce demand (RFC 9449 section 9), a refused proof ends the call. Then
//!    [`Authorizer::on_response`]: return the answer, fail, or acquire again and resend: one
//!    fresh token after a 401, a wider scope after a 403 `insufficient_scope` (RFC 6750
//!    section 3.1, decisions.md D18).
//!
//! The loop is async over [`Io`]; a blocking client's futures are ready when made, so a
//! blocking caller runs the same loop to completion on its own thread
//! ([`block_on`](super::block_on)).

use std::future::Future;

use http::{HeaderMap, StatusCode};

use super::block_on::block_on;
use super::client::{AsyncClient, AsyncTransport, BlockingClient, BlockingTransport};
use super::error::DriverError;
use super::io::Io;
use super::refresh::Refresh;
use super::shared_store::{Leased, StoreUnavailable};
use crate::authorizer::{Acquired, Authorizer, DpopVerdict, Flight, Landed, User, Verdict, Waited};
use crate::cache::CacheKey;
use crate::{AccessToken, HttpRequest, HttpResponse};

/// The most MCP requests one call makes: the core allows one fresh token after a 401 and a few
/// scope step-ups (decisions.md D18); this is a backstop.
const MAX_ATTEMPTS: u32 = 16;

/// A valid access token for `user`: cached, refreshed in the background, run here, or another
/// caller's (decisions.md D19 single-flight).
pub(super) async fn token<I: Io>(
    io: &I,
    authorizer: &Authorizer,
    user: &User,
) -> Result<AccessToken, DriverError<I::Transport>> {
    loop {
        match authorizer.acquire(user, io.now())? {
            Acquired::Token(token) => return Ok(token),
            Acquired::TokenAndRefresh(token, flight) => {
                io.refresh_in_background(authorizer, flight);
                return Ok(token);
            }
            Acquired::Run(flight) => return fly(io, authorizer, flight).await,
            Acquired::Wait(waiter) => match io.wait(waiter).await {
                Waited::Token(token) => return Ok(token),
                Waited::Failed(error) => return Err(DriverError::Flow(error)),
                Waited::Again => continue,
            },
        }
    }
}

/// How many times a flight waits for another replica's lease before running its flow here:
/// each wait ends when the lease goes (released, or expired because its holder died and no
/// longer renews it) or the shared store's longest wait passes.
const LEASE_ROUNDS: u32 = 3;

/// Runs a flight to its landing, once across the replicas sharing a store (the
/// [`shared_store`](super::shared_store) module): a token the store has for the flight's key is
/// adopted; otherwise the replica granted the key's lease reads the store once more (the
/// holder before it may have saved its token just then), then runs the flow and saves its token,
/// renewing the lease meanwhile, and the others wait for it and read the store. A store that
/// does not answer is logged and counted, and the flow runs here. A flight with no cache key
/// yet (no discovery) runs here.
pub(super) async fn fly<I: Io>(
    io: &I,
    authorizer: &Authorizer,
    mut flight: Flight,
) -> Result<AccessToken, DriverError<I::Transport>> {
    let Some(key) = flight.cache_key().cloned() else {
        // The flow discovers the key: once it is known, the token is shared all the same.
        let user = flight.user().clone();
        let result = run_here(io, authorizer, flight).await;
        if result.is_ok()
            && let Some(key) = authorizer.cache_key_for(&user)
        {
            share(io, authorizer, &key).await;
        }
        return result;
    };
    for _ in 0..LEASE_ROUNDS {
        flight = match from_store(io, &key, flight).await {
            FromStore::Adopted(token) => return Ok(token),
            FromStore::Absent(flight) => flight,
            FromStore::Unavailable(flight, error) => {
                return run_without_store(io, authorizer, flight, &error).await;
            }
        };
        match io.store_lease(&key).await {
            Ok(Leased::Acquired(lease)) => {
                // The holder before us may have saved its token and let the lease go between
                // our read and our lease: read once more, under the lease, before exchanging.
                flight = match from_store(io, &key, flight).await {
                    FromStore::Adopted(token) => {
                        if let Err(error) = io.store_release(&key, lease).await {
                            io.store_unavailable(&error);
                        }
                        return Ok(token);
                    }
                    FromStore::Absent(flight) => flight,
                    FromStore::Unavailable(flight, error) => {
                        io.store_unavailable(&error);
                        flight
                    }
                };
                // The lease is renewed until the token is saved, then released.
                let landed = async {
                    let result = run_here(io, authorizer, flight).await;
                    if result.is_ok() {
                        share(io, authorizer, &key).await;
                    }
                    result
                };
                // Boxed: the flow's future is the largest of the loop, and each layer that
                // holds it by value (the renewal beside it, the caller's) would copy it on the
                // stack of the executor's thread as it starts.
                let result = io.holding(&key, lease, Box::pin(landed)).await;
                if let Err(error) = io.store_release(&key, lease).await {
                    io.store_unavailable(&error);
                }
                return result;
            }
            Ok(Leased::Held) => {
                if let Err(error) = io.store_wait(&key).await {
                    return run_without_store(io, authorizer, flight, &error).await;
                }
            }
            Err(error) => return run_without_store(io, authorizer, flight, &error).await,
        }
    }
    tracing::debug!(
        event = "lease_rounds_exhausted",
        "another replica kept the lease; running the flow here"
    );
    run_here(io, authorizer, flight).await
}

/// What the shared store had for a flight's key.
enum FromStore {
    /// A usable token, adopted: no exchange.
    Adopted(AccessToken),
    /// Nothing usable: the flight, to run or to wait.
    Absent(Flight),
    /// The store did not answer.
    Unavailable(Flight, StoreUnavailable),
}

/// Reads the shared store's token for `key` and has `flight` adopt it when it is usable.
async fn from_store<I: Io>(io: &I, key: &CacheKey, flight: Flight) -> FromStore {
    match io.store_load(key).await {
        Ok(Some(stored)) => match flight.adopt(stored, io.now()) {
            Ok(token) => FromStore::Adopted(token),
            Err(unadopted) => FromStore::Absent(*unadopted),
        },
        Ok(None) => FromStore::Absent(flight),
        Err(error) => FromStore::Unavailable(flight, error),
    }
}

/// Saves the token just landed under `key` in the shared store, for the other replicas.
async fn share<I: Io>(io: &I, authorizer: &Authorizer, key: &CacheKey) {
    if let Some(token) = authorizer.cached_token(key, io.now())
        && let Err(error) = io.store_save(key, &token).await
    {
        io.store_unavailable(&error);
    }
}

/// The flow runs here because the shared store did not answer: logged and counted.
async fn run_without_store<I: Io>(
    io: &I,
    authorizer: &Authorizer,
    flight: Flight,
    error: &StoreUnavailable,
) -> Result<AccessToken, DriverError<I::Transport>> {
    io.store_unavailable(error);
    run_here(io, authorizer, flight).await
}

/// Runs a flight's flow here, to its landing, and the one retry with a fresh subject token the
/// core may ask for (decisions.md D17).
///
/// A transport failure lands the flight as [`crate::Error::Transport`], so the callers waiting
/// on it learn what happened; the caller that ran it gets the driver's typed error.
async fn run_here<I: Io>(
    io: &I,
    authorizer: &Authorizer,
    mut flight: Flight,
) -> Result<AccessToken, DriverError<I::Transport>> {
    let limit = authorizer.config().policy.max_body_bytes;
    loop {
        let Some(flow) = flight.take_flow() else {
            // Dropping the flight releases its waiters.
            return Err(DriverError::Flow(crate::Error::Misuse(
                "a flight without a flow",
            )));
        };
        let (result, failure) = match io.run(flow, limit).await {
            Ok(authorization) => (Ok(authorization), None),
            Err(DriverError::Flow(error)) => (Err(error), None),
            Err(error) => (Err(error.to_flow_error()), Some(error)),
        };
        match flight.land(result, io.now()) {
            Landed::Token(token) => return Ok(token),
            Landed::Retry(next) => flight = *next,
            Landed::Failed(error) => return Err(failure.unwrap_or(DriverError::Flow(error))),
        }
    }
}

/// Sends an MCP request for `user` with `Authorization: Bearer <token>`, or `Authorization:
/// DPoP <token>` and a fresh proof for a bound token (replacing any such header it has), and
/// handles the server's 401 or 403 as the core's verdict says (decisions.md D18, D20).
pub(super) async fn send<I: Io>(
    io: &I,
    authorizer: &Authorizer,
    user: &User,
    request: HttpRequest,
) -> Result<HttpResponse, DriverError<I::Transport>> {
    let (parts, body) = request.into_parts();
    let attempt = |token: &AccessToken, _: Option<StatusCode>| {
        let request = authorizer
            .request_authorization(token, &parts.method, &parts.uri, &body, io.now())
            .map(|authorization| {
                let mut request = http::Request::from_parts(parts.clone(), body.clone());
                authorization.apply(request.headers_mut());
                request
            });
        async move { io.send(request.map_err(DriverError::Flow)?).await }
    };
    match call(io, authorizer, user, attempt).await? {
        Called::Answered(answer) => answer,
        Called::Refused(_, error) => Err(DriverError::Flow(error)),
    }
}

/// One MCP call for `user`, made by `attempt` with a token, as often as the core's verdict on
/// the answers allows (decisions.md D18, D20): `send`'s loop for any way of sending. `attempt`
/// also learns the status of the refused answer it is resending after.
pub(super) async fn call<I, R, F, Fut>(
    io: &I,
    authorizer: &Authorizer,
    user: &User,
    mut attempt: F,
) -> Result<Called<R>, DriverError<I::Transport>>
where
    I: Io,
    R: McpAnswer,
    F: FnMut(&AccessToken, Option<StatusCode>) -> Fut,
    Fut: Future<Output = R>,
{
    let mut resending_after = None;
    let mut nonce_retried = false;
    for _ in 0..MAX_ATTEMPTS {
        let token = token(io, authorizer, user).await?;
        let answer = attempt(&token, resending_after).await;
        let verdict = match answer.judged() {
            Some((status, headers)) => {
                resending_after = Some(status);
                match authorizer.dpop_verdict(&token, status, headers) {
                    DpopVerdict::RetryWithNonce if !nonce_retried => {
                        nonce_retried = true;
                        Verdict::Retry
                    }
                    DpopVerdict::RetryWithNonce => Verdict::Fail(crate::Error::Dpop {
                        purpose: None,
                        refusal: crate::DpopRefusal::NonceLoop,
                    }),
                    DpopVerdict::Refused(error) => Verdict::Fail(error),
                    DpopVerdict::NotAboutTheProof => {
                        let refused = (status == StatusCode::UNAUTHORIZED)
                            .then(|| authorizer.cache_key_for(user))
                            .flatten();
                        let verdict =
                            authorizer.on_response(user, &token, status, headers, io.now());
                        if let (Some(key), Verdict::Retry) = (refused, &verdict) {
                            // The refused token must not be adopted again from the store;
                            // a newer one another replica saved meanwhile stays.
                            if let Err(error) = io.store_remove(&key, &token).await {
                                io.store_unavailable(&error);
                            }
                        }
                        verdict
                    }
                }
            }
            None => Verdict::Accept,
        };
        match verdict {
            Verdict::Accept => return Ok(Called::Answered(answer)),
            Verdict::Retry => continue,
            Verdict::Fail(error) => return Ok(Called::Refused(answer, error)),
        }
    }
    Err(DriverError::Flow(crate::Error::Misuse(
        "the authorizer asked for more retries than any policy allows",
    )))
}

/// The answer to one attempt of a call, as the loop reads it.
pub trait McpAnswer {
    /// The status and header fields the core judges (a 401, a 403 `insufficient_scope`:
    /// RFC 6750 section 3), or `None` for an outcome returned as it is: no answer was had.
    fn judged(&self) -> Option<(StatusCode, &HeaderMap)>;
}

impl<E> McpAnswer for Result<HttpResponse, E> {
    fn judged(&self) -> Option<(StatusCode, &HeaderMap)> {
        self.as_ref()
            .ok()
            .map(|response| (response.status(), response.headers()))
    }
}

/// How a call ended.
#[derive(Debug)]
#[must_use]
pub enum Called<R> {
    /// The answer to return: accepted, or one the loop does not judge.
    Answered(R),
    /// The server refused even a fresh token or a wider scope (decisions.md D18): its last
    /// answer, and the core's error.
    Refused(R, crate::Error),
}

impl<T: BlockingTransport> Refresh<BlockingClient<T>> {
    /// Runs the flight to its landing on this thread. The waiters of the flight get its
    /// outcome; the error returned here has no caller left to take it, so the transport logs
    /// it (`event = "refresh_failed"`).
    ///
    /// # Errors
    ///
    /// As [`Authorizer::token`](super::ClientAuthorizer::token).
    pub fn run(self) -> Result<AccessToken, DriverError<T>> {
        block_on(fly(&self.client, &self.authorizer, self.flight))
    }
}

impl<T: AsyncTransport> Refresh<AsyncClient<T>> {
    /// Runs the flight to its landing; spawn the future. As the blocking `run`.
    ///
    /// # Errors
    ///
    /// As the authorizer's `token`.
    pub async fn run(self) -> Result<AccessToken, DriverError<T>> {
        fly(&self.client, &self.authorizer, self.flight).await
    }
}
