//! The whole stack over https: the testkit serves TLS with a CA generated here, which both
//! reqwest clients (token flows and MCP traffic) must be told to trust.
#![cfg(feature = "rustls")]

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rmcp::ServiceExt;
use xaa::authorizer::{AuthorizerConfig, User};
use xaa::grant::SubjectToken;
use xaa::{AuthorizationServer, IdentityProvider};
use xaa_rmcp::AuthorizedHttpClient;
use xaa_testkit::{Endpoint, Options, Testkit, TlsIdentity};

/// A kit on `https://localhost`, and the DER of the CA that signed its certificate.
fn https_kit() -> (Testkit, Vec<u8>) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("CA");
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .signed_by(&leaf_key, &ca)
        .expect("leaf");
    let identity = TlsIdentity::from_der(vec![leaf.der().to_vec()], leaf_key.serialize_der())
        .expect("identity");
    let kit = Testkit::start(Options::default().host("localhost").tls(identity)).expect("kit");
    (kit, ca.der().to_vec())
}

fn authorizer(kit: &Testkit, ca: &[u8]) -> (xaa_reqwest::Authorizer, User) {
    // The default (strict) policy: https everywhere.
    let config = AuthorizerConfig::new(
        kit.mcp_url(),
        IdentityProvider::issuer(kit.idp_issuer(), kit.idp_credentials()),
        AuthorizationServer::discovered(kit.as_credentials()),
    );
    let flows = xaa_reqwest::Client::builder()
        .add_root_certificate(ca.to_vec())
        .build()
        .expect("flow client");
    let user = User::from_id_token(SubjectToken::IdToken(kit.id_token("alice"))).expect("user");
    (xaa_reqwest::Authorizer::with_client(config, flows), user)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_are_called_over_https_with_the_given_root() {
    let (kit, ca) = https_kit();
    assert!(kit.mcp_url().starts_with("https://localhost:"));
    let (authorizer, user) = authorizer(&kit, &ca);
    let http = xaa_rmcp::http_client_builder_with_roots(&[ca])
        .expect("builder")
        .build()
        .expect("client");
    let client = AuthorizedHttpClient::with_client(http, authorizer, user);
    let mcp = xaa_rmcp::client_config()
        .serve(client.into_transport(kit.mcp_url()))
        .await
        .expect("connects over https");
    let tools = mcp.list_all_tools().await.expect("tools/list");
    assert_eq!(tools.len(), 2);
    mcp.cancel().await.expect("closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mozilla_roots_alone_do_not_trust_the_kit() {
    let (kit, ca) = https_kit();
    let (authorizer, user) = authorizer(&kit, &ca);
    // The flows trust the CA; the MCP client does not.
    let client = AuthorizedHttpClient::new(authorizer, user).expect("client");
    let error = xaa_rmcp::client_config()
        .serve(client.into_transport(kit.mcp_url()))
        .await
        .expect_err("the MCP server's certificate is not trusted");
    assert!(
        error.to_string().contains("error sending request"),
        "{error}"
    );
    // The flow itself (over the client that trusts the CA) ran; no MCP request got through
    // the handshake with a token.
    assert_eq!(kit.requests_to(Endpoint::AsToken).len(), 1);
    let authorized = kit
        .requests_to(Endpoint::McpServer)
        .iter()
        .filter(|request| request.header("authorization").is_some())
        .count();
    assert_eq!(authorized, 0);
}
