//! The whole enterprise-managed authorization client flow.

mod config;
mod flow;
mod outcome;
mod same_endpoint;

pub use config::{
    AuthorizationServer, EnterpriseConfig, GrantSource, IdentityProvider, IdpEndpoint, SamlMode,
    Trust,
};
pub use flow::{EnterpriseAuth, Start};
pub use outcome::{Authorization, Discovery};
