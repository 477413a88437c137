//! The client reads the members of an ID-JAG it checks in one pass, without building a map;
//! peeking (`xaa::jwt::peek`) reads them into a map. Both readings must agree, member by member,
//! and follow decisions.md D10. The one-pass reading is private to the core, so it is seen here
//! through what the client does with it: a token exchange answered with the token (its
//! acceptance, or the violation that names the member and what was read), and the expiry and
//! principal of an ID token (`SubjectToken::expires_at`, `SubjectToken::principal`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use xaa::constants::TOKEN_TYPE_ID_JAG;
use xaa::grant::{IssuedIdJag, SubjectToken};
use xaa::{Error, IdToken, Purpose, Scope, Violation};

use crate::checks::{NOW_SECS, json_response, now};
use crate::grants;
use crate::id_jag_oracle::{is_real_algorithm, media_type};
use crate::shown::shown;
use crate::token_answers::subject_id_token;
use crate::world::{AS_CLIENT, AS_ISSUER, RESOURCE};

/// A header every check accepts.
pub(crate) const GOOD_HEADER: &str = r#"{"alg":"ES256","typ":"oauth-id-jag+jwt"}"#;

/// Claims every check accepts.
pub(crate) fn good_claims() -> String {
    json!({"aud": AS_ISSUER, "client_id": AS_CLIENT, "exp": NOW_SECS + 300}).to_string()
}

/// A compact JWS of two JSON texts, with a signature segment.
pub(crate) fn jws(header: &str, claims: &str) -> String {
    format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    )
}

