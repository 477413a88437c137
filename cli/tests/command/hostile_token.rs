//! `xaa token` against hostile servers and hostile local input: each class of the command's
//! hardening, asserting the error, what was and was not sent, what was and was not printed or
//! stored, and the time taken. No test contacts a non-loopback address: names are resolved
//! by `--resolve`, and every refusal happens before a connection.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use xaa_testkit::{Endpoint, Fault, Options, Server, Testkit};

use crate::support::{
    EXIT_DENIED, EXIT_PROTOCOL, EXIT_REAUTHENTICATE, EXIT_USAGE, Run, Setup, Via, Xaa, kit,
    set_mode,
};

/// No request reached an authorization-server or IdP token endpoint: no credential, subject
/// token or ID-JAG was sent anywhere.
#[track_caller]
fn nothing_exchanged(kit: &Testkit, run: &Run) {
    assert!(
        kit.token_requests().is_empty(),
        "token requests were made: {:?}\n{run}",
        kit.token_requests()
    );
}

/// Nothing on stdout: no token was printed.
#[track_caller]
fn printed_nothing(run: &Run) {
    assert!(run.stdout.is_empty(), "stdout is not empty:\n{run}");
}

/// The raw bytes a terminal would act on.
fn has_raw_controls(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
    })
}

fn timed(xaa: Xaa) -> (Run, Duration) {
    let started = Instant::now();
    let run = xaa.run();
    (run, started.elapsed())
}

#[test]
fn a_document_naming_a_host_that_resolves_to_link_local_or_unspecified_is_never_contacted() {
    // The MCP server on a loopback literal: a private deployment, where private addresses are
    // the deployment's own. Link-local and unspecified addresses stay refused all the same.
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    kit.set_fault(
        Endpoint::ResourceMetadata,
        Fault::AuthorizationServers(vec!["https://meta.test/".into()]),
    );
    for (address, kind) in [
        ("169.254.169.254", "link-local"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("0.0.0.0", ""),
        ("::", ""),
    ] {
        for extra in [&[][..], &["--allow-private-addresses"][..]] {
            kit.clear_requests();
            let (run, took) = timed(
                setup
                    .token(Via::File, Via::File)
                    .args(["--resolve", &format!("meta.test={address}")])
                    .args(extra.iter().copied()),
            );
            let run = run.expect_code(EXIT_PROTOCOL);
            assert!(
                run.stderr.contains("meta.test") && run.stderr.contains(kind),
                "{address}: the refusal names the host and the kind of address:\n{run}"
            );
            nothing_exchanged(&kit, &run);
            printed_nothing(&run);
            assert!(took < Duration::from_secs(10), "{address}: took {took:?}");
        }
    }
}

#[test]
fn a_document_naming_a_host_on_a_private_address_is_refused_unless_listed() {
    // The MCP server on a name: not a private deployment, so a host a document names must
    // resolve to public addresses.
    let kit = kit(Options::new().host("localhost"));
    let setup = Setup::new(&kit);
    kit.set_fault(
        Endpoint::ResourceMetadata,
        Fault::AuthorizationServers(vec!["https://meta.test/".into()]),
    );
    for address in [
        "10.0.0.7",
        "::ffff:10.0.0.7",
        "fec0::7",
        "fd00::7",
        "100.64.0.7",
    ] {
        kit.clear_requests();
        let run = setup
            .token(Via::File, Via::File)
            .args(["--resolve", &format!("meta.test={address}")])
            .run()
            .expect_code(EXIT_PROTOCOL);
        assert!(
            run.stderr.contains("meta.test") && run.stderr.contains("private"),
            "{address}:\n{run}"
        );
        nothing_exchanged(&kit, &run);
        printed_nothing(&run);
    }
}

#[test]
fn ip_literals_of_link_local_and_unspecified_addresses_are_refused_in_a_private_deployment() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let port = kit
        .mcp_url()
        .rsplit(':')
        .next()
        .and_then(|rest| rest.split('/').next())
        .expect("the kit's port")
        .to_owned();
    for issuer in [
        format!("https://0.0.0.0:{port}"),
        format!("https://0:{port}"),
        "https://169.254.169.254".to_owned(),
        "https://[::ffff:169.254.169.254]".to_owned(),
        "https://[fe80::1]".to_owned(),
        "https://[::]".to_owned(),
    ] {
        kit.set_fault(
            Endpoint::ResourceMetadata,
            Fault::AuthorizationServers(vec![issuer.clone()]),
        );
        kit.clear_requests();
        let run = setup
            .token(Via::File, Via::File)
            .run()
            .expect_code(EXIT_PROTOCOL);
        assert!(
            run.stderr.contains("never allowed"),
            "{issuer}: refused as an address never connected to:\n{run}"
        );
        // 0.0.0.0 would reach the kit itself: it saw no request for its metadata.
        assert_eq!(
            kit.requests_to(Endpoint::AsMetadata).len(),
            0,
            "{issuer}:\n{run}"
        );
        nothing_exchanged(&kit, &run);
        printed_nothing(&run);
    }
}

