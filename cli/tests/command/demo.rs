//! `xaa demo` and `xaa demo --json`.

use serde_json::Value;

use crate::support::{Xaa, full_jwts, kit_access_tokens};

/// The steps of the flow, then the MCP calls made with the token.
const FLOW_STEPS: [&str; 6] = [
    "resource_probe",
    "resource_metadata",
    "authorization_server_metadata",
    "idp_metadata",
    "token_exchange",
    "jwt_bearer",
];
const MCP_STEPS: [&str; 4] = [
    "mcp_initialize",
    "mcp_initialized",
    "mcp_tools_list",
    "mcp_tools_call",
];

/// Where each step is in `order`; every step must be there exactly once.
fn positions(order: &[&str]) -> impl Fn(&str) -> usize {
    for step in FLOW_STEPS.iter().chain(&MCP_STEPS) {
        let count = order.iter().filter(|s| *s == step).count();
        assert_eq!(count, 1, "step {step} appears {count} times in {order:?}");
    }
    let order: Vec<String> = order.iter().map(|s| (*s).to_owned()).collect();
    move |step| {
        order
            .iter()
            .position(|s| s == step)
            .expect("every step is present")
    }
}

/// The order the protocol imposes: each step after the ones it needs, the MCP calls last and
/// in their own order.
fn assert_causal_order(order: &[&str]) {
    assert_eq!(order.len(), FLOW_STEPS.len() + MCP_STEPS.len(), "{order:?}");
    let at = positions(order);
    let before = |a: &str, b: &str| assert!(at(a) < at(b), "{a} must come before {b}: {order:?}");
    before("resource_probe", "resource_metadata");
    before("resource_metadata", "authorization_server_metadata");
    before("authorization_server_metadata", "token_exchange");
    before("idp_metadata", "token_exchange");
    before("token_exchange", "jwt_bearer");
    before("jwt_bearer", "mcp_initialize");
    for pair in MCP_STEPS.windows(2) {
        before(pair[0], pair[1]);
    }
}

fn assert_no_full_token(output: &str) {
    assert!(
        full_jwts(output).is_empty(),
        "a whole JWT in the demo output: {:?}",
        full_jwts(output)
    );
    assert!(
        kit_access_tokens(output).is_empty(),
        "a whole access token in the demo output: {:?}",
        kit_access_tokens(output)
    );
}

#[test]
fn demo_prints_every_step_in_order_and_no_token() {
    let run = Xaa::new(["demo"]).run().expect_code(0);
    assert_no_full_token(&run.stdout);
    assert_no_full_token(&run.stderr);
    // One line per step: "[  12.2 ms] resource_probe   POST http://... -> 401  (11.1 ms)".
    let order: Vec<&str> = run
        .stdout
        .lines()
        .filter(|line| line.starts_with('[') && line.contains(" ms] "))
        .filter_map(|line| line.split("] ").nth(1)?.split_whitespace().next())
        .collect();
    assert_causal_order(&order);
    assert!(run.stdout.contains("access token sha256:"), "{run}");
    assert!(run.stdout.contains("hello from xaa"), "{run}");
    assert!(run.stdout.contains("10 requests in"), "{run}");
}

