//! `xaa discover URL`: the discovery alone, with a diagnosis a person can act on.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Value, json};
use xaa::discovery::{
    AuthServerDiscovery, AuthorizationServerMetadata, ProtectedResourceMetadata, ResourceDiscovery,
    ResourceStart,
};
use xaa::{HttpRequest, HttpResponse, Policy, Purpose, Violation};

use crate::args::DiscoverArgs;
use crate::exit::Failure;

/// One request and what it answered.
struct Exchange {
    method: String,
    url: String,
    status: Option<u16>,
    note: String,
    body: Vec<u8>,
}

/// A rule a server breaks.
struct Finding {
    rule: &'static str,
    what: String,
}

/// The rule behind a flow error, for people.
pub(crate) fn rule_of(error: &xaa::Error) -> &'static str {
    use xaa::Error as E;
    match error {
        E::InsecureUrl { .. } => {
            "https only (MCP 2025-11-25 Communication Security; RFC 9728 section 7.1)"
        }
        E::PrivateAddress { .. } => "no private addresses (RFC 9728 section 7.7; decisions.md D5)",
        E::Redirect { .. } => "redirects are not followed (decisions.md D4)",
        E::IssuerMismatch { .. } => {
            "issuer identical to the issuer asked for (RFC 8414 section 3.3)"
        }
        E::ResourceMismatch { .. } => {
            "resource identical to the URL it describes (RFC 9728 section 3.3)"
        }
        E::InvalidResponse {
            violation: Violation::MissingField(_),
            purpose: Purpose::ResourceMetadata,
        } => {
            "required protected-resource metadata member (RFC 9728 section 2; MCP: authorization_servers)"
        }
        E::InvalidResponse {
            violation: Violation::MissingField(_),
            ..
        } => "required authorization-server metadata member (RFC 8414 section 2)",
        E::InvalidResponse { .. } => {
            "well-formed JSON metadata (RFC 9728 section 3.2; RFC 8414 section 3.2)"
        }
        E::DiscoveryFailed { .. } => {
            "metadata published at a well-known URL (RFC 9728 section 3; RFC 8414 section 3)"
        }
        E::Unsupported { .. } => "advertised capabilities (decisions.md D3)",
        E::InvalidUrl { .. } => "an absolute URL without credentials or fragment",
        _ => "protocol",
    }
}

/// Runs `xaa discover`.
pub(crate) fn run(args: DiscoverArgs) -> Result<(), Failure> {
    let mut policy = Policy::default();
    policy.allow_http_loopback = args.insecure_loopback;
    let client = xaa_ureq::Client::builder()
        .max_body_bytes(policy.max_body_bytes)
        .deny_private_addresses(!args.insecure_loopback)
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let log = RefCell::new(Vec::<Exchange>::new());
    let send = |request: HttpRequest| -> Result<HttpResponse, xaa_ureq::Error> {
        let (method, url) = (request.method().to_string(), request.uri().to_string());
        let result = client.send(request);
        let (status, note, body) = match &result {
            Ok(response) => (
                Some(response.status().as_u16()),
                note(response),
                response.body().clone(),
            ),
            Err(error) => (None, error.to_string(), Vec::new()),
        };
        log.borrow_mut().push(Exchange {
            method,
            url,
            status,
            note,
            body,
        });
        result
    };
    let mut findings = Vec::new();
    let mut report = json!({"server": args.url});

    let resource = ResourceDiscovery::new(&args.url, ResourceStart::Probe, &policy)
        .map_err(xaa::DriveError::<xaa_ureq::Error>::Flow);
    let prm = match resource.and_then(|flow| xaa::drive(flow, SystemTime::now, send)) {
        Ok(found) => Some((found.metadata, found.metadata_url)),
        Err(error) => {
            findings.push(finding(error));
            // Keep diagnosing with the last document that parsed, if any.
            log.borrow().iter().rev().find_map(|e| {
                let doc = ProtectedResourceMetadata::from_json(&e.body).ok()?.into();
                Some((doc, e.url.clone()))
            })
        }
    };
    report["resource_requests"] = requests_json(&log.borrow());
    log.borrow_mut().clear();

    let mut servers = Vec::new();
    if let Some((prm, url)) = &prm {
        report["resource"] = json!({"resource": prm.resource, "metadata_url": url,
            "authorization_servers": prm.authorization_servers, "scopes_supported": prm.scopes_supported});
        for issuer in &prm.authorization_servers {
            let metadata = discover_server(
                issuer,
                Purpose::AuthorizationServerMetadata,
                &policy,
                &send,
                &mut findings,
            );
            servers.push(server_json(issuer, metadata.as_ref(), &log.borrow(), true));
            log.borrow_mut().clear();
        }
    }
    report["authorization_servers"] = Value::Array(servers);
    if let Some(issuer) = &args.idp_issuer {
        let metadata = discover_server(issuer, Purpose::IdpMetadata, &policy, &send, &mut findings);
        report["idp"] = server_json(issuer, metadata.as_ref(), &log.borrow(), false);
    }
    report["violations"] = findings
        .iter()
        .map(|f| json!({"rule": f.rule, "finding": f.what}))
        .collect();

    if args.json {
        println!("{report:#}");
    } else {
        print_text(&report);
    }
    if findings.is_empty() {
        Ok(())
    } else {
        Err(Failure::Protocol(format!(
            "{} violation(s) found",
            findings.len()
        )))
    }
}