#[test]
fn an_opaque_subject_token_is_its_own_user_and_tokens_are_never_shared() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let store = setup.dir.path().join("tokens.json");
    let refresh_tokens: Vec<(&str, String)> = ["alice", "bob"]
        .into_iter()
        .map(|user| (user, kit.idp_refresh_token(user).expose_secret().to_owned()))
        .collect();
    let run_as = |user: &str| {
        let refresh = refresh_tokens
            .iter()
            .find(|(name, _)| *name == user)
            .map(|(_, token)| token.clone())
            .expect("a refresh token for the user");
        let file = setup.dir.write(&format!("{user}-refresh"), &refresh);
        setup
            .credentials(setup.bare(), Via::File, Via::File)
            .args(["--subject-token-type", "refresh_token"])
            .args([OsString::from("--subject-token-file"), file.into()])
            .args([OsString::from("--token-store"), store.clone().into()])
            .secrets([refresh])
            .run()
            .expect_code(0)
    };
    let alice = run_as("alice");
    let alice_token = alice.stdout.trim().to_owned();
    kit.clear_requests();
    let bob = run_as("bob");
    let bob_token = bob.stdout.trim().to_owned();
    assert_ne!(alice_token, bob_token, "bob got alice's token:\n{bob}");
    assert_eq!(
        kit.token_requests().len(),
        2,
        "bob's run made its own exchange"
    );
    let info = kit
        .access_token_info(&bob_token)
        .expect("the kit issued it");
    assert_eq!(info.subject, "bob");
    // alice again: her stored token, without a request.
    kit.clear_requests();
    let again = run_as("alice");
    assert_eq!(again.stdout.trim(), alice_token);
    assert!(kit.token_requests().is_empty());
}

#[test]
fn an_id_token_claiming_someone_else_does_not_unlock_their_stored_token() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let store = setup.dir.path().join("tokens.json");
    let with_store = |xaa: Xaa| xaa.args([OsString::from("--token-store"), store.clone().into()]);
    let first = with_store(setup.token(Via::File, Via::File))
        .run()
        .expect_code(0);
    let alice_token = setup.printed_token(&first);
    // The same claims (alice's iss and sub), another signature: an unverified ID token.
    let (signed, _) = setup.subject.rsplit_once('.').expect("a JWS");
    let forged = format!("{signed}.{}", "A".repeat(86));
    let file = setup.dir.write("forged", &forged);
    kit.clear_requests();
    let run = with_store(setup.credentials(setup.bare(), Via::File, Via::File))
        .args([OsString::from("--subject-token-file"), file.into()])
        .secrets([forged.clone()])
        .run();
    assert_ne!(run.code, 0, "{run}");
    assert!(
        !run.stdout.contains(&alice_token) && !run.stderr.contains(&alice_token),
        "{run}"
    );
    printed_nothing(&run);
    assert_eq!(
        kit.token_requests().len(),
        1,
        "the forged token went to the IdP, which refused it"
    );
}

#[test]
fn a_stored_token_is_not_reused_under_stricter_settings_or_another_pinned_server() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let store = setup.dir.path().join("tokens.json");
    let with_store = |xaa: Xaa| xaa.args([OsString::from("--token-store"), store.clone().into()]);
    let first = with_store(
        setup
            .token(Via::File, Via::File)
            .args(["--authorization-server", kit.authorization_server_issuer()]),
    )
    .run()
    .expect_code(0);
    setup.printed_token(&first);

    // Without --insecure-loopback: plain http is refused, the stored token is not printed.
    kit.clear_requests();
    let args: Vec<OsString> = [
        "token",
        "--server",
        kit.mcp_url(),
        "--idp-issuer",
        kit.idp_issuer(),
        "--idp-client-id",
        xaa_testkit::IDP_CLIENT_ID,
        "--as-client-id",
        xaa_testkit::AS_CLIENT_ID,
        "--authorization-server",
        kit.authorization_server_issuer(),
    ]
    .map(OsString::from)
    .to_vec();
    let strict = setup.subject_file(setup.credentials(
        Xaa::new(args).secrets(setup.secrets.clone()),
        Via::File,
        Via::File,
    ));
    let run = with_store(strict).run().expect_code(EXIT_PROTOCOL);
    assert!(run.stderr.contains("https"), "{run}");
    printed_nothing(&run);
    nothing_exchanged(&kit, &run);

    // Another pinned authorization server: not the stored token.
    kit.clear_requests();
    let run = with_store(
        setup
            .token(Via::File, Via::File)
            .args(["--authorization-server", "https://other.example/"]),
    )
    .run();
    assert_ne!(run.code, 0, "{run}");
    printed_nothing(&run);
    nothing_exchanged(&kit, &run);
}

