//! `xaa token` against a testkit started by each test.

use std::time::SystemTime;

use xaa::jose::{AlgorithmAllowList, verify_jws};
use xaa_testkit::{AS_CLIENT_ID, ClientAuthMethod, IDP_CLIENT_ID, Options, Server, Testkit};

use crate::support::{EXIT_DENIED, Setup, Via, Xaa, kit};

use ClientAuthMethod::{ClientSecretBasic as Basic, ClientSecretPost as Post, None as Public};

/// The client credentials each token request presented: (server, method, client id).
fn presented(kit: &Testkit) -> Vec<(Server, ClientAuthMethod, String)> {
    kit.token_requests()
        .into_iter()
        .map(|request| {
            let credentials = request.credentials.expect("credentials were presented");
            (
                request.server,
                credentials.method,
                credentials.client_id.unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn each_client_authentication_method_on_each_side_with_secrets_from_files_and_variables() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let cases = [
        (Public, Public, Via::File, Via::File),
        (Public, Basic, Via::File, Via::File),
        (Public, Post, Via::Env, Via::Env),
        (Basic, Basic, Via::File, Via::Env),
        (Basic, Post, Via::Env, Via::File),
        (Post, Public, Via::File, Via::Env),
        (Post, Basic, Via::Env, Via::Env),
        (Post, Post, Via::File, Via::File),
    ];
    for (idp, as_, idp_via, as_via) in cases {
        kit.set_idp_client_auth(idp);
        kit.set_as_client_auth(as_);
        kit.clear_requests();
        let run = setup.token(idp_via, as_via).run().expect_code(0);
        setup.printed_token(&run);
        assert_eq!(
            presented(&kit),
            vec![
                (Server::Idp, idp, IDP_CLIENT_ID.to_owned()),
                (Server::AuthorizationServer, as_, AS_CLIENT_ID.to_owned()),
            ],
            "IdP {idp:?} via {idp_via:?}, AS {as_:?} via {as_via:?}"
        );
    }
}

#[test]
fn the_subject_token_from_a_file_a_variable_or_stdin() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let with_credentials = || setup.credentials(setup.bare(), Via::File, Via::Env);

    let run = setup.subject_file(with_credentials()).run().expect_code(0);
    setup.printed_token(&run);

    let run = with_credentials()
        .args(["--subject-token-env", "TEST_ID_TOKEN"])
        .env("TEST_ID_TOKEN", &setup.subject)
        .run()
        .expect_code(0);
    setup.printed_token(&run);

    let run = with_credentials()
        .args(["--subject-token-stdin"])
        .stdin(format!("{}\n", setup.subject))
        .run()
        .expect_code(0);
    setup.printed_token(&run);

    // Each time the IdP received that very ID token.
    let exchanged: Vec<String> = kit
        .token_requests()
        .iter()
        .filter(|request| request.server == Server::Idp)
        .map(|request| {
            request
                .param("subject_token")
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(exchanged, vec![setup.subject.clone(); 3]);
}

#[test]
fn plain_http_needs_insecure_loopback() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let command = |xaa: Xaa| setup.subject_file(setup.credentials(xaa, Via::File, Via::File));
    let without = command(
        Xaa::new(["token"])
            .args(["--server", kit.mcp_url()])
            .args(["--idp-issuer", kit.idp_issuer()])
            .args(["--idp-client-id", IDP_CLIENT_ID])
            .args(["--as-client-id", AS_CLIENT_ID])
            .secrets(setup.secrets.clone()),
    )
    .run();
    assert_ne!(without.code, 0, "{without}");
    assert!(without.stdout.is_empty(), "{without}");
    assert!(without.stderr.contains("https"), "{without}");
    assert!(
        kit.requests().is_empty(),
        "nothing may be sent over plain http"
    );

    let run = command(setup.bare()).run().expect_code(0);
    setup.printed_token(&run);
}

#[test]
fn json_output_has_the_token_and_what_it_is_for() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let run = setup
        .token(Via::File, Via::File)
        .args(["--json"])
        .run()
        .expect_code(0);
    let document = run.json();
    let token = document["access_token"].as_str().expect("access_token");
    assert!(kit.access_token_info(token).is_some(), "{document}");
    assert_eq!(document["token_type"], "Bearer");
    assert_eq!(document["scope"], "tools:read");
    assert_eq!(document["resource"], kit.mcp_url());
    assert_eq!(
        document["authorization_server"],
        kit.authorization_server_issuer()
    );
    let expires_at = document["expires_at"].as_str().expect("expires_at");
    assert!(
        expires_at.len() == 20 && expires_at.ends_with('Z') && expires_at.as_bytes()[10] == b'T',
        "RFC 3339 UTC: {expires_at}"
    );
    let expires_in = document["expires_in"].as_u64().expect("expires_in");
    assert!((3500..=3600).contains(&expires_in), "{expires_in}");
}

/// The precedence of `xaa token` settings: flags, then `XAA_*` variables, then `--config`.
#[test]
fn flags_win_over_the_environment_which_wins_over_the_config_file() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let subject_file = setup.dir.write("id-token", &setup.subject);
    let secret_file = setup.dir.write(
        "as-secret",
        kit.as_client().secret().expect("basic").expose_secret(),
    );
    // A TOML basic string; JSON's escapes of these characters are TOML's too.
    let toml_string = |value: &str| serde_json::Value::from(value).to_string();
    let config = setup.dir.write(
        "xaa.toml",
        format!(
            "server = {}\nidp_issuer = {}\nidp_client_id = {}\nidp_auth = \"none\"\n\
             as_client_id = {}\nas_auth = \"client_secret_basic\"\nas_secret_file = {}\n\
             subject_token_file = {}\ninsecure_loopback = true\nscope = \"tools:read\"\n",
            toml_string(kit.mcp_url()),
            toml_string(kit.idp_issuer()),
            toml_string(IDP_CLIENT_ID),
            toml_string(AS_CLIENT_ID),
            toml_string(&secret_file.to_string_lossy()),
            toml_string(&subject_file.to_string_lossy()),
        ),
    );
    let granted = |run: &crate::support::Run| {
        let token = setup.printed_token(run);
        kit.access_token_info(&token)
            .expect("issued")
            .scope
            .to_string()
    };
    let config_arg = || {
        Xaa::new(["token", "--config"])
            .args([config.clone()])
            .secrets(setup.secrets.clone())
    };

    // The file alone.
    let run = config_arg().run().expect_code(0);
    assert_eq!(granted(&run), "tools:read");
    // The same setting in all three places: the flag wins.
    let run = config_arg()
        .env("XAA_SCOPE", "tools:read tools:admin")
        .args(["--scope", "tools:admin"])
        .run()
        .expect_code(0);
    assert_eq!(granted(&run), "tools:admin");
    // The environment and the file: the environment wins.
    let run = config_arg()
        .env("XAA_SCOPE", "tools:read tools:admin")
        .run()
        .expect_code(0);
    assert_eq!(granted(&run), "tools:read tools:admin");
    // The config file itself named by a variable, a setting of it overridden by a variable.
    let run = Xaa::new(["token"])
        .env("XAA_CONFIG", &config.to_string_lossy())
        .env("XAA_SCOPE", "tools:admin")
        .secrets(setup.secrets.clone())
        .run()
        .expect_code(0);
    assert_eq!(granted(&run), "tools:admin");
    // A wrong value in the file is overridden: the variable names the right server.
    let wrong = setup.dir.write(
        "wrong.toml",
        std::fs::read_to_string(&config)
            .expect("config")
            .replace(kit.mcp_url(), "http://127.0.0.1:1/mcp"),
    );
    let run = Xaa::new(["token", "--config"])
        .args([wrong])
        .env("XAA_SERVER", kit.mcp_url())
        .secrets(setup.secrets.clone())
        .run()
        .expect_code(0);
    assert_eq!(granted(&run), "tools:read");
}

#[test]
fn the_token_store_reuses_a_valid_token_and_is_private() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let store = setup.dir.path().join("tokens.json");
    let command = || {
        setup.token(Via::File, Via::Env).args([
            std::ffi::OsString::from("--token-store"),
            store.clone().into(),
        ])
    };
    let first = command().run().expect_code(0);
    let token = setup.printed_token(&first);
    assert_eq!(kit.token_requests().len(), 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&store)
            .expect("the store exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the token store is mode {mode:o}");
    }

    kit.clear_requests();
    let second = command().run().expect_code(0);
    assert_eq!(setup.printed_token(&second), token, "{second}");
    assert!(
        kit.token_requests().is_empty(),
        "a stored valid token needs no token request: {:?}",
        kit.requests()
    );
    assert!(kit.requests().is_empty(), "nor any other request");
    assert!(second.stderr.contains("reusing a stored token"), "{second}");

    // Another scope is another token, from the stored discovery: only the two grants run.
    kit.clear_requests();
    let third = command()
        .args(["--scope", "tools:admin"])
        .run()
        .expect_code(0);
    assert_ne!(setup.printed_token(&third), token);
    assert_eq!(kit.token_requests().len(), 2);
    assert_eq!(kit.requests().len(), 2, "discovery came from the store");
}

