//! Client authentication at a token endpoint (RFC 6749 section 2.3, RFC 7523 section 2.2):
//! `none`, `client_secret_basic`, `client_secret_post` and `private_key_jwt`.

use std::borrow::Cow;
use std::time::SystemTime;

use http::HeaderValue;
use http::header::AUTHORIZATION;
use zeroize::Zeroize;

use crate::config::{AssertionAudience, ClientAssertionClaims};
use crate::form::{FormConstant, FormValue};
use crate::json::unix_seconds;
use crate::{ClientAuth, ClientCredentials, Error, HttpRequest, Purpose, form, wire};

/// A token request's form parameters. Values may be secrets: those borrowed stay where their
/// owner keeps (and zeroizes) them, those made for the request are zeroized on drop.
#[derive(Default)]
pub(crate) struct TokenForm<'a> {
    pairs: Vec<(&'static str, Value<'a>)>,
}

enum Value<'a> {
    Text(Cow<'a, str>),
    Constant(&'static FormConstant),
}

impl<'a> TokenForm<'a> {
    pub(crate) fn push(&mut self, name: &'static str, value: impl Into<Cow<'a, str>>) {
        self.pairs.push((name, Value::Text(value.into())));
    }

    /// A constant of the protocol, copied already encoded.
    pub(crate) fn push_constant(&mut self, name: &'static str, value: &'static FormConstant) {
        self.pairs.push((name, Value::Constant(value)));
    }

    fn encode(&self) -> Vec<u8> {
        let pairs: Vec<(&str, FormValue<'_>)> = self
            .pairs
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    Value::Text(text) => FormValue::Text(text),
                    Value::Constant(constant) => FormValue::Constant(constant),
                };
                (*name, value)
            })
            .collect();
        form::encode_values(&pairs)
    }
}

impl Drop for TokenForm<'_> {
    fn drop(&mut self) {
        for (_, value) in &mut self.pairs {
            if let Value::Text(Cow::Owned(owned)) = value {
                owned.zeroize();
            }
        }
    }
}

/// Where the request goes and who it is for, as the assertion's `aud` needs.
pub(crate) struct Endpoint<'a> {
    pub(crate) purpose: Purpose,
    pub(crate) token_endpoint: &'a url::Url,
    pub(crate) issuer: Option<&'a str>,
}

/// Builds the POST with the client's authentication applied. Credentials go only to this
/// endpoint: the caller passes the credentials registered at this server and no other
/// (protocol.md 6 rule 6).
pub(crate) fn authenticated_post<'a>(
    endpoint: &Endpoint<'_>,
    credentials: &'a ClientCredentials,
    mut form: TokenForm<'a>,
    now: SystemTime,
) -> Result<HttpRequest, Error> {
    let mut authorization = None;
    match &credentials.auth {
        ClientAuth::None => form.push("client_id", credentials.client_id.as_str()),
        ClientAuth::ClientSecretBasic(secret) => {
            authorization = Some(form::basic_authorization(&credentials.client_id, secret));
        }
        ClientAuth::ClientSecretPost(secret) => {
            form.push("client_id", credentials.client_id.as_str());
            form.push("client_secret", secret.expose_secret());
        }
        ClientAuth::PrivateKeyJwt(settings) => {
            let aud = match (settings.audience, endpoint.issuer) {
                (AssertionAudience::Issuer, Some(issuer)) => issuer.to_owned(),
                (AssertionAudience::Issuer, None) => {
                    return Err(Error::Config(format!(
                        "{}: private_key_jwt with the issuer as audience needs a known issuer",
                        endpoint.purpose
                    )));
                }
                _ => endpoint.token_endpoint.as_str().to_owned(),
            };
            let iat = unix_seconds(now);
            let claims = ClientAssertionClaims {
                iss: credentials.client_id.clone(),
                sub: credentials.client_id.clone(),
                aud,
                jti: settings.jti.next_jti(),
                iat,
                exp: iat.saturating_add(settings.lifetime.as_secs()),
            };
            let assertion = settings.signer.sign(&claims).map_err(|e| Error::Signer {
                purpose: endpoint.purpose,
                reason: e.0,
            })?;
            form.push("client_id", credentials.client_id.as_str());
            form.push_constant("client_assertion_type", &form::CLIENT_ASSERTION_JWT_BEARER);
            form.push("client_assertion", assertion.expose_secret().to_owned());
        }
    }
    let mut request = wire::post_form(endpoint.token_endpoint, form.encode());
    if let Some(mut value) = authorization {
        let header = HeaderValue::from_str(&value).map_err(|_| {
            Error::Config("client credentials do not fit an Authorization header".into())
        });
        value.zeroize();
        let mut header = header?;
        header.set_sensitive(true);
        request.headers_mut().insert(AUTHORIZATION, header);
    }
    Ok(request)
}
