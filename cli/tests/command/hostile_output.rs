//! What a token, a document or a header crafts to act on a terminal never reaches it raw:
//! `xaa decode` and `xaa discover`, as text and as JSON, checked byte for byte.

use serde_json::{Value, json};

use crate::support::{EXIT_PROTOCOL, HostileServer, Reply, Xaa, unsigned_token};

/// ESC sequences (retitle the window, clear the screen), BEL, CR LF and a forged error line,
/// DEL, a C1 CSI, a bidi override, a line separator, a tag character, a zero-width space.
const HOSTILE: &str = "a\u{1b}]0;owned\u{7}b\u{1b}[2J\r\nxaa: forged line\u{7f}c\u{9b}31m\u{202e}d\u{2028}e\u{e0041}\u{200b}f";

/// [`HOSTILE`] as text output shows it.
const HOSTILE_SHOWN: &str = "a\\u{001B}]0;owned\\u{0007}b\\u{001B}[2J\\u{000D}\\u{000A}xaa: forged line\\u{007F}c\\u{009B}31m\\u{202E}d\\u{2028}e\\u{E0041}\\u{200B}f";

/// [`HOSTILE`] inside a JSON string as the output writes it.
const HOSTILE_JSON: &str = "a\\u001b]0;owned\\u0007b\\u001b[2J\\r\\nxaa: forged line\\u007fc\\u009b31m\\u202ed\\u2028e\\udb40\\udc41\\u200bf";

#[track_caller]
fn assert_line(output: &str, line: &str) {
    assert!(
        output.lines().any(|l| l == line),
        "no line {line:?} in:\n{output}"
    );
}

#[test]
fn hostile_header_and_claim_names_and_values_are_escaped() {
    let header = json!({"alg": "none", "kid": HOSTILE, HOSTILE: HOSTILE});
    let claims = json!({"sub": HOSTILE, HOSTILE: [HOSTILE, {HOSTILE: 1}], "exp": 1_795_651_200u64});
    let token = unsigned_token(&header, &claims);

    for input in [
        Xaa::new(["decode", token.as_str()]),
        Xaa::new(["decode", "-"]).stdin(token.clone()),
    ] {
        let run = input.run_bytes().terminal_safe().expect_code(0);
        let out = &run.stdout;
        assert_line(out, &format!("  kid: \"{HOSTILE_JSON}\""));
        assert_line(out, &format!("  {HOSTILE_SHOWN}: \"{HOSTILE_JSON}\""));
        assert_line(out, &format!("  sub: \"{HOSTILE_JSON}\""));
        assert_line(
            out,
            &format!("  {HOSTILE_SHOWN}: [\"{HOSTILE_JSON}\",{{\"{HOSTILE_JSON}\":1}}]"),
        );
        assert!(run.stderr.is_empty(), "{run}");
    }

    let run = Xaa::new(["decode", "--json", token.as_str()])
        .run_bytes()
        .terminal_safe()
        .expect_code(0);
    assert!(run.stdout.contains(HOSTILE_JSON), "{run}");
    let document = run.json();
    assert_eq!(document["header"], header, "the JSON keeps the values");
    assert_eq!(document["claims"], claims, "the JSON keeps the values");
}

/// Every NumericDate a token can hold: no panic, a date or a reason.
#[test]
fn hostile_numeric_dates_are_shown_without_a_panic() {
    let cases: [(Value, &str, &str); 7] = [
        (
            json!(9_223_372_036_854_775_808u64),
            "9223372036854775808",
            "after 9999-12-31T23:59:59Z",
        ),
        (
            json!(u64::MAX),
            "18446744073709551615",
            "after 9999-12-31T23:59:59Z",
        ),
        (json!(1e308), "1e+308", "after 9999-12-31T23:59:59Z"),
        (json!(1e19), "1e+19", "after 9999-12-31T23:59:59Z"),
        (
            json!(-1),
            "-1",
            "not a date: a NumericDate is never negative",
        ),
        (json!(1.5), "1.5", "1970-01-01T00:00:01Z"),
        (
            json!(253_402_300_799u64),
            "253402300799",
            "9999-12-31T23:59:59Z",
        ),
    ];
    for (value, written, said) in cases {
        let claims = json!({"exp": value, "iat": value, "nbf": value, "auth_time": value});
        let token = unsigned_token(&json!({"alg": "none"}), &claims);
        let run = Xaa::new(["decode", token.as_str()])
            .run_bytes()
            .terminal_safe()
            .expect_code(0);
        for name in ["exp", "iat", "nbf", "auth_time"] {
            let line = run
                .stdout
                .lines()
                .find(|l| l.starts_with(&format!("  {name}: ")))
                .unwrap_or_else(|| panic!("no {name} in:\n{run}"));
            assert!(
                line.starts_with(&format!("  {name}: {written}  ({said}")),
                "{line}"
            );
        }
        let document = Xaa::new(["decode", "--json", token.as_str()])
            .run_bytes()
            .terminal_safe()
            .expect_code(0)
            .json();
        assert_eq!(document["claims"], claims);
        for name in ["exp", "iat", "nbf", "auth_time"] {
            let time = &document["times"][name];
            match time["date"].as_str() {
                Some(date) => assert_eq!(date, said, "{document:#}"),
                None => assert_eq!(time["problem"], said, "{document:#}"),
            }
        }
    }
}

