//! The whole enterprise-managed authorization client flow.

mod config;
mod flow;
mod outcome;
mod routes;
mod same_endpoint;
mod start;
mod step;

pub use config::{
    AuthorizationServer, EnterpriseConfig, GrantSource, IdentityProvider, IdpEndpoint, SamlMode,
    Trust,
};
pub use flow::EnterpriseAuth;
pub use outcome::{Authorization, Discovery};
pub use start::Start;
