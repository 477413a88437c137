//! Signing in at the enterprise IdP, keeping the session fresh, and signing out: the flows
//! that produce the ID token the enterprise flow exchanges (feature `signin`). The rules each
//! one enforces are listed, with their sections, in docs/signin.md.
//!
//! Everything here is sans-IO like the rest of the crate: no browser, no listener, no clock
//! (time is an argument), no randomness (a [`RandomSource`] is passed in) and no
//! cryptography (SHA-256 and the signature checks come from the caller, or from the `jwt`
//! feature: `SystemRandom`, `sha256`, `IdpKeys::new`).
//!
//! * [`SignInClient`]: the IdP's metadata and the client's registration, checked once
//!   (PKCE `S256` offered; no shared-key ID tokens for a public client).
//! * The authorization code flow with PKCE: [`AuthorizationRequest`] builds the URL to open
//!   and a [`PendingSignIn`] to keep; [`PendingSignIn::accept`] checks the redirect's query
//!   (`state`, `iss`, errors) and yields the code; [`CodeExchange`] trades it for tokens.
//! * The device authorization grant: [`DeviceSignIn`], with [`DeviceSignIn::next_poll_at`].
//! * Renewal and sign-out: [`Refresh`] (rotation, `invalid_grant` ends the session) and
//!   [`Revocation`].
//! * ID token validation, in every flow that receives one: the signature against the IdP's
//!   [`IdpKeys`] (fetched from `jwks_uri`, refetched once for an unknown `kid`) under an
//!   explicit algorithm allow-list, then [`check_id_token_claims`].
//!
//! Asking for a refresh token: set [`SignInOptions::offline_access`]; `offline_access` is sent
//! only when the IdP lists it in `scopes_supported` (OpenID Connect Core 1.0 section 11), and
//! [`PendingSignIn::scope`] says what was sent.

mod authorization_request;
mod authorization_response;
mod code_exchange;
mod device;
mod device_authorization;
mod engine;
mod id_token_check;
mod id_token_claims;
mod idp_endpoint;
mod keys;
mod loopback;
mod pkce;
mod provider;
mod random;
mod refresh;
mod revocation;
mod scope;
mod secrets;
mod session;
mod session_renewal;
mod sign_in_session;
#[cfg(feature = "jwt")]
mod system;
mod token_response;

pub use crate::id_token_error::IdTokenError;
pub use authorization_request::{AuthorizationRequest, PendingSignIn, SignInOptions};
pub use authorization_response::{
    AuthorizationError, AuthorizationErrorCode, AuthorizationResponse, CallbackError,
    MAX_CALLBACK_QUERY_BYTES,
};
pub use code_exchange::CodeExchange;
pub use device::{DEVICE_CODE_GRANT_TYPE, DeviceOutcome, DeviceSignIn, SLOW_DOWN_STEP};
pub use device_authorization::{
    DEFAULT_POLL_INTERVAL, DeviceAuthorization, MAX_POLL_INTERVAL, MAX_USER_CODE_CHARS,
    MAX_VERIFICATION_URI_BYTES,
};
pub use id_token_claims::{IdTokenClaims, IdTokenExpectations, check_id_token_claims};
pub use keys::{IdpKeys, JwksKeys, JwksReader};
pub use pkce::CODE_CHALLENGE_METHOD;
pub use provider::SignInClient;
pub use random::{RANDOM_VALUE_BYTES, RandomSource, RandomUnavailable};
pub use refresh::{Refresh, Renewal};
pub use revocation::Revocation;
pub use scope::OFFLINE_ACCESS;
pub use secrets::{AuthorizationCode, CodeVerifier, DeviceCode, Nonce, State};
pub use session::SignIn;
pub use session_renewal::{RenewalSink, SessionRenewal};
pub use sign_in_session::{RENEWAL_MARGIN, SignInSession};
#[cfg(feature = "jwt")]
pub use system::{JwksDocument, SystemRandom, sha256};
