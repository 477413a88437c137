//! Resource-server (MCP server) helpers: the `Bearer` challenges of RFC 6750 section 3 with
//! the `resource_metadata` parameter of RFC 9728 section 5.1, the protected-resource metadata
//! document (RFC 9728 section 2), and reading the bearer token of a request. With the `dpop`
//! feature, `DpopResourceGuard` checks requests with DPoP-bound tokens (RFC 9449 section 7).

use http::header::WWW_AUTHENTICATE;
use http::{Request, Response, StatusCode};
use serde_json::{Map, Value};

use super::authorization_header::authorization_credentials;
use super::response::{header_value, quoted};
use crate::json_response::json_response;
use crate::{AccessToken, Scope};

#[cfg(feature = "dpop")]
pub use super::pending_access::PendingAccess;
#[cfg(feature = "dpop")]
pub use super::resource_dpop::{
    DpopAccess, DpopResourceFault, DpopResourceGuard, DpopResourceRefusal, PresentedToken,
    TokenScheme, presented_token,
};

/// An RFC 6750 section 3.1 error code for a resource server's challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BearerError {
    /// `invalid_request` (400).
    InvalidRequest,
    /// `invalid_token` (401): expired, revoked, malformed or for another resource.
    InvalidToken,
    /// `insufficient_scope` (403): the token lacks scope (MCP 2025-11-25 step-up).
    InsufficientScope,
}

impl BearerError {
    /// The code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
        }
    }

    /// The status RFC 6750 section 3.1 pairs with it.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope => StatusCode::FORBIDDEN,
        }
    }
}

/// A `WWW-Authenticate: Bearer` challenge (RFC 6750 section 3, RFC 9728 section 5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BearerChallengeHeader {
    /// The protected-resource metadata URL (MCP 2025-06-18: MUST be sent).
    pub resource_metadata: Option<String>,
    /// The scope needed (MCP 2025-11-25: SHOULD be sent).
    pub scope: Option<Scope>,
    /// The error, if the request carried a token.
    pub error: Option<BearerError>,
    /// A human-readable explanation.
    pub error_description: Option<String>,
    /// `realm`.
    pub realm: Option<String>,
}

impl BearerChallengeHeader {
    /// A challenge pointing at the protected-resource metadata.
    pub fn new(resource_metadata: impl Into<String>) -> Self {
        Self {
            resource_metadata: Some(resource_metadata.into()),
            scope: None,
            error: None,
            error_description: None,
            realm: None,
        }
    }

    /// Names the scope needed.
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Adds an error code.
    pub fn with_error(mut self, error: BearerError) -> Self {
        self.error = Some(error);
        self
    }

    /// Adds an `error_description`.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.error_description = Some(description.into());
        self
    }

    /// Adds a `realm`.
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// The header value: `Bearer resource_metadata="...", scope="...", error="..."`, with
    /// every value a quoted-string (RFC 9110 section 11.2).
    pub fn header_value(&self) -> String {
        let scope = self.scope.as_ref().map(Scope::to_string);
        let params = [
            ("realm", self.realm.as_deref()),
            ("resource_metadata", self.resource_metadata.as_deref()),
            ("scope", scope.as_deref()),
            ("error", self.error.map(BearerError::as_str)),
            ("error_description", self.error_description.as_deref()),
        ];
        let rendered: Vec<String> = params
            .iter()
            .filter_map(|(name, value)| value.map(|value| format!("{name}={}", quoted(value))))
            .collect();
        if rendered.is_empty() {
            "Bearer".to_owned()
        } else {
            format!("Bearer {}", rendered.join(", "))
        }
    }

    /// The response: the error's status (401 when there is none), the challenge, an empty body.
    pub fn to_response(&self) -> Response<Vec<u8>> {
        let mut response = Response::new(Vec::new());
        *response.status_mut() = self
            .error
            .map_or(StatusCode::UNAUTHORIZED, BearerError::status);
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, header_value(&self.header_value()));
        response
    }
}

/// The 401 for a request without a usable token: `Bearer resource_metadata="...",
/// scope="..."`, plus `error="invalid_token"` when a token was sent but refused
/// (RFC 6750 section 3.1: no error code when the request had no token).
pub fn unauthorized(
    resource_metadata: &str,
    scope: Option<&Scope>,
    token_was_sent: bool,
) -> Response<Vec<u8>> {
    let mut challenge = BearerChallengeHeader::new(resource_metadata);
    challenge.scope = scope.cloned();
    if token_was_sent {
        challenge.error = Some(BearerError::InvalidToken);
    }
    challenge.to_response()
}

