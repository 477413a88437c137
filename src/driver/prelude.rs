//! The names an application using a driver needs besides the driver's own types, re-exported
//! at each driver's root with the driver kit's client options (`pub use xaa::driver::prelude::*`), so the common case takes one
//! import path: `use xaa_ureq::{Authorizer, AuthorizerConfig, User, ...}`.

pub use crate::authorizer::{AssertionSource, AuthorizerConfig, SubjectTokenSource, User};
pub use crate::grant::SubjectToken;
pub use crate::{
    AccessToken, AuthorizationServer, ClientCredentials, ClientSecret, HttpRequest, HttpResponse,
    IdToken, IdentityProvider, Policy, Scope,
};
