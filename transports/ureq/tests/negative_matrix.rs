//! The negative matrix (SECURITY.md): hostile and broken servers, over real sockets, through the
//! blocking driver. Each case breaks one thing and asserts the typed error, which endpoints
//! were and were not contacted, and that nothing hung.

#[path = "../../tests-shared/loopback.rs"]
mod loopback;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use xaa::challenge::ChallengeError;
use xaa::grant::SubjectToken;
use xaa::jwt::HeaderRule;
use xaa::{
    Authorization, AuthorizationServer, ClientAuth, ClientCredentials, EnterpriseAuth,
    EnterpriseConfig, Error as FlowError, IdToken, Policy, PrivateKeyJwt, Purpose, SignerError,
    Start, Violation,
};
use xaa_testkit::{Endpoint, Fault, IdJagFault, Options, Testkit};
use xaa_ureq::{Client, Error};

/// What the client does in a case.
enum Act {
    /// The cold flow from the MCP server URL, with the kit's configuration.
    Cold,
    /// The cold flow with a changed configuration.
    ColdWith(fn(&Testkit, &mut EnterpriseConfig)),
    /// The cold flow, under the strict (https-only) policy.
    Strict,
    /// The cold flow from another server URL.
    StartAt(fn(&Testkit) -> String),
    /// The cold flow with a hostile loopback server beside the kit.
    Hostile(Hostile),
}

/// A hostile server's answers by request line (`POST /mcp`), given the kit and the server's
/// origin.
type Routes = fn(&Testkit, &str) -> Vec<(&'static str, Vec<u8>)>;

/// A hostile server on 127.0.0.1 beside the kit: fixed raw answers by request line, for what
/// the kit cannot be made to send (a malformed challenge, a broken ID-JAG header, a metadata
/// document that names the IdP's token endpoint).
struct Hostile {
    /// The answers.
    routes: Routes,
    /// Points the configuration at the server, given the kit and the server's origin.
    configure: fn(&Testkit, &str, &mut EnterpriseConfig),
    /// The flow starts at this path of the server; `None`: at the kit's MCP server.
    start: Option<&'static str>,
    /// The request lines the server may receive, each at most once; anything else fails.
    allowed: &'static [&'static str],
}

