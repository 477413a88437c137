//! What several targets share: the fixed clock, the checks every error and scope must pass,
//! serde_json's reading of a body, and a recognizable `private_key_jwt` signer.

use std::time::{Duration, SystemTime};

use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value};
use xaa::{Assertion, Error, HttpResponse, Scope, Violation};

/// The fixed clock of the targets: 2027-01-15T08:00:00Z.
pub(crate) const NOW_SECS: u64 = 1_800_000_000;

/// [`NOW_SECS`] as a time.
pub(crate) fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

/// `Scope`: parse then Display then parse is the identity, and Display is canonical.
pub(crate) fn check_scope(text: &str) {
    let scope = Scope::parse(text);
    let shown = scope.to_string();
    assert_eq!(Scope::parse(&shown), scope, "Scope does not round-trip");
    assert!(!shown.starts_with(' ') && !shown.ends_with(' ') && !shown.contains("  "));
    let tokens: Vec<&str> = scope.iter().collect();
    for (i, token) in tokens.iter().enumerate() {
        assert!(!token.is_empty() && !token.contains(' '));
        assert!(!tokens[..i].contains(token), "a duplicate scope token");
        assert!(scope.contains(token));
    }
    assert!(scope.is_subset_of(&scope.union(&Scope::parse("x y"))));
    assert_eq!(scope.canonical().canonical(), scope.canonical());
    assert!(scope.difference(&scope).is_empty());
    assert_eq!(scope.intersection(&scope), scope);
}

/// Error text is one line: no control characters.
pub(crate) fn assert_single_line(text: &str) {
    assert!(
        !text.chars().any(char::is_control),
        "error text holds a control character: {text:?}"
    );
}

/// An error never carries a secret, in `Display` or `Debug`, and stays one bounded line.
pub(crate) fn check_error_text(error: &Error, secrets: &[&str]) {
    let shown = error.to_string();
    assert_single_line(&shown);
    assert!(
        shown.chars().count() <= 8 * 1024,
        "an unbounded error message"
    );
    let debug = format!("{error:?}");
    for secret in secrets {
        if secret.len() >= 8 {
            assert!(!shown.contains(secret), "a secret in an error: {shown}");
            assert!(!debug.contains(secret), "a secret in an error's Debug");
        }
    }
}

/// The independent reading: serde_json's own object, or why there is none.
///
/// Read as a map, not as a `Value`: with serde_json's `raw_value` feature (which this crate
/// turns on) a `Value` whose first member is named by serde_json's private raw-value token is
/// the JSON text in that member's string, not an object; the product reads the top level with
/// a visitor of its own, for which that name is a name like any other.
pub(crate) fn json_object(data: &[u8]) -> Option<Map<String, Value>> {
    serde_json::from_slice::<Map<String, Value>>(data).ok()
}

pub(crate) fn str_array(object: &Map<String, Value>, field: &str) -> Option<Vec<String>> {
    object.get(field)?.as_array().map(|items| {
        items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

pub(crate) fn check_violation_shape(violation: &Violation, object: Option<&Map<String, Value>>) {
    match (violation, object) {
        (Violation::NotJson, None) => {}
        (Violation::NotJson, Some(_)) => panic!("a JSON object was called not JSON"),
        // A duplicate is reported where it occurs, even if the body breaks later.
        (Violation::DuplicateField(_), _) => {}
        (Violation::MissingField(_) | Violation::InvalidField { .. }, Some(_)) => {}
        (other, object) => panic!(
            "unexpected violation {other:?} (object: {})",
            object.is_some()
        ),
    }
    assert_single_line(&violation.to_string());
}

/// A 200/JSON (or other) response with `body`.
pub(crate) fn json_response(status: u16, body: Vec<u8>) -> HttpResponse {
    let mut response = HttpResponse::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A signer for `private_key_jwt` configurations; the core never verifies, the harness only
/// needs a recognizable, unique output.
pub(crate) struct MarkerSigner(pub(crate) &'static str);

impl xaa::AssertionSigner for MarkerSigner {
    fn algorithm(&self) -> &str {
        "ES256"
    }

    fn sign(&self, claims: &xaa::ClientAssertionClaims) -> Result<Assertion, xaa::SignerError> {
        Ok(Assertion::new(format!(
            "eyJhbGciOiJFUzI1NiJ9.{}.{}",
            xaa::jwt::encode_segment(claims),
            self.0
        )))
    }
}
