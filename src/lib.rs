//! Sans-IO MCP Enterprise-Managed Authorization (SEP-990, Cross-App Access, ID-JAG).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cache;
pub mod challenge;
mod config;
pub mod constants;
pub mod discovery;
mod drive;
mod enterprise;
mod error;
mod flow;
pub mod form;
pub mod grant;
#[cfg(feature = "jwt")]
pub mod jose;
pub mod jwt;
mod scope;
mod secret;
pub mod server;
mod wire;

pub use config::{
    AssertionAudience, AssertionSigner, ClientAssertionClaims, ClientAuth, ClientCredentials,
    JtiSource, Policy, PrivateKeyJwt, SignerError,
};
pub use drive::{DriveError, drive, drive_async, drive_async_with_limit, drive_with_limit};
pub use enterprise::{
    Authorization, AuthorizationServer, Discovery, EnterpriseAuth, EnterpriseConfig, GrantSource,
    IdentityProvider, IdpEndpoint, SamlMode, Start, Trust,
};
pub use error::{Attempt, Error, ErrorCode, OAuthError, Unsupported, Violation};
pub use flow::{Flow, HttpRequest, HttpResponse, Output, Purpose, Transmit, TransmitId};
pub use scope::Scope;
pub use secret::{
    AccessToken, Assertion, ClientSecret, IdJag, IdToken, RefreshToken, SamlAssertion,
    constant_time_eq,
};
