//! Property checks behind the fuzz targets (`fuzz/fuzz_targets/*.rs`) and the corpus replay
//! (`tests/fuzz_corpus.rs`), compiled only with the `fuzzing` feature (which `fuzz/Cargo.toml`
//! and the crate's own tests enable): not an API, no stability promise.
//!
//! Each target is one `pub fn <target>(data: &[u8])` that never returns an error: it decodes
//! the bytes (every byte string is a valid input; an exhausted input reads as zeros, the
//! default well-formed choice), runs the code under test, and asserts properties, so a
//! violation is a panic the fuzzer reports. The fuzz targets are three-line wrappers, like
//! str0m's `_internal_test_exports` and rustls's `internal::fuzzing`; living in the crate, the
//! checks reach the internals the wrappers cannot.
//!
//! | target | under test | properties |
//! |---|---|---|
//! | `www_authenticate` | `challenge::parse`, `parse_all`, `bearer_challenges` | limits, render/parse round trip, Bearer round trip, error positions |
//! | `protected_resource_metadata` | `ProtectedResourceMetadata::from_json` | agreement with serde_json, non-empty `authorization_servers`, round trip |
//! | `authorization_server_metadata` | `AuthorizationServerMetadata::from_json` | agreement, round trip, decisions.md D3 support checks |
//! | `token_exchange_response` | `grant::TokenExchange` | protocol.md 6 rule 5 on what is accepted, D17 |
//! | `token_response` | `grant::TokenResponse`, `grant::JwtBearerGrant` | agreement, Bearer, scope within the request, expiry |
//! | `oauth_error` | OAuth error bodies on both token endpoints | exact typed error, sanitized text |
//! | `jwt_peek` | `jwt::shape`, `jwt::peek` | shape, re-encoding, claim accessors, decisions.md D10 |
//! | `client_flow` | `EnterpriseAuth` against scripted servers | termination, hosts, secret routing, protocol.md 6 on success |
//! | `authorizer` | `authorizer::Authorizer` | single flight, D18 retries and step-ups, no exchange storm, D19 isolation |
//! | `server_token_exchange` (feature `jwt`) | `server::IdentityProviderEndpoint` | request shape, client authentication, no forged subject, minted ID-JAG |
//! | `server_jwt_bearer` (feature `jwt`) | `server::AuthorizationServerEndpoint` | request shape, client authentication, no forgery, claims, replay |
//!
//! # Bugs found
//!
//! The targets found three core bugs, now fixed; their inputs stay in the corpus as
//! `regression-kb*` with named tests in `tests/fuzz_corpus.rs`:
//!
//! * KB1 (`authorizer`): a 401 handled while the authorizer had no cached discovery could not
//!   find the refused token, which stayed cached and was handed out again later.
//! * KB2 (`client_flow`): with a caller-supplied assertion started from `Start::Resubmit`, the
//!   result reported an ID-JAG that was never sent.
//! * KB3 (`client_flow`): an MCP server on a private IP literal was refused for its own
//!   address, although decisions.md D5 allows exactly that.

use std::sync::OnceLock;

/// Whether `XAA_FUZZ_TRACE` is set: the stateful targets then narrate each step on stderr,
/// which is how a crash input is read (`XAA_FUZZ_TRACE=1 cargo fuzz run <target> <crash>`).
pub(crate) fn tracing() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("XAA_FUZZ_TRACE").is_some())
}

/// `eprintln!` when `tracing` is on.
macro_rules! trace {
    ($($arg:tt)*) => {
        if $crate::fuzzing::tracing() {
            eprintln!($($arg)*);
        }
    };
}
pub(crate) use trace;

mod authorizer;
mod client_flow;
mod id_jag_oracle;
mod input;
mod parsers;
#[cfg(feature = "jwt")]
mod server;
mod world;

pub use authorizer::authorizer;
pub use client_flow::client_flow;
pub use parsers::{
    authorization_server_metadata, jwt_peek, oauth_error, protected_resource_metadata,
    token_exchange_response, token_response, www_authenticate,
};
#[cfg(feature = "jwt")]
pub use server::{server_jwt_bearer, server_token_exchange};
