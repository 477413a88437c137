//! The three ways of doing the warm exchange (both legs, endpoints known): xaa, rmcp 3.11's
//! `auth-enterprise-managed`, and a bare reqwest client with hand-built requests (the floor).
//! Each owns one HTTP client (HTTP/1.1, keep-alive) for the whole run.

use std::error::Error;
use std::time::Duration;

use http::HeaderValue;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use rmcp::transport::auth::OAuthHttpClient;
use rmcp::transport::auth::enterprise::EmaExchangeRequest;
use xaa::{EnterpriseAuth, EnterpriseConfig, Start};

use crate::target::{SCOPE, Target};

/// The boxed error every contender returns.
pub(crate) type BoxError = Box<dyn Error + Send + Sync>;

/// The `User-Agent` of the floor's requests, so the recorder can tell them apart (xaa's are
/// `xaa-reqwest/<version>`, rmcp's default client sends none).
pub(crate) const FLOOR_USER_AGENT: &str = "xaa-bench-floor";

/// Which contender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Contender {
    Xaa,
    Rmcp,
    Floor,
}

impl Contender {
    pub(crate) const ALL: [Self; 3] = [Self::Xaa, Self::Rmcp, Self::Floor];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Xaa => "xaa-reqwest (`EnterpriseAuth`, `Start::Cached`)",
            Self::Rmcp => "rmcp 3.11 `auth-enterprise-managed`",
            Self::Floor => "bare reqwest, hand-built requests (floor)",
        }
    }

    pub(crate) fn short(self) -> &'static str {
        match self {
            Self::Xaa => "xaa",
            Self::Rmcp => "rmcp",
            Self::Floor => "floor",
        }
    }

    /// Whether a recorded request came from this contender (by `User-Agent`).
    pub(crate) fn sent(self, user_agent: Option<&str>) -> bool {
        match self {
            Self::Xaa => user_agent.is_some_and(|ua| ua.starts_with("xaa-reqwest/")),
            Self::Floor => user_agent == Some(FLOOR_USER_AGENT),
            Self::Rmcp => user_agent.is_none(),
        }
    }
}

/// xaa: `EnterpriseAuth` from a cached discovery, run by `xaa_reqwest::Client::run`.
pub(crate) struct XaaWarm {
    pub(crate) client: xaa_reqwest::Client,
    config: EnterpriseConfig,
    discovery: xaa::Discovery,
}

impl XaaWarm {
    pub(crate) fn new(target: &Target, client: xaa_reqwest::Client) -> Result<Self, BoxError> {
        let discovery = target
            .discovery
            .clone()
            .ok_or("the target carries no discovery")?;
        Ok(Self {
            client,
            config: target.xaa_config(false),
            discovery,
        })
    }

    /// Both legs; returns the access token.
    pub(crate) async fn exchange(&self) -> Result<String, BoxError> {
        let flow = EnterpriseAuth::new(self.config.clone(), Start::Cached(self.discovery.clone()))?;
        let authorization = self.client.run(flow).await?;
        Ok(authorization.access_token.expose_secret().to_owned())
    }
}

/// The xaa-reqwest client every xaa case uses: the production defaults, direct connections.
pub(crate) fn xaa_client() -> Result<xaa_reqwest::Client, BoxError> {
    Ok(xaa_reqwest::Client::builder()
        .proxy(xaa_reqwest::ProxySetting::None)
        .build()?)
}

/// rmcp: `EmaExchangeRequest::new_with_id_token(..).exchange(..)` through rmcp's own
/// `default_oauth_http_client()` (reqwest, 30 s timeout, redirects not followed for these
/// requests), the same client for both legs.
pub(crate) struct RmcpWarm {
    http: Box<dyn OAuthHttpClient>,
    target: Target,
}

impl RmcpWarm {
    pub(crate) fn new(target: &Target) -> Result<Self, BoxError> {
        let http = rmcp::transport::auth::default_oauth_http_client()
            .map_err(|error| format!("rmcp's HTTP client: {error}"))?;
        Ok(Self {
            http: Box::new(http),
            target: target.clone(),
        })
    }