/// A running [`Hostile`] server: answers by request line (404 otherwise) and records every
/// request line it received. Stops when dropped.
struct HostileServer {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl HostileServer {
    fn start(kit: &Testkit, routes: Routes) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let routes = routes(kit, &format!("http://{addr}"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, stopped) = (Arc::clone(&received), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let request = loopback::read_request(&mut stream);
                let head = String::from_utf8_lossy(&request);
                let line = head.lines().next().unwrap_or_default();
                let line = line.rsplit_once(' ').map_or(line, |(l, _)| l).to_owned();
                let answer = routes.iter().find(|(route, _)| *route == line).map_or_else(
                    || loopback::response("404 Not Found", &[], b""),
                    |(_, answer)| answer.clone(),
                );
                // Logged before answering: the flow cannot end before its request is on record.
                log.lock().expect("log").push(line);
                let _ = stream.write_all(&answer);
            }
        });
        Self {
            addr,
            received,
            stop,
        }
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn received(&self) -> Vec<String> {
        self.received.lock().expect("log").clone()
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// A JSON answer.
fn json(status: &str, body: &serde_json::Value) -> Vec<u8> {
    loopback::response(
        status,
        &[("content-type", "application/json")],
        body.to_string().as_bytes(),
    )
}

/// A 401 whose `WWW-Authenticate` field is these bytes, as sent (obs-text included).
fn unauthorized(challenge: &[u8]) -> Vec<u8> {
    let mut out = b"HTTP/1.1 401 Unauthorized\r\nconnection: close\r\nwww-authenticate: ".to_vec();
    out.extend_from_slice(challenge);
    out.extend_from_slice(b"\r\ncontent-length: 0\r\n\r\n");
    out
}

/// An exchange answer holding `id_jag`, as the IdP's token endpoint would send it.
fn exchange_answer(id_jag: &str) -> Vec<u8> {
    json(
        "200 OK",
        &serde_json::json!({
            "access_token": id_jag,
            "issued_token_type": "urn:ietf:params:oauth:token-type:id-jag",
            "token_type": "N_A",
            "expires_in": 300,
        }),
    )
}

/// An ID-JAG for the kit with this JOSE header and signature segment: only the header (or the
/// signature) is wrong.
fn id_jag_with_header(kit: &Testkit, header: serde_json::Value, signature: &str) -> String {
    let now = unix_now();
    let claims = serde_json::json!({
        "iss": kit.idp_issuer(), "sub": "alice", "aud": kit.authorization_server_issuer(),
        "client_id": kit.as_client().client_id, "jti": "hostile", "iat": now, "exp": now + 300,
        "resource": kit.mcp_url(),
    });
    format!(
        "{}.{}.{signature}",
        xaa::jwt::encode_segment(&header),
        xaa::jwt::encode_segment(&claims)
    )
}

/// A compact JWE with this protected header and encrypted key; the rest is well-formed.
fn jwe(header: serde_json::Value, encrypted_key: &str) -> String {
    format!(
        "{}.{encrypted_key}.aXY.Y2lwaGVydGV4dA.dGFn",
        xaa::jwt::encode_segment(&header)
    )
}

/// The IdP known by a token endpoint on the hostile server, `POST /token`.
fn idp_token_at_hostile(_: &Testkit, origin: &str, config: &mut EnterpriseConfig) {
    if let xaa::GrantSource::Enterprise { idp, .. } = &mut config.grant {
        idp.endpoint = xaa::IdpEndpoint::TokenEndpoint(format!("{origin}/token"));
    }
}

fn unchanged(_: &Testkit, _: &str, _: &mut EnterpriseConfig) {}

/// A hostile IdP token endpoint answering an exchange with `id_jag`.
const HOSTILE_IDP_TOKEN: &[&str] = &["POST /token"];
/// A hostile MCP server answering the probe.
const HOSTILE_PROBE: &[&str] = &["POST /mcp"];

fn malformed_challenge(result: &Result<Authorization, Error>) -> bool {
    matches!(
        flow_error(result),
        Some(FlowError::InvalidResponse {
            purpose: Purpose::ResourceProbe,
            violation: Violation::MalformedChallenge(_),
        })
    )
}

/// Nothing reaches the kit's protected-resource metadata or either token endpoint.
const PROBE_ONLY: &[(Endpoint, usize)] = &[
    (Endpoint::ResourceMetadata, 0),
    (Endpoint::AsMetadata, 0),
    (Endpoint::IdpToken, 0),
    (Endpoint::AsToken, 0),
];

struct Case {
    name: &'static str,
    rule: &'static str,
    arrange: fn(&Testkit),
    act: Act,
    expect: fn(&Result<Authorization, Error>) -> bool,
    /// Endpoints and the most requests each may have received (0: never contacted).
    untouched: &'static [(Endpoint, usize)],
}

fn flow_error(result: &Result<Authorization, Error>) -> Option<&FlowError> {
    match result {
        Err(Error::Flow(error)) => Some(error),
        _ => None,
    }
}

fn id_jag_claim(result: &Result<Authorization, Error>, name: &str) -> bool {
    matches!(flow_error(result), Some(FlowError::InvalidResponse {
        purpose: Purpose::TokenExchange,
        violation: Violation::IdJagClaim { claim, .. },
    }) if *claim == name)
}

fn id_jag_header(result: &Result<Authorization, Error>, name: &str, broken: HeaderRule) -> bool {
    matches!(flow_error(result), Some(FlowError::InvalidResponse {
        purpose: Purpose::TokenExchange,
        violation: Violation::IdJagHeader { member, rule, .. },
    }) if *member == name && *rule == broken)
}

fn nothing(_: &Testkit) {}

const TOKENS: &[(Endpoint, usize)] = &[(Endpoint::IdpToken, 0), (Endpoint::AsToken, 0)];
const AS_TOKEN: &[(Endpoint, usize)] = &[(Endpoint::AsToken, 0)];

struct Signer;

impl xaa::AssertionSigner for Signer {
    fn algorithm(&self) -> &str {
        "ES256"
    }

    fn sign(&self, _: &xaa::ClientAssertionClaims) -> Result<xaa::Assertion, SignerError> {
        Err(SignerError(
            "the key is in a hardware token that is unplugged".into(),
        ))
    }
}

fn cases() -> Vec<Case> {
    vec![
        // protocol.md 6 rule 1: https everywhere.
        Case {
            name: "http under the strict policy",
            rule: "protocol.md 6.1 https only",
            arrange: nothing,
            act: Act::Strict,
            expect: |r| matches!(flow_error(r), Some(FlowError::InsecureUrl { .. })),
            untouched: &[
                (Endpoint::McpServer, 0),
                (Endpoint::ResourceMetadata, 0),
                (Endpoint::IdpMetadata, 0),
                (Endpoint::IdpToken, 0),
                (Endpoint::AsToken, 0),
            ],
        },
        // Rule 2: issuer identity.
        Case {
            name: "AS metadata with a foreign issuer",
            rule: "protocol.md 6.2, RFC 8414 3.3",
            arrange: |k| k.set_fault(Endpoint::AsMetadata, Fault::WrongIssuer),
            act: Act::Cold,
            expect: |r| {
                matches!(
                    flow_error(r),
                    Some(FlowError::IssuerMismatch {
                        purpose: Purpose::AuthorizationServerMetadata,
                        ..
                    })
                )
            },
            untouched: TOKENS,
        },
        Case {
            name: "IdP metadata with a foreign issuer",
            rule: "protocol.md 6.2, RFC 8414 3.3",
            arrange: |k| k.set_fault(Endpoint::IdpMetadata, Fault::WrongIssuer),
            act: Act::Cold,
            expect: |r| {
                matches!(
                    flow_error(r),
                    Some(FlowError::IssuerMismatch {
                        purpose: Purpose::IdpMetadata,
                        ..
                    })
                )
            },
            untouched: TOKENS,
        },
        // Rule 3: resource identity.
        Case {
            name: "PRM names another host's resource",
            rule: "protocol.md 6.3, RFC 9728 3.3",
            arrange: |k| k.set_fault(Endpoint::ResourceMetadata, Fault::ForeignResource),
            act: Act::Cold,
            expect: |r| matches!(flow_error(r), Some(FlowError::ResourceMismatch { .. })),
            untouched: &[
                (Endpoint::AsMetadata, 0),
                (Endpoint::IdpToken, 0),
                (Endpoint::AsToken, 0),
            ],
        },
        Case {
            name: "authorization_servers points where nobody runs",
            rule: "protocol.md 6.12",
            arrange: |k| {
                k.set_fault(
                    Endpoint::ResourceMetadata,
                    Fault::UnreachableAuthorizationServer,
                )
            },
            act: Act::Cold,
            expect: |r| matches!(r, Err(e) if e.is_transport() && e.purpose() == Some(Purpose::AuthorizationServerMetadata)),
            untouched: TOKENS,
        },
        // Rules 4 and 5: the ID-JAG is for this audience, resource and client, and well-formed.
        Case {
            name: "ID-JAG for another audience",
            rule: "protocol.md 6.4/6.5",
            arrange: |k| k.set_fault(Endpoint::IdpToken, Fault::IdJag(IdJagFault::WrongAudience)),
            act: Act::Cold,
            expect: |r| id_jag_claim(r, "aud"),
            untouched: AS_TOKEN,
        },
        Case {
            name: "ID-JAG for another resource",
            rule: "protocol.md 6.4/6.5",
            arrange: |k| k.set_fault(Endpoint::IdpToken, Fault::IdJag(IdJagFault::WrongResource)),
            act: Act::Cold,
            expect: |r| id_jag_claim(r, "resource"),
            untouched: AS_TOKEN,
        },
        Case {
            name: "ID-JAG for another client",
            rule: "protocol.md 6.4/6.5",
            arrange: |k| k.set_fault(Endpoint::IdpToken, Fault::IdJag(IdJagFault::WrongClientId)),
            act: Act::Cold,
            expect: |r| id_jag_claim(r, "client_id"),
            untouched: AS_TOKEN,
        },
        Case {
            name: "ID-JAG with the wrong typ",
            rule: "protocol.md 3.1, decisions.md D10",
            arrange: |k| k.set_fault(Endpoint::IdpToken, Fault::IdJag(IdJagFault::WrongTyp)),
            act: Act::Cold,
            expect: |r| id_jag_claim(r, "typ"),
            untouched: AS_TOKEN,
        },
        Case {
            name: "ID-JAG already expired",
            rule: "protocol.md 6.5",
            arrange: |k| k.set_fault(Endpoint::IdpToken, Fault::IdJag(IdJagFault::Expired)),
            act: Act::Cold,
            expect: |r| id_jag_claim(r, "exp"),
            untouched: AS_TOKEN,
        },
        Case {
            name: "ID-JAG with alg none",
            rule: "RFC 8725 3.1",
            arrange: |k| k.set_fault(Endpoint::IdpToken, Fault::IdJag(IdJagFault::AlgNone)),
            act: Act::Cold,
            expect: |r| id_jag_header(r, "alg", HeaderRule::Unsecured),
            untouched: AS_TOKEN,
        },
        Case {
            name: "exchange issues another token type",
            rule: "protocol.md 6.5, RFC 8693 2.2.1",
            arrange: |k| k.set_fault(Endpoint::IdpToken, Fault::WrongIssuedTokenType),
            act: Act::Cold,
            expect: |r| {
                matches!(
                    flow_error(r),
                    Some(FlowError::InvalidResponse {
                        violation: Violation::IssuedTokenType(_),
                        ..
                    })
                )
            },
            untouched: AS_TOKEN,
        },
        Case {
            name: "exchange says token_type Bearer",
            rule: "decisions.md D12",
            arrange: |k| k.set_fault(Endpoint::IdpToken, Fault::BearerTokenType),
            act: Act::Cold,
            expect: |r| {
                matches!(
                    flow_error(r),
                    Some(FlowError::InvalidResponse {
                        violation: Violation::TokenType(_),
                        ..
                    })
                )
            },
            untouched: AS_TOKEN,
        },
        // Rule 9: refresh tokens where none belong are ignored, never kept.
        Case {
            name: "refresh token in the exchange response",
            rule: "protocol.md 6.9",
            arrange: |k| k.set_fault(Endpoint::IdpToken, Fault::RefreshToken),
            act: Act::Cold,
            expect: |r| matches!(r, Ok(a) if a.idp_refresh_token.is_none()),
            untouched: &[],
        },
        Case {
            name: "refresh token in the access-token response",
            rule: "protocol.md 6.9",
            arrange: |k| k.set_fault(Endpoint::AsToken, Fault::RefreshToken),
            act: Act::Cold,
            expect: |r| r.is_ok(),
            untouched: &[],
        },
        // decisions.md D1, D2: which candidates, when to stop.
        Case {
            name: "pointer document not JSON: nothing else tried",
            rule: "decisions.md D1, D2",
            arrange: |k| k.set_fault(Endpoint::ResourceMetadata, Fault::NotJson),
            act: Act::Cold,
            expect: |r| matches!(flow_error(r), Some(FlowError::DiscoveryFailed { purpose: Purpose::ResourceMetadata, attempts }) if attempts.len() == 1),
            untouched: &[
                (Endpoint::AsMetadata, 0),
                (Endpoint::IdpToken, 0),
                (Endpoint::AsToken, 0),
            ],
        },
        Case {
            name: "AS metadata 500 ends discovery",
            rule: "decisions.md D2",
            arrange: |k| k.set_fault(Endpoint::AsMetadata, Fault::ServerError),
            act: Act::Cold,
            expect: |r| {
                matches!(
                    flow_error(r),
                    Some(FlowError::DiscoveryFailed {
                        purpose: Purpose::AuthorizationServerMetadata,
                        ..
                    })
                )
            },
            untouched: TOKENS,
        },
        Case {
            name: "AS metadata as text/html: next candidate, then none",
            rule: "decisions.md D2",
            arrange: |k| k.set_fault(Endpoint::AsMetadata, Fault::WrongContentType),
            act: Act::Cold,
            expect: |r| matches!(flow_error(r), Some(FlowError::DiscoveryFailed { purpose: Purpose::AuthorizationServerMetadata, attempts }) if attempts.len() == 2),
            untouched: TOKENS,
        },
        // decisions.md D4: redirects are never followed, credentials never follow them.
        Case {
            name: "redirect from the IdP token endpoint",
            rule: "decisions.md D4",
            arrange: |k| {
                let target = format!("{}/stolen", k.authorization_server_issuer());
                k.set_fault(Endpoint::IdpToken, Fault::Redirect(target));
            },
            act: Act::Cold,
            expect: |r| matches!(flow_error(r), Some(FlowError::Redirect { purpose: Purpose::TokenExchange, location: Some(l), .. }) if l.ends_with("/stolen")),
            untouched: AS_TOKEN,
        },
        Case {
            name: "redirect from the probe",
            rule: "decisions.md D4",
            arrange: |k| {
                k.set_fault(
                    Endpoint::McpServer,
                    Fault::Redirect("http://127.0.0.1:1/elsewhere".into()),
                )
            },
            act: Act::Cold,
            expect: |r| {
                matches!(
                    flow_error(r),
                    Some(FlowError::Redirect {
                        purpose: Purpose::ResourceProbe,
                        ..
                    })
                )
            },
            untouched: &[
                (Endpoint::ResourceMetadata, 0),
                (Endpoint::IdpToken, 0),
                (Endpoint::AsToken, 0),
            ],
        },
        // decisions.md D16: fail closed.
        Case {
            name: "invalid_client at the AS: no retry",
            rule: "decisions.md D16",
            arrange: nothing,
            act: Act::ColdWith(|k, c| {
                c.authorization_server.credentials = ClientCredentials::basic(
                    k.as_client().client_id,
                    xaa::ClientSecret::new("not-the-secret"),
                );
            }),
            expect: |r| matches!(flow_error(r), Some(FlowError::OAuth { purpose: Purpose::JwtBearer, status: 401, error }) if error.code == xaa::ErrorCode::InvalidClient),
            untouched: &[(Endpoint::AsToken, 1)],
        },
        // decisions.md D17: the subject token.
        Case {
            name: "expired ID token: nothing sent to the IdP",
            rule: "decisions.md D17",
            arrange: nothing,
            act: Act::ColdWith(|k, c| {
                k.set_id_token_lifetime(Duration::from_secs(0));
                let expired = k.id_token("alice");
                if let xaa::GrantSource::Enterprise { subject, .. } = &mut c.grant {
                    *subject = SubjectToken::IdToken(expired);
                }
            }),
            expect: |r| matches!(flow_error(r), Some(FlowError::SubjectTokenExpired { .. })),
            untouched: TOKENS,
        },
        Case {
            name: "ID token from another IdP: re-authentication",
            rule: "decisions.md D17",
            arrange: nothing,
            act: Act::ColdWith(|k, c| {
                let forged = {
                    let other = xaa::jose::SigningKey::generate_es256("idp-key").expect("key");
                    let claims = serde_json::json!({"iss": k.idp_issuer(), "sub": "alice", "aud": k.idp_client().client_id,
                        "iat": unix_now(), "exp": unix_now() + 600});
                    xaa::jose::sign_jwt(&other, "JWT", &claims).expect("sign")
                };
                if let xaa::GrantSource::Enterprise { subject, .. } = &mut c.grant {
                    *subject = SubjectToken::IdToken(IdToken::new(forged));
                }
            }),
            expect: |r| {
                matches!(
                    flow_error(r),
                    Some(FlowError::ReauthenticationRequired {
                        purpose: Purpose::TokenExchange,
                        ..
                    })
                )
            },
            untouched: &[(Endpoint::IdpToken, 1), (Endpoint::AsToken, 0)],
        },
        // Configuration refusals: trust modes and the one-domain rule.
        Case {
            name: "pinned AS not listed by the MCP server",
            rule: "design: pinned trust mode",
            arrange: |k| {
                k.set_fault(
                    Endpoint::ResourceMetadata,
                    Fault::UnreachableAuthorizationServer,
                )
            },
            act: Act::ColdWith(|k, c| {
                c.authorization_server = AuthorizationServer::pinned(
                    k.authorization_server_issuer(),
                    k.as_credentials(),
                );
            }),
            expect: |r| {
                matches!(
                    flow_error(r),
                    Some(FlowError::AuthorizationServerNotListed { .. })
                )
            },
            untouched: TOKENS,
        },
        Case {
            name: "IdP pinned as the AS",
            rule: "ID-JAG 9.3",
            arrange: nothing,
            act: Act::ColdWith(|k, c| {
                c.authorization_server =
                    AuthorizationServer::pinned(k.idp_issuer(), k.as_credentials());
            }),
            expect: |r| {
                matches!(
                    r,
                    Err(Error::Flow(FlowError::IdpIsAuthorizationServer { .. }))
                )
            },
            untouched: &[
                (Endpoint::McpServer, 0),
                (Endpoint::IdpMetadata, 0),
                (Endpoint::IdpToken, 0),
                (Endpoint::AsToken, 0),
            ],
        },
        Case {
            name: "client assertion signer fails: nothing sent",
            rule: "RFC 7523 2.2",
            arrange: |k| k.set_as_client_auth(xaa::server::ClientAuthMethod::PrivateKeyJwt),
            act: Act::ColdWith(|k, c| {
                c.authorization_server.credentials = ClientCredentials::new(
                    k.as_client().client_id,
                    ClientAuth::PrivateKeyJwt(PrivateKeyJwt::new(
                        Arc::new(Signer),
                        Arc::new(|| "jti".to_owned()),
                    )),
                );
            }),
            expect: |r| {
                matches!(
                    flow_error(r),
                    Some(FlowError::Signer {
                        purpose: Purpose::JwtBearer,
                        ..
                    })
                )
            },
            untouched: AS_TOKEN,
        },
        // RFC 7515 4.1.1, RFC 8725 3.1: a header that cannot belong to a signed JWS is never
        // forwarded, whatever spelling of `none` or emptiness it uses.
        Case {
            name: "ID-JAG with alg \" none\"",
            rule: "RFC 7515 4.1.1, RFC 8725 3.1",
            arrange: nothing,
            act: Act::Hostile(Hostile {
                routes: |k, _| {
                    let header = serde_json::json!({"alg": " none", "typ": "oauth-id-jag+jwt"});
                    vec![(
                        "POST /token",
                        exchange_answer(&id_jag_with_header(k, header, "c2ln")),
                    )]
                },
                configure: idp_token_at_hostile,
                start: None,
                allowed: HOSTILE_IDP_TOKEN,
            }),
            expect: |r| id_jag_header(r, "alg", HeaderRule::AlgorithmNotPrintable),
            untouched: TOKENS,
        },
        Case {
            name: "ID-JAG with an empty alg",
            rule: "RFC 7515 4.1.1",
            arrange: nothing,
            act: Act::Hostile(Hostile {
                routes: |k, _| {
                    let header = serde_json::json!({"alg": "", "typ": "oauth-id-jag+jwt"});
                    vec![(
                        "POST /token",
                        exchange_answer(&id_jag_with_header(k, header, "c2ln")),
                    )]
                },
                configure: idp_token_at_hostile,
                start: None,
                allowed: HOSTILE_IDP_TOKEN,
            }),
            expect: |r| id_jag_header(r, "alg", HeaderRule::AlgorithmEmpty),
            untouched: TOKENS,
        },
        Case {
            name: "ID-JAG with alg ES256 and no signature",
            rule: "RFC 7515 7.1, RFC 7519 6.1",
            arrange: nothing,
            act: Act::Hostile(Hostile {
                routes: |k, _| {
                    let header = serde_json::json!({"alg": "ES256", "typ": "oauth-id-jag+jwt"});
                    vec![(
                        "POST /token",
                        exchange_answer(&id_jag_with_header(k, header, "")),
                    )]
                },
                configure: idp_token_at_hostile,
                start: None,
                allowed: HOSTILE_IDP_TOKEN,
            }),
            expect: |r| id_jag_header(r, "alg", HeaderRule::MissingSignature),
            untouched: TOKENS,
        },
        // decisions.md D11 keeps an encrypted ID-JAG's claims opaque, not its structure.
        Case {
            name: "five segments with a JWS header",
            rule: "RFC 7516 4.1.2",
            arrange: nothing,
            act: Act::Hostile(Hostile {
                routes: |_, _| {
                    let header = serde_json::json!({"alg": "ES256", "typ": "oauth-id-jag+jwt"});
                    vec![("POST /token", exchange_answer(&jwe(header, "a2V5")))]
                },
                configure: idp_token_at_hostile,
                start: None,
                allowed: HOSTILE_IDP_TOKEN,
            }),
            expect: |r| id_jag_header(r, "enc", HeaderRule::AlgorithmMissing),
            untouched: TOKENS,
        },
        Case {
            name: "JWE with alg none",
            rule: "RFC 8725 3.1",
            arrange: nothing,
            act: Act::Hostile(Hostile {
                routes: |_, _| {
                    let header = serde_json::json!({"alg": "none", "enc": "A256GCM"});
                    vec![("POST /token", exchange_answer(&jwe(header, "")))]
                },
                configure: idp_token_at_hostile,
                start: None,
                allowed: HOSTILE_IDP_TOKEN,
            }),
            expect: |r| id_jag_header(r, "alg", HeaderRule::Unsecured),
            untouched: TOKENS,
        },
        Case {
            name: "JWE with alg dir and an encrypted key",
            rule: "RFC 7516 5.2, RFC 7518 4.5",
            arrange: nothing,
            act: Act::Hostile(Hostile {
                routes: |_, _| {
                    let header = serde_json::json!({"alg": "dir", "enc": "A256GCM", "cty": "JWT"});
                    vec![("POST /token", exchange_answer(&jwe(header, "a2V5")))]
                },
                configure: idp_token_at_hostile,
                start: None,
                allowed: HOSTILE_IDP_TOKEN,
            }),
            expect: |r| id_jag_header(r, "alg", HeaderRule::EncryptedKeyNotEmpty),
            untouched: TOKENS,
        },
        // RFC 9110 11.6.1: a challenge the parser refuses is named as such, and nothing else
        // is fetched from the MCP server.
        Case {
            name: "challenge naming realm twice",
            rule: "RFC 9110 11.2, 11.6.1",
            arrange: nothing,
            act: Act::Hostile(Hostile {
                routes: |_, origin| {
                    let challenge =
                        format!(r#"Bearer realm="a", resource_metadata="{origin}/prm", realm="b""#);
                    vec![("POST /mcp", unauthorized(challenge.as_bytes()))]
                },
                configure: unchanged,
                start: Some("/mcp"),
                allowed: HOSTILE_PROBE,
            }),
            expect: |r| {
                matches!(flow_error(r), Some(FlowError::InvalidResponse {
                    purpose: Purpose::ResourceProbe,
                    violation: Violation::MalformedChallenge(ChallengeError::DuplicateParam { name }),
                }) if name == "realm")
            },
            untouched: PROBE_ONLY,
        },
        Case {
            name: "challenge with a non-ASCII realm",
            rule: "RFC 9110 5.5, 11.6.1",
            arrange: nothing,
            act: Act::Hostile(Hostile {
                routes: |_, _| vec![("POST /mcp", unauthorized(b"Bearer realm=\"caf\xe9\""))],
                configure: unchanged,
                start: Some("/mcp"),
                allowed: HOSTILE_PROBE,
            }),
            expect: |r| {
                matches!(
                    flow_error(r),
                    Some(FlowError::InvalidResponse {
                        purpose: Purpose::ResourceProbe,
                        violation: Violation::MalformedChallenge(ChallengeError::NonAscii { .. }),
                    })
                )
            },
            untouched: PROBE_ONLY,
        },
        Case {
            name: "challenge list longer than the parser's bound",
            rule: "RFC 9110 11.6.1, bounded",
            arrange: nothing,
            act: Act::Hostile(Hostile {
                routes: |_, _| {
                    let many = vec!["Basic"; 64 + 1].join(", ");
                    vec![("POST /mcp", unauthorized(many.as_bytes()))]
                },
                configure: unchanged,
                start: Some("/mcp"),
                allowed: HOSTILE_PROBE,
            }),
            expect: malformed_challenge,
            untouched: PROBE_ONLY,
        },
        Case {
            name: "challenge field larger than the parser's bound",
            rule: "RFC 9110 11.6.1, bounded",
            arrange: nothing,
            act: Act::Hostile(Hostile {
                routes: |_, _| {
                    let huge = format!(r#"Bearer realm="{}""#, "a".repeat(16 * 1024));
                    vec![("POST /mcp", unauthorized(huge.as_bytes()))]
                },
                configure: unchanged,
                start: Some("/mcp"),
                allowed: HOSTILE_PROBE,
            }),
            expect: malformed_challenge,
            untouched: PROBE_ONLY,
        },
        // ID-JAG draft 9.3: the authorization server's credentials and the ID-JAG never reach
        // the IdP, however the IdP is configured.
        Case {
            name: "IdP by token endpoint, PRM lists the IdP as the AS",
            rule: "ID-JAG 9.3",
            arrange: nothing,
            act: Act::Hostile(Hostile {
                routes: |k, origin| {
                    let prm = serde_json::json!({
                        "resource": format!("{origin}/mcp"),
                        "authorization_servers": [k.idp_issuer()],
                    });
                    let challenge = format!(r#"Bearer resource_metadata="{origin}/prm""#);
                    vec![
                        ("POST /mcp", unauthorized(challenge.as_bytes())),
                        ("GET /prm", json("200 OK", &prm)),
                    ]
                },
                configure: |k, _, c| {
                    if let xaa::GrantSource::Enterprise { idp, .. } = &mut c.grant {
                        idp.endpoint =
                            xaa::IdpEndpoint::TokenEndpoint(k.idp_token_endpoint().to_owned());
                    }
                },
                start: Some("/mcp"),
                allowed: &["POST /mcp", "GET /prm"],
            }),
            expect: |r| {
                matches!(
                    flow_error(r),
                    Some(FlowError::AuthorizationServerIsIdp { .. })
                )
            },
            untouched: TOKENS,
        },
        Case {
            name: "AS metadata names the IdP's token endpoint",
            rule: "ID-JAG 9.3",
            arrange: nothing,
            act: Act::Hostile(Hostile {
                routes: |k, origin| {
                    let prm = serde_json::json!({
                        "resource": format!("{origin}/mcp"),
                        "authorization_servers": [origin],
                    });
                    let metadata = serde_json::json!({
                        "issuer": origin,
                        "token_endpoint": format!("{}/", k.idp_token_endpoint()),
                    });
                    let challenge = format!(r#"Bearer resource_metadata="{origin}/prm""#);
                    vec![
                        ("POST /mcp", unauthorized(challenge.as_bytes())),
                        ("GET /prm", json("200 OK", &prm)),
                        (
                            "GET /.well-known/oauth-authorization-server",
                            json("200 OK", &metadata),
                        ),
                    ]
                },
                configure: unchanged,
                start: Some("/mcp"),
                allowed: &[
                    "POST /mcp",
                    "GET /prm",
                    "GET /.well-known/oauth-authorization-server",
                ],
            }),
            expect: |r| {
                matches!(
                    flow_error(r),
                    Some(FlowError::AuthorizationServerIsIdp { .. })
                )
            },
            untouched: TOKENS,
        },
        // Transport faults: typed, bounded, nothing sent elsewhere.
        Case {
            name: "500 at the AS token endpoint",
            rule: "RFC 6749 5.2",
            arrange: |k| k.set_fault(Endpoint::AsToken, Fault::ServerError),
            act: Act::Cold,
            expect: |r| {
                matches!(
                    flow_error(r),
                    Some(FlowError::UnexpectedStatus {
                        purpose: Purpose::JwtBearer,
                        status: 500,
                        ..
                    })
                )
            },
            untouched: &[(Endpoint::AsToken, 1)],
        },
        Case {
            name: "token response not JSON",
            rule: "RFC 6749 5.1",
            arrange: |k| k.set_fault(Endpoint::AsToken, Fault::NotJson),
            act: Act::Cold,
            expect: |r| {
                matches!(
                    flow_error(r),
                    Some(FlowError::InvalidResponse {
                        purpose: Purpose::JwtBearer,
                        violation: Violation::NotJson
                    })
                )
            },
            untouched: &[],
        },
        Case {
            name: "body larger than the cap",
            rule: "Policy::max_body_bytes",
            arrange: |k| k.set_fault(Endpoint::AsMetadata, Fault::OversizedBody),
            act: Act::Cold,
            expect: |r| {
                matches!(
                    r,
                    Err(Error::BodyTooLarge {
                        purpose: Some(Purpose::AuthorizationServerMetadata),
                        ..
                    })
                )
            },
            untouched: TOKENS,
        },
        Case {
            name: "slow IdP past the timeout",
            rule: "no hang",
            arrange: |k| k.set_fault(Endpoint::IdpToken, Fault::Slow(Duration::from_secs(10))),
            act: Act::Cold,
            expect: |r| {
                matches!(
                    r,
                    Err(Error::Timeout {
                        purpose: Some(Purpose::TokenExchange),
                        ..
                    })
                )
            },
            untouched: AS_TOKEN,
        },
        Case {
            name: "connection closed mid-body",
            rule: "no truncated document accepted",
            arrange: |k| k.set_fault(Endpoint::ResourceMetadata, Fault::CloseMidBody),
            act: Act::Cold,
            expect: |r| matches!(r, Err(e) if e.is_transport() && e.purpose() == Some(Purpose::ResourceMetadata)),
            untouched: &[
                (Endpoint::AsMetadata, 0),
                (Endpoint::IdpToken, 0),
                (Endpoint::AsToken, 0),
            ],
        },
        Case {
            name: "MCP URL with credentials in it",
            rule: "no credentials in URLs",
            arrange: nothing,
            act: Act::StartAt(|k| k.mcp_url().replacen("http://", "http://user:secret@", 1)),
            expect: |r| {
                matches!(
                    r,
                    Err(Error::Flow(FlowError::InvalidUrl {
                        purpose: Purpose::ResourceProbe,
                        ..
                    }))
                )
            },
            untouched: &[(Endpoint::McpServer, 0), (Endpoint::IdpMetadata, 0)],
        },
    ]
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[test]
fn hostile_servers_get_typed_errors_and_nothing_leaks_onward() {
    let kit = Testkit::start(Options::new()).expect("testkit");
    let timeout = Duration::from_secs(2);
    let client = Client::builder()
        .timeout(timeout)
        .deny_private_addresses(false)
        .build()
        .expect("client");
    let cases = cases();
    assert!(cases.len() >= 30, "the matrix has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        kit.reset();
        kit.clear_requests();
        (case.arrange)(&kit);
        let mut config = kit.enterprise_config(SubjectToken::IdToken(kit.id_token("alice")));
        let mut server_url = kit.mcp_url().to_owned();
        match &case.act {
            Act::Cold => {}
            Act::ColdWith(change) => change(&kit, &mut config),
            Act::Strict => config.policy = Policy::default(),
            Act::StartAt(url) => server_url = url(&kit),
            Act::Hostile(_) => {}
        }
        let mut hostile = None;
        if let Act::Hostile(plan) = &case.act {
            let server = HostileServer::start(&kit, plan.routes);
            (plan.configure)(&kit, &server.origin(), &mut config);
            if let Some(path) = plan.start {
                server_url = format!("{}{path}", server.origin());
            }
            hostile = Some((server, plan.allowed));
        }
        let started = Instant::now();
        let result = EnterpriseAuth::new(config, Start::ServerUrl(server_url))
            .map_err(Error::Flow)
            .and_then(|flow| client.run(flow));
        let elapsed = started.elapsed();
        if let Some((server, allowed)) = hostile {
            let received = server.received();
            let unexpected: Vec<&String> = received
                .iter()
                .filter(|line| !allowed.contains(&line.as_str()))
                .collect();
            let repeated = allowed
                .iter()
                .any(|line| received.iter().filter(|r| r == line).count() > 1);
            if !unexpected.is_empty() || repeated {
                failures.push(format!(
                    "{}: the hostile server received {received:?}, only {allowed:?} once allowed",
                    case.name
                ));
            }
        }
        if !(case.expect)(&result) {
            failures.push(format!(
                "{} [{}]: unexpected {:?}",
                case.name,
                case.rule,
                result.as_ref().map(|_| "success")
            ));
            continue;
        }
        if elapsed > timeout + Duration::from_secs(3) {
            failures.push(format!("{}: took {elapsed:?}", case.name));
        }
        for (endpoint, most) in case.untouched {
            let reached = kit.requests_to(*endpoint).len();
            if reached > *most {
                failures.push(format!(
                    "{}: {endpoint:?} was contacted {reached} time(s), at most {most} allowed",
                    case.name
                ));
            }
        }
    }
    kit.stop();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
