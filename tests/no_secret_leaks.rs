//! Observability without leaks: full flows, successful and failing in every class, run with
//! every `tracing` event captured at the most verbose level; every result and error is also
//! formatted with Display and Debug. No token or secret may appear anywhere in that output.

mod support;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use support::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use xaa::authorizer::{Acquired, Authorizer, AuthorizerConfig, User};
use xaa::grant::SubjectToken;
use xaa::{
    AuthorizationServer, ClientCredentials, ClientSecret, EnterpriseAuth, EnterpriseConfig,
    IdToken, IdentityProvider, RefreshToken, Start,
};

/// Writes every event and span field, as text, into one buffer.
struct Capture {
    out: Arc<Mutex<String>>,
    next_id: AtomicU64,
}

struct Writer<'a>(&'a mut String);

impl Visit for Writer<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let mut out = self.out.lock().expect("capture");
        attributes.record(&mut Writer(&mut out));
        out.push('\n');
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut out = self.out.lock().expect("capture");
        values.record(&mut Writer(&mut out));
        out.push('\n');
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut out = self.out.lock().expect("capture");
        let _ = write!(
            out,
            "{} {}",
            event.metadata().level(),
            event.metadata().target()
        );
        event.record(&mut Writer(&mut out));
        out.push('\n');
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

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
    ]
}

#[test]
fn no_token_or_secret_in_logs_or_errors() {
    let out = Arc::new(Mutex::new(String::new()));
    let subscriber = Capture {
        out: Arc::clone(&out),
        next_id: AtomicU64::new(0),
    };
    tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
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
        out.lock().expect("capture").push_str(&formatted);
    });
    let captured = out.lock().expect("capture").clone();
    assert!(
        captured.contains("purpose="),
        "events were captured:\n{captured}"
    );
    assert!(
        captured.contains("jwt_bearer"),
        "the success path was logged"
    );
    for (name, secret) in [
        ("ID token", id_token()),
        ("ID-JAG", id_jag()),
        ("access token", ACCESS_TOKEN.to_owned()),
        ("IdP refresh token", REFRESH_TOKEN.to_owned()),
        ("IdP client secret", IDP_SECRET.to_owned()),
        ("AS client secret", AS_SECRET.to_owned()),
    ] {
        assert!(
            !captured.contains(&secret),
            "the {name} leaked:\n{captured}"
        );
    }
}

/// The DPoP key and what it makes: bound flows that succeed, are downgraded, meet a nonce loop
/// or an ID-JAG bound to another key, the authorizer's headers for a bound token, and the
/// binding itself, all formatted and logged: no private key, no proof, no token anywhere.
#[cfg(feature = "jwt")]
#[test]
fn no_dpop_key_or_proof_in_logs_or_errors() {
    use xaa::dpop::{DpopBinding, DpopPolicy, DpopSigner, EsDpopKey};

    let out = Arc::new(Mutex::new(String::new()));
    let subscriber = Capture {
        out: Arc::clone(&out),
        next_id: AtomicU64::new(0),
    };
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
    tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
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
        out.lock().expect("capture").push_str(&formatted);
    });
    let captured = out.lock().expect("capture").clone();
    assert!(proofs.len() >= 5, "the bound flows sent proofs");
    let pem_body: String = private_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    assert!(
        !captured.contains(&pem_body),
        "the private key leaked:\n{captured}"
    );
    for line in private_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
    {
        assert!(!captured.contains(line), "part of the private key leaked");
    }
    assert!(
        !captured.contains(ACCESS_TOKEN),
        "the access token leaked:\n{captured}"
    );
    for proof in &proofs {
        assert!(
            !captured.contains(proof.as_str()),
            "a proof leaked:\n{captured}"
        );
    }
}
