//! `xaa login`, then `token`, `status` and `logout`, against the kit's IdP, the test playing
//! the browser over plain HTTP on 127.0.0.1: it opens the URL the command prints, submits the
//! kit's sign-in form, and follows the redirect to the command's listener.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use xaa_testkit::{
    AuthorizationResponseFault, DeviceGrantFault, Endpoint, Fault, IDP_CLIENT_ID, IdTokenFault,
    Options, Testkit,
};

use crate::support::{
    EXIT_DENIED, EXIT_PROTOCOL, EXIT_REAUTHENTICATE, Setup, TempDir, Via, Xaa, kit, mode,
};

/// A minimal browser: one HTTP/1.1 request per connection, the whole answer read.
mod browser {
    use super::*;

    /// An answer: status, the `Location` header, the body.
    pub struct Answer {
        pub status: u16,
        pub location: Option<String>,
        pub body: String,
    }

    /// Sends `method` `url` (http only) with an optional form body.
    pub fn request(method: &str, url: &str, form: Option<&str>) -> Answer {
        let parsed = url::Url::parse(url).expect("an absolute URL");
        assert_eq!(parsed.scheme(), "http");
        let host = parsed.host_str().expect("a host");
        let port = parsed.port().unwrap_or(80);
        let mut target = parsed.path().to_owned();
        if let Some(query) = parsed.query() {
            target = format!("{target}?{query}");
        }
        let mut stream = TcpStream::connect((host, port)).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let body = form.unwrap_or_default();
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\
             Content-Length: {}\r\n",
            body.len()
        );
        if form.is_some() {
            head.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("sends");
        stream.write_all(body.as_bytes()).expect("sends");
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").expect("a whole answer");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("a status");
        let location = head.split("\r\n").find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("location")
                .then(|| value.trim().to_owned())
        });
        Answer {
            status,
            location,
            body: body.to_owned(),
        }
    }

    /// The value of the hidden input `name` of a page.
    pub fn hidden(page: &str, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = page.find(&marker).expect("the hidden input") + marker.len();
        let end = start + page[start..].find('"').expect("the closing quote");
        page[start..end].to_owned()
    }

    /// `application/x-www-form-urlencoded` of `pairs`.
    pub fn form(pairs: &[(&str, &str)]) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    }
}

/// A running `xaa login`, its stdout and stderr read as they come.
struct LoginRun {
    child: Child,
    stdout: BufReader<std::process::ChildStdout>,
    stderr: BufReader<std::process::ChildStderr>,
}

/// What a finished run printed.
struct Finished {
    code: i32,
    stdout: String,
    stderr: String,
}

impl LoginRun {
    fn start(args: &[String]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xaa"));
        command.arg("login").args(args);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("XAA_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("xaa starts");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let stderr = BufReader::new(child.stderr.take().expect("stderr"));
        Self {
            child,
            stdout,
            stderr,
        }
    }

    /// The first line of stdout, without its newline.
    fn first_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("reads stdout");
        line.trim_end_matches('\n').to_owned()
    }

    /// The stderr lines up to the first holding `marker`, that one included.
    fn stderr_until(&mut self, marker: &str) -> String {
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            let read = self.stderr.read_line(&mut line).expect("reads stderr");
            assert!(read > 0, "stderr ended before {marker:?}:\n{seen}");
            seen.push_str(&line);
            if line.contains(marker) {
                return seen;
            }
        }
    }

    /// Waits for the end (at most a minute) and collects the rest of the output.
    fn finish(mut self, stderr_seen: &str) -> Finished {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waits") {
                break status;
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                panic!("xaa login did not end");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stdout = String::new();
        let mut stderr = stderr_seen.to_owned();
        self.stdout.read_to_string(&mut stdout).expect("stdout");
        self.stderr.read_to_string(&mut stderr).expect("stderr");
        Finished {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr,
        }
    }
}

/// The `xaa login` arguments for the kit's IdP client as it is registered now.
fn login_args(kit: &Testkit, dir: &TempDir, store: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--insecure-loopback",
        "--idp-issuer",
        kit.idp_issuer(),
        "--client-id",
        IDP_CLIENT_ID,
        "--token-store",
        &store.to_string_lossy(),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let registration = kit.idp_client();
    args.extend([
        "--client-auth".to_owned(),
        registration.method.as_str().to_owned(),
    ]);
    if let Some(secret) = registration.secret() {
        let file = dir.write("login-secret", format!("{}\n", secret.expose_secret()));
        args.extend([
            "--client-secret-file".to_owned(),
            file.to_string_lossy().into_owned(),
        ]);
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// Signs `user` in with `xaa login --no-browser`, playing the browser; returns the run, the
/// page the command answered, and the authorization code the redirect carried.
fn browser_login(kit: &Testkit, args: &[String], user: &str) -> (Finished, String, String) {
    let mut run = LoginRun::start(args);
    let url = run.first_line();
    assert!(
        url.starts_with(kit.idp_authorization_endpoint()),
        "stdout starts with the sign-in URL alone: {url}"
    );
    let page = browser::request("GET", &url, None);
    assert_eq!(page.status, 200, "{}", page.body);
    let submitted = browser::request(
        "POST",
        &format!("{}/authorize/sign-in", kit.idp_issuer()),
        Some(&browser::form(&[
            ("transaction", &browser::hidden(&page.body, "transaction")),
            ("user", user),
            ("decision", "allow"),
        ])),
    );
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    let callback = submitted.location.expect("a redirect");
    assert!(callback.starts_with("http://127.0.0.1:"), "{callback}");
    let code = url::Url::parse(&callback)
        .expect("URL")
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let answered = browser::request("GET", &callback, None);
    let finished = run.finish("");
    let port = url::Url::parse(&callback)
        .ok()
        .and_then(|url| url.port())
        .expect("a port");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "a second callback finds no listener"
    );
    (finished, answered.body, code)
}

/// The secrets the store holds (ID token, refresh token), read from the file.
fn stored_secrets(store: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(store).expect("the store");
    let document: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let session = &document["session"];
    ["id_token", "refresh_token"]
        .iter()
        .filter_map(|name| session[name].as_str().map(str::to_owned))
        .collect()
}

fn assert_no_secret(text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !secret.is_empty() && !text.contains(secret.as_str()),
            "a secret leaked:\n{text}"
        );
    }
}

fn store_in(dir: &TempDir) -> PathBuf {
    dir.path().join("store.json")
}

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
