//! Client authentication on each side of the enterprise flow (RFC 6749 section 2.3, RFC 7523
//! section 2.2): every method at the IdP combined with every method at the MCP authorization
//! server, with the exact form of both POSTs, and no credential crossing to the other server.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use support::*;
use xaa::grant::SubjectToken;
use xaa::{
    Assertion, AssertionAudience, AssertionSigner, AuthorizationServer, ClientAssertionClaims,
    ClientAuth, ClientCredentials, ClientSecret, EnterpriseAuth, EnterpriseConfig, Error, IdToken,
    IdentityProvider, JtiSource, PrivateKeyJwt, Purpose, SignerError, Start,
};

/// Ids and secrets with `:`, a space, `@` and non-ASCII, so the RFC 6749 section 2.3.1
/// encoding (form-urlencode each, then join with `:`, then base64) is visible.
const IDP_ID: &str = "idp client:1@ä";
const IDP_PASSWORD: &str = "idp sëcret:@/+&=%";
const AS_ID: &str = "mcp client:2@é";
const AS_PASSWORD: &str = "as sécret:@ +%";
/// The same, form-urlencoded by hand (application/x-www-form-urlencoded byte serialization).
const IDP_ID_ENCODED: &str = "idp+client%3A1%40%C3%A4";
const IDP_PASSWORD_ENCODED: &str = "idp+s%C3%ABcret%3A%40%2F%2B%26%3D%25";
const AS_ID_ENCODED: &str = "mcp+client%3A2%40%C3%A9";
const AS_PASSWORD_ENCODED: &str = "as+s%C3%A9cret%3A%40+%2B%25";

const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Signs nothing: records the claims it was asked to sign and returns an unsigned JWS of them.
struct RecordingSigner {
    seen: Mutex<Vec<ClientAssertionClaims>>,
    fail: bool,
}

impl RecordingSigner {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            seen: Mutex::new(Vec::new()),
            fail: false,
        })
    }

    fn failing() -> Arc<Self> {
        Arc::new(Self {
            seen: Mutex::new(Vec::new()),
            fail: true,
        })
    }

    fn seen(&self) -> Vec<ClientAssertionClaims> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

/// What [`RecordingSigner`] returns for `claims`.
fn assertion_for(claims: &ClientAssertionClaims) -> String {
    assertion_json(serde_json::to_value(claims).expect("claims serialize"))
}

/// What [`RecordingSigner`] returns for claims given as JSON.
fn assertion_json(claims: Value) -> String {
    jwt(
        json!({"alg": "ES256", "typ": "JWT", "kid": "client-key"}),
        claims,
    )
}

impl AssertionSigner for RecordingSigner {
    fn algorithm(&self) -> &str {
        "ES256"
    }

    fn sign(&self, claims: &ClientAssertionClaims) -> Result<Assertion, SignerError> {
        self.seen.lock().expect("not poisoned").push(claims.clone());
        if self.fail {
            return Err(SignerError("the HSM is offline".into()));
        }
        Ok(Assertion::new(assertion_for(claims)))
    }
}

/// A `JtiSource` counting from 1 with a prefix.
fn jti_source(prefix: &'static str) -> Arc<dyn JtiSource> {
    let counter = AtomicUsize::new(0);
    Arc::new(move || format!("{prefix}-{}", counter.fetch_add(1, Ordering::SeqCst) + 1))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    None,
    Basic,
    Post,
    PrivateKeyJwt(AssertionAudience),
}

const METHODS: [Method; 5] = [
    Method::None,
    Method::Basic,
    Method::Post,
    Method::PrivateKeyJwt(AssertionAudience::TokenEndpoint),
    Method::PrivateKeyJwt(AssertionAudience::Issuer),
];

/// One side's registration: its id, secret and token endpoint, and the signer it uses.
struct Side {
    id: &'static str,
    password: &'static str,
    id_encoded: &'static str,
    password_encoded: &'static str,
    issuer: &'static str,
    token_endpoint: &'static str,
    jti_prefix: &'static str,
    signer: Arc<RecordingSigner>,
}

impl Side {
    fn idp() -> Self {
        Self {
            id: IDP_ID,
            password: IDP_PASSWORD,
            id_encoded: IDP_ID_ENCODED,
            password_encoded: IDP_PASSWORD_ENCODED,
            issuer: IDP,
            token_endpoint: IDP_TOKEN,
            jti_prefix: "idp-jti",
            signer: RecordingSigner::new(),
        }
    }

