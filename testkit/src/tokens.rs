//! The authorization server's access tokens: opaque random strings, remembered with what they
//! grant, shared in memory with the MCP server that checks them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use xaa::jose::random_jti;
use xaa::server::{AccessTokenGrant, AccessTokenIssuer, IssueError, MintedAccessToken};
use xaa::{AccessToken, Scope};

/// What an access token grants, as the kit remembers it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessTokenInfo {
    /// The user (the ID-JAG's `sub`).
    pub subject: String,
    /// The client it was issued to (its id at the authorization server).
    pub client_id: String,
    /// The IdP that vouched for the user (the ID-JAG's `iss`).
    pub idp_issuer: String,
    /// The resource it is restricted to.
    pub resource: String,
    /// The granted scope.
    pub scope: Scope,
    /// When it expires.
    pub expires_at: SystemTime,
    /// Whether it was revoked.
    pub revoked: bool,
    /// The thumbprint of the DPoP key it is bound to (its `cnf.jkt`, RFC 9449 section 6);
    /// `None` for a bearer token.
    pub dpop_jkt: Option<String>,
}

/// Why the MCP server refuses a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    Unknown,
    Expired,
    Revoked,
    OtherResource,
}

/// Tokens issued, by value.
#[derive(Debug, Default)]
pub(crate) struct AccessTokens {
    tokens: Mutex<HashMap<String, AccessTokenInfo>>,
}

/// Above this many remembered tokens, expired ones are forgotten on the next issue.
const PRUNE_ABOVE: usize = 10_000;

impl AccessTokens {
    /// Issues and remembers a token.
    pub(crate) fn issue(&self, info: AccessTokenInfo) -> AccessToken {
        let token = format!("at-{}", random_jti());
        let mut tokens = self.lock();
        if tokens.len() > PRUNE_ABOVE {
            let now = SystemTime::now();
            tokens.retain(|_, info| info.expires_at > now);
        }
        tokens.insert(token.clone(), info);
        AccessToken::new(token)
    }

    /// The token's grant, if it is usable at `now` for one of `resources`.
    pub(crate) fn check(
        &self,
        token: &str,
        resources: &[&str],
        now: SystemTime,
    ) -> Result<AccessTokenInfo, Refused> {
        let info = self.get(token).ok_or(Refused::Unknown)?;
        if info.revoked {
            Err(Refused::Revoked)
        } else if now >= info.expires_at {
            Err(Refused::Expired)
        } else if !resources.contains(&info.resource.as_str()) {
            Err(Refused::OtherResource)
        } else {
            Ok(info)
        }
    }

    pub(crate) fn get(&self, token: &str) -> Option<AccessTokenInfo> {
        self.lock().get(token).cloned()
    }

    /// Revokes one token; whether it was known.
    pub(crate) fn revoke(&self, token: &str) -> bool {
        self.lock()
            .get_mut(token)
            .map(|info| info.revoked = true)
            .is_some()
    }

    /// Binds a token to the DPoP key with thumbprint `jkt`.
    pub(crate) fn bind(&self, token: &str, jkt: &str) {
        if let Some(info) = self.lock().get_mut(token) {
            info.dpop_jkt = Some(jkt.to_owned());
        }
    }

    /// Forgets the key a token is bound to: it becomes a bearer token.
    pub(crate) fn unbind(&self, token: &str) {
        if let Some(info) = self.lock().get_mut(token) {
            info.dpop_jkt = None;
        }
    }

    /// Revokes every token issued so far.
    pub(crate) fn revoke_all(&self) {
        for info in self.lock().values_mut() {
            info.revoked = true;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, AccessTokenInfo>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The [`AccessTokenIssuer`] handed to the core's authorization server: the store and the
/// lifetime in force when it was built.
pub(crate) struct Issuer {
    pub(crate) store: Arc<AccessTokens>,
    pub(crate) lifetime: Duration,
}

impl AccessTokenIssuer for Issuer {
    fn issue(
        &self,
        grant: &AccessTokenGrant,
        now: SystemTime,
    ) -> Result<MintedAccessToken, IssueError> {
        let expires_in = self.lifetime.as_secs().max(1);
        let token = self.store.issue(AccessTokenInfo {
            subject: grant.subject.clone(),
            client_id: grant.client_id.clone(),
            idp_issuer: grant.issuer.clone(),
            resource: grant.resource.clone(),
            scope: grant.scope.clone(),
            expires_at: now + Duration::from_secs(expires_in),
            revoked: false,
            dpop_jkt: grant.dpop_jkt.clone(),
        });
        Ok(MintedAccessToken::new(token, expires_in))
    }
}
