//! The text form of the `xaa discover` report. Every string in the report may come from a
//! server, so each passes through [`shown`] here.

use std::fmt::Write as _;

use serde_json::Value;

use crate::discover_limits::MAX_AUTHORIZATION_SERVERS;
use crate::terminal::shown;

/// A string member of `value`, escaped; empty when absent.
fn text<'a>(value: &'a Value, key: &str) -> std::borrow::Cow<'a, str> {
    shown(value[key].as_str().unwrap_or(""))
}

/// A list member of `value`, each item escaped, joined with ", ", then "(N more)" when
/// `{key}_not_shown` says there were more.
fn list(value: &Value, key: &str) -> Option<String> {
    let items = value.get(key)?.as_array()?;
    let mut out = items
        .iter()
        .map(|item| shown(item.as_str().unwrap_or("")).into_owned())
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(more) = value[format!("{key}_not_shown")].as_u64() {
        let _ = write!(out, " ({more} more)");
    }
    Some(out)
}

fn requests(out: &mut String, requests: &Value) {
    for r in requests.as_array().into_iter().flatten() {
        let status = r["status"]
            .as_u64()
            .map_or("no response".to_owned(), |s| s.to_string());
        let _ = writeln!(
            out,
            "  {} {} -> {status}",
            text(r, "method"),
            text(r, "url")
        );
        if let Some(note) = r["note"].as_str().filter(|n| !n.is_empty()) {
            let _ = writeln!(out, "      {}", shown(note));
        }
    }
}

/// The whole report as lines of text.
pub(crate) fn render(report: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "MCP server {}", text(report, "server"));
    requests(&mut out, &report["resource_requests"]);
    if let Some(resource) = report.get("resource") {
        let _ = writeln!(out, "resource: {}", text(resource, "resource"));
        let servers = list(resource, "authorization_servers").unwrap_or_default();
        let _ = write!(out, "authorization servers: {servers}");
        match report["authorization_servers_not_examined"].as_u64() {
            Some(more) if more > 0 => {
                let _ = writeln!(
                    out,
                    "; {more} more not examined (at most {MAX_AUTHORIZATION_SERVERS} are)"
                );
            }
            _ => out.push('\n'),
        }
        if let Some(scopes) = list(resource, "scopes_supported") {
            let _ = writeln!(out, "scopes supported: {scopes}");
        }
    }
    let sides = report["authorization_servers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| ("authorization server", s))
        .chain(report.get("idp").map(|s| ("IdP", s)));
    for (label, server) in sides {
        let _ = writeln!(out, "{label} {}", text(server, "issuer"));
        requests(&mut out, &server["requests"]);
        if server.get("token_endpoint").is_some() {
            let _ = writeln!(out, "  token_endpoint: {}", text(server, "token_endpoint"));
        }
        for key in [
            "jwt_bearer_grant",
            "id_jag_profile",
            "token_exchange_grant",
            "id_jag_token_type",
        ] {
            match server.get(key) {
                Some(Value::Bool(advertised)) => {
                    let _ = writeln!(out, "  {key}: {advertised}");
                }
                Some(Value::String(said)) => {
                    let _ = writeln!(out, "  {key}: {}", shown(said));
                }
                _ => {}
            }
        }
        if let Some(methods) = list(server, "token_endpoint_auth_methods_supported") {
            let _ = writeln!(out, "  token_endpoint_auth_methods_supported: {methods}");
        } else if server
            .get("token_endpoint_auth_methods_supported")
            .is_some()
        {
            let _ = writeln!(out, "  token_endpoint_auth_methods_supported: not stated");
        }
    }
    let violations = report["violations"].as_array().cloned().unwrap_or_default();
    if violations.is_empty() {
        out.push_str("no violations found\n");
    } else {
        out.push_str("violations:\n");
        for v in violations {
            let _ = writeln!(
                out,
                "  - {} [rule: {}]",
                text(&v, "finding"),
                text(&v, "rule")
            );
        }
    }
    out
}
