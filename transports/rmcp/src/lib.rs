//! MCP Enterprise-Managed Authorization ([`xaa`], ID-JAG) for [`rmcp`]'s Streamable HTTP
//! client transport: every request the transport sends carries a valid token.
//!
//! * [`AuthorizedHttpClient`] implements rmcp's
//!   [`StreamableHttpClient`](rmcp::transport::streamable_http_client::StreamableHttpClient):
//!   it asks the xaa authorizer for the user's token, lets the wrapped client (rmcp's own
//!   reqwest implementation by default) send the request with `Authorization: Bearer`, and
//!   follows the core's verdict on a 401 or 403.
//! * [`transport`] builds the whole stack for one user in one call.
//! * [`client_config`] / [`declare_extension`] declare
//!   `io.modelcontextprotocol/enterprise-managed-authorization` in the client capabilities.
//!
//! # Example
//!
//! ```no_run
//! use rmcp::ServiceExt;
//! use rmcp::model::CallToolRequestParams;
//! use xaa::authorizer::{AuthorizerConfig, User};
//! use xaa::grant::SubjectToken;
//! use xaa::{AuthorizationServer, ClientCredentials, ClientSecret, IdToken, IdentityProvider};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let config = AuthorizerConfig::new(
//!     "https://mcp.example.com/mcp",
//!     IdentityProvider::issuer("https://idp.example.com", ClientCredentials::public("idp-client")),
//!     AuthorizationServer::discovered(ClientCredentials::basic(
//!         "mcp-client",
//!         ClientSecret::new("secret"),
//!     )),
//! );
//! let user = User::from_id_token(SubjectToken::IdToken(IdToken::new("eyJ...")))?;
//! let mcp = xaa_rmcp::client_config()
//!     .serve(xaa_rmcp::transport(config, user)?)
//!     .await?;
//! let tools = mcp.list_all_tools().await?;
//! let echo = mcp
//!     .call_tool(CallToolRequestParams::new("echo").with_arguments(
//!         [("message".to_owned(), "hello".into())].into_iter().collect(),
//!     ))
//!     .await?;
//! # let _ = (tools, echo);
//! mcp.cancel().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Design
//!
//! The MCP traffic goes through rmcp's own reqwest implementation of the trait, wrapped: it
//! already handles everything Streamable HTTP needs (SSE responses read as streams, the GET
//! stream, resumption with `Last-Event-ID`, sessions and their re-initialization, body
//! limits), and reports a 401 or 403 with the server's `WWW-Authenticate` field as typed
//! errors, which are exactly what the core's
//! [`Authorizer::on_response`](xaa::authorizer::Authorizer::on_response) reads. The token
//! flows go through [`xaa_reqwest`], whose [`Authorizer`](xaa_reqwest::Authorizer) runs the
//! core's decisions (cache, single-flight, refresh ahead of expiry, one re-exchange per token
//! after a 401, scope step-up after a 403 `insufficient_scope`). `xaa-reqwest`'s own
//! `send` is not used for MCP requests: it reads whole bodies, which an SSE stream is not;
//! its loop is, through [`Authorizer::call`](xaa_reqwest::Authorizer::call), with rmcp's
//! answers judged as the core reads them.
//!
//! Two reqwest clients result, both with TLS through rustls and aws-lc-rs only: the one of
//! [`xaa_reqwest::Client`] for the IdP and authorization server (capped bodies, total
//! timeouts), and the one of [`http_client`] for the MCP server (no total timeout, since a
//! response may stream for the whole session). Neither follows redirects.
//!
//! Tokens are never logged: the `tracing` events of this crate carry statuses only.
//!
//! # DPoP
//!
//! With the `dpop` feature and `AuthorizerConfig::dpop`,
//! tokens are bound to the client's key (RFC 9449), and [`AuthorizedHttpClient`] sends a bound
//! token only with a proof, through the seams rmcp 3.11 offers:
//!
//! * **Never rmcp's bearer path.** rmcp's `StreamableHttpClient` takes the token as
//!   `auth_token`, which its reqwest client sends as `Authorization: Bearer`. For a bound token
//!   that argument is `None`; `Authorization: DPoP <token>` and a fresh `DPoP` proof (RFC 9449
//!   section 7.1: `htm`, `htu` of the request's URI, `ath`, the server's nonce) go among the
//!   custom headers, which rmcp's reqwest client sends as they are (`Authorization` and `DPoP`
//!   are not among the names it reserves). Any `Authorization` or `DPoP` of the transport
//!   configuration's own custom headers is dropped. Each attempt gets a proof of its own.
//! * **`content_digest`** (when the binding sends it, `DpopBinding::with_content_digest`) is
//!   the SHA-256 of `serde_json::to_vec(&message)`: rmcp's reqwest client sends the message
//!   with `RequestBuilder::json`, which is exactly those bytes. A `GET` or `DELETE` has no
//!   body: the digest is of no bytes. Another wrapped client must send those same bytes for
//!   its proofs to hold.
//! * **The nonce.** rmcp reports a 401 with the value of its `WWW-Authenticate` field alone
//!   and drops every other header field of every answer, `DPoP-Nonce` included, and no hook of
//!   reqwest 0.13 sees a response's header fields. So when a `DPoP` challenge says
//!   `use_dpop_nonce`, the client learns the nonce with a probe: a JSON-RPC `ping` (harmless
//!   if a server took it) with the same token and a fresh proof, sent to the same URI through
//!   the authorizer's own [`xaa_reqwest::Client`]; its answer's `DPoP-Nonce` is read with the
//!   401 it stands for, and the request is resent once with it (RFC 9449 section 9). A second
//!   demand is [`xaa::DpopRefusal::NonceLoop`]. A nonce a server rotates on a successful
//!   answer is lost the same way: the next request then meets a demand and one probe. The
//!   probe is the one request this crate makes outside rmcp's client.
//! * **Refusals are typed**: an `invalid_dpop_proof`, a nonce loop, or a bound token the
//!   configured key cannot prove are [`Error::Authorization`] with [`xaa::Error::Dpop`], not
//!   rmcp's `AuthRequired`; nothing further is sent. [`dpop_refusal`] finds one in rmcp's
//!   `ServiceError` or `ClientInitializeError`.
//!
//! # Features
//!
//! * `rustls` (default): HTTPS through rustls with aws-lc-rs, for the token flows and the MCP
//!   traffic. Without it, plain http only (loopback tests).
//! * `system-proxy` (default): the operating system's proxy settings (macOS, Windows) besides
//!   the `*_PROXY` environment variables, for both clients.
//! * `dpop`: sender-constrained tokens (see [DPoP](#dpop)): `xaa::dpop` with its ES256 key.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod capabilities;
mod client;
mod credentials;
mod error;
mod http;
mod nonce;

pub use capabilities::{EXTENSION_ID, client_config, declare_extension};
pub use client::{AuthorizedHttpClient, transport};
pub use error::{Error, dpop_refusal};
#[cfg(feature = "rustls")]
pub use http::http_client_builder_with_roots;
pub use http::{CONNECT_TIMEOUT, http_client, http_client_builder};

/// The README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
