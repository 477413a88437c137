//! Observability without leaks: full flows, successful and failing in every class, run with
//! every `tracing` event captured at the most verbose level; every result and error is also
//! formatted with Display and Debug. No token or secret may appear anywhere in that output.

#[path = "support/capture.rs"]
mod capture;
mod support;

use std::fmt::Write as _;

use capture::{assert_absent, capture};
use serde_json::json;
use support::*;
use xaa::authorizer::{Acquired, Authorizer, AuthorizerConfig, User};
use xaa::grant::SubjectToken;
use xaa::{
    AuthorizationServer, ClientCredentials, ClientSecret, EnterpriseAuth, EnterpriseConfig,
    HttpResponse, IdToken, IdentityProvider, RefreshToken, Start,
};

const REFRESH_TOKEN: &str = "idp-refresh-token-secret-0123456789";

fn config(subject: SubjectToken) -> EnterpriseConfig {
    EnterpriseConfig::new(
        IdentityProvider::issuer(
            IDP,
            ClientCredentials::post(IDP_CLIENT, ClientSecret::new(IDP_SECRET)),
        ),
        subject,
        AuthorizationServer::discovered(ClientCredentials::basic(
            AS_CLIENT,
            ClientSecret::new(AS_SECRET),
        )),
    )
}

/// Every failure class, by breaking one answer of the happy world.
fn worlds() -> Vec<(&'static str, Servers)> {
    vec![
        ("success", Servers::happy()),
        ("issuer mismatch", Servers::happy().on("GET", AS_META, |_| {
            let mut m = as_metadata();
            m["issuer"] = json!("https://evil.example.com");
            json_response(200, m)
        })),
        ("resource mismatch", Servers::happy().on("GET", PRM_URL, |_| {
            json_response(200, json!({"resource": "https://evil.example.com/mcp", "authorization_servers": [AS]}))
        })),
        ("redirect", Servers::happy().on("POST", IDP_TOKEN, |_| redirect_to(302, "https://elsewhere.example/steal"))),
        ("server error", Servers::happy().on("POST", AS_TOKEN, |_| status(500))),
        ("reauthentication", Servers::happy().on("POST", IDP_TOKEN, |_| oauth_error(400, "invalid_grant"))),
        ("denied", Servers::happy().on("POST", AS_TOKEN, |_| oauth_error(401, "invalid_client"))),
        ("bad ID-JAG", Servers::happy().on("POST", IDP_TOKEN, |_| {
            let mut claims = id_jag_claims();
            claims["aud"] = json!("https://other.example.com");
            let mut body = exchange_response();
            body["access_token"] = json!(id_jag_with(claims));
            json_response(200, body)
        })),
        ("bad token response", Servers::happy().on("POST", AS_TOKEN, |_| {
            json_response(200, json!({"access_token": ACCESS_TOKEN, "token_type": "DPoP"}))
        })),
        ("IdP error page echoing the request", Servers::happy().on("POST", IDP_TOKEN, echo_page)),
        ("AS error page echoing the request", Servers::happy().on("POST", AS_TOKEN, echo_page)),
        ("IdP error echoing the request in its description", Servers::happy().on("POST", IDP_TOKEN, |r| {
            json_response(400, json!({"error": "invalid_request", "error_description": echo(r)}))
        })),
    ]
}

/// The request as a debugging error page quotes it: the `Authorization` header, every form
/// value decoded (shortest first, so that the client secret falls within the part of the page
/// an error quotes) and the form as sent.
fn echo(request: &Recorded) -> String {
    let sent = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&request.form)
        .finish();
    let mut values: Vec<&str> = request.form.iter().map(|(_, v)| v.as_str()).collect();
    values.sort_by_key(|value| value.len());
    format!(
        "authorization {}; values {}; form {sent}",
        request.authorization().unwrap_or_default(),
        values.join(" "),
    )
}

fn echo_page(request: &Recorded) -> HttpResponse {
    raw_response(500, Some("text/plain"), echo(request).as_bytes())
}

