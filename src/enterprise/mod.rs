//! The whole enterprise-managed authorization client flow.

mod checks;
mod config;
mod discovered;
mod discovering;
mod flow;
mod granting;
mod leg;
mod outcome;
mod routes;
mod same_endpoint;
mod start;
mod step;
mod subject;

pub use config::{
    AuthorizationServer, EnterpriseConfig, GrantSource, IdentityProvider, IdpEndpoint, SamlMode,
    Trust,
};
pub use flow::EnterpriseAuth;
pub use outcome::{Authorization, Discovery};
pub use start::Start;