/// A PKCS#8 PEM of a fresh P-256 key: a key the kit never registered.
fn unregistered_pem() -> String {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    use base64::Engine as _;
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .expect("a P-256 key");
    let base64 = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
    let lines: Vec<&str> = base64
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

/// The CLI's private_key_jwt path, end to end up to the server's key check: the assertion is
/// signed with the PEM key given and names the client; the kit, which registered another
/// key, refuses it with invalid_client (exit 3).
#[test]
fn private_key_jwt_signs_with_the_pem_key_file_on_each_side() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let pem = unregistered_pem();
    let key_file = setup.dir.write("client-key.pem", &pem);
    let public = xaa::jose::SigningKey::from_pem(pem.as_bytes(), "ES256", "test-kid")
        .expect("the PEM loads")
        .key_ring();
    for side in ["idp", "as"] {
        kit.reset();
        let (server, client_id) = if side == "idp" {
            kit.set_idp_client_auth(ClientAuthMethod::PrivateKeyJwt);
            (Server::Idp, IDP_CLIENT_ID)
        } else {
            kit.set_as_client_auth(ClientAuthMethod::PrivateKeyJwt);
            (Server::AuthorizationServer, AS_CLIENT_ID)
        };
        let xaa = setup.credentials(setup.bare(), Via::File, Via::File);
        let run = setup
            .subject_file(xaa)
            .args([format!("--{side}-key-file")])
            .args([key_file.clone()])
            .args([format!("--{side}-key-id"), "test-kid".to_owned()])
            .run()
            .expect_code(EXIT_DENIED);
        assert!(run.stderr.contains("invalid_client"), "{run}");
        assert!(run.stdout.is_empty(), "{run}");
        let request = kit
            .token_requests()
            .into_iter()
            .find(|request| request.server == server)
            .expect("a token request to that server");
        let credentials = request.credentials.clone().expect("credentials");
        assert_eq!(credentials.method, ClientAuthMethod::PrivateKeyJwt);
        assert_eq!(credentials.client_id.as_deref(), Some(client_id));
        let assertion = request.param("client_assertion").expect("client_assertion");
        verify_jws(assertion, &public, &AlgorithmAllowList::asymmetric())
            .expect("signed with the key of the PEM file");
        let peeked = xaa::jwt::peek(assertion).expect("a JWT");
        assert_eq!(peeked.header_str("kid"), Some("test-kid"));
        assert_eq!(peeked.claim_str("iss"), Some(client_id));
        assert_eq!(peeked.claim_str("sub"), Some(client_id));
        let exp = peeked.claim_time("exp").expect("exp");
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        assert!(exp > now, "the assertion is fresh");
    }
}

