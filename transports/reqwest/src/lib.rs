//! Async driver for [`xaa`] (MCP Enterprise-Managed Authorization, ID-JAG) on reqwest 0.13
//! and tokio.
//!
//! The core is sans-IO: its flows say which requests to send and judge the responses. This
//! crate sends them, and does nothing else: no protocol logic lives here. Its
//! [`ReqwestTransport`] is what the core's shared driver code ([`xaa::driver`]) runs over:
//!
//! * [`Client`]: a reqwest client configured for OAuth ([`Client::run`] drives any
//!   [`xaa::Flow`] with [`xaa::drive_async`], independent requests in flight together), built
//!   with [`ClientBuilder`].
//! * [`Authorizer`]: the core's [`xaa::authorizer::Authorizer`] over a [`Client`]:
//!   [`token`](Authorizer::token) and [`send`](Authorizer::send) for any user, or
//!   [`with_user`](Authorizer::with_user) for the single-user case. Concurrent tasks needing a
//!   token for the same user share one flow (single-flight, from the core).
//! * [`Error`]: the drivers' one error set.
//!
//! Everything the common case needs is re-exported here.
//!
//! # Features
//!
//! * `rustls` (default): HTTPS through rustls with aws-lc-rs (below). Without it, plain http only.
//! * `system-proxy` (default): the macOS and Windows proxy settings (below).
//! * `middleware`: `middleware::AuthorizeMiddleware`, the authorizer as a
//!   `reqwest_middleware::Middleware` (reqwest-middleware 0.5), for MCP requests sent through a
//!   `ClientWithMiddleware`.
//! * `tower`: `tower::AuthorizeLayer`, the authorizer as a `tower::Layer` whose service wraps
//!   any `Service<http::Request<Full<Bytes>>>` (hyper-util's client, a `tower::service_fn`).
//!
//! Both adapters run the authorizer's one loop ([`Authorizer::call`]) around the requests of
//! your stack: the user is the [`User`] request extension (none: `AdapterError::NoUser`,
//! nothing sent), the token goes in `Authorization: Bearer` (a DPoP-bound one as
//! `Authorization: DPoP` with a fresh proof per attempt), and a 401 or 403 is handled as
//! [`Authorizer::send`] handles it, the request body kept for the resend up to the client's
//! [`ClientBuilder::resource_body_bytes`]. The flows still run on the authorizer's own
//! [`Client`]. Examples: `cargo run -p xaa-reqwest --example middleware-reqwest --features
//! middleware` and `--example tower-reqwest --features tower`, both against the testkit.
//!
//! * `dpop`: sender-constrained tokens (RFC 9449): `xaa::dpop` with its ES256 key, for
//!   `AuthorizerConfig::dpop`. Every MCP request with a bound token, from
//!   [`Authorizer::send`], [`Authorizer::call`] through `xaa::driver::set_authorization`, or an
//!   adapter, carries `Authorization: DPoP` and a fresh proof; a bound token is never sent as a
//!   bearer token. A nonce demand gets one resend with the server's nonce; a refused proof or a
//!   second demand is final ([`xaa::Error::Dpop`]). The README shows the set-up.
//!
//! # Example
//!
//! ```no_run
//! use xaa_reqwest::{
//!     AuthorizationServer, Authorizer, AuthorizerConfig, ClientCredentials, IdToken,
//!     IdentityProvider, SubjectToken, User,
//! };
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
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
//! let response = mcp.send(request).await?; // Authorization: Bearer attached, 401/403 handled
//! # let _ = response;
//! # Ok(())
//! # }
//! ```
//!
//! # How requests are sent
//!
//! Following the core's run loop (the [`xaa`] crate docs):
//!
//! * **No redirects**: `redirect::Policy::none()`, so a 3xx comes back as a response and the
//!   core refuses it (decisions.md D4): credentials never follow a redirect.
//! * **Every status is a response**: OAuth error bodies reach the core, which turns them into
//!   typed errors.
//! * **Timeouts**: a total one per request (30 s, [`ClientBuilder::timeout`]) and a connect one
//!   (10 s, [`ClientBuilder::connect_timeout`]), each at most [`MAX_TIMEOUT`].
//! * **A body cap**: [`xaa::Policy::max_body_bytes`] for flows, read chunk by chunk; a larger
//!   body is [`Error::BodyTooLarge`], never a truncated body passed on.
//! * **TLS** (feature `rustls`, on by default) through rustls with **aws-lc-rs**, the one crypto
//!   backend of the workspace. reqwest's `rustls-no-provider` feature is used, and the client
//!   gets a whole `rustls::ClientConfig` built with `builder_with_provider(aws_lc_rs)`
//!   (`tls_backend_preconfigured`), so reqwest never looks for rustls's process-wide default
//!   and this crate never installs one. Roots: Mozilla's (`webpki-root-certs`) plus any added
//!   with `ClientBuilder::add_root_certificate`. HTTP/1.1 only. Without the feature the client
//!   speaks plain http only.
//! * **Proxies**: reqwest's default, kept: `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` with
//!   `NO_PROXY`, plus the macOS and Windows system settings with the `system-proxy` feature (on
//!   by default); see [`ProxySetting`] to turn it off or name one.
//! * **Address guard** (decisions.md D5), always installed: reqwest gets a resolver that
//!   refuses the addresses never connected to (link-local such as cloud metadata services,
//!   `0.0.0.0`, multicast, ...), and IP literals, which reqwest does not resolve, are checked
//!   before sending. [`ClientBuilder::deny_private_addresses`] refuses private and loopback
//!   addresses too unless the host is allowed, and [`ClientBuilder::address_guard`] sets any
//!   guard. [`ClientBuilder::resolve`] pins names to addresses, which the guard still judges.
//! * **Background refresh**: in a task of its own (`tokio::spawn` on the current runtime).
//! * **Clock**: the system clock (`SystemTime::now`, `Instant::now`) is read here, never in the
//!   core.
//!
//! Tokens, headers, bodies and URLs are never logged or printed in errors.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

