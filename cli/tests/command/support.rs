//! Running the `xaa` binary as a subprocess, with every run checked for leaked secrets.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use xaa_testkit::{AS_CLIENT_ID, ClientAuthMethod, IDP_CLIENT_ID, Options, Testkit};

/// The longest a run may take before it is killed and the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The end of the armour of every private key in PEM (`-----BEGIN PRIVATE KEY-----`,
/// `-----BEGIN EC PRIVATE KEY-----`, ...): never in any output.
const PEM_PRIVATE_KEY: &[u8] = b"PRIVATE KEY-----";

/// The exit codes of `xaa` (cli/src/exit.rs).
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_DENIED: i32 = 3;
pub const EXIT_REAUTHENTICATE: i32 = 4;
pub const EXIT_PROTOCOL: i32 = 5;

/// One invocation of `xaa`, built up, then [`run`](Xaa::run).
pub struct Xaa {
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
    secrets: Vec<String>,
}

/// What a run produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Xaa {
    /// `xaa` with these arguments and no `XAA_*` variable of the test's own environment.
    pub fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self {
            args: args.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            stdin: None,
            secrets: Vec::new(),
        }
    }

    /// More arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// An environment variable of the child.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// What the child reads on stdin.
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// Values that must appear in neither stdout nor stderr.
    pub fn secrets<I, S>(mut self, secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.secrets.extend(secrets.into_iter().map(Into::into));
        self
    }

    /// Runs the command to its end (killed after [`RUN_TIMEOUT`]) and checks that no secret
    /// reached its output.
    pub fn run(self) -> Run {
        let raw = self.run_bytes();
        let run = Run {
            code: raw.code,
            stdout: String::from_utf8_lossy(&raw.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&raw.stderr).into_owned(),
        };
        if std::env::var_os("SHOW_XAA_RUNS").is_some() {
            eprintln!("{run}");
        }
        run
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Run {
    /// Asserts the exit code, showing the whole run when it differs.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(self.code, code, "unexpected exit code:\n{self}");
        self
    }

    /// stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{self}"))
    }
}

/// A directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "xaa-cli-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `contents` to `name` in the directory, private to this user (mode 0600, as the
    /// command demands of a file holding a secret), and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write a temporary file");
        set_mode(&path, 0o600);
        path
    }

    /// A subdirectory `name` with these permission bits, and its path.
    pub fn subdir(&self, name: &str, mode: u32) -> PathBuf {
        let path = self.0.join(name);
        std::fs::create_dir(&path).expect("create a subdirectory");
        set_mode(&path, mode);
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sets a file's permission bits.
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The permission bits of `path` itself (a link's own, never its target's).
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).expect("stat").mode() & 0o7777
}

/// Whether a test must skip a case that needs root (giving a file to another user); if so,
/// says it loudly on stderr, so that a run without root never passes silently. Written to
/// the stderr handle itself: the test harness captures `eprintln!` of passing tests.
pub fn skip_unless_root(to: &str) -> bool {
    if rustix::process::geteuid().is_root() {
        return false;
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED: needs root to {to}");
    true
}

/// A kit with these options.
pub fn kit(options: Options) -> Testkit {
    Testkit::start(options).expect("the testkit starts")
}

/// The kit's secrets now in force: both client secrets (whatever method is in force) and
/// nothing else; callers add the subject tokens they hand out.
pub fn kit_secrets(kit: &Testkit) -> Vec<String> {
    [kit.idp_client(), kit.as_client()]
        .iter()
        .filter_map(|client| client.secret().map(|s| s.expose_secret().to_owned()))
        .collect()
}

/// The words of `text` made of base64url characters and dots.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .filter(|w| !w.is_empty())
}

/// Strings that look like a whole JWT: three base64url segments, over 100 characters.
pub fn full_jwts(text: &str) -> Vec<&str> {
    words(text)
        .filter(|w| w.len() > 100)
        .filter(|w| {
            let segments: Vec<&str> = w.split('.').collect();
            segments.len() == 3 && segments[..2].iter().all(|s| s.len() >= 10)
        })
        .collect()
}

/// Strings that look like a whole access token of the kit: `at-` and 22 base64url characters
/// (cf. testkit/src/tokens.rs: `format!("at-{}", random_jti())`, 16 random bytes).
pub fn kit_access_tokens(text: &str) -> Vec<&str> {
    text.match_indices("at-")
        .filter_map(|(at, _)| {
            let rest = &text[at + 3..];
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
                .unwrap_or(rest.len());
            (len >= 16).then(|| &text[at..at + 3 + len])
        })
        .collect()
}

