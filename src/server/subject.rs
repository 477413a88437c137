//! The subject token of a token exchange (RFC 8693 section 2.1, ID-JAG draft section 4.3.3): the IdP's own
//! ID token, checked here, or a SAML assertion or IdP refresh token, checked by a
//! caller-supplied [`SubjectTokenVerifier`].

use std::fmt;
use std::time::SystemTime;

use serde_json::{Map, Value};

use super::claims::{TimeRules, json_text, optional_claim, required_claim};
use super::token_fault::TokenFault;
use crate::constants::{TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_REFRESH_TOKEN, TOKEN_TYPE_SAML2};
use crate::display_safety::sanitize;
use crate::jose::UnverifiedJws;
use crate::jose::{AlgorithmAllowList, KeySet};

/// The `subject_token_type` values the IdP understands (RFC 8693 section 3, ID-JAG draft section 4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubjectTokenType {
    /// `urn:ietf:params:oauth:token-type:id_token`: an ID token this IdP issued.
    IdToken,
    /// `urn:ietf:params:oauth:token-type:saml2`: a base64url SAML 2.0 assertion.
    Saml2,
    /// `urn:ietf:params:oauth:token-type:refresh_token`: a refresh token this IdP issued
    /// (IDJAG-02+).
    RefreshToken,
}

impl SubjectTokenType {
    /// The type for a URN, if it is one of these.
    pub fn from_urn(urn: &str) -> Option<Self> {
        match urn {
            TOKEN_TYPE_ID_TOKEN => Some(Self::IdToken),
            TOKEN_TYPE_SAML2 => Some(Self::Saml2),
            TOKEN_TYPE_REFRESH_TOKEN => Some(Self::RefreshToken),
            _ => None,
        }
    }

    /// The URN.
    pub fn urn(self) -> &'static str {
        match self {
            Self::IdToken => TOKEN_TYPE_ID_TOKEN,
            Self::Saml2 => TOKEN_TYPE_SAML2,
            Self::RefreshToken => TOKEN_TYPE_REFRESH_TOKEN,
        }
    }
}

impl fmt::Display for SubjectTokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.urn())
    }
}

/// A subject token that passed its checks: who the user is, and which client it was issued to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedSubject {
    /// The user's subject identifier, which becomes the ID-JAG's `sub`.
    pub subject: String,
    /// The client the token was issued to: the ID token's `aud`, the SAML `Audience`, the
    /// refresh token's client. It must be the client making the exchange (ID-JAG draft section 4.3.3).
    pub client_id: String,
    /// Claims the ID-JAG may carry over: `tenant`, `auth_time`, `acr`, `amr`, `email`
    /// (ID-JAG draft section 3.1). Others are ignored.
    pub claims: Map<String, Value>,
}

impl VerifiedSubject {
    /// A subject issued to `client_id`, with no further claims.
    pub fn new(subject: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            client_id: client_id.into(),
            claims: Map::new(),
        }
    }

    /// Adds a claim the ID-JAG may carry over.
    pub fn with_claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }
}

/// Why a [`SubjectTokenVerifier`] refused a token. The reason reaches the client as the
/// `error_description` of an `invalid_grant`; keep it free of secrets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SubjectRefusal(pub String);

/// Checks SAML and refresh-token subject tokens, which the core cannot: the caller knows its
/// SAML trust and its refresh-token store. A refresh token gets the checks of a normal refresh
/// grant (ID-JAG draft section 4.3.3); the core then checks that [`VerifiedSubject::client_id`] is the
/// authenticated client.
pub trait SubjectTokenVerifier: Send + Sync {
    /// Verifies `token` of `token_type` ([`SubjectTokenType::Saml2`] or
    /// [`SubjectTokenType::RefreshToken`]).
    fn verify(
        &self,
        token_type: SubjectTokenType,
        token: &str,
        now: SystemTime,
    ) -> Result<VerifiedSubject, SubjectRefusal>;
}

impl<F> SubjectTokenVerifier for F
where
    F: Fn(SubjectTokenType, &str, SystemTime) -> Result<VerifiedSubject, SubjectRefusal>
        + Send
        + Sync,
{
    fn verify(
        &self,
        token_type: SubjectTokenType,
        token: &str,
        now: SystemTime,
    ) -> Result<VerifiedSubject, SubjectRefusal> {
        self(token_type, token, now)
    }
}

/// What an ID token subject is checked against: the IdP itself.
pub(crate) struct IdTokenRules<'a> {
    /// The IdP's issuer identifier.
    pub(crate) issuer: &'a str,
    /// The IdP's own keys.
    pub(crate) keys: &'a dyn KeySet,
    /// The algorithms it signs ID tokens with.
    pub(crate) algorithms: &'a AlgorithmAllowList,
    /// Skew and lifetime.
    pub(crate) times: &'a TimeRules,
}

/// Checks an ID token this IdP issued, presented by `client_id` (OpenID Connect Core 1.0
/// section 3.1.3.7, ID-JAG draft section 4.3.3): signature with the IdP's key, `iss` this IdP, `aud` the
/// client, `exp`/`iat`/`nbf`, `sub` present.
pub(crate) fn verify_id_token(
    token: &str,
    rules: &IdTokenRules<'_>,
    client_id: &str,
    now: SystemTime,
) -> Result<VerifiedSubject, TokenFault> {
    let jws = UnverifiedJws::parse(token)?;
    jws.allowed_algorithm(rules.algorithms)?;
    let iss = optional_claim(&jws.claims, "iss")?;
    let iss = iss.as_deref();
    if iss != Some(rules.issuer) {
        return Err(TokenFault::UntrustedIssuer {
            iss: iss.map(sanitize),
        });
    }
    jws.verify(rules.keys, rules.algorithms)
        .map_err(|error| TokenFault::from_jws(error, rules.issuer))?;
    rules.times.check(&jws.claims, now)?;
    check_id_token_audience(&jws.claims, client_id)?;
    let subject = required_claim(&jws.claims, "sub")?.into_owned();
    Ok(VerifiedSubject {
        subject,
        client_id: client_id.to_owned(),
        claims: jws.claims,
    })
}

/// OpenID Connect Core 1.0 section 3.1.3.7 rules 3 and 5: `aud` contains the client (a string
/// or an array), and `azp`, when present, is the client.
fn check_id_token_audience(claims: &Map<String, Value>, client_id: &str) -> Result<(), TokenFault> {
    let aud = claims.get("aud").ok_or(TokenFault::MissingClaim("aud"))?;
    let contains = match aud {
        Value::String(value) => value == client_id,
        Value::Array(values) => values.iter().any(|value| value.as_str() == Some(client_id)),
        _ => false,
    };
    if !contains {
        return Err(TokenFault::Audience {
            found: json_text(aud),
        });
    }
    match optional_claim(claims, "azp")? {
        Some(azp) if azp != client_id => Err(TokenFault::ClaimMismatch {
            claim: "azp",
            found: sanitize(&azp),
        }),
        _ => Ok(()),
    }
}