#[cfg(any(feature = "middleware", feature = "tower"))]
mod adapter;
mod error;
mod guard;
#[cfg(feature = "middleware")]
pub mod middleware;
#[cfg(feature = "rustls")]
mod tls;
#[cfg(feature = "tower")]
pub mod tower;
mod transport;

pub use transport::{DEFAULT_CONNECT_TIMEOUT, ReqwestTransport};
pub use xaa::driver::prelude::*;
pub use xaa::driver::{DEFAULT_RESOURCE_BODY_BYTES, DEFAULT_TIMEOUT, MAX_TIMEOUT, ProxySetting};

/// The async HTTP client for OAuth flows: reqwest with no redirects, every status a response,
/// connect and total timeouts, a body cap, TLS through rustls with aws-lc-rs, and the address
/// guard. Needs a tokio runtime, as reqwest does.
pub type Client = xaa::driver::AsyncClient<ReqwestTransport>;

/// Builds a [`Client`]; every default is the production setting.
pub type ClientBuilder = xaa::driver::ClientBuilder<Client>;

/// Everything that can go wrong in this crate: the drivers' one error set.
pub type Error = xaa::driver::DriverError<ReqwestTransport>;

/// Why a middleware adapter ([`middleware`], [`tower`]) sent no request or returned no
/// response.
#[cfg(any(feature = "middleware", feature = "tower"))]
pub type AdapterError = xaa::driver::AdapterError<ReqwestTransport>;

/// Attaches valid tokens to MCP requests, on tokio; refreshes run in tasks of their own.
pub type Authorizer = xaa::driver::ClientAuthorizer<Client>;

/// An [`Authorizer`] acting for one user, from [`Authorizer::with_user`].
pub type UserAuthorizer = xaa::driver::UserAuthorizer<Client>;

/// The README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
