//! WWW-Authenticate parsing through the public API: RFC examples, MCP shapes, malformed input,
//! and quickcheck properties (round trip, never panic).

use http::header::WWW_AUTHENTICATE;
use http::{HeaderMap, HeaderValue};
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use xaa::challenge::{
    AuthScheme, BearerChallenge, Challenge, ChallengeError, bearer_challenges, from_headers, parse,
};
use xaa::{ErrorCode, Scope};

fn ok(value: &str) -> Vec<Challenge> {
    parse(value).unwrap_or_else(|e| panic!("{value:?}: {e}"))
}

fn single(value: &str) -> Challenge {
    let mut list = ok(value);
    assert_eq!(list.len(), 1, "{value:?} gave {list:?}");
    list.remove(0)
}

fn bearer(value: &str) -> BearerChallenge {
    BearerChallenge::from_challenge(&single(value))
        .unwrap_or_else(|| panic!("{value:?} is not Bearer or DPoP"))
}

/// The documented limits of the parser: 16 KiB of input and 64 challenges, over all fields.
const MAX_HEADER_BYTES: usize = 16 * 1024;
const MAX_CHALLENGES: usize = 64;

/// Several field values as one response's `WWW-Authenticate` fields, parsed together.
fn parse_all<'a>(
    values: impl IntoIterator<Item = &'a HeaderValue>,
) -> Result<Vec<Challenge>, ChallengeError> {
    let mut map = HeaderMap::new();
    for value in values {
        map.append(WWW_AUTHENTICATE, value.clone());
    }
    from_headers(&map)
}

fn headers(values: &[&str]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for value in values {
        map.append(
            WWW_AUTHENTICATE,
            HeaderValue::from_str(value).unwrap_or_else(|e| panic!("{value:?}: {e}")),
        );
    }
    map
}

// RFC 6750 section 3.

