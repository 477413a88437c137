//! Renewing a session with its refresh token (RFC 6749 section 6, OpenID Connect Core 1.0
//! section 12) as a [`Flow`](crate::Flow) (docs/signin.md, "Refresh").

use std::time::SystemTime;

use super::engine::{GrantFlow, GrantStep, Verdict};
use super::id_token_check::IdTokenCheck;
use super::id_token_claims::IdTokenClaims;
use super::idp_endpoint::IdpEndpoint;
use super::keys::IdpKeys;
use super::provider::SignInClient;
use super::scope::requested_scope;
use super::token_response::{Tokens, granted_tokens};
use crate::grant::TokenForm;
use crate::json::saturating_add;
use crate::{AccessToken, Error, HttpResponse, IdToken, Purpose, RefreshToken, Scope};

/// A renewed session. Store [`refresh_token`](Self::refresh_token) in place of the one sent:
/// it is the new one when the IdP rotated it, the old one otherwise.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Renewal {
    /// A new ID token and its checked claims, when the IdP issued one (section 12.2).
    pub id_token: Option<(IdToken, IdTokenClaims)>,
    /// `access_token` and its `token_type`, when issued.
    pub access_token: Option<(AccessToken, String)>,
    /// The refresh token to keep from now on.
    pub refresh_token: RefreshToken,
    /// Whether the IdP rotated the refresh token (RFC 9700 section 4.14.2): the old one is
    /// then void.
    pub rotated: bool,
    /// When the access token expires, from `expires_in`.
    pub access_token_expires_at: Option<SystemTime>,
    /// The scope granted, when the IdP said.
    pub scope: Option<Scope>,
}

/// `Debug` shows the endpoint and the scope; the refresh token prints `[redacted]`.
#[derive(Debug)]
struct RefreshStep {
    endpoint: IdpEndpoint,
    refresh_token: RefreshToken,
    scope: Option<Scope>,
}

/// The refresh as a [`Flow`](crate::Flow): one POST to the token endpoint, and the GET of the
/// IdP's key set when a new ID token names a `kid` not known yet. `invalid_grant` ends the
/// session: [`Error::ReauthenticationRequired`], sign in again.
#[derive(Debug)]
pub struct Refresh(GrantFlow<RefreshStep>);
crate::grant::single_flow!(Refresh, Renewal);

impl Refresh {
    /// Renews the session whose first ID token had `previous` claims. `scope`, when given, is
    /// sent (it must not exceed what was granted, RFC 6749 section 6), with `offline_access`
    /// kept only when the IdP lists it; without it the IdP renews the scope granted.
    pub fn new(
        client: &SignInClient,
        keys: IdpKeys,
        refresh_token: RefreshToken,
        previous: IdTokenClaims,
        scope: Option<&Scope>,
    ) -> Result<Self, Error> {
        let endpoint = IdpEndpoint::token(client, Purpose::Refresh)?;
        let expected = client.id_token_expectations().renewing(previous);
        let check = IdTokenCheck::new(client, keys, expected)?;
        let step = RefreshStep {
            endpoint,
            refresh_token,
            scope: scope.map(|scope| requested_scope(client, scope, false, false)),
        };
        Ok(Self(GrantFlow::new(step, Some(check))))
    }
}

impl GrantStep for RefreshStep {
    type Output = Renewal;

    fn endpoint(&self) -> &IdpEndpoint {
        &self.endpoint
    }

    fn form(&self) -> TokenForm<'_> {
        let mut form = TokenForm::default();
        form.push("grant_type", "refresh_token");
        form.push("refresh_token", self.refresh_token.expose_secret());
        if let Some(scope) = self.scope.as_ref().filter(|scope| !scope.is_empty()) {
            form.push("scope", scope.to_string());
        }
        form
    }

    fn judge(
        &mut self,
        _now: SystemTime,
        response: HttpResponse,
    ) -> Result<Verdict<Renewal>, Error> {
        granted_tokens(&self.endpoint, &response, false).map(Verdict::Tokens)
    }

    fn finish(
        &mut self,
        now: SystemTime,
        tokens: Tokens,
        claims: Option<IdTokenClaims>,
    ) -> Result<Renewal, Error> {
        let rotated = tokens
            .refresh_token
            .as_ref()
            .is_some_and(|new| *new != self.refresh_token);
        Ok(Renewal {
            id_token: tokens.id_token.zip(claims),
            access_token: tokens.access_token,
            refresh_token: tokens
                .refresh_token
                .unwrap_or_else(|| self.refresh_token.clone()),
            rotated,
            access_token_expires_at: tokens
                .expires_in
                .map(|lifetime| saturating_add(now, lifetime)),
            scope: tokens.scope,
        })
    }
}
