//! The authorizer: every MCP request carries a valid token (decisions.md D13, D16 to D21).
//!
//! The decisions are here, sans-IO; the flows are run and the requests sent by the loop of
//! `xaa::driver` (the `driver` feature), written once for blocking and async transports (`xaa-ureq`,
//! `xaa-reqwest`, a test's fakes). The loop for one MCP request:
//!
//! 1. [`Authorizer::acquire`] for the user. [`Acquired::Token`]: attach it.
//!    [`Acquired::TokenAndRefresh`]: attach it, and run the flight in the background.
//!    [`Acquired::Run`]: run the flight's flow ([`Flight::take_flow`] then [`crate::drive()`] or
//!    [`crate::drive_async`]) and [`Flight::land`] it; [`Landed::Retry`] means run again.
//!    [`Acquired::Wait`]: wait on the [`Waiter`]; [`Waited::Again`] means acquire again.
//! 2. Send the MCP request with the headers of [`Authorizer::request_authorization`]:
//!    `Authorization: Bearer <token>`, or for a DPoP-bound token `Authorization: DPoP` and a
//!    fresh proof (RFC 9449 section 7.1).
//! 3. [`Authorizer::dpop_verdict`] for a bound token (one resend after a nonce demand), then
//!    [`Authorizer::on_response`]: [`Verdict::Accept`] returns the response,
//!    [`Verdict::Retry`] goes back to step 1, [`Verdict::Fail`] returns the error.

mod config;
mod ledger;
mod principals;
mod request_authorization;
#[cfg(feature = "signin")]
mod sign_in_session;
mod slot;
mod state;

pub use config::{AssertionSource, AuthorizerConfig, AuthorizerGrant, SubjectTokenSource, User};
pub use ledger::AuthorizerStats;
#[cfg(feature = "driver")]
pub(crate) use request_authorization::bearer;
pub use request_authorization::{DpopVerdict, RequestAuthorization};
#[cfg(feature = "signin")]
pub use sign_in_session::{RENEWAL_MARGIN, SignInSession};
pub use state::{Acquired, Authorizer, Flight, Landed, Verdict, Waited, Waiter};
