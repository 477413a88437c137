//! [`AuthorizedHttpClient`]: rmcp's [`StreamableHttpClient`] with the xaa authorizer in front.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use futures_core::stream::BoxStream;
use http::header::WWW_AUTHENTICATE;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpClientTransportConfig, StreamableHttpError,
    StreamableHttpPostResponse, StreamableHttpResponseLimits,
};
use sse_stream::{Error as SseError, Sse};
use xaa::AccessToken;
use xaa::authorizer::{AuthorizerConfig, User};
use xaa::driver::{Called, McpAnswer};

use crate::credentials::credentials;
use crate::error::{Error, lift};
use crate::nonce;

/// An HTTP client for rmcp's Streamable HTTP client transport that authorizes every request
/// through the xaa authorizer, for one user.
///
/// It wraps another [`StreamableHttpClient`] (by default rmcp's own reqwest implementation,
/// on the client of [`http_client`](crate::http_client)), which keeps doing everything of
/// the transport (JSON and SSE responses, sessions, resumption, body limits). Around each of
/// its calls (`post_message*`, `get_stream*`, `delete_session`):
///
/// 1. [`xaa_reqwest::Authorizer::token`] for the user: a cached token at once, or the
///    enterprise flow (token exchange at the IdP, jwt-bearer at the MCP authorization server)
///    run over [`xaa_reqwest::Client`]. Concurrent requests needing a token share one flow
///    (the core's single-flight); a token close to expiry is handed out and replaced in the
///    background.
/// 2. The wrapped client sends the request with `Authorization: Bearer <token>` (rmcp's
///    `auth_token`), or for a token bound to the authorizer's DPoP key with
///    `Authorization: DPoP <token>` and a fresh `DPoP` proof among the custom headers, rmcp's
///    `auth_token` left empty: see [DPoP](crate#dpop).
/// 3. The core's [`Authorizer::on_response`](xaa::authorizer::Authorizer::on_response) judges
///    the answer: a 401 (`StreamableHttpError::AuthRequired`) drops the token and the request
///    is sent once more with a fresh one; a 403 `insufficient_scope`
///    (`StreamableHttpError::InsufficientScope`) widens the scope and sends it again, within
///    [`AuthorizerConfig::max_step_ups`]. When the core gives up, the server's 401 or 403 is
///    returned to rmcp as it came. For a bound token, a DPoP nonce demand first gets one resend
///    with the server's nonce, and a refused proof is final ([`Error::dpop_refusal`]).
///
/// The transport configuration's `auth_header` is ignored, and so are any `Authorization` and
/// `DPoP` among its custom headers: the authorizer's token is always the one sent. Cheap to
/// clone: clones share the token cache and the connection pools.
#[derive(Clone)]
pub struct AuthorizedHttpClient<C = reqwest::Client> {
    inner: C,
    authorizer: xaa_reqwest::Authorizer,
    user: User,
}

impl<C> fmt::Debug for AuthorizedHttpClient<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizedHttpClient")
            .field("authorizer", &self.authorizer)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl AuthorizedHttpClient {
    /// Authorizes `user`'s requests through `authorizer`, sending them with rmcp's reqwest
    /// implementation on [`http_client`](crate::http_client).
    ///
    /// # Errors
    ///
    /// [`xaa_reqwest::Error::Config`] when the reqwest client cannot be built.
    pub fn new(
        authorizer: xaa_reqwest::Authorizer,
        user: User,
    ) -> Result<Self, xaa_reqwest::Error> {
        Ok(Self::with_client(crate::http_client()?, authorizer, user))
    }
}

impl<C> AuthorizedHttpClient<C> {
    /// Authorizes `user`'s requests through `authorizer`, sending them with `inner`: a
    /// `reqwest::Client` of your own (another redirect policy, more root certificates), or any
    /// other [`StreamableHttpClient`].
    pub fn with_client(inner: C, authorizer: xaa_reqwest::Authorizer, user: User) -> Self {
        Self {
            inner,
            authorizer,
            user,
        }
    }

    /// The authorizer (its token cache is shared with every clone).
    pub fn authorizer(&self) -> &xaa_reqwest::Authorizer {
        &self.authorizer
    }

    /// The user whose requests are authorized.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// The wrapped client.
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

impl<C: StreamableHttpClient + Sync> AuthorizedHttpClient<C> {
    /// rmcp's Streamable HTTP client transport to `uri` over this client, with rmcp's default
    /// configuration. Serve it with an rmcp client handler, e.g.
    /// `xaa_rmcp::client_config().serve(transport)`.
    pub fn into_transport(self, uri: impl Into<Arc<str>>) -> StreamableHttpClientTransport<Self> {
        self.into_transport_with(StreamableHttpClientTransportConfig::with_uri(uri))
    }

