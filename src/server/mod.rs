//! The other side, sans-IO: the IdP's token-exchange endpoint that mints ID-JAGs
//! ([`IdentityProviderEndpoint`]), the MCP authorization server's jwt-bearer endpoint that validates
//! them ([`AuthorizationServerEndpoint`]), metadata documents, and resource-server helpers
//! ([`resource`]). With the `dpop` feature, `DpopValidator` checks DPoP proofs (RFC 9449 section
//! 4.3) for either kind of server.
//!
//! Like the client flows, nothing here does I/O: a handler takes an
//! `http::Request<Vec<u8>>` and the current time, and returns an `http::Response<Vec<u8>>`
//! (`handle`), or the typed outcome (`process`): what was issued, or a [`Rejection`] whose
//! [`RejectReason`] names the exact rule that failed. Errors are rendered per RFC 6749
//! section 5.2 with `Cache-Control: no-store`.
//!
//! # The replay step
//!
//! Refusing a re-used `jti` needs a store, and a store shared by several replicas is I/O, so
//! the token endpoints do not call one (decisions.md D29). The authorization server's
//! [`begin`](AuthorizationServerEndpoint::begin) runs every other check and returns a
//! [`PendingGrant`] whose [`ReplayChecks`] list each use to register ([`TokenUse`]: the DPoP
//! proof's, the client assertion's, the ID-JAG's, in that order); the IdP's
//! [`begin`](IdentityProviderEndpoint::begin) returns a [`PendingExchange`] likewise, and with
//! the `dpop` feature the resource server's `DpopResourceGuard::begin` a `PendingAccess`. The host registers them
//! with its store, blocking ([`ReplayChecks::check_with`], [`ReplayChecks::check_in`]) or
//! async (a [`ReplayRun`] driven with `.await`), and hands the [`ReplayVerdict`]s to
//! [`finish`](AuthorizationServerEndpoint::finish), which issues the token or renders the
//! refusal. A store that cannot answer ([`ReplayError::Unavailable`]) refuses the request
//! (fail closed, `temporarily_unavailable`); verdicts that do not answer the uses one for one
//! are the host's fault (`server_error`). The crate `xaa-redis` performs the step against
//! Redis. `process` and `handle` run the step themselves against the server's synchronous
//! [`ReplayStore`] (an [`InMemoryReplayStore`] unless
//! [`with_replay_store`](AuthorizationServerEndpoint::with_replay_store) says otherwise):
//!
//! ```
//! # use std::time::SystemTime;
//! # use xaa::server::{AuthorizationServerEndpoint, InMemoryReplayStore};
//! fn serve(
//!     server: &AuthorizationServerEndpoint,
//!     store: &InMemoryReplayStore,
//!     request: &http::Request<Vec<u8>>,
//! ) -> http::Response<Vec<u8>> {
//!     let now = SystemTime::now();
//!     let pending = match server.begin(request, now) {
//!         Ok(pending) => pending,
//!         Err(rejection) => return rejection.to_response(),
//!     };
//!     let verdicts = pending.checks().check_in(store, now);
//!     server.finish_response(pending, &verdicts)
//! }
//! ```
//!
//! There is no cryptography in this module either. Signing and verifying go through the JOSE
//! layer ([`crate::jose`]): [`TokenSigner`](crate::jose::TokenSigner),
//! [`SignatureVerifier`](crate::jose::SignatureVerifier) and [`KeySet`](crate::jose::KeySet),
//! which the `jwt` feature implements with real keys. The JOSE layer builds headers and signing
//! inputs, enforces algorithm allow-lists and picks keys by `kid`, so a token never chooses how
//! it is verified. There is no
//! randomness: `jti` values come from a [`JtiSource`](crate::JtiSource), access and refresh
//! tokens from caller-supplied issuers. Keys are never fetched: an unknown `kid` is a typed
//! rejection ([`Rejection::unknown_key`], decisions.md D22).
//!
//! # A feature, not a crate
//!
//! This module is compiled only with the `server` feature, so a client's build neither
//! compiles nor documents it. It stays in this crate rather than its own because it is the
//! client's mirror image and must apply the very same readings: the strict JSON layer
//! (duplicate members, NumericDates, the string rules), form encoding and Basic credentials
//! (RFC 6749 appendix B), error sanitizing, the secret types and the protocol constants. In a
//! crate of its own it would need those made public, which is the surface this feature keeps
//! out of the client's API, or copied, and two copies of a security check drift apart. One
//! crate also keeps one version for both sides of the protocol, and lets the fuzz properties
//! drive the client against the server.
//!
//! ```
//! use std::sync::Arc;
//! use xaa::jose::KeyRing;
//! use xaa::server::{
//!     AccessTokenGrant, AuthorizationServerEndpoint, AuthorizationServerConfig, ClientRegistry, IssueError,
//!     MintedAccessToken, RegisteredClient, ServedResource, TrustedIssuer,
//! };
//!
//! let config = AuthorizationServerConfig::new("https://as.example", "https://as.example/token")
//!     .with_resource(ServedResource::new("https://mcp.example/mcp"));
//! let clients = ClientRegistry::new().with(RegisteredClient::client_secret_basic(
//!     "client-1",
//!     xaa::ClientSecret::new("s3cret"),
//! ));
//! let issue = |grant: &AccessTokenGrant, _now| -> Result<MintedAccessToken, IssueError> {
//!     Ok(MintedAccessToken::new(xaa::AccessToken::new(format!("at-{}", grant.id_jag_jti)), 3600))
//! };
//! let idp_keys = Arc::new(KeyRing::new()); // filled from the IdP's JWKS by the host
//! let server = AuthorizationServerEndpoint::new(config, clients, Arc::new(issue))
//!     .trust(TrustedIssuer::new("https://idp.example", idp_keys));
//! # let _ = server;
//! ```