#[test]
fn the_token_scanners_find_what_they_should() {
    let jwt = format!("{}.{}.{}", "a".repeat(40), "b".repeat(60), "c".repeat(40));
    assert_eq!(full_jwts(&format!("x \"{jwt}\" y")), vec![jwt.as_str()]);
    assert!(full_jwts("sha256:0123456789abcdef a.b.c 1.2.3").is_empty());
    assert_eq!(
        kit_access_tokens("Bearer at-AAAAAAAAAAAAAAAAAAAAAA, at-0"),
        vec!["at-AAAAAAAAAAAAAAAAAAAAAA"]
    );
    assert!(kit_access_tokens("what-a sha256:0123456789abcdef").is_empty());
}

/// How a client secret reaches `xaa token`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// `--idp-secret-file` / `--as-secret-file`, the file ending in a newline.
    File,
    /// `--idp-secret-env` / `--as-secret-env` naming a variable of the child.
    Env,
}

/// Both client secrets of `kit` (the same whatever method is in force), for leak checks.
pub fn client_secrets(kit: &Testkit) -> Vec<String> {
    let (idp, authorization_server) = (kit.idp_client().method, kit.as_client().method);
    kit.set_idp_client_auth(ClientAuthMethod::ClientSecretBasic);
    kit.set_as_client_auth(ClientAuthMethod::ClientSecretBasic);
    let secrets = kit_secrets(kit);
    kit.set_idp_client_auth(idp);
    kit.set_as_client_auth(authorization_server);
    assert_eq!(secrets.len(), 2);
    secrets
}

/// What `xaa token` needs against one kit: a directory for files, a subject token, and the
/// values that must never be printed.
pub struct Setup<'k> {
    pub kit: &'k Testkit,
    pub dir: TempDir,
    pub subject: String,
    pub secrets: Vec<String>,
}

impl<'k> Setup<'k> {
    /// An ID token for alice; the secrets are both client secrets and that ID token.
    pub fn new(kit: &'k Testkit) -> Self {
        let subject = kit.id_token("alice").expose_secret().to_owned();
        let mut secrets = client_secrets(kit);
        secrets.push(subject.clone());
        Self {
            kit,
            dir: TempDir::new(),
            subject,
            secrets,
        }
    }

    /// `xaa token --insecure-loopback` against the kit with everything but the subject token
    /// and the client credentials.
    pub fn bare(&self) -> Xaa {
        let kit = self.kit;
        Xaa::new(["token", "--insecure-loopback"])
            .args(["--server", kit.mcp_url()])
            .args(["--idp-issuer", kit.idp_issuer()])
            .args(["--idp-client-id", IDP_CLIENT_ID])
            .args(["--as-client-id", AS_CLIENT_ID])
            .secrets(self.secrets.clone())
    }

    /// The client credentials the kit expects now, the secrets passed as `idp` and `as_`
    /// say.
    pub fn credentials(&self, mut xaa: Xaa, idp: Via, as_: Via) -> Xaa {
        for (side, registration, via) in [
            ("idp", self.kit.idp_client(), idp),
            ("as", self.kit.as_client(), as_),
        ] {
            xaa = xaa.args([
                format!("--{side}-auth"),
                registration.method.as_str().to_owned(),
            ]);
            if let Some(secret) = registration.secret() {
                xaa = match via {
                    Via::File => {
                        let file = self.dir.write(
                            &format!("{side}-secret"),
                            format!("{}\n", secret.expose_secret()),
                        );
                        xaa.args([
                            format!("--{side}-secret-file").into(),
                            file.into_os_string(),
                        ])
                    }
                    Via::Env => {
                        let name = format!("TEST_{}_SECRET", side.to_uppercase());
                        xaa.args([format!("--{side}-secret-env"), name.clone()])
                            .env(&name, secret.expose_secret())
                    }
                };
            }
        }
        xaa
    }

    /// The subject token in a file.
    pub fn subject_file(&self, xaa: Xaa) -> Xaa {
        let file = self.dir.write("id-token", &self.subject);
        xaa.args([
            OsString::from("--subject-token-file"),
            file.into_os_string(),
        ])
    }

    /// A complete `xaa token`: credentials as the kit expects them, the subject token in a
    /// file.
    pub fn token(&self, idp: Via, as_: Via) -> Xaa {
        self.subject_file(self.credentials(self.bare(), idp, as_))
    }

