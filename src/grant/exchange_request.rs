//! What the token exchange at the IdP asks for (RFC 8693 section 2.1): the subject token that
//! stands for the user's enterprise session, and the request's parameters. The exchange flow
//! and the ID-JAG checks both read it.

use std::time::SystemTime;

use crate::form::{self, FormConstant};
use crate::jwt;
use crate::{ClientCredentials, IdToken, RefreshToken, SamlAssertion, Scope};

/// The token the user's enterprise session is represented by (RFC 8693 section 3).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SubjectToken {
    /// An OpenID Connect ID token (`...:token-type:id_token`).
    IdToken(IdToken),
    /// A SAML 2.0 assertion, base64url-encoded (`...:token-type:saml2`).
    Saml2(SamlAssertion),
    /// An IdP refresh token (`...:token-type:refresh_token`, ID-JAG draft -02 and later).
    RefreshToken(RefreshToken),
}

impl SubjectToken {
    /// The RFC 8693 token type URN.
    pub fn token_type(&self) -> &'static str {
        self.form_token_type().value
    }

    /// The token type URN with its form encoding.
    pub(super) fn form_token_type(&self) -> &'static FormConstant {
        match self {
            Self::IdToken(_) => &form::TOKEN_ID_TOKEN,
            Self::Saml2(_) => &form::TOKEN_SAML2,
            Self::RefreshToken(_) => &form::TOKEN_REFRESH_TOKEN,
        }
    }

    pub(super) fn value(&self) -> &str {
        match self {
            Self::IdToken(t) => t.expose_secret(),
            Self::Saml2(t) => t.expose_secret(),
            Self::RefreshToken(t) => t.expose_secret(),
        }
    }

    /// The `exp` of an ID token, peeked without verification; `None` for other kinds (their
    /// expiry is known only through the IdP's errors).
    pub fn expires_at(&self) -> Option<SystemTime> {
        let Self::IdToken(token) = self else {
            return None;
        };
        token.expiry().map(crate::json::time_from_numeric_date)
    }

    /// The `iss` and `sub` of an ID token, peeked without verification (decisions.md D19 uses
    /// them as the principal).
    pub fn principal(&self) -> Option<(String, String)> {
        let Self::IdToken(token) = self else {
            return None;
        };
        let claims = jwt::unverified_claims(token.expose_secret())?;
        let [iss, sub] = jwt::read_members(&claims, ["iss", "sub"]).ok()?;
        Some((iss.as_str()?.to_owned(), sub.as_str()?.to_owned()))
    }
}

/// What the token exchange asks for.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TokenExchangeRequest {
    /// The IdP's token endpoint.
    pub token_endpoint: String,
    /// The IdP's issuer, when known (for a `private_key_jwt` audience of the issuer).
    pub idp_issuer: Option<String>,
    /// The client's registration at the IdP.
    pub credentials: ClientCredentials,
    /// The subject token.
    pub subject: SubjectToken,
    /// `audience`: the MCP authorization server's issuer, verbatim (protocol.md 6 rule 4).
    pub audience: String,
    /// `resource`: the protected-resource metadata's `resource`, verbatim; always sent.
    pub resource: String,
    /// `scope`, chosen per decisions.md D8.
    pub scope: Option<Scope>,
    /// The client's id at the MCP authorization server: the ID-JAG's `client_id` must be it.
    pub authorization_server_client_id: String,
}
