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