#[test]
fn no_token_or_secret_in_logs_or_errors() {
    let (formatted, logged) = capture(|| {
        let mut formatted = String::new();
        let subjects = [
            SubjectToken::IdToken(IdToken::new(id_token())),
            SubjectToken::RefreshToken(RefreshToken::new(REFRESH_TOKEN)),
        ];
        for subject in subjects {
            for (name, mut servers) in worlds() {
                let flow =
                    EnterpriseAuth::new(config(subject.clone()), Start::ServerUrl(MCP.into()))
                        .expect("config");
                let (result, _) = run(flow, &mut servers, Order::Lifo);
                let _ = writeln!(formatted, "{name}: {result:?}");
                match &result {
                    Ok(authorization) => {
                        let _ = writeln!(
                            formatted,
                            "{authorization:#?} {:?}",
                            authorization.discovery
                        );
                    }
                    Err(error) => {
                        let _ = writeln!(formatted, "{error} {error:#?}");
                    }
                }
            }
        }
        // The authorizer: acquire, land, and a 401 on a fresh token.
        let authorizer = Authorizer::new(AuthorizerConfig::new(
            MCP,
            IdentityProvider::issuer(
                IDP,
                ClientCredentials::post(IDP_CLIENT, ClientSecret::new(IDP_SECRET)),
            ),
            AuthorizationServer::discovered(ClientCredentials::basic(
                AS_CLIENT,
                ClientSecret::new(AS_SECRET),
            )),
        ));
        let user =
            User::from_id_token(SubjectToken::IdToken(IdToken::new(id_token()))).expect("user");
        let _ = writeln!(formatted, "{authorizer:?} {user:?}");
        for _ in 0..2 {
            if let Ok(Acquired::Run(mut flight)) = authorizer.acquire(&user, now()) {
                let _ = writeln!(formatted, "{flight:?}");
                let (result, _) = run(
                    flight.take_flow().expect("flow"),
                    &mut Servers::happy(),
                    Order::Fifo,
                );
                let landed = flight.land(result, now());
                let _ = writeln!(formatted, "{landed:?}");
            }
            let token = xaa::AccessToken::new(ACCESS_TOKEN);
            let verdict = authorizer.on_response(
                &user,
                &token,
                http::StatusCode::UNAUTHORIZED,
                challenge(401, r#"Bearer error="invalid_token""#).headers(),
                now(),
            );
            let _ = writeln!(formatted, "{verdict:?}");
        }
        formatted
    });
    assert!(
        logged.contains("purpose="),
        "events were captured:\n{logged}"
    );
    assert!(logged.contains("jwt_bearer"), "the success path was logged");
    let captured = format!("{logged}{formatted}");
    for (name, secret) in [
        ("ID token", id_token()),
        ("ID-JAG", id_jag()),
        ("access token", ACCESS_TOKEN.to_owned()),
        ("IdP refresh token", REFRESH_TOKEN.to_owned()),
        ("IdP client secret", IDP_SECRET.to_owned()),
        ("AS client secret", AS_SECRET.to_owned()),
    ] {
        assert_absent(&captured, name, &secret);
    }
}

/// The DPoP key and what it makes: bound flows that succeed, are downgraded, meet a nonce loop
/// or an ID-JAG bound to another key, the authorizer's headers for a bound token, and the
/// binding itself, all formatted and logged: no private key, no proof, no token anywhere.
#[cfg(feature = "jwt")]
#[test]
fn no_dpop_key_or_proof_in_logs_or_errors() {
    use std::sync::Arc;

    use xaa::dpop::{DpopBinding, DpopPolicy, DpopSigner, EsDpopKey};

    let key = Arc::new(EsDpopKey::generate().expect("a key"));
    let private_pem = key.expose_private_pem().expect("pem").to_string();
    let binding = DpopBinding::new(
        key.clone(),
        Arc::new(|| "proof-jti".to_owned()),
        DpopPolicy::Required,
    );
    let jkt = key.jkt();
    let bound_exchange = |jkt: Option<String>| {
        let mut claims = id_jag_claims();
        if let Some(jkt) = jkt {
            claims["cnf"] = json!({"jkt": jkt});
        }
        let mut body = exchange_response();
        body["access_token"] = json!(id_jag_with(claims));
        json_response(200, body)
    };
    let mut proofs = Vec::new();
    let (formatted, logged) = capture(|| {
        let mut formatted = format!("{key:?} {binding:?}\n");
        let bound = {
            let jkt = jkt.clone();
            move || {
                let jkt = jkt.clone();
                Servers::happy()
                    .on("POST", IDP_TOKEN, move |_| bound_exchange(Some(jkt.clone())))
                    .on("POST", AS_TOKEN, |_| {
                        json_response(200, json!({"access_token": ACCESS_TOKEN, "token_type": "DPoP", "expires_in": 60}))
                    })
            }
        };
        let worlds: Vec<(&str, Servers)> = vec![
            ("bound", bound()),
            (
                "downgraded at the IdP",
                bound().on("POST", IDP_TOKEN, move |_| bound_exchange(None)),
            ),
            (
                "another key",
                bound().on("POST", IDP_TOKEN, move |_| {
                    bound_exchange(Some("other-key".into()))
                }),
            ),
            (
                "downgraded at the AS",
                bound().on("POST", AS_TOKEN, |_| json_response(200, bearer_response())),
            ),
            (
                "nonce loop",
                bound().on("POST", AS_TOKEN, |_| {
                    let mut response = oauth_error(400, "use_dpop_nonce");
                    response
                        .headers_mut()
                        .insert("dpop-nonce", "n".parse().expect("header"));
                    response
                }),
            ),
        ];
        for (name, mut servers) in worlds {
            let config =
                config(SubjectToken::IdToken(IdToken::new(id_token()))).dpop(binding.clone());
            let flow = EnterpriseAuth::new(config, Start::ServerUrl(MCP.into())).expect("config");
            let (result, _) = run(flow, &mut servers, Order::Fifo);
            let _ = writeln!(formatted, "{name}: {result:?}");
            if let Err(error) = &result {
                let _ = writeln!(formatted, "{error} {error:#?}");
            }
            proofs.extend(
                servers
                    .log
                    .iter()
                    .filter_map(|r| r.headers.get("dpop"))
                    .map(|v| v.to_str().expect("ascii").to_owned()),
            );
        }
        let authorizer = Authorizer::new(
            AuthorizerConfig::new(
                MCP,
                IdentityProvider::issuer(IDP, ClientCredentials::public(IDP_CLIENT)),
                AuthorizationServer::discovered(ClientCredentials::basic(
                    AS_CLIENT,
                    ClientSecret::new(AS_SECRET),
                )),
            )
            .dpop(binding.clone()),
        );
        let token = xaa::AccessToken::new(ACCESS_TOKEN).bound_to(jkt.clone());
        let uri: http::Uri = MCP.parse().expect("uri");
        let headers = authorizer
            .request_authorization(&token, &http::Method::POST, &uri, b"{}", now())
            .expect("headers");
        let _ = writeln!(formatted, "{headers:?} {token:?}");
        formatted
    });
    assert!(
        logged.contains("purpose="),
        "the bound flows were logged:\n{logged}"
    );
    let captured = format!("{logged}{formatted}");
    assert!(proofs.len() >= 5, "the bound flows sent proofs");
    for line in private_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
    {
        assert_absent(&captured, "DPoP private key (a line of its PEM)", line);
    }
    assert_absent(&captured, "access token", ACCESS_TOKEN);
    for proof in &proofs {
        assert_absent(&captured, "DPoP proof", proof);
    }
}

/// The search finds a secret base64-encoded at any offset, in either alphabet, so a leak
/// inside a Basic credential or a JWT segment cannot hide from it.
#[test]
fn the_search_finds_encoded_secrets_at_every_offset() {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

    let secret = b"a-secret-long-enough-to-search-for";
    for prefix in ["", "x", "xy", "client:"] {
        let whole = [prefix.as_bytes(), secret, b"!tail"].concat();
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let text = engine.encode(&whole);
            let found = capture::encoded_forms(secret)
                .iter()
                .any(|form| text.contains(form.as_str()));
            assert!(found, "not found after {prefix:?} in {text}");
        }
    }
}
