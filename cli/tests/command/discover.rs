//! `xaa discover URL`: the diagnosis of each broken setup the kit can fake.

use std::time::Duration;

use serde_json::{Value, json};
use xaa_testkit::{EVIL_ORIGIN, Endpoint, Fault, Options, Testkit, UNREACHABLE_ISSUER};

use crate::support::{EXIT_PROTOCOL, EXIT_USAGE, HostileServer, Reply, Run, Xaa, kit};

/// `xaa discover` of the kit's MCP server, as JSON and as text; both must agree on the exit
/// code. Returns the JSON report and the text run.
fn discover(kit: &Testkit, extra: &[&str]) -> (Value, Run) {
    let json = Xaa::new(["discover", kit.mcp_url(), "--json"])
        .args(extra)
        .run();
    let text = Xaa::new(["discover", kit.mcp_url()]).args(extra).run();
    assert_eq!(json.code, text.code, "json:\n{json}\ntext:\n{text}");
    let report = json.json();
    assert_eq!(report["server"], kit.mcp_url());
    assert!(report["violations"].is_array(), "{report:#}");
    (report, text)
}

/// The violations of a report: (rule, finding).
fn violations(report: &Value) -> Vec<(String, String)> {
    report["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| {
            (
                v["rule"].as_str().expect("rule").to_owned(),
                v["finding"].as_str().expect("finding").to_owned(),
            )
        })
        .collect()
}

/// Exactly one violation whose rule contains `rule`; exit 5, and the text says it too.
#[track_caller]
fn one_violation(kit: &Testkit, extra: &[&str], rule: &str) -> (String, Value) {
    let (report, text) = discover(kit, extra);
    let found = violations(&report);
    assert_eq!(found.len(), 1, "{report:#}");
    let (got_rule, finding) = found.into_iter().next().expect("one");
    assert!(
        got_rule.contains(rule),
        "rule {got_rule:?}, expected {rule:?}"
    );
    let text = text.expect_code(EXIT_PROTOCOL);
    assert!(text.stdout.contains("violations:"), "{text}");
    assert!(text.stdout.contains(rule), "{text}");
    assert!(text.stderr.contains("1 violation(s) found"), "{text}");
    (finding, report)
}

#[test]
fn a_clean_setup_has_no_violation() {
    let kit = kit(Options::new());
    let (report, text) = discover(
        &kit,
        &["--insecure-loopback", "--idp-issuer", kit.idp_issuer()],
    );
    let text = text.expect_code(0);
    assert!(violations(&report).is_empty(), "{report:#}");
    assert!(text.stdout.contains("no violations found"), "{text}");
    for line in [
        format!("resource: {}", kit.mcp_url()),
        format!(
            "authorization servers: {}",
            kit.authorization_server_issuer()
        ),
        "scopes supported: tools:read, tools:admin".to_owned(),
        format!(
            "  token_endpoint: {}",
            kit.authorization_server_token_endpoint()
        ),
        "  jwt_bearer_grant: true".to_owned(),
        "  token_exchange_grant: true".to_owned(),
    ] {
        assert!(text.stdout.lines().any(|l| l == line), "{line:?}:\n{text}");
    }
    assert_eq!(report["authorization_servers_not_examined"], 0);
    assert_eq!(report["resource"]["authorization_servers_listed"], 1);
    assert_eq!(report["resource"]["resource"], kit.mcp_url());
    assert_eq!(
        report["resource"]["metadata_url"],
        kit.resource_metadata_url().as_str()
    );
    let servers = report["authorization_servers"].as_array().expect("array");
    assert_eq!(servers.len(), 1, "{report:#}");
    assert_eq!(servers[0]["issuer"], kit.authorization_server_issuer());
    assert_eq!(
        servers[0]["token_endpoint"],
        kit.authorization_server_token_endpoint()
    );
    assert_eq!(servers[0]["jwt_bearer_grant"], true);
    assert_eq!(report["idp"]["issuer"], kit.idp_issuer());
    assert_eq!(report["idp"]["token_endpoint"], kit.idp_token_endpoint());
    assert_eq!(report["idp"]["token_exchange_grant"], true);
    // The probe's challenge is shown.
    let probe = &report["resource_requests"][0];
    assert_eq!(probe["status"], 401, "{report:#}");
    assert!(
        probe["note"]
            .as_str()
            .is_some_and(|n| n.contains("resource_metadata=")),
        "{probe}"
    );
}

