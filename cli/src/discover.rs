//! `xaa discover URL`: the discovery alone, with a diagnosis a person can act on.
//!
//! Everything servers send is bounded before it is kept ([`limits`]): at most
//! [`MAX_AUTHORIZATION_SERVERS`] authorization servers are examined, lists and strings are
//! cut and counted. Everything printed is escaped ([`crate::terminal`]).

mod report;
mod text;

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use serde_json::{Value, json};
use xaa::discovery::{
    AuthServerDiscovery, AuthorizationServerMetadata, ProtectedResourceMetadata, ResourceDiscovery,
    ResourceStart,
};
use xaa::{HttpRequest, HttpResponse, Policy, Purpose};

use crate::args::DiscoverArgs;
use crate::discover_limits::{MAX_AUTHORIZATION_SERVERS, MAX_FINDING_CHARS, clipped};
use crate::exit::Failure;
use crate::explain::described;
use crate::network::Network;
use crate::terminal;
use report::{Exchange, requests_json, resource_json, server_json};

/// A rule a server breaks.
struct Finding {
    rule: &'static str,
    what: String,
}

impl Finding {
    fn new(rule: &'static str, what: &str) -> Self {
        Self {
            rule,
            what: clipped(what, MAX_FINDING_CHARS),
        }
    }
}

/// Runs `xaa discover`.
pub(crate) fn run(args: DiscoverArgs) -> Result<(), Failure> {
    let network = Network::new(&args.network.settings(), Instant::now())?;
    let mut policy = Policy::default();
    policy.allow_http_loopback = args.network.insecure_loopback;
    policy.allow_private_addresses = args.network.allow_private_addresses;
    let client = network.client(&policy, Some(&args.url))?;
    let log = RefCell::new(Vec::<Exchange>::new());
    let send = |request: HttpRequest| -> Result<HttpResponse, xaa_ureq::Error> {
        let (method, url) = (request.method().to_string(), request.uri().to_string());
        let result = client.send_until(request, network.deadline());
        log.borrow_mut().push(Exchange::new(method, url, &result));
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
    let mut not_examined = 0;
    if let Some((prm, url)) = &prm {
        report["resource"] = resource_json(prm, url);
        let listed = &prm.authorization_servers;
        not_examined = listed.len().saturating_sub(MAX_AUTHORIZATION_SERVERS);
        for issuer in listed.iter().take(MAX_AUTHORIZATION_SERVERS) {
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
    report["authorization_servers_not_examined"] = json!(not_examined);
    if let Some(issuer) = &args.idp_issuer {
        let metadata = discover_server(issuer, Purpose::IdpMetadata, &policy, &send, &mut findings);
        report["idp"] = server_json(issuer, metadata.as_ref(), &log.borrow(), false);
    }
    report["violations"] = findings
        .iter()
        .map(|f| json!({"rule": f.rule, "finding": f.what}))
        .collect();

    if args.json {
        println!("{}", terminal::json(&report, true));
    } else {
        print!("{}", text::render(&report));
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
        xaa::DriveError::Flow(error) => Finding::new(error.rule(), &described(&error)),
        xaa::DriveError::Transport { purpose, source } => {
            Finding::new("reachable server", &format!("{purpose}: {source}"))
        }
        other => Finding::new("reachable server", &other.to_string()),
    }
}

/// The error's text, with the command-line switch that changes the rule where there is one.
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
            findings.push(Finding::new(error.rule(), &described(&error)));
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