    /// rmcp's Streamable HTTP client transport over this client, with `config` (whose
    /// `auth_header` is ignored).
    pub fn into_transport_with(
        self,
        config: StreamableHttpClientTransportConfig,
    ) -> StreamableHttpClientTransport<Self> {
        StreamableHttpClientTransport::with_client(self, config)
    }

    /// Runs `call` with a token, then as the core's verdict on the answer says: the drivers'
    /// loop ([`xaa_reqwest::Authorizer::call`]), with rmcp's answers. `request` is the method
    /// and URI of the request `call` makes, and `body` gives the exact bytes it sends, which a
    /// proof's `content_digest` covers when the binding sends one.
    async fn authorized<T, F, Fut>(
        &self,
        request: (Method, &str),
        body: impl Fn() -> Vec<u8>,
        custom_headers: &HashMap<HeaderName, HeaderValue>,
        call: F,
    ) -> Result<T, StreamableHttpError<Error<C::Error>>>
    where
        F: Fn(Option<String>, HashMap<HeaderName, HeaderValue>) -> Fut,
        Fut: Future<Output = Result<T, StreamableHttpError<C::Error>>>,
    {
        let (method, uri) = request;
        let call = &call;
        let attempt = |token: &AccessToken, resending_after: Option<StatusCode>| {
            if let Some(status) = resending_after {
                tracing::debug!(
                    event = "mcp_retry",
                    status = status.as_u16(),
                    "sending the MCP request again"
                );
            }
            let made = credentials(
                &self.authorizer,
                token,
                (method.clone(), uri),
                &body,
                custom_headers,
            );
            let token = token.clone();
            async move {
                let credentials = match made {
                    Ok(credentials) => credentials,
                    Err(error) => return Attempted::unsent(error),
                };
                let sent = call(credentials.auth_token, credentials.custom_headers).await;
                let mut attempted = Attempted::from(sent.map_err(lift));
                if credentials.bound && attempted.demands_nonce() {
                    attempted.learn(nonce::probe(&self.authorizer, &token, uri).await);
                }
                attempted
            }
        };
        match self.authorizer.call(&self.user, attempt).await {
            Ok(Called::Answered(answer)) => answer.result,
            Ok(Called::Refused(_, error @ xaa::Error::Dpop { .. })) => {
                tracing::debug!(event = "mcp_dpop_refused", error = %error, "not sending the MCP request again: DPoP ended it");
                Err(authorization_failed(xaa_reqwest::Error::Flow(error)))
            }
            Ok(Called::Refused(answer, error)) => {
                let status = answer.judged().map(|(status, _)| status.as_u16());
                tracing::debug!(event = "mcp_rejected", status, error = %error, "not sending the MCP request again: one fresh exchange per refused token");
                answer.result
            }
            Err(error) => Err(authorization_failed(error)),
        }
    }
}

fn authorization_failed<E>(error: xaa_reqwest::Error) -> StreamableHttpError<Error<E>>
where
    E: std::error::Error + Send + Sync + 'static,
{
    StreamableHttpError::Client(Error::Authorization(error))
}

/// rmcp's outcome of one attempt, with what the core judges: 200 for a success, the 401 or
/// 403 rmcp reports as typed errors with the server's challenge; any other failure is
/// returned as it is.
struct Attempted<T, E: std::error::Error + Send + Sync + 'static> {
    result: Result<T, StreamableHttpError<Error<E>>>,
    judged: Option<(StatusCode, HeaderMap)>,
}

impl<T, E> From<Result<T, StreamableHttpError<Error<E>>>> for Attempted<T, E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(result: Result<T, StreamableHttpError<Error<E>>>) -> Self {
        let judged = match &result {
            Ok(_) => Some((StatusCode::OK, HeaderMap::new())),
            Err(StreamableHttpError::AuthRequired(error)) => Some((
                StatusCode::UNAUTHORIZED,
                challenge(&error.www_authenticate_header),
            )),
            Err(StreamableHttpError::InsufficientScope(error)) => Some((
                StatusCode::FORBIDDEN,
                challenge(&error.www_authenticate_header),
            )),
            Err(_) => None,
        };
        Self { result, judged }
    }
}

impl<T, E: std::error::Error + Send + Sync + 'static> Attempted<T, E> {
    /// An attempt that sent nothing: its headers could not be made.
    fn unsent(error: xaa::Error) -> Self {
        Self {
            result: Err(authorization_failed(xaa_reqwest::Error::Flow(error))),
            judged: None,
        }
    }

    /// Whether the answer is a 401 whose `DPoP` challenge demands a nonce.
    fn demands_nonce(&self) -> bool {
        matches!(&self.result, Err(StreamableHttpError::AuthRequired(error))
            if nonce::demands_nonce(&error.www_authenticate_header))
    }

    /// Adds the `DPoP-Nonce` fields a probe got to the header fields the core judges.
    fn learn(&mut self, nonces: HeaderMap) {
        if let Some((_, headers)) = &mut self.judged {
            headers.extend(nonces);
        }
    }
}

