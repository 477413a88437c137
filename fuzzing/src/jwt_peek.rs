//! The `jwt_peek` target: peeking at a compact JWT without verification (`xaa::jwt`), and the
//! client's one-pass reading of the same token (see `id_jag_reading`).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use xaa::grant::{IssuedIdJag, SubjectToken};
use xaa::jwt::{self, JwtError, PeekedJwt};
use xaa::{IdJag, IdToken};

use crate::checks::now;
use crate::id_jag_reading::{self, GOOD_HEADER, Verdict, check_member, exchanged, good_claims};
use crate::jwt_shape::{MAX_JWT_BYTES, Shape, peeked_shape, shape};
use crate::shown::shown;
use crate::unique_object::{ObjectFault, unique_object};

/// Peeking at a compact JWT without verification: the shape `jwt::peek` and the resubmitted
/// ID-JAG's `encrypted` flag see is the shape by the definition; a peek succeeds only on a JWS
/// and yields exactly the objects serde_json reads from its segments (refusing a repeated
/// member, by name), which re-encode to the same values; claim accessors agree with the maps.
/// The client's one-pass reading agrees with the map reading: it refuses a segment exactly
/// when the map reading does, and reads every claim (as a string, a NumericDate, one string or
/// a one-string array, decisions.md D10) and the token's own `typ`, `alg`, `enc`, `aud`,
/// `client_id`, `resource`, `exp` and `scope` as the map holds them. The subject-token helpers
/// never panic.
pub fn jwt_peek(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let expected_shape = shape(token);
    let peeked = jwt::peek(token);
    assert_eq!(
        peeked_shape(&peeked),
        expected_shape,
        "the shape of {token:?}"
    );
    let resubmitted = IssuedIdJag::resubmitted(IdJag::new(token), now());
    assert_eq!(resubmitted.encrypted, expected_shape == Shape::Jwe);
    if let Some((header, payload, _)) = jws_segments(token, expected_shape) {
        assert_eq!(
            peeked,
            expected_peek(header, payload),
            "peeking at {token:?}"
        );
        check_segment_reading(header, Position::Header);
        check_segment_reading(payload, Position::Payload);
    }
    if let Ok(peeked) = &peeked {
        check_peeked(peeked);
        if let Some((_, payload, signature)) = jws_segments(token, expected_shape) {
            check_claim_readings(payload, peeked);
            let read = exchanged(token);
            crate::trace!("the client reads {token}: {read:?}");
            assert_eq!(
                read,
                id_jag_reading::expected(&peeked.header, &peeked.claims, signature),
                "the client's reading of {token:?}"
            );
        }
    }
    let subject = SubjectToken::IdToken(IdToken::new(token));
    let _ = subject.expires_at();
    let _ = subject.principal();
}

/// The header, payload and signature segments of a JWS.
fn jws_segments(token: &str, shape: Shape) -> Option<(&str, &str, &str)> {
    if shape != Shape::Jws {
        return None;
    }
    let mut segments = token.split('.');
    Some((segments.next()?, segments.next()?, segments.next()?))
}

/// A segment's object as serde_json reads it, or why it is none.
fn segment_object(segment: &str) -> Result<Map<String, Value>, JwtError> {
    let json = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtError::Base64)?;
    unique_object(&json).map_err(|fault| match fault {
        ObjectFault::NotAnObject => JwtError::Json,
        ObjectFault::Repeated(name) => JwtError::DuplicateMember(shown(&name)),
    })
}

/// What peeking at a JWS gives: its header, then its claims, each as serde_json reads it.
fn expected_peek(header: &str, payload: &str) -> Result<PeekedJwt, JwtError> {
    let header = segment_object(header)?;
    let claims = segment_object(payload)?;
    Ok(PeekedJwt { header, claims })
}

/// Where a segment goes in a token made around it.
#[derive(Clone, Copy, Debug)]
enum Position {
    Header,
    Payload,
}

/// The client's reading of one segment, placed in a token whose other segment every check
/// accepts: it refuses the segment exactly when the map reading does, a repeated member by
/// its name, and peeking at the same token agrees.
fn check_segment_reading(segment: &str, position: Position) {
    let encode = |json: &str| URL_SAFE_NO_PAD.encode(json);
    let token = match position {
        Position::Header => format!("{segment}.{}.c2ln", encode(&good_claims())),
        Position::Payload => format!("{}.{segment}.c2ln", encode(GOOD_HEADER)),
    };
    if token.len() > MAX_JWT_BYTES {
        // Too long to be peeked at or read at all, whatever the segment holds.
        return;
    }
    let object = segment_object(segment);
    let peeked = jwt::peek(&token);
    match (&object, &peeked) {
        (Ok(object), Ok(peeked)) => {
            let read = match position {
                Position::Header => &peeked.header,
                Position::Payload => &peeked.claims,
            };
            assert_eq!(read, object, "the map reading of {segment:?}");
        }
        (Err(fault), Err(error)) => assert_eq!(error, fault, "peeking at {segment:?}"),
        _ => panic!("peeking at {segment:?} gave {peeked:?}, serde_json {object:?}"),
    }
    let read = exchanged(&token);
    match object {
        Ok(_) => assert!(
            !matches!(read, Verdict::Unreadable | Verdict::Repeated(_)),
            "the client cannot read {segment:?}: {read:?}"
        ),
        Err(JwtError::DuplicateMember(name)) => assert_eq!(read, Verdict::Repeated(name)),
        Err(_) => assert_eq!(read, Verdict::Unreadable, "the client read {segment:?}"),
    }
}

/// Every claim's value, read in one pass from its own JSON text, against the map.
fn check_claim_readings(payload: &str, peeked: &PeekedJwt) {
    let Ok(json) = URL_SAFE_NO_PAD.decode(payload) else {
        panic!("peeked claims that do not decode");
    };
    let raw: BTreeMap<String, &RawValue> = match serde_json::from_slice(&json) {
        Ok(raw) => raw,
        Err(error) => panic!("peeked claims serde_json cannot read: {error}"),
    };
    for (name, value) in &peeked.claims {
        let Some(text) = raw.get(name) else {
            panic!("the claim {name:?} has no text");
        };
        check_member(value, text.get());
    }
}

/// What peeking promises of a JWS it read: the maps re-encode to the same token, and the
/// claim accessors read the maps.
fn check_peeked(peeked: &PeekedJwt) {
    let rebuilt = format!(
        "{}.{}.c2ln",
        jwt::encode_segment(&peeked.header),
        jwt::encode_segment(&peeked.claims)
    );
    if !has_float(&Value::Object(peeked.header.clone()))
        && !has_float(&Value::Object(peeked.claims.clone()))
    {
        assert_eq!(
            jwt::peek(&rebuilt).as_ref(),
            Ok(peeked),
            "re-encoding changes a JWT"
        );
    }
    for (name, value) in &peeked.claims {
        assert_eq!(peeked.claim_str(name), value.as_str());
        let time = peeked.claim_time(name);
        if let Some(n) = value.as_u64() {
            assert_eq!(time, Some(n));
        }
        if value.as_i64().is_some_and(|n| n < 0) || !value.is_number() {
            assert_eq!(time, None);
        }
    }
}

fn has_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}
