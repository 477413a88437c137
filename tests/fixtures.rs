//! Specification examples and the MCP conformance suite's wire shapes, parsed with the public
//! parsers and checked field by field; every truncation of every fixture body either parses or
//! gives a typed error, never a panic.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::*;
use xaa::discovery::{AuthorizationServerMetadata, ProtectedResourceMetadata};
use xaa::grant::{SubjectToken, TokenResponse};
use xaa::{
    AuthorizationServer, ClientAuth, ClientCredentials, ClientSecret, EnterpriseAuth,
    EnterpriseConfig, Error, IdToken, IdentityProvider, Policy, Purpose, Scope, Start, Unsupported,
    Violation,
};

// ---------------------------------------------------------------------------------------------
// Specification examples, as printed in the RFCs (line-wrapped values joined).

/// RFC 9728 section 3.2.
const RFC9728_PRM: &str = r#"{
 "resource":
   "https://resource.example.com",
 "authorization_servers":
   ["https://as1.example.com",
    "https://as2.example.net"],
 "bearer_methods_supported":
   ["header", "body"],
 "scopes_supported":
   ["profile", "email", "phone"],
 "resource_documentation":
   "https://resource.example.com/resource_documentation.html"
}"#;

/// RFC 8414 section 3.2.
const RFC8414_METADATA: &str = r#"{
 "issuer":
   "https://server.example.com",
 "authorization_endpoint":
   "https://server.example.com/authorize",
 "token_endpoint":
   "https://server.example.com/token",
 "token_endpoint_auth_methods_supported":
   ["client_secret_basic", "private_key_jwt"],
 "token_endpoint_auth_signing_alg_values_supported":
   ["RS256", "ES256"],
 "userinfo_endpoint":
   "https://server.example.com/userinfo",
 "jwks_uri":
   "https://server.example.com/jwks.json",
 "registration_endpoint":
   "https://server.example.com/register",
 "scopes_supported":
   ["openid", "profile", "email", "address",
    "phone", "offline_access"],
 "response_types_supported":
   ["code", "code token"],
 "service_documentation":
   "http://server.example.com/service_documentation.html",
 "ui_locales_supported":
   ["en-US", "en-GB", "en-CA", "fr-FR", "fr-CA"]
}"#;

/// The access token of RFC 8693 section 2.3's response.
const RFC8693_ACCESS_TOKEN: &str = concat!(
    "eyJhbGciOiJFUzI1NiIsImtpZCI6IjcyIn0.eyJhdWQiOiJo",
    "dHRwczovL2JhY2tlbmQuZXhhbXBsZS5jb20iLCJpc3MiOiJodHRwczovL2FzLmV",
    "4YW1wbGUuY29tIiwiZXhwIjoxNDQxOTE3NTkzLCJpYXQiOjE0NDE5MTc1MzMsIn",
    "N1YiI6ImJkY0BleGFtcGxlLmNvbSIsInNjb3BlIjoiYXBpIn0.40y3ZgQedw6rx",
    "f59WlwHDD9jryFOr0_Wh3CGozQBihNBhnXEQgU85AI9x3KmsPottVMLPIWvmDCM",
    "y5-kdXjwhw",
);

/// RFC 8693 section 2.3: the token-exchange response (an access token, not an ID-JAG).
fn rfc8693_response() -> String {
    format!(
        r#"{{
 "access_token":"{RFC8693_ACCESS_TOKEN}",
 "issued_token_type":
     "urn:ietf:params:oauth:token-type:access_token",
 "token_type":"Bearer",
 "expires_in":60
}}"#
    )
}

/// The ID-JAG draft's example claim set.
const ID_JAG_DRAFT_CLAIMS: &str = r#"{"jti":"9e43f81b64a33f20116179","iss":"https://acme.idp.example/","sub":"U019488227","aud":"https://acme.chat.example/","client_id":"f53f191f9311af35","exp":1311281970,"iat":1311280970,"resource":"https://api.chat.example/","scope":"chat.read chat.history","auth_time":1311280970,"amr":["mfa","phrh","hwk","user"]}"#;