#[test]
fn an_authorization_server_with_the_wrong_issuer() {
    let kit = kit(Options::new().fault(Endpoint::AsMetadata, Fault::WrongIssuer));
    let (finding, _) = one_violation(&kit, &["--insecure-loopback"], "RFC 8414 section 3.3");
    assert!(finding.contains(EVIL_ORIGIN), "{finding}");
}

#[test]
fn an_idp_with_the_wrong_issuer() {
    let kit = kit(Options::new().fault(Endpoint::IdpMetadata, Fault::WrongIssuer));
    let issuer = kit.idp_issuer().to_owned();
    let (finding, report) = one_violation(
        &kit,
        &["--insecure-loopback", "--idp-issuer", &issuer],
        "RFC 8414 section 3.3",
    );
    assert!(finding.contains(EVIL_ORIGIN), "{finding}");
    assert_eq!(report["idp"]["issuer"], issuer.as_str());
}

#[test]
fn protected_resource_metadata_for_a_foreign_resource() {
    let kit = kit(Options::new().fault(Endpoint::ResourceMetadata, Fault::ForeignResource));
    let (finding, _) = one_violation(&kit, &["--insecure-loopback"], "RFC 9728 section 3.3");
    assert!(finding.contains("evil.example.com"), "{finding}");
}

#[test]
fn plain_http_is_refused_without_insecure_loopback() {
    let kit = kit(Options::new());
    for extra in [&["--json"][..], &[]] {
        let run = Xaa::new(["discover", kit.mcp_url()]).args(extra).run();
        assert_ne!(run.code, 0, "{run}");
        assert!(
            format!("{}{}", run.stdout, run.stderr).contains("is not https"),
            "{run}"
        );
    }
    assert!(kit.requests().is_empty(), "nothing is sent over plain http");
}

/// What a diagnosis tool should say about an http URL: the https rule, as a violation.
#[test]
fn plain_http_is_reported_as_a_violation_of_the_https_rule() {
    let kit = kit(Options::new());
    let (finding, _) = one_violation(&kit, &[], "https only");
    assert!(finding.contains("http://127.0.0.1"), "{finding}");
    assert!(kit.requests().is_empty(), "nothing is sent over plain http");
}

/// The refusal should name the command's own switch, not the library's field.
#[test]
fn the_plain_http_refusal_names_the_insecure_loopback_switch() {
    let kit = kit(Options::new());
    let run = Xaa::new(["discover", kit.mcp_url()]).run();
    let output = format!("{}{}", run.stdout, run.stderr);
    assert!(output.contains("--insecure-loopback"), "{run}");
    assert!(!output.contains("Policy::"), "{run}");
    let setup = crate::support::Setup::new(&kit);
    let run = Xaa::new(["token", "--server", kit.mcp_url()])
        .args(["--idp-issuer", kit.idp_issuer()])
        .args(["--idp-client-id", xaa_testkit::IDP_CLIENT_ID])
        .args(["--as-client-id", xaa_testkit::AS_CLIENT_ID])
        .args(["--subject-token-env", "TEST_ID_TOKEN"])
        .env("TEST_ID_TOKEN", &setup.subject)
        .secrets(setup.secrets.clone())
        .run();
    assert!(run.stderr.contains("--insecure-loopback"), "{run}");
    assert!(!run.stderr.contains("Policy::"), "{run}");
}

