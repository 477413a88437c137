//! `xaa discover URL`: the diagnosis of each broken setup the kit can fake.

use serde_json::Value;
use xaa_testkit::{EVIL_ORIGIN, Endpoint, Fault, Options, Testkit, UNREACHABLE_ISSUER};

use crate::support::{EXIT_PROTOCOL, Run, Xaa, kit};

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