fn id_jag_draft_token() -> String {
    let claims: Value = serde_json::from_str(ID_JAG_DRAFT_CLAIMS).expect("the example is JSON");
    jwt(
        json!({"typ": "oauth-id-jag+jwt", "alg": "RS256", "kid": "acme-idp-key"}),
        claims,
    )
}

// ---------------------------------------------------------------------------------------------
// The MCP conformance suite's auth/enterprise-managed-authorization scenario: three servers on
// loopback.

const CONF_MCP: &str = "http://localhost:3001/mcp";
const CONF_PRM_URL: &str = "http://localhost:3001/.well-known/oauth-protected-resource/mcp";
const CONF_AS: &str = "http://localhost:3002";
const CONF_AS_META: &str = "http://localhost:3002/.well-known/oauth-authorization-server";
const CONF_AS_TOKEN: &str = "http://localhost:3002/token";
const CONF_IDP: &str = "http://localhost:3003";
const CONF_IDP_OAUTH_META: &str = "http://localhost:3003/.well-known/oauth-authorization-server";
const CONF_IDP_OIDC_META: &str = "http://localhost:3003/.well-known/openid-configuration";
const CONF_IDP_TOKEN: &str = "http://localhost:3003/token";
const CONF_CLIENT_ID: &str = "conformance-test-xaa-client";
const CONF_CLIENT_SECRET: &str = "conformance-test-xaa-secret";
const CONF_IDP_CLIENT_ID: &str = "conformance-test-idp-client";
const CONF_ACCESS_TOKEN: &str = "conformance-access-token-0123";

fn conf_prm() -> String {
    format!(r#"{{"resource":"{CONF_MCP}","authorization_servers":["{CONF_AS}"]}}"#)
}

fn conf_as_metadata() -> String {
    format!(
        r#"{{"issuer":"{CONF_AS}","authorization_endpoint":"{CONF_AS}/authorize","token_endpoint":"{CONF_AS_TOKEN}","registration_endpoint":"{CONF_AS}/register","response_types_supported":["code"],"grant_types_supported":["urn:ietf:params:oauth:grant-type:jwt-bearer"],"token_endpoint_auth_methods_supported":["client_secret_basic"],"authorization_response_iss_parameter_supported":true}}"#
    )
}

fn conf_idp_metadata() -> String {
    format!(
        r#"{{"issuer":"{CONF_IDP}","authorization_endpoint":"{CONF_IDP}/authorize","token_endpoint":"{CONF_IDP_TOKEN}","jwks_uri":"{CONF_IDP}/jwks","response_types_supported":["code"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["ES256"]}}"#
    )
}

fn conf_id_token() -> String {
    jwt(
        json!({"alg": "ES256", "typ": "JWT", "kid": "idp"}),
        json!({"iss": CONF_IDP, "sub": "conformance-user", "aud": CONF_IDP_CLIENT_ID,
               "iat": secs(now()), "exp": secs(now()) + 3600}),
    )
}

fn conf_id_jag() -> String {
    jwt(
        json!({"alg": "ES256", "typ": "oauth-id-jag+jwt", "kid": "idp"}),
        json!({"sub": "conformance-user", "resource": CONF_MCP, "client_id": CONF_CLIENT_ID,
               "iss": CONF_IDP, "aud": CONF_AS, "iat": secs(now()), "exp": secs(now()) + 300,
               "jti": "conformance-jti-1"}),
    )
}

/// The IdP's exchange response: no `expires_in`.
fn conf_exchange_response() -> String {
    format!(
        r#"{{"access_token":"{}","issued_token_type":"urn:ietf:params:oauth:token-type:id-jag","token_type":"N_A"}}"#,
        conf_id_jag()
    )
}

fn conf_token_response() -> String {
    format!(r#"{{"access_token":"{CONF_ACCESS_TOKEN}","token_type":"Bearer","expires_in":3600}}"#)
}

fn strings(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| (*s).to_owned()).collect())
}

// ---------------------------------------------------------------------------------------------
// The spec examples.

