//! DPoP in the command (RFC 9449): `xaa token --dpop-key FILE` and `--dpop` (the key kept
//! beside the token store), the refusals, the store's reuse of bound tokens only with their
//! key, and `xaa dpop-proof`, whose proofs are decoded and verified here claim by claim.
//!
//! The testkit binds tokens only when started with DPoP on; by default it issues bearer tokens
//! whatever the proofs, so the runs that succeed against a default kit use `--dpop-policy
//! preferred`; the proofs it received are read from its recorder.

use std::ffi::OsString;
use std::os::unix::fs::{chown, symlink};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use xaa::dpop::{DpopSigner as _, DpopVerifier as _, EsDpopKey, JwkDpopVerifier, PublicJwk};
use xaa_testkit::{Endpoint, Options};

use crate::support::{
    EXIT_PROTOCOL, EXIT_USAGE, Run, Setup, TempDir, Via, Xaa, kit, mode, set_mode, skip_unless_root,
};

/// The user other than this one that the refusals give keys to.
const NOBODY: u32 = 65534;

/// A fresh key, its PEM, and the strings of it that must never be printed: the PEM and each
/// line of its base64 body.
struct Key {
    pem: String,
    jkt: String,
}

impl Key {
    fn new() -> Self {
        let key = EsDpopKey::generate().expect("a key");
        let pem = key.expose_private_pem().expect("PEM").to_string();
        Self {
            pem,
            jkt: key.jkt(),
        }
    }

    /// Written 0600 as `name` in `dir`.
    fn file(&self, dir: &TempDir, name: &str) -> PathBuf {
        dir.write(name, &self.pem)
    }
}

/// The PEM and each line of its body: none may appear in any output or store file.
fn key_secrets(pem: &str) -> Vec<String> {
    let mut secrets = vec![pem.trim().to_owned()];
    secrets.extend(
        pem.lines()
            .filter(|line| !line.starts_with("-----") && line.len() > 16)
            .map(str::to_owned),
    );
    secrets
}

/// Asserts that `text` (a file, an output) holds no part of the key `pem`.
#[track_caller]
fn assert_no_key(text: &str, pem: &str) {
    for secret in key_secrets(pem) {
        assert!(!text.contains(&secret), "the private key leaked:\n{text}");
    }
}

/// A proof decoded, its signature verified with the `jwk` of its own header: (header, claims).
#[track_caller]
fn verified(proof: &str) -> (Value, Value) {
    let parts: Vec<&str> = proof.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS: {proof}");
    let segment = |s: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).expect("base64url")).expect("JSON")
    };
    let (header, claims) = (segment(parts[0]), segment(parts[1]));
    assert_eq!(header["typ"], "dpop+jwt");
    assert_eq!(header["alg"], "ES256");
    let members: Vec<&str> = header["jwk"]
        .as_object()
        .expect("a jwk object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(members, ["crv", "kty", "x", "y"], "public members only");
    assert_eq!(header.as_object().map(|h| h.len()), Some(3), "{header}");
    let jwk = PublicJwk::from_json(header["jwk"].clone()).expect("a public JWK");
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("base64url");
    JwkDpopVerifier
        .verify(
            &jwk,
            "ES256",
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &signature,
        )
        .expect("the signature verifies with the header's key");
    (header, claims)
}

/// The RFC 7638 thumbprint of a proof header's `jwk`.
fn thumbprint(header: &Value) -> String {
    PublicJwk::from_json(header["jwk"].clone())
        .expect("a public JWK")
        .thumbprint(|data| JwkDpopVerifier.sha256(data))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// The key thumbprint that `xaa token` names on stderr.
#[track_caller]
fn announced_jkt(run: &Run) -> String {
    let line = run
        .stderr
        .lines()
        .find(|line| line.starts_with("xaa: binding the tokens with DPoP"))
        .unwrap_or_else(|| panic!("the key is announced:\n{run}"));
    line.rsplit_once(", key ")
        .map(|(_, jkt)| jkt.to_owned())
        .unwrap_or_else(|| panic!("the line names the key: {line}"))
}

/// `xaa dpop-proof` with these arguments, the key's secrets checked.
fn proof_command<I, S>(pem: &str, args: I) -> Xaa
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    Xaa::new(["dpop-proof"])
        .args(args)
        .secrets(key_secrets(pem))
}