    fn authorization_server() -> Self {
        Self {
            id: AS_ID,
            password: AS_PASSWORD,
            id_encoded: AS_ID_ENCODED,
            password_encoded: AS_PASSWORD_ENCODED,
            issuer: AS,
            token_endpoint: AS_TOKEN,
            jti_prefix: "as-jti",
            signer: RecordingSigner::new(),
        }
    }

    fn credentials(&self, method: Method) -> ClientCredentials {
        let secret = || ClientSecret::new(self.password);
        match method {
            Method::None => ClientCredentials::public(self.id),
            Method::Basic => ClientCredentials::basic(self.id, secret()),
            Method::Post => ClientCredentials::post(self.id, secret()),
            Method::PrivateKeyJwt(audience) => {
                let signer: Arc<dyn AssertionSigner> = self.signer.clone();
                let settings =
                    PrivateKeyJwt::new(signer, jti_source(self.jti_prefix)).with_audience(audience);
                ClientCredentials::new(self.id, ClientAuth::PrivateKeyJwt(settings))
            }
        }
    }

    /// The Basic header this side's credentials make, built by hand.
    fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.id_encoded, self.password_encoded);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    /// The form parameters this side's method adds.
    fn auth_params(&self, method: Method) -> Vec<(String, String)> {
        match method {
            Method::None => vec![("client_id".into(), self.id.into())],
            Method::Basic => Vec::new(),
            Method::Post => vec![
                ("client_id".into(), self.id.into()),
                ("client_secret".into(), self.password.into()),
            ],
            Method::PrivateKeyJwt(audience) => vec![
                ("client_id".into(), self.id.into()),
                ("client_assertion_type".into(), CLIENT_ASSERTION_TYPE.into()),
                (
                    "client_assertion".into(),
                    assertion_json(expected_claims_json(self, audience)),
                ),
            ],
        }
    }

    /// Everything of this side that must never reach the other server.
    fn secrets(&self, method: Method) -> Vec<String> {
        let mut secrets = vec![self.password.to_owned(), self.basic_header()];
        if let Method::PrivateKeyJwt(audience) = method {
            secrets.push(assertion_json(expected_claims_json(self, audience)));
        }
        secrets
    }
}

fn claims_json(claims: &ClientAssertionClaims) -> Value {
    serde_json::to_value(claims).expect("claims serialize")
}

/// The claims the flow must have asked the signer for (`ClientAssertionClaims` cannot be built
/// outside the crate, so they are compared as JSON, members in declaration order).
fn expected_claims_json(side: &Side, audience: AssertionAudience) -> Value {
    let aud = match audience {
        AssertionAudience::Issuer => side.issuer,
        _ => side.token_endpoint,
    };
    let iat = secs(now());
    json!({
        "iss": side.id, "sub": side.id, "aud": aud, "jti": format!("{}-1", side.jti_prefix),
        "iat": iat, "exp": iat + 60,
    })
}

/// The ID-JAG the fake IdP issues: `client_id` is the client's id at the authorization server.
fn issued_id_jag() -> String {
    let mut claims = id_jag_claims();
    claims["client_id"] = json!(AS_ID);
    id_jag_with(claims)
}

fn world() -> Servers {
    Servers::happy().on("POST", IDP_TOKEN, |_| {
        let mut body = exchange_response();
        body["access_token"] = json!(issued_id_jag());
        json_response(200, body)
    })
}

fn config(idp: ClientCredentials, authorization_server: ClientCredentials) -> EnterpriseConfig {
    EnterpriseConfig::new(
        IdentityProvider::issuer(IDP, idp),
        SubjectToken::IdToken(IdToken::new(id_token())),
        AuthorizationServer::discovered(authorization_server),
    )
}

fn exchange_base() -> Vec<(String, String)> {
    let id_token = id_token();
    pairs(&[
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange",
        ),
        (
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:id-jag",
        ),
        ("audience", AS),
        ("resource", MCP),
        ("scope", "tools:read"),
        ("subject_token", &id_token),
        (
            "subject_token_type",
            "urn:ietf:params:oauth:token-type:id_token",
        ),
    ])
}

fn bearer_base() -> Vec<(String, String)> {
    let id_jag = issued_id_jag();
    pairs(&[
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", &id_jag),
    ])
}

fn sorted(mut form: Vec<(String, String)>) -> Vec<(String, String)> {
    form.sort();
    form
}