/// A server whose every string is hostile: the challenge (as far as header rules allow:
/// UTF-8 C1, bidi, separator and tag characters, lone obs-text bytes), the protected-resource
/// document (`resource`, `authorization_servers`, `scopes_supported`) and a redirect's Location.
/// The probe answers `probe_status`: with 401 the unreadable challenge ends the discovery,
/// with 400 it is only shown and the well-known document is fetched.
fn hostile_server(probe_status: u16) -> HostileServer {
    HostileServer::start(move |_, path, origin| {
        if path == "/mcp" {
            let mut challenge = format!(
                "Bearer resource_metadata=\"{origin}/.well-known/oauth-protected-resource/mcp\", \
                 error_description=\""
            )
            .into_bytes();
            challenge.extend_from_slice(
                b"\xc2\x9b31m\xe2\x80\xae\xe2\x80\xa8\xf3\xa0\x81\x81 \x9b\xff\"",
            );
            return Reply::status(probe_status).header("WWW-Authenticate", challenge);
        }
        if path.starts_with("/.well-known/oauth-protected-resource") {
            let document = json!({
                "resource": format!("{origin}/mcp{HOSTILE}"),
                "authorization_servers": [format!("{origin}/as"), format!("{origin}/{HOSTILE}"), HOSTILE],
                "scopes_supported": [HOSTILE, "tools:read"],
            });
            return Reply::json(document.to_string());
        }
        if path.contains("/.well-known/") {
            let mut location = format!("{origin}/moved").into_bytes();
            location.extend_from_slice(b"\xc2\x9b[31m\xe2\x80\xaeevil\xe2\x80\xa8\xf3\xa0\x81\x81");
            return Reply::status(302).header("Location", location);
        }
        Reply::status(404)
    })
}

#[test]
fn hostile_discovery_documents_and_headers_are_escaped_in_text() {
    let server = hostile_server(400);
    let origin = server.origin();
    let run = Xaa::new(["discover", "--insecure-loopback"])
        .args([server.url("/mcp")])
        .run_bytes()
        .terminal_safe()
        .expect_code(EXIT_PROTOCOL);
    let out = &run.stdout;
    assert_line(out, &format!("resource: {origin}/mcp{HOSTILE_SHOWN}"));
    assert_line(
        out,
        &format!("authorization servers: {origin}/as, {origin}/{HOSTILE_SHOWN}, {HOSTILE_SHOWN}"),
    );
    assert_line(
        out,
        &format!("scopes supported: {HOSTILE_SHOWN}, tools:read"),
    );
    assert!(
        out.contains(
            "error_description=\"\\u{009B}31m\\u{202E}\\u{2028}\\u{E0041} \u{fffd}\u{fffd}\""
        ),
        "{run}"
    );
    assert!(
        out.contains(&format!(
            "Location: {origin}/moved\\u{{009B}}[31m\\u{{202E}}evil\\u{{2028}}\\u{{E0041}}"
        )),
        "{run}"
    );
    assert_line(out, &format!("authorization server {HOSTILE_SHOWN}"));
    assert!(run.stderr.starts_with("xaa: "), "{run}");
    assert!(
        server
            .requests()
            .iter()
            .all(|(_, path)| !path.contains("moved")),
        "the redirect is not followed"
    );
}

#[test]
fn hostile_discovery_documents_and_headers_are_escaped_in_json() {
    let server = hostile_server(400);
    let origin = server.origin();
    let run = Xaa::new(["discover", "--insecure-loopback", "--json"])
        .args([server.url("/mcp")])
        .run_bytes()
        .terminal_safe()
        .expect_code(EXIT_PROTOCOL);
    assert!(run.stdout.contains(HOSTILE_JSON), "{run}");
    let report = run.json();
    let resource = &report["resource"];
    assert_eq!(resource["resource"], format!("{origin}/mcp{HOSTILE}"));
    assert_eq!(
        resource["authorization_servers"],
        json!([
            format!("{origin}/as"),
            format!("{origin}/{HOSTILE}"),
            HOSTILE
        ])
    );
    assert_eq!(resource["scopes_supported"], json!([HOSTILE, "tools:read"]));
    let probe = &report["resource_requests"][0];
    assert!(
        probe["note"].as_str().is_some_and(|n| n.ends_with(
            "error_description=\"\u{9b}31m\u{202e}\u{2028}\u{e0041} \u{fffd}\u{fffd}\""
        )),
        "{probe}"
    );
    let redirect = &report["authorization_servers"][0]["requests"][0];
    assert_eq!(redirect["status"], 302, "{report:#}");
    assert_eq!(
        redirect["note"],
        format!("Location: {origin}/moved\u{9b}[31m\u{202e}evil\u{2028}\u{e0041}")
    );
    assert_eq!(report["authorization_servers"][2]["issuer"], HOSTILE);
    assert!(
        report["violations"]
            .as_array()
            .is_some_and(|v| v.len() >= 3),
        "{report:#}"
    );
}