#[test]
fn demo_json_has_steps_in_order_of_completion_and_a_summary() {
    let run = Xaa::new(["demo", "--json"]).run().expect_code(0);
    assert_no_full_token(&run.stdout);
    assert_no_full_token(&run.stderr);
    let document = run.json();
    let steps = document["steps"].as_array().expect("a steps array");
    let order: Vec<&str> = steps
        .iter()
        .map(|step| step["step"].as_str().expect("each step is named"))
        .collect();
    assert_causal_order(&order);
    // In order of completion: each step ends no earlier than the one listed before it.
    let ends: Vec<f64> = steps
        .iter()
        .map(|step| {
            let at = step["at_ms"].as_f64().expect("at_ms");
            let took = step["took_ms"].as_f64().expect("took_ms");
            assert!(at >= 0.0 && took >= 0.0, "{step}");
            at + took
        })
        .collect();
    for (index, pair) in ends.windows(2).enumerate() {
        assert!(
            pair[0] <= pair[1],
            "step {} ends after step {}: {ends:?}",
            index,
            index + 1
        );
    }
    for step in steps {
        assert!(
            step["method"].is_string() && step["url"].is_string(),
            "{step}"
        );
        assert!(step["status"].is_u64(), "{step}");
    }
    let status = |name: &str| {
        steps.iter().find(|s| s["step"] == name).expect("present")["status"]
            .as_u64()
            .expect("status")
    };
    assert_eq!(status("resource_probe"), 401);
    assert_eq!(status("jwt_bearer"), 200);
    assert_eq!(status("mcp_tools_call"), 200);
    let jwt_bearer = steps
        .iter()
        .find(|s| s["step"] == "jwt_bearer")
        .expect("present");
    let fingerprint = jwt_bearer["answer"]["access_token"]
        .as_str()
        .expect("the access token's fingerprint");
    assert!(fingerprint.starts_with("sha256:"), "{fingerprint}");

    let summary = &document["summary"];
    assert!(summary.is_object(), "{document:#}");
    assert_eq!(summary["requests"], Value::from(steps.len()));
    assert_eq!(summary["access_token"].as_str(), Some(fingerprint));
    assert_eq!(summary["scope"], "tools:read");
    assert!(
        summary["resource"]
            .as_str()
            .is_some_and(|r| r.starts_with("http://127.0.0.1:") && r.ends_with("/mcp")),
        "{summary}"
    );
    assert!(summary["authorization_server"].is_string(), "{summary}");
    assert!(summary["expires_at"].is_string(), "{summary}");
    assert!(
        summary["expires_in_s"].as_u64().is_some_and(|s| s > 3000),
        "{summary}"
    );
    assert!(
        summary["total_ms"].as_f64().is_some_and(|ms| ms > 0.0),
        "{summary}"
    );
}

#[test]
fn demo_output_holds_nothing_a_terminal_acts_on() {
    for args in [&["demo"][..], &["demo", "--json"]] {
        let run = Xaa::new(args).run_bytes().terminal_safe().expect_code(0);
        assert_no_full_token(&run.stdout);
    }
}

#[test]
fn demo_dpop_binds_every_token_and_shows_the_nonce_retry() {
    let run = Xaa::new(["demo", "--dpop", "--json"]).run().expect_code(0);
    assert_no_full_token(&run.stdout);
    assert_no_full_token(&run.stderr);
    let document = run.json();
    let steps = document["steps"].as_array().expect("a steps array");
    let bearer: Vec<&Value> = steps.iter().filter(|s| s["step"] == "jwt_bearer").collect();
    assert_eq!(bearer.len(), 2, "one nonce demand, one retry: {document:#}");
    assert_eq!(bearer[0]["status"], 400);
    assert_eq!(bearer[0]["answer"]["error"], "use_dpop_nonce");
    assert!(
        bearer[0]["answer"]["dpop_nonce"].is_string(),
        "{document:#}"
    );
    assert_eq!(bearer[1]["status"], 200);
    assert_eq!(bearer[1]["answer"]["token_type"], "DPoP");
    let summary = &document["summary"];
    assert_eq!(summary["token_type"], "DPoP");
    assert!(
        summary["dpop_jkt"]
            .as_str()
            .is_some_and(|jkt| jkt.len() == 43),
        "{summary}"
    );
    let status = |name: &str| {
        steps.iter().find(|s| s["step"] == name).expect("present")["status"]
            .as_u64()
            .expect("status")
    };
    assert_eq!(
        status("mcp_tools_call"),
        200,
        "the MCP server took the proofs"
    );
    let text = Xaa::new(["demo", "--dpop"]).run().expect_code(0);
    assert!(
        text.stdout.contains("DPoP-bound access token sha256:"),
        "{text}"
    );
    assert!(!text.stdout.contains("PRIVATE KEY"), "{text}");
}

/// The sign-in leg of `xaa demo --sign-in`, in order: the IdP discovered, its page opened
/// and submitted, the code exchanged and the ID token's keys fetched, the redirect answered.
const SIGN_IN_STEPS: [&str; 6] = [
    "idp_metadata",
    "sign_in_page",
    "sign_in_submit",
    "code_exchange",
    "idp_keys",
    "callback",
];

/// Neither the authorization code nor the authorization request's query (`state`, `nonce`)
/// is printed.
fn assert_no_sign_in_secret(output: &str) {
    assert!(
        !output.contains("idp-code-"),
        "a code in the output:\n{output}"
    );
    for parameter in ["state=", "nonce=", "code_challenge=", "code="] {
        assert!(
            !output.contains(parameter),
            "a query with {parameter} in the output:\n{output}"
        );
    }
}

