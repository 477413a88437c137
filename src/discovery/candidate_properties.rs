//! Properties of the well-known metadata URLs (RFC 9728 section 3.1, RFC 8414 section 3.1,
//! OpenID Connect Discovery 1.0 section 4) over generated https URLs: every candidate stays on
//! the origin, no path gains `//`, and the lists are exactly the MCP order.

use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use url::Url;

use super::urls::{authorization_server_metadata_candidates, resource_metadata_candidates};
use crate::constants::{
    WELL_KNOWN_OAUTH_AUTHORIZATION_SERVER, WELL_KNOWN_OPENID_CONFIGURATION,
    WELL_KNOWN_PROTECTED_RESOURCE,
};

/// The seed used when `QUICKCHECK_SEED` is not set (as in `tests/properties.rs`).
const DEFAULT_SEED: u64 = 0x0990_5EED_C0FF_EE00;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A `QuickCheck` runner seeded from `QUICKCHECK_SEED` and `QUICKCHECK_GENERATOR_SIZE`, so a
/// failure in CI replays.
fn qc() -> QuickCheck {
    let seed = env_or("QUICKCHECK_SEED", DEFAULT_SEED);
    let size = env_or("QUICKCHECK_GENERATOR_SIZE", 100);
    eprintln!("QUICKCHECK_SEED={seed} QUICKCHECK_GENERATOR_SIZE={size}");
    QuickCheck::new().rng(Gen::from_size_and_seed(size, seed))
}

fn below(g: &mut Gen, n: usize) -> usize {
    usize::arbitrary(g) % n.max(1)
}

fn one_in(g: &mut Gen, n: usize) -> bool {
    below(g, n) == 0
}

fn from_alphabet(g: &mut Gen, alphabet: &[u8], min: usize, max: usize) -> String {
    let len = min + below(g, max - min + 1);
    (0..len)
        .map(|_| char::from(*g.choose(alphabet).unwrap_or(&b'a')))
        .collect()
}

/// An https URL built from parts, with the parsed URL alongside.
#[derive(Clone, Debug)]
struct HttpsUrl {
    text: String,
    /// Whether the path has at least one segment (so no empty segment anywhere).
    has_path: bool,
}

const LABEL_HEAD: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LABEL_TAIL: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
const SEGMENT: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@";
const QUERY: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789=&-_.~+/?:@%";

impl Arbitrary for HttpsUrl {
    fn arbitrary(g: &mut Gen) -> Self {
        let host = match below(g, 12) {
            0 => format!(
                "{}.{}.{}.{}",
                u8::arbitrary(g),
                u8::arbitrary(g),
                u8::arbitrary(g),
                u8::arbitrary(g)
            ),
            1 => format!("[2001:db8::{:x}]", u16::arbitrary(g)),
            _ => (0..1 + below(g, 3))
                .map(|_| {
                    let mut label = from_alphabet(g, LABEL_HEAD, 1, 1);
                    label.push_str(&from_alphabet(g, LABEL_TAIL, 0, 8));
                    // A label may not end with a hyphen in practice; keep it clean.
                    label.trim_end_matches('-').to_owned()
                })
                .collect::<Vec<_>>()
                .join("."),
        };
        let mut text = format!("https://{host}");
        if one_in(g, 3) {
            text.push_str(&format!(":{}", u16::arbitrary(g)));
        }
        let segments: Vec<String> = (0..below(g, 5))
            .map(|_| {
                let segment = from_alphabet(g, SEGMENT, 1, 8);
                // Dot-segments are resolved by the parser; they are not what is tested here.
                if segment.chars().all(|c| c == '.') {
                    format!("x{segment}")
                } else if one_in(g, 8) {
                    format!("{segment}é")
                } else {
                    segment
                }
            })
            .collect();
        for segment in &segments {
            text.push('/');
            text.push_str(segment);
        }
        if one_in(g, 2) {
            text.push('/');
        }
        if one_in(g, 3) {
            text.push('?');
            text.push_str(&from_alphabet(g, QUERY, 0, 12));
        }
        if one_in(g, 8) {
            text.push('#');
            text.push_str(&from_alphabet(g, QUERY, 0, 6));
        }
        HttpsUrl {
            text,
            has_path: !segments.is_empty(),
        }
    }
}

/// Checks that `candidate` is an https URL on the same host and port as `base`, under its origin.
fn same_origin(base: &Url, origin: &str, candidate: &str) -> Result<(), String> {
    let parsed = Url::parse(candidate).map_err(|e| format!("{candidate:?} does not parse: {e}"))?;
    if parsed.scheme() != "https" {
        return Err(format!("{candidate:?} lost the https scheme"));
    }
    if parsed.host_str() != base.host_str() {
        return Err(format!("{candidate:?} changed the host of {base}"));
    }
    if parsed.port() != base.port() {
        return Err(format!("{candidate:?} changed the port of {base}"));
    }
    if !candidate.starts_with(origin) {
        return Err(format!("{candidate:?} does not start with {origin:?}"));
    }
    Ok(())
}