/// The full private_key_jwt success path on both sides, with the kit clients' own keys as PEM
/// files.
#[test]
fn private_key_jwt_with_the_kit_client_keys() {
    let kit = kit(Options::new()
        .idp_client_auth(ClientAuthMethod::PrivateKeyJwt)
        .as_client_auth(ClientAuthMethod::PrivateKeyJwt));
    let setup = Setup::new(&kit);
    let idp_key = kit
        .idp_client()
        .key()
        .expect("a private_key_jwt registration")
        .clone();
    let as_key = kit
        .as_client()
        .key()
        .expect("a private_key_jwt registration")
        .clone();
    let idp_file = setup.dir.write("idp-key.pem", idp_key.expose_private_pem());
    let as_file = setup.dir.write("as-key.pem", as_key.expose_private_pem());
    let kid = |key: &xaa::jose::SigningKey| key.public_jwk().kid.clone().expect("a kid");
    let xaa = setup
        .subject_file(setup.bare())
        .args(["--idp-key-file"])
        .args([idp_file])
        .args(["--as-key-file"])
        .args([as_file])
        .args([
            "--idp-key-id".to_owned(),
            kid(&idp_key),
            "--as-key-id".to_owned(),
            kid(&as_key),
        ])
        .secrets(vec![
            idp_key.expose_private_pem().to_owned(),
            as_key.expose_private_pem().to_owned(),
        ]);
    let run = xaa.run().expect_code(0);
    let token = run.stdout.trim();
    assert!(kit.access_token_info(token).is_some(), "{run}");
    for server in [Server::Idp, Server::AuthorizationServer] {
        let request = kit
            .token_requests()
            .into_iter()
            .find(|request| request.server == server)
            .expect("a token request to that server");
        let presented = request.credentials.expect("credentials presented");
        assert_eq!(presented.method_name(), "private_key_jwt");
    }
}
