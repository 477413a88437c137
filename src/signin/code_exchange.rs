//! The code exchange (RFC 6749 section 4.1.3, RFC 7636 section 4.5, OpenID Connect Core 1.0
//! section 3.1.3) as a [`Flow`](crate::Flow): the code and the PKCE verifier for tokens, the
//! ID token checked before anything is returned.

use std::time::SystemTime;

use super::authorization_request::PendingSignIn;
use super::engine::{GrantFlow, GrantStep, Verdict};
use super::id_token_check::IdTokenCheck;
use super::id_token_claims::IdTokenClaims;
use super::idp_endpoint::IdpEndpoint;
use super::keys::IdpKeys;
use super::provider::SignInClient;
use super::secrets::AuthorizationCode;
use super::session::SignIn;
use super::token_response::{Tokens, granted_tokens};
use crate::grant::TokenForm;
use crate::{Error, HttpResponse, Purpose};

/// `Debug` shows the endpoint; the verifier, `state`, `nonce` and code print `[redacted]`.
#[derive(Debug)]
struct CodeStep {
    endpoint: IdpEndpoint,
    pending: PendingSignIn,
    code: AuthorizationCode,
}

/// The code exchange as a [`Flow`](crate::Flow): one POST to the token endpoint, and the GET
/// of the IdP's key set when its keys are not known yet or lack the ID token's `kid`.
#[derive(Debug)]
pub struct CodeExchange(GrantFlow<CodeStep>);
crate::grant::single_flow!(CodeExchange, SignIn);

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
        let endpoint = IdpEndpoint::token(client, Purpose::CodeExchange)?;
        let expected = client
            .id_token_expectations()
            .with_nonce(pending.nonce.clone())
            .with_max_age(pending.max_age);
        let check = IdTokenCheck::new(client, keys, expected)?;
        let step = CodeStep {
            endpoint,
            pending,
            code,
        };
        Ok(Self(GrantFlow::new(step, Some(check))))
    }
}

impl GrantStep for CodeStep {
    type Output = SignIn;

    fn endpoint(&self) -> &IdpEndpoint {
        &self.endpoint
    }

    fn form(&self) -> TokenForm<'_> {
        let mut form = TokenForm::default();
        form.push("grant_type", "authorization_code");
        form.push("code", self.code.expose_secret());
        form.push("redirect_uri", self.pending.redirect_uri.as_str());
        form.push("code_verifier", self.pending.verifier.expose_secret());
        form
    }

    fn judge(
        &mut self,
        _now: SystemTime,
        response: HttpResponse,
    ) -> Result<Verdict<SignIn>, Error> {
        granted_tokens(&self.endpoint, &response, true).map(Verdict::Tokens)
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
