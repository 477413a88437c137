//! `xaa login`, then `token`, `status` and `logout`, against the kit's IdP, the test playing
//! the browser over plain HTTP on 127.0.0.1: it opens the URL the command prints, submits the
//! kit's sign-in form, and follows the redirect to the command's listener.

use std::net::TcpStream;
use std::time::Duration;

use xaa_testkit::{
    AuthorizationResponseFault, ClientAuthMethod, DeviceGrantFault, Endpoint, Fault, IDP_CLIENT_ID,
    IdTokenFault, Options,
};

use crate::login_support::{
    LoginRun, assert_no_secret, browser, browser_login, login_args, store_in, stored_secrets,
};
use crate::support::{
    EXIT_DENIED, EXIT_PROTOCOL, EXIT_REAUTHENTICATE, Setup, TempDir, Via, Xaa, kit, mode,
};

#[test]
fn login_in_the_browser_then_token_status_and_logout() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let store = store_in(&setup.dir);
    let args = login_args(&kit, &setup.dir, &store, &["--no-browser"]);
    let (login, page, code) = browser_login(&kit, &args, "alice");
    assert_eq!(login.code, 0, "{}", login.stderr);
    assert!(page.contains("You are signed in."), "{page}");
    assert_eq!(login.stdout, "", "nothing after the URL");
    assert!(
        login.stderr.contains("signed in as alice at "),
        "{}",
        login.stderr
    );
    assert_eq!(mode(&store), 0o600);
    let exchanges: Vec<_> = kit
        .sign_in_records()
        .into_iter()
        .filter(|record| record.grant_type.as_deref() == Some("authorization_code"))
        .map(|record| (record.user, record.pkce_verified, record.error))
        .collect();
    assert_eq!(
        exchanges,
        vec![(Some("alice".to_owned()), Some(true), None)]
    );
    let mut secrets = stored_secrets(&store);
    assert_eq!(secrets.len(), 2, "an ID token and a refresh token are kept");
    secrets.push(code);
    secrets.extend(setup.secrets.iter().cloned());
    assert_no_secret(&login.stderr, &secrets);
    assert_no_secret(&args.join(" "), &secrets);

    let token = setup
        .credentials(setup.bare(), Via::File, Via::File)
        .args(["--token-store".into(), store.clone().into_os_string()])
        .secrets(secrets.clone())
        .run()
        .expect_code(0);
    setup.printed_token(&token);

    let status = Xaa::new([
        "status".into(),
        "--token-store".into(),
        store.clone().into_os_string(),
    ])
    .secrets(secrets.clone())
    .run()
    .expect_code(0);
    assert!(status.stdout.starts_with("signed in as alice"), "{status}");
    assert!(
        status
            .stdout
            .contains(&format!("IdP: {}\n", kit.idp_issuer())),
        "{status}"
    );
    assert!(
        status
            .stdout
            .contains(&format!("client: {IDP_CLIENT_ID}\n")),
        "{status}"
    );
    assert!(
        status
            .stdout
            .contains(&format!("  {} from ", kit.mcp_url())),
        "{status}"
    );
    assert_no_secret(&status.stdout, &secrets);

    let logout = Xaa::new(["logout", "--insecure-loopback", "--token-store"])
        .args([store.clone().into_os_string()])
        .secrets(secrets.clone())
        .run()
        .expect_code(0);
    assert!(
        logout.stderr.contains("the refresh token is revoked"),
        "{logout}"
    );
    let after = Xaa::new([
        "status".into(),
        "--token-store".into(),
        store.into_os_string(),
    ])
    .run()
    .expect_code(0);
    assert_eq!(
        after.stdout,
        "not signed in (xaa login signs in)\naccess tokens: none\n"
    );
}