/// What the client's checks made of an ID-JAG.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Accepted, with its scope.
    Accepted(Option<Scope>),
    /// A segment is not base64url or not a JSON object.
    Unreadable,
    /// A member name appears twice in a segment (shown).
    Repeated(String),
    /// The claim does not hold; what was read, as the error shows it.
    Claim(&'static str, String),
    /// The header member does not hold; its string value, as the error shows it.
    Header(&'static str, Option<String>),
}

/// The verdict of a token exchange answered with `token` as the ID-JAG.
pub(crate) fn exchanged(token: &str) -> Verdict {
    let body = json!({
        "access_token": token,
        "issued_token_type": TOKEN_TYPE_ID_JAG,
        "token_type": "N_A",
    });
    let subject = SubjectToken::IdToken(IdToken::new(subject_id_token()));
    let response = json_response(200, body.to_string().into_bytes());
    let exchanged = grants::exchange(subject, "idp-secret-7c0d", None, response, now());
    verdict(exchanged.outcome)
}

fn verdict(outcome: Result<IssuedIdJag, Error>) -> Verdict {
    let violation = match outcome {
        Ok(issued) => return Verdict::Accepted(issued.scope),
        Err(Error::InvalidResponse {
            purpose: Purpose::TokenExchange,
            violation,
        }) => violation,
        Err(other) => panic!("an ID-JAG refused for another reason than its reading: {other}"),
    };
    match violation {
        Violation::NotAJwt => Verdict::Unreadable,
        Violation::DuplicateField(name) => Verdict::Repeated(name),
        Violation::IdJagClaim { claim, found } => Verdict::Claim(claim, found),
        Violation::IdJagHeader { member, found, .. } => Verdict::Header(member, found),
        other => panic!("an ID-JAG violation the harness does not expect: {other:?}"),
    }
}

/// A member that may be one string or an array of exactly one (decisions.md D10).
fn one_string(value: Option<&Value>) -> Option<&str> {
    match value? {
        Value::String(text) => Some(text),
        Value::Array(items) => match items.as_slice() {
            [Value::String(text)] => Some(text),
            _ => None,
        },
        _ => None,
    }
}

/// The verdict the client's checks must reach on a signed ID-JAG whose segments read as
/// `header` and `claims` and whose signature segment is `signature`, for the fixed exchange
/// (audience [`AS_ISSUER`], client [`AS_CLIENT`], resource [`RESOURCE`], no scope), in the
/// order of protocol.md 6 rule 5: `typ`, `alg` and the signature, `enc`, `aud`, `client_id`,
/// `resource`, `exp`. What was read is shown as the client's messages word it.
pub(crate) fn expected(
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
    signature: &str,
) -> Verdict {
    let text = |object: &Map<String, Value>, name: &str| {
        object.get(name).and_then(Value::as_str).map(shown)
    };
    if header.get("typ").and_then(media_type).as_deref() != Some("oauth-id-jag+jwt") {
        let found = text(header, "typ").unwrap_or_else(|| "(none)".into());
        return Verdict::Claim("typ", found);
    }
    let signed = !signature.is_empty() && URL_SAFE_NO_PAD.decode(signature).is_ok();
    if !is_real_algorithm(header.get("alg")) || !signed {
        return Verdict::Header("alg", text(header, "alg"));
    }
    if header.contains_key("enc") {
        return Verdict::Header("enc", text(header, "enc"));
    }
    let aud = one_string(claims.get("aud"));
    if aud != Some(AS_ISSUER) {
        return Verdict::Claim("aud", shown(aud.unwrap_or("(not one string)")));
    }
    let client_id = claims.get("client_id").and_then(Value::as_str);
    if client_id != Some(AS_CLIENT) {
        return Verdict::Claim("client_id", shown(client_id.unwrap_or("(none)")));
    }
    if claims.contains_key("resource") {
        let resource = one_string(claims.get("resource"));
        if resource != Some(RESOURCE) {
            let found = shown(resource.unwrap_or("(not one string)"));
            return Verdict::Claim("resource", found);
        }
    }
    match claims.get("exp").and_then(xaa::jwt::numeric_date) {
        None => return Verdict::Claim("exp", "(missing or not a number)".into()),
        Some(exp) if exp <= NOW_SECS => return Verdict::Claim("exp", "already expired".into()),
        Some(_) => {}
    }
    let scope = claims
        .get("scope")
        .and_then(Value::as_str)
        .map(Scope::parse);
    Verdict::Accepted(scope)
}

/// One member value, read in one pass where the client reads it, against its map reading
/// `value`: as a string (`iss`, through the principal of an ID token), as a NumericDate
/// (`exp`, through an ID token's expiry, compared with the same number written plainly), and
/// as one string or a one-string array (`aud`, through a token exchange). `raw` is the value's
/// JSON text exactly as the token had it.
pub(crate) fn check_member(value: &Value, raw: &str) {
    let subject = |claims: String| SubjectToken::IdToken(IdToken::new(jws(GOOD_HEADER, &claims)));
    let principal = subject(format!(r#"{{"iss":{raw},"sub":"s"}}"#)).principal();
    let string = value.as_str().map(|iss| (iss.to_owned(), "s".to_owned()));
    assert_eq!(principal, string, "the string reading of {raw}");

    let expiry = subject(format!(r#"{{"exp":{raw}}}"#)).expires_at();
    let plain = xaa::jwt::numeric_date(value).map(|exp| {
        let plain = subject(format!(r#"{{"exp":{exp}}}"#)).expires_at();
        plain.unwrap_or_else(|| panic!("no expiry read from the plain number {exp}"))
    });
    assert_eq!(expiry, plain, "the NumericDate reading of {raw}");

    let claims = format!(
        r#"{{"aud":{raw},"client_id":{},"exp":{}}}"#,
        Value::from(AS_CLIENT),
        NOW_SECS + 300
    );
    let mut read = Map::new();
    read.insert("aud".into(), value.clone());
    read.insert("client_id".into(), Value::from(AS_CLIENT));
    read.insert("exp".into(), Value::from(NOW_SECS + 300));
    let header = match serde_json::from_str(GOOD_HEADER) {
        Ok(Value::Object(header)) => header,
        _ => panic!("the good header is an object"),
    };
    assert_eq!(
        exchanged(&jws(GOOD_HEADER, &claims)),
        expected(&header, &read, "c2ln"),
        "the one-string reading of {raw}"
    );
}