#[test]
fn demo_sign_in_signs_in_first_then_runs_the_flow_with_that_id_token() {
    let run = Xaa::new(["demo", "--sign-in"]).run().expect_code(0);
    for output in [&run.stdout, &run.stderr] {
        assert_no_full_token(output);
        assert_no_sign_in_secret(output);
    }
    let order: Vec<&str> = run
        .stdout
        .lines()
        .filter(|line| line.starts_with('[') && line.contains(" ms] "))
        .filter_map(|line| line.split("] ").nth(1)?.split_whitespace().next())
        .collect();
    assert_eq!(order[..SIGN_IN_STEPS.len()], SIGN_IN_STEPS, "{run}");
    assert_causal_order(&order[SIGN_IN_STEPS.len()..]);
    assert!(
        run.stdout.contains("signed in as alice: ID token sha256:"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("the IdP redeemed 1 code (1 with the PKCE verifier matching)"),
        "{run}"
    );
    assert!(run.stdout.contains("page: \"Signed in\""), "{run}");
    assert!(run.stdout.contains("16 requests in"), "{run}");
    assert!(run.stdout.contains("hello from xaa"), "{run}");
}

#[test]
fn demo_sign_in_json_shows_the_exchange_and_the_idp_record() {
    let run = Xaa::new(["demo", "--sign-in", "--json"])
        .run_bytes()
        .terminal_safe()
        .expect_code(0);
    assert_no_full_token(&run.stdout);
    assert_no_sign_in_secret(&run.stdout);
    let document = run.json();
    let steps = document["steps"].as_array().expect("a steps array");
    let order: Vec<&str> = steps
        .iter()
        .map(|step| step["step"].as_str().expect("each step is named"))
        .collect();
    assert_eq!(order[..SIGN_IN_STEPS.len()], SIGN_IN_STEPS, "{document:#}");
    assert_causal_order(&order[SIGN_IN_STEPS.len()..]);
    // In order of completion: the redirect, followed before the code exchange, ends after it.
    let ends: Vec<f64> = steps
        .iter()
        .map(|s| s["at_ms"].as_f64().expect("at_ms") + s["took_ms"].as_f64().expect("took_ms"))
        .collect();
    assert!(ends.windows(2).all(|pair| pair[0] <= pair[1]), "{ends:?}");
    let step = |name: &str| {
        steps
            .iter()
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("no step {name}"))
    };
    assert_eq!(step("sign_in_page")["status"], 200);
    assert_eq!(
        step("sign_in_page")["answer"]["code_challenge_method"],
        "S256"
    );
    let submitted = step("sign_in_submit");
    assert_eq!(submitted["status"], 303);
    assert_eq!(submitted["answer"]["state"], "present");
    let listener = submitted["answer"]["redirect_to"]
        .as_str()
        .expect("where the IdP sent the browser");
    assert!(
        listener.starts_with("http://127.0.0.1:") && listener.ends_with("/callback"),
        "{submitted}"
    );
    assert!(
        submitted["answer"]["code"]
            .as_str()
            .is_some_and(|code| code.starts_with("sha256:")),
        "{submitted}"
    );
    let callback = step("callback");
    assert_eq!(callback["url"], listener);
    assert_eq!(callback["status"], 200);
    assert_eq!(callback["answer"]["page"], "Signed in");
    let exchange = step("code_exchange");
    assert_eq!(exchange["status"], 200);

    let sign_in = &document["summary"]["sign_in"];
    assert_eq!(sign_in["user"], "alice");
    assert_eq!(
        sign_in["id_token"], exchange["answer"]["id_token"],
        "the ID token of the exchange is the one signed in with"
    );
    assert_eq!(sign_in["idp_code_redemptions"], 1, "{sign_in}");
    assert_eq!(sign_in["idp_pkce_verified"], 1, "{sign_in}");
    assert_eq!(document["summary"]["requests"], Value::from(steps.len()));
    assert_eq!(
        steps
            .iter()
            .find(|s| s["step"] == "jwt_bearer")
            .expect("present")["status"],
        200
    );
}

#[test]
fn demo_sign_in_with_dpop_binds_the_token() {
    let run = Xaa::new(["demo", "--sign-in", "--dpop", "--json"])
        .run()
        .expect_code(0);
    assert_no_full_token(&run.stdout);
    assert_no_sign_in_secret(&run.stdout);
    let document = run.json();
    assert_eq!(document["summary"]["token_type"], "DPoP");
    assert_eq!(document["summary"]["sign_in"]["idp_code_redemptions"], 1);
    let calls = document["steps"]
        .as_array()
        .expect("a steps array")
        .iter()
        .filter(|s| s["step"] == "mcp_tools_call")
        .map(|s| s["status"].clone())
        .collect::<Vec<_>>();
    assert_eq!(calls, vec![Value::from(200)], "{document:#}");
}
