//! The two token requests of the profile, each run alone through the public flow: an
//! [`EnterpriseAuth`] started from a cached discovery sends only them (the token exchange at the
//! IdP, then the jwt-bearer grant at the authorization server), so the answer under test goes to
//! exactly one of them. The other request, when the flow gets to it, is answered well.
//!
//! The fixed deployment: the MCP server [`RESOURCE`] whose authorization server is
//! [`AS_ISSUER`] (token endpoint [`AS_TOKEN`], client [`AS_CLIENT`] with `client_secret_basic`),
//! and an IdP configured by its token endpoint [`IDP_TOKEN`] (client [`IDP_CLIENT`] with
//! `client_secret_post`).

use std::sync::OnceLock;
use std::time::SystemTime;

use serde_json::json;
use xaa::discovery::{AuthorizationServerMetadata, ProtectedResourceMetadata};
use xaa::grant::{IssuedIdJag, SubjectToken};
use xaa::{
    Assertion, Authorization, AuthorizationServer, ClientCredentials, ClientSecret, Discovery,
    EnterpriseAuth, EnterpriseConfig, Error, Flow, HttpRequest, HttpResponse, IdentityProvider,
    Output, Purpose, Scope, Start,
};

use crate::cached::{Documents, discovery};
use crate::checks::json_response;
use crate::world::{AS_CLIENT, AS_ISSUER, IDP_CLIENT, RESOURCE};

/// The authorization server's token endpoint.
pub(crate) const AS_TOKEN: &str = "https://as.example.com/token";
/// The IdP's token endpoint.
pub(crate) const IDP_TOKEN: &str = "https://idp.example.com/oauth2/token";

/// The cached discovery of the fixed deployment, fresh forever.
pub(crate) fn cached() -> Discovery {
    static CACHED: OnceLock<Option<Discovery>> = OnceLock::new();
    let found = CACHED.get_or_init(|| {
        let resource = json!({"resource": RESOURCE, "authorization_servers": [AS_ISSUER]});
        let server = json!({"issuer": AS_ISSUER, "token_endpoint": AS_TOKEN});
        let resource =
            ProtectedResourceMetadata::from_json(resource.to_string().as_bytes()).ok()?;
        let server = AuthorizationServerMetadata::from_json(server.to_string().as_bytes()).ok()?;
        discovery(&Documents {
            server_url: RESOURCE,
            resource_metadata_url: "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
            resource_metadata: &resource,
            authorization_server: &server,
            idp: None,
            fresh_until: u64::MAX,
        })
    });
    match found {
        Some(discovery) => discovery.clone(),
        None => panic!("the fixed discovery does not read back"),
    }
}

/// The first request of `flow`, which must be for `purpose`.
fn first_request(
    flow: &mut EnterpriseAuth,
    purpose: Purpose,
    now: SystemTime,
) -> (xaa::TransmitId, HttpRequest) {
    match flow.poll_output(now) {
        Ok(Output::Transmit(transmit)) if transmit.purpose == purpose => {
            (transmit.id, transmit.request)
        }
        other => panic!("a flow from a cached discovery starts with its {purpose}: {other:?}"),
    }
}

/// A good jwt-bearer answer: a Bearer token for a minute.
fn access_token_answer() -> HttpResponse {
    let body =
        json!({"access_token": "harness-access-token", "token_type": "Bearer", "expires_in": 60});
    json_response(200, body.to_string().into_bytes())
}

/// What one token exchange did: the request it sent, and the ID-JAG it accepted or its error.
pub(crate) struct Exchanged {
    /// The exchange request.
    pub(crate) request: HttpRequest,
    /// The checked ID-JAG, or why the exchange failed.
    pub(crate) outcome: Result<IssuedIdJag, Error>,
}

/// Runs one token exchange of `subject` for `scope`, answered with `response`, at `now`.
pub(crate) fn exchange(
    subject: SubjectToken,
    idp_secret: &str,
    scope: Option<&Scope>,
    response: HttpResponse,
    now: SystemTime,
) -> Exchanged {
    let idp = IdentityProvider::token_endpoint(
        IDP_TOKEN,
        ClientCredentials::post(IDP_CLIENT, ClientSecret::new(idp_secret)),
    );
    let server = AuthorizationServer::discovered(ClientCredentials::basic(
        AS_CLIENT,
        ClientSecret::new("as-secret-never-used"),
    ));
    let mut config = EnterpriseConfig::new(idp, subject, server);
    if let Some(scope) = scope {
        config = config.scope(scope.clone());
    }
    let mut flow = match EnterpriseAuth::new(config, Start::Cached(cached())) {
        Ok(flow) => flow,
        Err(error) => panic!("the fixed exchange is refused: {error}"),
    };
    let (id, request) = first_request(&mut flow, Purpose::TokenExchange, now);
    let outcome = flow
        .handle_response(now, id, response)
        .and_then(|()| flow.poll_output(now))
        .and_then(|output| match output {
            Output::Transmit(bearer) if bearer.purpose == Purpose::JwtBearer => {
                flow.handle_response(now, bearer.id, access_token_answer())?;
                flow.poll_output(now)
            }
            other => panic!("after the exchange comes the jwt-bearer grant: {other:?}"),
        })
        .map(|output| match output {
            Output::Done(Authorization {
                id_jag: Some(id_jag),
                ..
            }) => id_jag,
            other => panic!("an enterprise flow ends with its ID-JAG: {other:?}"),
        });
    Exchanged { request, outcome }
}

/// Runs one jwt-bearer grant of the caller's `assertion` for `scope`, authenticated with
/// `as_secret`, answered with `response`, at `now`.
pub(crate) fn jwt_bearer(
    assertion: &str,
    as_secret: &str,
    scope: &Scope,
    response: HttpResponse,
    now: SystemTime,
) -> Result<Authorization, Error> {
    let server = AuthorizationServer::discovered(ClientCredentials::basic(
        AS_CLIENT,
        ClientSecret::new(as_secret),
    ));
    let config =
        EnterpriseConfig::with_assertion(Assertion::new(assertion), server).scope(scope.clone());
    let mut flow = match EnterpriseAuth::new(config, Start::Cached(cached())) {
        Ok(flow) => flow,
        Err(error) => panic!("the fixed jwt-bearer grant is refused: {error}"),
    };
    let (id, _) = first_request(&mut flow, Purpose::JwtBearer, now);
    flow.handle_response(now, id, response)
        .and_then(|()| flow.poll_output(now))
        .map(|output| match output {
            Output::Done(authorization) => authorization,
            other => panic!("a jwt-bearer grant ends in its access token: {other:?}"),
        })
}
