//! The code exchange (RFC 6749 section 4.1.3, RFC 7636 section 4.5, OpenID Connect Core 1.0
//! section 3.1.3) as a [`Flow`](crate::Flow): the code and the PKCE verifier for tokens, the
//! ID token checked before anything is returned.

use std::fmt;
use std::time::SystemTime;

use url::Url;

use super::authorization_request::PendingSignIn;
use super::engine::{GrantFlow, GrantStep, Verdict};
use super::id_token_check::IdTokenCheck;
use super::id_token_claims::{IdTokenClaims, IdTokenExpectations};
use super::keys::IdpKeys;
use super::provider::SignInClient;
use super::secrets::AuthorizationCode;
use super::session::{SignIn, token_refusal};
use super::token_response::{Tokens, read_tokens};
use crate::grant::{Endpoint, TokenForm, authenticated_post};
use crate::{ClientCredentials, Error, HttpRequest, HttpResponse, Policy, Purpose, Violation};

struct CodeStep {
    endpoint: Url,
    issuer: String,
    credentials: ClientCredentials,
    policy: Policy,
    pending: PendingSignIn,
    code: AuthorizationCode,
}

impl fmt::Debug for CodeStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeStep")
            .field("endpoint", &self.endpoint.as_str())
            .finish_non_exhaustive()
    }
}

/// The code exchange as a [`Flow`](crate::Flow): one POST to the token endpoint, and the GET
/// of the IdP's key set when its keys are not known yet or lack the ID token's `kid`.
#[derive(Debug)]
pub struct CodeExchange(GrantFlow<CodeStep>);
super::engine::grant_flow!(CodeExchange, SignIn);

impl CodeExchange {
    /// Exchanges `code`, accepted from the redirect by [`PendingSignIn::accept`], with the
    /// verifier and redirect URI of `pending`. The ID token must carry the `nonce` sent and,
    /// when `max_age` was sent, a recent enough `auth_time`.
    pub fn new(
        client: &SignInClient,
        keys: IdpKeys,
        pending: PendingSignIn,
        code: AuthorizationCode,
    ) -> Result<Self, Error> {
        let endpoint = client.endpoint(
            Purpose::CodeExchange,
            "token_endpoint",
            Some(&client.metadata.token_endpoint),
        )?;
        let expected = IdTokenExpectations::new(
            client.issuer(),
            client.client_id(),
            client.policy.clock_skew,
        )
        .with_nonce(pending.nonce.clone())
        .with_max_age(pending.max_age);
        let check = IdTokenCheck::new(client, keys, expected)?;
        let step = CodeStep {
            endpoint,
            issuer: client.issuer().to_owned(),
            credentials: client.credentials.clone(),
            policy: client.policy.clone(),
            pending,
            code,
        };
        Ok(Self(GrantFlow::new(step, Some(check))))
    }
}

impl GrantStep for CodeStep {
    type Output = SignIn;

    fn purpose(&self) -> Purpose {
        Purpose::CodeExchange
    }

    fn request(&self, now: SystemTime) -> Result<HttpRequest, Error> {
        let mut form = TokenForm::default();
        form.push("grant_type", "authorization_code");
        form.push("code", self.code.expose_secret());
        form.push("redirect_uri", self.pending.redirect_uri.as_str());
        form.push("code_verifier", self.pending.verifier.expose_secret());
        let endpoint = Endpoint {
            purpose: Purpose::CodeExchange,
            token_endpoint: &self.endpoint,
            issuer: Some(&self.issuer),
        };
        authenticated_post(&endpoint, &self.credentials, form, now)
    }

    fn judge(
        &mut self,
        _now: SystemTime,
        response: HttpResponse,
    ) -> Result<Verdict<SignIn>, Error> {
        let purpose = Purpose::CodeExchange;
        if !response.status().is_success() {
            return Err(token_refusal(purpose, &response));
        }
        read_tokens(&response, &self.policy, true)
            .map(Verdict::Tokens)
            .map_err(|violation: Violation| Error::InvalidResponse { purpose, violation })
    }

    fn finish(
        &mut self,
        now: SystemTime,
        tokens: Tokens,
        claims: Option<IdTokenClaims>,
    ) -> Result<SignIn, Error> {
        SignIn::from_tokens(now, tokens, claims)
    }
}
