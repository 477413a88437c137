//! Property checks behind the fuzz targets (`fuzz/fuzz_targets/*.rs`) and the corpus replay
//! (`tests/corpus.rs`): test code of the workspace, never published, not an API, no stability
//! promise.
//!
//! Each target is one `pub fn <target>(data: &[u8])` that never returns an error: it decodes
//! the bytes (every byte string is a valid input; an exhausted input reads as zeros, the
//! default well-formed choice), runs the code under test, and asserts properties, so a
//! violation is a panic the fuzzer reports. The fuzz targets are three-line wrappers.
//!
//! The checks use the core through its public API only (with the `jwt`, `server` and `dpop`
//! features), so the published crate carries none of this. What the core keeps private is
//! observed through what it does: the token requests run alone through an `EnterpriseAuth`
//! started from a cached discovery (`grants`), the client's one-pass reading of an ID-JAG
//! through the verdicts of its checks (`id_jag_reading`). The oracles are written here apart
//! from the core, from the specifications: form bodies and Basic credentials (`form`),
//! metadata URLs (`well_known`), objects with unique members (`unique_object`), OAuth error
//! bodies (`oauth_reading`), how errors show server text (`shown`), the shape of a JWT
//! (`jwt_shape`) and the ID-JAG checks (`id_jag_oracle`).
//!
//! | target | under test | properties |
//! |---|---|---|
//! | `www_authenticate` | `challenge::parse`, `parse_all`, `bearer_challenges` | limits, render/parse round trip, Bearer round trip, error positions |
//! | `protected_resource_metadata` | `ProtectedResourceMetadata::from_json` | agreement with serde_json, non-empty `authorization_servers`, round trip |
//! | `authorization_server_metadata` | `AuthorizationServerMetadata::from_json` | agreement, round trip, decisions.md D3 support checks |
//! | `token_exchange_response` | the token exchange | protocol.md 6 rule 5 on what is accepted, D17 |
//! | `token_response` | `grant::TokenResponse`, the jwt-bearer grant | agreement, Bearer, scope within the request, expiry |
//! | `oauth_error` | OAuth error bodies on both token endpoints | exact typed error, sanitized text |
//! | `jwt_peek` | `jwt::peek`, the client's one-pass reading of an ID-JAG | shape, agreement with serde_json, re-encoding, claim accessors, decisions.md D10 |
//! | `client_flow` | `EnterpriseAuth` against scripted servers | termination, hosts, secret routing, protocol.md 6 on success |
//! | `authorizer` | `authorizer::Authorizer` | single flight, D18 retries and step-ups, no exchange storm, D19 isolation |
//! | `server_token_exchange` | `server::IdentityProviderEndpoint` | request shape, client authentication, no forged subject, minted ID-JAG |
//! | `server_jwt_bearer` | `server::AuthorizationServerEndpoint` | request shape, client authentication, no forgery, claims, replay |
//! | `dpop_proof` | `server::DpopValidator` (RFC 9449 section 4.3) | no panic, refusals name their rule and use nothing up, no proof accepted for a key that did not sign it, replay |
//! | `signin_callback` | `signin::PendingSignIn::accept` (RFC 6749 section 4.1.2, RFC 9207) | exact agreement with an oracle: size, repeats, code or error, state, iss; sanitized refusals |
//! | `device_authorization` | `signin::DeviceAuthorization::from_json` (RFC 8628 section 3.2) | agreement with serde_json, displayable user code and URIs, https, interval bounds, redacted device code |
//! | `id_token_claims` | `signin::check_id_token_claims` (OpenID Connect Core 1.0 section 3.1.3.7) | every accepted token meets every rule, renewal (section 12.2), refusals name their section |
//! | `dpop_nonce` | the client's DPoP nonces (RFC 9449 sections 8 and 9) | one retry at most, with exactly the demanded nonce; loop and missing nonce typed; a resource retry only for a usable nonce, carried by the next proof |
//!
//! # Bugs found
//!
//! The targets found three core bugs, now fixed; their inputs stay in the corpus as
//! `regression-kb*` with named tests in `tests/corpus.rs`:
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
        if $crate::tracing() {
            eprintln!($($arg)*);
        }
    };
}
pub(crate) use trace;

mod authorizer;
mod cached;
mod challenges;
mod checks;
mod client_flow;
mod device_answer;
mod dpop_nonce;
mod dpop_proof;
mod form;
mod grants;
mod id_jag_oracle;
mod id_jag_reading;
mod id_token_claims;
mod input;
mod jwt_peek;
mod jwt_shape;
mod metadata;
mod oauth_error;
mod oauth_reading;
mod server;
mod shown;
mod signin_callback;
mod token_answers;
mod unique_object;
mod well_known;
mod world;

pub use authorizer::authorizer;
pub use challenges::www_authenticate;
pub use client_flow::client_flow;
pub use device_answer::device_authorization;
pub use dpop_nonce::dpop_nonce;
pub use dpop_proof::dpop_proof;
pub use id_token_claims::id_token_claims;
pub use jwt_peek::jwt_peek;
pub use metadata::{authorization_server_metadata, protected_resource_metadata};
pub use oauth_error::oauth_error;
pub use server::{server_jwt_bearer, server_token_exchange};
pub use signin_callback::signin_callback;
pub use token_answers::{token_exchange_response, token_response};
