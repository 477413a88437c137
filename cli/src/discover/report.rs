//! The JSON report of `xaa discover`: each request and what it answered, what each document
//! says. Every server-provided string in it is clipped and every list bounded ([`limits`]);
//! escaping is left to the printing ([`crate::terminal`]), so the JSON keeps the values.

use serde_json::{Value, json};
use xaa::HttpResponse;
use xaa::discovery::{AuthorizationServerMetadata, ProtectedResourceMetadata};

use crate::discover_limits::{
    MAX_AUTHORIZATION_SERVERS, MAX_LIST_ITEMS, MAX_TEXT_CHARS, clipped, listed,
};

/// One request and what it answered.
pub(crate) struct Exchange {
    method: String,
    pub(crate) url: String,
    status: Option<u16>,
    note: String,
    /// The whole body (already capped by the client), to read a document back.
    pub(crate) body: Vec<u8>,
}

impl Exchange {
    /// Records a request and its outcome.
    pub(crate) fn new(
        method: String,
        url: String,
        result: &Result<HttpResponse, xaa_ureq::Error>,
    ) -> Self {
        let (status, note, body) = match result {
            Ok(response) => (
                Some(response.status().as_u16()),
                note(response),
                response.body().clone(),
            ),
            Err(error) => (
                None,
                clipped(&error.to_string(), MAX_TEXT_CHARS),
                Vec::new(),
            ),
        };
        Self {
            method,
            url,
            status,
            note,
            body,
        }
    }
}

/// The headers of an answer worth showing: the challenge and the redirect target, each clipped.
fn note(response: &HttpResponse) -> String {
    let mut notes = Vec::new();
    for (name, header) in [
        ("WWW-Authenticate", http::header::WWW_AUTHENTICATE),
        ("Location", http::header::LOCATION),
    ] {
        if let Some(value) = response.headers().get(header) {
            let value = String::from_utf8_lossy(value.as_bytes());
            notes.push(format!("{name}: {}", clipped(&value, MAX_TEXT_CHARS)));
        }
    }
    notes.join("; ")
}

/// The requests of one step.
pub(crate) fn requests_json(log: &[Exchange]) -> Value {
    log.iter()
        .map(|e| {
            json!({"method": e.method, "url": clipped(&e.url, MAX_TEXT_CHARS),
                "status": e.status, "note": e.note})
        })
        .collect()
}

/// Sets `key` to the first [`MAX_LIST_ITEMS`] items of `list` (or null), and `key_not_shown`
/// to how many more there are, when there are more.
fn put_list(value: &mut Value, key: &str, list: Option<&[String]>, max_items: usize) {
    let Some(items) = list else {
        value[key] = Value::Null;
        return;
    };
    let (shown, more) = listed(items, max_items);
    value[key] = shown;
    if more > 0 {
        value[format!("{key}_not_shown")] = json!(more);
    }
}

/// What the protected-resource metadata says: at most [`MAX_AUTHORIZATION_SERVERS`]
/// authorization servers (the ones examined) and how many it lists.
pub(crate) fn resource_json(metadata: &ProtectedResourceMetadata, metadata_url: &str) -> Value {
    let mut value = json!({
        "resource": clipped(&metadata.resource, MAX_TEXT_CHARS),
        "metadata_url": clipped(metadata_url, MAX_TEXT_CHARS),
        "authorization_servers_listed": metadata.authorization_servers.len(),
    });
    let (examined, _) = listed(&metadata.authorization_servers, MAX_AUTHORIZATION_SERVERS);
    value["authorization_servers"] = examined;
    put_list(
        &mut value,
        "scopes_supported",
        metadata.scopes_supported.as_deref(),
        MAX_LIST_ITEMS,
    );
    value
}

fn advertised(list: Option<&Vec<String>>, value: &str) -> Value {
    match list {
        None => json!("not stated (the flow proceeds: metadata need not list every capability)"),
        Some(items) => json!(items.iter().any(|v| v == value)),
    }
}

/// What one authorization server (or the IdP) publishes, and the requests it took.
pub(crate) fn server_json(
    issuer: &str,
    metadata: Option<&AuthorizationServerMetadata>,
    log: &[Exchange],
    mcp_side: bool,
) -> Value {
    let mut value =
        json!({"issuer": clipped(issuer, MAX_TEXT_CHARS), "requests": requests_json(log)});
    let Some(m) = metadata else {
        return value;
    };
    value["token_endpoint"] = json!(clipped(&m.token_endpoint, MAX_TEXT_CHARS));
    put_list(
        &mut value,
        "token_endpoint_auth_methods_supported",
        m.token_endpoint_auth_methods_supported.as_deref(),
        MAX_LIST_ITEMS,
    );
    let grants = m.grant_types_supported.as_ref();
    if mcp_side {
        value["jwt_bearer_grant"] = advertised(grants, xaa::constants::GRANT_TYPE_JWT_BEARER);
        value["id_jag_profile"] = advertised(
            m.authorization_grant_profiles_supported.as_ref(),
            xaa::constants::GRANT_PROFILE_ID_JAG,
        );
    } else {
        value["token_exchange_grant"] =
            advertised(grants, xaa::constants::GRANT_TYPE_TOKEN_EXCHANGE);
        value["id_jag_token_type"] = advertised(
            m.identity_chaining_requested_token_types_supported.as_ref(),
            xaa::constants::TOKEN_TYPE_ID_JAG,
        );
    }
    value
}