/// The 403 for a token lacking scope (MCP 2025-11-25 "Scope Challenge Handling"):
/// `Bearer resource_metadata="...", scope="...", error="insufficient_scope"`.
pub fn insufficient_scope(
    resource_metadata: &str,
    scope: &Scope,
    description: Option<&str>,
) -> Response<Vec<u8>> {
    let mut challenge = BearerChallengeHeader::new(resource_metadata)
        .with_scope(scope.clone())
        .with_error(BearerError::InsufficientScope);
    challenge.error_description = description.map(str::to_owned);
    challenge.to_response()
}

/// The bearer token of a request (RFC 6750 section 2.1), from its single `Authorization`
/// header. Tokens in the query string are never read (MCP 2025-11-25 "Access Token Usage").
pub fn bearer_token<B>(request: &Request<B>) -> Option<AccessToken> {
    let (scheme, token) = authorization_credentials(request)?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| AccessToken::new(token))
}

/// Protected-resource metadata (RFC 9728 section 2). Fields are public and
/// [`extra`](Self::extra) members are written last, so a test double can omit or falsify any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProtectedResourceMetadataDocument {
    /// `resource`: the identifier, which clients compare exactly (RFC 9728 section 3.3).
    pub resource: String,
    /// `authorization_servers`: issuer identifiers (MCP requires at least one).
    pub authorization_servers: Vec<String>,
    /// `scopes_supported`.
    pub scopes_supported: Option<Vec<String>>,
    /// `bearer_methods_supported`; `["header"]` by default (the only method MCP allows).
    pub bearer_methods_supported: Option<Vec<String>>,
    /// `resource_name`.
    pub resource_name: Option<String>,
    /// Further members, written last: they override the typed fields above.
    pub extra: Map<String, Value>,
}

impl ProtectedResourceMetadataDocument {
    /// Metadata for `resource` protected by `authorization_server`.
    pub fn new(resource: impl Into<String>, authorization_server: impl Into<String>) -> Self {
        Self {
            resource: resource.into(),
            authorization_servers: vec![authorization_server.into()],
            bearer_methods_supported: Some(vec!["header".to_owned()]),
            ..Self::default()
        }
    }

    /// Sets `scopes_supported`.
    pub fn with_scopes_supported(mut self, scopes: &Scope) -> Self {
        self.scopes_supported = Some(scopes.iter().map(str::to_owned).collect());
        self
    }

    /// Sets any member, overriding the typed fields.
    pub fn with_member(mut self, name: impl Into<String>, value: Value) -> Self {
        self.extra.insert(name.into(), value);
        self
    }

    /// The JSON document.
    pub fn to_json(&self) -> Value {
        let mut document = Map::new();
        document.insert("resource".into(), Value::from(self.resource.as_str()));
        document.insert(
            "authorization_servers".into(),
            Value::from(self.authorization_servers.clone()),
        );
        if let Some(scopes) = &self.scopes_supported {
            document.insert("scopes_supported".into(), Value::from(scopes.clone()));
        }
        if let Some(methods) = &self.bearer_methods_supported {
            document.insert(
                "bearer_methods_supported".into(),
                Value::from(methods.clone()),
            );
        }
        if let Some(name) = &self.resource_name {
            document.insert("resource_name".into(), Value::from(name.as_str()));
        }
        for (name, value) in &self.extra {
            document.insert(name.clone(), value.clone());
        }
        Value::Object(document)
    }

    /// A `200` JSON response carrying the document.
    pub fn to_response(&self) -> Response<Vec<u8>> {
        json_response(StatusCode::OK, &self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use http::header::AUTHORIZATION;

    use super::*;

    #[test]
    fn challenges_render_quoted_parameters() {
        let metadata = "https://mcp.example/.well-known/oauth-protected-resource/mcp";
        let response = unauthorized(metadata, Some(&Scope::parse("a b")), false);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            format!("Bearer resource_metadata=\"{metadata}\", scope=\"a b\"").as_str()
        );
        let response = insufficient_scope(metadata, &Scope::parse("admin"), Some("need \"admin\""));
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            format!(
                "Bearer resource_metadata=\"{metadata}\", scope=\"admin\", error=\"insufficient_scope\", error_description=\"need \\\"admin\\\"\""
            )
            .as_str()
        );
    }

    #[test]
    fn bearer_token_reads_one_header() {
        let request = Request::builder()
            .header(AUTHORIZATION, "bearer abc")
            .body(())
            .expect("request");
        assert_eq!(
            bearer_token(&request).map(|t| t.expose_secret().to_owned()),
            Some("abc".into())
        );
        let request = Request::builder()
            .header(AUTHORIZATION, "Basic abc")
            .body(())
            .expect("request");
        assert!(bearer_token(&request).is_none());
    }
}