#[test]
fn an_access_token_that_is_not_a_b64token_is_neither_printed_nor_stored() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let store = setup.dir.path().join("tokens.json");
    for (index, text) in [
        "at-x\r\nX-Injected: 1",
        "at-\u{1b}[2Jx",
        "at x",
        "at-\u{202e}x",
        "",
    ]
    .into_iter()
    .enumerate()
    {
        kit.set_fault(Endpoint::AsToken, Fault::AccessToken(text.to_owned()));
        for json in [false, true] {
            let mut xaa = setup
                .token(Via::File, Via::File)
                .args([OsString::from("--token-store"), store.clone().into()]);
            if json {
                xaa = xaa.args(["--json"]);
            }
            let run = xaa.run();
            assert_eq!(run.code, EXIT_PROTOCOL, "case {index}:\n{run}");
            // An empty token is refused by the core already; the others by the command.
            assert!(
                text.is_empty() || run.stderr.contains("b64token"),
                "case {index}:\n{run}"
            );
            printed_nothing(&run);
            assert!(!has_raw_controls(&run.stderr), "case {index}:\n{run}");
            assert!(
                !store.exists()
                    || !std::fs::read_to_string(&store)
                        .expect("store")
                        .contains("at-"),
                "case {index}: the token was stored"
            );
        }
    }
}

#[test]
fn what_a_server_says_in_an_error_reaches_the_terminal_escaped() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let hostile = "bad\u{1b}]0;owned\u{7}\r\nxaa: forged line\u{202e}\u{9b}31m\u{7f}";
    // invalid_grant at the IdP: the subject token was refused (sign in again); at the
    // authorization server: the grant was denied.
    for (endpoint, code) in [
        (Endpoint::IdpToken, EXIT_REAUTHENTICATE),
        (Endpoint::AsToken, EXIT_DENIED),
    ] {
        kit.set_fault(endpoint, Fault::ErrorDescription(hostile.to_owned()));
        let run = setup.token(Via::File, Via::File).run().expect_code(code);
        assert!(run.stderr.contains("invalid_grant"), "{endpoint:?}:\n{run}");
        assert!(!has_raw_controls(&run.stderr), "{endpoint:?}:\n{run}");
        assert!(
            !run.stderr
                .lines()
                .any(|line| line.starts_with("xaa: forged")),
            "{endpoint:?}: a forged line:\n{run}"
        );
        kit.clear_faults();
    }
}

#[test]
fn numeric_options_out_of_range_are_refused_without_a_panic() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    for (flag, value) in [
        ("--timeout", "9223372036854775807"),
        ("--timeout", "0"),
        ("--timeout", "18446744073709551615"),
        ("--deadline", "0"),
        ("--deadline", "9223372036854775807"),
    ] {
        let run = setup
            .token(Via::File, Via::File)
            .args([flag, value])
            .run()
            .expect_code(EXIT_USAGE);
        assert!(run.stderr.contains(flag), "{flag} {value}:\n{run}");
        assert!(
            kit.requests().is_empty(),
            "{flag} {value}: requests were made"
        );
    }
}

#[test]
fn the_deadline_bounds_the_whole_run() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    // Each answer comes just under the per-request timeout; together they pass the deadline.
    for endpoint in [
        Endpoint::ResourceMetadata,
        Endpoint::AsMetadata,
        Endpoint::IdpMetadata,
        Endpoint::IdpToken,
        Endpoint::AsToken,
    ] {
        kit.set_delay(endpoint, Duration::from_millis(1500));
    }
    let (run, took) =
        timed(
            setup
                .token(Via::File, Via::File)
                .args(["--timeout", "2", "--deadline", "3"]),
        );
    let run = run.expect_code(EXIT_PROTOCOL);
    assert!(run.stderr.contains("deadline"), "{run}");
    printed_nothing(&run);
    assert!(
        took < Duration::from_millis(4500),
        "the run took {took:?}, past its 3 s deadline"
    );
}

