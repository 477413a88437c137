//! Each exit code of `xaa token`, produced by a real cause.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use xaa::jose::SigningKey;
use xaa::jose::sign_jwt;
use xaa_testkit::{Endpoint, Fault, IDP_CLIENT_ID, Options, Server};

use crate::support::{
    EXIT_DENIED, EXIT_PROTOCOL, EXIT_REAUTHENTICATE, EXIT_USAGE, Setup, Via, Xaa, kit,
};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

#[test]
fn exit_2_for_bad_usage() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);

    // No --server.
    let xaa = setup.subject_file(
        setup.credentials(
            Xaa::new(["token", "--insecure-loopback"])
                .args(["--idp-issuer", kit.idp_issuer()])
                .args(["--idp-client-id", IDP_CLIENT_ID])
                .args(["--as-client-id", xaa_testkit::AS_CLIENT_ID])
                .secrets(setup.secrets.clone()),
            Via::File,
            Via::File,
        ),
    );
    let run = xaa.run().expect_code(EXIT_USAGE);
    assert!(run.stderr.contains("missing --server"), "{run}");

    // The AS secret given both as a file and as a variable.
    let secret = kit
        .as_client()
        .secret()
        .expect("basic")
        .expose_secret()
        .to_owned();
    let file = setup.dir.write("as-secret", &secret);
    let run = setup
        .subject_file(setup.bare())
        .args(["--as-auth", "client_secret_basic"])
        .args([std::ffi::OsString::from("--as-secret-file"), file.into()])
        .args(["--as-secret-env", "TEST_AS_SECRET"])
        .env("TEST_AS_SECRET", &secret)
        .run()
        .expect_code(EXIT_USAGE);
    assert!(run.stderr.contains("give one source"), "{run}");

    // The subject token given twice.
    let run = setup
        .subject_file(setup.credentials(setup.bare(), Via::Env, Via::Env))
        .args(["--subject-token-stdin"])
        .stdin(setup.subject.clone())
        .run()
        .expect_code(EXIT_USAGE);
    assert!(run.stderr.contains("subject token"), "{run}");

    // A secret method with no secret.
    let run = setup
        .subject_file(setup.bare())
        .args(["--as-auth", "client_secret_post"])
        .run()
        .expect_code(EXIT_USAGE);
    assert!(run.stderr.contains("needs a secret"), "{run}");

    // Conflicting flags (clap's own usage error).
    let run = setup
        .token(Via::File, Via::File)
        .args(["--idp-token-endpoint", kit.idp_token_endpoint()])
        .run()
        .expect_code(EXIT_USAGE);
    assert!(run.stderr.contains("cannot be used with"), "{run}");

    assert!(kit.requests().is_empty(), "usage errors send nothing");
}

#[test]
fn exit_3_when_the_authorization_server_refuses_the_client_secret() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let wrong = "not-the-secret-0123456789";
    let run = setup
        .subject_file(setup.bare())
        .args([
            "--as-auth",
            "client_secret_basic",
            "--as-secret-env",
            "TEST_AS_SECRET",
        ])
        .env("TEST_AS_SECRET", wrong)
        .secrets([wrong])
        .run()
        .expect_code(EXIT_DENIED);
    assert!(run.stderr.contains("invalid_client"), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    let refused = kit
        .token_requests()
        .into_iter()
        .find(|request| request.server == Server::AuthorizationServer)
        .expect("the jwt-bearer request was sent");
    assert_eq!(refused.status, Some(http::StatusCode::UNAUTHORIZED));
}

/// An ID token that expired is refused before it is sent, whichever way it expired.
#[test]
fn exit_4_for_an_expired_id_token() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let run_with = |id_token: &str| {
        setup
            .credentials(setup.bare(), Via::File, Via::Env)
            .args(["--subject-token-env", "TEST_ID_TOKEN"])
            .env("TEST_ID_TOKEN", id_token)
            .secrets([id_token])
            .run()
            .expect_code(EXIT_REAUTHENTICATE)
    };

    // The knob: ID tokens minted with no lifetime at all.
    kit.set_id_token_lifetime(Duration::ZERO);
    let expired = kit.id_token("alice").expose_secret().to_owned();
    kit.set_id_token_lifetime(Duration::from_secs(3600));
    let run = run_with(&expired);
    assert!(run.stderr.contains("sign in"), "{run}");

    // One signed by the IdP's own key that expired an hour ago.
    let now = unix_now();
    let claims = json!({"iss": kit.idp_issuer(), "sub": "alice", "aud": IDP_CLIENT_ID,
        "iat": now - 7200, "exp": now - 3600, "jti": "expired-1"});
    let expired = sign_jwt(kit.idp_signing_key(), "JWT", &claims).expect("signed");
    run_with(&expired);

    assert!(
        kit.count(Server::Idp, "/token") == 0,
        "an expired ID token is never sent to the IdP"
    );
}

/// The IdP's own verdict: an ID token it cannot verify is `invalid_grant`, which means the user
/// must sign in again.
#[test]
fn exit_4_when_the_idp_refuses_the_id_token() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let now = unix_now();
    let claims = json!({"iss": kit.idp_issuer(), "sub": "alice", "aud": IDP_CLIENT_ID,
        "iat": now, "exp": now + 600, "jti": "forged-1"});
    let forger = SigningKey::generate_es256("xaa-testkit-idp-key").expect("a key");
    let forged = sign_jwt(&forger, "JWT", &claims).expect("signed");
    let run = setup
        .credentials(setup.bare(), Via::Env, Via::File)
        .args(["--subject-token-stdin"])
        .stdin(forged.clone())
        .secrets([forged])
        .run()
        .expect_code(EXIT_REAUTHENTICATE);
    assert!(run.stderr.contains("invalid_grant"), "{run}");
    assert_eq!(kit.count(Server::Idp, "/token"), 1);
}

#[test]
fn exit_5_when_the_authorization_server_lies_about_its_issuer() {
    let kit = kit(Options::new().fault(Endpoint::AsMetadata, Fault::WrongIssuer));
    let setup = Setup::new(&kit);
    let run = setup
        .token(Via::File, Via::File)
        .run()
        .expect_code(EXIT_PROTOCOL);
    assert!(run.stderr.contains("issuer"), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    assert_eq!(kit.count(Server::AuthorizationServer, "/token"), 0);
}

#[test]
fn exit_5_when_the_servers_are_down() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let command = setup.token(Via::File, Via::Env);
    // Keep the files, end the borrow of the kit, stop every server.
    let Setup { dir: _files, .. } = setup;
    kit.stop();
    let run = command.run().expect_code(EXIT_PROTOCOL);
    assert!(run.stdout.is_empty(), "{run}");
}
