//! Blocking driver for [`xaa`] (MCP Enterprise-Managed Authorization, ID-JAG) on ureq 3.
//!
//! The core is sans-IO: its flows say which requests to send and judge the responses. This
//! crate sends them, and does nothing else: no protocol logic lives here.
//!
//! * [`Client`]: a ureq agent configured for OAuth ([`Client::run`] drives any [`xaa::Flow`]
//!   with [`xaa::drive`] and the system clock).
//! * [`BlockingAuthorizer`]: the core's [`xaa::authorizer::Authorizer`] over a [`Client`]:
//!   [`token`](BlockingAuthorizer::token) and [`send`](BlockingAuthorizer::send) for any
//!   user, or [`with_user`](BlockingAuthorizer::with_user) for the single-user case.
//!
//! # Example
//!
//! ```no_run
//! use xaa::authorizer::{AuthorizerConfig, User};
//! use xaa::grant::SubjectToken;
//! use xaa::{AuthorizationServer, ClientCredentials, IdToken, IdentityProvider};
//! use xaa_ureq::{BlockingAuthorizer, Client};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = AuthorizerConfig::new(
//!     "https://mcp.example.com/mcp",
//!     IdentityProvider::issuer("https://idp.example.com", ClientCredentials::public("idp-client")),
//!     AuthorizationServer::discovered(ClientCredentials::public("mcp-client")),
//! );
//! let user = User::from_id_token(SubjectToken::IdToken(IdToken::new("eyJ...")))?;
//! let mcp = BlockingAuthorizer::new(config, Client::new()?).with_user(user);
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
//!   included: addresses never connected to (link-local such as cloud metadata services,
//!   `0.0.0.0`, multicast, ...) are always refused; [`ClientBuilder::deny_private_addresses`]
//!   refuses private and loopback ones too unless the host is allowed, and
//!   [`ClientBuilder::address_guard`] sets any guard. [`ClientBuilder::resolve`] pins names to
//!   addresses, which the guard still judges.
//! * **Clock**: the system clock (`SystemTime::now`) is read here, never in the core.
//!
//! Tokens, headers and bodies are never logged or printed in errors.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod authorizer;
mod client;
mod error;
mod guard;
mod tls;

pub use authorizer::{BlockingAuthorizer, UserAuthorizer};
pub use client::{
    Client, ClientBuilder, DEFAULT_RESOURCE_BODY_BYTES, DEFAULT_TIMEOUT, MAX_TIMEOUT, ProxySetting,
};
pub use error::Error;
