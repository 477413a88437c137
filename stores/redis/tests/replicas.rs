//! Two MCP authorization-server replicas sharing the Redis replay store, against a real
//! redis-server: each is an `AuthorizationServerEndpoint` with the same configuration and
//! keys, running the replay step (`begin`, the checks against Redis, `finish`) over a
//! connection of its own. The replicas are driven directly with `http::Request`s: the sharing
//! happens in Redis, which an HTTP listener in front of each would not change.

mod harness;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use harness::RedisServer;
use http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use xaa::dpop::{DpopProofClaims, DpopSigner, EsDpopKey, JwkDpopVerifier};
use xaa::jose::{RandomJti, SigningKey, sign_jwt};
use xaa::server::{
    AccessTokenGrant, AccessTokenGranted, AuthorizationServerConfig, AuthorizationServerEndpoint,
    ClientRegistry, DpopError, DpopValidator, InMemoryReplayStore, IssueError, MintedAccessToken,
    RegisteredClient, RejectReason, Rejection, ServedResource, TokenFault, TrustedIssuer,
};
use xaa::{AccessToken, ClientSecret};
use xaa_redis::{KeyPrefix, ReconnectingConnection, RedisReplayStore, connection_manager};

const AS_ISSUER: &str = "https://as.example.com";
const TOKEN_ENDPOINT: &str = "https://as.example.com/token";
const IDP_ISSUER: &str = "https://idp.example.com";
const RESOURCE: &str = "https://mcp.example.com/mcp";
const CLIENT_ID: &str = "mcp-client";
const CLIENT_SECRET: &str = "mcp-secret";

fn idp_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate_es256("idp-key-1").expect("an ES256 key"))
}

fn proof_key() -> &'static EsDpopKey {
    static KEY: OnceLock<EsDpopKey> = OnceLock::new();
    KEY.get_or_init(|| EsDpopKey::generate().expect("a P-256 key"))
}

fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs()
}

/// A fresh ID-JAG for the default client, made now (Redis keeps entries by its own clock).
fn id_jag(jti: &str) -> String {
    let now = seconds(SystemTime::now());
    let Value::Object(claims) = json!({
        "iss": IDP_ISSUER, "sub": "alice", "aud": AS_ISSUER, "client_id": CLIENT_ID,
        "jti": jti, "iat": now, "exp": now + 300, "resource": RESOURCE, "scope": "read",
    }) else {
        unreachable!("an object literal")
    };
    sign_jwt(idp_key(), "oauth-id-jag+jwt", &claims).expect("signs")
}

/// A fresh DPoP proof for the token endpoint.
fn proof() -> String {
    DpopProofClaims::new(&Method::POST, TOKEN_ENDPOINT, &RandomJti, SystemTime::now())
        .expect("claims")
        .sign(proof_key())
        .expect("signs")
        .as_str()
        .to_owned()
}

/// The jwt-bearer request for `assertion` (base64url and dots: nothing to escape), with the
/// client's credentials in the body and, if given, a proof.
fn request(assertion: &str, dpop: Option<&str>) -> Request<Vec<u8>> {
    let body = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}\
         &client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
    );
    let mut builder =
        Request::post(TOKEN_ENDPOINT).header("content-type", "application/x-www-form-urlencoded");
    if let Some(proof) = dpop {
        builder = builder.header("dpop", proof);
    }
    builder.body(body.into_bytes()).expect("a request")
}

/// One replica: the endpoint every replica is configured alike with.
fn endpoint() -> AuthorizationServerEndpoint {
    let config = AuthorizationServerConfig::new(AS_ISSUER, TOKEN_ENDPOINT)
        .with_resource(ServedResource::new(RESOURCE));
    let clients = ClientRegistry::new().with(RegisteredClient::client_secret_post(
        CLIENT_ID,
        ClientSecret::new(CLIENT_SECRET),
    ));
    let issue = |grant: &AccessTokenGrant, _now| -> Result<MintedAccessToken, IssueError> {
        let token = format!("at-{}", grant.id_jag_jti);
        Ok(MintedAccessToken::new(AccessToken::new(token), 300))
    };
    // The validator's own store serves only `validate_proof`; the token endpoint hands the
    // proof's jti to the replay step.
    let validator = DpopValidator::new(
        Arc::new(JwkDpopVerifier),
        Arc::new(InMemoryReplayStore::default()),
    );
    AuthorizationServerEndpoint::new(config, clients, Arc::new(issue))
        .trust(TrustedIssuer::new(
            IDP_ISSUER,
            Arc::new(idp_key().key_ring()),
        ))
        .with_dpop(validator)
}

struct Replica {
    endpoint: AuthorizationServerEndpoint,
    replay: RedisReplayStore,
    redis: ReconnectingConnection,
}

impl Replica {
    fn new(server: &RedisServer) -> Self {
        Self {
            endpoint: endpoint(),
            replay: RedisReplayStore::new(KeyPrefix::new("as-fleet").expect("a valid prefix")),
            redis: server.connection(),
        }
    }

    /// The host's side of the replay step, blocking.
    fn process(
        &mut self,
        request: &Request<Vec<u8>>,
    ) -> Result<AccessTokenGranted, Box<Rejection>> {
        let pending = self.endpoint.begin(request, SystemTime::now())?;
        let verdicts = self.replay.check(&mut self.redis, pending.checks());
        self.endpoint.finish(pending, &verdicts)
    }
}

fn granted_token(outcome: Result<AccessTokenGranted, Box<Rejection>>) -> String {
    match outcome {
        Ok(granted) => granted.token.access_token.expose_secret().to_owned(),
        Err(rejection) => panic!("refused: {:?}", rejection.reason),
    }
}

