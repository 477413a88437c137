//! The token exchange at the IdP (RFC 8693 section 2, ID-JAG draft section 4.3, protocol.md
//! 2.4): a subject token in, an ID-JAG out. Also the SAML-for-refresh-token exchange
//! (protocol.md 2.7 option B, decisions.md D15).

use std::fmt;
use std::time::SystemTime;

use url::Url;

use super::client_auth::{Endpoint, TokenForm, authenticated_post};
use super::exchange_request::{SubjectToken, TokenExchangeRequest};
use super::id_jag::{Confirmation, check_encrypted_id_jag, check_signed_id_jag};
use super::response::{TokenResponse, granted_scope};
use super::single::{Single, TokenStep, single_flow};
use crate::constants::{TOKEN_TYPE_ID_JAG, TOKEN_TYPE_NOT_APPLICABLE, TOKEN_TYPE_REFRESH_TOKEN};
use crate::discovery::UrlGuard;
use crate::dpop_hook::{Binding, IdJagConfirmation};
use crate::error::sanitize;
use crate::form;
use crate::json::unix_seconds;
use crate::jwt::{self, JwtShape};
use crate::wire;
use crate::{
    ClientCredentials, Error, ErrorCode, HttpRequest, HttpResponse, IdJag, Policy, Purpose,
    RefreshToken, SamlAssertion, Scope, Violation,
};

/// An ID-JAG the IdP issued and that passed the client-side checks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuedIdJag {
    /// The ID-JAG.
    pub id_jag: IdJag,
    /// When it expires: `expires_in`, else its `exp` claim (decisions.md D9).
    pub expires_at: SystemTime,
    /// The scope granted (decisions.md D8).
    pub scope: Option<Scope>,
    /// Whether it is a JWE, opaque to the client (decisions.md D11).
    pub encrypted: bool,
    /// The thumbprint of the DPoP key it is bound to (`cnf.jkt`, ID-JAG draft section 9.8),
    /// when it is: then it is redeemed only with a proof by that key.
    pub dpop_jkt: Option<String>,
}

impl IssuedIdJag {
    /// An ID-JAG kept from an earlier exchange, to re-submit (decisions.md D13).
    pub fn resubmitted(id_jag: IdJag, expires_at: SystemTime) -> Self {
        let dpop_jkt = Confirmation::of_token(id_jag.expose_secret())
            .and_then(|cnf| cnf.jkt().map(str::to_owned));
        Self {
            encrypted: jwt::shape(id_jag.expose_secret()) == Ok(JwtShape::Jwe),
            id_jag,
            expires_at,
            scope: None,
            dpop_jkt,
        }
    }
}

struct ExchangeStep {
    request: TokenExchangeRequest,
    endpoint: Url,
    policy: Policy,
}

impl fmt::Debug for ExchangeStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeStep")
            .field("endpoint", &self.endpoint.as_str())
            .finish_non_exhaustive()
    }
}

/// The ID-JAG token exchange as a [`Flow`](crate::Flow): one POST to the IdP.
#[derive(Debug)]
pub struct TokenExchange(Single<ExchangeStep>);
single_flow!(TokenExchange, IssuedIdJag);

impl TokenExchange {
    /// Prepares the exchange; the token endpoint must pass the URL policy.
    pub fn new(request: TokenExchangeRequest, policy: &Policy) -> Result<Self, Error> {
        let guard = UrlGuard::new(policy, None);
        Self::with_guard(request, &guard)
    }

    pub(crate) fn with_guard(
        request: TokenExchangeRequest,
        guard: &UrlGuard,
    ) -> Result<Self, Error> {
        let endpoint = guard.check(Purpose::TokenExchange, &request.token_endpoint)?;
        Ok(Self(Single::new(ExchangeStep {
            request,
            endpoint,
            policy: guard.policy().clone(),
        })))
    }

    /// The request this flow sends.
    pub fn request(&self) -> &TokenExchangeRequest {
        &self.0.step().request
    }

    /// Sends a DPoP proof made with `binding` (RFC 9449 section 5): the IdP then binds the
    /// ID-JAG to the key (`cnf.jkt`), which is checked under the binding's policy, and a nonce
    /// demand gets one retry.
    #[cfg(feature = "dpop")]
    pub fn with_dpop(self, binding: crate::dpop::DpopBinding) -> Self {
        self.dpop(Some(binding))
    }

    pub(crate) fn dpop(self, binding: Option<Binding>) -> Self {
        match binding {
            Some(binding) => Self(self.0.with_dpop(binding)),
            None => self,
        }
    }
}

impl TokenStep for ExchangeStep {
    type Output = IssuedIdJag;

    fn purpose(&self) -> Purpose {
        Purpose::TokenExchange
    }