/// No `//` in the path (the query may hold anything).
fn no_double_slash(candidate: &str) -> Result<(), String> {
    let rest = candidate.strip_prefix("https://").unwrap_or(candidate);
    let path = rest.split(['?', '#']).next().unwrap_or(rest);
    if path.contains("//") {
        return Err(format!("{candidate:?} contains `//`"));
    }
    Ok(())
}

fn check_discovery_urls(input: &HttpsUrl) -> Result<(), String> {
    let identifier = input.text.as_str();
    let url = Url::parse(identifier).map_err(|e| format!("{identifier:?}: {e}"))?;
    let origin = url.origin().ascii_serialization();
    if origin.ends_with('/') {
        return Err(format!("origin {origin:?} ends with `/`"));
    }

    // RFC 9728 section 3.1: path-inserted (unless the path is empty or `/` and there is no
    // query), then the root.
    let prm = resource_metadata_candidates(identifier, &url);
    for c in &prm {
        same_origin(&url, &origin, &c.url)?;
        if input.has_path {
            no_double_slash(&c.url)?;
        }
    }
    let path = match url.path() {
        "/" => "",
        path => path,
    };
    let root = format!("{origin}{WELL_KNOWN_PROTECTED_RESOURCE}");
    let last = prm.last().ok_or("no PRM candidate")?;
    if last.url != root || last.expected_resource != origin {
        return Err(format!("the last PRM candidate is not the root: {last:?}"));
    }
    if last.expected_resource.ends_with('/') {
        return Err(format!(
            "root resource {:?} ends with `/`",
            last.expected_resource
        ));
    }
    if path.is_empty() && url.query().is_none() {
        if prm.len() != 1 {
            return Err(format!(
                "{identifier:?}: expected only the root, got {prm:?}"
            ));
        }
    } else {
        if prm.len() != 2 {
            return Err(format!(
                "{identifier:?}: expected two candidates, got {prm:?}"
            ));
        }
        let mut inserted = format!("{origin}{WELL_KNOWN_PROTECTED_RESOURCE}{path}");
        if let Some(query) = url.query() {
            inserted.push('?');
            inserted.push_str(query);
        }
        if prm[0].url != inserted {
            return Err(format!(
                "{identifier:?}: path-inserted {:?}, expected {inserted:?}",
                prm[0].url
            ));
        }
        let verbatim = identifier.split('#').next().unwrap_or(identifier);
        if prm[0].expected_resource != verbatim {
            return Err(format!(
                "{identifier:?}: the path-inserted document must name {verbatim:?}, not {:?}",
                prm[0].expected_resource
            ));
        }
    }

    // RFC 8414 section 3.1 and OpenID Connect Discovery, in the MCP order.
    let issuer_path = url.path().trim_end_matches('/');
    let asm = authorization_server_metadata_candidates(&url);
    for c in &asm {
        same_origin(&url, &origin, c)?;
        no_double_slash(c)?;
        if c.contains('?') || c.contains('#') {
            return Err(format!(
                "{c:?} carries the query or fragment of {identifier:?}"
            ));
        }
    }
    let expected = if issuer_path.is_empty() {
        vec![
            format!("{origin}{WELL_KNOWN_OAUTH_AUTHORIZATION_SERVER}"),
            format!("{origin}{WELL_KNOWN_OPENID_CONFIGURATION}"),
        ]
    } else {
        vec![
            format!("{origin}{WELL_KNOWN_OAUTH_AUTHORIZATION_SERVER}{issuer_path}"),
            format!("{origin}{WELL_KNOWN_OPENID_CONFIGURATION}{issuer_path}"),
            format!("{origin}{issuer_path}{WELL_KNOWN_OPENID_CONFIGURATION}"),
        ]
    };
    if asm != expected {
        return Err(format!("{identifier:?}: {asm:?}, expected {expected:?}"));
    }
    Ok(())
}

#[test]
fn prop_discovery_url_invariants() {
    fn prop(input: HttpsUrl) -> TestResult {
        match check_discovery_urls(&input) {
            Ok(()) => TestResult::passed(),
            Err(message) => TestResult::error(message),
        }
    }
    qc().quickcheck(prop as fn(HttpsUrl) -> TestResult);
}

#[test]
fn discovery_url_examples() {
    for text in [
        "https://example.com",
        "https://example.com/",
        "https://example.com/a/b/",
        "https://example.com:8443/mcp?x=1",
        "https://EXAMPLE.com/?",
        "https://[2001:db8::1]:1/t#frag",
    ] {
        let has_path = Url::parse(text).is_ok_and(|u| u.path().len() > 1);
        check_discovery_urls(&HttpsUrl {
            text: text.to_owned(),
            has_path,
        })
        .unwrap_or_else(|e| panic!("{e}"));
    }
}