fn path_arg(flag: &str, path: &Path) -> [OsString; 2] {
    [flag.into(), path.into()]
}

#[test]
fn a_key_file_binds_the_token_requests_and_the_kit_issues_a_bearer_token_under_preferred() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let key = Key::new();
    let file = key.file(&setup.dir, "dpop.pem");
    let run = setup
        .token(Via::File, Via::File)
        .args(path_arg("--dpop-key", &file))
        .args(["--dpop-policy", "preferred", "--json"])
        .secrets(key_secrets(&key.pem))
        .run()
        .expect_code(0);
    assert_eq!(announced_jkt(&run), key.jkt);
    assert!(
        run.stderr
            .contains("a bearer token: the servers did not bind it"),
        "{run}"
    );
    let document = run.json();
    assert!(
        document["token_type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer")),
        "{document}"
    );
    assert_eq!(document["jkt"], Value::Null, "a bearer token names no key");
    let token = document["access_token"].as_str().expect("a token");
    assert_eq!(
        kit.access_token_info(token).map(|info| info.subject),
        Some("alice".to_owned())
    );
    // Both token requests carried a proof of this key for exactly their endpoint.
    let endpoints = [
        (Endpoint::IdpToken, kit.idp_token_endpoint().to_owned()),
        (
            Endpoint::AsToken,
            kit.authorization_server_token_endpoint().to_owned(),
        ),
    ];
    let mut jtis = Vec::new();
    for (endpoint, url) in endpoints {
        let requests = kit.requests_to(endpoint);
        assert_eq!(requests.len(), 1, "{endpoint:?}");
        let proof = requests[0]
            .headers
            .get("dpop")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_else(|| panic!("a DPoP header at {endpoint:?}"));
        let (header, claims) = verified(proof);
        assert_eq!(thumbprint(&header), key.jkt);
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["htu"], url.as_str());
        assert!(claims.get("ath").is_none(), "no access token was sent");
        jtis.push(claims["jti"].as_str().expect("a jti").to_owned());
    }
    assert_ne!(jtis[0], jtis[1], "a fresh jti per proof");
}

#[test]
fn with_a_binding_kit_the_printed_token_is_bound_to_the_key() {
    let kit = kit(Options::new().dpop(true).dpop_required(true));
    let setup = Setup::new(&kit);
    let key = Key::new();
    let file = key.file(&setup.dir, "dpop.pem");
    let run = setup
        .token(Via::File, Via::File)
        .args(path_arg("--dpop-key", &file))
        .args(["--json"])
        .secrets(key_secrets(&key.pem))
        .run()
        .expect_code(0);
    let document = run.json();
    assert_eq!(document["token_type"], "DPoP", "{document}");
    assert_eq!(document["jkt"], key.jkt.as_str(), "bound to this key");
    let token = document["access_token"].as_str().expect("a token");
    assert_eq!(
        kit.access_token_info(token).map(|info| info.subject),
        Some("alice".to_owned())
    );
    // What a shell user does next: a proof from `xaa dpop-proof`, then the MCP call. The kit
    // takes the token with that proof and refuses it as a bearer token.
    let token_file = setup.dir.write("token", token);
    let proof = proof_command(&key.pem, ["--method", "POST", "--url", kit.mcp_url()])
        .args(path_arg("--dpop-key", &file))
        .args(path_arg("--access-token-file", &token_file))
        .run()
        .expect_code(0);
    let proof = proof.stdout.trim().to_owned();
    let (_, claims) = verified(&proof);
    assert_eq!(claims["ath"], ath(token));
    let call = |authorization: String, proof: Option<&str>| {
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        let mut request = http::Request::new(body.as_bytes().to_vec());
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = kit.mcp_url().parse().expect("the kit's URL");
        let headers = request.headers_mut();
        headers.insert("content-type", "application/json".parse().expect("header"));
        headers.insert(
            "accept",
            "application/json, text/event-stream"
                .parse()
                .expect("header"),
        );
        headers.insert("authorization", authorization.parse().expect("header"));
        if let Some(proof) = proof {
            headers.insert("dpop", proof.parse().expect("header"));
        }
        let client = xaa_ureq::Client::builder()
            .deny_private_addresses(false)
            .build()
            .expect("a client");
        client.send(request).expect("an answer").status().as_u16()
    };
    assert_eq!(
        call(format!("Bearer {token}"), None),
        401,
        "never as a bearer token"
    );
    assert_eq!(call(format!("DPoP {token}"), Some(&proof)), 200);
}