    /// Both legs; returns the access token and its `expires_in`.
    pub(crate) async fn exchange(&self) -> Result<(String, Option<Duration>), BoxError> {
        let http = self.http.as_ref();
        let token = EmaExchangeRequest::new_with_id_token(
            self.target.rmcp_idp(),
            self.target.rmcp_as(),
            &self.target.mcp_url,
            &self.target.id_token,
        )
        .with_scopes([SCOPE])
        .exchange(http, http)
        .await?;
        Ok((token.access_token.secret().clone(), token.expires_in))
    }
}

/// The floor: the same two requests built by hand and sent by a bare reqwest client, the
/// responses reduced to their `access_token` with no validation at all.
pub(crate) struct Floor {
    http: reqwest::Client,
    idp_token: reqwest::Url,
    as_token: reqwest::Url,
    exchange_body: Vec<u8>,
    basic: HeaderValue,
}

#[derive(serde::Deserialize)]
struct TokenOnly {
    access_token: String,
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

impl Floor {
    pub(crate) fn new(target: &Target) -> Result<Self, BoxError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .user_agent(FLOOR_USER_AGENT)
            .no_proxy()
            .build()?;
        // The token-exchange body never changes: built once.
        let exchange_body = serde_urlencoded::to_string([
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            (
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:id-jag",
            ),
            ("audience", target.as_issuer.as_str()),
            ("resource", target.mcp_url.as_str()),
            ("scope", SCOPE),
            ("subject_token", target.id_token.as_str()),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:id_token",
            ),
            ("client_id", target.idp_client_id.as_str()),
        ])?
        .into_bytes();
        let basic = xaa_testkit::form::basic_authorization(
            &target.as_client_id,
            &xaa::ClientSecret::new(target.as_secret.as_str()),
        );
        Ok(Self {
            http,
            idp_token: reqwest::Url::parse(&target.idp_token_endpoint)?,
            as_token: reqwest::Url::parse(&target.as_token_endpoint)?,
            exchange_body,
            basic: HeaderValue::from_str(&basic)?,
        })
    }

    /// Both legs; returns the access token.
    pub(crate) async fn exchange(&self) -> Result<String, BoxError> {
        let response = self
            .http
            .post(self.idp_token.clone())
            .header(CONTENT_TYPE, FORM)
            .header(ACCEPT, JSON)
            .body(self.exchange_body.clone())
            .send()
            .await?
            .error_for_status()?;
        let id_jag: TokenOnly = serde_json::from_slice(&response.bytes().await?)?;
        let body = serde_urlencoded::to_string([
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", id_jag.access_token.as_str()),
        ])?;
        let response = self
            .http
            .post(self.as_token.clone())
            .header(CONTENT_TYPE, FORM)
            .header(ACCEPT, JSON)
            .header(AUTHORIZATION, self.basic.clone())
            .body(body)
            .send()
            .await?
            .error_for_status()?;
        let access: TokenOnly = serde_json::from_slice(&response.bytes().await?)?;
        Ok(access.access_token)
    }
}

/// All three contenders, on one runtime.
pub(crate) struct Contenders {
    pub(crate) xaa: XaaWarm,
    pub(crate) rmcp: RmcpWarm,
    pub(crate) floor: Floor,
}

impl Contenders {
    /// The contenders; xaa's with `client` (which may already have run the discovery).
    pub(crate) fn new(target: &Target, client: xaa_reqwest::Client) -> Result<Self, BoxError> {
        Ok(Self {
            xaa: XaaWarm::new(target, client)?,
            rmcp: RmcpWarm::new(target)?,
            floor: Floor::new(target)?,
        })
    }

    /// One warm exchange by `who`; returns the access token.
    pub(crate) async fn exchange(&self, who: Contender) -> Result<String, BoxError> {
        match who {
            Contender::Xaa => self.xaa.exchange().await,
            Contender::Rmcp => self.rmcp.exchange().await.map(|(token, _)| token),
            Contender::Floor => self.floor.exchange().await,
        }
    }
}