mod authorization_header;
mod authorization_server;
mod claims;
mod client_auth;
mod clients;
#[cfg(feature = "dpop")]
mod dpop_binding;
#[cfg(feature = "dpop")]
mod dpop_error;
#[cfg(feature = "dpop")]
mod dpop_nonce;
#[cfg(feature = "dpop")]
mod dpop_token_request;
#[cfg(feature = "dpop")]
mod dpop_validator;
mod exchange_outcome;
mod exchange_policy;
mod id_jag;
mod idp;
mod issuers;
mod metadata;
#[cfg(feature = "dpop")]
mod pending_access;
mod pending_exchange;
mod rejection;
mod replay;
mod replay_step;
mod request;
pub mod resource;
#[cfg(feature = "dpop")]
mod resource_dpop;
mod response;
mod subject;
mod token_fault;
mod verdict_fault;

pub use authorization_server::{
    AccessTokenGranted, AuthorizationServerConfig, AuthorizationServerEndpoint, PendingGrant,
};
pub use claims::TimeRules;
pub use clients::{
    AuthenticatedClient, ClientAuthMethod, ClientCredential, ClientRegistry, RegisteredClient,
};
#[cfg(feature = "dpop")]
pub use dpop_error::DpopError;
#[cfg(feature = "dpop")]
pub use dpop_nonce::DpopNonces;
#[cfg(feature = "dpop")]
pub use dpop_validator::{DpopValidator, ProofExpectations, ValidatedProof};
pub use exchange_outcome::{ExchangeOutcome, MintedIdJag};
pub use exchange_policy::{
    ApprovedTarget, ExchangeDecision, ExchangePolicy, ExchangeRequest, PolicyRefusal,
    StaticExchangePolicy,
};
pub use id_jag::{ServedResource, TrustedIssuer};
pub use idp::{IdentityProviderConfig, IdentityProviderEndpoint};
pub use issuers::{
    AccessTokenGrant, AccessTokenIssuer, IssueError, MintedAccessToken, MintedRefreshToken,
    RefreshTokenGrant, RefreshTokenIssuer,
};
pub use metadata::AuthorizationServerMetadataDocument;
pub use pending_exchange::PendingExchange;
pub use rejection::{ClientAuthFault, RejectReason, Rejection, ScopeFault};
pub use replay::{InMemoryReplayStore, ReplayError, ReplayMode, ReplayStore, TokenKind, TokenUse};
pub use replay_step::{ReplayChecks, ReplayRun, ReplayVerdict};
pub use subject::{SubjectRefusal, SubjectTokenType, SubjectTokenVerifier, VerifiedSubject};
pub use token_fault::TokenFault;
pub use verdict_fault::VerdictFault;