#[test]
fn under_required_a_bearer_id_jag_ends_the_run_before_the_authorization_server() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let key = Key::new();
    let file = key.file(&setup.dir, "dpop.pem");
    let run = setup
        .token(Via::File, Via::File)
        .args(path_arg("--dpop-key", &file))
        .secrets(key_secrets(&key.pem))
        .run()
        .expect_code(EXIT_PROTOCOL);
    assert!(run.stdout.is_empty(), "{run}");
    for words in [
        "DPoP: the ID-JAG is not bound to the client's key (no cnf.jkt) although DPoP is required",
        "the rule: a DPoP-bound token names the client's key in cnf.jkt",
        "RFC 9449",
        "--dpop-policy preferred accepts a bearer token",
    ] {
        assert!(run.stderr.contains(words), "says {words:?}:\n{run}");
    }
    assert!(crate::support::full_jwts(&run.stderr).is_empty(), "{run}");
    assert_eq!(kit.requests_to(Endpoint::IdpToken).len(), 1);
    assert!(
        kit.requests_to(Endpoint::AsToken).is_empty(),
        "the unbound ID-JAG is never redeemed"
    );
}

#[test]
fn key_files_open_to_others_links_and_garbage_are_refused_before_any_request() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let key = Key::new();
    let open = key.file(&setup.dir, "open.pem");
    set_mode(&open, 0o644);
    let private = key.file(&setup.dir, "private.pem");
    let link = setup.dir.path().join("link.pem");
    symlink(&private, &link).expect("a link");
    let garbage = setup.dir.write("garbage.pem", "not a key\n");
    let rsa_label = setup.dir.write(
        "other.pem",
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
    );
    let huge = setup.dir.write("huge.pem", vec![b'A'; 64 * 1024]);
    let cases: [(&Path, &str); 6] = [
        (
            &open,
            "readable or writable by other users (mode 0644); run chmod 600 on it",
        ),
        (&link, "it is a symbolic link; name the key file itself"),
        (&garbage, "it is not a P-256 private key in PKCS#8 PEM"),
        (&rsa_label, "it is not a P-256 private key in PKCS#8 PEM"),
        (&huge, "it is larger than 16384 bytes"),
        (setup.dir.path(), "it is not a regular file"),
    ];
    for (file, rule) in cases {
        kit.clear_requests();
        let run = setup
            .token(Via::File, Via::File)
            .args(path_arg("--dpop-key", file))
            .secrets(key_secrets(&key.pem))
            .run()
            .expect_code(EXIT_USAGE);
        assert!(run.stdout.is_empty(), "{run}");
        assert!(
            run.stderr.contains(&format!("DPoP key {}", file.display())),
            "{run}"
        );
        assert!(run.stderr.contains(rule), "says {rule:?}:\n{run}");
        assert!(kit.requests().is_empty(), "nothing is sent for {file:?}");
        let proof = proof_command(&key.pem, ["--url", "https://mcp.example.com/mcp"])
            .args(path_arg("--dpop-key", file))
            .run()
            .expect_code(EXIT_USAGE);
        assert!(
            proof.stdout.is_empty() && proof.stderr.contains(rule),
            "{proof}"
        );
    }
    assert!(
        setup
            .token(Via::File, Via::File)
            .args(["--dpop-policy", "preferred"])
            .run()
            .expect_code(EXIT_USAGE)
            .stderr
            .contains("--dpop-policy needs a DPoP key")
    );
}

/// `xaa token --dpop` for alice under `preferred`, keeping tokens in `store`.
fn kept_key_run(setup: &Setup, store: &Path) -> Xaa {
    setup
        .token(Via::File, Via::File)
        .args(["--dpop", "--dpop-policy", "preferred", "--json"])
        .args(path_arg("--token-store", store))
}