/// The `error` the client is told.
fn error_code(rejection: &Rejection) -> String {
    let response = rejection.to_response();
    let body: Value = serde_json::from_slice(response.body()).expect("a JSON body");
    body["error"].as_str().expect("an error code").to_owned()
}

fn assert_unavailable(outcome: Result<AccessTokenGranted, Box<Rejection>>) {
    let rejection = outcome.expect_err("refused while Redis is down");
    assert_eq!(rejection.reason, RejectReason::ReplayStoreUnavailable);
    let response = rejection.to_response();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = serde_json::from_slice(response.body()).expect("a JSON body");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(
        body["error_description"],
        "the replay store could not answer: the token's jti could not be checked"
    );
}

#[test]
fn an_id_jag_accepted_by_one_replica_is_a_replay_at_the_other() {
    let Some(server) = RedisServer::start("an_id_jag_accepted_by_one_replica") else {
        return;
    };
    let (mut first, mut second) = (Replica::new(&server), Replica::new(&server));
    let assertion = id_jag("id-jag-1");
    assert_eq!(
        granted_token(first.process(&request(&assertion, None))),
        "at-id-jag-1"
    );
    let replayed = second
        .process(&request(&assertion, None))
        .expect_err("a replay");
    assert_eq!(
        replayed.reason,
        RejectReason::IdJag(TokenFault::Replayed {
            jti: "id-jag-1".into()
        })
    );
    assert_eq!(error_code(&replayed), "invalid_grant");
    let again = first
        .process(&request(&assertion, None))
        .expect_err("a replay at the first replica too");
    assert_eq!(again.reason, replayed.reason);
    assert_eq!(
        granted_token(second.process(&request(&id_jag("id-jag-2"), None))),
        "at-id-jag-2"
    );
}

#[test]
fn a_dpop_proof_accepted_by_one_replica_is_a_replay_at_the_other_and_burns_nothing_else() {
    let Some(server) = RedisServer::start("a_dpop_proof_accepted_by_one_replica") else {
        return;
    };
    let (mut first, mut second) = (Replica::new(&server), Replica::new(&server));
    let shared_proof = proof();
    let granted = first
        .process(&request(&id_jag("bound-1"), Some(&shared_proof)))
        .expect("granted");
    assert_eq!(granted.grant.dpop_jkt, Some(proof_key().jkt().to_string()));

    let unused_id_jag = id_jag("bound-2");
    let replayed = second
        .process(&request(&unused_id_jag, Some(&shared_proof)))
        .expect_err("the proof is a replay");
    assert_eq!(
        replayed.reason,
        RejectReason::DpopProof(DpopError::Replayed)
    );
    assert_eq!(error_code(&replayed), "invalid_dpop_proof");
    // The ID-JAG that came with the replayed proof was skipped, not used up.
    let granted = second
        .process(&request(&unused_id_jag, Some(&proof())))
        .expect("the ID-JAG is still unused");
    assert_eq!(granted.grant.id_jag_jti, "bound-2");
}

#[test]
fn with_redis_stopped_both_replicas_fail_closed_and_accept_again_after_a_restart() {
    let Some(mut server) = RedisServer::start("with_redis_stopped_both_replicas_fail_closed")
    else {
        return;
    };
    let (mut first, mut second) = (Replica::new(&server), Replica::new(&server));
    granted_token(first.process(&request(&id_jag("before"), None)));

    server.stop();
    let during = id_jag("during");
    assert_unavailable(first.process(&request(&during, None)));
    assert_unavailable(second.process(&request(&during, Some(&proof()))));
    assert_unavailable(second.process(&request(&id_jag("other"), None)));

    server.restart();
    // Nothing was registered while Redis was down: the same ID-JAG is accepted once.
    assert_eq!(
        granted_token(second.process(&request(&during, None))),
        "at-during"
    );
    assert!(first.process(&request(&during, None)).is_err());
    assert_eq!(
        granted_token(first.process(&request(&id_jag("after"), Some(&proof())))),
        "at-after"
    );
}

#[tokio::test]
async fn the_async_step_shares_the_store_with_the_blocking_one_and_fails_closed() {
    let Some(mut server) = RedisServer::start("the_async_step_shares_the_store") else {
        return;
    };
    let timeouts = xaa_redis::Timeouts {
        connect: Duration::from_secs(1),
        response: Duration::from_secs(2),
    };
    let mut redis = connection_manager(server.client(), timeouts)
        .await
        .expect("a connection manager");
    let endpoint = endpoint();
    let replay = RedisReplayStore::new(KeyPrefix::new("as-fleet").expect("a valid prefix"));
    let assertion = id_jag("async-1");
    let pending = endpoint
        .begin(&request(&assertion, None), SystemTime::now())
        .expect("every check but replay passes");
    let verdicts = replay.check_async(&mut redis, pending.checks()).await;
    let granted = endpoint.finish(pending, &verdicts).expect("granted");
    assert_eq!(granted.grant.id_jag_jti, "async-1");

    let mut blocking = Replica::new(&server);
    let replayed = blocking
        .process(&request(&assertion, None))
        .expect_err("a replay at the blocking replica");
    assert_eq!(error_code(&replayed), "invalid_grant");

    server.stop();
    let pending = endpoint
        .begin(&request(&id_jag("async-2"), None), SystemTime::now())
        .expect("every check but replay passes");
    let verdicts = replay.check_async(&mut redis, pending.checks()).await;
    assert_unavailable(endpoint.finish(pending, &verdicts));
}
