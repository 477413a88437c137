//! `xaa decode` of the kit's ID tokens, unverified and verified with a JWKS.

use std::time::Duration;

use base64::Engine as _;
use serde_json::json;
use xaa::jose::SigningKey;
use xaa_testkit::{IDP_CLIENT_ID, Options};

use crate::support::{
    EXIT_DENIED, EXIT_PROTOCOL, EXIT_USAGE, HostileServer, Reply, TempDir, Xaa, kit, unsigned_token,
};

#[test]
fn decode_shows_header_claims_dates_and_says_nothing_was_verified() {
    let kit = kit(Options::new());
    let token = kit.id_token("alice").expose_secret().to_owned();
    let run = Xaa::new(["decode", token.as_str()]).run().expect_code(0);
    let out = &run.stdout;
    assert!(out.starts_with("header:\n"), "{run}");
    assert!(out.contains("  alg: \"ES256\""), "{run}");
    assert!(out.contains("  typ: \"JWT\""), "{run}");
    assert!(out.contains("  kid: \"xaa-testkit-idp-key\""), "{run}");
    assert!(out.contains("claims:\n"), "{run}");
    assert!(
        out.contains(&format!("  iss: \"{}\"", kit.idp_issuer())),
        "{run}"
    );
    assert!(out.contains("  sub: \"alice\""), "{run}");
    assert!(
        out.contains(&format!("  aud: \"{IDP_CLIENT_ID}\"")),
        "{run}"
    );
    assert!(out.contains("  email: \"alice@example.com\""), "{run}");
    // Dates: "exp: 1795651200  (2026-11-26T00:00:00Z, in 59m 59s)".
    let exp = out
        .lines()
        .find(|l| l.trim_start().starts_with("exp:"))
        .expect("exp");
    assert!(
        exp.contains("Z, in 59m") || exp.contains("Z, in 1h"),
        "{exp}"
    );
    let iat = out
        .lines()
        .find(|l| l.trim_start().starts_with("iat:"))
        .expect("iat");
    // Issued this second: "Ns ago", or "in 0s" at the very nanosecond.
    assert!(iat.contains("s ago)") || iat.contains("Z, in 0s)"), "{iat}");
    assert!(out.contains("signature: NOT VERIFIED"), "{run}");
    assert!(!out.contains(&token), "the token itself is not echoed");

    // The same as JSON, read from stdin and from a file.
    let dir = TempDir::new();
    let file = dir.write("id-token", format!("{token}\n"));
    for run in [
        Xaa::new(["decode", "-", "--json"])
            .stdin(token.clone())
            .run(),
        Xaa::new(["decode", "--json", "--file"]).args([file]).run(),
    ] {
        let document = run.expect_code(0).json();
        assert_eq!(document["header"]["alg"], "ES256");
        assert_eq!(document["claims"]["sub"], "alice");
        assert_eq!(document["claims"]["iss"], kit.idp_issuer());
        let exp = &document["times"]["exp"];
        assert!(
            exp["date"].as_str().is_some_and(|d| d.ends_with('Z')),
            "{document}"
        );
        assert!(
            exp["relative"]
                .as_str()
                .is_some_and(|r| r.starts_with("in ")),
            "{document}"
        );
        assert_eq!(document["signature"]["checked"], false);
    }
}

#[test]
fn verify_jwks_says_valid_for_the_idp_keys_and_invalid_for_others() {
    let kit = kit(Options::new());
    let token = kit.id_token("bob").expose_secret().to_owned();
    let dir = TempDir::new();
    let idp_jwks = dir.write(
        "idp-jwks.json",
        kit.idp_signing_key().jwks().to_json().to_string(),
    );

    let run = Xaa::new(["decode", token.as_str(), "--verify-jwks"])
        .args([&idp_jwks])
        .run()
        .expect_code(0);
    assert!(
        run.stdout.contains("signature: valid for the given JWKS"),
        "{run}"
    );
    assert!(!run.stdout.contains("NOT VERIFIED"), "{run}");

    // The JWKS fetched from the IdP itself.
    let run = Xaa::new([
        "decode",
        token.as_str(),
        "--insecure-loopback",
        "--verify-jwks",
    ])
    .args([kit.idp_jwks_uri()])
    .run()
    .expect_code(0);
    assert!(
        run.stdout.contains("signature: valid for the given JWKS"),
        "{run}"
    );

    // Another key under the very same kid: a real signature mismatch, not a missing key.
    let other = SigningKey::generate_es256("xaa-testkit-idp-key").expect("a key");
    let other_jwks = dir.write("other-jwks.json", other.jwks().to_json().to_string());
    let run = Xaa::new(["decode", token.as_str(), "--verify-jwks"])
        .args([&other_jwks])
        .run()
        .expect_code(EXIT_DENIED);
    assert!(
        run.stdout.contains("signature: INVALID for the given JWKS"),
        "{run}"
    );
    assert!(run.stderr.contains("does not verify"), "{run}");

    let run = Xaa::new(["decode", token.as_str(), "--json", "--verify-jwks"])
        .args([&other_jwks])
        .run()
        .expect_code(EXIT_DENIED);
    let document = run.json();
    assert_eq!(document["signature"]["checked"], true);
    assert_eq!(document["signature"]["valid"], false);
    assert!(document["signature"]["reason"].is_string(), "{document}");
}