#[test]
fn rfc6750_realm_only() {
    let c = single(r#"Bearer realm="example""#);
    assert_eq!(c.scheme(), "Bearer");
    assert_eq!(c.token68(), None);
    assert_eq!(c.param("realm"), Some("example"));
    let b = bearer(r#"Bearer realm="example""#);
    assert_eq!(b.scheme, AuthScheme::Bearer);
    assert_eq!(b.realm.as_deref(), Some("example"));
    assert_eq!(b.error, None);
}

#[test]
fn rfc6750_folded_invalid_token() {
    let value = "Bearer realm=\"example\",\r\n                       error=\"invalid_token\",\r\n                       error_description=\"The access token expired\"";
    let b = bearer(value);
    assert_eq!(b.realm.as_deref(), Some("example"));
    assert_eq!(b.error, Some(ErrorCode::InvalidToken));
    assert_eq!(
        b.error_description.as_deref(),
        Some("The access token expired")
    );
    // The same with LF-only folding and tabs.
    let b2 = bearer(
        "Bearer realm=\"example\",\n\terror=\"invalid_token\",\n\terror_description=\"The access token expired\"",
    );
    assert_eq!(b, b2);
}

// RFC 9728 section 5.1.

#[test]
fn rfc9728_resource_metadata() {
    let b = bearer(
        r#"Bearer resource_metadata="https://resource.example.com/.well-known/oauth-protected-resource""#,
    );
    assert_eq!(
        b.resource_metadata.as_deref(),
        Some("https://resource.example.com/.well-known/oauth-protected-resource")
    );
}

// MCP shapes.

#[test]
fn mcp_401_conformance_shape() {
    let map = headers(&[
        r#"Bearer error="invalid_token", error_description="Missing Authorization header", resource_metadata="http://localhost:1234/.well-known/oauth-protected-resource/mcp""#,
    ]);
    let list = bearer_challenges(&map).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(list.len(), 1);
    let b = BearerChallenge::preferred(&list).unwrap_or_else(|| panic!("no Bearer"));
    assert_eq!(b.error, Some(ErrorCode::InvalidToken));
    assert_eq!(
        b.error_description.as_deref(),
        Some("Missing Authorization header")
    );
    assert_eq!(
        b.resource_metadata.as_deref(),
        Some("http://localhost:1234/.well-known/oauth-protected-resource/mcp")
    );
    assert_eq!(b.scope, None);
}

#[test]
fn mcp_403_insufficient_scope() {
    let b = bearer(
        r#"Bearer error="insufficient_scope", scope="files:read files:write", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource", error_description="Additional file write permission required""#,
    );
    assert_eq!(b.error, Some(ErrorCode::InsufficientScope));
    assert_eq!(b.scope, Some(Scope::parse("files:read files:write")));
    let scope = b.scope.as_ref().map(|s| s.iter().collect::<Vec<_>>());
    assert_eq!(scope, Some(vec!["files:read", "files:write"]));
    assert_eq!(
        b.resource_metadata.as_deref(),
        Some("https://mcp.example.com/.well-known/oauth-protected-resource")
    );
    assert_eq!(
        b.error_description.as_deref(),
        Some("Additional file write permission required")
    );
}

// Lists.

#[test]
fn several_challenges_in_one_field() {
    let list = ok(r#"Basic realm="a", Bearer scope="x", DPoP algs="ES256""#);
    let schemes: Vec<_> = list.iter().map(Challenge::scheme).collect();
    assert_eq!(schemes, ["Basic", "Bearer", "DPoP"]);
    assert_eq!(list.first().and_then(|c| c.param("realm")), Some("a"));
    assert_eq!(list.get(1).and_then(|c| c.param("scope")), Some("x"));
    assert_eq!(list.get(2).and_then(|c| c.param("algs")), Some("ES256"));

    let map = headers(&[r#"Basic realm="a", Bearer scope="x", DPoP algs="ES256""#]);
    let bearers = bearer_challenges(&map).unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<_> = bearers.iter().map(|b| b.scheme).collect();
    assert_eq!(kinds, [AuthScheme::Bearer, AuthScheme::DPoP]);
    assert_eq!(
        BearerChallenge::preferred(&bearers).map(|b| b.scheme),
        Some(AuthScheme::Bearer)
    );
}

#[test]
fn several_fields() {
    let map = headers(&[
        r#"DPoP algs="ES256 PS256""#,
        r#"Basic realm="a""#,
        r#"Bearer realm="b", scope="s1 s2""#,
    ]);
    let list = from_headers(&map).unwrap_or_else(|e| panic!("{e}"));
    let schemes: Vec<_> = list.iter().map(Challenge::scheme).collect();
    assert_eq!(schemes, ["DPoP", "Basic", "Bearer"]);
    let via_parse_all = parse_all(map.get_all(WWW_AUTHENTICATE)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(list, via_parse_all);
    let bearers = bearer_challenges(&map).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bearers.len(), 2);
    let preferred = BearerChallenge::preferred(&bearers).unwrap_or_else(|| panic!("no Bearer"));
    assert_eq!(preferred.realm.as_deref(), Some("b"));
    // No field at all: no challenge, no error.
    assert_eq!(from_headers(&HeaderMap::new()), Ok(Vec::new()));
}

#[test]
fn error_in_one_field_fails_all() {
    let map = headers(&[r#"Bearer realm="a""#, r#"Bearer a="b" c"#]);
    assert!(matches!(
        bearer_challenges(&map),
        Err(ChallengeError::UnexpectedCharacter { found: 'c', .. })
    ));
}

#[test]
fn dpop_only_is_not_preferred() {
    let map = headers(&[r#"DPoP error="invalid_token", algs="ES256""#]);
    let bearers = bearer_challenges(&map).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bearers.len(), 1);
    assert_eq!(bearers.first().map(|b| b.scheme), Some(AuthScheme::DPoP));
    assert_eq!(
        bearers.first().and_then(|b| b.error.clone()),
        Some(ErrorCode::InvalidToken)
    );
    assert!(BearerChallenge::preferred(&bearers).is_none());
}

#[test]
fn other_schemes_are_not_bearer() {
    assert!(BearerChallenge::from_challenge(&single(r#"Basic realm="x""#)).is_none());
    let map = headers(&["Basic dXNlcjpwYXNz", "Negotiate"]);
    assert_eq!(bearer_challenges(&map), Ok(Vec::new()));
}

// token68.

#[test]
fn token68() {
    // `a=` after a scheme is a token68 with padding, not a parameter without a value.
    assert_eq!(single("Bearer a=").token68(), Some("a="));
    let c = single("Basic dXNlcjpwYXNz");
    assert_eq!(c.token68(), Some("dXNlcjpwYXNz"));
    assert!(c.params().is_empty());
    assert_eq!(
        single("Basic dXNlcjpwYXNz==").token68(),
        Some("dXNlcjpwYXNz==")
    );

    let list = ok(r#"Negotiate abc==, Bearer realm="x""#);
    assert_eq!(list.len(), 2);
    assert_eq!(list.first().and_then(Challenge::token68), Some("abc=="));
    assert_eq!(list.get(1).and_then(|c| c.param("realm")), Some("x"));
}

// Case, unquoted values, escapes, empty elements.

#[test]
fn case_insensitive_scheme_and_names() {
    let c = single(r#"bEaReR SCOPE="a""#);
    assert_eq!(c.scheme(), "bEaReR");
    assert!(c.is_scheme("Bearer"));
    assert_eq!(c.params(), [("scope".to_owned(), "a".to_owned())]);
    assert_eq!(c.param("Scope"), Some("a"));
    let b = bearer(r#"bEaReR SCOPE="a""#);
    assert_eq!(b.scheme, AuthScheme::Bearer);
    assert_eq!(b.scope, Some(Scope::parse("a")));
    assert_eq!(bearer("dpop algs=ES256").scheme, AuthScheme::DPoP);
}

#[test]
fn unquoted_token_values() {
    let b = bearer("Bearer error=invalid_token, realm=example, max_age=300");
    assert_eq!(b.error, Some(ErrorCode::InvalidToken));
    assert_eq!(b.realm.as_deref(), Some("example"));
    assert_eq!(b.max_age, Some(300));
}

#[test]
fn escapes() {
    let c = single(r#"Bearer realm="a\"b\\c""#);
    assert_eq!(c.param("realm"), Some(r#"a"b\c"#));
    assert_eq!(single(r#"Bearer realm="\a\b""#).param("realm"), Some("ab"));
    assert_eq!(c.render(), r#"Bearer realm="a\"b\\c""#);
}

#[test]
fn empty_elements() {
    let list = ok(r#" , Bearer realm="a" , , scope="b",, , Basic ,"#);
    assert_eq!(list.len(), 2);
    assert_eq!(list.first().and_then(|c| c.param("scope")), Some("b"));
    assert_eq!(ok(""), Vec::new());
    assert_eq!(ok(" ,, ,\t"), Vec::new());
}

#[test]
fn max_age() {
    let b = bearer(
        r#"Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="5""#,
    );
    assert_eq!(b.error, Some(ErrorCode::InsufficientUserAuthentication));
    assert_eq!(b.max_age, Some(5));
    // Not a decimal integer: treated as absent, raw value still on the Challenge.
    let c = single(r#"Bearer max_age="soon""#);
    let b = BearerChallenge::from_challenge(&c).unwrap_or_else(|| panic!("not Bearer"));
    assert_eq!(b.max_age, None);
    assert_eq!(c.param("max_age"), Some("soon"));
    assert_eq!(bearer(r#"Bearer max_age="-1""#).max_age, None);
}

// Rendering.

#[test]
fn challenge_render() {
    let c = Challenge::new("Bearer")
        .and_then(|c| c.with_param("Realm", "ex\"am\\ple"))
        .and_then(|c| c.with_param("scope", "a b"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.render(), r#"Bearer realm="ex\"am\\ple", scope="a b""#);
    assert_eq!(ok(&c.render()), [c]);
    assert_eq!(
        Challenge::new("Negotiate")
            .and_then(|c| c.with_token68("abc=="))
            .map(|c| c.render()),
        Ok("Negotiate abc==".to_owned())
    );
    assert_eq!(
        Challenge::new("Basic").map(|c| c.render()),
        Ok("Basic".to_owned())
    );
}

#[test]
fn bearer_render_round_trip() {
    let mut b = BearerChallenge::new(AuthScheme::Bearer);
    b.realm = Some("mcp".into());
    b.resource_metadata =
        Some("https://mcp.example.com/.well-known/oauth-protected-resource".into());
    b.scope = Some(Scope::parse("files:read files:write"));
    b.error = Some(ErrorCode::InsufficientScope);
    b.error_description = Some("needs \"write\"".into());
    b.error_uri = Some("https://example.com/err".into());
    b.max_age = Some(60);
    let rendered = b.render();
    assert_eq!(
        rendered,
        r#"Bearer realm="mcp", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource", scope="files:read files:write", error="insufficient_scope", error_description="needs \"write\"", error_uri="https://example.com/err", max_age="60""#
    );
    assert!(HeaderValue::from_str(&rendered).is_ok());
    assert_eq!(bearer(&rendered), b);

    let dpop = BearerChallenge::new(AuthScheme::DPoP);
    assert_eq!(dpop.render(), "DPoP");
    assert_eq!(bearer("DPoP"), dpop);

    // What a quoted-string cannot carry is replaced, keeping the header valid.
    let mut odd = BearerChallenge::new(AuthScheme::Bearer);
    odd.error_description = Some("line\nbreak é".into());
    assert_eq!(odd.render(), r#"Bearer error_description="line?break ?""#);
    assert!(HeaderValue::from_str(&odd.render()).is_ok());
}

// Malformed input: an error, never a panic.

#[test]
fn malformed_inputs() {
    let cases = [
        r#"Bearer realm="example"#,
        r#"Bearer realm="a\"#,
        "Bearer =x",
        r#"Bearer a="b" c"#,
        r#"Bearer a="b" "c""#,
        "Bearer x=1, a=",
        "Bearer x=1, a=,",
        r#"Bearer a=b, ="c""#,
        r#"realm="x""#,
        r#"Basic abc, realm="x""#,
        r#"Bearer realm="a", realm="b""#,
        r#"Bearer"x""#,
        "Bearer a=b=c",
        "Basic abc==x",
        "Basic abc ==",
        "Bearer realm=\"a\u{0}b\"",
        "Bearer realm=\"a\rb\"",
        "Bearer\u{7f} realm=\"a\"",
        "Bearer realm=\u{1b}x",
        "Bearer realm=\"caf\u{e9}\"",
        "(Bearer)",
        "Bearer @",
        ",=",
    ];
    for case in cases {
        assert!(parse(case).is_err(), "{case:?} parsed as {:?}", parse(case));
    }
    assert!(matches!(
        parse(r#"Bearer realm="example"#),
        Err(ChallengeError::UnterminatedQuote { position: 13 })
    ));
    assert!(matches!(
        parse(r#"Bearer a="b" c"#),
        Err(ChallengeError::UnexpectedCharacter {
            position: 13,
            found: 'c'
        })
    ));
}

#[test]
fn non_ascii_header_bytes() {
    let value = HeaderValue::from_bytes(b"Bearer realm=\"\xff\"").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        parse_all([&value]),
        Err(ChallengeError::NonAscii { position: 14 })
    );
    let mut map = HeaderMap::new();
    map.append(WWW_AUTHENTICATE, value);
    assert_eq!(
        bearer_challenges(&map),
        Err(ChallengeError::NonAscii { position: 14 })
    );
    let utf8 =
        HeaderValue::from_bytes("Bearer realm=\"é\"".as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        parse_all([&utf8]),
        Err(ChallengeError::NonAscii { .. })
    ));
}

#[test]
fn over_long_input() {
    let long = format!(r#"Bearer realm="{}""#, "a".repeat(MAX_HEADER_BYTES));
    assert!(matches!(parse(&long), Err(ChallengeError::TooLong { .. })));
    // Exactly at the limit is fine.
    let prefix = r#"Bearer realm="""#.len();
    let fits = format!(
        r#"Bearer realm="{}""#,
        "a".repeat(MAX_HEADER_BYTES - prefix)
    );
    assert_eq!(fits.len(), MAX_HEADER_BYTES);
    assert!(parse(&fits).is_ok());
    // The limit is over all fields together.
    let half = format!(r#"Bearer realm="{}""#, "a".repeat(MAX_HEADER_BYTES / 2));
    let map = headers(&[&half, &half]);
    assert!(matches!(
        from_headers(&map),
        Err(ChallengeError::TooLong { .. })
    ));
    // So is the challenge count.
    let many = vec!["Basic"; MAX_CHALLENGES / 2 + 1].join(", ");
    let map = headers(&[&many, &many]);
    assert_eq!(
        from_headers(&map),
        Err(ChallengeError::TooManyChallenges {
            limit: MAX_CHALLENGES
        })
    );
}

// Properties.

const TCHAR: &[u8] =
    b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const TOKEN68: &[u8] = b"-._~+/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn below(g: &mut Gen, n: usize) -> usize {
    usize::arbitrary(g) % n.max(1)
}

fn pick(g: &mut Gen, alphabet: &[u8], min: usize, max: usize) -> String {
    let len = min + below(g, max - min + 1);
    (0..len)
        .map(|_| char::from(g.choose(alphabet).copied().unwrap_or(b'a')))
        .collect()
}

fn printable(g: &mut Gen, max: usize) -> String {
    let len = below(g, max + 1);
    (0..len)
        .map(|_| {
            // Bias towards the characters that need escaping.
            match below(g, 8) {
                0 => '"',
                1 => '\\',
                2 => ' ',
                _ => char::from(0x20 + (u8::arbitrary(g) % 0x5f)),
            }
        })
        .collect()
}

/// A list of valid challenges, built through the public builders.
#[derive(Clone, Debug)]
struct Challenges(Vec<Challenge>);

impl Arbitrary for Challenges {
    fn arbitrary(g: &mut Gen) -> Self {
        let count = 1 + below(g, 5);
        let mut list = Vec::new();
        for _ in 0..count {
            let Ok(mut c) = Challenge::new(&pick(g, TCHAR, 1, 8)) else {
                continue;
            };
            if below(g, 4) == 0 {
                let t68 = format!("{}{}", pick(g, TOKEN68, 1, 12), "=".repeat(below(g, 3)));
                if let Ok(with) = c.clone().with_token68(&t68) {
                    c = with;
                }
            } else {
                for _ in 0..below(g, 6) {
                    // Duplicate names are refused by the builder; skip them.
                    if let Ok(with) = c
                        .clone()
                        .with_param(&pick(g, TCHAR, 1, 8), &printable(g, 16))
                    {
                        c = with;
                    }
                }
            }
            list.push(c);
        }
        Challenges(list)
    }
}

#[test]
fn prop_render_then_parse_round_trips() {
    fn prop(Challenges(list): Challenges) -> TestResult {
        let rendered: Vec<String> = list.iter().map(Challenge::render).collect();
        // One field.
        let joined = rendered.join(", ");
        if parse(&joined).as_ref() != Ok(&list) {
            return TestResult::error(format!("{joined:?} -> {:?}", parse(&joined)));
        }
        // One field per challenge, each a valid HeaderValue.
        let mut values = Vec::new();
        for r in &rendered {
            match HeaderValue::from_str(r) {
                Ok(v) => values.push(v),
                Err(e) => return TestResult::error(format!("{r:?} is not a header value: {e}")),
            }
        }
        TestResult::from_bool(parse_all(&values) == Ok(list))
    }
    QuickCheck::new().quickcheck(prop as fn(Challenges) -> TestResult);
}

#[test]
fn prop_parse_never_panics_on_arbitrary_strings() {
    fn prop(s: String) -> bool {
        let _ = parse(&s);
        if let Ok(v) = HeaderValue::from_bytes(s.as_bytes()) {
            let _ = parse_all([&v]);
        }
        true
    }
    QuickCheck::new().quickcheck(prop as fn(String) -> bool);
}

const SEEDS: &[&str] = &[
    r#"Bearer realm="example""#,
    "Bearer realm=\"example\",\r\n error=\"invalid_token\",\r\n error_description=\"The access token expired\"",
    r#"Bearer error="insufficient_scope", scope="files:read files:write", resource_metadata="https://x/.well-known/oauth-protected-resource""#,
    r#"Basic realm="a", Bearer scope="x", DPoP algs="ES256""#,
    r#"Negotiate abc==, Bearer realm="x""#,
    "Basic dXNlcjpwYXNz",
    r#"Bearer realm="a\"b\\c", , max_age=5"#,
];

/// A seed header with random edits, biased towards the grammar's delimiters.
#[derive(Clone, Debug)]
struct Mutated(String);

impl Arbitrary for Mutated {
    fn arbitrary(g: &mut Gen) -> Self {
        const NASTY: &[u8] = b"\"\\=, \t\r\n/~+a7\x00\x01\x7f";
        let seed = g.choose(SEEDS).copied().unwrap_or("Bearer");
        let mut bytes = seed.as_bytes().to_vec();
        for _ in 0..1 + below(g, 6) {
            let at = below(g, bytes.len() + 1);
            let byte = g.choose(NASTY).copied().unwrap_or(b'=');
            match below(g, 5) {
                0 => bytes.insert(at, byte),
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                2 if at < bytes.len() => {
                    if let Some(b) = bytes.get_mut(at) {
                        *b = byte;
                    }
                }
                3 => bytes.truncate(at),
                _ => {
                    let copy: Vec<u8> = bytes.get(at..).unwrap_or_default().to_vec();
                    bytes.extend_from_slice(&copy);
                }
            }
        }
        if below(g, 10) == 0 {
            let at = below(g, bytes.len() + 1);
            bytes.splice(at..at, "é".bytes());
        }
        Mutated(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[test]
fn prop_parse_never_panics_on_mutations_and_is_stable() {
    fn prop(Mutated(s): Mutated) -> TestResult {
        if let Ok(v) = HeaderValue::from_bytes(s.as_bytes()) {
            let _ = parse_all([&v]);
        }
        match parse(&s) {
            Err(_) => TestResult::passed(),
            // Whatever parses renders to something that parses back to the same challenges.
            Ok(list) => {
                let rendered: Vec<String> = list.iter().map(Challenge::render).collect();
                let again = parse(&rendered.join(", "));
                if again.as_ref() == Ok(&list) {
                    TestResult::passed()
                } else {
                    TestResult::error(format!("{s:?} -> {list:?} -> {rendered:?} -> {again:?}"))
                }
            }
        }
    }
    QuickCheck::new().quickcheck(prop as fn(Mutated) -> TestResult);
}
