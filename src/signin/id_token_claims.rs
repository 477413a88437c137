//! The claims checks of an ID token (OpenID Connect Core 1.0 sections 2, 3.1.3.7 and 12.2),
//! on claims whose signature was already verified. Pure and public, so they can be fuzzed
//! (docs/signin.md, "ID token validation").

use std::fmt;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use super::secrets::Nonce;
use crate::constant_time_eq;
use crate::display_safety::sanitize;
use crate::id_token_error::IdTokenError;
use crate::json::{numeric_date, parse_object, saturating_add, time_from_numeric_date};

/// Longest `sub` accepted (OpenID Connect Core 1.0 section 2: "MUST NOT exceed 255 ASCII
/// characters").
const MAX_SUBJECT_BYTES: usize = 255;

/// The claims of an accepted ID token that a session keeps: who signed in, at which IdP,
/// for which client, and when. Keep them to check a renewed ID token against
/// ([`IdTokenExpectations::renewing`]).
///
/// `Debug` prints the `nonce` as `[redacted]`, like the [`Nonce`] of the request it answers
/// (docs/signin.md, "Secrets"): a log's reader must not learn the value that ties an ID token
/// to the sign-in that asked for it.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// `iss`: the IdP's issuer.
    pub iss: String,
    /// `sub`: the person, unique within the issuer.
    pub sub: String,
    /// `aud`: the audiences, this client's id among them.
    pub aud: Vec<String>,
    /// `azp`: the authorized party, when given.
    pub azp: Option<String>,
    /// `exp`, seconds since the epoch.
    pub exp: u64,
    /// `iat`, seconds since the epoch.
    pub iat: u64,
    /// `auth_time`, seconds since the epoch, when given.
    pub auth_time: Option<u64>,
    /// `nonce`, when given.
    pub nonce: Option<String>,
}

impl fmt::Debug for IdTokenClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenClaims")
            .field("iss", &self.iss)
            .field("sub", &self.sub)
            .field("aud", &self.aud)
            .field("azp", &self.azp)
            .field("exp", &self.exp)
            .field("iat", &self.iat)
            .field("auth_time", &self.auth_time)
            .field("nonce", &self.nonce.as_ref().map(|_| Redacted))
            .finish()
    }
}

/// Stands for a value `Debug` does not show.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// What an ID token must say: built by the flows from the request they sent, public for tools
/// and fuzzing.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct IdTokenExpectations {
    /// The IdP's issuer: `iss` must be identical.
    pub issuer: String,
    /// This client's id: `aud` must contain it.
    pub client_id: String,
    /// The `nonce` sent in the authentication request, which `nonce` must equal.
    pub nonce: Option<Nonce>,
    /// The `max_age` sent, which makes `auth_time` required and bounds its age.
    pub max_age: Option<Duration>,
    /// How far `iat` may lie in the future, and `auth_time` beyond `max_age` in the past.
    pub clock_skew: Duration,
    /// On renewal, the claims of the ID token being renewed (section 12.2).
    pub renews: Option<IdTokenClaims>,
}

impl IdTokenExpectations {
    /// The expectations of any ID token from `issuer` for `client_id`.
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        clock_skew: Duration,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            nonce: None,
            max_age: None,
            clock_skew,
            renews: None,
        }
    }

    /// Requires `nonce` to be this value.
    pub fn with_nonce(mut self, nonce: Nonce) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// Requires `auth_time` no older than `max_age`.
    pub fn with_max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }

    /// Checks a renewed ID token against the one it renews (section 12.2).
    pub fn renewing(mut self, previous: IdTokenClaims) -> Self {
        self.renews = Some(previous);
        self
    }
}

/// Checks the claims of an ID token, given as the JSON of its payload, at `now`: a member
/// named twice is refused, then every rule of OpenID Connect Core 1.0 section 3.1.3.7 that
/// concerns claims (items 2 to 5 and 9 to 13) and, on renewal, section 12.2.
pub fn check_id_token_claims(
    claims: &[u8],
    expected: &IdTokenExpectations,
    now: SystemTime,
) -> Result<IdTokenClaims, IdTokenError> {
    let object = parse_object(claims).map_err(|_| IdTokenError::Malformed)?;
    check_claims(&object, expected, now)
}

/// [`check_id_token_claims`] on claims already parsed.
pub(crate) fn check_claims(
    object: &Map<String, Value>,
    expected: &IdTokenExpectations,
    now: SystemTime,
) -> Result<IdTokenClaims, IdTokenError> {
    let claims = read_claims(object)?;
    if claims.iss != expected.issuer {
        return Err(IdTokenError::Issuer {
            found: sanitize(&claims.iss),
        });
    }
    if !claims.aud.contains(&expected.client_id) {
        return Err(IdTokenError::Audience);
    }
    match claims.azp.as_deref() {
        None if claims.aud.len() > 1 => return Err(IdTokenError::AuthorizedParty),
        Some(azp) if azp != expected.client_id => return Err(IdTokenError::AuthorizedParty),
        _ => {}
    }
    if time_from_numeric_date(claims.exp) <= now {
        return Err(IdTokenError::Expired);
    }
    if time_from_numeric_date(claims.iat) > saturating_add(now, expected.clock_skew) {
        return Err(IdTokenError::IssuedInFuture);
    }
    if claims.sub.len() > MAX_SUBJECT_BYTES || !claims.sub.is_ascii() {
        return Err(IdTokenError::SubjectTooLong);
    }
    check_nonce(&claims, expected)?;
    if let Some(max_age) = expected.max_age {
        let auth_time = claims.auth_time.ok_or(IdTokenError::AuthTime)?;
        let fresh_until = saturating_add(
            time_from_numeric_date(auth_time),
            max_age.saturating_add(expected.clock_skew),
        );
        if fresh_until < now {
            return Err(IdTokenError::AuthTime);
        }
    }
    if let Some(previous) = &expected.renews {
        check_renewal(&claims, previous)?;
    }
    Ok(claims)
}

