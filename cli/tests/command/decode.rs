//! `xaa decode` of the kit's ID tokens, unverified and verified with a JWKS.

use xaa::jose::SigningKey;
use xaa_testkit::{IDP_CLIENT_ID, Options};

use crate::support::{EXIT_DENIED, TempDir, Xaa, kit};

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