#[test]
fn a_refused_refresh_token_exits_4_with_the_login_command() {
    let kit = kit(Options::new());
    kit.set_id_token_lifetime(Duration::from_secs(30));
    let setup = Setup::new(&kit);
    let store = store_in(&setup.dir);
    let args = login_args(&kit, &setup.dir, &store, &["--no-browser"]);
    let (login, _, _) = browser_login(&kit, &args, "alice");
    assert_eq!(login.code, 0, "{}", login.stderr);
    let first = stored_secrets(&store);
    let token = || {
        setup
            .credentials(setup.bare(), Via::File, Via::File)
            .args(["--token-store".into(), store.clone().into_os_string()])
            .secrets(first.clone())
    };
    let renewed = token().run().expect_code(0);
    assert!(renewed.stderr.contains("renewing the session"), "{renewed}");
    let second = stored_secrets(&store);
    assert_ne!(
        first[1], second[1],
        "the refresh token was rotated and written back"
    );

    kit.revoke_sign_in_refresh_tokens();
    let refused = token()
        .secrets(second.clone())
        .run()
        .expect_code(EXIT_REAUTHENTICATE);
    let expected = format!(
        "sign in again with: xaa login --idp-issuer {} --client-id {IDP_CLIENT_ID}",
        kit.idp_issuer()
    );
    assert!(refused.stderr.contains(&expected), "{refused}");
    assert!(
        refused.stderr.contains(&format!(
            "--insecure-loopback --token-store {}",
            store.display()
        )),
        "{refused}"
    );
    let refreshes: Vec<_> = kit
        .sign_in_records()
        .into_iter()
        .filter(|record| record.grant_type.as_deref() == Some("refresh_token"))
        .map(|record| (record.refresh_generation, record.error))
        .collect();
    assert_eq!(
        refreshes,
        vec![(Some(0), None), (Some(1), Some("invalid_grant".to_owned()))],
        "the first refresh token, then its replacement, refused once revoked"
    );
}

#[test]
fn the_device_flow() {
    let kit = kit(Options::new());
    kit.set_device_poll_interval(Duration::from_secs(1));
    let dir = TempDir::new();
    let store = store_in(&dir);
    let mut run = LoginRun::start(&login_args(&kit, &dir, &store, &["--device"]));
    let told = run.stderr_until("enter the code ");
    let user_code = told
        .split("enter the code ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a user code")
        .to_owned();
    assert!(told.contains(kit.idp_device_verification_uri()), "{told}");
    let decided = browser::request(
        "POST",
        kit.idp_device_verification_uri(),
        Some(&browser::form(&[
            ("user_code", &user_code),
            ("user", "carol"),
            ("decision", "allow"),
        ])),
    );
    assert_eq!(decided.status, 200, "{}", decided.body);
    let finished = run.finish(&told);
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert!(
        finished.stderr.contains("signed in as carol"),
        "{}",
        finished.stderr
    );
    assert_no_secret(&finished.stderr, &stored_secrets(&store));
}

#[test]
fn a_callback_with_a_wrong_state_stores_nothing() {
    let kit = kit(Options::new());
    kit.set_fault(
        Endpoint::IdpSignIn,
        Fault::AuthorizationResponse(AuthorizationResponseFault::WrongState),
    );
    let dir = TempDir::new();
    let store = store_in(&dir);
    let args = login_args(&kit, &dir, &store, &["--no-browser"]);
    let (login, page, _) = browser_login(&kit, &args, "alice");
    assert_eq!(login.code, EXIT_DENIED, "{}", login.stderr);
    assert!(page.contains("Sign-in failed"), "{page}");
    assert!(login.stderr.contains("state"), "{}", login.stderr);
    assert!(!store.exists(), "nothing stored");
}

#[test]
fn a_callback_after_the_deadline_finds_no_listener() {
    let kit = kit(Options::new());
    let dir = TempDir::new();
    let store = store_in(&dir);
    let mut run = LoginRun::start(&login_args(
        &kit,
        &dir,
        &store,
        &["--no-browser", "--deadline", "2"],
    ));
    let url = run.first_line();
    let finished = run.finish("");
    assert_eq!(finished.code, EXIT_PROTOCOL, "{}", finished.stderr);
    assert!(
        finished.stderr.contains("before the deadline"),
        "{}",
        finished.stderr
    );
    let redirect_uri = url::Url::parse(&url)
        .expect("URL")
        .query_pairs()
        .find(|(name, _)| name == "redirect_uri")
        .map(|(_, value)| value.into_owned())
        .expect("a redirect_uri");
    let port = url::Url::parse(&redirect_uri)
        .expect("URL")
        .port()
        .expect("port");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nobody listens any more"
    );
    assert!(!store.exists(), "nothing stored");
}

#[test]
fn an_id_token_with_a_wrong_nonce_is_refused_and_the_browser_told() {
    let kit = kit(Options::new());
    kit.set_fault(Endpoint::IdpToken, Fault::IdToken(IdTokenFault::WrongNonce));
    let dir = TempDir::new();
    let store = store_in(&dir);
    let args = login_args(&kit, &dir, &store, &["--no-browser"]);
    let (login, page, code) = browser_login(&kit, &args, "alice");
    assert_eq!(login.code, EXIT_PROTOCOL, "{}", login.stderr);
    assert!(login.stderr.contains("nonce"), "{}", login.stderr);
    assert!(page.contains("Sign-in failed"), "{page}");
    assert!(!store.exists(), "nothing stored");
    assert_no_secret(&format!("{}{}", login.stderr, page), &[code]);
}