#[test]
fn local_inputs_are_bounded_and_secrets_must_be_private() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);

    let (run, took) = timed(
        setup
            .credentials(setup.bare(), Via::File, Via::File)
            .args(["--subject-token-file", "/dev/zero"]),
    );
    let run = run.expect_code(EXIT_USAGE);
    assert!(run.stderr.contains("larger than"), "{run}");
    assert!(took < Duration::from_secs(10), "took {took:?}");

    let run = setup
        .credentials(setup.bare(), Via::File, Via::File)
        .args(["--subject-token-stdin"])
        .stdin(vec![b'a'; 2 * 1024 * 1024])
        .run()
        .expect_code(EXIT_USAGE);
    assert!(run.stderr.contains("more than"), "{run}");

    // A secret file readable by others is refused, like ssh refuses such a key.
    kit.set_idp_client_auth(xaa_testkit::ClientAuthMethod::ClientSecretPost);
    kit.set_as_client_auth(xaa_testkit::ClientAuthMethod::ClientSecretBasic);
    for name in ["idp-secret", "as-secret", "id-token"] {
        let xaa = setup.token(Via::File, Via::File);
        let path = setup.dir.path().join(name);
        set_mode(&path, 0o644);
        let run = xaa.run().expect_code(EXIT_USAGE);
        assert!(
            run.stderr.contains("chmod 600") && run.stderr.contains("0644"),
            "{name}:\n{run}"
        );
        assert!(kit.requests().is_empty(), "{name}: requests were made");
    }

    // A variable's name is never echoed: it may be the secret pasted in its place.
    let pasted = "s3cr3t-pasted-where-the-name-belongs";
    let run = setup
        .subject_file(setup.bare())
        .args([
            "--as-auth",
            "client_secret_basic",
            "--as-secret-env",
            pasted,
        ])
        .secrets([pasted])
        .run()
        .expect_code(EXIT_USAGE);
    assert!(run.stderr.contains("not set"), "{run}");
}

#[test]
fn the_idp_named_as_authorization_server_never_receives_the_authorization_server_secret() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    kit.set_fault(
        Endpoint::ResourceMetadata,
        Fault::AuthorizationServers(vec![kit.idp_issuer().to_owned()]),
    );
    let args: Vec<OsString> = [
        "token",
        "--insecure-loopback",
        "--server",
        kit.mcp_url(),
        "--idp-token-endpoint",
        kit.idp_token_endpoint(),
        "--idp-client-id",
        xaa_testkit::IDP_CLIENT_ID,
        "--as-client-id",
        xaa_testkit::AS_CLIENT_ID,
    ]
    .map(OsString::from)
    .to_vec();
    let run = setup
        .subject_file(setup.credentials(
            Xaa::new(args).secrets(setup.secrets.clone()),
            Via::File,
            Via::File,
        ))
        .run();
    assert_ne!(run.code, 0, "{run}");
    printed_nothing(&run);
    for request in kit.token_requests() {
        let client = request
            .credentials
            .and_then(|c| c.client_id)
            .unwrap_or_default();
        assert!(
            !(request.server == Server::Idp && client == xaa_testkit::AS_CLIENT_ID),
            "the authorization server's client authenticated at the IdP:\n{run}"
        );
    }
}

#[test]
fn discover_and_decode_keep_the_address_guard_on_whatever_the_flags() {
    // discover: a name resolving to the metadata service, with every switch that loosens
    // anything.
    for extra in [
        &[][..],
        &["--insecure-loopback", "--allow-private-addresses"][..],
    ] {
        let (run, took) = timed(
            Xaa::new(["discover", "https://mcp.test/mcp"])
                .args(["--resolve", "mcp.test=169.254.169.254"])
                .args(extra.iter().copied()),
        );
        assert_ne!(run.code, 0, "{run}");
        assert!(run.stdout.contains("link-local"), "{run}");
        assert!(took < Duration::from_secs(10), "took {took:?}");
    }
    // decode: --insecure-loopback allows plain http on loopback, and switches nothing else
    // off: a JWKS host on a private address is refused before any connection.
    let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
    for (url, resolve, expected) in [
        ("https://jwks.test/keys", "jwks.test=10.0.0.1", "private"),
        (
            "https://jwks.test/keys",
            "jwks.test=::ffff:169.254.169.254",
            "link-local",
        ),
        ("http://jwks.test/keys", "jwks.test=127.0.0.1", "https only"),
        ("https://0.0.0.0/keys", "unused.test=127.0.0.1", "never"),
    ] {
        let (run, took) = timed(
            Xaa::new(["decode", token, "--insecure-loopback", "--verify-jwks", url])
                .args(["--resolve", resolve]),
        );
        assert_ne!(run.code, 0, "{url}:\n{run}");
        assert!(run.stderr.contains(expected), "{url}:\n{run}");
        assert!(took < Duration::from_secs(10), "took {took:?}");
    }
}
