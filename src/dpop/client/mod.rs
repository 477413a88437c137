//! The client's side of sender-constrained tokens (RFC 9449; ID-JAG draft section 9.8): the
//! key and policy ([`DpopBinding`], [`DpopPolicy`]), proofs on token requests with the one
//! nonce retry, the binding checks of what comes back, and proofs on requests to the MCP
//! server.

mod binding;
mod nonces;
mod policy;
mod resource;
mod token_endpoint;

pub use binding::DpopBinding;
pub(crate) use binding::IdJagConfirmation;
pub use policy::DpopPolicy;
pub use resource::{ResourceAnswer, ResourceHeaders};
pub(crate) use token_endpoint::TokenAnswer;