#[test]
fn the_kept_key_is_made_once_0600_beside_the_store_and_reused() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let directory = setup.dir.subdir("store", 0o700);
    let store = directory.join("tokens.json");
    let kept = directory.join("tokens.json.dpop-key.pem");
    let without_store = setup
        .token(Via::File, Via::File)
        .args(["--dpop"])
        .run()
        .expect_code(EXIT_USAGE);
    assert!(
        without_store
            .stderr
            .contains("--dpop keeps its key beside the token store: give --token-store FILE"),
        "{without_store}"
    );
    let first = kept_key_run(&setup, &store).run().expect_code(0);
    assert!(first.stderr.contains("to a new key, kept in"), "{first}");
    assert_eq!(mode(&kept), 0o600, "the kept key is private");
    assert!(std::fs::symlink_metadata(&kept).is_ok_and(|m| m.file_type().is_file()));
    let pem = std::fs::read_to_string(&kept).expect("the kept key");
    let key = EsDpopKey::from_pkcs8_pem(pem.as_bytes()).expect("a PKCS#8 P-256 key");
    let jkt = announced_jkt(&first);
    assert_eq!(jkt, key.jkt());
    assert_no_key(&first.stdout, &pem);
    assert_no_key(&first.stderr, &pem);
    let second = kept_key_run(&setup, &store)
        .secrets(key_secrets(&pem))
        .run()
        .expect_code(0);
    assert!(second.stderr.contains("to the kept key"), "{second}");
    assert!(second.stderr.contains("reusing a stored token"), "{second}");
    assert_eq!(announced_jkt(&second), jkt, "the same key twice");
    assert_eq!(second.json()["access_token"], first.json()["access_token"]);
    assert_eq!(std::fs::read_to_string(&kept).expect("the kept key"), pem);
    let stored = std::fs::read_to_string(&store).expect("the store");
    assert_no_key(&stored, &pem);
    // A proof from the kept key is signed by that key.
    let proof = proof_command(&pem, ["--dpop", "--url", kit.mcp_url()])
        .args(path_arg("--token-store", &store))
        .run()
        .expect_code(0);
    let (header, _) = verified(proof.stdout.trim_end());
    assert_eq!(thumbprint(&header), jkt);
}

#[test]
fn a_kept_key_that_breaks_a_rule_is_refused_and_left_as_it_is() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let key = Key::new();
    let directory = setup.dir.subdir("store", 0o700);
    let store = directory.join("tokens.json");
    let kept = directory.join("tokens.json.dpop-key.pem");
    let elsewhere = key.file(&setup.dir, "elsewhere.pem");
    let cases: [(&str, &dyn Fn(), &str); 4] = [
        (
            "open to others",
            &|| {
                std::fs::write(&kept, &key.pem).expect("write");
                set_mode(&kept, 0o640);
            },
            "it is open to other users (mode 0640), so the private key may have been copied",
        ),
        (
            "a link",
            &|| symlink(&elsewhere, &kept).expect("a link"),
            "it is a symbolic link",
        ),
        (
            "garbage",
            &|| {
                std::fs::write(&kept, "garbage\n").expect("write");
                set_mode(&kept, 0o600);
            },
            "it is not a P-256 private key in PKCS#8 PEM",
        ),
        (
            "two names",
            &|| {
                std::fs::hard_link(&elsewhere, &kept).expect("a hard link");
            },
            "it has 2 names",
        ),
    ];
    for (what, plant, rule) in cases {
        let _ = std::fs::remove_file(&kept);
        plant();
        let before = std::fs::symlink_metadata(&kept).expect("planted");
        let content = std::fs::read(&kept).ok();
        kit.clear_requests();
        let run = kept_key_run(&setup, &store)
            .secrets(key_secrets(&key.pem))
            .run()
            .expect_code(EXIT_USAGE);
        assert!(run.stderr.contains("kept DPoP key"), "{what}: {run}");
        assert!(run.stderr.contains(rule), "{what}: says {rule:?}:\n{run}");
        assert!(kit.requests().is_empty(), "{what}: nothing is sent");
        let after = std::fs::symlink_metadata(&kept).expect("still there");
        assert_eq!(after.file_type(), before.file_type(), "{what}");
        assert_eq!(mode(&kept), mode_of(&before), "{what}: not tightened");
        assert_eq!(std::fs::read(&kept).ok(), content, "{what}: unchanged");
    }
    assert_eq!(
        std::fs::read_to_string(&elsewhere).expect("the link's target"),
        key.pem,
        "a link's target is never written"
    );
    std::fs::remove_file(&kept).expect("remove");
    let missing = proof_command(&key.pem, ["--dpop", "--url", "https://mcp.example.com/"])
        .args(path_arg("--token-store", &store))
        .run()
        .expect_code(EXIT_USAGE);
    assert!(
        missing
            .stderr
            .contains("there is none yet; xaa token --dpop makes it"),
        "{missing}"
    );
    assert!(!kept.exists(), "dpop-proof never makes a key");
}