#[test]
fn a_device_sign_in_refused_at_the_idp_exits_3_and_stores_nothing() {
    let kit = kit(Options::new());
    kit.set_device_poll_interval(Duration::from_secs(1));
    kit.set_fault(
        Endpoint::IdpToken,
        Fault::DeviceGrant(DeviceGrantFault::Denied),
    );
    let dir = TempDir::new();
    let store = store_in(&dir);
    let run = LoginRun::start(&login_args(&kit, &dir, &store, &["--device"]));
    let finished = run.finish("");
    assert_eq!(finished.code, EXIT_DENIED, "{}", finished.stderr);
    assert!(
        finished.stderr.contains("access_denied"),
        "{}",
        finished.stderr
    );
    assert!(!store.exists(), "nothing stored");
}

/// A confidential client with a private key (private_key_jwt, RFC 7523 section 2.2) signs in,
/// and the session it keeps renews with the same authentication, without naming the key again.
#[test]
fn a_client_with_a_private_key_signs_in_and_renews() {
    let kit = kit(Options::new());
    kit.set_idp_client_auth(ClientAuthMethod::PrivateKeyJwt);
    kit.set_id_token_lifetime(Duration::from_secs(30));
    let setup = Setup::new(&kit);
    let store = store_in(&setup.dir);
    let args = login_args(&kit, &setup.dir, &store, &["--no-browser"]);
    assert!(args.iter().any(|a| a == "--client-key-file"), "{args:?}");
    let (login, page, _) = browser_login(&kit, &args, "alice");
    assert_eq!(login.code, 0, "{}", login.stderr);
    assert!(page.contains("You are signed in."), "{page}");
    let secrets = stored_secrets(&store);
    // The exchange's own client at the IdP is the same one, with the same key.
    let key = kit.idp_client().key().cloned().expect("a key registered");
    let key_file = setup
        .dir
        .write("exchange-key.pem", key.expose_private_pem());
    let kid = key.public_jwk().kid.clone().expect("a kid");
    let renewed = setup
        .credentials(setup.bare(), Via::File, Via::File)
        .args([
            "--token-store".into(),
            store.clone().into_os_string(),
            "--idp-key-file".into(),
            key_file.into_os_string(),
            "--idp-key-id".into(),
            kid.into(),
        ])
        .secrets(secrets)
        .run()
        .expect_code(0);
    setup.printed_token(&renewed);
    let grants: Vec<_> = kit
        .sign_in_records()
        .into_iter()
        .filter(|record| record.grant_type.is_some())
        .map(|record| {
            (
                record.grant_type.unwrap_or_default(),
                record.client_id,
                record.error,
            )
        })
        .collect();
    let authenticated = |grant: &str| (grant.to_owned(), Some(IDP_CLIENT_ID.to_owned()), None);
    assert_eq!(
        grants,
        vec![
            authenticated("authorization_code"),
            authenticated("refresh_token")
        ],
        "both grants authenticated with the client's key"
    );
}

/// The IdP asks for a more recent authentication at the exchange (RFC 9470 section 3): exit 4
/// and the exact `xaa login` command that satisfies it, `--max-age` included when the IdP
/// named one.
#[test]
fn insufficient_user_authentication_exits_4_with_the_login_command_and_max_age() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let store = store_in(&setup.dir);
    let args = login_args(&kit, &setup.dir, &store, &["--no-browser"]);
    let (login, _, _) = browser_login(&kit, &args, "alice");
    assert_eq!(login.code, 0, "{}", login.stderr);
    let secrets = stored_secrets(&store);
    let expected = format!(
        "sign in again with: xaa login --idp-issuer {} --client-id {IDP_CLIENT_ID}",
        kit.idp_issuer()
    );
    for (max_age, suffix) in [(Some(300), " --max-age 300"), (None, "")] {
        kit.set_fault(
            Endpoint::IdpToken,
            Fault::InsufficientUserAuthentication(max_age),
        );
        let refused = setup
            .credentials(setup.bare(), Via::File, Via::File)
            .args(["--token-store".into(), store.clone().into_os_string()])
            .secrets(secrets.clone())
            .run()
            .expect_code(EXIT_REAUTHENTICATE);
        let line = refused
            .stderr
            .lines()
            .find(|line| line.contains("sign in again with:"))
            .unwrap_or_else(|| panic!("no login command: {refused}"));
        assert!(line.contains(&expected), "{line}");
        assert!(
            line.contains(&format!("--token-store {}{suffix};", store.display())),
            "{max_age:?}: {line}"
        );
    }
}