/// Checks one token request against the side's method.
fn check_request(
    label: &str,
    request: &Recorded,
    side: &Side,
    method: Method,
    base: Vec<(String, String)>,
) {
    let mut expected = base;
    expected.extend(side.auth_params(method));
    assert_eq!(
        request.sorted_form(),
        sorted(expected),
        "{label}: exact form"
    );
    assert_eq!(
        request.headers["content-type"], "application/x-www-form-urlencoded",
        "{label}"
    );
    match method {
        Method::Basic => {
            let header = request.authorization().expect("a Basic header");
            assert_eq!(
                header,
                side.basic_header(),
                "{label}: RFC 6749 2.3.1 encoding"
            );
            let (id, secret) = form::parse_basic_authorization(&header).expect("well-formed Basic");
            assert_eq!(id, side.id, "{label}");
            assert_eq!(secret.expose_secret(), side.password, "{label}");
            assert!(request.form_value("client_id").is_none(), "{label}");
            assert!(request.form_value("client_secret").is_none(), "{label}");
        }
        _ => assert!(
            request.authorization().is_none(),
            "{label}: no Authorization header"
        ),
    }
    match method {
        Method::PrivateKeyJwt(audience) => {
            let seen = side.signer.seen();
            assert_eq!(seen.len(), 1, "{label}: one assertion signed");
            assert_eq!(
                claims_json(&seen[0]),
                expected_claims_json(side, audience),
                "{label}: iss = sub = client_id, aud, jti, iat = now, exp = now + lifetime"
            );
        }
        _ => assert!(side.signer.seen().is_empty(), "{label}: nothing signed"),
    }
}

/// Nothing of `side` (secret, Basic header, client assertion) in `request`.
fn check_nothing_of(label: &str, request: &Recorded, side: &Side, method: Method) {
    for secret in side.secrets(method) {
        assert!(
            !request_contains(request, &secret),
            "{label}: {} credentials reached {}",
            side.issuer,
            request.url
        );
    }
    let values: Vec<String> = request
        .headers
        .values()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    assert!(
        !values.contains(&side.basic_header()),
        "{label}: the other side's Basic header"
    );
}

#[test]
fn every_method_on_each_side() {
    let mut combinations = 0;
    for idp_method in METHODS {
        for as_method in METHODS {
            let label = format!("IdP {idp_method:?}, AS {as_method:?}");
            let idp = Side::idp();
            let authorization_server = Side::authorization_server();
            let mut servers = world();
            let flow = EnterpriseAuth::new(
                config(
                    idp.credentials(idp_method),
                    authorization_server.credentials(as_method),
                ),
                Start::ServerUrl(MCP.into()),
            )
            .expect("config");
            let (result, _) = run(flow, &mut servers, Order::Fifo);
            let auth = result.unwrap_or_else(|e| panic!("{label}: {e:?}"));
            assert_eq!(auth.access_token.expose_secret(), ACCESS_TOKEN, "{label}");

            let exchange = servers.find("POST", IDP_TOKEN).expect("exchange");
            let bearer = servers.find("POST", AS_TOKEN).expect("jwt-bearer");
            assert_eq!(exchange.purpose, Purpose::TokenExchange);
            assert_eq!(bearer.purpose, Purpose::JwtBearer);
            check_request(
                &format!("{label}, exchange"),
                exchange,
                &idp,
                idp_method,
                exchange_base(),
            );
            check_request(
                &format!("{label}, jwt-bearer"),
                bearer,
                &authorization_server,
                as_method,
                bearer_base(),
            );
            check_nothing_of(&label, bearer, &idp, idp_method);
            check_nothing_of(&label, exchange, &authorization_server, as_method);
            // And no credential of either side on any other request.
            for request in &servers.log {
                if !request.purpose.is_token_request() {
                    check_nothing_of(&label, request, &idp, idp_method);
                    check_nothing_of(&label, request, &authorization_server, as_method);
                }
            }
            combinations += 1;
        }
    }
    assert_eq!(combinations, 25);
}

#[test]
fn assertion_lifetime_is_configurable() {
    let idp = Side::idp();
    let signer: Arc<dyn AssertionSigner> = idp.signer.clone();
    let mut settings = PrivateKeyJwt::new(signer, jti_source("idp-jti"));
    settings.lifetime = Duration::from_secs(120);
    let credentials = ClientCredentials::new(IDP_ID, ClientAuth::PrivateKeyJwt(settings));
    let authorization_server = Side::authorization_server();
    let mut servers = world();
    let flow = EnterpriseAuth::new(
        config(credentials, authorization_server.credentials(Method::Basic)),
        Start::ServerUrl(MCP.into()),
    )
    .expect("config");
    run(flow, &mut servers, Order::Fifo)
        .0
        .expect("the flow succeeds");
    let seen = idp.signer.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].exp, seen[0].iat + 120);
    assert_eq!(seen[0].iat, secs(now()));
}

