//! Sans-IO MCP Enterprise-Managed Authorization (SEP-990, Cross-App Access, ID-JAG).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cache;
pub mod challenge;
mod config;
pub mod constants;
mod drive;
mod error;
mod flow;
pub mod form;
#[cfg(feature = "jwt")]
pub mod jose;
pub mod jwt;
mod scope;
mod secret;
pub mod server;

pub use config::{
    AssertionAudience, AssertionSigner, ClientAssertionClaims, ClientAuth, ClientCredentials,
    JtiSource, Policy, PrivateKeyJwt, SignerError,
};
pub use error::{Attempt, Error, ErrorCode, OAuthError, Unsupported, Violation};
pub use flow::{Flow, HttpRequest, HttpResponse, Output, Purpose, Transmit, TransmitId};
pub use scope::Scope;
pub use secret::{
    AccessToken, Assertion, ClientSecret, IdJag, IdToken, RefreshToken, SamlAssertion,
    constant_time_eq,
};