    fn request(&self, now: SystemTime) -> Result<HttpRequest, Error> {
        let request = &self.request;
        check_subject_fresh(&request.subject, now)?;
        let mut form = TokenForm::default();
        form.push_constant("grant_type", &form::GRANT_TOKEN_EXCHANGE);
        form.push_constant("requested_token_type", &form::TOKEN_ID_JAG);
        form.push("audience", request.audience.as_str());
        // MCP 2025-11-25 "Resource Parameter Implementation": always sent.
        form.push("resource", request.resource.as_str());
        if let Some(scope) = request.scope.as_ref().filter(|s| !s.is_empty()) {
            form.push("scope", scope.to_string());
        }
        form.push("subject_token", request.subject.value());
        form.push_constant("subject_token_type", request.subject.form_token_type());
        let endpoint = Endpoint {
            purpose: Purpose::TokenExchange,
            token_endpoint: &self.endpoint,
            issuer: request.idp_issuer.as_deref(),
        };
        authenticated_post(&endpoint, &request.credentials, form, now)
    }

    fn response(
        &self,
        now: SystemTime,
        response: HttpResponse,
        proof: Option<&Binding>,
    ) -> Result<IssuedIdJag, Error> {
        let purpose = Purpose::TokenExchange;
        if !response.status().is_success() {
            return Err(idp_failure(purpose, &response));
        }
        let invalid = |violation| Error::InvalidResponse { purpose, violation };
        let parsed = TokenResponse::from_response(&response, &self.policy).map_err(invalid)?;
        check_exchange_types(&parsed, TOKEN_TYPE_ID_JAG).map_err(invalid)?;
        let scope =
            granted_scope(self.request.scope.as_ref(), parsed.scope.clone()).map_err(invalid)?;
        let shape = jwt::shape(&parsed.access_token).map_err(|_| invalid(Violation::NotAJwt))?;
        let mut scope = scope;
        let mut confirmation = None;
        let expires_at = match shape {
            JwtShape::Jws => {
                let claims = check_signed_id_jag(&parsed.access_token, &self.request, now)
                    .map_err(invalid)?;
                confirmation = Some(claims.cnf);
                // The ID-JAG's own `scope` is what the authorization server will see.
                if let Some(claimed) = claims.scope {
                    scope = Some(claimed);
                }
                // decisions.md D9, protocol.md 2.6: kept no longer than its own `exp`.
                let exp = crate::json::time_from_numeric_date(claims.exp);
                match parsed.expires_in {
                    Some(lifetime) => crate::json::saturating_add(now, lifetime).min(exp),
                    None => exp,
                }
            }
            JwtShape::Jwe => {
                if !self.policy.allow_encrypted_id_jag {
                    return Err(invalid(Violation::EncryptedIdJag));
                }
                check_encrypted_id_jag(&parsed.access_token).map_err(invalid)?;
                // decisions.md D11: opaque, so the expiry must come from the response.
                let lifetime = parsed
                    .expires_in
                    .ok_or_else(|| invalid(Violation::MissingField("expires_in")))?;
                crate::json::saturating_add(now, lifetime)
            }
        };
        if parsed.had_refresh_token {
            tracing::debug!(
                purpose = "token_exchange",
                "ignoring a refresh_token in the exchange response"
            );
        }
        let dpop_jkt = judge_binding(proof, confirmation.as_ref())?;
        Ok(IssuedIdJag {
            id_jag: IdJag::new(parsed.access_token.as_str()),
            expires_at,
            scope,
            encrypted: shape == JwtShape::Jwe,
            dpop_jkt,
        })
    }
}

/// The key an issued ID-JAG is bound to: judged under the policy when a proof went with the
/// exchange (ID-JAG draft section 9.8), else as the token says (`None` for an encrypted one,
/// `confirmation` being `None`).
fn judge_binding(
    proof: Option<&Binding>,
    confirmation: Option<&Confirmation>,
) -> Result<Option<String>, Error> {
    let Some(binding) = proof else {
        return Ok(confirmation.and_then(|cnf| cnf.jkt().map(str::to_owned)));
    };
    let judged = match confirmation {
        Some(cnf) => cnf.as_judged(),
        None => IdJagConfirmation::Encrypted,
    };
    binding.judge_id_jag(judged).map_err(|refusal| Error::Dpop {
        purpose: Some(Purpose::TokenExchange),
        refusal,
    })
}

/// Refuses to send an ID token that has already expired (decisions.md D17).
fn check_subject_fresh(subject: &SubjectToken, now: SystemTime) -> Result<(), Error> {
    match subject.expires_at() {
        Some(expires_at) if expires_at <= now => Err(Error::SubjectTokenExpired {
            expired_at: unix_seconds(expires_at),
        }),
        _ => Ok(()),
    }
}

