//! [`ReqwestTransport`]: a reqwest client configured for OAuth, sending one request at a time.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use xaa::discovery::AddressGuard;
use xaa::driver::{
    AsyncTransport, BuildTransport, ClientOptions, Limits, ProxySetting, Refresh, Transport,
    sends_body,
};
use xaa::{HttpRequest, HttpResponse, RequestUrl};

use crate::error::{causes, failure};
use crate::guard::GuardedResolver;
use crate::{Client, Error};

/// The default connect timeout (resolve, TCP and TLS), within the total one.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `User-Agent` unless the options name another.
const USER_AGENT: &str = concat!("xaa-reqwest/", env!("CARGO_PKG_VERSION"));

/// reqwest 0.13 with no redirects, every status a response, connect and total timeouts, TLS
/// through rustls with aws-lc-rs, and the address guard as its resolver and before every
/// request: the transport of [`Client`]. Needs a tokio runtime, as reqwest does.
///
/// Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct ReqwestTransport {
    http: reqwest::Client,
    guard: Arc<AddressGuard>,
}

impl fmt::Debug for ReqwestTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestTransport")
            .field("address_guard", &self.guard)
            .finish_non_exhaustive()
    }
}

impl Transport for ReqwestTransport {
    type Failure = reqwest::Error;

    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn describe(failure: &reqwest::Error) -> String {
        causes(failure)
    }
}

impl BuildTransport for ReqwestTransport {
    fn build(options: &ClientOptions) -> Result<Self, Error> {
        let mut builder = reqwest::Client::builder()
            // A 3xx comes back as a response, which the core refuses (decisions.md D4).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
            .user_agent(options.user_agent_or(USER_AGENT))
            // No `Referer` header toward token endpoints.
            .referer(false);
        builder = match &options.proxy {
            ProxySetting::Environment => builder,
            ProxySetting::None => builder.no_proxy(),
            ProxySetting::Url(url) => builder.proxy(
                reqwest::Proxy::all(url.as_str())
                    .map_err(|_| Error::Config("the proxy URL is not valid".into()))?,
            ),
        };
        #[cfg(feature = "rustls")]
        {
            let tls = crate::tls::config(options)?;
            builder = builder.tls_backend_preconfigured(tls);
        }
        #[cfg(not(feature = "rustls"))]
        if !options.extra_roots.is_empty() {
            return Err(Error::Config(
                "root certificates need the rustls feature".into(),
            ));
        }
        let guard = Arc::new(options.guard());
        let resolver = GuardedResolver::new(Arc::clone(&guard), options.static_answers.clone());
        let http = builder
            .dns_resolver(Arc::new(resolver))
            .build()
            .map_err(|e| Error::Config(format!("reqwest: {e}")))?;
        Ok(Self { http, guard })
    }
}

impl AsyncTransport for ReqwestTransport {
    async fn send(&self, request: HttpRequest, limits: Limits) -> Result<HttpResponse, Error> {
        let mut request = to_reqwest(request)?;
        if let Some(timeout) = limits.timeout {
            *request.timeout_mut() = Some(timeout);
        }
        // The host as reqwest will connect to it: the URL parser's canonical form, so `0` or
        // `0x7f.1` are the IPv4 literals they stand for. reqwest resolves no literal.
        self.guard
            .check_literal(request.url().host_str().unwrap_or_default())
            .map_err(Error::refused)?;
        let response = self.http.execute(request).await.map_err(failure)?;
        read_capped(response, limits).await
    }

    fn refresh_in_background(refresh: Refresh<Client>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to spawn on: drop the refresh, its waiters try again.
            tracing::debug!(
                event = "refresh_not_started",
                "no tokio runtime for the background refresh"
            );
            return;
        };
        runtime.spawn(async move {
            if let Err(error) = refresh.run().await {
                tracing::debug!(event = "refresh_failed", error = %error, "background refresh failed");
            }
        });
    }

    /// tokio's timer, which reqwest's own timeouts already need.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

/// The request as reqwest's, with no body at all for an empty GET (no `Content-Length: 0`).
fn to_reqwest(request: HttpRequest) -> Result<reqwest::Request, Error> {
    let (mut parts, body) = request.into_parts();
    let url = match parts.extensions.remove::<RequestUrl>() {
        // The URL the core checked and built the URI from: no second parse.
        Some(checked) if checked.matches(&parts.uri) => checked.into_url(),
        _ => reqwest::Url::parse(&parts.uri.to_string())
            .map_err(|_| Error::InvalidRequest("the URI is not an absolute URL"))?,
    };
    let mut out = reqwest::Request::new(parts.method, url);
    *out.headers_mut() = parts.headers;
    *out.version_mut() = parts.version;
    if sends_body(out.method(), &body) {
        *out.body_mut() = Some(body.into());
    }
    Ok(out)
}

/// Reads the whole body chunk by chunk, at most the cap: more is [`Error::BodyTooLarge`], and
/// the connection is dropped without reading the rest.
async fn read_capped(
    mut response: reqwest::Response,
    limits: Limits,
) -> Result<HttpResponse, Error> {
    limits.check_declared(response.headers())?;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failure)? {
        limits.append(&mut body, &chunk)?;
    }
    let mut out = http::Response::new(body);
    *out.status_mut() = response.status();
    *out.version_mut() = response.version();
    *out.headers_mut() = std::mem::take(response.headers_mut());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Authorizer, User};

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn futures_are_send() {
        let Ok(client) = Client::new() else {
            return;
        };
        let config = xaa::authorizer::AuthorizerConfig::new(
            "https://mcp.example.com/mcp",
            xaa::IdentityProvider::issuer(
                "https://idp.example.com",
                xaa::ClientCredentials::public("idp"),
            ),
            xaa::AuthorizationServer::discovered(xaa::ClientCredentials::public("client")),
        );
        let authorizer = Authorizer::with_client(config, client);
        let user = User::new(
            xaa::cache::Principal::subject("https://idp.example.com", "alice"),
            Arc::new(xaa::grant::SubjectToken::IdToken(xaa::IdToken::new("t"))),
        );
        assert_send(&authorizer.token(&user));
        assert_send(&authorizer.send(&user, HttpRequest::new(Vec::new())));
    }
}