fn mode_of(metadata: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::MetadataExt;
    metadata.mode() & 0o7777
}

/// Marks every token in `store` as bound to `jkt` (`token_type` `DPoP`), as a server that
/// binds would have issued it.
fn bind_stored_tokens(store: &Path, jkt: &str) {
    let mut document: Value =
        serde_json::from_slice(&std::fs::read(store).expect("the store")).expect("JSON");
    for entry in document["tokens"].as_array_mut().expect("tokens") {
        entry["token"]["dpop_jkt"] = Value::from(jkt);
        entry["token"]["token_type"] = Value::from("DPoP");
    }
    std::fs::write(store, serde_json::to_vec(&document).expect("encode")).expect("write");
    set_mode(store, 0o600);
}

#[test]
fn a_stored_bound_token_is_reused_only_with_its_key_and_shown_with_its_jkt() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let (key, other) = (Key::new(), Key::new());
    let (key_file, other_file) = (
        key.file(&setup.dir, "key.pem"),
        other.file(&setup.dir, "other.pem"),
    );
    let directory = setup.dir.subdir("store", 0o700);
    let store = directory.join("tokens.json");
    let with = |file: &Path| {
        setup
            .token(Via::File, Via::File)
            .args(["--dpop-policy", "preferred", "--json"])
            .args(path_arg("--dpop-key", file))
            .args(path_arg("--token-store", &store))
            .secrets(key_secrets(&key.pem))
            .secrets(key_secrets(&other.pem))
    };
    let first = with(&key_file).run().expect_code(0);
    let token = first.json()["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    bind_stored_tokens(&store, &key.jkt);

    let reused = with(&key_file).run().expect_code(0);
    assert!(reused.stderr.contains("reusing a stored token"), "{reused}");
    assert!(reused.stderr.contains("bound to the DPoP key"), "{reused}");
    let document = reused.json();
    assert_eq!(document["access_token"], token.as_str());
    assert_eq!(document["token_type"], "DPoP");
    assert_eq!(document["jkt"], key.jkt.as_str());

    // dpop-proof --from-store: the one valid token bound to this key for the URL.
    let url = format!("{}?session=1", kit.mcp_url());
    let proof = proof_command(&key.pem, ["--from-store", "--url", url.as_str()])
        .args(path_arg("--dpop-key", &key_file))
        .args(path_arg("--token-store", &store))
        .secrets([token.clone()])
        .run()
        .expect_code(0);
    let (_, claims) = verified(proof.stdout.trim_end());
    assert_eq!(claims["htu"], kit.mcp_url());
    assert_eq!(claims["ath"], ath(&token));
    // Another key, or none: the bound token is not reused (each run then keeps its own
    // token under the same cache key).
    for run in [
        with(&other_file).run(),
        setup
            .token(Via::File, Via::File)
            .args(["--json"])
            .args(path_arg("--token-store", &store))
            .run(),
    ] {
        let run = run.expect_code(0);
        assert!(!run.stderr.contains("reusing a stored token"), "{run}");
        assert_ne!(run.json()["access_token"], token.as_str(), "{run}");
    }
    let stored = std::fs::read_to_string(&store).expect("the store");
    assert_no_key(&stored, &key.pem);
    assert_no_key(&stored, &other.pem);

    let none = proof_command(&other.pem, ["--from-store", "--url", kit.mcp_url()])
        .args(path_arg("--dpop-key", &other_file))
        .args(path_arg("--token-store", &store))
        .run()
        .expect_code(EXIT_USAGE);
    assert!(
        none.stderr
            .contains("holds no valid token bound to this key"),
        "{none}"
    );
}