/// `issued_token_type` must be the requested type (RFC 8693 section 2.2.1) and `token_type`
/// must be `N_A`, case-insensitive (decisions.md D12).
fn check_exchange_types(parsed: &TokenResponse, requested: &str) -> Result<(), Violation> {
    match parsed.issued_token_type.as_deref() {
        Some(issued) if issued == requested => {}
        Some(issued) => return Err(Violation::IssuedTokenType(sanitize(issued))),
        None => return Err(Violation::MissingField("issued_token_type")),
    }
    if !parsed
        .token_type
        .eq_ignore_ascii_case(TOKEN_TYPE_NOT_APPLICABLE)
    {
        return Err(Violation::TokenType(sanitize(&parsed.token_type)));
    }
    Ok(())
}

/// An IdP error: `insufficient_user_authentication` and `invalid_grant` mean the user must
/// sign in again (decisions.md D17); everything else is an OAuth error as sent.
pub(crate) fn idp_failure(purpose: Purpose, response: &HttpResponse) -> Error {
    match wire::token_endpoint_failure(purpose, response) {
        Error::OAuth {
            purpose,
            status,
            error,
        } if matches!(
            error.code,
            ErrorCode::InsufficientUserAuthentication | ErrorCode::InvalidGrant
        ) =>
        {
            Error::ReauthenticationRequired {
                purpose,
                status,
                error,
            }
        }
        other => other,
    }
}

/// What the SAML-for-refresh-token exchange asks for (protocol.md 2.7 option B).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SamlRefreshRequest {
    /// The IdP's token endpoint.
    pub token_endpoint: String,
    /// The IdP's issuer, when known.
    pub idp_issuer: Option<String>,
    /// The client's registration at the IdP.
    pub credentials: ClientCredentials,
    /// The SAML assertion.
    pub assertion: SamlAssertion,
    /// `scope`; `openid offline_access` is always included (protocol.md 2.7).
    pub scope: Option<Scope>,
}

struct SamlRefreshStep {
    request: SamlRefreshRequest,
    endpoint: Url,
    policy: Policy,
}

impl fmt::Debug for SamlRefreshStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SamlRefreshStep")
            .field("endpoint", &self.endpoint.as_str())
            .finish_non_exhaustive()
    }
}

/// Exchanges a SAML assertion for an IdP refresh token (decisions.md D15) as a
/// [`Flow`](crate::Flow): one POST to the IdP.
#[derive(Debug)]
pub struct SamlRefreshExchange(Single<SamlRefreshStep>);
single_flow!(SamlRefreshExchange, RefreshToken);

impl SamlRefreshExchange {
    /// Prepares the exchange; the token endpoint must pass the URL policy.
    pub fn new(request: SamlRefreshRequest, policy: &Policy) -> Result<Self, Error> {
        Self::with_guard(request, &UrlGuard::new(policy, None))
    }

    pub(crate) fn with_guard(request: SamlRefreshRequest, guard: &UrlGuard) -> Result<Self, Error> {
        let endpoint = guard.check(Purpose::SamlRefreshExchange, &request.token_endpoint)?;
        Ok(Self(Single::new(SamlRefreshStep {
            request,
            endpoint,
            policy: guard.policy().clone(),
        })))
    }
}

impl TokenStep for SamlRefreshStep {
    type Output = RefreshToken;

    fn purpose(&self) -> Purpose {
        Purpose::SamlRefreshExchange
    }

    fn request(&self, now: SystemTime) -> Result<HttpRequest, Error> {
        let request = &self.request;
        let scope =
            Scope::parse("openid offline_access").union(&request.scope.clone().unwrap_or_default());
        let mut form = TokenForm::default();
        form.push_constant("grant_type", &form::GRANT_TOKEN_EXCHANGE);
        form.push_constant("requested_token_type", &form::TOKEN_REFRESH_TOKEN);
        form.push("scope", scope.to_string());
        form.push("subject_token", request.assertion.expose_secret());
        form.push_constant("subject_token_type", &form::TOKEN_SAML2);
        let endpoint = Endpoint {
            purpose: Purpose::SamlRefreshExchange,
            token_endpoint: &self.endpoint,
            issuer: request.idp_issuer.as_deref(),
        };
        authenticated_post(&endpoint, &request.credentials, form, now)
    }

    fn response(
        &self,
        _now: SystemTime,
        response: HttpResponse,
        _proof: Option<&Binding>,
    ) -> Result<RefreshToken, Error> {
        let purpose = Purpose::SamlRefreshExchange;
        if !response.status().is_success() {
            return Err(idp_failure(purpose, &response));
        }
        let invalid = |violation| Error::InvalidResponse { purpose, violation };
        let parsed = TokenResponse::from_response(&response, &self.policy).map_err(invalid)?;
        check_exchange_types(&parsed, TOKEN_TYPE_REFRESH_TOKEN).map_err(invalid)?;
        Ok(RefreshToken::new(parsed.access_token.as_str()))
    }
}
