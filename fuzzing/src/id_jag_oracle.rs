//! The client-side checks of an ID-JAG (protocol.md 6 rule 5, decisions.md D10 and D11),
//! written again independently of `grant`, with serde_json and the base64 crate: the targets
//! assert that every ID-JAG the client accepted passes them.

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use xaa::Scope;

use crate::world::{split_jws, unix};

/// What an accepted `alg` or `enc` looks like (RFC 7515 section 4.1.1, RFC 8725 sections 2.1
/// and 3.1): 1 to 64 bytes of printable ASCII, not `none` in any case.
pub(crate) fn is_real_algorithm(value: Option<&Value>) -> bool {
    let Some(name) = value.and_then(Value::as_str) else {
        return false;
    };
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| (0x21..=0x7e).contains(&b))
        && !name.eq_ignore_ascii_case("none")
}

/// A `typ` or `cty` value, lowercased and without the `application/` prefix.
pub(crate) fn media_type(value: &Value) -> Option<String> {
    let lower = value.as_str()?.to_ascii_lowercase();
    Some(
        lower
            .strip_prefix("application/")
            .map_or(lower.clone(), str::to_owned),
    )
}

/// An accepted encrypted ID-JAG (decisions.md D11): every segment base64url, a protected
/// header that is a JSON object with a real `alg` and `enc`, a `typ` of the ID-JAG type or
/// `JWT` and a `cty` of `JWT` when present, and an encrypted key empty exactly for `dir` and
/// `ECDH-ES` (RFC 7516 sections 4.1, 5.1 and 7.1; RFC 7519 section 5.2).
fn check_encrypted(segments: &[&str]) {
    for segment in segments {
        assert!(
            URL_SAFE_NO_PAD.decode(segment).is_ok(),
            "an accepted JWE with a segment that is not base64url"
        );
    }
    let header: Option<Map<String, Value>> = URL_SAFE_NO_PAD
        .decode(segments[0])
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let Some(header) = header else {
        panic!("an accepted JWE whose protected header is not a JSON object");
    };
    for member in ["alg", "enc"] {
        assert!(
            is_real_algorithm(header.get(member)),
            "an accepted JWE with {member} {:?}",
            header.get(member)
        );
    }
    if let Some(typ) = header.get("typ") {
        assert!(
            matches!(media_type(typ).as_deref(), Some("oauth-id-jag+jwt" | "jwt")),
            "an accepted JWE with typ {typ:?}"
        );
    }
    if let Some(cty) = header.get("cty") {
        assert_eq!(
            media_type(cty).as_deref(),
            Some("jwt"),
            "an accepted JWE with cty {cty:?}"
        );
    }
    let direct = matches!(
        header.get("alg").and_then(Value::as_str),
        Some("dir" | "ECDH-ES")
    );
    assert_eq!(
        segments[1].is_empty(),
        direct,
        "an accepted JWE whose encrypted key does not fit its alg"
    );
}

/// The client-side checks of protocol.md 6 rule 5: an accepted ID-JAG is a JWE that passes
/// [`check_encrypted`] (returns `None`) or a JWS whose header has the ID-JAG `typ`, a real
/// `alg` with a non-empty base64url signature and no `enc`, whose `aud` is `audience`,
/// `client_id` is `client_id`, `resource` (if present) is `resource`, whose `exp` is after
/// `now` (returned) and whose scope lies within the request's. The `exp` comes back in seconds
/// since the epoch.
pub(crate) fn check_id_jag(
    token: &str,
    audience: &str,
    client_id: &str,
    resource: &str,
    requested: Option<&Scope>,
    now: SystemTime,
) -> Option<u64> {
    let segments: Vec<&str> = token.split('.').collect();
    if segments.len() == 5 {
        check_encrypted(&segments);
        return None;
    }
    assert_eq!(
        segments.len(),
        3,
        "an accepted ID-JAG is a compact JWS or JWE"
    );
    let Some((header, claims)) = split_jws(token) else {
        panic!("an accepted ID-JAG whose header or claims cannot be read");
    };
    let typ = header.get("typ").and_then(media_type);
    assert_eq!(
        typ.as_deref(),
        Some("oauth-id-jag+jwt"),
        "accepted ID-JAG typ"
    );
    assert!(
        is_real_algorithm(header.get("alg")),
        "accepted ID-JAG alg {:?}",
        header.get("alg")
    );
    assert!(
        !segments[2].is_empty() && URL_SAFE_NO_PAD.decode(segments[2]).is_ok(),
        "an accepted ID-JAG without a signature"
    );
    assert!(
        !header.contains_key("enc"),
        "an accepted three-segment ID-JAG whose header names `enc`"
    );
    let one = |value: Option<&Value>| -> Option<String> {
        match value? {
            Value::String(s) => Some(s.clone()),
            Value::Array(items) if items.len() == 1 => items[0].as_str().map(str::to_owned),
            _ => None,
        }
    };
    assert_eq!(
        one(claims.get("aud")).as_deref(),
        Some(audience),
        "ID-JAG aud"
    );
    assert_eq!(
        claims.get("client_id").and_then(Value::as_str),
        Some(client_id),
        "ID-JAG client_id"
    );
    if let Some(found) = claims.get("resource") {
        assert_eq!(
            one(Some(found)).as_deref(),
            Some(resource),
            "ID-JAG resource"
        );
    }
    let exp = match claims.get("exp") {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        _ => None,
    };
    let Some(exp) = exp else {
        panic!("an accepted ID-JAG without a numeric exp");
    };
    assert!(exp > unix(now), "an accepted ID-JAG already expired");
    if let (Some(requested), Some(scope)) = (requested, claims.get("scope").and_then(Value::as_str))
    {
        assert!(
            Scope::parse(scope).is_subset_of(requested),
            "the ID-JAG scope widens the request"
        );
    }
    Some(exp)
}