fn finding<E: std::fmt::Display>(error: xaa::DriveError<E>) -> Finding {
    match error {
        xaa::DriveError::Flow(error) => Finding {
            rule: rule_of(&error),
            what: with_hint(&error),
        },
        xaa::DriveError::Transport { purpose, source } => Finding {
            rule: "reachable server",
            what: format!("{purpose}: {source}"),
        },
        other => Finding {
            rule: "reachable server",
            what: other.to_string(),
        },
    }
}

/// The error's text, with the command-line switch that changes the rule where there is one.
pub(crate) fn with_hint(error: &xaa::Error) -> String {
    match error {
        xaa::Error::InsecureUrl { .. } => {
            format!("{error} (use --insecure-loopback for plain http on loopback)")
        }
        _ => error.to_string(),
    }
}

fn discover_server(
    issuer: &str,
    purpose: Purpose,
    policy: &Policy,
    send: &dyn Fn(HttpRequest) -> Result<HttpResponse, xaa_ureq::Error>,
    findings: &mut Vec<Finding>,
) -> Option<AuthorizationServerMetadata> {
    let flow = match AuthServerDiscovery::new(issuer, purpose, policy) {
        Ok(flow) => flow,
        Err(error) => {
            findings.push(Finding {
                rule: rule_of(&error),
                what: with_hint(&error),
            });
            return None;
        }
    };
    match xaa::drive(flow, SystemTime::now, send) {
        Ok(found) => Some(Arc::unwrap_or_clone(found.metadata)),
        Err(error) => {
            findings.push(finding(error));
            None
        }
    }
}

fn note(response: &HttpResponse) -> String {
    let mut notes = Vec::new();
    if let Some(challenge) = response.headers().get(http::header::WWW_AUTHENTICATE) {
        notes.push(format!(
            "WWW-Authenticate: {}",
            String::from_utf8_lossy(challenge.as_bytes())
        ));
    }
    if let Some(location) = response.headers().get(http::header::LOCATION) {
        notes.push(format!(
            "Location: {}",
            String::from_utf8_lossy(location.as_bytes())
        ));
    }
    notes.join("; ")
}

fn requests_json(log: &[Exchange]) -> Value {
    log.iter()
        .map(|e| json!({"method": e.method, "url": e.url, "status": e.status, "note": e.note}))
        .collect()
}

fn advertised(list: &Option<Vec<String>>, value: &str) -> Value {
    match list {
        None => json!("not stated (proceeds, decisions.md D3)"),
        Some(items) => json!(items.iter().any(|v| v == value)),
    }
}

fn server_json(
    issuer: &str,
    metadata: Option<&AuthorizationServerMetadata>,
    log: &[Exchange],
    mcp_side: bool,
) -> Value {
    let mut value = json!({"issuer": issuer, "requests": requests_json(log)});
    if let Some(m) = metadata {
        value["token_endpoint"] = json!(m.token_endpoint);
        value["token_endpoint_auth_methods_supported"] =
            json!(m.token_endpoint_auth_methods_supported);
        if mcp_side {
            value["jwt_bearer_grant"] = advertised(
                &m.grant_types_supported,
                xaa::constants::GRANT_TYPE_JWT_BEARER,
            );
            value["id_jag_profile"] = advertised(
                &m.authorization_grant_profiles_supported,
                xaa::constants::GRANT_PROFILE_ID_JAG,
            );
        } else {
            value["token_exchange_grant"] = advertised(
                &m.grant_types_supported,
                xaa::constants::GRANT_TYPE_TOKEN_EXCHANGE,
            );
            value["id_jag_token_type"] = advertised(
                &m.identity_chaining_requested_token_types_supported,
                xaa::constants::TOKEN_TYPE_ID_JAG,
            );
        }
    }
    value
}

fn print_requests(requests: &Value) {
    for r in requests.as_array().into_iter().flatten() {
        let status = r["status"]
            .as_u64()
            .map_or("no response".to_owned(), |s| s.to_string());
        println!(
            "  {} {} -> {}",
            r["method"].as_str().unwrap_or(""),
            r["url"].as_str().unwrap_or(""),
            status
        );
        if let Some(note) = r["note"].as_str().filter(|n| !n.is_empty()) {
            println!("      {note}");
        }
    }
}

fn print_text(report: &Value) {
    println!("MCP server {}", report["server"].as_str().unwrap_or(""));
    print_requests(&report["resource_requests"]);
    if let Some(resource) = report.get("resource") {
        println!("resource: {}", resource["resource"].as_str().unwrap_or(""));
        println!(
            "authorization servers: {}",
            resource["authorization_servers"]
        );
    }
    let sides = report["authorization_servers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| ("authorization server", s))
        .chain(report.get("idp").map(|s| ("IdP", s)));
    for (label, server) in sides {
        println!("{label} {}", server["issuer"].as_str().unwrap_or(""));
        print_requests(&server["requests"]);
        for key in [
            "token_endpoint",
            "jwt_bearer_grant",
            "id_jag_profile",
            "token_exchange_grant",
            "id_jag_token_type",
            "token_endpoint_auth_methods_supported",
        ] {
            if let Some(value) = server.get(key) {
                println!("  {key}: {value}");
            }
        }
    }
    let violations = report["violations"].as_array().cloned().unwrap_or_default();
    if violations.is_empty() {
        println!("no violations found");
    } else {
        println!("violations:");
        for v in violations {
            println!(
                "  - {} [rule: {}]",
                v["finding"].as_str().unwrap_or(""),
                v["rule"].as_str().unwrap_or("")
            );
        }
    }
}