    /// stdout is the access token and a newline, nothing else; the kit issued it for alice.
    #[track_caller]
    pub fn printed_token(&self, run: &Run) -> String {
        let token = run
            .stdout
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("stdout ends with a newline:\n{run}"));
        assert!(
            !token.is_empty() && !token.contains(char::is_whitespace),
            "stdout is exactly the token:\n{run}"
        );
        let info = self
            .kit
            .access_token_info(token)
            .unwrap_or_else(|| panic!("the kit did not issue {token:?}:\n{run}"));
        assert_eq!(info.subject, "alice");
        assert_eq!(info.resource, self.kit.mcp_url());
        assert_eq!(info.client_id, AS_CLIENT_ID);
        assert_eq!(info.idp_issuer, self.kit.idp_issuer());
        token.to_owned()
    }
}

/// A state directory of this test process that no test creates: the default token store
/// of a run that names none is never the developer's.
pub fn unused_state_home() -> PathBuf {
    std::env::temp_dir().join(format!("xaa-test-no-state-{}", std::process::id()))
}

/// What a run produced, byte for byte: a hostile server's bytes need not be UTF-8, and a
/// check on text read lossily (or not at all) could pass on output it never saw.
#[derive(Debug)]
pub struct RawRun {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// From the start of the process to its exit.
    pub elapsed: Duration,
}

impl Xaa {
    /// Runs the command to its end (killed after [`RUN_TIMEOUT`]) and keeps its output as bytes.
    pub fn run_bytes(self) -> RawRun {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xaa"));
        command.args(&self.args);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("XAA_") {
                command.env_remove(name);
            }
        }
        // Never the developer's keyring nor their default token store: a test that wants
        // either sets these itself (its `env` comes after).
        command.env("XAA_CREDENTIAL_STORE", "none");
        command.env("XDG_STATE_HOME", unused_state_home());
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = command.spawn().expect("xaa starts");
        if let Some(input) = self.stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            std::thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        let reader = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                bytes
            })
        };
        let stdout = reader(Box::new(child.stdout.take().expect("stdout is piped")));
        let stderr = reader(Box::new(child.stderr.take().expect("stderr is piped")));
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for xaa") {
                break status;
            }
            if started.elapsed() > RUN_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("xaa {:?} did not finish within {RUN_TIMEOUT:?}", self.args);
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let elapsed = started.elapsed();
        let run = RawRun {
            code: status.code().expect("xaa exited (not killed by a signal)"),
            stdout: stdout.join().expect("stdout reader"),
            stderr: stderr.join().expect("stderr reader"),
            elapsed,
        };
        if std::env::var_os("SHOW_XAA_RUNS").is_some() {
            eprintln!(
                "=== xaa {:?} ({:?})\nexit {}\n--- stdout\n{}\n--- stderr\n{}",
                self.args,
                run.elapsed,
                run.code,
                String::from_utf8_lossy(&run.stdout).escape_debug(),
                String::from_utf8_lossy(&run.stderr).escape_debug()
            );
        }
        // Whatever the run, no private key in PEM reaches an output (a DPoP key, a client key).
        for output in [&run.stdout, &run.stderr] {
            assert!(
                !output
                    .windows(PEM_PRIVATE_KEY.len())
                    .any(|window| window == PEM_PRIVATE_KEY),
                "a private key reached the output of xaa {:?}:\n{}",
                self.args,
                String::from_utf8_lossy(output)
            );
        }
        for secret in self.secrets.iter().filter(|s| !s.is_empty()) {
            let leaked = |bytes: &[u8]| {
                bytes
                    .windows(secret.len())
                    .any(|window| window == secret.as_bytes())
            };
            assert!(
                !leaked(&run.stdout) && !leaked(&run.stderr),
                "a secret reached the output of xaa {:?}:\n{}\n{}",
                self.args,
                String::from_utf8_lossy(&run.stdout),
                String::from_utf8_lossy(&run.stderr)
            );
        }
        run
    }
}

/// Whether a terminal would act on `c` rather than show it: a control character other than
/// the newline that ends each line (C0, DEL, C1), a bidi control or mark, a zero-width or
/// other format character, a line or paragraph separator, a tag character.
pub fn acts_on_a_terminal(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

impl RawRun {
    /// Asserts that stdout and stderr are UTF-8 text holding no character a terminal would act
    /// on and no line starting with `xaa: forged` (what the hostile inputs try to print), then
    /// returns them as text.
    #[track_caller]
    pub fn terminal_safe(self) -> Run {
        let text = |name: &str, bytes: &[u8]| -> String {
            let text = String::from_utf8(bytes.to_vec())
                .unwrap_or_else(|e| panic!("{name} is not UTF-8 ({e}): {bytes:?}"));
            let raw: Vec<char> = text.chars().filter(|c| acts_on_a_terminal(*c)).collect();
            assert!(raw.is_empty(), "{name} holds raw {raw:?}:\n{text}");
            assert!(
                !text.lines().any(|line| line.starts_with("xaa: forged")),
                "{name} holds a forged line:\n{text}"
            );
            text
        };
        Run {
            code: self.code,
            stdout: text("stdout", &self.stdout),
            stderr: text("stderr", &self.stderr),
        }
    }
}

#[test]
fn the_terminal_check_sees_what_a_terminal_acts_on() {
    for c in [
        '\u{1b}',
        '\u{7}',
        '\r',
        '\u{7f}',
        '\u{9b}',
        '\u{202e}',
        '\u{2028}',
        '\u{200b}',
        '\u{e0041}',
    ] {
        assert!(acts_on_a_terminal(c), "{c:?}");
    }
    for c in ['\n', 'a', ' ', '\\', 'é', '東', '\u{fffd}'] {
        assert!(!acts_on_a_terminal(c), "{c:?}");
    }
}

/// A crafted answer of a [`HostileServer`].
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    /// Header names and raw value bytes, sent as they are.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    /// Hold the connection without answering until the server stops.
    pub stall: bool,
}