impl<T, E: std::error::Error + Send + Sync + 'static> McpAnswer for Attempted<T, E> {
    fn judged(&self) -> Option<(StatusCode, &HeaderMap)> {
        self.judged
            .as_ref()
            .map(|(status, headers)| (*status, headers))
    }
}

/// The `WWW-Authenticate` field rmcp kept, as the core reads challenges.
fn challenge(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(WWW_AUTHENTICATE, value);
    }
    headers
}

impl<C: StreamableHttpClient + Sync> StreamableHttpClient for AuthorizedHttpClient<C> {
    type Error = Error<C::Error>;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.authorized(
            (Method::POST, &uri),
            || json_body(&message),
            &custom_headers,
            |auth_token, custom_headers| {
                self.inner.post_message(
                    uri.clone(),
                    message.clone(),
                    session_id.clone(),
                    auth_token,
                    custom_headers,
                )
            },
        )
        .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.authorized(
            (Method::POST, &uri),
            || json_body(&message),
            &custom_headers,
            |auth_token, custom_headers| {
                self.inner.post_message_with_max_sse_event_size(
                    uri.clone(),
                    message.clone(),
                    session_id.clone(),
                    auth_token,
                    custom_headers,
                    max_sse_event_size,
                )
            },
        )
        .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.authorized(
            (Method::POST, &uri),
            || json_body(&message),
            &custom_headers,
            |auth_token, custom_headers| {
                self.inner.post_message_with_response_limits(
                    uri.clone(),
                    message.clone(),
                    session_id.clone(),
                    auth_token,
                    custom_headers,
                    limits,
                )
            },
        )
        .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        self.authorized(
            (Method::DELETE, &uri),
            Vec::new,
            &custom_headers,
            |auth_token, custom_headers| {
                self.inner.delete_session(
                    uri.clone(),
                    session_id.clone(),
                    auth_token,
                    custom_headers,
                )
            },
        )
        .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        self.authorized(
            (Method::GET, &uri),
            Vec::new,
            &custom_headers,
            |auth_token, custom_headers| {
                self.inner.get_stream(
                    uri.clone(),
                    session_id.clone(),
                    last_event_id.clone(),
                    auth_token,
                    custom_headers,
                )
            },
        )
        .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        _auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        self.authorized(
            (Method::GET, &uri),
            Vec::new,
            &custom_headers,
            |auth_token, custom_headers| {
                self.inner.get_stream_with_max_sse_event_size(
                    uri.clone(),
                    session_id.clone(),
                    last_event_id.clone(),
                    auth_token,
                    custom_headers,
                    max_sse_event_size,
                )
            },
        )
        .await
    }
}

/// The bytes rmcp's reqwest client sends as the body of `message`: its `RequestBuilder::json`
/// is `serde_json::to_vec`. When the message cannot be serialized, that builder fails and
/// nothing is sent, so the empty body that stands for it here goes into no proof that is sent.
fn json_body(message: &ClientJsonRpcMessage) -> Vec<u8> {
    serde_json::to_vec(message).unwrap_or_default()
}

/// The whole set-up for one user in one call: an [`xaa_reqwest::Authorizer`] for `config`
/// (flows over a default [`xaa_reqwest::Client`]), an [`AuthorizedHttpClient`] for `user`,
/// and rmcp's Streamable HTTP client transport to `config.server_url`.
///
/// ```no_run
/// use rmcp::ServiceExt;
/// use xaa::authorizer::{AuthorizerConfig, User};
/// use xaa::grant::SubjectToken;
/// use xaa::{AuthorizationServer, ClientCredentials, IdToken, IdentityProvider};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let config = AuthorizerConfig::new(
///     "https://mcp.example.com/mcp",
///     IdentityProvider::issuer("https://idp.example.com", ClientCredentials::public("idp-client")),
///     AuthorizationServer::discovered(ClientCredentials::public("mcp-client")),
/// );
/// let user = User::from_id_token(SubjectToken::IdToken(IdToken::new("eyJ...")))?;
/// let mcp = xaa_rmcp::client_config()
///     .serve(xaa_rmcp::transport(config, user)?)
///     .await?;
/// let tools = mcp.list_all_tools().await?;
/// # let _ = tools;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`xaa_reqwest::Error::Config`] when a reqwest client cannot be built.
pub fn transport(
    config: AuthorizerConfig,
    user: User,
) -> Result<StreamableHttpClientTransport<AuthorizedHttpClient>, xaa_reqwest::Error> {
    let uri = config.server_url.clone();
    let authorizer = xaa_reqwest::Authorizer::new(config)?;
    Ok(AuthorizedHttpClient::new(authorizer, user)?.into_transport(uri))
}