/// RFC 9449 section 4.2: base64url of the SHA-256 of the token's ASCII.
fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(JwkDpopVerifier.sha256(token.as_bytes()))
}

#[test]
fn dpop_proof_makes_one_signed_proof_with_every_claim_asked_for() {
    let dir = TempDir::new();
    let key = Key::new();
    let file = key.file(&dir, "key.pem");
    let access_token = "at-token.value~+/=";
    let token_file = dir.write("token", format!("{access_token}\n"));
    // Bytes a digest must take as they are: CR LF at the end, nothing trimmed.
    let body = dir.write(
        "body.json",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}\r\n",
    );
    let started = now();
    let run = proof_command(
        &key.pem,
        [
            "--method",
            "POST",
            "--url",
            "https://mcp.example.com:8443/mcp?x=1#frag",
            "--nonce",
            "eyJ7S_zG.eyJH0-Z.HX4w-7v",
            "--content-digest",
        ],
    )
    .args(path_arg("--dpop-key", &file))
    .args(path_arg("--access-token-file", &token_file))
    .args(path_arg("--body-file", &body))
    .secrets([access_token])
    .run()
    .expect_code(0);
    assert!(run.stderr.is_empty(), "{run}");
    let proof = run.stdout.strip_suffix('\n').expect("one line");
    assert!(!proof.contains(char::is_whitespace));
    let (header, claims) = verified(proof);
    assert_eq!(thumbprint(&header), key.jkt);
    let names: Vec<&str> = claims
        .as_object()
        .expect("claims")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        ["ath", "content_digest", "htm", "htu", "iat", "jti", "nonce"]
    );
    assert_eq!(claims["htm"], "POST");
    assert_eq!(claims["htu"], "https://mcp.example.com:8443/mcp");
    assert_eq!(claims["nonce"], "eyJ7S_zG.eyJH0-Z.HX4w-7v");
    assert_eq!(claims["ath"], "gRa-2STgqrm4KeivTZNf9hBdTE98PzLQm43TyNhtOUQ");
    assert_eq!(claims["ath"], ath(access_token));
    assert_eq!(
        claims["content_digest"],
        "sha-256=:fSERF7nkz6cv7PCK/f1TX+vpcu+Rh4Zwo5rr2i0GhJY=:"
    );
    let iat = claims["iat"].as_u64().expect("a numeric iat");
    assert!((started..=now()).contains(&iat), "iat {iat}");
    let jti = claims["jti"].as_str().expect("a jti");
    assert!(jti.len() >= 16, "{jti}");

    // The least: GET, no token, no nonce, no digest; a new jti each time.
    let plain = proof_command(
        &key.pem,
        ["--method", "GET", "--url", "http://127.0.0.1:9/mcp"],
    )
    .args(path_arg("--dpop-key", &file))
    .run()
    .expect_code(0);
    let (_, claims) = verified(plain.stdout.trim_end());
    let names: Vec<&str> = claims
        .as_object()
        .expect("claims")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, ["htm", "htu", "iat", "jti"]);
    assert_eq!(claims["htm"], "GET");
    assert_ne!(claims["jti"], jti);
}

