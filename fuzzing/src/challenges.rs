//! The `www_authenticate` target: the `WWW-Authenticate` parser (`xaa::challenge`).

use http::header::WWW_AUTHENTICATE;
use http::{HeaderMap, HeaderValue};
use xaa::ErrorCode;
use xaa::challenge::{self, BearerChallenge, Challenge, ChallengeError};

use crate::checks::{assert_single_line, check_scope};

/// The limits the `challenge` module documents: 16 KiB of input and 64 challenges over all
/// fields, 64 parameters in one challenge.
const MAX_HEADER_BYTES: usize = 16 * 1024;
const MAX_CHALLENGES: usize = 64;
const MAX_PARAMS: usize = 64;

/// `WWW-Authenticate` (RFC 9110 section 11.6.1): `challenge::parse`, `challenge::from_headers`
/// and `challenge::bearer_challenges` never panic; a parse respects the limits; rendering
/// every challenge and parsing the result gives the same challenges; a Bearer challenge
/// re-renders and re-parses to the same interpretation; error positions lie inside the input;
/// several fields parse as the concatenation of their parses. The whole input is one field
/// value; split at NUL bytes it is also a list of header fields.
pub fn www_authenticate(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        check_field_value(text);
    }
    let mut headers = HeaderMap::new();
    for part in data.split(|b| *b == 0).take(8) {
        if let Ok(value) = HeaderValue::from_bytes(part) {
            headers.append(WWW_AUTHENTICATE, value);
        }
    }
    check_header_fields(&headers);
}

fn check_field_value(text: &str) {
    let parsed = challenge::parse(text);
    if text.len() > MAX_HEADER_BYTES {
        assert!(
            matches!(parsed, Err(ChallengeError::TooLong { .. })),
            "an over-long value must be refused as such: {parsed:?}"
        );
        return;
    }
    if let Ok(value) = HeaderValue::from_str(text)
        && value.to_str().is_ok()
    {
        let mut one_field = HeaderMap::new();
        one_field.append(WWW_AUTHENTICATE, value);
        let all = challenge::from_headers(&one_field);
        assert_eq!(
            all, parsed,
            "one field through from_headers must equal parse"
        );
    }
    match parsed {
        Ok(list) => {
            check_challenges(&list);
            let rendered: Vec<String> = list.iter().map(Challenge::render).collect();
            let joined = rendered.join(", ");
            if joined.len() <= MAX_HEADER_BYTES {
                assert_eq!(
                    challenge::parse(&joined).as_ref(),
                    Ok(&list),
                    "re-rendered challenges parse differently: {joined:?}"
                );
            }
            for (one, text) in list.iter().zip(&rendered) {
                if text.len() <= MAX_HEADER_BYTES {
                    assert_eq!(
                        challenge::parse(text),
                        Ok(vec![one.clone()]),
                        "one rendered challenge must parse back alone"
                    );
                }
                if let Some(bearer) = BearerChallenge::from_challenge(one) {
                    check_bearer_round_trip(&bearer);
                }
                if let Some(scope) = one.param("scope") {
                    check_scope(scope);
                }
            }
        }
        Err(error) => check_challenge_error(&error, text.len()),
    }
}

fn check_challenges(list: &[Challenge]) {
    assert!(list.len() <= MAX_CHALLENGES, "too many challenges");
    for challenge in list {
        assert!(is_token(challenge.scheme()), "a scheme is a token");
        assert!(
            challenge.params().len() <= MAX_PARAMS,
            "too many parameters"
        );
        assert!(
            challenge.token68().is_none() || challenge.params().is_empty(),
            "a token68 and parameters together"
        );
        for (i, (name, value)) in challenge.params().iter().enumerate() {
            assert!(is_token(name), "a parameter name is a token");
            assert_eq!(name, &name.to_ascii_lowercase(), "names are lowercased");
            assert!(
                value
                    .bytes()
                    .all(|b| b == b'\t' || (0x20..0x7f).contains(&b)),
                "a value holds only what a quoted-string can carry"
            );
            assert!(
                challenge.params()[..i].iter().all(|(n, _)| n != name),
                "a parameter name appears twice"
            );
            assert_eq!(
                challenge.param(&name.to_ascii_uppercase()),
                Some(value.as_str())
            );
        }
    }
}

fn check_bearer_round_trip(bearer: &BearerChallenge) {
    let rendered = bearer.render();
    if rendered.len() > MAX_HEADER_BYTES {
        return;
    }
    let reparsed = challenge::parse(&rendered);
    let Ok(list) = reparsed else {
        panic!("a rendered Bearer challenge does not parse: {rendered:?}: {reparsed:?}");
    };
    assert_eq!(list.len(), 1, "one Bearer challenge renders as one");
    let again = list
        .first()
        .and_then(BearerChallenge::from_challenge)
        .unwrap_or_else(|| panic!("the scheme survives rendering: {rendered:?}"));
    // An unknown error code longer than the error-text limit was truncated with an ellipsis,
    // which renders as `?`: only that field may differ.
    let truncated = matches!(&bearer.error, Some(ErrorCode::Other(code)) if code.contains('…'));
    if truncated {
        let mut expected = bearer.clone();
        let mut found = again;
        expected.error = None;
        found.error = None;
        assert_eq!(found, expected);
    } else {
        assert_eq!(
            &again, bearer,
            "a Bearer challenge changes when re-rendered"
        );
    }
}

fn check_challenge_error(error: &ChallengeError, len: usize) {
    use ChallengeError as E;
    let position = match error {
        E::NonAscii { position }
        | E::ControlCharacter { position }
        | E::ExpectedToken { position }
        | E::ExpectedValue { position }
        | E::UnexpectedCharacter { position, .. }
        | E::UnterminatedQuote { position }
        | E::ParamWithoutScheme { position }
        | E::ParamAfterToken68 { position } => Some(*position),
        _ => None,
    };
    if let Some(position) = position {
        assert!(position <= len, "error position {position} beyond {len}");
    }
    assert_single_line(&error.to_string());
}

fn check_header_fields(headers: &HeaderMap) {
    let all = challenge::from_headers(headers);
    let fields: Vec<&HeaderValue> = headers.get_all(WWW_AUTHENTICATE).iter().collect();
    let bearer = challenge::bearer_challenges(headers);
    match &all {
        Ok(list) => {
            check_challenges(list);
            let expected: Vec<BearerChallenge> = list
                .iter()
                .filter_map(BearerChallenge::from_challenge)
                .collect();
            assert_eq!(bearer.as_ref(), Ok(&expected));
            // Each field alone, concatenated: the same list (fields never join).
            let mut concatenated = Vec::new();
            for field in &fields {
                let Ok(text) = field.to_str() else {
                    panic!("a field that parsed is visible ASCII");
                };
                match challenge::parse(text) {
                    Ok(one) => concatenated.extend(one),
                    Err(error) => panic!("a field fails alone but not in the list: {error}"),
                }
            }
            assert_eq!(&concatenated, list);
        }
        Err(_) => assert!(bearer.is_err(), "bearer_challenges hides a syntax error"),
    }
}

fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