#[test]
fn rfc9728_example_parses() {
    let prm = ProtectedResourceMetadata::from_json(RFC9728_PRM.as_bytes()).expect("parses");
    assert_eq!(prm.resource, "https://resource.example.com");
    assert_eq!(
        prm.authorization_servers,
        vec!["https://as1.example.com", "https://as2.example.net"]
    );
    assert_eq!(prm.bearer_methods_supported, strings(&["header", "body"]));
    assert_eq!(
        prm.scopes_supported,
        strings(&["profile", "email", "phone"])
    );
    assert_eq!(prm.scopes(), Some(Scope::parse("profile email phone")));
    assert_eq!(prm.jwks_uri, None);
    assert_eq!(prm.resource_name, None);
    assert!(!prm.dpop_bound_access_tokens_required);
}

#[test]
fn rfc8414_example_parses() {
    let meta = AuthorizationServerMetadata::from_json(RFC8414_METADATA.as_bytes()).expect("parses");
    assert_eq!(meta.issuer, "https://server.example.com");
    assert_eq!(meta.token_endpoint, "https://server.example.com/token");
    assert_eq!(
        meta.jwks_uri.as_deref(),
        Some("https://server.example.com/jwks.json")
    );
    assert_eq!(
        meta.token_endpoint_auth_methods_supported,
        strings(&["client_secret_basic", "private_key_jwt"])
    );
    assert_eq!(
        meta.token_endpoint_auth_signing_alg_values_supported,
        strings(&["RS256", "ES256"])
    );
    assert_eq!(
        meta.scopes_supported,
        strings(&[
            "openid",
            "profile",
            "email",
            "address",
            "phone",
            "offline_access"
        ])
    );
    assert_eq!(meta.grant_types_supported, None);
    assert_eq!(meta.authorization_grant_profiles_supported, None);
    assert_eq!(meta.identity_chaining_requested_token_types_supported, None);
    // decisions.md D3: absent lists mean proceed; the auth-method list is present.
    let secret = || ClientSecret::new("s");
    assert_eq!(
        meta.check_jwt_bearer_support(&ClientAuth::ClientSecretBasic(secret())),
        Ok(())
    );
    assert_eq!(
        meta.check_token_exchange_support(&ClientAuth::ClientSecretBasic(secret())),
        Ok(())
    );
    assert_eq!(
        meta.check_jwt_bearer_support(&ClientAuth::ClientSecretPost(secret())),
        Err(Unsupported::AuthMethod("client_secret_post"))
    );
    assert_eq!(
        meta.check_auth_method(&ClientAuth::None),
        Err(Unsupported::AuthMethod("none"))
    );
}

#[test]
fn rfc8693_example_parses_and_the_id_jag_flow_refuses_it() {
    let body = rfc8693_response();
    let parsed = TokenResponse::from_json(body.as_bytes(), &Policy::default()).expect("parses");
    assert_eq!(parsed.access_token.as_str(), RFC8693_ACCESS_TOKEN);
    assert_eq!(
        parsed.issued_token_type.as_deref(),
        Some("urn:ietf:params:oauth:token-type:access_token")
    );
    assert_eq!(parsed.token_type, "Bearer");
    assert_eq!(parsed.expires_in, Some(Duration::from_secs(60)));
    assert_eq!(parsed.scope, None);
    assert!(!parsed.had_refresh_token);
    assert!(!format!("{parsed:?}").contains(RFC8693_ACCESS_TOKEN));

    // The token is the RFC's ES256 JWT.
    let peeked = xaa::jwt::peek(RFC8693_ACCESS_TOKEN).expect("a JWS");
    assert_eq!(peeked.header_str("alg"), Some("ES256"));
    assert_eq!(peeked.header_str("kid"), Some("72"));
    assert_eq!(peeked.claim_str("aud"), Some("https://backend.example.com"));
    assert_eq!(peeked.claim_str("iss"), Some("https://as.example.com"));
    assert_eq!(peeked.claim_str("sub"), Some("bdc@example.com"));
    assert_eq!(peeked.claim_str("scope"), Some("api"));
    assert_eq!(peeked.claim_time("exp"), Some(1_441_917_593));
    assert_eq!(peeked.claim_time("iat"), Some(1_441_917_533));

    // Served by the IdP in the ID-JAG flow, it is refused before anything goes to the AS.
    let mut servers = Servers::happy().on("POST", IDP_TOKEN, move |_| {
        raw_response(200, Some("application/json"), body.as_bytes())
    });
    let config = EnterpriseConfig::new(
        IdentityProvider::issuer(IDP, ClientCredentials::public(IDP_CLIENT)),
        SubjectToken::IdToken(IdToken::new(id_token())),
        AuthorizationServer::discovered(ClientCredentials::basic(
            AS_CLIENT,
            ClientSecret::new(AS_SECRET),
        )),
    );
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(MCP.into())).expect("config");
    let (result, _) = run(flow, &mut servers, Order::Fifo);
    let error = result.expect_err("not an ID-JAG");
    assert!(
        matches!(&error, Error::InvalidResponse {
            purpose: Purpose::TokenExchange,
            violation: Violation::IssuedTokenType(t),
        } if t == "urn:ietf:params:oauth:token-type:access_token"),
        "{error:?}"
    );
    assert_eq!(servers.count("POST", AS_TOKEN), 0);
    assert!(!format!("{error} {error:?}").contains(RFC8693_ACCESS_TOKEN));
}

