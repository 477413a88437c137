//! The `device_authorization` target: `DeviceAuthorization::from_json` (RFC 8628 section 3.2)
//! against serde_json's reading of the same body.

use std::time::Duration;

use serde_json::Value;
use xaa::Policy;
use xaa::signin::{DeviceAuthorization, MAX_POLL_INTERVAL, MAX_USER_CODE_CHARS};

use crate::checks::{assert_single_line, json_object, now};
use crate::input::Input;

/// The first byte picks the policy (plain http on loopback allowed or not); the rest is the
/// body. Whatever is accepted is a JSON object whose required members are non-empty strings
/// equal to what was read, with displayable user code and URIs, an https URI unless loopback
/// is allowed, a future expiry and an interval between 1 s and an hour (5 s when absent);
/// `Debug` never shows the device code; refusals are one line.
pub fn device_authorization(data: &[u8]) {
    let mut input = Input::new(data);
    let policy = if input.flag() {
        Policy::loopback()
    } else {
        Policy::default()
    };
    let body = input.rest();
    let read = DeviceAuthorization::from_json(body, now(), &policy);
    crate::trace!("read: {read:?}");
    let authorization = match read {
        Ok(authorization) => authorization,
        Err(violation) => {
            assert_single_line(&violation.to_string());
            return;
        }
    };
    let Some(object) = json_object(body) else {
        panic!("accepted a body serde_json does not read as an object");
    };
    let text = |name: &str| object.get(name).and_then(Value::as_str);
    assert_eq!(text("user_code"), Some(authorization.user_code.as_str()));
    // The URIs are kept as a browser would open them: the parser's serialization.
    let normalized = |name: &str| {
        text(name)
            .and_then(|t| url::Url::parse(t).ok())
            .map(String::from)
    };
    assert_eq!(
        normalized("verification_uri").as_deref(),
        Some(authorization.verification_uri.as_str())
    );
    assert_eq!(
        normalized("verification_uri_complete"),
        authorization.verification_uri_complete
    );
    let device_code = text("device_code").unwrap_or_else(|| panic!("no device_code"));
    assert!(!device_code.is_empty());
    for shown in [
        Some(&authorization.user_code),
        Some(&authorization.verification_uri),
        authorization.verification_uri_complete.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        assert!(!shown.chars().any(xaa::is_unsafe_for_display), "{shown:?}");
    }
    assert!(authorization.user_code.chars().count() <= MAX_USER_CODE_CHARS);
    for uri in [
        Some(&authorization.verification_uri),
        authorization.verification_uri_complete.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        let https = uri
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
        assert!(https || policy.allow_http_loopback, "{uri:?}");
    }
    assert!(authorization.expires_at > now());
    assert!(
        authorization.interval >= Duration::from_secs(1)
            && authorization.interval <= MAX_POLL_INTERVAL
    );
    if object.get("interval").is_none_or(Value::is_null) {
        assert_eq!(authorization.interval, Duration::from_secs(5));
    }
    let debug = format!("{authorization:?}");
    assert!(debug.contains("DeviceCode([redacted])"), "{debug}");
}