/// The `nonce` sent must come back (section 3.1.3.7 item 11), compared in constant time; a
/// renewed token's `nonce`, when present, must be the first token's (section 12.2). Both hold
/// when both are expected.
fn check_nonce(claims: &IdTokenClaims, expected: &IdTokenExpectations) -> Result<(), IdTokenError> {
    let found = claims.nonce.as_deref();
    let same = |wanted: Option<&str>| match (found, wanted) {
        (Some(found), Some(wanted)) => constant_time_eq(found.as_bytes(), wanted.as_bytes()),
        _ => false,
    };
    if let Some(nonce) = &expected.nonce
        && !same(Some(nonce.expose_secret()))
    {
        return Err(IdTokenError::Nonce);
    }
    if let Some(previous) = &expected.renews
        && found.is_some()
        && !same(previous.nonce.as_deref())
    {
        return Err(IdTokenError::Nonce);
    }
    Ok(())
}

/// Section 12.2: the same `iss`, `sub`, `aud` and `azp` as the ID token renewed, and
/// `auth_time`, when both carry it, the time of the original authentication.
fn check_renewal(claims: &IdTokenClaims, previous: &IdTokenClaims) -> Result<(), IdTokenError> {
    let same_audiences = {
        let mut new = claims.aud.clone();
        let mut old = previous.aud.clone();
        new.sort();
        old.sort();
        new == old
    };
    let changed = if claims.iss != previous.iss {
        Some("iss")
    } else if claims.sub != previous.sub {
        Some("sub")
    } else if !same_audiences {
        Some("aud")
    } else if claims.azp != previous.azp {
        Some("azp")
    } else if matches!((claims.auth_time, previous.auth_time), (Some(new), Some(old)) if new != old)
    {
        Some("auth_time")
    } else {
        None
    };
    changed.map_or(Ok(()), |claim| Err(IdTokenError::ChangedOnRenewal(claim)))
}

/// The claims, each of its type: `iss`, `sub`, `aud`, `exp` and `iat` required (section 2).
fn read_claims(object: &Map<String, Value>) -> Result<IdTokenClaims, IdTokenError> {
    let text = |name: &'static str| -> Result<Option<String>, IdTokenError> {
        match object.get(name) {
            None => Ok(None),
            Some(Value::String(text)) if !text.is_empty() => Ok(Some(text.clone())),
            Some(_) => Err(IdTokenError::MissingClaim(name)),
        }
    };
    let date = |name: &'static str| -> Result<Option<u64>, IdTokenError> {
        match object.get(name) {
            None => Ok(None),
            Some(value) => numeric_date(value)
                .map(Some)
                .ok_or(IdTokenError::MissingClaim(name)),
        }
    };
    let required = |value: Option<String>, name| value.ok_or(IdTokenError::MissingClaim(name));
    Ok(IdTokenClaims {
        iss: required(text("iss")?, "iss")?,
        sub: required(text("sub")?, "sub")?,
        aud: audiences(object.get("aud")).ok_or(IdTokenError::MissingClaim("aud"))?,
        azp: text("azp")?,
        exp: date("exp")?.ok_or(IdTokenError::MissingClaim("exp"))?,
        iat: date("iat")?.ok_or(IdTokenError::MissingClaim("iat"))?,
        auth_time: date("auth_time")?,
        nonce: text("nonce")?,
    })
}

/// `aud`: one string, or a non-empty array of strings (section 2, RFC 7519 section 4.1.3).
fn audiences(value: Option<&Value>) -> Option<Vec<String>> {
    match value? {
        Value::String(single) if !single.is_empty() => Some(vec![single.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| item.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
            .collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_claims_but_not_the_nonce() {
        let mut claims = IdTokenClaims {
            iss: "https://idp.example".into(),
            sub: "alice".into(),
            aud: vec!["client".into()],
            azp: None,
            exp: 2,
            iat: 1,
            auth_time: None,
            nonce: Some("nonce-value-kept-out-of-logs".into()),
        };
        let shown = format!("{claims:?} {claims:#?}");
        assert!(!shown.contains("nonce-value-kept-out-of-logs"), "{shown}");
        assert!(shown.contains(r#"sub: "alice""#) && shown.contains("nonce: Some([redacted])"));
        claims.nonce = None;
        assert!(format!("{claims:?}").contains("nonce: None"));
    }
}