#[test]
fn id_jag_draft_example_peeks() {
    let token = id_jag_draft_token();
    let peeked = xaa::jwt::peek(&token).expect("a JWS peeks");
    let typ = peeked.header_str("typ").expect("typ");
    assert!(typ.eq_ignore_ascii_case("oauth-id-jag+jwt"), "{typ}");
    assert_eq!(peeked.claim_str("jti"), Some("9e43f81b64a33f20116179"));
    assert_eq!(peeked.claim_str("iss"), Some("https://acme.idp.example/"));
    assert_eq!(peeked.claim_str("sub"), Some("U019488227"));
    assert_eq!(peeked.claim_str("aud"), Some("https://acme.chat.example/"));
    assert_eq!(peeked.claim_str("client_id"), Some("f53f191f9311af35"));
    assert_eq!(peeked.claim_time("exp"), Some(1_311_281_970));
    assert_eq!(peeked.claim_time("iat"), Some(1_311_280_970));
    assert_eq!(peeked.claim_time("auth_time"), Some(1_311_280_970));
    assert_eq!(
        peeked.claim_str("resource"),
        Some("https://api.chat.example/")
    );
    assert_eq!(peeked.claim_str("scope"), Some("chat.read chat.history"));
    assert_eq!(
        peeked.claims.get("amr"),
        Some(&json!(["mfa", "phrh", "hwk", "user"]))
    );
    assert_eq!(peeked.claims.len(), 11, "every claim, nothing else");
}

#[test]
fn id_jag_draft_example_passes_the_binding_checks_and_is_expired() {
    // The draft's example, issued for https://acme.chat.example/ and client f53f191f9311af35:
    // its aud, client_id and resource bind correctly, and at the tests' "now" (2026) its exp
    // (2011) has passed. The claim checks run in the order typ, alg, aud, client_id, resource,
    // exp, so an `exp` refusal shows the others passed.
    let token = id_jag_draft_token();
    let discovery: xaa::Discovery = serde_json::from_value(json!({
        "server_url": "https://api.chat.example/",
        "resource_metadata": {
            "resource": "https://api.chat.example/",
            "authorization_servers": ["https://acme.chat.example/"],
            "scopes_supported": null, "bearer_methods_supported": null, "jwks_uri": null,
            "resource_name": null, "dpop_bound_access_tokens_required": false,
        },
        "resource_metadata_url": "https://api.chat.example/.well-known/oauth-protected-resource",
        "authorization_server": {
            "issuer": "https://acme.chat.example/",
            "token_endpoint": "https://acme.chat.example/oauth2/token",
            "jwks_uri": null, "grant_types_supported": null,
            "token_endpoint_auth_methods_supported": null,
            "token_endpoint_auth_signing_alg_values_supported": null,
            "authorization_grant_profiles_supported": null,
            "identity_chaining_requested_token_types_supported": null, "scopes_supported": null,
        },
        "idp": null,
        "scope": "chat.read chat.history",
        "fresh_until": secs(now()) + 3600,
    }))
    .expect("a cached discovery");
    let idp_token = "https://acme.idp.example/oauth2/token";
    let mut servers = Servers::empty().on("POST", idp_token, move |_| {
        json_response(
            200,
            json!({"access_token": token.clone(), "token_type": "N_A",
                   "issued_token_type": "urn:ietf:params:oauth:token-type:id-jag"}),
        )
    });
    let config = EnterpriseConfig::new(
        IdentityProvider::token_endpoint(idp_token, ClientCredentials::public("acme-chat")),
        SubjectToken::IdToken(IdToken::new(id_token())),
        AuthorizationServer::discovered(ClientCredentials::public("f53f191f9311af35")),
    );
    let flow = EnterpriseAuth::new(config, Start::Cached(discovery)).expect("config");
    let (result, _) = run(flow, &mut servers, Order::Fifo);
    let error = result.expect_err("expired");
    assert!(
        matches!(
            &error,
            Error::InvalidResponse {
                purpose: Purpose::TokenExchange,
                violation: Violation::IdJagClaim { claim: "exp", .. },
            }
        ),
        "{error:?}"
    );
    let exchange = servers.find("POST", idp_token).expect("exchange");
    assert_eq!(
        exchange.form_value("audience"),
        Some("https://acme.chat.example/")
    );
    assert_eq!(
        exchange.form_value("resource"),
        Some("https://api.chat.example/")
    );
    assert_eq!(exchange.form_value("scope"), Some("chat.read chat.history"));
}