#[test]
fn an_unreachable_authorization_server() {
    let kit = kit(Options::new().fault(
        Endpoint::ResourceMetadata,
        Fault::UnreachableAuthorizationServer,
    ));
    let (finding, report) = one_violation(&kit, &["--insecure-loopback"], "reachable");
    assert!(
        finding.contains("authorization_server_metadata"),
        "{finding}"
    );
    assert_eq!(
        report["resource"]["authorization_servers"][0],
        UNREACHABLE_ISSUER
    );
    let request = &report["authorization_servers"][0]["requests"][0];
    assert!(request["status"].is_null(), "no response: {request}");
    assert!(
        request["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(UNREACHABLE_ISSUER)),
        "{request}"
    );
}

#[test]
fn a_redirect() {
    let location = format!("{EVIL_ORIGIN}/.well-known/oauth-protected-resource/mcp");
    let kit = kit(Options::new().fault(
        Endpoint::ResourceMetadata,
        Fault::Redirect(location.clone()),
    ));
    let (_, report) = one_violation(&kit, &["--insecure-loopback"], "redirects are not followed");
    let redirected = report["resource_requests"]
        .as_array()
        .expect("requests")
        .iter()
        .find(|r| r["status"] == 302)
        .cloned()
        .expect("the 302 is listed");
    assert!(
        redirected["note"]
            .as_str()
            .is_some_and(|n| n.contains(&location)),
        "{redirected}"
    );
    assert_eq!(
        kit.count(xaa_testkit::Server::Mcp, "/mcp"),
        2,
        "probe only, twice (json and text)"
    );
}

/// The finding should show the Location, not a Rust `Option`.
#[test]
fn a_redirect_finding_shows_the_location_plainly() {
    let location = format!("{EVIL_ORIGIN}/elsewhere");
    let kit = kit(Options::new().fault(
        Endpoint::ResourceMetadata,
        Fault::Redirect(location.clone()),
    ));
    let (finding, _) = one_violation(&kit, &["--insecure-loopback"], "redirects are not followed");
    assert!(finding.contains(&location), "{finding}");
    assert!(!finding.contains("Some("), "{finding}");
}

#[test]
fn a_server_error() {
    let kit = kit(Options::new().fault(Endpoint::AsMetadata, Fault::ServerError));
    let (finding, report) = one_violation(&kit, &["--insecure-loopback"], "RFC 8414");
    assert!(finding.contains("500"), "{finding}");
    let requests = report["authorization_servers"][0]["requests"]
        .as_array()
        .expect("requests");
    assert!(requests.iter().any(|r| r["status"] == 500), "{report:#}");
}

/// The indices `i` of every `{origin}/as{i}` in `text`.
fn listed_indices(text: &str, origin: &str) -> std::collections::BTreeSet<usize> {
    let prefix = format!("{origin}/as");
    text.match_indices(&prefix)
        .filter_map(|(at, _)| {
            let digits: String = text[at + prefix.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

/// A protected-resource document listing 3000 authorization servers (none of which publishes
/// metadata) and 1000 scopes, the first 5000 characters long.
fn a_server_listing_thousands() -> HostileServer {
    HostileServer::start(|_, path, origin| {
        if path == "/mcp" {
            return Reply::status(401).header(
                "WWW-Authenticate",
                format!(
                    "Bearer resource_metadata=\"{origin}/.well-known/oauth-protected-resource/mcp\""
                ),
            );
        }
        if path == "/.well-known/oauth-protected-resource/mcp" {
            let servers: Vec<String> = (0..3000).map(|i| format!("{origin}/as{i}")).collect();
            let mut scopes: Vec<String> = (0..1000).map(|i| format!("scope{i}")).collect();
            scopes[0] = "s".repeat(5000);
            return Reply::json(
                json!({"resource": format!("{origin}/mcp"), "authorization_servers": servers,
                    "scopes_supported": scopes})
                .to_string(),
            );
        }
        Reply::status(404)
    })
}

/// The authorization servers whose metadata was asked for: their indices, and how many
/// requests that took.
fn metadata_requests(server: &HostileServer) -> (std::collections::BTreeSet<usize>, usize) {
    let requests: Vec<String> = server
        .requests()
        .into_iter()
        .map(|(_, path)| path)
        .filter(|path| !path.starts_with("/.well-known/oauth-protected-resource") && path != "/mcp")
        .collect();
    let indices = requests
        .iter()
        .flat_map(|path| path.split('/'))
        .filter_map(|segment| segment.strip_prefix("as")?.parse().ok())
        .collect();
    (indices, requests.len())
}

#[test]
fn thousands_of_authorization_servers_four_examined_and_the_rest_counted() {
    let server = a_server_listing_thousands();
    let origin = server.origin().to_owned();
    let run = Xaa::new(["discover", "--insecure-loopback"])
        .args([server.url("/mcp")])
        .run_bytes();
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
    let run = run.terminal_safe().expect_code(EXIT_PROTOCOL);
    let (examined, requests) = metadata_requests(&server);
    assert_eq!(examined, (0..4).collect(), "{run}");
    assert!(requests <= 4 * 3, "{requests} metadata requests");
    assert_eq!(listed_indices(&run.stdout, &origin), (0..4).collect());
    assert!(
        run.stdout.lines().any(|line| line
            == format!(
                "authorization servers: {origin}/as0, {origin}/as1, {origin}/as2, {origin}/as3; \
                 2996 more not examined (at most 4 are)"
            )),
        "{run}"
    );
    let scopes = run
        .stdout
        .lines()
        .find(|line| line.starts_with("scopes supported: "))
        .expect("the scopes line");
    assert!(
        scopes.starts_with(&format!(
            "scopes supported: {}… (4488 more characters), scope1, scope2, ",
            "s".repeat(512)
        )),
        "{scopes}"
    );
    assert!(scopes.ends_with(", scope63 (936 more)"), "{scopes}");
    assert!(run.stdout.len() < 16 * 1024, "{} bytes", run.stdout.len());

    let run = Xaa::new(["discover", "--insecure-loopback", "--json"])
        .args([server.url("/mcp")])
        .run_bytes();
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
    let run = run.terminal_safe().expect_code(EXIT_PROTOCOL);
    assert_eq!(listed_indices(&run.stdout, &origin), (0..4).collect());
    assert!(run.stdout.len() < 16 * 1024, "{} bytes", run.stdout.len());
    let report = run.json();
    assert_eq!(report["authorization_servers_not_examined"], 2996);
    assert_eq!(
        report["authorization_servers"].as_array().map(Vec::len),
        Some(4)
    );
    let resource = &report["resource"];
    assert_eq!(resource["authorization_servers_listed"], 3000);
    assert_eq!(
        resource["authorization_servers"].as_array().map(Vec::len),
        Some(4)
    );
    assert_eq!(
        resource["scopes_supported"].as_array().map(Vec::len),
        Some(64)
    );
    assert_eq!(resource["scopes_supported_not_shown"], 936);
    assert_eq!(
        resource["scopes_supported"][0],
        format!("{}… (4488 more characters)", "s".repeat(512))
    );
    assert_eq!(report["violations"].as_array().map(Vec::len), Some(4));
}

#[test]
fn the_bounds_are_stated_in_help() {
    let run = Xaa::new(["discover", "--help"]).run().expect_code(0);
    assert!(
        run.stdout
            .contains("at most 4 of the authorization servers"),
        "{run}"
    );
    assert!(run.stdout.contains("--timeout <SECS>"), "{run}");
    assert!(run.stdout.contains("from 1 to 3600"), "{run}");
}

#[test]
fn a_timeout_out_of_bounds_is_refused_before_any_request() {
    let server = HostileServer::start(|_, _, _| Reply::status(404));
    for timeout in ["0", "9223372036854775807", "3601", "-1", "1.5", "ten", ""] {
        for extra in [&["--json"][..], &[]] {
            let run = Xaa::new(["discover", "--insecure-loopback"])
                .args([format!("--timeout={timeout}")])
                .args(extra)
                .args([server.url("/mcp")])
                .run_bytes()
                .terminal_safe()
                .expect_code(EXIT_USAGE);
            assert!(
                run.stderr
                    .contains("the timeout must be a whole number of seconds from 1 to 3600"),
                "{run}"
            );
            assert!(run.stdout.is_empty(), "{run}");
        }
    }
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn the_timeout_bounds_each_request() {
    let server = HostileServer::start(|_, _, _| Reply::stall());
    for extra in [&["--json"][..], &[]] {
        let run = Xaa::new(["discover", "--insecure-loopback", "--timeout", "1"])
            .args(extra)
            .args([server.url("/mcp")])
            .run_bytes();
        assert!(
            run.elapsed >= Duration::from_secs(1) && run.elapsed < Duration::from_secs(8),
            "{:?}",
            run.elapsed
        );
        let run = run.terminal_safe().expect_code(EXIT_PROTOCOL);
        assert!(run.stdout.contains("reachable server"), "{run}");
    }
    assert_eq!(server.requests().len(), 2, "the probe alone, twice");
}