#[test]
fn dpop_proof_refuses_bad_urls_files_and_values_with_exit_2() {
    let dir = TempDir::new();
    let key = Key::new();
    let file = key.file(&dir, "key.pem");
    let open_token = dir.write("open-token", "at-abc\n");
    set_mode(&open_token, 0o644);
    let spaced_token = dir.write("spaced-token", "at abc\n");
    let huge_body = dir.write("huge", vec![b'x'; 16 * 1024 * 1024 + 1]);
    let missing = dir.path().join("missing.json");
    let url = "https://mcp.example.com/mcp";
    let cases: Vec<(Vec<OsString>, &str)> = vec![
        (
            vec!["--url".into(), "mcp.example.com/mcp".into()],
            "not an absolute http or https URL without user information",
        ),
        (
            vec!["--url".into(), "https://user:pw@mcp.example.com/".into()],
            "not an absolute http or https URL without user information",
        ),
        (
            vec!["--url".into(), "ftp://mcp.example.com/".into()],
            "not an absolute http or https URL",
        ),
        (
            vec![
                "--url".into(),
                url.into(),
                "--method".into(),
                "PO ST".into(),
            ],
            "not an HTTP method",
        ),
        (
            vec!["--url".into(), url.into(), "--nonce".into(), "a\"b".into()],
            "a DPoP nonce is 1 to 1024 visible ASCII characters",
        ),
        (
            vec![
                "--url".into(),
                url.into(),
                "--content-digest".into(),
                "--body-file".into(),
                huge_body.clone().into(),
            ],
            "is larger than 16777216 bytes",
        ),
        (
            vec![
                "--url".into(),
                url.into(),
                "--content-digest".into(),
                "--body-file".into(),
                missing.clone().into(),
            ],
            "request body: cannot read",
        ),
        (
            vec![
                "--url".into(),
                url.into(),
                "--access-token-file".into(),
                open_token.clone().into(),
            ],
            "run chmod 600 on it",
        ),
        (
            vec![
                "--url".into(),
                url.into(),
                "--access-token-file".into(),
                spaced_token.clone().into(),
            ],
            "it is not a token",
        ),
        (
            vec!["--url".into(), url.into(), "--content-digest".into()],
            "--body-file",
        ),
        (
            vec!["--url".into(), url.into(), "--from-store".into()],
            "--from-store needs --token-store FILE",
        ),
    ];
    for (args, message) in cases {
        let run = proof_command(&key.pem, args.clone())
            .args(path_arg("--dpop-key", &file))
            .secrets(["at-abc", "at abc"])
            .run()
            .expect_code(EXIT_USAGE);
        assert!(run.stdout.is_empty(), "{args:?}: {run}");
        assert!(
            run.stderr.contains(message),
            "{args:?}: says {message:?}:\n{run}"
        );
    }
    let no_key = Xaa::new(["dpop-proof", "--url", url])
        .run()
        .expect_code(EXIT_USAGE);
    assert!(no_key.stderr.contains("--dpop-key"), "{no_key}");
}

#[test]
fn the_key_and_the_policy_may_come_from_the_config_file() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let key = Key::new();
    let file = key.file(&setup.dir, "key.pem");
    let config = setup.dir.write(
        "xaa.toml",
        format!(
            "dpop_key = {:?}\ndpop_policy = \"preferred\"\n",
            file.to_string_lossy()
        ),
    );
    let run = setup
        .token(Via::File, Via::File)
        .args(path_arg("--config", &config))
        .secrets(key_secrets(&key.pem))
        .run()
        .expect_code(0);
    assert_eq!(announced_jkt(&run), key.jkt);
    assert!(run.stderr.contains("DPoP (preferred)"), "{run}");
    setup.printed_token(&run);
}

#[test]
fn a_key_of_another_user_is_refused_whether_named_or_kept() {
    if skip_unless_root("give a DPoP key to another user") {
        return;
    }
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let key = Key::new();
    let named = key.file(&setup.dir, "named.pem");
    chown(&named, Some(NOBODY), None).expect("chown");
    let directory = setup.dir.subdir("store", 0o700);
    let store = directory.join("tokens.json");
    let kept = directory.join("tokens.json.dpop-key.pem");
    std::fs::write(&kept, &key.pem).expect("write");
    set_mode(&kept, 0o600);
    chown(&kept, Some(NOBODY), None).expect("chown");
    let named_run = setup
        .token(Via::File, Via::File)
        .args(path_arg("--dpop-key", &named))
        .secrets(key_secrets(&key.pem))
        .run()
        .expect_code(EXIT_USAGE);
    let kept_run = kept_key_run(&setup, &store)
        .secrets(key_secrets(&key.pem))
        .run()
        .expect_code(EXIT_USAGE);
    for (run, path) in [(named_run, &named), (kept_run, &kept)] {
        assert!(
            run.stderr.contains(&path.display().to_string())
                && run.stderr.contains(&format!("it is owned by uid {NOBODY}")),
            "{run}"
        );
    }
    assert!(kit.requests().is_empty(), "nothing is sent");
    assert_eq!(std::fs::read_to_string(&kept).expect("kept"), key.pem);
}
