//! Claim rules shared by every JWT the servers accept: times (RFC 7519 section 4.1, with a
//! bounded clock skew), required strings, and the single-valued `aud` / `resource` shapes
//! (decisions.md D10).

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use super::token_fault::TokenFault;
use crate::display_safety::sanitize;
use crate::json::{JsonSource, Member, StringFault, unix_seconds};

/// How `exp`, `iat` and `nbf` are judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimeRules {
    /// Tolerance for clocks that disagree, in both directions (protocol.md 3.3 step 6:
    /// about 60 s at most).
    pub clock_skew: Duration,
    /// The longest `exp - iat` accepted; `None` for no bound. When set, `iat` is required.
    pub max_lifetime: Option<Duration>,
}

impl Default for TimeRules {
    /// 60 s of skew, at most 10 minutes between `iat` and `exp` (EMA section 7.4.2: short-lived).
    fn default() -> Self {
        Self {
            clock_skew: Duration::from_secs(60),
            max_lifetime: Some(Duration::from_secs(600)),
        }
    }
}

impl TimeRules {
    /// These rules with another skew.
    pub fn with_clock_skew(mut self, clock_skew: Duration) -> Self {
        self.clock_skew = clock_skew;
        self
    }

    /// These rules with another lifetime bound.
    pub fn with_max_lifetime(mut self, max_lifetime: Option<Duration>) -> Self {
        self.max_lifetime = max_lifetime;
        self
    }

    /// Checks `exp` (required, in the future), `iat` (not in the future; required when a
    /// lifetime bound is set), `nbf` (if present, passed) and the lifetime. Returns `exp`.
    pub(crate) fn check(
        &self,
        claims: &Map<String, Value>,
        now: SystemTime,
    ) -> Result<u64, TokenFault> {
        let now = unix_seconds(now);
        let skew = self.clock_skew.as_secs();
        let exp = time_claim(claims, "exp")?.ok_or(TokenFault::MissingClaim("exp"))?;
        if now >= exp.saturating_add(skew) {
            return Err(TokenFault::Expired { exp });
        }
        let iat = time_claim(claims, "iat")?;
        if let Some(iat) = iat
            && iat > now.saturating_add(skew)
        {
            return Err(TokenFault::IssuedInFuture { iat });
        }
        if let Some(nbf) = time_claim(claims, "nbf")?
            && nbf > now.saturating_add(skew)
        {
            return Err(TokenFault::NotYetValid { nbf });
        }
        if let Some(max) = self.max_lifetime {
            let iat = iat.ok_or(TokenFault::MissingClaim("iat"))?;
            let lifetime = exp.saturating_sub(iat);
            if lifetime > max.as_secs() {
                return Err(TokenFault::LifetimeTooLong { lifetime });
            }
        }
        Ok(exp)
    }
}

/// A NumericDate claim (RFC 7519 section 2): `Ok(None)` when absent,
/// [`TokenFault::InvalidClaim`] when not a non-negative number.
fn time_claim(claims: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, TokenFault> {
    match Member::of(claims, name) {
        Member::Absent => Ok(None),
        Member::Number(Some(seconds)) => Ok(Some(seconds)),
        _ => Err(TokenFault::InvalidClaim(name)),
    }
}

/// A required, non-empty string claim ([`JsonSource::JwtClaims`]).
pub(crate) fn required_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Cow<'a, str>, TokenFault> {
    Member::of(claims, name)
        .required_str(JsonSource::JwtClaims)
        .map_err(|fault| claim_fault(fault, name))
}

/// An optional string claim ([`JsonSource::JwtClaims`]): `Ok(None)` when absent or empty, an
/// error when not a string (`null` included).
pub(crate) fn optional_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<Cow<'a, str>>, TokenFault> {
    Member::of(claims, name)
        .optional_str(JsonSource::JwtClaims)
        .map_err(|fault| claim_fault(fault, name))
}

/// The fault for a string claim that is unusable.
fn claim_fault(fault: StringFault, name: &'static str) -> TokenFault {
    match fault {
        StringFault::Missing => TokenFault::MissingClaim(name),
        StringFault::NotAString => TokenFault::InvalidClaim(name),
    }
}

/// Checks that `aud` is a string or one-element array whose value `accepts` approves
/// (ID-JAG draft section 4.4.1, decisions.md D10).
pub(crate) fn check_single_audience(
    claims: &Map<String, Value>,
    accepts: impl Fn(&str) -> bool,
) -> Result<(), TokenFault> {
    let aud = claims.get("aud").ok_or(TokenFault::MissingClaim("aud"))?;
    match Member::of(claims, "aud").single_string() {
        Some(value) if accepts(value) => Ok(()),
        _ => Err(TokenFault::Audience {
            found: json_text(aud),
        }),
    }
}

/// A claim value as compact JSON, sanitized, for a rejection reason.
pub(crate) fn json_text(value: &Value) -> String {
    sanitize(&value.to_string())
}
