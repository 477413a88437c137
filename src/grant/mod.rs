//! The two token requests of the profile, each a [`Flow`](crate::Flow) usable alone: the token
//! exchange at the IdP (RFC 8693) and the jwt-bearer grant at the MCP authorization server
//! (RFC 7523), with client authentication (RFC 6749 section 2.3, RFC 7523 section 2.2).

mod client_auth;
mod exchange_request;
mod id_jag;
mod jwt_bearer;
mod response;
mod single;
mod token_exchange;

/// Kept at this path for the enterprise flow, which reads it from here.
pub(crate) use crate::json::unix_seconds;
#[cfg(feature = "signin")]
pub(crate) use client_auth::{Endpoint, TokenForm, authenticated_post};
pub use exchange_request::{SubjectToken, TokenExchangeRequest};
pub use jwt_bearer::{IssuedAccessToken, JwtBearerGrant, JwtBearerRequest};
pub use response::TokenResponse;
#[cfg(feature = "signin")]
pub(crate) use single::single_flow;
pub use token_exchange::{IssuedIdJag, SamlRefreshExchange, SamlRefreshRequest, TokenExchange};