// ---------------------------------------------------------------------------------------------
// The conformance suite's shapes.

#[test]
fn conformance_shapes_parse() {
    let prm = ProtectedResourceMetadata::from_json(conf_prm().as_bytes()).expect("PRM");
    assert_eq!(prm.resource, CONF_MCP);
    assert_eq!(prm.authorization_servers, vec![CONF_AS]);
    assert_eq!(prm.scopes_supported, None);
    assert_eq!(prm.scopes(), None);
    assert_eq!(prm.bearer_methods_supported, None);

    let meta = AuthorizationServerMetadata::from_json(conf_as_metadata().as_bytes()).expect("AS");
    assert_eq!(meta.issuer, CONF_AS);
    assert_eq!(meta.token_endpoint, CONF_AS_TOKEN);
    assert_eq!(
        meta.grant_types_supported,
        strings(&["urn:ietf:params:oauth:grant-type:jwt-bearer"])
    );
    assert_eq!(
        meta.token_endpoint_auth_methods_supported,
        strings(&["client_secret_basic"])
    );
    assert_eq!(meta.authorization_grant_profiles_supported, None);
    assert_eq!(meta.jwks_uri, None);
    let basic = ClientAuth::ClientSecretBasic(ClientSecret::new(CONF_CLIENT_SECRET));
    assert_eq!(meta.check_jwt_bearer_support(&basic), Ok(()));
    assert_eq!(
        meta.check_jwt_bearer_support(&ClientAuth::ClientSecretPost(ClientSecret::new("s"))),
        Err(Unsupported::AuthMethod("client_secret_post")),
        "the conformance AS fails client_secret_post"
    );

    let idp = AuthorizationServerMetadata::from_json(conf_idp_metadata().as_bytes()).expect("IdP");
    assert_eq!(idp.issuer, CONF_IDP);
    assert_eq!(idp.token_endpoint, CONF_IDP_TOKEN);
    assert_eq!(idp.jwks_uri.as_deref(), Some("http://localhost:3003/jwks"));
    assert_eq!(idp.grant_types_supported, None);
    assert_eq!(idp.identity_chaining_requested_token_types_supported, None);
    assert_eq!(idp.token_endpoint_auth_methods_supported, None);
    assert_eq!(idp.check_token_exchange_support(&ClientAuth::None), Ok(()));

    let exchange =
        TokenResponse::from_json(conf_exchange_response().as_bytes(), &Policy::default())
            .expect("exchange");
    assert_eq!(exchange.access_token.as_str(), conf_id_jag());
    assert_eq!(
        exchange.issued_token_type.as_deref(),
        Some("urn:ietf:params:oauth:token-type:id-jag")
    );
    assert_eq!(exchange.token_type, "N_A");
    assert_eq!(exchange.expires_in, None);
    assert_eq!(exchange.scope, None);
    assert!(!exchange.had_refresh_token);

    let token = TokenResponse::from_json(conf_token_response().as_bytes(), &Policy::default())
        .expect("token");
    assert_eq!(token.access_token.as_str(), CONF_ACCESS_TOKEN);
    assert_eq!(token.token_type, "Bearer");
    assert_eq!(token.issued_token_type, None);
    assert_eq!(token.expires_in, Some(Duration::from_secs(3600)));
    assert_eq!(token.scope, None);
    assert!(!token.had_refresh_token);
}

