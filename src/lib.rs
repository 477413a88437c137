//! Sans-IO MCP Enterprise-Managed Authorization (SEP-990, "Cross-App Access", the IETF
//! Identity Assertion JWT Authorization Grant, "ID-JAG").
//!
//! An MCP client inside a company trades the user's enterprise ID token for an ID-JAG at the
//! company's IdP (RFC 8693 token exchange), then trades the ID-JAG for an access token at the
//! MCP server's authorization server (RFC 7523 jwt-bearer grant), after discovering both
//! servers (RFC 9728, RFC 8414, OpenID Connect Discovery). No browser, no consent screen.
//!
//! The code's comments cite `protocol.md` (the rules enforced, each with its RFC section),
//! `decisions.md` (`Dn`: the readings where the specifications leave room) and `design:`
//! sections: the files of the repository's `docs/` folder.
//!
//! ```text
//! MCP client                 enterprise IdP          MCP authorization server        MCP server
//!   | POST /mcp (no token) ---------------------------------------------------------------> |
//!   | <------------------------------------------- 401 WWW-Authenticate: resource_metadata=..|
//!   | GET protected-resource metadata (RFC 9728) -----------------------------------------> |
//!   | GET AS metadata (RFC 8414 / OIDC) ---------------------> |
//!   | GET IdP metadata --------------> |   (in flight together with the requests above)
//!   | POST token exchange (RFC 8693) -> |  ID token -> ID-JAG
//!   | POST jwt-bearer grant (RFC 7523) ----------------------> |  ID-JAG -> access token
//!   | POST /mcp  Authorization: Bearer <access token> ------------------------------------> |
//! ```
//!
//! # In scope
//!
//! * The client flow as a pure state machine ([`EnterpriseAuth`]), and each step as a [`Flow`]
//!   usable alone: [`discovery::ResourceDiscovery`], [`discovery::AuthServerDiscovery`],
//!   [`grant::TokenExchange`], [`grant::JwtBearerGrant`], [`grant::SamlRefreshExchange`].
//! * Every check of the profile on what servers send: issuer and resource identity, https,
//!   private addresses, redirects, the ID-JAG's `typ`, `aud`, `client_id`, `resource`, `exp`
//!   and scope, OAuth errors as typed values ([`Error`]).
//! * Client authentication per server: none, `client_secret_basic`, `client_secret_post`,
//!   `private_key_jwt` through an [`AssertionSigner`] (the core has no cryptography).
//! * A pure [`cache::TokenCache`] and run loops over any HTTP client ([`drive`],
//!   [`drive_async`]).
//!
//! # Features
//!
//! The default build is the client alone. Off by default:
//!
//! * `jose`: keys, JWS signing and verification and key sets (`xaa::jose`), the layer both
//!   sides share, without cryptography;
//! * `jwt`: real keys in `xaa::jose` (ES256, RS256, ..., JWKS, `private_key_jwt` assertions),
//!   over `jsonwebtoken` and `aws-lc-rs`; implies `jose`;
//! * `driver`: what every driver shares (`xaa::driver`): client options, the error set and
//!   the authorizer's loop over any blocking or async HTTP client; the drivers turn it on;
//! * `server`: the other side (`xaa::server`), minting and validating ID-JAGs; implies `jose`;
//! * `dpop`: DPoP proofs (RFC 9449, `xaa::dpop`): building and signing them through a
//!   crypto-free signer, JWK thumbprints (RFC 7638); with `jwt` an ES256 proof key, with
//!   `server` the checks of a received proof (`xaa::server::DpopValidator`); implies `jose`.
//! * `signin`: signing in at the enterprise IdP (`xaa::signin`): the authorization code flow
//!   with PKCE, the device authorization grant, ID token validation, refresh and revocation;
//!   with `jwt`, real keys, randomness and SHA-256 for them; implies `jose`.
//!
//! # Out of scope
//!
//! * I/O of any kind: no sockets, no TLS, no clock reads, no randomness, no async runtime. The
//!   drivers `xaa-ureq` and `xaa-reqwest` (or your own closure) do the sending.
//! * The browser and redirect listener of the interactive SSO login (the `signin` feature holds
//!   its sans-IO flows), Client ID Metadata Documents.
//!   DPoP-bound tokens are not requested or honoured yet: the `dpop` feature is the proof
//!   layer they will be built on.
//!
//! # The run loop
//!
//! [`drive`] and [`drive_async`] implement it; a caller with its own executor or HTTP stack
//! follows the same steps:
//!
//! 1. Build the flow (`EnterpriseAuth::new(config, start)`); configuration errors surface here.
//! 2. Call [`Flow::poll_output`] with the current time until it returns [`Output::Wait`] or
//!    [`Output::Done`]. Each [`Output::Transmit`] is a request to send; several may be returned
//!    before any answer is needed, and they may be in flight together.
//! 3. Send each request as given: do not follow redirects, cap the body at
//!    [`Policy::max_body_bytes`], treat every HTTP status as a response.
//! 4. Hand each response back with [`Flow::handle_response`]`(now, id, response)`, in any order.
//! 5. After every response, go back to step 2.
//! 6. [`Output::Done`] carries the result; an `Err` at any point ends the flow. Calling the flow
//!    after either is [`Error::Misuse`].
//!
//! # Example
//!
//! A whole flow through [`drive`], with a closure standing in for the network:
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use xaa::grant::SubjectToken;
//! use xaa::*;
//!
//! # let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
//! # let secs = 1_800_000_000u64;
//! # let jwt = |h: serde_json::Value, c: serde_json::Value| format!("{}.{}.c2ln",
//! #     xaa::jwt::encode_segment(&h), xaa::jwt::encode_segment(&c));
//! # let id_token = jwt(serde_json::json!({"alg": "ES256"}), serde_json::json!({
//! #     "iss": "https://idp.example.com", "sub": "alice", "exp": secs + 600}));
//! # let id_jag = jwt(serde_json::json!({"alg": "ES256", "typ": "oauth-id-jag+jwt"}),
//! #     serde_json::json!({"aud": "https://as.example.com", "client_id": "mcp-client",
//! #     "resource": "https://mcp.example.com/mcp", "exp": secs + 300}));
//! let config = EnterpriseConfig::new(
//!     IdentityProvider::issuer("https://idp.example.com", ClientCredentials::public("idp-client")),
//!     SubjectToken::IdToken(IdToken::new(id_token)),
//!     AuthorizationServer::discovered(ClientCredentials::basic(
//!         "mcp-client",
//!         ClientSecret::new("secret"),
//!     )),
//! );
//! let flow = EnterpriseAuth::new(config, Start::ServerUrl("https://mcp.example.com/mcp".into()))?;
//!
//! let send = |request: HttpRequest| -> Result<HttpResponse, std::convert::Infallible> {
//!     let (status, header, body) = match request.uri().to_string().as_str() {
//!         "https://mcp.example.com/mcp" => (401, Some(
//!             r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp""#),
//!             String::new()),
//!         "https://mcp.example.com/.well-known/oauth-protected-resource/mcp" => (200, None,
//!             r#"{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://as.example.com"]}"#.into()),
//!         "https://as.example.com/.well-known/oauth-authorization-server" => (200, None,
//!             r#"{"issuer":"https://as.example.com","token_endpoint":"https://as.example.com/token"}"#.into()),
//!         "https://idp.example.com/.well-known/oauth-authorization-server" => (200, None,
//!             r#"{"issuer":"https://idp.example.com","token_endpoint":"https://idp.example.com/token"}"#.into()),
//!         "https://idp.example.com/token" => (200, None, format!(
//!             r#"{{"access_token":"{id_jag}","issued_token_type":"urn:ietf:params:oauth:token-type:id-jag","token_type":"N_A"}}"#)),
//!         "https://as.example.com/token" => (200, None,
//!             r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600}"#.into()),
//!         _ => (404, None, String::new()),
//!     };
//!     let mut response = http::Response::builder().status(status);
//!     if let Some(challenge) = header {
//!         response = response.header("www-authenticate", challenge);
//!     }
//!     Ok(response.body(body.into_bytes()).expect("valid response"))
//! };
//!
//! let authorization = drive(flow, || now, send)?;
//! assert_eq!(authorization.access_token.expose_secret(), "at-1");
//! assert_eq!(authorization.resource, "https://mcp.example.com/mcp");
//! // Reuse `authorization.discovery` next time: only the two POSTs run (`Start::Cached`).
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod address_class;
pub mod authorizer;
mod byte_class;
pub mod cache;
pub mod challenge;
mod config;
pub mod constants;
pub mod discovery;
mod display_safety;
#[cfg(feature = "dpop")]
pub mod dpop;
mod dpop_hook;
mod dpop_refusal;
mod drive;
#[cfg(feature = "driver")]
pub mod driver;
mod echo_guard;
mod enterprise;
mod error;
mod error_rule;
mod flow;
mod form;
pub mod grant;
#[cfg(feature = "signin")]
mod id_token_error;
#[cfg(feature = "jose")]
pub mod jose;
mod json;
#[cfg(any(feature = "jwt", feature = "server"))]
mod json_response;
pub mod jwt;
mod renewal_hook;
mod request_url;
mod scope;
mod secret;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "signin")]
pub mod signin;
mod wire;

pub use config::{
    AssertionAudience, AssertionSigner, ClientAssertionClaims, ClientAuth, ClientCredentials,
    JtiSource, Policy, PrivateKeyJwt, SignerError,
};
pub use display_safety::is_unsafe_for_display;
pub use dpop_refusal::DpopRefusal;
pub use drive::{DriveError, drive, drive_async, drive_async_with_limit, drive_with_limit};
pub use enterprise::{
    Authorization, AuthorizationServer, Discovery, EnterpriseAuth, EnterpriseConfig, GrantSource,
    IdentityProvider, IdpEndpoint, SamlMode, Start, Trust,
};
pub use error::{Attempt, Error, ErrorCode, OAuthError, Unsupported, Violation};
pub use flow::{Flow, HttpRequest, HttpResponse, Output, Purpose, Transmit, TransmitId};
pub use request_url::RequestUrl;
pub use scope::Scope;
#[cfg(any(feature = "server", feature = "signin"))]
pub(crate) use secret::constant_time_eq;
pub use secret::{
    AccessToken, Assertion, ClientSecret, IdJag, IdToken, RefreshToken, SamlAssertion,
};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