/// A challenge the client cannot read ends the discovery; it is shown escaped all the same.
#[test]
fn a_hostile_unreadable_challenge_is_shown_escaped() {
    let server = hostile_server(401);
    let run = Xaa::new(["discover", "--insecure-loopback"])
        .args([server.url("/mcp")])
        .run_bytes()
        .terminal_safe()
        .expect_code(EXIT_PROTOCOL);
    assert!(
        run.stdout.contains(
            "error_description=\"\\u{009B}31m\\u{202E}\\u{2028}\\u{E0041} \u{fffd}\u{fffd}\"\n"
        ),
        "{run}"
    );
    let report = Xaa::new(["discover", "--insecure-loopback", "--json"])
        .args([server.url("/mcp")])
        .run_bytes()
        .terminal_safe()
        .expect_code(EXIT_PROTOCOL)
        .json();
    assert!(
        report["resource_requests"][0]["note"]
            .as_str()
            .is_some_and(|n| n.contains("\u{9b}31m\u{202e}")),
        "{report:#}"
    );
    assert_eq!(server.requests().len(), 2, "the probe alone, twice");
}

/// Authorization-server metadata that is valid but hostile in every list and value it may
/// hold: shown bounded and escaped, for the MCP side and the IdP side alike.
#[test]
fn hostile_authorization_server_metadata_is_bounded_and_escaped() {
    let server = HostileServer::start(|_, path, origin| {
        if path == "/mcp" {
            return Reply::status(401).header(
                "WWW-Authenticate",
                format!(
                    "Bearer resource_metadata=\"{origin}/.well-known/oauth-protected-resource/mcp\""
                ),
            );
        }
        if path == "/.well-known/oauth-protected-resource/mcp" {
            return Reply::json(
                json!({"resource": format!("{origin}/mcp"),
                    "authorization_servers": [format!("{origin}/as")]})
                .to_string(),
            );
        }
        let issuer = match path {
            "/.well-known/oauth-authorization-server/as" => format!("{origin}/as"),
            "/.well-known/oauth-authorization-server/idp" => format!("{origin}/idp"),
            _ => return Reply::status(404),
        };
        let mut methods: Vec<String> = (0..1000).map(|i| format!("{HOSTILE}{i}")).collect();
        methods[0] = format!("{HOSTILE}{}", "m".repeat(5000));
        Reply::json(
            json!({"issuer": issuer, "token_endpoint": format!("{origin}/token?{HOSTILE}"),
                "token_endpoint_auth_methods_supported": methods,
                "grant_types_supported": [HOSTILE, xaa::constants::GRANT_TYPE_JWT_BEARER,
                    xaa::constants::GRANT_TYPE_TOKEN_EXCHANGE],
                "authorization_grant_profiles_supported": [HOSTILE]})
            .to_string(),
        )
    });
    let origin = server.origin();
    let args = |json: bool| {
        Xaa::new(["discover", "--insecure-loopback", "--idp-issuer"])
            .args([server.url("/idp"), server.url("/mcp")])
            .args(json.then_some("--json"))
    };
    let run = args(false).run_bytes().terminal_safe().expect_code(0);
    let out = &run.stdout;
    assert_line(
        out,
        &format!("  token_endpoint: {origin}/token?{HOSTILE_SHOWN}"),
    );
    assert_line(out, "  jwt_bearer_grant: true");
    assert_line(out, "  id_jag_profile: false");
    assert_line(out, "  token_exchange_grant: true");
    for label in ["authorization server", "IdP"] {
        assert!(out.contains(&format!("{label} {origin}/")), "{run}");
    }
    let methods: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  token_endpoint_auth_methods_supported: "))
        .collect();
    assert_eq!(methods.len(), 2, "{run}");
    for line in methods {
        assert!(
            line.starts_with(&format!(
                "  token_endpoint_auth_methods_supported: {}",
                HOSTILE_SHOWN
            )),
            "{line}"
        );
        assert!(line.contains("… (4535 more characters), "), "{line}");
        assert!(
            line.ends_with(&format!(", {HOSTILE_SHOWN}63 (936 more)")),
            "{line}"
        );
    }
    assert!(out.len() < 64 * 1024, "{} bytes", out.len());

    let run = args(true).run_bytes().terminal_safe().expect_code(0);
    assert!(run.stdout.len() < 64 * 1024, "{} bytes", run.stdout.len());
    let report = run.json();
    for side in [&report["authorization_servers"][0], &report["idp"]] {
        assert_eq!(
            side["token_endpoint"],
            format!("{origin}/token?{HOSTILE}"),
            "{report:#}"
        );
        let methods = side["token_endpoint_auth_methods_supported"]
            .as_array()
            .expect("the methods");
        assert_eq!(methods.len(), 64);
        assert_eq!(methods[1], format!("{HOSTILE}1"));
        assert_eq!(side["token_endpoint_auth_methods_supported_not_shown"], 936);
    }
}
