//! Blocking driver for [`xaa`] (MCP Enterprise-Managed Authorization, ID-JAG) on ureq 3.
//!
//! The core is sans-IO: its flows say which requests to send and judge the responses. This
//! crate sends them, and does nothing else: no protocol logic lives here. Its
//! [`UreqTransport`] is what the core's shared driver code ([`xaa::driver`]) runs over:
//!
//! * [`Client`]: a ureq agent configured for OAuth ([`Client::run`] drives any [`xaa::Flow`]
//!   with [`xaa::drive`] and the system clock), built with [`ClientBuilder`].
//! * [`Authorizer`]: the core's [`xaa::authorizer::Authorizer`] over a [`Client`]:
//!   [`token`](Authorizer::token) and [`send`](Authorizer::send) for any user, or
//!   [`with_user`](Authorizer::with_user) for the single-user case.
//! * [`Error`]: the drivers' one error set.
//!
//! Everything the common case needs is re-exported here.
//!
//! # Features
//!
//! * `middleware`: `middleware::AuthorizeMiddleware`, the authorizer as a
//!   `ureq::middleware::Middleware`, for MCP requests sent with a ureq agent of your own. It runs
//!   the authorizer's one loop ([`Authorizer::call`]): the user is the [`User`] request
//!   extension (none: `AdapterError::NoUser`, nothing sent), the token goes in
//!   `Authorization: Bearer` (a DPoP-bound one as `Authorization: DPoP` with a fresh proof per
//!   attempt), and a 401 or 403 is handled as [`Authorizer::send`] handles it,
//!   the request body kept for the resend up to the client's
//!   [`ClientBuilder::resource_body_bytes`]. ureq's `MiddlewareNext` runs once, so a resend goes
//!   through the authorizer's [`Client`]: later middlewares see only the first attempt.
//!   Example: `cargo run -p xaa-ureq --example middleware-ureq --features middleware`, against
//!   the testkit.
//! * `dpop`: sender-constrained tokens (RFC 9449): `xaa::dpop` with its ES256 key, for
//!   `AuthorizerConfig::dpop`. Every MCP request with a bound token, from
//!   [`Authorizer::send`], [`Authorizer::call`] through `xaa::driver::set_authorization`, or the
//!   middleware, carries `Authorization: DPoP` and a fresh proof; a bound token is never sent
//!   as a bearer token. A nonce demand gets one resend with the server's nonce; a refused proof
//!   or a second demand is final ([`xaa::Error::Dpop`]). The README shows the set-up.
//!
//! # Example
//!
//! ```no_run
//! use xaa_ureq::{
//!     AuthorizationServer, Authorizer, AuthorizerConfig, ClientCredentials, IdToken,
//!     IdentityProvider, SubjectToken, User,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = AuthorizerConfig::new(
//!     "https://mcp.example.com/mcp",
//!     IdentityProvider::issuer("https://idp.example.com", ClientCredentials::public("idp-client")),
//!     AuthorizationServer::discovered(ClientCredentials::public("mcp-client")),
//! );
//! let user = User::from_id_token(SubjectToken::IdToken(IdToken::new("eyJ...")))?;
//! let mcp = Authorizer::new(config)?.with_user(user);
//! let request = http::Request::post("https://mcp.example.com/mcp")
//!     .header("content-type", "application/json")
//!     .body(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.to_vec())?;
//! let response = mcp.send(request)?; // Authorization: Bearer attached, 401/403 handled
//! # let _ = response;
//! # Ok(())
//! # }
//! ```
//!
//! # How requests are sent
//!
//! Following the core's run loop (the [`xaa`] crate docs):
//!
//! * **No redirects**: `max_redirects(0)`, so a 3xx comes back as a response and the core
//!   refuses it (decisions.md D4): credentials never follow a redirect.
//! * **Every status is a response**: `http_status_as_error(false)`, so OAuth error bodies
//!   (`400 invalid_grant`, ...) reach the core, which turns them into typed errors.
//! * **A total timeout** per request, 30 s by default ([`ClientBuilder::timeout`]), at most
//!   [`MAX_TIMEOUT`]; [`Client::run_until`] and [`Client::send_until`] also bound a whole flow
//!   by a deadline.
//! * **A body cap**: [`xaa::Policy::max_body_bytes`] for flows, read through ureq's limited
//!   reader; a larger body is [`Error::BodyTooLarge`], never a truncated body passed on.
//! * **TLS** through rustls with **aws-lc-rs**, the one crypto backend of the workspace. ureq's
//!   `rustls-no-provider` feature is used (its `rustls` feature would bring ring), and the
//!   provider is set on every agent's TLS configuration, which ureq prefers to rustls's
//!   process-wide default: this crate neither installs nor reads a process default. Roots:
//!   Mozilla's (`webpki-root-certs`) plus any added with
//!   [`ClientBuilder::add_root_certificate`].
//! * **Proxies**: ureq's own default, kept: the first of `ALL_PROXY`, `HTTPS_PROXY`,
//!   `HTTP_PROXY` (or lowercase) set when the client is built, with `NO_PROXY`; see
//!   [`ProxySetting`] to turn it off or name one.
//! * **Address guard** (decisions.md D5), always installed as ureq's resolver, IP literals
//!   included (ureq resolves them too): addresses never connected to (link-local such as
//!   cloud metadata services, `0.0.0.0`, multicast, ...) are always refused;
//!   [`ClientBuilder::deny_private_addresses`] refuses private and loopback ones too unless
//!   the host is allowed, and [`ClientBuilder::address_guard`] sets any guard.
//!   [`ClientBuilder::resolve`] pins names to addresses, which the guard still judges.
//! * **Background refresh**: on a thread of its own, named `xaa-refresh`.
//! * **Clock**: the system clock (`SystemTime::now`, `Instant::now`) is read here, never in the
//!   core.
//!
//! Tokens, headers and bodies are never logged or printed in errors.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod error;
mod guard;
#[cfg(feature = "middleware")]
pub mod middleware;
mod tls;
mod transport;

pub use transport::UreqTransport;
pub use xaa::driver::prelude::*;
pub use xaa::driver::{DEFAULT_RESOURCE_BODY_BYTES, DEFAULT_TIMEOUT, MAX_TIMEOUT, ProxySetting};

/// The blocking HTTP client for OAuth flows: ureq with no redirects, every status a response,
/// a total timeout, a body cap, TLS through rustls with aws-lc-rs, and the address guard.
pub type Client = xaa::driver::BlockingClient<UreqTransport>;

/// Builds a [`Client`]; every default is the production setting.
pub type ClientBuilder = xaa::driver::ClientBuilder<Client>;

/// Everything that can go wrong in this crate: the drivers' one error set.
pub type Error = xaa::driver::DriverError<UreqTransport>;

/// Why the ureq middleware sent no request or returned no response ([`middleware`]).
#[cfg(feature = "middleware")]
pub type AdapterError = xaa::driver::AdapterError<UreqTransport>;

/// Attaches valid tokens to MCP requests, blocking the calling thread; refreshes run on a
/// thread of their own.
pub type Authorizer = xaa::driver::ClientAuthorizer<Client>;

/// An [`Authorizer`] acting for one user, from [`Authorizer::with_user`].
pub type UserAuthorizer = xaa::driver::UserAuthorizer<Client>;

/// The former name of [`Authorizer`].
#[deprecated(
    note = "renamed `Authorizer`, as in xaa-reqwest; build it with `Authorizer::new` \
                     or `Authorizer::with_client`"
)]
pub type BlockingAuthorizer = Authorizer;

/// The README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
