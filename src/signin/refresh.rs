//! Renewing a session with its refresh token (RFC 6749 section 6, OpenID Connect Core 1.0
//! section 12) as a [`Flow`](crate::Flow) (docs/signin.md, "Refresh").

use std::fmt;
use std::time::SystemTime;

use url::Url;

use super::engine::{GrantFlow, GrantStep, Verdict};
use super::id_token_check::IdTokenCheck;
use super::id_token_claims::{IdTokenClaims, IdTokenExpectations};
use super::keys::IdpKeys;
use super::provider::SignInClient;
use super::scope::requested_scope;
use super::session::token_refusal;
use super::token_response::{Tokens, read_tokens};
use crate::grant::{Endpoint, TokenForm, authenticated_post};
use crate::json::saturating_add;
use crate::{
    AccessToken, ClientCredentials, Error, HttpRequest, HttpResponse, IdToken, Policy, Purpose,
    RefreshToken, Scope,
};

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

struct RefreshStep {
    endpoint: Url,
    issuer: String,
    credentials: ClientCredentials,
    policy: Policy,
    refresh_token: RefreshToken,
    scope: Option<Scope>,
}

impl fmt::Debug for RefreshStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshStep")
            .field("endpoint", &self.endpoint.as_str())
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The refresh as a [`Flow`](crate::Flow): one POST to the token endpoint, and the GET of the
/// IdP's key set when a new ID token names a `kid` not known yet. `invalid_grant` ends the
/// session: [`Error::ReauthenticationRequired`], sign in again.
#[derive(Debug)]
pub struct Refresh(GrantFlow<RefreshStep>);
super::engine::grant_flow!(Refresh, Renewal);

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
        let endpoint = client.endpoint(
            Purpose::Refresh,
            "token_endpoint",
            Some(&client.metadata.token_endpoint),
        )?;
        let expected = IdTokenExpectations::new(
            client.issuer(),
            client.client_id(),
            client.policy.clock_skew,
        )
        .renewing(previous);
        let check = IdTokenCheck::new(client, keys, expected)?;
        let step = RefreshStep {
            endpoint,
            issuer: client.issuer().to_owned(),
            credentials: client.credentials.clone(),
            policy: client.policy.clone(),
            refresh_token,
            scope: scope.map(|scope| requested_scope(client, scope, false, false)),
        };
        Ok(Self(GrantFlow::new(step, Some(check))))
    }
}

impl GrantStep for RefreshStep {
    type Output = Renewal;

    fn purpose(&self) -> Purpose {
        Purpose::Refresh
    }

    fn request(&self, now: SystemTime) -> Result<HttpRequest, Error> {
        let mut form = TokenForm::default();
        form.push("grant_type", "refresh_token");
        form.push("refresh_token", self.refresh_token.expose_secret());
        if let Some(scope) = self.scope.as_ref().filter(|scope| !scope.is_empty()) {
            form.push("scope", scope.to_string());
        }
        let endpoint = Endpoint {
            purpose: Purpose::Refresh,
            token_endpoint: &self.endpoint,
            issuer: Some(&self.issuer),
        };
        authenticated_post(&endpoint, &self.credentials, form, now)
    }

    fn judge(
        &mut self,
        _now: SystemTime,
        response: HttpResponse,
    ) -> Result<Verdict<Renewal>, Error> {
        let purpose = Purpose::Refresh;
        if !response.status().is_success() {
            return Err(token_refusal(purpose, &response));
        }
        read_tokens(&response, &self.policy, false)
            .map(Verdict::Tokens)
            .map_err(|violation| Error::InvalidResponse { purpose, violation })
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
