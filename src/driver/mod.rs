//! What the drivers (`xaa-ureq`, `xaa-reqwest`, or your own) share, written once: the
//! options of their HTTP client, their error set, and the authorizer's loop.
//!
//! A driver supplies a [`Transport`]: how to send one request ([`BlockingTransport::send`] or
//! [`AsyncTransport::send`]), how to build its HTTP client from the [`ClientOptions`]
//! ([`BuildTransport`]), the clock, and how its client's failures map into [`DriverError`]. Everything
//! else is here, generic over that transport:
//!
//! * [`ClientBuilder`]: one set of options for every driver (timeouts, body caps, roots, the
//!   address guard, static answers, the proxy, the user agent).
//! * [`BlockingClient`] and [`AsyncClient`]: run a [`Flow`](crate::Flow) with
//!   [`drive`](crate::drive()) or [`drive_async`](crate::drive_async), send one request, each
//!   within an optional deadline.
//! * [`ClientAuthorizer`]: the core's [`authorizer::Authorizer`](crate::authorizer::Authorizer)
//!   over a client. Its loop for one MCP request is written once, for blocking and async
//!   clients alike: acquire a token, run the flight and land it (or wait for another caller's),
//!   send the request with `Authorization: Bearer` (or `DPoP` and a fresh proof for a bound
//!   token), read the answer, and resend at most as the core's verdict allows (decisions.md
//!   D18). A blocking client's futures are ready when
//!   made, so a blocking call completes the same loop on the calling thread.
//!
//! The core still reads no clock and spawns nothing: the transport gives the time, and runs a
//! background [`Refresh`] on a thread or a task of its own.

mod adapter;
mod authorize;
mod authorizer;
mod block_on;
mod builder;
mod client;
mod deadline;
#[cfg(feature = "signin")]
mod device_sign_in;
mod error;
mod io;
mod lease_renewal;
mod options;
pub mod prelude;
mod refresh;
pub mod shared_store;
mod transport;
mod wire;

pub use adapter::{AdapterError, BoxError, request_user, set_authorization, set_bearer};
pub use authorize::{Called, McpAnswer};
pub use authorizer::{ClientAuthorizer, UserAuthorizer};
pub use builder::{ClientBuilder, FromOptions};
pub use client::{AsyncClient, AsyncTransport, BlockingClient, BlockingTransport, BuildTransport};
pub use error::DriverError;
pub use options::{
    ClientOptions, DEFAULT_RESOURCE_BODY_BYTES, DEFAULT_TIMEOUT, MAX_TIMEOUT, ProxySetting,
};
pub use refresh::Refresh;
pub use shared_store::{
    AsyncSharedTokenStore, DEFAULT_LEASE_TTL, DEFAULT_LONGEST_WAIT, LeaseId, Leased, SharedStore,
    SharedTokenStore, StoreFuture, StoreUnavailable,
};
pub use transport::{MonotonicClock, Transport};
pub use wire::{Limits, port_of, sends_body};
