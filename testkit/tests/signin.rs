//! The IdP's sign-in side over real HTTP on 127.0.0.1: the code flow driven by hand as a
//! browser would, PKCE, refresh rotation, the device grant, revocation, key rotation, and
//! one test per sign-in fault.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use url::Url;
use xaa::HttpResponse;
use xaa::jose::{AlgorithmAllowList, Jwks, JwsError, verify_jws};
use xaa_testkit::{
    AuthorizationResponseFault, DeviceGrantFault, EVIL_ORIGIN, Endpoint, Fault, IDP_CLIENT_ID,
    IdTokenFault, Options, Testkit,
};

const VERIFIER: &str = "a-pkce-code-verifier-of-the-test-long-enough-0123456789";
const STATE: &str = "state-of-the-test";
const NONCE: &str = "nonce-of-the-test";
/// A port nobody listens on: the tests read the redirect, they never follow it.
const CALLBACK_PORT: u16 = 49_152;
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn kit() -> Testkit {
    Testkit::start(Options::default()).expect("kit starts")
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()))
}

fn form_post(url: &str, pairs: &[(&str, &str)]) -> xaa::HttpRequest {
    http::Request::builder()
        .method("POST")
        .uri(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(xaa_testkit::form::encode(pairs))
        .expect("request")
}

fn send(request: xaa::HttpRequest) -> HttpResponse {
    common::send(request).expect("the kit answers")
}

fn json_body(response: &HttpResponse) -> Value {
    serde_json::from_slice(response.body()).expect("a JSON body")
}

fn text(response: &HttpResponse) -> String {
    String::from_utf8(response.body().clone()).expect("UTF-8")
}

fn location(response: &HttpResponse) -> Url {
    let value = response.headers()["location"].to_str().expect("ASCII");
    Url::parse(value).expect("an absolute URL")
}

fn query(url: &Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The value of the hidden input `name` of a page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).expect("the hidden input") + marker.len();
    let end = start + page[start..].find('"').expect("the closing quote");
    page[start..end].to_owned()
}

fn authorization_url(kit: &Testkit, scope: &str) -> Url {
    let mut url = Url::parse(kit.idp_authorization_endpoint()).expect("URL");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", IDP_CLIENT_ID)
        .append_pair("redirect_uri", &kit.sign_in_redirect_uri(CALLBACK_PORT))
        .append_pair("scope", scope)
        .append_pair("state", STATE)
        .append_pair("nonce", NONCE)
        .append_pair("code_challenge", &challenge(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    url
}

/// Opens the sign-in page, picks `user`, submits: the `303`'s target.
fn sign_in(kit: &Testkit, user: &str, scope: &str) -> Url {
    let page = send(common::get(authorization_url(kit, scope).as_str()));
    assert_eq!(page.status(), 200, "{}", text(&page));
    let html = text(&page);
    assert!(html.contains(&format!("value=\"{user}\"")), "{html}");
    let form = form_post(
        &format!("{}/authorize/sign-in", kit.idp_issuer()),
        &[
            ("transaction", &hidden(&html, "transaction")),
            ("user", user),
            ("decision", "allow"),
        ],
    );
    let redirect = send(form);
    assert_eq!(redirect.status(), 303);
    location(&redirect)
}

fn redeem(kit: &Testkit, code: &str, verifier: &str) -> HttpResponse {
    send(form_post(
        kit.idp_token_endpoint(),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &kit.sign_in_redirect_uri(CALLBACK_PORT)),
            ("code_verifier", verifier),
            ("client_id", IDP_CLIENT_ID),
        ],
    ))
}

/// Redeems `code` with the right verifier, authenticating with `credentials` (form pairs)
/// and an optional `Authorization` header.
fn redeem_as(
    kit: &Testkit,
    code: &str,
    credentials: &[(&str, &str)],
    authorization: Option<&str>,
) -> HttpResponse {
    let redirect_uri = kit.sign_in_redirect_uri(CALLBACK_PORT);
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", VERIFIER),
    ];
    pairs.extend_from_slice(credentials);
    let mut request = form_post(kit.idp_token_endpoint(), &pairs);
    if let Some(value) = authorization {
        request
            .headers_mut()
            .insert("authorization", value.parse().expect("a header value"));
    }
    send(request)
}