#[test]
fn a_signer_error_sends_nothing() {
    // At the IdP: nothing reaches either token endpoint.
    let idp_signer = RecordingSigner::failing();
    let signer: Arc<dyn AssertionSigner> = idp_signer.clone();
    let credentials = ClientCredentials::new(
        IDP_ID,
        ClientAuth::PrivateKeyJwt(PrivateKeyJwt::new(signer, jti_source("idp-jti"))),
    );
    let mut servers = world();
    let flow = EnterpriseAuth::new(
        config(
            credentials,
            Side::authorization_server().credentials(Method::Basic),
        ),
        Start::ServerUrl(MCP.into()),
    )
    .expect("config");
    let (result, _) = run(flow, &mut servers, Order::Fifo);
    let error = result.expect_err("the signer failed");
    assert!(
        matches!(&error, Error::Signer { purpose: Purpose::TokenExchange, reason } if reason == "the HSM is offline"),
        "{error:?}"
    );
    assert_eq!(idp_signer.seen().len(), 1, "asked once, not retried");
    assert!(
        servers.log.iter().all(|r| !r.purpose.is_token_request()),
        "{:?}",
        servers.urls()
    );
    assert!(!error.to_string().contains(IDP_PASSWORD));

    // At the authorization server: the exchange happened, the jwt-bearer grant was not sent.
    let as_signer = RecordingSigner::failing();
    let signer: Arc<dyn AssertionSigner> = as_signer.clone();
    let credentials = ClientCredentials::new(
        AS_ID,
        ClientAuth::PrivateKeyJwt(PrivateKeyJwt::new(signer, jti_source("as-jti"))),
    );
    let mut servers = world();
    let flow = EnterpriseAuth::new(
        config(Side::idp().credentials(Method::Post), credentials),
        Start::ServerUrl(MCP.into()),
    )
    .expect("config");
    let (result, _) = run(flow, &mut servers, Order::Fifo);
    let error = result.expect_err("the signer failed");
    assert!(
        matches!(&error, Error::Signer { purpose: Purpose::JwtBearer, reason } if reason == "the HSM is offline"),
        "{error:?}"
    );
    assert_eq!(as_signer.seen().len(), 1);
    assert_eq!(servers.count("POST", IDP_TOKEN), 1);
    assert_eq!(servers.count("POST", AS_TOKEN), 0);
    let text = format!("{error} {error:?}");
    assert!(!text.contains(&issued_id_jag()));
    assert!(!text.contains(IDP_PASSWORD));
}

#[test]
fn issuer_audience_needs_a_known_issuer() {
    // An IdP configured by its token endpoint has no issuer to name in `aud`: a configuration
    // error, and nothing is sent to the token endpoint.
    let idp = Side::idp();
    let mut config = config(
        idp.credentials(Method::PrivateKeyJwt(AssertionAudience::Issuer)),
        Side::authorization_server().credentials(Method::Basic),
    );
    config.grant = xaa::GrantSource::Enterprise {
        idp: IdentityProvider::token_endpoint(
            IDP_TOKEN,
            idp.credentials(Method::PrivateKeyJwt(AssertionAudience::Issuer)),
        ),
        subject: SubjectToken::IdToken(IdToken::new(id_token())),
    };
    let mut servers = world();
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(MCP.into())).expect("config");
    let (result, _) = run(flow, &mut servers, Order::Fifo);
    assert!(
        matches!(result, Err(Error::Config(_))),
        "{:?}",
        result.map(|_| ())
    );
    assert!(idp.signer.seen().is_empty(), "nothing signed");
    assert_eq!(servers.count("POST", IDP_TOKEN), 0);
    assert_eq!(servers.count("POST", AS_TOKEN), 0);
}

#[test]
fn basic_encoding_matches_rfc_6749_appendix_b() {
    // The hand-built expectations above, against the url crate's encoder; the headers the flows
    // send are held to them in `check_request`.
    for side in [Side::idp(), Side::authorization_server()] {
        let encoded: String = url::form_urlencoded::byte_serialize(side.id.as_bytes()).collect();
        assert_eq!(encoded, side.id_encoded);
        let encoded: String =
            url::form_urlencoded::byte_serialize(side.password.as_bytes()).collect();
        assert_eq!(encoded, side.password_encoded);
    }
}
