//! What the `xaa login` tests share: a minimal browser over plain HTTP on 127.0.0.1, a running
//! `xaa login` read as it prints, and the sign-in played through the kit's form.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use xaa_testkit::{IDP_CLIENT_ID, Testkit};

use crate::support::{TempDir, unused_state_home};

/// A minimal browser: one HTTP/1.1 request per connection, the whole answer read.
pub mod browser {
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
pub struct LoginRun {
    child: Child,
    stdout: BufReader<std::process::ChildStdout>,
    stderr: BufReader<std::process::ChildStderr>,
}

/// What a finished run printed.
pub struct Finished {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl LoginRun {
    pub fn start(args: &[String]) -> Self {
        Self::start_with(args, &[])
    }

    /// [`start`](Self::start) with `env` set after the defaults of every run (no OS
    /// credential store, no default token store of the developer's).
    pub fn start_with(args: &[String], env: &[(String, String)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xaa"));
        command.arg("login").args(args);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("XAA_") {
                command.env_remove(name);
            }
        }
        command
            .env("XAA_CREDENTIAL_STORE", "none")
            .env("XDG_STATE_HOME", unused_state_home())
            .envs(env.iter().map(|(name, value)| (name, value)));
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
    pub fn first_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("reads stdout");
        line.trim_end_matches('\n').to_owned()
    }

    /// The stderr lines up to the first holding `marker`, that one included.
    pub fn stderr_until(&mut self, marker: &str) -> String {
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
    pub fn finish(mut self, stderr_seen: &str) -> Finished {
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
pub fn login_args(kit: &Testkit, dir: &TempDir, store: &Path, extra: &[&str]) -> Vec<String> {
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
    if let Some(key) = registration.key() {
        let file = dir.write("login-key.pem", key.expose_private_pem());
        args.extend([
            "--client-key-file".to_owned(),
            file.to_string_lossy().into_owned(),
        ]);
        if let Some(kid) = &key.public_jwk().kid {
            args.extend(["--client-key-id".to_owned(), kid.clone()]);
        }
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// Signs `user` in with `xaa login --no-browser`, playing the browser; returns the run, the
/// page the command answered, and the authorization code the redirect carried.
pub fn browser_login(kit: &Testkit, args: &[String], user: &str) -> (Finished, String, String) {
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
pub fn stored_secrets(store: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(store).expect("the store");
    let document: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let session = &document["session"];
    ["id_token", "refresh_token"]
        .iter()
        .filter_map(|name| session[name].as_str().map(str::to_owned))
        .collect()
}

pub fn assert_no_secret(text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !secret.is_empty() && !text.contains(secret.as_str()),
            "a secret leaked:\n{text}"
        );
    }
}

pub fn store_in(dir: &TempDir) -> PathBuf {
    dir.path().join("store.json")
}