fn conformance_world() -> Servers {
    let challenge_value = format!(
        r#"Bearer error="invalid_token", error_description="Missing Authorization header", resource_metadata="{CONF_PRM_URL}""#
    );
    let body = |text: String| {
        move |_: &Recorded| raw_response(200, Some("application/json"), text.as_bytes())
    };
    Servers::empty()
        .on("POST", CONF_MCP, move |_| challenge(401, &challenge_value))
        .on("GET", CONF_PRM_URL, body(conf_prm()))
        .on("GET", CONF_AS_META, body(conf_as_metadata()))
        .on("GET", CONF_IDP_OAUTH_META, |_| status(404))
        .on("GET", CONF_IDP_OIDC_META, body(conf_idp_metadata()))
        .on("POST", CONF_IDP_TOKEN, body(conf_exchange_response()))
        .on("POST", CONF_AS_TOKEN, body(conf_token_response()))
}

fn conformance_config() -> EnterpriseConfig {
    EnterpriseConfig::new(
        IdentityProvider::issuer(CONF_IDP, ClientCredentials::public(CONF_IDP_CLIENT_ID)),
        SubjectToken::IdToken(IdToken::new(conf_id_token())),
        AuthorizationServer::discovered(ClientCredentials::basic(
            CONF_CLIENT_ID,
            ClientSecret::new(CONF_CLIENT_SECRET),
        )),
    )
    .policy(Policy::loopback())
}

#[test]
fn conformance_shaped_flow_on_loopback() {
    let mut servers = conformance_world();
    let flow = EnterpriseAuth::new(conformance_config(), Start::ServerUrl(CONF_MCP.into()))
        .expect("config");
    let (result, _) = run(flow, &mut servers, Order::Fifo);
    let auth = result.expect("the conformance world is served");
    assert_eq!(auth.access_token.expose_secret(), CONF_ACCESS_TOKEN);
    assert_eq!(auth.resource, CONF_MCP);
    assert_eq!(auth.authorization_server, CONF_AS);
    assert_eq!(auth.expires_at, now() + Duration::from_secs(3600));
    assert_eq!(auth.scope, None);
    let issued = auth.id_jag.expect("kept");
    assert_eq!(
        issued.expires_at,
        now() + Duration::from_secs(300),
        "no expires_in: the ID-JAG's exp (decisions.md D9)"
    );
    let exchange = servers.find("POST", CONF_IDP_TOKEN).expect("exchange");
    let id_token = conf_id_token();
    assert_eq!(
        exchange.sorted_form(),
        pairs(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange"
            ),
            (
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:id-jag"
            ),
            ("audience", CONF_AS),
            ("resource", CONF_MCP),
            ("subject_token", &id_token),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:id_token"
            ),
            ("client_id", CONF_IDP_CLIENT_ID),
        ])
    );
    let bearer = servers.find("POST", CONF_AS_TOKEN).expect("jwt-bearer");
    let id_jag = conf_id_jag();
    assert_eq!(
        bearer.sorted_form(),
        pairs(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &id_jag),
        ])
    );
    let (id, secret) =
        form::parse_basic_authorization(&bearer.authorization().expect("client_secret_basic"))
            .expect("Basic");
    assert_eq!(id, CONF_CLIENT_ID);
    assert_eq!(secret.expose_secret(), CONF_CLIENT_SECRET);
}

// ---------------------------------------------------------------------------------------------
// Truncations.

fn bodies() -> Vec<(&'static str, String)> {
    vec![
        ("RFC 9728 PRM", RFC9728_PRM.to_owned()),
        ("RFC 8414 metadata", RFC8414_METADATA.to_owned()),
        ("RFC 8693 response", rfc8693_response()),
        ("ID-JAG draft claims", ID_JAG_DRAFT_CLAIMS.to_owned()),
        ("conformance PRM", conf_prm()),
        ("conformance AS metadata", conf_as_metadata()),
        ("conformance IdP metadata", conf_idp_metadata()),
        ("conformance exchange response", conf_exchange_response()),
        ("conformance token response", conf_token_response()),
        (
            "non-ASCII",
            r#"{"resource":"https://例え.jp/mcp","authorization_servers":["https://ä.example"],"issuer":"https://é.example","token_endpoint":"https://é.example/t","access_token":"x.y.z","token_type":"N_A"}"#.to_owned(),
        ),
    ]
}

