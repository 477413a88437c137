//! The scope a sign-in asks for: always `openid` (OpenID Connect Core 1.0 section 3.1.2.1),
//! and `offline_access` (section 11) only when the IdP lists it in `scopes_supported`.

use super::provider::SignInClient;
use crate::Scope;

/// The scope value that asks for a refresh token usable while the person is away
/// (OpenID Connect Core 1.0 section 11).
pub const OFFLINE_ACCESS: &str = "offline_access";

/// `openid` when `with_openid`, then `requested`, with `offline_access` added when `offline`
/// and kept only when the IdP lists it.
pub(crate) fn requested_scope(
    client: &SignInClient,
    requested: &Scope,
    offline: bool,
    with_openid: bool,
) -> Scope {
    let mut scope = if with_openid {
        Scope::parse("openid").union(requested)
    } else {
        requested.clone()
    };
    if offline {
        scope = scope.union(&Scope::parse(OFFLINE_ACCESS));
    }
    if !client.supports_scope(OFFLINE_ACCESS) {
        scope = scope.difference(&Scope::parse(OFFLINE_ACCESS));
    }
    scope
}
