//! The wrapper's retry loop against a scripted MCP side (the token flows run against the real
//! testkit): the core's limits hold, and what the wrapped client answered is what rmcp gets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures_core::stream::BoxStream;
use http::{HeaderName, HeaderValue};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, InsufficientScopeError, StreamableHttpClient, StreamableHttpError,
    StreamableHttpPostResponse,
};
use sse_stream::{Error as SseError, Sse};
use xaa::authorizer::{AuthorizerConfig, User};
use xaa::grant::SubjectToken;
use xaa::{AuthorizationServer, IdentityProvider, Policy};
use xaa_rmcp::AuthorizedHttpClient;
use xaa_testkit::{Endpoint, Options, Testkit};

/// What the scripted MCP server answers every request with.
#[derive(Clone, Copy)]
enum Answer {
    Unauthorized,
    InsufficientScope,
    Transport,
}

/// A `StreamableHttpClient` that records the tokens it was given and answers per script.
#[derive(Clone)]
struct Scripted {
    answer: Answer,
    /// The protected-resource metadata URL the challenges name (the kit's: a new one would
    /// make the core discover again, decisions.md D20).
    resource_metadata: Arc<str>,
    tokens: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    fn new(answer: Answer, resource_metadata: String) -> Self {
        Self {
            answer,
            resource_metadata: resource_metadata.into(),
            tokens: Arc::default(),
        }
    }

    fn tokens(&self) -> Vec<String> {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn answer<T>(&self, token: Option<String>) -> Result<T, StreamableHttpError<std::io::Error>> {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(token.unwrap_or_default());
        Err(match self.answer {
            Answer::Unauthorized => {
                StreamableHttpError::AuthRequired(AuthRequiredError::new(format!(
                    r#"Bearer error="invalid_token", resource_metadata="{}""#,
                    self.resource_metadata
                )))
            }
            Answer::InsufficientScope => {
                StreamableHttpError::InsufficientScope(InsufficientScopeError::new(
                    r#"Bearer error="insufficient_scope", scope="tools:admin""#.into(),
                    Some("tools:admin".into()),
                ))
            }
            Answer::Transport => StreamableHttpError::Client(std::io::Error::other("refused")),
        })
    }
}

impl StreamableHttpClient for Scripted {
    type Error = std::io::Error;

    async fn post_message(
        &self,
        _uri: Arc<str>,
        _message: ClientJsonRpcMessage,
        _session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        _custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.answer(auth_header)
    }

    async fn delete_session(
        &self,
        _uri: Arc<str>,
        _session_id: Arc<str>,
        auth_header: Option<String>,
        _custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        self.answer(auth_header)
    }

    async fn get_stream(
        &self,
        _uri: Arc<str>,
        _session_id: Option<Arc<str>>,
        _last_event_id: Option<String>,
        auth_header: Option<String>,
        _custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        self.answer(auth_header)
    }
}

fn setup(kit: &Testkit, answer: Answer) -> (AuthorizedHttpClient<Scripted>, Scripted) {
    let config = AuthorizerConfig::new(
        kit.mcp_url(),
        IdentityProvider::issuer(kit.idp_issuer(), kit.idp_credentials()),
        AuthorizationServer::discovered(kit.as_credentials()),
    )
    .policy(Policy::loopback());
    let authorizer =
        xaa_reqwest::Authorizer::with_client(config, xaa_reqwest::Client::new().expect("client"));
    let user = User::from_id_token(SubjectToken::IdToken(kit.id_token("alice"))).expect("user");
    let scripted = Scripted::new(answer, kit.resource_metadata_url());
    (
        AuthorizedHttpClient::with_client(scripted.clone(), authorizer, user),
        scripted,
    )
}

fn ping() -> ClientJsonRpcMessage {
    serde_json::from_value(serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .expect("a ping request")
}

fn grants(kit: &Testkit) -> (usize, usize) {
    (
        kit.requests_to(Endpoint::IdpToken).len(),
        kit.requests_to(Endpoint::AsToken).len(),
    )
}

async fn post(
    client: &AuthorizedHttpClient<Scripted>,
) -> StreamableHttpError<xaa_rmcp::Error<std::io::Error>> {
    client
        .post_message(
            Arc::from("http://127.0.0.1:1/mcp"),
            ping(),
            None,
            Some("ignored static token".into()),
            HashMap::new(),
        )
        .await
        .expect_err("the script refuses")
}

#[tokio::test]
async fn step_ups_stop_at_the_limit_and_rmcp_gets_the_403() {
    let kit = Testkit::start(Options::default()).expect("kit");
    let (client, scripted) = setup(&kit, Answer::InsufficientScope);
    let error = post(&client).await;
    assert!(
        matches!(&error, StreamableHttpError::InsufficientScope(e) if e.get_required_scope() == Some("tools:admin")),
        "{error:?}"
    );
    // The default limit is two step-ups: three sends.
    assert_eq!(client.authorizer().authorizer().config().max_step_ups, 2);
    let tokens = scripted.tokens();
    assert_eq!(tokens.len(), 3);
    assert!(
        tokens.iter().all(|t| kit.access_token_info(t).is_some()),
        "kit tokens, never the static one"
    );
    // The first step-up widened the scope (a new flow); the second asked for the same scope,
    // which the cache already held.
    assert_eq!(grants(&kit), (2, 2));
    let scope = xaa::Scope::parse(
        kit.requests_to(Endpoint::IdpToken)[1]
            .param("scope")
            .unwrap_or_default(),
    );
    assert!(scope.contains("tools:admin"), "{scope}");
}

#[tokio::test]
async fn a_401_allows_one_fresh_token_then_rmcp_gets_the_401() {
    let kit = Testkit::start(Options::default()).expect("kit");
    let (client, scripted) = setup(&kit, Answer::Unauthorized);
    let error = post(&client).await;
    assert!(
        matches!(error, StreamableHttpError::AuthRequired(_)),
        "{error:?}"
    );
    let tokens = scripted.tokens();
    assert_eq!(
        tokens.len(),
        2,
        "sent with the first token, then once with a fresh one"
    );
    assert_ne!(tokens[0], tokens[1]);
    assert_eq!(grants(&kit), (2, 2));
}

#[tokio::test]
async fn other_failures_are_returned_at_once_as_http_errors() {
    let kit = Testkit::start(Options::default()).expect("kit");
    let (client, scripted) = setup(&kit, Answer::Transport);
    let error = post(&client).await;
    assert!(
        matches!(&error, StreamableHttpError::Client(xaa_rmcp::Error::Http(e)) if e.to_string() == "refused"),
        "{error:?}"
    );
    assert_eq!(scripted.tokens().len(), 1);
    assert_eq!(grants(&kit), (1, 1));
}

#[tokio::test]
async fn a_failed_flow_is_an_authorization_error_and_nothing_is_sent() {
    let kit = Testkit::start(Options::default()).expect("kit");
    let (client, scripted) = setup(&kit, Answer::Transport);
    kit.set_fault(Endpoint::IdpToken, xaa_testkit::Fault::ServerError);
    let error = post(&client).await;
    match &error {
        StreamableHttpError::Client(inner @ xaa_rmcp::Error::Authorization(_)) => {
            assert!(!inner.is_reauthentication_required());
            assert!(
                inner.to_string().starts_with("authorization failed: "),
                "{inner}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        scripted.tokens().is_empty(),
        "no MCP request without a token"
    );
}
