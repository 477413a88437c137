//! Every check of the enterprise flow, and every rejecting decision, against closure fakes:
//! start from the happy world, break exactly one answer, and assert (a) the exact typed error
//! and (b) that nothing further was sent (the request whose answer ended the flow is in the
//! last round of requests). Every error's Display and Debug are checked for secrets.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::*;
use xaa::challenge::ChallengeError;
use xaa::constants::{GRANT_TYPE_JWT_BEARER, GRANT_TYPE_TOKEN_EXCHANGE};
use xaa::grant::SubjectToken;
use xaa::jwt::HeaderRule;
use xaa::jwt::encode_segment;
use xaa::{
    Attempt, Authorization, AuthorizationServer, ClientCredentials, ClientSecret, EnterpriseAuth,
    EnterpriseConfig, Error, ErrorCode, IdToken, IdentityProvider, Purpose, Scope, Start,
    Unsupported, Violation,
};

const EVIL: &str = "https://evil.example.com";
const EVIL_MCP: &str = "https://evil.example.com/mcp";
const OTHER_AS: &str = "https://other-as.example.com";

// ---------------------------------------------------------------------------------------------
// The harness.

/// The IdP authenticates with `client_secret_post`, the authorization server with
/// `client_secret_basic`: both secrets are in play, so every error can be checked for them.
fn config() -> EnterpriseConfig {
    EnterpriseConfig::new(
        IdentityProvider::issuer(
            IDP,
            ClientCredentials::post(IDP_CLIENT, ClientSecret::new(IDP_SECRET)),
        ),
        SubjectToken::IdToken(IdToken::new(id_token())),
        AuthorizationServer::discovered(ClientCredentials::basic(
            AS_CLIENT,
            ClientSecret::new(AS_SECRET),
        )),
    )
}

/// The happy world plus valid documents at the candidates a correct client never needs (the
/// root PRM, the authorization server's OpenID configuration): a client that wrongly moves on
/// after a refusal finds something there, and the request log shows it.
fn world() -> Servers {
    Servers::happy()
        .on("GET", PRM_ROOT, |_| {
            json_response(
                200,
                json!({"resource": "https://mcp.example.com", "authorization_servers": [AS]}),
            )
        })
        .on("GET", AS_OIDC_META, |_| json_response(200, as_metadata()))
}

fn world_with(method: &'static str, url: &'static str, response: HttpResponseFn) -> Servers {
    world().on(method, url, response)
}

type HttpResponseFn = fn(&Recorded) -> xaa::HttpResponse;
type Check = Box<dyn Fn(&Error) -> bool>;

/// One rejection: the world, the configuration, where the flow starts, which request's answer
/// must end it, and the expected error.
struct Case {
    name: String,
    servers: Box<dyn Fn() -> Servers>,
    config: Box<dyn Fn() -> EnterpriseConfig>,
    start: Start,
    /// `METHOD URL` of the request whose answer ends the flow; `None` when the flow must stop
    /// before sending anything to a token endpoint.
    failing: Option<String>,
    /// Tokens of this case that must never reach an error message.
    secrets: Vec<String>,
    check: Check,
}

impl Case {
    fn new(
        name: impl Into<String>,
        failing: (&str, &str),
        servers: impl Fn() -> Servers + 'static,
        check: impl Fn(&Error) -> bool + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            servers: Box::new(servers),
            config: Box::new(config),
            start: Start::ServerUrl(MCP.into()),
            failing: Some(format!("{} {}", failing.0, failing.1)),
            secrets: Vec::new(),
            check: Box::new(check),
        }
    }

    fn config(mut self, config: impl Fn() -> EnterpriseConfig + 'static) -> Self {
        self.config = Box::new(config);
        self
    }

    fn start(mut self, start: Start) -> Self {
        self.start = start;
        self
    }

    fn before_any_token_request(mut self) -> Self {
        self.failing = None;
        self
    }

    fn secret(mut self, secret: Option<String>) -> Self {
        self.secrets.extend(secret.filter(|s| !s.is_empty()));
        self
    }

    /// Runs the case with both answer orders and checks everything; returns the error.
    fn run(&self) -> Error {
        let mut last = None;
        for order in [Order::Fifo, Order::Lifo] {
            let name = format!("{} ({order:?})", self.name);
            let mut servers = (self.servers)();
            let flow = EnterpriseAuth::new((self.config)(), self.start.clone())
                .unwrap_or_else(|e| panic!("{name}: configuration refused: {e:?}"));
            let (result, rounds) = run_by_round(flow, &mut servers, order);
            let error = match result {
                Ok(_) => panic!("{name}: the flow succeeded; log: {:?}", servers.urls()),
                Err(error) => error,
            };
            assert!(
                (self.check)(&error),
                "{name}: unexpected error {error:?}; log: {:?}",
                servers.urls()
            );
            self.check_nothing_further(&name, &servers, &rounds);
            check_no_secret_leaks(&name, &servers);
            assert_redacted(&name, &error, &self.secrets);
            last = Some(error);
        }
        last.expect("two runs")
    }

    fn check_nothing_further(&self, name: &str, servers: &Servers, rounds: &[Vec<Recorded>]) {
        let token_requests: Vec<&Recorded> = servers
            .log
            .iter()
            .filter(|r| r.purpose.is_token_request())
            .collect();
        let Some(failing) = &self.failing else {
            assert!(
                token_requests.is_empty(),
                "{name}: credentials were sent: {:?}",
                servers.urls()
            );
            return;
        };
        let last_round = rounds.last().map(Vec::as_slice).unwrap_or_default();
        let failing_request = last_round
            .iter()
            .find(|r| &r.key() == failing)
            .unwrap_or_else(|| {
                panic!(
                    "{name}: {failing} is not in the last round; rounds: {:?}",
                    rounds
                        .iter()
                        .map(|r| r.iter().map(Recorded::key).collect::<Vec<_>>())
                        .collect::<Vec<_>>()
                )
            });
        match failing_request.purpose {
            Purpose::TokenExchange => assert!(
                token_requests
                    .iter()
                    .all(|r| r.purpose == Purpose::TokenExchange),
                "{name}: the jwt-bearer grant was sent after the exchange failed: {:?}",
                servers.urls()
            ),
            Purpose::JwtBearer => {}
            _ => assert!(
                token_requests.is_empty(),
                "{name}: credentials were sent after a discovery failure: {:?}",
                servers.urls()
            ),
        }
        assert_eq!(
            servers.count(&failing_request.method, &failing_request.url),
            1,
            "{name}: the failing request was repeated"
        );
    }
}

/// The subject token goes only to the IdP token endpoint, each client secret only to its own
/// token endpoint (protocol.md 6 rule 6).
fn check_no_secret_leaks(name: &str, servers: &Servers) {
    let id_token = id_token();
    for request in &servers.log {
        let key = request.key();
        if key != format!("POST {IDP_TOKEN}") {
            assert!(
                !request_contains(request, &id_token),
                "{name}: the ID token went to {key}"
            );
            assert!(
                !request_contains(request, IDP_SECRET),
                "{name}: the IdP secret went to {key}"
            );
        }
        if key != format!("POST {AS_TOKEN}") {
            assert!(
                !request_contains(request, AS_SECRET),
                "{name}: the AS secret went to {key}"
            );
        }
    }
}

/// Neither Display nor Debug of the error holds a token or a secret.
fn assert_redacted(name: &str, error: &Error, extra: &[String]) {
    let texts = [
        error.to_string(),
        format!("{error:?}"),
        format!("{error:#?}"),
    ];
    let mut secrets = vec![
        id_token(),
        id_jag(),
        ACCESS_TOKEN.to_owned(),
        AS_SECRET.to_owned(),
        IDP_SECRET.to_owned(),
    ];
    secrets.extend(extra.iter().cloned());
    for text in &texts {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{name}: the error text holds a secret: {text}"
            );
        }
    }
}

fn run_all(cases: Vec<Case>) {
    assert!(!cases.is_empty());
    for case in &cases {
        case.run();
    }
}

/// Runs the happy world with one change and expects success.
fn succeed(servers: impl Fn() -> Servers, config: EnterpriseConfig) -> (Authorization, Servers) {
    let mut servers = servers();
    let flow = EnterpriseAuth::new(config, Start::ServerUrl(MCP.into())).expect("config");
    let (result, _) = run(flow, &mut servers, Order::Fifo);
    match result {
        Ok(auth) => (auth, servers),
        Err(error) => panic!("the flow failed: {error:?}; log: {:?}", servers.urls()),
    }
}

fn attempt(attempts: &[Attempt], expected: &[(&str, &str)]) -> bool {
    attempts.len() == expected.len()
        && attempts
            .iter()
            .zip(expected)
            .all(|(a, (url, outcome))| a.url == *url && a.outcome == *outcome)
}

fn without(mut value: Value, member: &str) -> Value {
    value
        .as_object_mut()
        .expect("an object")
        .remove(member)
        .expect("the member was there");
    value
}

fn with(mut value: Value, member: &str, new: Value) -> Value {
    value[member] = new;
    value
}

fn prm_with(member: &str, new: Value) -> Value {
    with(prm(), member, new)
}

/// A world whose PRM (at the challenge's pointer) is `body`.
fn prm_world(body: Value) -> impl Fn() -> Servers {
    move || {
        let body = body.clone();
        world().on("GET", PRM_URL, move |_| json_response(200, body.clone()))
    }
}

/// A world whose authorization-server metadata is `body`.
fn as_world(body: Value) -> impl Fn() -> Servers {
    move || {
        let body = body.clone();
        world().on("GET", AS_META, move |_| json_response(200, body.clone()))
    }
}

/// A world whose IdP OpenID configuration is `body`.
fn idp_world(body: Value) -> impl Fn() -> Servers {
    move || {
        let body = body.clone();
        world().on("GET", IDP_OIDC_META, move |_| {
            json_response(200, body.clone())
        })
    }
}

/// A world whose token exchange answers `response`.
fn exchange_world(
    response: impl Fn() -> xaa::HttpResponse + Clone + 'static,
) -> impl Fn() -> Servers {
    move || {
        let response = response.clone();
        world().on("POST", IDP_TOKEN, move |_| response())
    }
}

/// A world whose jwt-bearer grant answers `response`.
fn bearer_world(
    response: impl Fn() -> xaa::HttpResponse + Clone + 'static,
) -> impl Fn() -> Servers {
    move || {
        let response = response.clone();
        world().on("POST", AS_TOKEN, move |_| response())
    }
}