fn refresh(kit: &Testkit, refresh_token: &str) -> HttpResponse {
    send(form_post(
        kit.idp_token_endpoint(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", IDP_CLIENT_ID),
        ],
    ))
}

/// Signs `user` in and redeems the code: the token response.
fn tokens(kit: &Testkit, scope: &str) -> Value {
    let callback = sign_in(kit, "alice", scope);
    let code = param(&callback, "code").expect("a code");
    let response = redeem(kit, &code, VERIFIER);
    assert_eq!(response.status(), 200, "{}", text(&response));
    json_body(&response)
}

fn jwks(kit: &Testkit) -> Jwks {
    let response = send(common::get(kit.idp_jwks_uri()));
    Jwks::from_json(response.body()).expect("a JWKS")
}

/// The ID token's claims, after checking its signature against the kit's JWKS.
fn verified_claims(
    kit: &Testkit,
    id_token: &str,
) -> Result<serde_json::Map<String, Value>, JwsError> {
    verify_jws(
        id_token,
        &jwks(kit).key_ring(),
        &AlgorithmAllowList::asymmetric(),
    )?;
    Ok(xaa::jwt::peek(id_token).expect("a JWT").claims)
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

fn oauth_error(response: &HttpResponse) -> String {
    json_body(response)["error"]
        .as_str()
        .expect("an error code")
        .to_owned()
}

#[test]
fn metadata_advertises_sign_in() {
    let kit = kit();
    let url = format!("{}/.well-known/openid-configuration", kit.idp_issuer());
    let document = json_body(&send(common::get(&url)));
    assert_eq!(
        document["authorization_endpoint"],
        kit.idp_authorization_endpoint()
    );
    assert_eq!(
        document["device_authorization_endpoint"],
        kit.idp_device_authorization_endpoint()
    );
    assert_eq!(
        document["revocation_endpoint"],
        kit.idp_revocation_endpoint()
    );
    assert_eq!(
        document["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        document["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(document["response_types_supported"], json!(["code"]));
    assert_eq!(
        document["scopes_supported"],
        json!(["openid", "offline_access", "email"])
    );
    assert_eq!(
        document["grant_types_supported"],
        json!([
            "urn:ietf:params:oauth:grant-type:token-exchange",
            "authorization_code",
            "refresh_token",
            DEVICE_GRANT
        ])
    );
}

#[test]
fn the_code_flow_by_hand() {
    let kit = kit();
    let callback = sign_in(&kit, "bob", "openid");
    assert_eq!(
        callback.origin().ascii_serialization(),
        format!("http://127.0.0.1:{CALLBACK_PORT}")
    );
    assert_eq!(callback.path(), "/callback");
    let names: Vec<String> = query(&callback).into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["code", "state", "iss"]);
    assert_eq!(param(&callback, "state").as_deref(), Some(STATE));
    assert_eq!(param(&callback, "iss").as_deref(), Some(kit.idp_issuer()));
    let code = param(&callback, "code").expect("a code");
    let unknown = send(form_post(
        kit.idp_token_endpoint(),
        &[
            ("grant_type", "authorization_code"),
            ("code", "idp-code-never-issued"),
            ("redirect_uri", &kit.sign_in_redirect_uri(CALLBACK_PORT)),
            ("code_verifier", VERIFIER),
            ("client_id", IDP_CLIENT_ID),
        ],
    ));
    assert_eq!(oauth_error(&unknown), "invalid_grant");
    let before = now_seconds();
    let response = redeem(&kit, &code, VERIFIER);
    assert_eq!(response.status(), 200, "{}", text(&response));
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json_body(&response);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "openid");
    assert!(
        body.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    let id_token = body["id_token"].as_str().expect("an ID token");
    let claims = verified_claims(&kit, id_token).expect("signed by a JWKS key");
    assert_eq!(claims["iss"], kit.idp_issuer());
    assert_eq!(claims["aud"], IDP_CLIENT_ID);
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["nonce"], NONCE);
    assert_eq!(claims["email"], "bob@example.com");
    let auth_time = claims["auth_time"].as_u64().expect("auth_time");
    assert!(auth_time <= before && before - auth_time < 5);
    let exp = claims["exp"].as_u64().expect("exp");
    assert_eq!(exp - claims["iat"].as_u64().expect("iat"), 3600);
    let access_token = body["access_token"].as_str().expect("access token");
    let hash = digest(&SHA256, access_token.as_bytes());
    assert_eq!(
        claims["at_hash"],
        URL_SAFE_NO_PAD.encode(&hash.as_ref()[..16])
    );
    let records = kit.sign_in_records();
    assert_eq!(
        records.len(),
        3,
        "the form, the unknown code, the redemption"
    );
    let redemption = records.last().expect("a record");
    assert_eq!(redemption.grant_type.as_deref(), Some("authorization_code"));
    assert_eq!(redemption.pkce_verified, Some(true));
    assert_eq!(redemption.user.as_deref(), Some("bob"));
    // The sign-in ID token is a subject token the kit's token exchange accepts.
    let config = kit.enterprise_config(xaa::grant::SubjectToken::IdToken(xaa::IdToken::new(
        id_token,
    )));
    let flow = xaa::EnterpriseAuth::new(config, xaa::Start::ServerUrl(kit.mcp_url().into()))
        .expect("flow");
    common::drive(flow).expect("an access token from the signed-in ID token");
}

#[test]
fn the_sign_in_page_escapes_and_hints() {
    let kit = kit();
    let mut url = authorization_url(&kit, "openid");
    url.query_pairs_mut().append_pair("login_hint", "carol");
    let page = text(&send(common::get(url.as_str())));
    assert!(page.contains("value=\"carol\" checked"), "{page}");
    assert!(page.contains("<label for=\"user-alice\">"), "{page}");
    let mut hostile = Url::parse(kit.idp_authorization_endpoint()).expect("URL");
    hostile
        .query_pairs_mut()
        .append_pair("client_id", "<script>alert(1)</script>");
    let response = send(common::get(hostile.as_str()));
    assert_eq!(response.status(), 400);
    let page = text(&response);
    assert!(!page.contains("<script>"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
}

#[test]
fn errors_before_a_trusted_redirect_uri_stay_on_a_page() {
    let kit = kit();
    for redirect_uri in [
        "https://127.0.0.1:4000/callback",
        "http://evil.example.com/callback",
        "http://127.0.0.1:4000/elsewhere",
        "http://127.0.0.1:4000/callback#fragment",
    ] {
        let mut url = authorization_url(&kit, "openid");
        let pairs: Vec<(String, String)> = query(&url)
            .into_iter()
            .map(|(name, value)| {
                let value = if name == "redirect_uri" {
                    redirect_uri.to_owned()
                } else {
                    value
                };
                (name, value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        let response = send(common::get(url.as_str()));
        assert_eq!(response.status(), 400, "{redirect_uri}");
        assert!(
            response.headers().get("location").is_none(),
            "{redirect_uri}"
        );
        assert!(
            text(&response).contains("is not registered"),
            "{redirect_uri}"
        );
    }
}

#[test]
fn errors_after_a_trusted_redirect_uri_are_redirected() {
    let kit = kit();
    let mut url = authorization_url(&kit, "openid");
    let pairs: Vec<(String, String)> = query(&url)
        .into_iter()
        .filter(|(name, _)| name != "code_challenge_method")
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let response = send(common::get(url.as_str()));
    assert_eq!(response.status(), 302);
    let target = location(&response);
    assert_eq!(param(&target, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&target, "state").as_deref(), Some(STATE));
    assert_eq!(param(&target, "iss").as_deref(), Some(kit.idp_issuer()));
    let response = send(common::get(authorization_url(&kit, "email").as_str()));
    assert_eq!(
        param(&location(&response), "error").as_deref(),
        Some("invalid_scope")
    );
    let mut url = authorization_url(&kit, "openid");
    url.query_pairs_mut().append_pair("prompt", "none");
    let response = send(common::get(url.as_str()));
    assert_eq!(
        param(&location(&response), "error").as_deref(),
        Some("login_required")
    );
    let mut url = authorization_url(&kit, "openid");
    url.query_pairs_mut().append_pair("max_age", "soon");
    let response = send(common::get(url.as_str()));
    assert_eq!(
        param(&location(&response), "error").as_deref(),
        Some("invalid_request")
    );
    let mut url = authorization_url(&kit, "openid");
    url.query_pairs_mut().append_pair("state", "twice");
    let response = send(common::get(url.as_str()));
    assert_eq!(
        param(&location(&response), "error").as_deref(),
        Some("invalid_request")
    );
}

#[test]
fn a_transaction_is_used_once() {
    let kit = kit();
    let html = text(&send(common::get(
        authorization_url(&kit, "openid").as_str(),
    )));
    let transaction = hidden(&html, "transaction");
    let submit = || {
        send(form_post(
            &format!("{}/authorize/sign-in", kit.idp_issuer()),
            &[("transaction", &transaction), ("user", "alice")],
        ))
    };
    assert_eq!(submit().status(), 303);
    let again = submit();
    assert_eq!(again.status(), 400);
    assert!(text(&again).contains("expired or was already used"));
}

#[test]
fn a_replayed_code_is_invalid_grant_and_revokes_its_refresh_token() {
    let kit = kit();
    let callback = sign_in(&kit, "alice", "openid offline_access");
    let code = param(&callback, "code").expect("a code");
    let first = json_body(&redeem(&kit, &code, VERIFIER));
    let refresh_token = first["refresh_token"].as_str().expect("a refresh token");
    let replay = redeem(&kit, &code, VERIFIER);
    assert_eq!(replay.status(), 400);
    assert_eq!(oauth_error(&replay), "invalid_grant");
    let refreshed = refresh(&kit, refresh_token);
    assert_eq!(oauth_error(&refreshed), "invalid_grant");
    assert_eq!(kit.refresh_token_redemptions(), 0);
}

#[test]
fn a_wrong_pkce_verifier_is_invalid_grant() {
    let kit = kit();
    let callback = sign_in(&kit, "alice", "openid");
    let code = param(&callback, "code").expect("a code");
    let response = redeem(
        &kit,
        &code,
        "another-verifier-that-is-long-enough-to-be-well-formed",
    );
    assert_eq!(response.status(), 400);
    assert_eq!(oauth_error(&response), "invalid_grant");
    let record = kit.sign_in_records().pop().expect("a record");
    assert_eq!(record.pkce_verified, Some(false));
    // The code is spent: even the right verifier no longer works.
    assert_eq!(oauth_error(&redeem(&kit, &code, VERIFIER)), "invalid_grant");
}

#[test]
fn refresh_tokens_rotate_and_a_reused_one_revokes_the_family() {
    let kit = kit();
    let first = tokens(&kit, "openid offline_access");
    let generation_0 = first["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let response = refresh(&kit, &generation_0);
    assert_eq!(response.status(), 200, "{}", text(&response));
    let second = json_body(&response);
    let generation_1 = second["refresh_token"]
        .as_str()
        .expect("a new refresh token")
        .to_owned();
    assert_ne!(generation_0, generation_1);
    let claims =
        verified_claims(&kit, second["id_token"].as_str().expect("an ID token")).expect("signed");
    assert_eq!(claims["sub"], "alice");
    assert!(claims.get("nonce").is_none());
    assert_eq!(kit.refresh_token_redemptions(), 1);
    assert_eq!(
        kit.sign_in_records()
            .pop()
            .expect("a record")
            .refresh_generation,
        Some(0)
    );
    // The old one again: refused, and the family with it.
    assert_eq!(oauth_error(&refresh(&kit, &generation_0)), "invalid_grant");
    assert_eq!(oauth_error(&refresh(&kit, &generation_1)), "invalid_grant");
    assert_eq!(kit.refresh_token_redemptions(), 1);
}

#[test]
fn revocation_kills_the_family_and_ignores_unknown_tokens() {
    let kit = kit();
    let body = tokens(&kit, "openid offline_access");
    let refresh_token = body["refresh_token"].as_str().expect("a refresh token");
    let revoke = |token: &str| {
        send(form_post(
            kit.idp_revocation_endpoint(),
            &[
                ("token", token),
                ("token_type_hint", "refresh_token"),
                ("client_id", IDP_CLIENT_ID),
            ],
        ))
    };
    assert_eq!(revoke(refresh_token).status(), 200);
    assert_eq!(oauth_error(&refresh(&kit, refresh_token)), "invalid_grant");
    assert_eq!(revoke("never-issued").status(), 200);
    let unauthenticated = send(form_post(kit.idp_revocation_endpoint(), &[("token", "x")]));
    assert_eq!(unauthenticated.status(), 401);
}

#[test]
fn a_refresh_token_revoked_by_the_administrator_is_refused() {
    let kit = kit();
    let body = tokens(&kit, "openid offline_access");
    kit.revoke_sign_in_refresh_tokens();
    let response = refresh(
        &kit,
        body["refresh_token"].as_str().expect("a refresh token"),
    );
    assert_eq!(oauth_error(&response), "invalid_grant");
}

fn device_authorization(kit: &Testkit) -> Value {
    let response = send(form_post(
        kit.idp_device_authorization_endpoint(),
        &[
            ("client_id", IDP_CLIENT_ID),
            ("scope", "openid offline_access"),
        ],
    ));
    assert_eq!(response.status(), 200, "{}", text(&response));
    json_body(&response)
}

fn poll(kit: &Testkit, device_code: &str) -> HttpResponse {
    send(form_post(
        kit.idp_token_endpoint(),
        &[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
            ("client_id", IDP_CLIENT_ID),
        ],
    ))
}

fn decide_on_device_page(kit: &Testkit, user_code: &str, decision: &str) -> HttpResponse {
    send(form_post(
        kit.idp_device_verification_uri(),
        &[
            ("user_code", user_code),
            ("user", "carol"),
            ("decision", decision),
        ],
    ))
}

#[test]
fn the_device_flow_with_slow_down() {
    let kit = kit();
    kit.set_device_poll_interval(Duration::from_secs(1));
    let started = device_authorization(&kit);
    assert_eq!(started["interval"], 1);
    assert_eq!(started["expires_in"], 600);
    assert_eq!(
        started["verification_uri"],
        kit.idp_device_verification_uri()
    );
    let user_code = started["user_code"].as_str().expect("a user code");
    assert_eq!(
        started["verification_uri_complete"],
        format!(
            "{}?user_code={user_code}",
            kit.idp_device_verification_uri()
        )
    );
    let device_code = started["device_code"].as_str().expect("a device code");
    assert_eq!(
        oauth_error(&poll(&kit, device_code)),
        "authorization_pending"
    );
    assert_eq!(oauth_error(&poll(&kit, device_code)), "slow_down");
    let page = text(&send(common::get(
        started["verification_uri_complete"].as_str().expect("URL"),
    )));
    assert!(page.contains(&format!("value=\"{user_code}\"")), "{page}");
    let done = decide_on_device_page(&kit, &user_code.to_lowercase(), "allow");
    assert_eq!(done.status(), 200);
    // The interval is now 1 + 5 seconds.
    std::thread::sleep(Duration::from_millis(6_100));
    let response = poll(&kit, device_code);
    assert_eq!(response.status(), 200, "{}", text(&response));
    let body = json_body(&response);
    let claims =
        verified_claims(&kit, body["id_token"].as_str().expect("an ID token")).expect("signed");
    assert_eq!(claims["sub"], "carol");
    assert!(body["refresh_token"].is_string());
    assert_eq!(oauth_error(&poll(&kit, device_code)), "expired_token");
}

#[test]
fn a_device_grant_denied_on_the_page_is_access_denied() {
    let kit = kit();
    kit.set_device_poll_interval(Duration::from_secs(1));
    let started = device_authorization(&kit);
    let done = decide_on_device_page(&kit, started["user_code"].as_str().expect("code"), "deny");
    assert_eq!(done.status(), 200);
    let device_code = started["device_code"].as_str().expect("a device code");
    assert_eq!(oauth_error(&poll(&kit, device_code)), "access_denied");
}

#[test]
fn a_device_code_past_its_lifetime_is_expired_token() {
    let kit = kit();
    kit.set_device_code_lifetime(Duration::from_secs(1));
    let started = device_authorization(&kit);
    std::thread::sleep(Duration::from_millis(1100));
    let device_code = started["device_code"].as_str().expect("a device code");
    assert_eq!(oauth_error(&poll(&kit, device_code)), "expired_token");
}

fn device_fault(fault: DeviceGrantFault, expected: &str) {
    let kit = kit();
    let started = device_authorization(&kit);
    kit.set_fault(Endpoint::IdpToken, Fault::DeviceGrant(fault));
    let device_code = started["device_code"].as_str().expect("a device code");
    for _ in 0..2 {
        assert_eq!(oauth_error(&poll(&kit, device_code)), expected);
    }
}

#[test]
fn fault_device_grant_expired() {
    device_fault(DeviceGrantFault::Expired, "expired_token");
}

#[test]
fn fault_device_grant_denied() {
    device_fault(DeviceGrantFault::Denied, "access_denied");
}

#[test]
fn fault_device_grant_always_slow_down() {
    device_fault(DeviceGrantFault::AlwaysSlowDown, "slow_down");
}

#[test]
fn jwks_rotation_keeps_or_drops_the_previous_key() {
    let kit = kit();
    let old_kid = kit.idp_signing_kid().expect("a kid");
    let before = tokens(&kit, "openid");
    let old_token = before["id_token"].as_str().expect("an ID token").to_owned();
    let new_kid = kit.rotate_idp_signing_key(true).expect("rotates");
    assert_ne!(new_kid, old_kid);
    let published: Vec<String> = jwks(&kit)
        .keys
        .iter()
        .filter_map(|key| key.kid.clone())
        .collect();
    assert_eq!(published, [new_kid.clone(), old_kid.clone()]);
    let after = tokens(&kit, "openid");
    let new_token = after["id_token"].as_str().expect("an ID token").to_owned();
    let header = xaa::jwt::peek(&new_token).expect("a JWT");
    assert_eq!(header.header_str("kid"), Some(new_kid.as_str()));
    verified_claims(&kit, &new_token).expect("the new key is published");
    verified_claims(&kit, &old_token).expect("the old key is still published");
    let newest = kit.rotate_idp_signing_key(false).expect("rotates");
    let published: Vec<String> = jwks(&kit)
        .keys
        .iter()
        .filter_map(|key| key.kid.clone())
        .collect();
    assert_eq!(published, [newest]);
    assert!(matches!(
        verified_claims(&kit, &old_token),
        Err(JwsError::UnknownKey { .. })
    ));
    // The token exchange still takes an ID token signed by a rotated key.
    let config = kit.enterprise_config(xaa::grant::SubjectToken::IdToken(xaa::IdToken::new(
        new_token,
    )));
    let flow = xaa::EnterpriseAuth::new(config, xaa::Start::ServerUrl(kit.mcp_url().into()))
        .expect("flow");
    common::drive(flow).expect("exchanged");
}

#[test]
fn a_short_id_token_lifetime_applies_to_sign_in() {
    let kit = kit();
    kit.set_id_token_lifetime(Duration::from_secs(2));
    let body = tokens(&kit, "openid");
    let claims =
        verified_claims(&kit, body["id_token"].as_str().expect("an ID token")).expect("signed");
    assert_eq!(
        claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat"),
        2
    );
}

/// Signs in with `fault` armed on the sign-in form: the redirect's query.
fn faulty_callback(fault: AuthorizationResponseFault) -> (Testkit, Url) {
    let kit = kit();
    kit.set_fault(Endpoint::IdpSignIn, Fault::AuthorizationResponse(fault));
    let callback = sign_in(&kit, "alice", "openid");
    (kit, callback)
}

#[test]
fn fault_authorization_response_wrong_state() {
    let (kit, callback) = faulty_callback(AuthorizationResponseFault::WrongState);
    let state = param(&callback, "state").expect("a state");
    assert_ne!(state, STATE);
    assert_eq!(param(&callback, "iss").as_deref(), Some(kit.idp_issuer()));
    assert!(param(&callback, "code").is_some());
}

#[test]
fn fault_authorization_response_missing_state() {
    let (_kit, callback) = faulty_callback(AuthorizationResponseFault::MissingState);
    assert_eq!(param(&callback, "state"), None);
    assert!(param(&callback, "code").is_some());
}

#[test]
fn fault_authorization_response_wrong_issuer() {
    let (_kit, callback) = faulty_callback(AuthorizationResponseFault::WrongIssuer);
    assert_eq!(param(&callback, "iss").as_deref(), Some(EVIL_ORIGIN));
    assert_eq!(param(&callback, "state").as_deref(), Some(STATE));
}

#[test]
fn fault_authorization_response_missing_issuer() {
    let (_kit, callback) = faulty_callback(AuthorizationResponseFault::MissingIssuer);
    assert_eq!(param(&callback, "iss"), None);
    assert!(param(&callback, "code").is_some());
}

#[test]
fn fault_authorization_response_access_denied() {
    let (kit, callback) = faulty_callback(AuthorizationResponseFault::AccessDenied);
    assert_eq!(param(&callback, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&callback, "code"), None);
    assert_eq!(param(&callback, "state").as_deref(), Some(STATE));
    assert_eq!(param(&callback, "iss").as_deref(), Some(kit.idp_issuer()));
}

/// The ID token of a code redeemed with `fault` armed on the token endpoint: its claims
/// unverified, and the signature check's outcome.
fn faulty_id_token(fault: IdTokenFault) -> (Testkit, xaa::jwt::PeekedJwt, Result<(), JwsError>) {
    let kit = kit();
    kit.set_fault(Endpoint::IdpToken, Fault::IdToken(fault));
    let body = tokens(&kit, "openid");
    let id_token = body["id_token"].as_str().expect("an ID token").to_owned();
    let verified = verify_jws(
        &id_token,
        &jwks(&kit).key_ring(),
        &AlgorithmAllowList::asymmetric(),
    );
    (kit, xaa::jwt::peek(&id_token).expect("a JWT"), verified)
}

#[test]
fn fault_id_token_wrong_nonce() {
    let (_kit, jwt, verified) = faulty_id_token(IdTokenFault::WrongNonce);
    verified.expect("signed");
    assert_ne!(jwt.claim_str("nonce"), Some(NONCE));
}

#[test]
fn fault_id_token_wrong_audience() {
    let (_kit, jwt, verified) = faulty_id_token(IdTokenFault::WrongAudience);
    verified.expect("signed");
    assert_ne!(jwt.claim_str("aud"), Some(IDP_CLIENT_ID));
}

#[test]
fn fault_id_token_wrong_issuer() {
    let (_kit, jwt, verified) = faulty_id_token(IdTokenFault::WrongIssuer);
    verified.expect("signed");
    assert_eq!(jwt.claim_str("iss"), Some(EVIL_ORIGIN));
}

#[test]
fn fault_id_token_expired() {
    let (_kit, jwt, verified) = faulty_id_token(IdTokenFault::Expired);
    verified.expect("signed");
    assert!(jwt.claim_time("exp").expect("exp") + 60 < now_seconds());
}

#[test]
fn fault_id_token_issued_in_the_future() {
    let (_kit, jwt, verified) = faulty_id_token(IdTokenFault::IssuedInFuture);
    verified.expect("signed");
    assert!(jwt.claim_time("iat").expect("iat") > now_seconds() + 600);
}

#[test]
fn fault_id_token_bad_signature() {
    let (_kit, _jwt, verified) = faulty_id_token(IdTokenFault::BadSignature);
    assert!(
        matches!(verified, Err(JwsError::BadSignature)),
        "{verified:?}"
    );
}

#[test]
fn fault_id_token_unknown_kid() {
    let (_kit, jwt, verified) = faulty_id_token(IdTokenFault::UnknownKid);
    assert!(
        matches!(verified, Err(JwsError::UnknownKey { .. })),
        "{verified:?}"
    );
    assert_eq!(jwt.header_str("alg"), Some("ES256"));
}

#[test]
fn fault_id_token_alg_none() {
    let (_kit, jwt, verified) = faulty_id_token(IdTokenFault::AlgNone);
    assert!(
        matches!(verified, Err(JwsError::AlgorithmNotAllowed { .. })),
        "{verified:?}"
    );
    assert_eq!(jwt.header_str("alg"), Some("none"));
}

#[test]
fn fault_id_token_hmac() {
    let (kit, jwt, verified) = faulty_id_token(IdTokenFault::Hmac);
    assert!(
        matches!(verified, Err(JwsError::AlgorithmNotAllowed { .. })),
        "{verified:?}"
    );
    assert_eq!(jwt.header_str("alg"), Some("HS256"));
    assert_eq!(
        jwt.header_str("kid").map(str::to_owned),
        kit.idp_signing_kid()
    );
}

#[test]
fn a_confidential_client_authenticates_with_basic() {
    let kit = kit();
    kit.set_idp_client_auth(xaa_testkit::ClientAuthMethod::ClientSecretBasic);
    let registration = kit.idp_client();
    let secret = registration.secret().expect("a secret");
    let code = param(&sign_in(&kit, "alice", "openid"), "code").expect("a code");
    let public = redeem_as(&kit, &code, &[("client_id", IDP_CLIENT_ID)], None);
    assert_eq!(public.status(), 401);
    assert_eq!(oauth_error(&public), "invalid_client");
    let code = param(&sign_in(&kit, "alice", "openid"), "code").expect("a code");
    let wrong =
        xaa_testkit::form::basic_authorization(IDP_CLIENT_ID, &xaa::ClientSecret::new("wrong"));
    assert_eq!(
        oauth_error(&redeem_as(&kit, &code, &[], Some(&wrong))),
        "invalid_client"
    );
    let code = param(&sign_in(&kit, "alice", "openid"), "code").expect("a code");
    let basic = xaa_testkit::form::basic_authorization(IDP_CLIENT_ID, secret);
    let response = redeem_as(&kit, &code, &[], Some(&basic));
    assert_eq!(response.status(), 200, "{}", text(&response));
}

#[test]
fn a_client_authenticates_with_private_key_jwt_once_per_assertion() {
    let kit = kit();
    kit.set_idp_client_auth(xaa_testkit::ClientAuthMethod::PrivateKeyJwt);
    let registration = kit.idp_client();
    let key = registration.key().expect("a key");
    let now = now_seconds();
    let claims = json!({
        "iss": IDP_CLIENT_ID, "sub": IDP_CLIENT_ID, "aud": kit.idp_token_endpoint(),
        "iat": now, "exp": now + 60, "jti": "assertion-1",
    });
    let assertion = xaa::jose::sign_jwt(key, "JWT", &claims).expect("signed");
    let credentials = [
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let code = param(&sign_in(&kit, "alice", "openid"), "code").expect("a code");
    let response = redeem_as(&kit, &code, &credentials, None);
    assert_eq!(response.status(), 200, "{}", text(&response));
    let code = param(&sign_in(&kit, "alice", "openid"), "code").expect("a code");
    let replayed = redeem_as(&kit, &code, &credentials, None);
    assert_eq!(oauth_error(&replayed), "invalid_client");
    assert!(
        json_body(&replayed)["error_description"]
            .as_str()
            .is_some_and(|text| text.contains("jti"))
    );
    let elsewhere = json!({
        "iss": IDP_CLIENT_ID, "sub": IDP_CLIENT_ID, "aud": EVIL_ORIGIN,
        "iat": now, "exp": now + 60, "jti": "assertion-2",
    });
    let assertion = xaa::jose::sign_jwt(key, "JWT", &elsewhere).expect("signed");
    let code = param(&sign_in(&kit, "alice", "openid"), "code").expect("a code");
    let credentials = [credentials[0], ("client_assertion", assertion.as_str())];
    assert_eq!(
        oauth_error(&redeem_as(&kit, &code, &credentials, None)),
        "invalid_client"
    );
}

#[test]
fn reset_forgets_sign_ins() {
    let kit = kit();
    let body = tokens(&kit, "openid offline_access");
    kit.reset();
    let response = refresh(
        &kit,
        body["refresh_token"].as_str().expect("a refresh token"),
    );
    assert_eq!(oauth_error(&response), "invalid_grant");
    assert_eq!(
        kit.sign_in_records().len(),
        1,
        "only the refresh since the reset"
    );
}

#[test]
fn a_different_redirect_uri_at_the_token_endpoint_is_invalid_grant() {
    let kit = kit();
    let code = param(&sign_in(&kit, "alice", "openid"), "code").expect("a code");
    let response = send(form_post(
        kit.idp_token_endpoint(),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &kit.sign_in_redirect_uri(CALLBACK_PORT + 1)),
            ("code_verifier", VERIFIER),
            ("client_id", IDP_CLIENT_ID),
        ],
    ));
    assert_eq!(oauth_error(&response), "invalid_grant");
    assert!(
        json_body(&response)["error_description"]
            .as_str()
            .is_some_and(|text| text.contains("redirect_uri"))
    );
}