#[test]
fn every_truncation_gives_a_typed_error() {
    let policy = Policy::default();
    for (name, body) in bodies() {
        let bytes = body.as_bytes();
        let whole = bytes.len();
        // The complete body is a JSON object; every proper prefix is not.
        let complete = serde_json::from_slice::<Value>(bytes).is_ok();
        assert!(complete, "{name}: the fixture is JSON");
        for end in 0..=whole {
            let prefix = &bytes[..end];
            let prm = ProtectedResourceMetadata::from_json(prefix);
            let meta = AuthorizationServerMetadata::from_json(prefix);
            let token = TokenResponse::from_json(prefix, &policy);
            if end < whole {
                assert_eq!(prm, Err(Violation::NotJson), "{name}[..{end}]");
                assert_eq!(meta, Err(Violation::NotJson), "{name}[..{end}]");
                assert!(
                    matches!(token, Err(Violation::NotJson)),
                    "{name}[..{end}]: {token:?}"
                );
            }
        }
    }
}

#[test]
fn every_truncation_of_a_token_is_refused_or_peeked() {
    for token in [
        RFC8693_ACCESS_TOKEN.to_owned(),
        id_jag_draft_token(),
        conf_id_jag(),
    ] {
        let second_dot = token
            .match_indices('.')
            .nth(1)
            .map(|(i, _)| i)
            .expect("a compact JWS");
        for end in 0..=token.len() {
            // Never panics; peeks exactly when header and payload are whole.
            let peeked = xaa::jwt::peek(&token[..end]);
            assert_eq!(peeked.is_ok(), end > second_dot, "[..{end}]: {peeked:?}");
        }
    }
}

#[test]
fn every_truncation_served_to_the_flow_is_a_typed_error() {
    // Each conformance body, truncated at every length, served in place of the real one: the
    // flow ends with a typed error (a truncated metadata document is a miss, so discovery
    // reports the candidates it tried), never a panic and never a success.
    let cases: Vec<(&str, &str, String)> = vec![
        ("GET", CONF_PRM_URL, conf_prm()),
        ("GET", CONF_AS_META, conf_as_metadata()),
        ("GET", CONF_IDP_OIDC_META, conf_idp_metadata()),
        ("POST", CONF_IDP_TOKEN, conf_exchange_response()),
        ("POST", CONF_AS_TOKEN, conf_token_response()),
    ];
    for (method, url, body) in cases {
        for end in 0..body.len() {
            let prefix = body.as_bytes()[..end].to_vec();
            let mut servers = conformance_world()
                .on(method, url, move |_| {
                    raw_response(200, Some("application/json"), &prefix)
                })
                .on(
                    "GET",
                    "http://localhost:3002/.well-known/openid-configuration",
                    |_| status(404),
                );
            let flow = EnterpriseAuth::new(conformance_config(), Start::ServerUrl(CONF_MCP.into()))
                .expect("config");
            let (result, _) = run(flow, &mut servers, Order::Fifo);
            let error = match result {
                Ok(_) => panic!("{url}[..{end}]: a truncated body was accepted"),
                Err(error) => error,
            };
            let expected = match url {
                CONF_PRM_URL => Purpose::ResourceMetadata,
                CONF_AS_META => Purpose::AuthorizationServerMetadata,
                CONF_IDP_OIDC_META => Purpose::IdpMetadata,
                CONF_IDP_TOKEN => Purpose::TokenExchange,
                _ => Purpose::JwtBearer,
            };
            assert_eq!(error.purpose(), Some(expected), "{url}[..{end}]: {error:?}");
            let typed = match &error {
                Error::DiscoveryFailed { .. } => method == "GET",
                Error::InvalidResponse {
                    violation: Violation::NotJson,
                    ..
                } => method == "POST",
                _ => false,
            };
            assert!(typed, "{url}[..{end}]: {error:?}");
        }
    }
}