impl Reply {
    /// This status, no body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            stall: false,
        }
    }

    /// 200 with this JSON body.
    pub fn json(body: impl Into<Vec<u8>>) -> Self {
        let mut reply = Self::status(200).header("Content-Type", "application/json");
        reply.body = body.into();
        reply
    }

    /// No answer at all: the connection is held open until the server stops.
    pub fn stall() -> Self {
        Self {
            stall: true,
            ..Self::status(200)
        }
    }

    /// One more header, its value bytes sent as they are.
    pub fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// How a [`HostileServer`] answers: from the method, the path (with its query) and the
/// server's own origin (`http://127.0.0.1:PORT`).
pub type Answer = dyn Fn(&str, &str, &str) -> Reply + Send + Sync;

/// A minimal HTTP/1.1 server on 127.0.0.1 serving crafted documents, one connection per
/// request, recording every request line. Stops when dropped.
pub struct HostileServer {
    origin: String,
    requests: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    accepter: Option<std::thread::JoinHandle<()>>,
}

impl HostileServer {
    pub fn start(answer: impl Fn(&str, &str, &str) -> Reply + Send + Sync + 'static) -> Self {
        use std::sync::atomic::AtomicBool;
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let origin = format!(
            "http://{}",
            listener.local_addr().expect("the listener's address")
        );
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let answer: Arc<Answer> = Arc::new(answer);
        let accepter = {
            let (origin, requests, stop) = (origin.clone(), requests.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (origin, requests, stop, answer) = (
                        origin.clone(),
                        requests.clone(),
                        stop.clone(),
                        answer.clone(),
                    );
                    std::thread::spawn(move || {
                        serve(stream, &origin, &requests, &stop, &*answer);
                    });
                }
            })
        };
        Self {
            origin,
            requests,
            stop,
            accepter: Some(accepter),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The origin followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// Every request so far: (method, path with query).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread.
        let _ = std::net::TcpStream::connect(self.origin.trim_start_matches("http://"));
        if let Some(accepter) = self.accepter.take() {
            let _ = accepter.join();
        }
    }
}

/// Reads one request (head, then a Content-Length body), records it, answers it, closes.
fn serve(
    mut stream: std::net::TcpStream,
    origin: &str,
    requests: &std::sync::Mutex<Vec<(String, String)>>,
    stop: &std::sync::atomic::AtomicBool,
    answer: &Answer,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut words = head.split_whitespace();
    let (Some(method), Some(path)) = (words.next(), words.next()) else {
        return;
    };
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let _ = std::io::copy(
        &mut (&mut stream).take(length.min(1024 * 1024)),
        &mut std::io::sink(),
    );
    if let Ok(mut log) = requests.lock() {
        log.push((method.to_owned(), path.to_owned()));
    }
    let reply = answer(method, path, origin);
    if reply.stall {
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
        return;
    }
    let mut response = format!("HTTP/1.1 {} Crafted\r\n", reply.status).into_bytes();
    for (name, value) in &reply.headers {
        response.extend_from_slice(name.as_bytes());
        response.extend_from_slice(b": ");
        response.extend_from_slice(value);
        response.extend_from_slice(b"\r\n");
    }
    response.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            reply.body.len()
        )
        .as_bytes(),
    );
    response.extend_from_slice(&reply.body);
    let _ = stream.write_all(&response);
    let _ = stream.flush();
}

/// A compact JWS with this header and these claims and an empty signature (nothing verifies
/// it; `xaa decode` shows it).
pub fn unsigned_token(header: &serde_json::Value, claims: &serde_json::Value) -> String {
    use base64::Engine as _;
    let segment = |value: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    };
    format!("{}.{}.", segment(header), segment(claims))
}