/// A JSON object naming `.0` twice, with the two values, after the valid ID-JAG claims or a
/// valid header: what a JSON library keeping the first or the last occurrence would misread.
struct Twice(&'static str, Value, Value);

impl serde::Serialize for Twice {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<(String, Value)> = Vec::new();
        match self.0 {
            "typ" => entries.push(("alg".into(), json!("ES256"))),
            "alg" => entries.push(("typ".into(), json!("oauth-id-jag+jwt"))),
            _ => {
                let claims = id_jag_claims();
                let object = claims.as_object().into_iter().flatten();
                entries.extend(
                    object
                        .filter(|(k, _)| *k != self.0)
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
            }
        }
        entries.push((self.0.into(), self.1.clone()));
        entries.push((self.0.into(), self.2.clone()));
        serializer.collect_map(entries)
    }
}

/// An exchange response with the ID-JAG built from `claims`.
fn exchange_with_claims(claims: Value) -> Value {
    with(
        exchange_response(),
        "access_token",
        json!(id_jag_with(claims)),
    )
}

fn claims_with(claim: &str, value: Value) -> Value {
    with(id_jag_claims(), claim, value)
}

/// A rejected exchange success body.
fn exchange_case(name: &str, body: Value, check: impl Fn(&Error) -> bool + 'static) -> Case {
    let token = body["access_token"].as_str().map(str::to_owned);
    Case::new(
        name,
        ("POST", IDP_TOKEN),
        exchange_world(move || json_response(200, body.clone())),
        check,
    )
    .secret(token)
}

fn exchange_violation(violation: &Error) -> Option<&Violation> {
    match violation {
        Error::InvalidResponse {
            purpose: Purpose::TokenExchange,
            violation,
        } => Some(violation),
        _ => None,
    }
}

fn bearer_violation(violation: &Error) -> Option<&Violation> {
    match violation {
        Error::InvalidResponse {
            purpose: Purpose::JwtBearer,
            violation,
        } => Some(violation),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Protected-resource metadata.

#[test]
fn prm_resource_mismatch_ends_discovery() {
    let no_pointer = || challenge(401, r#"Bearer error="invalid_token", scope="tools:read""#);
    run_all(vec![
        // Conformance `resource-mismatch`, through the challenge's pointer.
        Case::new(
            "pointer",
            ("GET", PRM_URL),
            prm_world(prm_with("resource", json!(EVIL_MCP))),
            |e| matches!(e, Error::ResourceMismatch { expected, found } if expected == MCP && found == EVIL_MCP),
        ),
        // The same pointer in a challenge the caller already holds.
        Case::new(
            "pointer in a caller-held challenge",
            ("GET", PRM_URL),
            prm_world(prm_with("resource", json!(EVIL_MCP))),
            |e| matches!(e, Error::ResourceMismatch { expected, found } if expected == MCP && found == EVIL_MCP),
        )
        .start(Start::Challenge {
            server_url: MCP.into(),
            headers: probe_challenge().headers().clone(),
        }),
        // Through the path-inserted well-known URL: the root is not tried afterwards (D2).
        Case::new(
            "path-inserted",
            ("GET", PRM_URL),
            move || {
                prm_world(prm_with("resource", json!(EVIL_MCP)))()
                    .on("POST", MCP, move |_| no_pointer())
            },
            |e| matches!(e, Error::ResourceMismatch { expected, found } if expected == MCP && found == EVIL_MCP),
        ),
        // Through the path-inserted well-known URL: the path must be kept verbatim.
        Case::new(
            "path-inserted, trailing slash added",
            ("GET", PRM_URL),
            move || {
                prm_world(prm_with("resource", json!(format!("{MCP}/"))))().on(
                    "POST",
                    MCP,
                    move |_| no_pointer(),
                )
            },
            |e| matches!(e, Error::ResourceMismatch { expected, found } if expected == MCP && *found == format!("{MCP}/")),
        ),
        // Through the root: the identifier is the origin without a trailing slash (D1).
        Case::new(
            "root with a trailing slash",
            ("GET", PRM_ROOT),
            move || {
                world()
                    .on("POST", MCP, |_| status(401))
                    .on("GET", PRM_URL, |_| status(404))
                    .on("GET", PRM_ROOT, |_| {
                        json_response(
                            200,
                            json!({"resource": "https://mcp.example.com/", "authorization_servers": [AS]}),
                        )
                    })
            },
            |e| matches!(e, Error::ResourceMismatch { expected, found } if expected == "https://mcp.example.com" && found == "https://mcp.example.com/"),
        ),
        Case::new(
            "root naming the endpoint",
            ("GET", PRM_ROOT),
            move || {
                world()
                    .on("POST", MCP, |_| status(401))
                    .on("GET", PRM_URL, |_| status(404))
                    .on("GET", PRM_ROOT, |_| json_response(200, prm()))
            },
            |e| matches!(e, Error::ResourceMismatch { expected, found } if expected == "https://mcp.example.com" && found == MCP),
        ),
        // Code point for code point, no normalisation (RFC 9728 section 6).
        Case::new(
            "case differs",
            ("GET", PRM_URL),
            prm_world(prm_with("resource", json!("https://MCP.example.com/mcp"))),
            |e| matches!(e, Error::ResourceMismatch { found, .. } if found == "https://MCP.example.com/mcp"),
        ),
        Case::new(
            "default port spelled out",
            ("GET", PRM_URL),
            prm_world(prm_with(
                "resource",
                json!("https://mcp.example.com:443/mcp"),
            )),
            |e| matches!(e, Error::ResourceMismatch { found, .. } if found == "https://mcp.example.com:443/mcp"),
        ),
    ]);
}

#[test]
fn prm_document_violations_end_discovery() {
    let invalid = |field: &'static str| {
        move |e: &Error| {
            matches!(e, Error::InvalidResponse {
                purpose: Purpose::ResourceMetadata,
                violation: Violation::InvalidField { field: f, .. },
            } if *f == field)
        }
    };
    let missing = |field: &'static str| {
        move |e: &Error| {
            matches!(e, Error::InvalidResponse {
                purpose: Purpose::ResourceMetadata,
                violation: Violation::MissingField(f),
            } if *f == field)
        }
    };
    let duplicate = format!(
        r#"{{"resource":"{MCP}","authorization_servers":["{AS}"],"resource":"{EVIL_MCP}"}}"#
    );
    run_all(vec![
        Case::new(
            "missing resource",
            ("GET", PRM_URL),
            prm_world(without(prm(), "resource")),
            missing("resource"),
        ),
        Case::new(
            "empty resource",
            ("GET", PRM_URL),
            prm_world(prm_with("resource", json!(""))),
            missing("resource"),
        ),
        Case::new(
            "null resource",
            ("GET", PRM_URL),
            prm_world(prm_with("resource", Value::Null)),
            missing("resource"),
        ),
        Case::new(
            "missing authorization_servers",
            ("GET", PRM_URL),
            prm_world(without(prm(), "authorization_servers")),
            missing("authorization_servers"),
        ),
        Case::new(
            "empty authorization_servers",
            ("GET", PRM_URL),
            prm_world(prm_with("authorization_servers", json!([]))),
            missing("authorization_servers"),
        ),
        Case::new(
            "resource is a number",
            ("GET", PRM_URL),
            prm_world(prm_with("resource", json!(42))),
            invalid("resource"),
        ),
        Case::new(
            "resource is an array",
            ("GET", PRM_URL),
            prm_world(prm_with("resource", json!([MCP]))),
            invalid("resource"),
        ),
        Case::new(
            "authorization_servers is a string",
            ("GET", PRM_URL),
            prm_world(prm_with("authorization_servers", json!(AS))),
            invalid("authorization_servers"),
        ),
        Case::new(
            "authorization_servers holds a number",
            ("GET", PRM_URL),
            prm_world(prm_with("authorization_servers", json!([AS, 7]))),
            invalid("authorization_servers"),
        ),
        Case::new(
            "scopes_supported is a string",
            ("GET", PRM_URL),
            prm_world(prm_with("scopes_supported", json!("tools:read"))),
            invalid("scopes_supported"),
        ),
        // A parser differential: two readers could see two resources.
        Case::new(
            "duplicate resource",
            ("GET", PRM_URL),
            move || {
                let body = duplicate.clone();
                world().on("GET", PRM_URL, move |_| {
                    raw_response(200, Some("application/json"), body.as_bytes())
                })
            },
            |e| {
                matches!(e, Error::InvalidResponse {
                purpose: Purpose::ResourceMetadata,
                violation: Violation::DuplicateField(f),
            } if f == "resource")
            },
        ),
        Case::new(
            "body over max_body_bytes",
            ("GET", PRM_URL),
            prm_world(prm_with("padding", json!("x".repeat(300 * 1024)))),
            |e| {
                matches!(e, Error::InvalidResponse {
                purpose: Purpose::ResourceMetadata,
                violation: Violation::BodyTooLarge { limit },
            } if *limit == xaa::Policy::default().max_body_bytes)
            },
        ),
    ]);
}

#[test]
fn prm_body_cap_is_exact() {
    const LIMIT: usize = 4096;
    let padded = |len: usize| {
        let base = prm_with("padding", json!("")).to_string().len();
        let body = prm_with("padding", json!("x".repeat(len - base)));
        assert_eq!(body.to_string().len(), len);
        body
    };
    let limited = || {
        let mut config = config();
        config.policy.max_body_bytes = LIMIT;
        config
    };
    let (auth, _) = succeed(prm_world(padded(LIMIT)), limited());
    assert_eq!(auth.resource, MCP, "a body of exactly the cap is accepted");
    Case::new(
        "one byte over the cap",
        ("GET", PRM_URL),
        prm_world(padded(LIMIT + 1)),
        |e| {
            matches!(
                e,
                Error::InvalidResponse {
                    purpose: Purpose::ResourceMetadata,
                    violation: Violation::BodyTooLarge { limit: LIMIT },
                }
            )
        },
    )
    .config(limited)
    .run();
}

#[test]
fn prm_redirects_are_never_followed() {
    let cases = [301, 302, 303, 307, 308]
        .into_iter()
        .map(|code| {
            Case::new(
                format!("PRM {code}"),
                ("GET", PRM_URL),
                move || {
                    world().on("GET", PRM_URL, move |_| {
                        redirect_to(code, "https://evil.example.com/prm")
                    })
                },
                move |e| {
                    matches!(e, Error::Redirect {
                    purpose: Purpose::ResourceMetadata,
                    status,
                    location: Some(location),
                } if *status == code && location == "https://evil.example.com/prm")
                },
            )
        })
        .collect();
    run_all(cases);
}

#[test]
fn prm_status_decides_next_candidate_or_stop() {
    let without_pointer = || {
        world().on("POST", MCP, |_| {
            challenge(401, r#"Bearer error="invalid_token""#)
        })
    };
    run_all(vec![
        // A 5xx ends discovery with the URLs tried: the root is not tried (D2).
        Case::new(
            "path-inserted 503",
            ("GET", PRM_URL),
            move || without_pointer().on("GET", PRM_URL, |_| status(503)),
            |e| {
                matches!(e, Error::DiscoveryFailed {
                purpose: Purpose::ResourceMetadata,
                attempts,
            } if attempt(attempts, &[(PRM_URL, "503")]))
            },
        ),
        Case::new(
            "pointer 500",
            ("GET", PRM_URL),
            || world().on("GET", PRM_URL, |_| status(500)),
            |e| {
                matches!(e, Error::DiscoveryFailed {
                purpose: Purpose::ResourceMetadata,
                attempts,
            } if attempt(attempts, &[(PRM_URL, "500")]))
            },
        ),
        // 404 everywhere: both URLs, in order.
        Case::new(
            "404 on every candidate",
            ("GET", PRM_ROOT),
            move || {
                without_pointer()
                    .on("GET", PRM_URL, |_| status(404))
                    .on("GET", PRM_ROOT, |_| status(404))
            },
            |e| {
                matches!(e, Error::DiscoveryFailed {
                purpose: Purpose::ResourceMetadata,
                attempts,
            } if attempt(attempts, &[(PRM_URL, "404"), (PRM_ROOT, "404")]))
            },
        ),
        // Another 4xx moves on too.
        Case::new(
            "401 then 410",
            ("GET", PRM_ROOT),
            move || {
                without_pointer()
                    .on("GET", PRM_URL, |_| status(401))
                    .on("GET", PRM_ROOT, |_| status(410))
            },
            |e| {
                matches!(e, Error::DiscoveryFailed {
                purpose: Purpose::ResourceMetadata,
                attempts,
            } if attempt(attempts, &[(PRM_URL, "401"), (PRM_ROOT, "410")]))
            },
        ),
        // A body that is not JSON moves to the next candidate (D2).
        Case::new(
            "HTML, then 404",
            ("GET", PRM_ROOT),
            move || {
                without_pointer()
                    .on("GET", PRM_URL, |_| {
                        raw_response(200, Some("text/html"), b"<html>login</html>")
                    })
                    .on("GET", PRM_ROOT, |_| status(404))
            },
            |e| {
                matches!(e, Error::DiscoveryFailed {
                purpose: Purpose::ResourceMetadata,
                attempts,
            } if attempt(attempts, &[(PRM_URL, "200, not a JSON object"), (PRM_ROOT, "404")]))
            },
        ),
        Case::new(
            "JSON content type, garbage body, then 404",
            ("GET", PRM_ROOT),
            move || {
                without_pointer()
                    .on("GET", PRM_URL, |_| {
                        raw_response(200, Some("application/json"), b"{\"resource\": ")
                    })
                    .on("GET", PRM_ROOT, |_| status(404))
            },
            |e| {
                matches!(e, Error::DiscoveryFailed {
                purpose: Purpose::ResourceMetadata,
                attempts,
            } if attempt(attempts, &[(PRM_URL, "200, not a JSON object"), (PRM_ROOT, "404")]))
            },
        ),
        Case::new(
            "a JSON array, then 404",
            ("GET", PRM_ROOT),
            move || {
                without_pointer()
                    .on("GET", PRM_URL, |_| json_response(200, json!([prm()])))
                    .on("GET", PRM_ROOT, |_| status(404))
            },
            |e| {
                matches!(e, Error::DiscoveryFailed {
                purpose: Purpose::ResourceMetadata,
                attempts,
            } if attempt(attempts, &[(PRM_URL, "200, not a JSON object"), (PRM_ROOT, "404")]))
            },
        ),
    ]);
}

#[test]
fn prm_non_json_then_valid_root_is_used() {
    // decisions.md D2, the positive half: a non-JSON answer is a miss, not an attack.
    let root_claims = || {
        let mut claims = claims_with("resource", json!("https://mcp.example.com"));
        claims.as_object_mut().expect("object").remove("scope");
        claims
    };
    let (auth, servers) = succeed(
        move || {
            world()
                .on("POST", MCP, |_| status(401))
                .on("GET", PRM_URL, |_| {
                    raw_response(200, Some("text/html"), b"<html>login</html>")
                })
                .on("POST", IDP_TOKEN, move |_| {
                    json_response(200, without(exchange_with_claims(root_claims()), "scope"))
                })
                .on("POST", AS_TOKEN, |_| {
                    json_response(200, without(bearer_response(), "scope"))
                })
        },
        config(),
    );
    assert_eq!(auth.resource, "https://mcp.example.com");
    assert_eq!(servers.count("GET", PRM_URL), 1);
    assert_eq!(servers.count("GET", PRM_ROOT), 1);
}

#[test]
fn a_failing_pointer_is_the_only_candidate() {
    // decisions.md D1: with a pointer, nothing else is tried, whatever it answers.
    let pointer = "https://meta.example.net/prm/mcp";
    let pointing = move || {
        world()
            .on("POST", MCP, move |_| {
                challenge(401, &format!(r#"Bearer resource_metadata="{pointer}""#))
            })
            .on("GET", PRM_URL, |_| json_response(200, prm()))
    };
    let cases = vec![
        ("404", 404, "404"),
        ("410", 410, "410"),
        ("HTML", 200, "200, not a JSON object"),
    ]
    .into_iter()
    .map(|(name, code, outcome)| {
        Case::new(
            format!("pointer answers {name}"),
            ("GET", pointer),
            move || {
                pointing().on("GET", pointer, move |_| {
                    if code == 200 {
                        raw_response(200, Some("text/html"), b"<html></html>")
                    } else {
                        status(code)
                    }
                })
            },
            move |e| {
                matches!(e, Error::DiscoveryFailed {
                purpose: Purpose::ResourceMetadata,
                attempts,
            } if attempt(attempts, &[(pointer, outcome)]))
            },
        )
    })
    .collect();
    run_all(cases);

    // The same through Start::ResourceMetadata, and the log holds only the pointer's GET.
    let mut servers = pointing().on("GET", pointer, |_| status(404));
    let flow = EnterpriseAuth::new(
        config(),
        Start::ResourceMetadata {
            server_url: MCP.into(),
            metadata_url: pointer.into(),
        },
    )
    .expect("config");
    let (result, _) = run(flow, &mut servers, Order::Fifo);
    assert!(matches!(result, Err(Error::DiscoveryFailed { .. })));
    let resource_requests: Vec<String> = servers
        .log
        .iter()
        .filter(|r| {
            matches!(
                r.purpose,
                Purpose::ResourceMetadata | Purpose::ResourceProbe
            )
        })
        .map(Recorded::key)
        .collect();
    assert_eq!(resource_requests, vec![format!("GET {pointer}")]);
}

// ---------------------------------------------------------------------------------------------
// Authorization-server metadata.

#[test]
fn as_metadata_issuer_must_be_identical() {
    let mismatch = |found: &'static str| {
        move |e: &Error| {
            matches!(e, Error::IssuerMismatch {
                purpose: Purpose::AuthorizationServerMetadata,
                expected,
                found: f,
            } if expected == AS && f == found)
        }
    };
    run_all(vec![
        // Conformance `issuer-mismatch`; the OpenID candidate is not tried afterwards (D2).
        Case::new(
            "evil issuer",
            ("GET", AS_META),
            as_world(with(as_metadata(), "issuer", json!(EVIL))),
            mismatch(EVIL),
        ),
        Case::new(
            "trailing slash added",
            ("GET", AS_META),
            as_world(with(
                as_metadata(),
                "issuer",
                json!("https://as.example.com/"),
            )),
            mismatch("https://as.example.com/"),
        ),
        Case::new(
            "missing issuer",
            ("GET", AS_META),
            as_world(without(as_metadata(), "issuer")),
            mismatch("(none)"),
        ),
        Case::new(
            "issuer at the OpenID candidate",
            ("GET", AS_OIDC_META),
            || {
                world()
                    .on("GET", AS_META, |_| status(404))
                    .on("GET", AS_OIDC_META, |_| {
                        json_response(200, with(as_metadata(), "issuer", json!(EVIL)))
                    })
            },
            mismatch(EVIL),
        ),
        // The PRM names the issuer with a slash; the document without one.
        Case::new(
            "trailing slash removed",
            ("GET", AS_META),
            prm_world(prm_with(
                "authorization_servers",
                json!(["https://as.example.com/"]),
            )),
            |e| {
                matches!(e, Error::IssuerMismatch {
                purpose: Purpose::AuthorizationServerMetadata,
                expected,
                found,
            } if expected == "https://as.example.com/" && found == AS)
            },
        ),
    ]);
}

#[test]
fn as_metadata_endpoint_violations() {
    let meta = |endpoint: &str| with(as_metadata(), "token_endpoint", json!(endpoint));
    let mut cases = vec![
        Case::new(
            "missing token_endpoint",
            ("GET", AS_META),
            as_world(without(as_metadata(), "token_endpoint")),
            |e| {
                matches!(
                    e,
                    Error::InvalidResponse {
                        purpose: Purpose::AuthorizationServerMetadata,
                        violation: Violation::MissingField("token_endpoint"),
                    }
                )
            },
        ),
        Case::new(
            "token_endpoint is a number",
            ("GET", AS_META),
            as_world(with(as_metadata(), "token_endpoint", json!(443))),
            |e| {
                matches!(
                    e,
                    Error::InvalidResponse {
                        purpose: Purpose::AuthorizationServerMetadata,
                        violation: Violation::InvalidField {
                            field: "token_endpoint",
                            ..
                        },
                    }
                )
            },
        ),
        Case::new(
            "grant_types_supported is a string",
            ("GET", AS_META),
            as_world(with(
                as_metadata(),
                "grant_types_supported",
                json!(GRANT_TYPE_JWT_BEARER),
            )),
            |e| {
                matches!(
                    e,
                    Error::InvalidResponse {
                        purpose: Purpose::AuthorizationServerMetadata,
                        violation: Violation::InvalidField {
                            field: "grant_types_supported",
                            ..
                        },
                    }
                )
            },
        ),
        Case::new(
            "http token_endpoint",
            ("GET", AS_META),
            as_world(meta("http://as.example.com/token")),
            |e| {
                matches!(e, Error::InsecureUrl {
                purpose: Purpose::AuthorizationServerMetadata,
                url,
            } if url == "http://as.example.com/token")
            },
        ),
        Case::new(
            "token_endpoint with credentials",
            ("GET", AS_META),
            as_world(meta("https://user:pw@as.example.com/token")),
            |e| {
                matches!(
                    e,
                    Error::InvalidUrl {
                        purpose: Purpose::AuthorizationServerMetadata,
                        ..
                    }
                )
            },
        ),
    ];
    // decisions.md D5: private, link-local and loopback literals.
    for endpoint in [
        "https://10.0.0.5/token",
        "https://192.168.1.1/token",
        "https://172.16.0.1/token",
        "https://127.0.0.1/token",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/token",
        "https://[::1]/token",
        "https://[fd00::1]/token",
        "https://[fe80::1]/token",
        "https://[::ffff:10.0.0.1]/token",
    ] {
        cases.push(Case::new(
            format!("token endpoint {endpoint}"),
            ("GET", AS_META),
            as_world(meta(endpoint)),
            |e| {
                matches!(
                    e,
                    Error::PrivateAddress {
                        purpose: Purpose::AuthorizationServerMetadata,
                        ..
                    }
                )
            },
        ));
    }
    run_all(cases);
}

#[test]
fn as_metadata_absent_support_lists_mean_proceed() {
    // decisions.md D3: absent is not "no".
    let bare = json!({"issuer": AS, "token_endpoint": AS_TOKEN});
    let (auth, servers) = succeed(as_world(bare), config());
    assert_eq!(auth.access_token.expose_secret(), ACCESS_TOKEN);
    assert_eq!(servers.count("POST", AS_TOKEN), 1);
    // Null is absent too.
    let nulls = json!({
        "issuer": AS, "token_endpoint": AS_TOKEN, "grant_types_supported": null,
        "authorization_grant_profiles_supported": null, "token_endpoint_auth_methods_supported": null,
    });
    succeed(as_world(nulls), config());
    // The conformance shape: jwt-bearer and client_secret_basic only, no profile.
    let conformance = json!({
        "issuer": AS, "token_endpoint": AS_TOKEN,
        "grant_types_supported": [GRANT_TYPE_JWT_BEARER],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
    });
    succeed(as_world(conformance), config());
}

#[test]
fn as_metadata_lacking_support_is_refused_before_any_credential() {
    let unsupported = |what: Unsupported| {
        move |e: &Error| {
            matches!(e, Error::Unsupported {
                purpose: Purpose::AuthorizationServerMetadata,
                what: w,
            } if *w == what)
        }
    };
    run_all(vec![
        Case::new(
            "grant_types_supported without jwt-bearer",
            ("GET", AS_META),
            as_world(with(
                as_metadata(),
                "grant_types_supported",
                json!(["authorization_code", "client_credentials"]),
            )),
            unsupported(Unsupported::GrantType(GRANT_TYPE_JWT_BEARER)),
        ),
        Case::new(
            "grant_types_supported empty",
            ("GET", AS_META),
            as_world(with(as_metadata(), "grant_types_supported", json!([]))),
            unsupported(Unsupported::GrantType(GRANT_TYPE_JWT_BEARER)),
        ),
        Case::new(
            "authorization_grant_profiles_supported without id-jag",
            ("GET", AS_META),
            as_world(with(
                as_metadata(),
                "authorization_grant_profiles_supported",
                json!(["urn:example:other-profile"]),
            )),
            unsupported(Unsupported::GrantProfile),
        ),
        Case::new(
            "token_endpoint_auth_methods_supported without client_secret_basic",
            ("GET", AS_META),
            as_world(with(
                as_metadata(),
                "token_endpoint_auth_methods_supported",
                json!(["client_secret_post", "private_key_jwt"]),
            )),
            unsupported(Unsupported::AuthMethod("client_secret_basic")),
        ),
    ]);
}

#[test]
fn as_metadata_discovery_failures() {
    run_all(vec![
        Case::new(
            "404 on every candidate",
            ("GET", AS_OIDC_META),
            || {
                world()
                    .on("GET", AS_META, |_| status(404))
                    .on("GET", AS_OIDC_META, |_| status(404))
            },
            |e| {
                matches!(e, Error::DiscoveryFailed {
                purpose: Purpose::AuthorizationServerMetadata,
                attempts,
            } if attempt(attempts, &[(AS_META, "404"), (AS_OIDC_META, "404")]))
            },
        ),
        Case::new(
            "5xx stops",
            ("GET", AS_META),
            || world().on("GET", AS_META, |_| status(502)),
            |e| {
                matches!(e, Error::DiscoveryFailed {
                purpose: Purpose::AuthorizationServerMetadata,
                attempts,
            } if attempt(attempts, &[(AS_META, "502")]))
            },
        ),
        Case::new(
            "redirect",
            ("GET", AS_META),
            || {
                world_with("GET", AS_META, |_| {
                    redirect_to(302, "https://evil.example.com/meta")
                })
            },
            |e| {
                matches!(e, Error::Redirect {
                purpose: Purpose::AuthorizationServerMetadata,
                status: 302,
                location: Some(l),
            } if l == "https://evil.example.com/meta")
            },
        ),
    ]);
}

// ---------------------------------------------------------------------------------------------
// IdP metadata.

#[test]
fn idp_metadata_issuer_must_be_identical() {
    let mismatch = |found: &'static str| {
        move |e: &Error| {
            matches!(e, Error::IssuerMismatch {
                purpose: Purpose::IdpMetadata,
                expected,
                found: f,
            } if expected == IDP && f == found)
        }
    };
    run_all(vec![
        Case::new(
            "evil issuer",
            ("GET", IDP_OIDC_META),
            idp_world(with(idp_metadata(), "issuer", json!(EVIL))),
            mismatch(EVIL),
        ),
        Case::new(
            "trailing slash added",
            ("GET", IDP_OIDC_META),
            idp_world(with(
                idp_metadata(),
                "issuer",
                json!("https://idp.example.com/"),
            )),
            mismatch("https://idp.example.com/"),
        ),
        // At the first candidate: the OpenID candidate is not tried afterwards.
        Case::new(
            "evil issuer at the RFC 8414 candidate",
            ("GET", IDP_OAUTH_META),
            || {
                world().on("GET", IDP_OAUTH_META, |_| {
                    json_response(200, with(idp_metadata(), "issuer", json!(EVIL)))
                })
            },
            mismatch(EVIL),
        ),
        // Configured with a slash; the document says without.
        Case::new(
            "configured with a trailing slash",
            ("GET", IDP_OIDC_META),
            world,
            |e| {
                matches!(e, Error::IssuerMismatch {
                purpose: Purpose::IdpMetadata,
                expected,
                found,
            } if expected == "https://idp.example.com/" && found == IDP)
            },
        )
        .config(|| {
            let mut config = config();
            config.grant = xaa::GrantSource::Enterprise {
                idp: IdentityProvider::issuer(
                    "https://idp.example.com/",
                    ClientCredentials::post(IDP_CLIENT, ClientSecret::new(IDP_SECRET)),
                ),
                subject: SubjectToken::IdToken(IdToken::new(id_token())),
            };
            config
        }),
    ]);
}

#[test]
fn idp_metadata_violations_and_lacking_support() {
    let unsupported = |what: Unsupported| {
        move |e: &Error| {
            matches!(e, Error::Unsupported {
                purpose: Purpose::IdpMetadata,
                what: w,
            } if *w == what)
        }
    };
    let meta = |endpoint: &str| with(idp_metadata(), "token_endpoint", json!(endpoint));
    run_all(vec![
        Case::new(
            "grant_types_supported without token-exchange",
            ("GET", IDP_OIDC_META),
            idp_world(with(
                idp_metadata(),
                "grant_types_supported",
                json!(["authorization_code", "refresh_token"]),
            )),
            unsupported(Unsupported::GrantType(GRANT_TYPE_TOKEN_EXCHANGE)),
        ),
        Case::new(
            "identity_chaining_requested_token_types_supported without id-jag",
            ("GET", IDP_OIDC_META),
            idp_world(with(
                idp_metadata(),
                "identity_chaining_requested_token_types_supported",
                json!(["urn:ietf:params:oauth:token-type:access_token"]),
            )),
            unsupported(Unsupported::RequestedTokenType),
        ),
        Case::new(
            "token_endpoint_auth_methods_supported without client_secret_post",
            ("GET", IDP_OIDC_META),
            idp_world(with(
                idp_metadata(),
                "token_endpoint_auth_methods_supported",
                json!(["client_secret_basic", "private_key_jwt"]),
            )),
            unsupported(Unsupported::AuthMethod("client_secret_post")),
        ),
        Case::new(
            "missing token_endpoint",
            ("GET", IDP_OIDC_META),
            idp_world(without(idp_metadata(), "token_endpoint")),
            |e| {
                matches!(
                    e,
                    Error::InvalidResponse {
                        purpose: Purpose::IdpMetadata,
                        violation: Violation::MissingField("token_endpoint"),
                    }
                )
            },
        ),
        Case::new(
            "http token_endpoint",
            ("GET", IDP_OIDC_META),
            idp_world(meta("http://idp.example.com/oauth2/token")),
            |e| {
                matches!(e, Error::InsecureUrl {
                purpose: Purpose::IdpMetadata,
                url,
            } if url == "http://idp.example.com/oauth2/token")
            },
        ),
        Case::new(
            "private token_endpoint",
            ("GET", IDP_OIDC_META),
            idp_world(meta("https://192.168.0.10/oauth2/token")),
            |e| {
                matches!(e, Error::PrivateAddress {
                purpose: Purpose::IdpMetadata,
                url,
            } if url == "https://192.168.0.10/oauth2/token")
            },
        ),
        Case::new(
            "404 on every candidate",
            ("GET", IDP_OIDC_META),
            || world().on("GET", IDP_OIDC_META, |_| status(404)),
            |e| {
                matches!(e, Error::DiscoveryFailed {
                purpose: Purpose::IdpMetadata,
                attempts,
            } if attempt(attempts, &[(IDP_OAUTH_META, "404"), (IDP_OIDC_META, "404")]))
            },
        ),
        Case::new(
            "5xx stops",
            ("GET", IDP_OAUTH_META),
            || world().on("GET", IDP_OAUTH_META, |_| status(500)),
            |e| {
                matches!(e, Error::DiscoveryFailed {
                purpose: Purpose::IdpMetadata,
                attempts,
            } if attempt(attempts, &[(IDP_OAUTH_META, "500")]))
            },
        ),
    ]);
}

#[test]
fn idp_metadata_absent_support_lists_mean_proceed() {
    let bare = json!({"issuer": IDP, "token_endpoint": IDP_TOKEN});
    let (auth, servers) = succeed(idp_world(bare), config());
    assert_eq!(auth.access_token.expose_secret(), ACCESS_TOKEN);
    assert_eq!(servers.count("POST", IDP_TOKEN), 1);
}

// ---------------------------------------------------------------------------------------------
// The authorization server chosen from the PRM.

#[test]
fn authorization_servers_entries_are_checked() {
    let listed = |issuer: &str| prm_world(prm_with("authorization_servers", json!([issuer])));
    run_all(vec![
        Case::new(
            "http issuer",
            ("GET", PRM_URL),
            listed("http://as.example.com"),
            |e| {
                matches!(e, Error::InsecureUrl {
                purpose: Purpose::AuthorizationServerMetadata,
                url,
            } if url == "http://as.example.com")
            },
        ),
        Case::new(
            "private IP issuer",
            ("GET", PRM_URL),
            listed("https://10.0.0.7"),
            |e| {
                matches!(e, Error::PrivateAddress {
                purpose: Purpose::AuthorizationServerMetadata,
                url,
            } if url == "https://10.0.0.7")
            },
        ),
        Case::new(
            "metadata-service IP issuer",
            ("GET", PRM_URL),
            listed("https://169.254.169.254"),
            |e| {
                matches!(
                    e,
                    Error::PrivateAddress {
                        purpose: Purpose::AuthorizationServerMetadata,
                        ..
                    }
                )
            },
        ),
        Case::new(
            "issuer with a query",
            ("GET", PRM_URL),
            listed("https://as.example.com?tenant=1"),
            |e| {
                matches!(e, Error::InvalidUrl {
                purpose: Purpose::AuthorizationServerMetadata,
                url,
                ..
            } if url == "https://as.example.com?tenant=1")
            },
        ),
        Case::new(
            "issuer with a fragment",
            ("GET", PRM_URL),
            listed("https://as.example.com#x"),
            |e| {
                matches!(
                    e,
                    Error::InvalidUrl {
                        purpose: Purpose::AuthorizationServerMetadata,
                        ..
                    }
                )
            },
        ),
        Case::new(
            "issuer that is not a URL",
            ("GET", PRM_URL),
            listed("as.example.com"),
            |e| {
                matches!(
                    e,
                    Error::InvalidUrl {
                        purpose: Purpose::AuthorizationServerMetadata,
                        ..
                    }
                )
            },
        ),
        // ID-JAG draft section 9.3: never redeem an ID-JAG where it was issued.
        Case::new(
            "the IdP is the authorization server (discovered)",
            ("GET", PRM_URL),
            listed(IDP),
            |e| matches!(e, Error::IdpIsAuthorizationServer { issuer } if issuer == IDP),
        ),
    ]);
}

#[test]
fn pinned_authorization_server_must_be_listed() {
    let pinned = || {
        let mut config = config();
        config.authorization_server = AuthorizationServer::pinned(
            AS,
            ClientCredentials::basic(AS_CLIENT, ClientSecret::new(AS_SECRET)),
        );
        config
    };
    let error = Case::new(
        "pinned AS not listed",
        ("GET", PRM_URL),
        prm_world(prm_with("authorization_servers", json!([OTHER_AS, EVIL]))),
        |e| {
            matches!(e, Error::AuthorizationServerNotListed { pinned, listed }
            if pinned == AS && *listed == vec![OTHER_AS.to_owned(), EVIL.to_owned()])
        },
    )
    .config(pinned)
    .run();
    assert_eq!(error.purpose(), Some(Purpose::ResourceMetadata));

    // Listed second is fine: the pinned one is used, not the first.
    let (auth, servers) = succeed(
        prm_world(prm_with("authorization_servers", json!([OTHER_AS, AS]))),
        pinned(),
    );
    assert_eq!(auth.authorization_server, AS);
    assert!(
        servers.log.iter().all(|r| !r.url.starts_with(OTHER_AS)),
        "the first entry is never contacted"
    );
}

#[test]
fn pinned_authorization_server_that_is_the_idp_is_refused_before_sending() {
    let mut config = config();
    config.authorization_server = AuthorizationServer::pinned(
        IDP,
        ClientCredentials::basic(AS_CLIENT, ClientSecret::new(AS_SECRET)),
    );
    let error = EnterpriseAuth::new(config, Start::ServerUrl(MCP.into()))
        .expect_err("the IdP cannot be the authorization server");
    assert!(
        matches!(&error, Error::IdpIsAuthorizationServer { issuer } if issuer == IDP),
        "{error:?}"
    );
    assert_redacted("pinned IdP", &error, &[]);
}

/// The configuration with the IdP known by its token endpoint only (no issuer to compare).
fn idp_by_token_endpoint() -> EnterpriseConfig {
    let mut config = config();
    config.grant = xaa::GrantSource::Enterprise {
        idp: IdentityProvider::token_endpoint(
            IDP_TOKEN,
            ClientCredentials::post(IDP_CLIENT, ClientSecret::new(IDP_SECRET)),
        ),
        subject: SubjectToken::IdToken(IdToken::new(id_token())),
    };
    config
}

/// The authorization server's metadata names `token_endpoint` as its own.
fn as_token_endpoint(token_endpoint: &'static str) -> impl Fn() -> Servers + Clone {
    move || {
        world().on("GET", AS_META, move |_| {
            json_response(
                200,
                with(as_metadata(), "token_endpoint", json!(token_endpoint)),
            )
        })
    }
}

/// The error of an authorization server whose token endpoint is the IdP's.
fn as_is_idp(issuer: &'static str, token_endpoint: &'static str) -> impl Fn(&Error) -> bool {
    move |e| {
        matches!(e, Error::AuthorizationServerIsIdp { issuer: i, token_endpoint: t }
            if i == issuer && t == token_endpoint)
    }
}

#[test]
fn the_idp_is_never_the_authorization_server_however_configured() {
    // ID-JAG draft section 9.3: the authorization server's credentials and the ID-JAG never go
    // to the IdP. Each case is refused before any token request (Case checks that none was
    // made, and that the AS secret reached no endpoint but the AS's own).
    let mut cases = vec![
        // Known by its token endpoint only, the IdP has no issuer to compare: the PRM names
        // the IdP's host as the authorization server, whose metadata (the IdP's own) names the
        // IdP's token endpoint.
        Case::new(
            "IdP by token endpoint, PRM lists the IdP",
            ("GET", IDP_OIDC_META),
            prm_world(prm_with("authorization_servers", json!([IDP]))),
            as_is_idp(IDP, IDP_TOKEN),
        )
        .config(idp_by_token_endpoint)
        .before_any_token_request(),
    ];
    // Another authorization server whose metadata points its token endpoint at the IdP's, in
    // any spelling that reaches it, with the IdP known either way.
    for spelling in [
        IDP_TOKEN,
        "https://IDP.example.com:443/oauth2/token/",
        "https://idp.example.com./oauth2//token",
        "https://idp.example.com/oauth2/%74oken?tenant=mcp",
        "https://idp.example.com/OAuth2/Token",
    ] {
        cases.push(
            Case::new(
                format!("IdP by issuer, AS token endpoint {spelling}"),
                ("GET", AS_META),
                as_token_endpoint(spelling),
                as_is_idp(AS, spelling),
            )
            .before_any_token_request(),
        );
        cases.push(
            Case::new(
                format!("IdP by token endpoint, AS token endpoint {spelling}"),
                ("GET", AS_META),
                as_token_endpoint(spelling),
                as_is_idp(AS, spelling),
            )
            .config(idp_by_token_endpoint)
            .before_any_token_request(),
        );
    }
    run_all(cases);

    // The same host with another path is another endpoint (a multi-tenant IdP may host the
    // authorization server): it gets the ID-JAG and the AS credentials, the IdP does not.
    const TENANT_TOKEN: &str = "https://idp.example.com/tenants/mcp/token";
    let servers = move || {
        as_token_endpoint(TENANT_TOKEN)().on("POST", TENANT_TOKEN, |_| {
            json_response(200, bearer_response())
        })
    };
    let (auth, servers) = succeed(servers, idp_by_token_endpoint());
    assert_eq!(auth.access_token.expose_secret(), ACCESS_TOKEN);
    let bearer = servers.find("POST", TENANT_TOKEN).expect("jwt-bearer");
    assert_eq!(bearer.form_value("assertion"), Some(id_jag().as_str()));
    let exchange = servers.find("POST", IDP_TOKEN).expect("token exchange");
    assert!(!request_contains(exchange, AS_SECRET));
    assert_eq!(servers.count("POST", IDP_TOKEN), 1);
}

#[test]
fn a_cached_discovery_naming_the_idp_token_endpoint_sends_nothing() {
    // A discovery kept in a store is data: one whose authorization server names the IdP's token
    // endpoint is refused before any POST, also when an ID-JAG is re-submitted and the IdP's
    // metadata must be fetched first to know its token endpoint.
    let mut servers = Servers::happy();
    let flow = EnterpriseAuth::new(config(), Start::ServerUrl(MCP.into())).expect("config");
    let (first, _) = run(flow, &mut servers, Order::Fifo);
    let first = first.expect("cold flow");
    let mut tampered = first.discovery.clone();
    std::sync::Arc::make_mut(&mut tampered.authorization_server).token_endpoint =
        IDP_TOKEN.to_owned();
    let without_idp = {
        let mut discovery = tampered.clone();
        discovery.idp = None;
        discovery
    };
    let id_jag = first.id_jag.expect("the ID-JAG");
    let starts = [
        ("cached", Start::Cached(tampered.clone()), config()),
        (
            "cached, IdP by token endpoint",
            Start::Cached(without_idp.clone()),
            idp_by_token_endpoint(),
        ),
        (
            "re-submitted",
            Start::Resubmit {
                discovery: tampered,
                id_jag: id_jag.clone(),
            },
            config(),
        ),
        (
            "re-submitted, IdP metadata not cached",
            Start::Resubmit {
                discovery: without_idp,
                id_jag,
            },
            config(),
        ),
    ];
    for (name, start, config) in starts {
        for order in [Order::Fifo, Order::Lifo] {
            let mut servers = Servers::happy();
            let flow = EnterpriseAuth::new(config.clone(), start.clone()).expect("config");
            let (result, _) = run(flow, &mut servers, order);
            let error = result.expect_err(name);
            assert!(as_is_idp(AS, IDP_TOKEN)(&error), "{name}: {error:?}");
            assert!(
                servers.log.iter().all(|r| r.method != "POST"),
                "{name}: {:?}",
                servers.urls()
            );
            assert_redacted(name, &error, &[]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The probe.

#[test]
fn probe_rejections() {
    run_all(vec![
        Case::new(
            "DPoP only",
            ("POST", MCP),
            || {
                world().on("POST", MCP, |_| {
                    challenge(
                        401,
                        &format!(r#"DPoP algs="ES256 PS256", resource_metadata="{PRM_URL}""#),
                    )
                })
            },
            |e| {
                matches!(e, Error::Unsupported {
                purpose: Purpose::ResourceProbe,
                what: Unsupported::ChallengeScheme(s),
            } if s == "DPoP")
            },
        ),
        Case::new(
            "Basic only",
            ("POST", MCP),
            || world().on("POST", MCP, |_| challenge(401, r#"Basic realm="mcp""#)),
            |e| {
                matches!(
                    e,
                    Error::Unsupported {
                        purpose: Purpose::ResourceProbe,
                        what: Unsupported::ChallengeScheme(_),
                    }
                )
            },
        ),
        Case::new(
            "redirect",
            ("POST", MCP),
            || {
                world_with("POST", MCP, |_| {
                    redirect_to(307, "https://login.example.com/sso")
                })
            },
            |e| {
                matches!(e, Error::Redirect {
                purpose: Purpose::ResourceProbe,
                status: 307,
                location: Some(l),
            } if l == "https://login.example.com/sso")
            },
        ),
        Case::new(
            "500",
            ("POST", MCP),
            || world_with("POST", MCP, |_| status(500)),
            |e| {
                matches!(
                    e,
                    Error::UnexpectedStatus {
                        purpose: Purpose::ResourceProbe,
                        status: 500,
                        ..
                    }
                )
            },
        ),
    ]);
}

/// A 401 whose `WWW-Authenticate` field is these bytes (obs-text allowed).
fn challenge_bytes(value: &[u8]) -> xaa::HttpResponse {
    let mut response = status(401);
    response.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_bytes(value).expect("a field value"),
    );
    response
}

/// The `WWW-Authenticate` fields the strict parser refuses (RFC 9110 section 11.6.1), each with
/// the parser's typed reason. Each carries a valid pointer, so a client that guessed past the
/// error would find a document.
fn malformed_challenges() -> Vec<(&'static str, Vec<u8>, ChallengeError)> {
    let pointer = format!(r#"resource_metadata="{PRM_URL}""#);
    let many = vec!["Basic"; 64].join(", ");
    let huge = format!(r#"Bearer {pointer}, realm="{}""#, "a".repeat(16 * 1024));
    let huge_len = huge.len();
    // `Bearer realm="caf` then an ISO-8859-1 e-acute: obs-text (RFC 9110 section 5.5).
    let mut latin1 = br#"Bearer realm="caf"#.to_vec();
    latin1.push(0xe9);
    latin1.extend_from_slice(format!(r#"", {pointer}"#).as_bytes());
    vec![
        (
            "a parameter named twice",
            format!(r#"Bearer realm="a", {pointer}, Realm="b""#).into_bytes(),
            ChallengeError::DuplicateParam {
                name: "realm".into(),
            },
        ),
        (
            "a pointer named twice",
            format!(r#"Bearer {pointer}, resource_metadata="https://evil.example.com/prm""#)
                .into_bytes(),
            ChallengeError::DuplicateParam {
                name: "resource_metadata".into(),
            },
        ),
        (
            "a non-ASCII realm",
            latin1,
            ChallengeError::NonAscii { position: 17 },
        ),
        (
            "too many challenges",
            format!("{many}, Bearer {pointer}").into_bytes(),
            ChallengeError::TooManyChallenges { limit: 64 },
        ),
        (
            "a field larger than the parser's bound",
            huge.into_bytes(),
            ChallengeError::TooLong {
                len: huge_len,
                limit: 16 * 1024,
            },
        ),
        (
            "an unterminated quote",
            format!(r#"Bearer {pointer}, realm="a"#).into_bytes(),
            ChallengeError::UnterminatedQuote {
                position: "Bearer ".len() + pointer.len() + ", realm=".len(),
            },
        ),
    ]
}

#[test]
fn a_challenge_without_bearer_names_what_it_offers() {
    let unsupported = |offered: &'static str| {
        move |e: &Error| {
            matches!(e, Error::Unsupported {
                purpose: Purpose::ResourceProbe,
                what: Unsupported::ChallengeScheme(s),
            } if s == offered)
        }
    };
    let many = "Basic, Negotiate abc=, basic, NTLM, Digest realm=\"x\", Mutual";
    run_all(vec![
        Case::new(
            "Basic and Negotiate",
            ("POST", MCP),
            || {
                world().on("POST", MCP, |_| {
                    challenge(401, r#"Basic realm="mcp", Negotiate"#)
                })
            },
            unsupported("Basic, Negotiate"),
        ),
        Case::new(
            "five schemes, one twice",
            ("POST", MCP),
            move || world().on("POST", MCP, move |_| challenge(401, many)),
            unsupported("Basic, Negotiate, NTLM, Digest, ..."),
        ),
    ]);
    // RFC 9110 section 5.6.1: a field of empty list elements holds no challenge and offers no
    // scheme; it is read as no field, and discovery goes to the well-known location.
    let (auth, servers) = succeed(
        || {
            world()
                .on("POST", MCP, |_| challenge(401, " , ,"))
                .on("GET", PRM_URL, |_| json_response(200, prm()))
        },
        config(),
    );
    assert_eq!(auth.resource, MCP);
    assert_eq!(servers.count("GET", PRM_URL), 1);
}

#[test]
fn unparsable_challenges_are_typed_not_unsupported() {
    // An unreadable challenge is not "offers no Bearer": the error says what is wrong
    // with the field, and nothing further is fetched or sent.
    let speculative = || {
        let mut config = config();
        config.policy.speculative_resource_metadata = true;
        config
    };
    for (name, value, reason) in malformed_challenges() {
        let expected = reason.clone();
        let check = move |e: &Error| {
            matches!(e, Error::InvalidResponse {
                purpose: Purpose::ResourceProbe,
                violation: Violation::MalformedChallenge(found),
            } if *found == expected)
        };
        let probe = {
            let value = value.clone();
            move || {
                let value = value.clone();
                world().on("POST", MCP, move |_| challenge_bytes(&value))
            }
        };
        let error = Case::new(name, ("POST", MCP), probe.clone(), check.clone()).run();
        let text = error.to_string();
        assert!(
            text.contains("WWW-Authenticate cannot be parsed")
                && text.contains(&reason.to_string()),
            "{name}: {text}"
        );
        assert!(!text.contains("not Bearer"), "{name}: {text}");
        Case::new(
            format!("{name}, speculative"),
            ("POST", MCP),
            probe,
            check.clone(),
        )
        .config(speculative)
        .run();

        // A challenge the caller already holds is refused before anything is sent.
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_bytes(&value).expect("a field value"),
        );
        let start = Start::Challenge {
            server_url: MCP.into(),
            headers,
        };
        let error = EnterpriseAuth::new(config(), start).expect_err(name);
        assert!(check(&error), "{name}, caller-held: {error:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The token-exchange response.

#[test]
fn exchange_response_type_checks() {
    run_all(vec![
        exchange_case(
            "issued_token_type access_token",
            with(
                exchange_response(),
                "issued_token_type",
                json!("urn:ietf:params:oauth:token-type:access_token"),
            ),
            |e| {
                matches!(exchange_violation(e), Some(Violation::IssuedTokenType(t))
                if t == "urn:ietf:params:oauth:token-type:access_token")
            },
        ),
        exchange_case(
            "issued_token_type missing",
            without(exchange_response(), "issued_token_type"),
            |e| {
                matches!(
                    exchange_violation(e),
                    Some(Violation::MissingField("issued_token_type"))
                )
            },
        ),
        exchange_case(
            "issued_token_type in another case",
            with(
                exchange_response(),
                "issued_token_type",
                json!("URN:IETF:PARAMS:OAUTH:TOKEN-TYPE:ID-JAG"),
            ),
            |e| matches!(exchange_violation(e), Some(Violation::IssuedTokenType(_))),
        ),
        // decisions.md D12.
        exchange_case(
            "token_type Bearer",
            with(exchange_response(), "token_type", json!("Bearer")),
            |e| matches!(exchange_violation(e), Some(Violation::TokenType(t)) if t == "Bearer"),
        ),
        exchange_case(
            "token_type missing",
            without(exchange_response(), "token_type"),
            |e| {
                matches!(
                    exchange_violation(e),
                    Some(Violation::MissingField("token_type"))
                )
            },
        ),
        exchange_case(
            "access_token missing",
            without(exchange_response(), "access_token"),
            |e| {
                matches!(
                    exchange_violation(e),
                    Some(Violation::MissingField("access_token"))
                )
            },
        ),
        exchange_case(
            "access_token opaque",
            with(
                exchange_response(),
                "access_token",
                json!("opaque-id-jag-0123456789"),
            ),
            |e| matches!(exchange_violation(e), Some(Violation::NotAJwt)),
        ),
        exchange_case(
            "access_token with four segments",
            with(
                exchange_response(),
                "access_token",
                json!("eyJh.eyJz.c2ln.ZXh0cmE"),
            ),
            |e| matches!(exchange_violation(e), Some(Violation::NotAJwt)),
        ),
        exchange_case(
            "access_token whose payload is not JSON",
            with(
                exchange_response(),
                "access_token",
                json!("eyJhbGciOiJFUzI1NiJ9.bm90anNvbg.c2ln"),
            ),
            |e| matches!(exchange_violation(e), Some(Violation::NotAJwt)),
        ),
        exchange_case(
            "access_token null",
            with(exchange_response(), "access_token", Value::Null),
            |e| {
                matches!(
                    exchange_violation(e),
                    Some(Violation::MissingField("access_token"))
                )
            },
        ),
    ]);
    // A success status with a body that is not JSON at all.
    Case::new(
        "HTML body",
        ("POST", IDP_TOKEN),
        exchange_world(|| raw_response(200, Some("text/html"), b"<html>ok</html>")),
        |e| matches!(exchange_violation(e), Some(Violation::ContentType(_))),
    )
    .run();
}

/// The ID-JAG header member `member` held `found` and broke `rule`.
fn header_rule(
    member: &'static str,
    found: Option<&'static str>,
    rule: HeaderRule,
) -> impl Fn(&Error) -> bool {
    move |e: &Error| {
        matches!(exchange_violation(e), Some(Violation::IdJagHeader { member: m, found: f, rule: r })
            if *m == member && f.as_deref() == found && *r == rule)
    }
}

#[test]
fn exchange_id_jag_algorithm_must_be_a_real_one() {
    // RFC 7515 section 4.1.1, RFC 8725 sections 2.1 and 3.1: the client cannot verify the
    // signature, but it never forwards a header that cannot belong to a signed JWS.
    let header = |alg: Value| {
        with(
            exchange_response(),
            "access_token",
            json!(jwt(
                json!({"alg": alg, "typ": "oauth-id-jag+jwt"}),
                id_jag_claims()
            )),
        )
    };
    let refused = |name: &str, alg: &'static str, rule: HeaderRule| {
        exchange_case(
            name,
            header(json!(alg)),
            header_rule("alg", Some(alg), rule),
        )
    };
    // The longest `alg` accepted has 64 bytes (`jwt::HeaderRule::AlgorithmTooLong`).
    let too_long: &'static str = "A".repeat(65).leak();
    run_all(vec![
        refused("alg none", "none", HeaderRule::Unsecured),
        refused("alg NONE", "NONE", HeaderRule::Unsecured),
        refused("alg nOnE", "nOnE", HeaderRule::Unsecured),
        refused("alg empty", "", HeaderRule::AlgorithmEmpty),
        refused(
            "alg with a leading space",
            " none",
            HeaderRule::AlgorithmNotPrintable,
        ),
        refused(
            "alg with a trailing space",
            "none ",
            HeaderRule::AlgorithmNotPrintable,
        ),
        // Control characters are blanked in what the error shows.
        exchange_case(
            "alg with a tab",
            header(json!("ES256\t")),
            header_rule("alg", Some("ES256 "), HeaderRule::AlgorithmNotPrintable),
        ),
        exchange_case(
            "alg with a NUL",
            header(json!("ES256\u{0}")),
            header_rule("alg", Some("ES256 "), HeaderRule::AlgorithmNotPrintable),
        ),
        refused(
            "alg non-ASCII",
            "ＥＳ256",
            HeaderRule::AlgorithmNotPrintable,
        ),
        refused("alg too long", too_long, HeaderRule::AlgorithmTooLong),
        exchange_case(
            "alg missing",
            with(
                exchange_response(),
                "access_token",
                json!(jwt(json!({"typ": "oauth-id-jag+jwt"}), id_jag_claims())),
            ),
            header_rule("alg", None, HeaderRule::AlgorithmMissing),
        ),
        exchange_case(
            "alg a number",
            header(json!(256)),
            header_rule("alg", None, HeaderRule::AlgorithmMissing),
        ),
        // An unsecured token in disguise: a real `alg`, no signature (RFC 7519 section 6.1).
        exchange_case(
            "alg ES256 with an empty signature",
            with(
                exchange_response(),
                "access_token",
                json!(format!(
                    "{}.{}.",
                    encode_segment(&json!({"alg": "ES256", "typ": "oauth-id-jag+jwt"})),
                    encode_segment(&id_jag_claims())
                )),
            ),
            header_rule("alg", Some("ES256"), HeaderRule::MissingSignature),
        ),
        exchange_case(
            "a signature that is not base64url",
            with(
                exchange_response(),
                "access_token",
                json!(format!(
                    "{}.{}.c",
                    encode_segment(&json!({"alg": "ES256", "typ": "oauth-id-jag+jwt"})),
                    encode_segment(&id_jag_claims())
                )),
            ),
            header_rule("alg", Some("ES256"), HeaderRule::MissingSignature),
        ),
        // RFC 7516 section 9: `enc` makes it a JWE, which three segments cannot be.
        exchange_case(
            "enc in a signed token",
            with(
                exchange_response(),
                "access_token",
                json!(jwt(
                    json!({"alg": "ES256", "enc": "A256GCM", "typ": "oauth-id-jag+jwt"}),
                    id_jag_claims()
                )),
            ),
            header_rule("enc", Some("A256GCM"), HeaderRule::EncryptionInSignedToken),
        ),
        exchange_case(
            "alg named twice",
            with(
                exchange_response(),
                "access_token",
                json!(jwt(
                    Twice("alg", json!("ES256"), json!("none")),
                    id_jag_claims()
                )),
            ),
            |e| matches!(exchange_violation(e), Some(Violation::DuplicateField(f)) if f == "alg"),
        ),
    ]);
    // The names real IdPs use pass.
    for alg in ["ES256", "RS256", "PS512", "EdDSA", "ES256K"] {
        let body = header(json!(alg));
        succeed(
            exchange_world(move || json_response(200, body.clone())),
            config(),
        );
    }
}

#[test]
fn exchange_id_jag_claim_checks() {
    let claim = |name: &'static str, found: &'static str| {
        move |e: &Error| {
            matches!(exchange_violation(e), Some(Violation::IdJagClaim { claim, found: f })
                if *claim == name && f == found)
        }
    };
    let header = |header: Value| {
        with(
            exchange_response(),
            "access_token",
            json!(jwt(header, id_jag_claims())),
        )
    };
    let no_claim = |name: &str| {
        let mut claims = id_jag_claims();
        claims.as_object_mut().expect("object").remove(name);
        exchange_with_claims(claims)
    };
    let past = secs(now()) - 1;
    run_all(vec![
        exchange_case(
            "typ JWT",
            header(json!({"alg": "ES256", "typ": "JWT"})),
            claim("typ", "JWT"),
        ),
        exchange_case(
            "typ missing",
            header(json!({"alg": "ES256"})),
            claim("typ", "(none)"),
        ),
        // RFC 7519 section 4: a JWT naming a member twice is refused, not read as its first or
        // its last occurrence.
        exchange_case(
            "aud named twice, the second another server's",
            with(
                exchange_response(),
                "access_token",
                json!(jwt(
                    json!({"alg": "ES256", "typ": "oauth-id-jag+jwt"}),
                    Twice("aud", json!(AS), json!("https://other.example.com")),
                )),
            ),
            |e| matches!(exchange_violation(e), Some(Violation::DuplicateField(f)) if f == "aud"),
        ),
        exchange_case(
            "typ named twice in the header",
            with(
                exchange_response(),
                "access_token",
                json!(jwt(
                    Twice("typ", json!("oauth-id-jag+jwt"), json!("JWT")),
                    id_jag_claims(),
                )),
            ),
            |e| matches!(exchange_violation(e), Some(Violation::DuplicateField(f)) if f == "typ"),
        ),
        exchange_case(
            "typ with another prefix",
            header(json!({"alg": "ES256", "typ": "x-application/oauth-id-jag+jwt"})),
            claim("typ", "x-application/oauth-id-jag+jwt"),
        ),
        exchange_case(
            "alg none, unsecured",
            with(
                exchange_response(),
                "access_token",
                json!(format!(
                    "{}.{}.",
                    encode_segment(&json!({"alg": "none", "typ": "oauth-id-jag+jwt"})),
                    encode_segment(&id_jag_claims())
                )),
            ),
            header_rule("alg", Some("none"), HeaderRule::Unsecured),
        ),
        exchange_case(
            "aud another AS",
            exchange_with_claims(claims_with("aud", json!(OTHER_AS))),
            claim("aud", OTHER_AS),
        ),
        exchange_case(
            "aud with a trailing slash",
            exchange_with_claims(claims_with("aud", json!("https://as.example.com/"))),
            claim("aud", "https://as.example.com/"),
        ),
        exchange_case(
            "aud two-element array",
            exchange_with_claims(claims_with("aud", json!([AS, OTHER_AS]))),
            claim("aud", "(not one string)"),
        ),
        exchange_case(
            "aud missing",
            no_claim("aud"),
            claim("aud", "(not one string)"),
        ),
        exchange_case(
            "client_id wrong",
            exchange_with_claims(claims_with("client_id", json!("someone-else"))),
            claim("client_id", "someone-else"),
        ),
        // The classic wiring mistake: the IdP registration's id instead of the AS one.
        exchange_case(
            "client_id is the IdP client",
            exchange_with_claims(claims_with("client_id", json!(IDP_CLIENT))),
            claim("client_id", IDP_CLIENT),
        ),
        exchange_case(
            "client_id missing",
            no_claim("client_id"),
            claim("client_id", "(none)"),
        ),
        exchange_case(
            "resource another",
            exchange_with_claims(claims_with("resource", json!(EVIL_MCP))),
            claim("resource", EVIL_MCP),
        ),
        exchange_case(
            "resource two-element array",
            exchange_with_claims(claims_with("resource", json!([MCP, EVIL_MCP]))),
            claim("resource", "(not one string)"),
        ),
        exchange_case(
            "exp past",
            exchange_with_claims(claims_with("exp", json!(past))),
            claim("exp", "already expired"),
        ),
        exchange_case(
            "exp now",
            exchange_with_claims(claims_with("exp", json!(secs(now())))),
            claim("exp", "already expired"),
        ),
        exchange_case(
            "exp missing",
            no_claim("exp"),
            claim("exp", "(missing or not a number)"),
        ),
        exchange_case(
            "exp a string",
            exchange_with_claims(claims_with("exp", json!((secs(now()) + 300).to_string()))),
            claim("exp", "(missing or not a number)"),
        ),
    ]);
}

#[test]
fn exchange_scope_must_not_widen() {
    let widened = |extra: &'static str| move |e: &Error| matches!(exchange_violation(e), Some(Violation::ScopeWidened { extra: x }) if x == extra);
    run_all(vec![
        exchange_case(
            "response scope widened",
            with(exchange_response(), "scope", json!("tools:read admin")),
            widened("admin"),
        ),
        exchange_case(
            "response scope replaced",
            with(exchange_response(), "scope", json!("tools:write")),
            widened("tools:write"),
        ),
        exchange_case(
            "claim scope widened",
            exchange_with_claims(claims_with("scope", json!("tools:read admin"))),
            widened("admin"),
        ),
        exchange_case(
            "claim scope widened, response scope absent",
            without(
                exchange_with_claims(claims_with("scope", json!("tools:read admin"))),
                "scope",
            ),
            widened("admin"),
        ),
    ]);
}

#[test]
fn exchange_expires_in_checks() {
    let invalid = |e: &Error| {
        matches!(
            exchange_violation(e),
            Some(Violation::InvalidField {
                field: "expires_in",
                ..
            })
        )
    };
    run_all(vec![
        exchange_case(
            "negative",
            with(exchange_response(), "expires_in", json!(-300)),
            invalid,
        ),
        exchange_case(
            "negative string",
            with(exchange_response(), "expires_in", json!("-300")),
            invalid,
        ),
        exchange_case(
            "huge",
            with(exchange_response(), "expires_in", json!(10_000_000_000u64)),
            invalid,
        ),
        exchange_case(
            "just above max_expires_in",
            with(
                exchange_response(),
                "expires_in",
                json!(xaa::Policy::default().max_expires_in.as_secs() + 1),
            ),
            invalid,
        ),
        exchange_case(
            "not a number",
            with(exchange_response(), "expires_in", json!("five minutes")),
            invalid,
        ),
        exchange_case(
            "a boolean",
            with(exchange_response(), "expires_in", json!(true)),
            invalid,
        ),
    ]);
}

#[test]
fn exchange_encrypted_id_jag() {
    // decisions.md D11: a JWE is opaque; its expiry comes from expires_in.
    const JWE: &str =
        "eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0.a2V5.aXY.Y2lwaGVydGV4dA.dGFn";
    let body = with(exchange_response(), "access_token", json!(JWE));

    let (auth, servers) = succeed(
        exchange_world({
            let body = body.clone();
            move || json_response(200, body.clone())
        }),
        config(),
    );
    let issued = auth.id_jag.expect("the ID-JAG is kept");
    assert!(issued.encrypted);
    assert_eq!(issued.id_jag.expose_secret(), JWE);
    assert_eq!(issued.expires_at, now() + Duration::from_secs(300));
    assert_eq!(
        servers
            .find("POST", AS_TOKEN)
            .expect("jwt-bearer")
            .form_value("assertion"),
        Some(JWE),
        "sent unmodified"
    );

    exchange_case(
        "JWE without expires_in",
        without(body.clone(), "expires_in"),
        |e| {
            matches!(
                exchange_violation(e),
                Some(Violation::MissingField("expires_in"))
            )
        },
    )
    .secret(Some(JWE.to_owned()))
    .run();

    exchange_case("JWE refused by policy", body, |e| {
        matches!(exchange_violation(e), Some(Violation::EncryptedIdJag))
    })
    .config(|| {
        let mut config = config();
        config.policy.allow_encrypted_id_jag = false;
        config
    })
    .run();
}

/// A compact JWE with this protected header (serialized as given) and encrypted key; the other
/// segments are well-formed base64url.
fn jwe(header: impl serde::Serialize, encrypted_key: &str) -> String {
    format!(
        "{}.{encrypted_key}.aXY.Y2lwaGVydGV4dA.dGFn",
        encode_segment(&header)
    )
}

#[test]
fn exchange_encrypted_id_jag_header_checks() {
    // decisions.md D11 keeps the claims opaque, not the structure: the protected header must
    // describe a JWE (RFC 7516 section 4.1) that carries a signed JWT (RFC 7519 section 5.2).
    let body = |token: String| with(exchange_response(), "access_token", json!(token));
    let case = |name: &str, token: String, check: Box<dyn Fn(&Error) -> bool>| {
        exchange_case(name, body(token), check)
    };
    let rule = |member, found, rule| -> Box<dyn Fn(&Error) -> bool> {
        Box::new(header_rule(member, found, rule))
    };
    let raw_header = |header: &[u8]| {
        use base64::Engine as _;
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header);
        format!("{header}.a2V5.aXY.Y2lwaGVydGV4dA.dGFn")
    };
    run_all(vec![
        case(
            "a JWS header in five segments (no enc)",
            jwe(json!({"alg": "ES256", "typ": "oauth-id-jag+jwt"}), "a2V5"),
            rule("enc", None, HeaderRule::AlgorithmMissing),
        ),
        case(
            "enc empty",
            jwe(json!({"alg": "RSA-OAEP-256", "enc": ""}), "a2V5"),
            rule("enc", Some(""), HeaderRule::AlgorithmEmpty),
        ),
        case(
            "enc none",
            jwe(json!({"alg": "RSA-OAEP-256", "enc": "none"}), "a2V5"),
            rule("enc", Some("none"), HeaderRule::Unsecured),
        ),
        case(
            "enc not a string",
            jwe(json!({"alg": "RSA-OAEP-256", "enc": ["A256GCM"]}), "a2V5"),
            rule("enc", None, HeaderRule::AlgorithmMissing),
        ),
        case(
            "alg none",
            jwe(json!({"alg": "none", "enc": "A256GCM"}), "a2V5"),
            rule("alg", Some("none"), HeaderRule::Unsecured),
        ),
        case(
            "alg NONE with direct-style empty key",
            jwe(json!({"alg": "NONE", "enc": "A256GCM"}), ""),
            rule("alg", Some("NONE"), HeaderRule::Unsecured),
        ),
        case(
            "alg empty",
            jwe(json!({"alg": "", "enc": "A256GCM"}), "a2V5"),
            rule("alg", Some(""), HeaderRule::AlgorithmEmpty),
        ),
        case(
            "alg with whitespace",
            jwe(json!({"alg": "dir ", "enc": "A256GCM"}), ""),
            rule("alg", Some("dir "), HeaderRule::AlgorithmNotPrintable),
        ),
        case(
            "alg missing",
            jwe(json!({"enc": "A256GCM"}), "a2V5"),
            rule("alg", None, HeaderRule::AlgorithmMissing),
        ),
        case(
            "typ of another kind of token",
            jwe(
                json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "typ": "at+jwt"}),
                "a2V5",
            ),
            rule("typ", Some("at+jwt"), HeaderRule::EncryptedType),
        ),
        case(
            "typ not a string",
            jwe(
                json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "typ": 1}),
                "a2V5",
            ),
            rule("typ", None, HeaderRule::EncryptedType),
        ),
        case(
            "cty of a plaintext that is not a JWT",
            jwe(
                json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "json"}),
                "a2V5",
            ),
            rule("cty", Some("json"), HeaderRule::NotNestedJwt),
        ),
        // RFC 7516 sections 5.1 and 5.2, RFC 7518 sections 4.5 and 4.6.
        case(
            "dir with an encrypted key",
            jwe(json!({"alg": "dir", "enc": "A256GCM"}), "a2V5"),
            rule("alg", Some("dir"), HeaderRule::EncryptedKeyNotEmpty),
        ),
        case(
            "ECDH-ES with an encrypted key",
            jwe(json!({"alg": "ECDH-ES", "enc": "A256GCM"}), "a2V5"),
            rule("alg", Some("ECDH-ES"), HeaderRule::EncryptedKeyNotEmpty),
        ),
        case(
            "key transport without an encrypted key",
            jwe(json!({"alg": "RSA-OAEP-256", "enc": "A256GCM"}), ""),
            rule("alg", Some("RSA-OAEP-256"), HeaderRule::EncryptedKeyEmpty),
        ),
        case(
            "key agreement with wrapping without an encrypted key",
            jwe(json!({"alg": "ECDH-ES+A256KW", "enc": "A256GCM"}), ""),
            rule("alg", Some("ECDH-ES+A256KW"), HeaderRule::EncryptedKeyEmpty),
        ),
        // Not a JSON object, or a member named twice (RFC 7519 section 4), as on the JWS path.
        case(
            "protected header not JSON",
            raw_header(b"not json"),
            Box::new(|e| matches!(exchange_violation(e), Some(Violation::NotAJwt))),
        ),
        case(
            "protected header a JSON array",
            raw_header(br#"["alg","enc"]"#),
            Box::new(|e| matches!(exchange_violation(e), Some(Violation::NotAJwt))),
        ),
        case(
            "enc named twice",
            raw_header(br#"{"alg":"RSA-OAEP-256","enc":"A256GCM","enc":"none"}"#),
            Box::new(
                |e| matches!(exchange_violation(e), Some(Violation::DuplicateField(f)) if f == "enc"),
            ),
        ),
        // RFC 7516 section 7.1: every segment is BASE64URL of octets.
        case(
            "an initialization vector that is not base64url",
            "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..a.Y2lwaGVydGV4dA.dGFn".to_owned(),
            Box::new(|e| matches!(exchange_violation(e), Some(Violation::NotAJwt))),
        ),
        case(
            "a tag that is not base64url",
            "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXY.Y2lwaGVydGV4dA.dGFnb".to_owned(),
            Box::new(|e| matches!(exchange_violation(e), Some(Violation::NotAJwt))),
        ),
    ]);
    // What a nested ID-JAG looks like passes (RFC 7519 section 5.2, decisions.md D11).
    for (header, key) in [
        (
            json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "JWT"}),
            "a2V5",
        ),
        (
            json!({"alg": "ECDH-ES", "enc": "A128CBC-HS256", "cty": "jwt", "typ": "JWT"}),
            "",
        ),
        (
            json!({"alg": "A256KW", "enc": "A256GCM", "typ": "oauth-id-jag+jwt", "cty": "application/JWT"}),
            "a2V5",
        ),
    ] {
        let token = jwe(header, key);
        let body = body(token.clone());
        let (auth, servers) = succeed(
            exchange_world(move || json_response(200, body.clone())),
            config(),
        );
        assert!(auth.id_jag.expect("kept").encrypted, "{token}");
        assert_eq!(
            servers
                .find("POST", AS_TOKEN)
                .and_then(|r| r.form_value("assertion")),
            Some(token.as_str())
        );
    }
}

#[test]
fn exchange_accepted_variants() {
    let ok = |name: &str, body: Value| {
        let (auth, servers) = succeed(
            exchange_world({
                let body = body.clone();
                move || json_response(200, body.clone())
            }),
            config(),
        );
        let assertion = servers
            .find("POST", AS_TOKEN)
            .unwrap_or_else(|| panic!("{name}: no jwt-bearer"))
            .form_value("assertion")
            .map(str::to_owned);
        assert_eq!(
            assertion.as_deref(),
            body["access_token"].as_str(),
            "{name}: the ID-JAG is sent unmodified"
        );
        auth
    };
    // decisions.md D12: N_A, case-insensitive.
    for token_type in ["N_A", "n_a", "N_a"] {
        ok(
            token_type,
            with(exchange_response(), "token_type", json!(token_type)),
        );
    }
    // decisions.md D10: typ with or without application/, any case.
    for typ in [
        "application/oauth-id-jag+jwt",
        "OAUTH-ID-JAG+JWT",
        "Application/OAuth-ID-JAG+JWT",
    ] {
        ok(
            typ,
            with(
                exchange_response(),
                "access_token",
                json!(jwt(json!({"alg": "ES256", "typ": typ}), id_jag_claims())),
            ),
        );
    }
    // decisions.md D10: one-element arrays.
    ok(
        "aud one-element array",
        exchange_with_claims(claims_with("aud", json!([AS]))),
    );
    ok(
        "resource one-element array",
        exchange_with_claims(claims_with("resource", json!([MCP]))),
    );
    // decisions.md D9: a decimal string.
    let auth = ok(
        "expires_in \"300\"",
        with(exchange_response(), "expires_in", json!("300")),
    );
    assert_eq!(
        auth.id_jag.expect("kept").expires_at,
        now() + Duration::from_secs(300)
    );
    // decisions.md D9: without expires_in, the ID-JAG's exp.
    let auth = ok("no expires_in", without(exchange_response(), "expires_in"));
    assert_eq!(
        auth.id_jag.expect("kept").expires_at,
        now() + Duration::from_secs(300)
    );
    // D8: a narrower scope is fine, and an absent one means the requested one.
    ok("no response scope", without(exchange_response(), "scope"));
}

#[test]
fn exchange_refresh_token_is_ignored_and_not_kept() {
    const IDP_RT: &str = "idp-refresh-token-must-not-be-kept";
    let body = with(exchange_response(), "refresh_token", json!(IDP_RT));
    let (auth, servers) = succeed(
        exchange_world(move || json_response(200, body.clone())),
        config(),
    );
    assert!(auth.idp_refresh_token.is_none());
    assert_eq!(
        auth.id_jag.as_ref().expect("kept").id_jag.expose_secret(),
        id_jag()
    );
    let discovery = serde_json::to_string(&auth.discovery).expect("serializes");
    assert!(!discovery.contains(IDP_RT));
    assert!(!format!("{auth:?}").contains(IDP_RT));
    let bearer = servers.find("POST", AS_TOKEN).expect("jwt-bearer");
    assert!(!request_contains(bearer, IDP_RT), "never sent on");
}

// ---------------------------------------------------------------------------------------------
// Token-exchange errors.

#[test]
fn exchange_errors() {
    let oauth = |code: ErrorCode, status: u16| {
        move |e: &Error| {
            matches!(e, Error::OAuth {
                purpose: Purpose::TokenExchange,
                status: s,
                error,
            } if *s == status && error.code == code)
        }
    };
    let reauth = |code: ErrorCode| {
        move |e: &Error| {
            matches!(e, Error::ReauthenticationRequired {
                purpose: Purpose::TokenExchange,
                status: 400,
                error,
            } if error.code == code)
        }
    };
    let error_world =
        |status: u16, code: &'static str| exchange_world(move || oauth_error(status, code));
    run_all(vec![
        Case::new(
            "invalid_grant",
            ("POST", IDP_TOKEN),
            error_world(400, "invalid_grant"),
            reauth(ErrorCode::InvalidGrant),
        ),
        Case::new(
            "insufficient_user_authentication with max_age",
            ("POST", IDP_TOKEN),
            exchange_world(|| {
                json_response(
                    400,
                    json!({
                        "error": "insufficient_user_authentication",
                        "error_description": "step up", "max_age": 300,
                    }),
                )
            }),
            |e| {
                matches!(e, Error::ReauthenticationRequired {
                purpose: Purpose::TokenExchange,
                status: 400,
                error,
            } if error.code == ErrorCode::InsufficientUserAuthentication && error.max_age == Some(300))
            },
        ),
        Case::new(
            "insufficient_user_authentication without max_age",
            ("POST", IDP_TOKEN),
            error_world(400, "insufficient_user_authentication"),
            reauth(ErrorCode::InsufficientUserAuthentication),
        ),
        Case::new(
            "invalid_target",
            ("POST", IDP_TOKEN),
            error_world(400, "invalid_target"),
            oauth(ErrorCode::InvalidTarget, 400),
        ),
        Case::new(
            "access_denied",
            ("POST", IDP_TOKEN),
            error_world(403, "access_denied"),
            oauth(ErrorCode::AccessDenied, 403),
        ),
        Case::new(
            "invalid_client",
            ("POST", IDP_TOKEN),
            error_world(401, "invalid_client"),
            oauth(ErrorCode::InvalidClient, 401),
        ),
        // decisions.md D17: a client bug, not re-authentication.
        Case::new(
            "invalid_request",
            ("POST", IDP_TOKEN),
            error_world(400, "invalid_request"),
            oauth(ErrorCode::InvalidRequest, 400),
        ),
        Case::new(
            "unsupported_grant_type",
            ("POST", IDP_TOKEN),
            error_world(400, "unsupported_grant_type"),
            oauth(ErrorCode::UnsupportedGrantType, 400),
        ),
        Case::new(
            "non-JSON 502",
            ("POST", IDP_TOKEN),
            exchange_world(|| raw_response(502, Some("text/html"), b"<html>Bad Gateway</html>")),
            |e| {
                matches!(e, Error::UnexpectedStatus {
                purpose: Purpose::TokenExchange,
                status: 502,
                body,
            } if body.contains("Bad Gateway"))
            },
        ),
        Case::new(
            "302",
            ("POST", IDP_TOKEN),
            exchange_world(|| redirect_to(302, "https://idp.example.com/login")),
            |e| {
                matches!(e, Error::Redirect {
                purpose: Purpose::TokenExchange,
                status: 302,
                location: Some(l),
            } if l == "https://idp.example.com/login")
            },
        ),
    ]);
    // decisions.md D16: fail closed.
    for (status, code) in [
        (400, "invalid_target"),
        (403, "access_denied"),
        (401, "invalid_client"),
    ] {
        let error = Case::new(code, ("POST", IDP_TOKEN), error_world(status, code), |_| {
            true
        })
        .run();
        assert!(error.is_fail_closed(), "{code}");
        assert_eq!(error.status(), Some(status));
    }
}

#[test]
fn expired_subject_token_is_never_sent() {
    for exp in [secs(now()) - 1, secs(now())] {
        let expired = jwt(
            json!({"alg": "ES256", "typ": "JWT"}),
            json!({"iss": IDP, "sub": "alice", "aud": IDP_CLIENT, "iat": exp - 3600, "exp": exp}),
        );
        let subject = expired.clone();
        let error = Case::new(
            "expired ID token",
            ("GET", AS_META),
            world,
            move |e| matches!(e, Error::SubjectTokenExpired { expired_at } if *expired_at == exp),
        )
        .before_any_token_request()
        .secret(Some(expired.clone()))
        .config(move || {
            let mut config = config();
            config.grant = xaa::GrantSource::Enterprise {
                idp: IdentityProvider::issuer(
                    IDP,
                    ClientCredentials::post(IDP_CLIENT, ClientSecret::new(IDP_SECRET)),
                ),
                subject: SubjectToken::IdToken(IdToken::new(subject.clone())),
            };
            config
        })
        .run();
        assert_eq!(error.purpose(), Some(Purpose::TokenExchange));
    }
}

// ---------------------------------------------------------------------------------------------
// The jwt-bearer response.

#[test]
fn jwt_bearer_rejections() {
    let body_case = |name: &str, body: Value, check: fn(&Error) -> bool| {
        let token = body["access_token"].as_str().map(str::to_owned);
        Case::new(
            name,
            ("POST", AS_TOKEN),
            bearer_world(move || json_response(200, body.clone())),
            check,
        )
        .secret(token)
    };
    run_all(vec![
        body_case(
            // A binding nobody asked for: no proof went with the request.
            "token_type DPoP",
            with(bearer_response(), "token_type", json!("DPoP")),
            |e| {
                matches!(
                    e,
                    Error::Dpop {
                        purpose: Some(Purpose::JwtBearer),
                        refusal: xaa::DpopRefusal::UnrequestedBinding,
                    }
                )
            },
        ),
        body_case(
            "token_type N_A",
            with(bearer_response(), "token_type", json!("N_A")),
            |e| matches!(bearer_violation(e), Some(Violation::TokenType(t)) if t == "N_A"),
        ),
        body_case(
            "token_type missing",
            without(bearer_response(), "token_type"),
            |e| {
                matches!(
                    bearer_violation(e),
                    Some(Violation::MissingField("token_type"))
                )
            },
        ),
        body_case(
            "access_token missing",
            without(bearer_response(), "access_token"),
            |e| {
                matches!(
                    bearer_violation(e),
                    Some(Violation::MissingField("access_token"))
                )
            },
        ),
        body_case(
            "access_token empty",
            with(bearer_response(), "access_token", json!("")),
            |e| {
                matches!(
                    bearer_violation(e),
                    Some(Violation::MissingField("access_token"))
                )
            },
        ),
        body_case(
            "scope widened",
            with(bearer_response(), "scope", json!("tools:read admin")),
            |e| matches!(bearer_violation(e), Some(Violation::ScopeWidened { extra }) if extra == "admin"),
        ),
        body_case(
            "expires_in negative",
            with(bearer_response(), "expires_in", json!(-1)),
            |e| {
                matches!(
                    bearer_violation(e),
                    Some(Violation::InvalidField {
                        field: "expires_in",
                        ..
                    })
                )
            },
        ),
        Case::new(
            "invalid_grant",
            ("POST", AS_TOKEN),
            bearer_world(|| oauth_error(400, "invalid_grant")),
            |e| {
                matches!(e, Error::OAuth {
                purpose: Purpose::JwtBearer,
                status: 400,
                error,
            } if error.code == ErrorCode::InvalidGrant)
            },
        ),
        Case::new(
            "401 invalid_client",
            ("POST", AS_TOKEN),
            bearer_world(|| {
                let mut response = oauth_error(401, "invalid_client");
                response.headers_mut().insert(
                    http::header::WWW_AUTHENTICATE,
                    http::HeaderValue::from_static(r#"Basic realm="as""#),
                );
                response
            }),
            |e| {
                matches!(e, Error::OAuth {
                purpose: Purpose::JwtBearer,
                status: 401,
                error,
            } if error.code == ErrorCode::InvalidClient)
            },
        ),
        Case::new(
            "redirect",
            ("POST", AS_TOKEN),
            bearer_world(|| redirect_to(303, "https://as.example.com/elsewhere")),
            |e| {
                matches!(
                    e,
                    Error::Redirect {
                        purpose: Purpose::JwtBearer,
                        status: 303,
                        ..
                    }
                )
            },
        ),
        Case::new(
            "non-JSON 500",
            ("POST", AS_TOKEN),
            bearer_world(|| raw_response(500, Some("text/plain"), b"oops")),
            |e| {
                matches!(
                    e,
                    Error::UnexpectedStatus {
                        purpose: Purpose::JwtBearer,
                        status: 500,
                        ..
                    }
                )
            },
        ),
    ]);
}

#[test]
fn jwt_bearer_accepted_variants() {
    let ok = |body: Value, config: EnterpriseConfig| {
        succeed(
            bearer_world(move || json_response(200, body.clone())),
            config,
        )
        .0
    };
    // Without expires_in: the policy default (decisions.md D9).
    let auth = ok(without(bearer_response(), "expires_in"), config());
    assert_eq!(
        auth.expires_at,
        now() + xaa::Policy::default().default_access_token_lifetime
    );
    // ... capped by its ceiling.
    let mut capped = config();
    capped.policy.default_access_token_lifetime = Duration::from_secs(7200);
    capped.policy.max_default_access_token_lifetime = Duration::from_secs(3600);
    let auth = ok(without(bearer_response(), "expires_in"), capped);
    assert_eq!(auth.expires_at, now() + Duration::from_secs(3600));
    // A lower-case scheme name (RFC 6750 is case-insensitive).
    let auth = ok(
        with(bearer_response(), "token_type", json!("bearer")),
        config(),
    );
    assert_eq!(auth.token_type, "bearer");
    // No scope: the requested one.
    let auth = ok(without(bearer_response(), "scope"), config());
    assert_eq!(auth.scope, Some(Scope::parse("tools:read")));
    // A refresh token from the MCP AS is ignored.
    let auth = ok(
        with(
            bearer_response(),
            "refresh_token",
            json!("as-refresh-token-xyz"),
        ),
        config(),
    );
    assert!(!format!("{auth:?}").contains("as-refresh-token-xyz"));
}

#[test]
fn speculative_resource_discovery_rejects_the_same() {
    // Policy::speculative_resource_metadata sends the path-inserted GET with the probe; its
    // answer may arrive before or after the probe's (both orders run), and must be judged by
    // the same rules.
    let speculative = || {
        let mut config = config();
        config.policy.speculative_resource_metadata = true;
        config
    };
    let pointer = "https://meta.example.net/prm/mcp";
    let cases = vec![
        Case::new(
            "pointer to the speculative URL, resource mismatch",
            ("GET", PRM_URL),
            prm_world(prm_with("resource", json!(EVIL_MCP))),
            |e| matches!(e, Error::ResourceMismatch { found, .. } if found == EVIL_MCP),
        ),
        Case::new(
            "no pointer, speculative 503",
            ("GET", PRM_URL),
            || {
                world()
                    .on("POST", MCP, |_| status(401))
                    .on("GET", PRM_URL, |_| status(503))
            },
            |e| {
                matches!(e, Error::DiscoveryFailed {
                purpose: Purpose::ResourceMetadata,
                attempts,
            } if attempt(attempts, &[(PRM_URL, "503")]))
            },
        ),
        Case::new(
            "no pointer, 404 everywhere",
            ("GET", PRM_ROOT),
            || {
                world()
                    .on("POST", MCP, |_| status(401))
                    .on("GET", PRM_URL, |_| status(404))
                    .on("GET", PRM_ROOT, |_| status(404))
            },
            |e| {
                matches!(e, Error::DiscoveryFailed {
                purpose: Purpose::ResourceMetadata,
                attempts,
            } if attempt(attempts, &[(PRM_URL, "404"), (PRM_ROOT, "404")]))
            },
        ),
        // The speculative answer is valid but not asked for: the pointer alone counts (D1).
        Case::new(
            "pointer elsewhere answers 404",
            ("GET", pointer),
            move || {
                world()
                    .on("POST", MCP, move |_| {
                        challenge(401, &format!(r#"Bearer resource_metadata="{pointer}""#))
                    })
                    .on("GET", pointer, |_| status(404))
            },
            move |e| {
                matches!(e, Error::DiscoveryFailed {
                purpose: Purpose::ResourceMetadata,
                attempts,
            } if attempt(attempts, &[(pointer, "404")]))
            },
        ),
        Case::new(
            "DPoP only",
            ("POST", MCP),
            || world().on("POST", MCP, |_| challenge(401, r#"DPoP algs="ES256""#)),
            |e| {
                matches!(
                    e,
                    Error::Unsupported {
                        purpose: Purpose::ResourceProbe,
                        what: Unsupported::ChallengeScheme(_),
                    }
                )
            },
        ),
        Case::new(
            "probe 500",
            ("POST", MCP),
            || world().on("POST", MCP, |_| status(500)),
            |e| {
                matches!(
                    e,
                    Error::UnexpectedStatus {
                        purpose: Purpose::ResourceProbe,
                        status: 500,
                        ..
                    }
                )
            },
        ),
    ];
    run_all(cases.into_iter().map(|c| c.config(speculative)).collect());
}

#[test]
fn duplicate_members_in_any_document_are_refused() {
    // A parser differential: the first and the last value could both be "the" value.
    let raw = |url: &'static str, body: String| {
        move || {
            let body = body.clone();
            world().on(
                if url == IDP_TOKEN || url == AS_TOKEN {
                    "POST"
                } else {
                    "GET"
                },
                url,
                move |_| raw_response(200, Some("application/json"), body.as_bytes()),
            )
        }
    };
    let duplicate = |purpose: Purpose, member: &'static str| {
        move |e: &Error| {
            matches!(e, Error::InvalidResponse { purpose: p, violation: Violation::DuplicateField(f) }
                if *p == purpose && f == member)
        }
    };
    let id_jag = id_jag();
    run_all(vec![
        Case::new(
            "AS metadata issuer twice",
            ("GET", AS_META),
            raw(
                AS_META,
                format!(r#"{{"issuer":"{AS}","token_endpoint":"{AS_TOKEN}","issuer":"{EVIL}"}}"#),
            ),
            duplicate(Purpose::AuthorizationServerMetadata, "issuer"),
        ),
        Case::new(
            "IdP metadata token_endpoint twice",
            ("GET", IDP_OIDC_META),
            raw(
                IDP_OIDC_META,
                format!(
                    r#"{{"issuer":"{IDP}","token_endpoint":"{IDP_TOKEN}","token_endpoint":"{EVIL}/token"}}"#
                ),
            ),
            duplicate(Purpose::IdpMetadata, "token_endpoint"),
        ),
        Case::new(
            "exchange issued_token_type twice",
            ("POST", IDP_TOKEN),
            raw(
                IDP_TOKEN,
                format!(
                    r#"{{"access_token":"{id_jag}","issued_token_type":"urn:ietf:params:oauth:token-type:id-jag","token_type":"N_A","issued_token_type":"urn:ietf:params:oauth:token-type:access_token"}}"#
                ),
            ),
            duplicate(Purpose::TokenExchange, "issued_token_type"),
        ),
        Case::new(
            "access token response access_token twice",
            ("POST", AS_TOKEN),
            raw(
                AS_TOKEN,
                format!(
                    r#"{{"access_token":"{ACCESS_TOKEN}","token_type":"Bearer","access_token":"other-token"}}"#
                ),
            ),
            duplicate(Purpose::JwtBearer, "access_token"),
        ),
    ]);
}

#[test]
fn exchange_direct_encryption_jwe_is_accepted() {
    // RFC 7516 section 7.1: with `dir`, the encrypted-key segment is empty.
    const JWE: &str = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXY.Y2lwaGVydGV4dA.dGFn";
    let body = with(exchange_response(), "access_token", json!(JWE));
    let (auth, _) = succeed(
        exchange_world(move || json_response(200, body.clone())),
        config(),
    );
    let issued = auth.id_jag.expect("kept");
    assert!(issued.encrypted);
    assert_eq!(issued.expires_at, now() + Duration::from_secs(300));
}

#[test]

fn id_jag_expiry_is_the_earlier_of_expires_in_and_exp() {
    // The IdP says the grant lives an hour; the ID-JAG itself expires in five minutes. Kept (and
    // re-submitted under decisions.md D13) past its exp, it can only be refused.
    let body = with(
        exchange_with_claims(claims_with("exp", json!(secs(now()) + 300))),
        "expires_in",
        json!(3600),
    );
    let (auth, _) = succeed(
        exchange_world(move || json_response(200, body.clone())),
        config(),
    );
    assert_eq!(
        auth.id_jag.expect("kept").expires_at,
        now() + Duration::from_secs(300)
    );
}
