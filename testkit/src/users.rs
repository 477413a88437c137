//! The IdP's users and the subject tokens it recognizes: ID tokens it signs, opaque SAML
//! assertions and IdP refresh tokens it remembers.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use xaa::jose::sign_jwt;
use xaa::jose::{SigningKey, random_jti};
use xaa::server::{
    IssueError, MintedRefreshToken, RefreshTokenGrant, RefreshTokenIssuer, SubjectRefusal,
    SubjectTokenType, SubjectTokenVerifier, VerifiedSubject,
};
use xaa::{IdToken, RefreshToken, SamlAssertion};

/// The users the IdP knows by name. Any other name is accepted too (it becomes the `sub`);
/// these also get an `email`.
pub const USERS: [&str; 3] = ["alice", "bob", "carol"];

/// The `email` claim of a user.
pub fn email(user: &str) -> String {
    format!("{user}@example.com")
}

/// Seconds since the epoch.
pub(crate) fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Signs an ID token for `user`, issued by `issuer` to `client_id`.
pub(crate) fn id_token(
    key: &SigningKey,
    issuer: &str,
    client_id: &str,
    user: &str,
    lifetime: Duration,
    now: SystemTime,
) -> IdToken {
    let iat = unix_seconds(now);
    let claims = json!({
        "iss": issuer,
        "sub": user,
        "aud": client_id,
        "iat": iat,
        "exp": iat + lifetime.as_secs(),
        "auth_time": iat,
        "jti": random_jti(),
        "email": email(user),
    });
    // ES256 signing with an in-memory key does not fail; an empty token would be refused
    // by the IdP, which is the right outcome should it ever happen.
    IdToken::new(sign_jwt(key, "JWT", &claims).unwrap_or_default())
}

/// The SAML assertions and IdP refresh tokens the IdP has handed out.
#[derive(Debug)]
pub(crate) struct Subjects {
    idp_client_id: String,
    saml: Mutex<HashMap<String, String>>,
    refresh: Mutex<HashMap<String, (String, String)>>,
}

impl Subjects {
    pub(crate) fn new(idp_client_id: &str) -> Self {
        Self {
            idp_client_id: idp_client_id.to_owned(),
            saml: Mutex::new(HashMap::new()),
            refresh: Mutex::new(HashMap::new()),
        }
    }

    /// A fresh opaque SAML assertion for `user`, with the IdP client as its audience.
    pub(crate) fn saml_assertion(
        &self,
        issuer: &str,
        user: &str,
        now: SystemTime,
    ) -> SamlAssertion {
        let xml = format!(
            "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_{id}\" \
             IssueInstant=\"{now}\"><saml:Issuer>{issuer}</saml:Issuer><saml:Subject>\
             <saml:NameID>{user}</saml:NameID></saml:Subject><saml:Conditions>\
             <saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience>\
             </saml:AudienceRestriction></saml:Conditions></saml:Assertion>",
            id = random_jti(),
            now = unix_seconds(now),
            audience = self.idp_client_id,
        );
        let token = URL_SAFE_NO_PAD.encode(xml);
        lock(&self.saml).insert(token.clone(), user.to_owned());
        SamlAssertion::new(token)
    }

    /// A fresh IdP refresh token for `user`, bound to the IdP client.
    pub(crate) fn refresh_token(&self, user: &str) -> RefreshToken {
        self.remember_refresh_token(user, &self.idp_client_id)
    }

    fn remember_refresh_token(&self, user: &str, client_id: &str) -> RefreshToken {
        let token = format!("idp-rt-{}", random_jti());
        lock(&self.refresh).insert(token.clone(), (user.to_owned(), client_id.to_owned()));
        RefreshToken::new(token)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SubjectTokenVerifier for Subjects {
    fn verify(
        &self,
        token_type: SubjectTokenType,
        token: &str,
        _now: SystemTime,
    ) -> Result<VerifiedSubject, SubjectRefusal> {
        match token_type {
            SubjectTokenType::Saml2 => {
                let user = lock(&self.saml)
                    .get(token)
                    .cloned()
                    .ok_or_else(|| SubjectRefusal("unknown SAML assertion".into()))?;
                Ok(
                    VerifiedSubject::new(user.as_str(), self.idp_client_id.as_str())
                        .with_claim("email", Value::from(email(&user))),
                )
            }
            SubjectTokenType::RefreshToken => {
                let (user, client_id) = lock(&self.refresh)
                    .get(token)
                    .cloned()
                    .ok_or_else(|| SubjectRefusal("unknown refresh token".into()))?;
                Ok(VerifiedSubject::new(user.as_str(), client_id)
                    .with_claim("email", Value::from(email(&user))))
            }
            _ => Err(SubjectRefusal("unsupported subject token type".into())),
        }
    }
}

impl RefreshTokenIssuer for Subjects {
    fn issue(
        &self,
        grant: &RefreshTokenGrant,
        _now: SystemTime,
    ) -> Result<MintedRefreshToken, IssueError> {
        let token = self.remember_refresh_token(&grant.subject.subject, &grant.client_id);
        Ok(MintedRefreshToken::new(token, grant.scope.clone()))
    }
}
