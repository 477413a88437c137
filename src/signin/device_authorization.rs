//! The device authorization response (RFC 8628 section 3.2): what the person is shown, and
//! the device code the client polls with. Public so it can be fuzzed.

use std::time::{Duration, SystemTime};

use url::Url;

use super::loopback::is_loopback;

use super::secrets::DeviceCode;
use crate::display_safety::is_unsafe_for_display;
use crate::json::{Member, saturating_add};
use crate::wire::{expires_in, optional_str, read_members, required_str};
use crate::{Policy, Violation};

/// The polling interval when the IdP gives none (RFC 8628 section 3.2).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// The longest polling interval accepted: an hour between polls would outlast any device code.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(3600);

/// The longest `user_code` accepted: it is typed by a person (RFC 8628 section 6.1).
pub const MAX_USER_CODE_CHARS: usize = 64;

/// The longest verification URI accepted.
pub const MAX_VERIFICATION_URI_BYTES: usize = 2048;

/// What the IdP answered to the device authorization request. Show
/// [`user_code`](Self::user_code) and [`verification_uri`](Self::verification_uri) (or
/// [`verification_uri_complete`](Self::verification_uri_complete)) to the person; both hold
/// only characters safe to display.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceAuthorization {
    pub(crate) device_code: DeviceCode,
    /// `user_code`: what the person types at the verification URI.
    pub user_code: String,
    /// `verification_uri`: where the person goes, an https URL in its normalized form.
    pub verification_uri: String,
    /// `verification_uri_complete`: the same with the user code in it, when given.
    pub verification_uri_complete: Option<String>,
    /// When the device code expires, from `expires_in` (required).
    pub expires_at: SystemTime,
    /// How long to wait between polls: `interval`, else 5 seconds.
    pub interval: Duration,
}

impl DeviceAuthorization {
    /// Reads the JSON body received at `now`: `device_code`, `user_code`, `verification_uri`
    /// and `expires_in` required (RFC 8628 section 3.2), no member twice. The user code and
    /// URIs are refused when they hold a character unsafe to display; the URIs must be https
    /// (plain http only on loopback when the policy allows it).
    pub fn from_json(body: &[u8], now: SystemTime, policy: &Policy) -> Result<Self, Violation> {
        let names = [
            "device_code",
            "user_code",
            "verification_uri",
            "verification_uri_complete",
            "expires_in",
            "interval",
        ];
        let [device_code, user_code, uri, uri_complete, expires, interval] =
            read_members(body, names)?;
        let user_code = shown(
            required_str(user_code, "user_code")?,
            "user_code",
            MAX_USER_CODE_CHARS,
        )?;
        let verification_uri = checked_uri(
            required_str(uri, "verification_uri")?,
            "verification_uri",
            policy,
        )?;
        let verification_uri_complete = optional_str(uri_complete, "verification_uri_complete")?
            .map(|uri| checked_uri(uri, "verification_uri_complete", policy))
            .transpose()?;
        let lifetime =
            expires_in(&expires, policy)?.ok_or(Violation::MissingField("expires_in"))?;
        if lifetime.is_zero() {
            return Err(Violation::InvalidField {
                field: "expires_in",
                reason: "the device code is already expired".into(),
            });
        }
        Ok(Self {
            device_code: DeviceCode::new(required_str(device_code, "device_code")?),
            user_code,
            verification_uri,
            verification_uri_complete,
            expires_at: saturating_add(now, lifetime),
            interval: poll_interval(&interval)?,
        })
    }
}

/// `interval` in whole seconds: absent means 5; zero, or more than an hour, is refused.
fn poll_interval(member: &Member<'_>) -> Result<Duration, Violation> {
    let invalid = |reason: &str| Violation::InvalidField {
        field: "interval",
        reason: reason.into(),
    };
    match member {
        Member::Absent | Member::Null => Ok(DEFAULT_POLL_INTERVAL),
        Member::Number(Some(seconds)) => {
            let interval = Duration::from_secs(*seconds);
            if interval.is_zero() || interval > MAX_POLL_INTERVAL {
                Err(invalid("not between 1 second and an hour"))
            } else {
                Ok(interval)
            }
        }
        _ => Err(invalid("not a non-negative number")),
    }
}

/// Text the person will read: refused, not altered, when it holds a character unsafe to
/// display (a terminal escape would act instead of showing) or is too long.
fn shown(text: String, field: &'static str, max_chars: usize) -> Result<String, Violation> {
    if text.chars().any(is_unsafe_for_display) {
        return Err(Violation::InvalidField {
            field,
            reason: "holds a character unsafe to display".into(),
        });
    }
    if text.chars().count() > max_chars {
        return Err(Violation::InvalidField {
            field,
            reason: "too long".into(),
        });
    }
    Ok(text)
}

/// A verification URI: displayable, absolute, https (or http on loopback by policy), kept in
/// its normalized serialization (RFC 3986 section 6, the WHATWG URL standard).
fn checked_uri(text: String, field: &'static str, policy: &Policy) -> Result<String, Violation> {
    let text = shown(text, field, MAX_VERIFICATION_URI_BYTES)?;
    let invalid = |reason: &str| Violation::InvalidField {
        field,
        reason: reason.into(),
    };
    let url = Url::parse(&text).map_err(|_| invalid("not an absolute URL"))?;
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => {}
        "http" if loopback && policy.allow_http_loopback => {}
        _ => return Err(invalid("not https")),
    }
    // What the person sees is the URL a browser opens: the parser's serialization, not the
    // text as sent (`https:/x` and `https://x` are one URL).
    shown(url.into(), field, MAX_VERIFICATION_URI_BYTES)
}
