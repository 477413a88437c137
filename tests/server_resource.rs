//! Resource-server helpers: challenges, protected-resource metadata, bearer tokens.
#![cfg(feature = "jwt")]

use serde_json::json;
use xaa::Scope;
use xaa::server::resource::{
    BearerChallengeHeader, BearerError, ProtectedResourceMetadataDocument, bearer_token,
    insufficient_scope, unauthorized,
};

const PRM: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

fn challenge(response: &http::Response<Vec<u8>>) -> &str {
    response.headers()["www-authenticate"]
        .to_str()
        .expect("ASCII")
}

#[test]
fn unauthorized_without_a_token_names_metadata_and_scope_but_no_error() {
    let response = unauthorized(PRM, Some(&Scope::parse("read write")), false);
    assert_eq!(response.status(), 401);
    assert_eq!(
        challenge(&response),
        format!(r#"Bearer resource_metadata="{PRM}", scope="read write""#)
    );
}

#[test]
fn unauthorized_with_a_refused_token_adds_invalid_token() {
    let response = unauthorized(PRM, None, true);
    assert_eq!(response.status(), 401);
    assert_eq!(
        challenge(&response),
        format!(r#"Bearer resource_metadata="{PRM}", error="invalid_token""#)
    );
}

#[test]
fn insufficient_scope_is_403_with_the_needed_scope() {
    let response = insufficient_scope(PRM, &Scope::parse("admin"), None);
    assert_eq!(response.status(), 403);
    assert_eq!(
        challenge(&response),
        format!(r#"Bearer resource_metadata="{PRM}", scope="admin", error="insufficient_scope""#)
    );
}

#[test]
fn challenge_values_cannot_break_out_of_their_quotes() {
    let challenge = BearerChallengeHeader::new(PRM)
        .with_realm("mcp")
        .with_error(BearerError::InvalidRequest)
        .with_description("bad \"token\"\r\nSet-Cookie: x");
    assert_eq!(
        challenge.header_value(),
        format!(
            r#"Bearer realm="mcp", resource_metadata="{PRM}", error="invalid_request", error_description="bad \"token\"  Set-Cookie: x""#
        )
    );
    assert_eq!(challenge.to_response().status(), 400);
}

#[test]
fn protected_resource_metadata_document() {
    let metadata = ProtectedResourceMetadataDocument::new(
        "https://mcp.example.com/mcp",
        "https://as.example.com",
    )
    .with_scopes_supported(&Scope::parse("read write"));
    let response = metadata.to_response();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(response.body()).expect("JSON");
    assert_eq!(
        body,
        json!({
            "resource": "https://mcp.example.com/mcp",
            "authorization_servers": ["https://as.example.com"],
            "scopes_supported": ["read", "write"],
            "bearer_methods_supported": ["header"],
        })
    );
    let lying = metadata.with_member("resource", json!("https://evil.example.com/mcp"));
    assert_eq!(
        lying.to_json()["resource"],
        json!("https://evil.example.com/mcp")
    );
}

#[test]
fn bearer_token_is_read_from_one_authorization_header() {
    let request = http::Request::get("https://mcp.example.com/mcp")
        .header("authorization", "Bearer at-1")
        .body(())
        .expect("request");
    assert_eq!(
        bearer_token(&request).expect("token").expose_secret(),
        "at-1"
    );
    let twice = http::Request::get("https://mcp.example.com/mcp")
        .header("authorization", "Bearer a")
        .header("authorization", "Bearer b")
        .body(())
        .expect("request");
    assert!(bearer_token(&twice).is_none());
    let query = http::Request::get("https://mcp.example.com/mcp?access_token=at-1")
        .body(())
        .expect("request");
    assert!(bearer_token(&query).is_none());
}