#[test]
fn an_unsigned_or_empty_alg_is_shown_as_it_is() {
    let kit = kit(Options::new());
    let dir = TempDir::new();
    let idp_jwks = dir.write(
        "idp-jwks.json",
        kit.idp_signing_key().jwks().to_json().to_string(),
    );
    for (alg, line) in [
        (
            "none",
            "  alg: \"none\"  (no signature: the token claims to be unsigned)",
        ),
        (
            "",
            "  alg: \"\"  (empty: the token names no signature algorithm)",
        ),
        ("n\u{1b}[0mone", "  alg: \"n\\u001b[0mone\""),
    ] {
        let token = unsigned_token(&json!({"alg": alg}), &json!({"sub": "alice"}));
        let run = Xaa::new(["decode", token.as_str()])
            .run_bytes()
            .terminal_safe()
            .expect_code(0);
        assert!(run.stdout.lines().any(|l| l == line), "{run}");
        assert!(run.stdout.contains("signature: NOT VERIFIED"), "{run}");
        let document = Xaa::new(["decode", "--json", token.as_str()])
            .run()
            .expect_code(0)
            .json();
        assert_eq!(document["header"]["alg"], alg);
        // Nothing verifies an unsigned token.
        let run = Xaa::new(["decode", token.as_str(), "--verify-jwks"])
            .args([&idp_jwks])
            .run_bytes()
            .terminal_safe()
            .expect_code(EXIT_DENIED);
        assert!(
            run.stdout.contains("signature: INVALID for the given JWKS"),
            "{run}"
        );
    }
}

#[test]
fn a_token_whose_segments_do_not_decode_is_a_usage_error() {
    for (token, reason) in [
        ("a.b.c", "a segment is not base64url"),
        ("e30.e30", "not a compact JWT"),
        ("e30..", "not a compact JWT"),
        ("WzFd.e30.", "header or payload is not a JSON object"),
        ("e30.bm90IGpzb24.", "header or payload is not a JSON object"),
        (
            "e30.eyJleHAiOjFlNDAwfQ.",
            "header or payload is not a JSON object",
        ),
        ("e30.e30.\u{1b}[2J", "not a compact JWT"),
    ] {
        let run = Xaa::new(["decode", token])
            .run_bytes()
            .terminal_safe()
            .expect_code(EXIT_USAGE);
        assert!(
            run.stderr
                .starts_with(&format!("xaa: not a decodable JWT: {reason}; ")),
            "{token}: {run}"
        );
        assert!(run.stdout.is_empty(), "{run}");
    }
    // A member named twice, the name hostile: refused, the name escaped.
    let run = Xaa::new(["decode", "-"])
        .stdin(format!(
            "{}.e30.",
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode("{\"a\u{202e}\u{9b}\":1,\"a\u{202e}\u{9b}\":2}")
        ))
        .run_bytes()
        .terminal_safe()
        .expect_code(EXIT_USAGE);
    assert!(run.stderr.contains("appears twice"), "{run}");
}

#[test]
fn the_jwks_request_is_bounded_by_the_timeout() {
    let token = unsigned_token(&json!({"alg": "ES256"}), &json!({"sub": "alice"}));
    let server = HostileServer::start(|_, _, _| Reply::stall());
    let run = Xaa::new(["decode", token.as_str(), "--insecure-loopback"])
        .args(["--timeout", "1", "--verify-jwks"])
        .args([server.url("/jwks")])
        .run_bytes();
    assert!(
        run.elapsed >= Duration::from_secs(1) && run.elapsed < Duration::from_secs(8),
        "{:?}",
        run.elapsed
    );
    let run = run.terminal_safe().expect_code(EXIT_PROTOCOL);
    assert!(run.stdout.is_empty(), "{run}");
    assert_eq!(server.requests().len(), 1);

    for timeout in ["0", "9223372036854775807", "3601"] {
        let run = Xaa::new(["decode", token.as_str(), "--insecure-loopback"])
            .args(["--timeout", timeout, "--verify-jwks"])
            .args([server.url("/jwks")])
            .run_bytes()
            .terminal_safe()
            .expect_code(EXIT_USAGE);
        assert!(
            run.stderr
                .contains("the timeout must be a whole number of seconds from 1 to 3600"),
            "{run}"
        );
    }
    assert_eq!(
        server.requests().len(),
        1,
        "no request after a refused timeout"
    );
}
