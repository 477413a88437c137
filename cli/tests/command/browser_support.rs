//! A real headless Chromium driven through W3C WebDriver (Debian's `chromedriver`), and an
//! `xaa login` child whose output is read with bounded waits.
//!
//! The WebDriver protocol is spoken directly over HTTP on 127.0.0.1 with a few of the W3C
//! WebDriver commands: New Session, Navigate To, Get Title, Get Current URL, Find Element,
//! Element Click, Is Element Selected, Get Element Text, Delete Session.
//! Every process started here is killed on drop: chromedriver runs in a process group of its
//! own, which the browser it launches joins, and the whole group is killed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The longest chromedriver may take to say it is ready.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);

/// The longest one WebDriver command may take (a navigation included).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The page-load timeout given to the browser, below [`COMMAND_TIMEOUT`].
const PAGE_LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// The web element identifier: the key of an element reference in WebDriver's JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The arguments Chromium needs here: no display, root in CI (so no sandbox), a small
/// `/dev/shm` in containers; and nothing beyond loopback: no background traffic of its own
/// (updates, sync, first-run pages), every host name but `127.0.0.1` resolving to nothing,
/// and any other address sent to a proxy on a closed loopback port (loopback itself bypasses
/// proxies).
const CHROMIUM_ARGS: [&str; 11] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
];

/// The two programs, found on `PATH`.
pub struct Chromium {
    pub browser: PathBuf,
    pub driver: PathBuf,
}

impl Chromium {
    /// Chromium and chromedriver, or why the test cannot run (one of them is not installed).
    pub fn find() -> Result<Self, String> {
        let browser = ["chromium", "chromium-browser"]
            .iter()
            .find_map(|name| on_path(name))
            .ok_or("chromium is not installed (Debian package chromium)")?;
        let driver = on_path("chromedriver")
            .ok_or("chromedriver is not installed (Debian package chromium-driver)")?;
        Ok(Self { browser, driver })
    }
}

/// The first executable file `name` in a directory of `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// Says on stderr why a test is skipped. Written to the stderr handle itself: the test
/// harness captures `eprintln!` of passing tests.
pub fn skipped(reason: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED: {reason}");
}

/// A port on 127.0.0.1 free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// A running chromedriver on 127.0.0.1, killed with its browser on drop.
pub struct ChromeDriver {
    child: Child,
    origin: String,
    http: ureq::Agent,
}

impl ChromeDriver {
    /// Starts `driver` on a free loopback port (chromedriver accepts only local connections
    /// unless told otherwise) and waits until it is ready. `log` receives its output.
    pub fn start(driver: &Path, log: &Path) -> Self {
        use std::os::unix::process::CommandExt;
        let port = free_port();
        let log_file = std::fs::File::create(log).expect("the chromedriver log");
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("the log handle"))
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{} cannot start: {e}", driver.display()));
        let http: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(COMMAND_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        let mut driver = Self {
            child,
            origin: format!("http://127.0.0.1:{port}"),
            http,
        };
        driver.wait_ready(log);
        driver
    }

    fn wait_ready(&mut self, log: &Path) {
        let started = Instant::now();
        let log = || std::fs::read_to_string(log).unwrap_or_default();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chromedriver ended at its start ({status}):\n{}", log());
            }
            let ready = self
                .http
                .get(format!("{}/status", self.origin))
                .config()
                .timeout_global(Some(Duration::from_secs(2)))
                .build()
                .call()
                .ok()
                .and_then(|mut answer| answer.body_mut().read_to_string().ok())
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .is_some_and(|status| status["value"]["ready"] == true);
            if ready {
                return;
            }
            assert!(
                started.elapsed() < DRIVER_START_TIMEOUT,
                "chromedriver was not ready within {DRIVER_START_TIMEOUT:?}:\n{}",
                log()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends one WebDriver command and returns its `value`; an error answer fails the test
    /// with WebDriver's own message.
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.origin);
        let answer = match (method, body) {
            ("GET", _) => self.http.get(&url).call(),
            ("DELETE", _) => self.http.delete(&url).call(),
            (_, body) => self
                .http
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or_else(|| json!({})).to_string()),
        };
        let mut answer = answer.unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = answer.status().as_u16();
        let text = answer
            .body_mut()
            .read_to_string()
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let document: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path} answered no JSON ({e}): {text}"));
        assert_eq!(
            status, 200,
            "WebDriver {method} {path} failed: {}",
            document["value"]
        );
        document["value"].clone()
    }

    /// A new browser session: headless Chromium with `profile` as its user data directory.
    pub fn session(&self, browser: &Path, profile: &Path) -> Browser<'_> {
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": {
                "pageLoad": PAGE_LOAD_TIMEOUT.as_millis() as u64,
                "script": 5000,
                "implicit": 0
            },
            "goog:chromeOptions": {
                "binary": browser.to_string_lossy(),
                "args": args
            }
        }}});
        let created = self.command("POST", "/session", Some(capabilities));
        let id = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("a new session without an id: {created}"))
            .to_owned();
        Browser { driver: self, id }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let group = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        if let Some(group) = group {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session; closed on drop.
pub struct Browser<'d> {
    driver: &'d ChromeDriver,
    id: String,
}

/// A reference to an element of the current page.
pub struct Element(String);

impl Browser<'_> {
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver
            .command(method, &format!("/session/{}{path}", self.id), body)
    }

    /// Opens `url` and waits for the page to load.
    pub fn navigate(&self, url: &str) {
        self.command("POST", "/url", Some(json!({"url": url})));
    }

    /// The page's title.
    pub fn title(&self) -> String {
        self.command("GET", "/title", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The URL of the page shown.
    pub fn url(&self) -> String {
        self.command("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching a CSS selector; fails the test when there is none.
    pub fn find(&self, selector: &str) -> Element {
        let found = self.command(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": selector})),
        );
        let id = found[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element {selector}: {found}"));
        Element(id.to_owned())
    }

    /// Clicks `element` as a person would (scrolled into view, at its centre).
    pub fn click(&self, element: &Element) {
        self.command("POST", &format!("/element/{}/click", element.0), None);
    }

    /// Whether a checkbox or radio button is checked.
    pub fn is_selected(&self, element: &Element) -> bool {
        self.command("GET", &format!("/element/{}/selected", element.0), None) == true
    }

    /// The text `element` shows.
    pub fn text(&self, element: &Element) -> String {
        self.command("GET", &format!("/element/{}/text", element.0), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until the URL shown satisfies `wanted`, at most `timeout`; returns it.
    pub fn wait_for_url(&self, wanted: impl Fn(&str) -> bool, timeout: Duration) -> String {
        let started = Instant::now();
        loop {
            let url = self.url();
            if wanted(&url) {
                return url;
            }
            assert!(
                started.elapsed() < timeout,
                "the browser stayed at {url} for {timeout:?}"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        let _ = self
            .driver
            .http
            .delete(format!("{}/session/{}", self.driver.origin, self.id))
            .call();
    }
}

/// A running `xaa` child: stdout read line by line as it comes, stderr kept whole. Killed on
/// drop if still running.
pub struct XaaChild {
    child: Child,
    lines: Receiver<String>,
    stdout: Option<JoinHandle<()>>,
    stderr: Option<JoinHandle<String>>,
}

/// How an [`XaaChild`] ended.
#[derive(Debug)]
pub struct Ended {
    pub code: i32,
    /// What stdout held after the lines already taken.
    pub stdout: String,
    pub stderr: String,
}

impl XaaChild {
    /// Starts `xaa` with `args`, none of the test's own `XAA_*` variables, and `env`.
    pub fn start(args: &[String], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xaa"));
        command.args(args);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("XAA_") {
                command.env_remove(name);
            }
        }
        command.envs(env.iter().copied());
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("xaa starts");
        let (sender, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stdout = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Self {
            child,
            lines,
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    /// The next line of stdout, waiting at most `timeout`.
    pub fn next_line(&mut self, timeout: Duration) -> String {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!("xaa printed no line within {timeout:?}"),
            Err(RecvTimeoutError::Disconnected) => {
                let ended = self.finish(timeout);
                panic!("xaa ended before printing a line: {ended:?}")
            }
        }
    }

    /// Waits at most `timeout` for the end (killing the child then) and collects the rest.
    pub fn finish(&mut self, timeout: Duration) -> Ended {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waits for xaa") {
                break status;
            }
            if started.elapsed() > timeout {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("xaa did not end within {timeout:?}");
            }
            thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.stdout.take() {
            let _ = reader.join();
        }
        let stdout: Vec<String> = self.lines.try_iter().collect();
        Ended {
            code: status.code().expect("xaa exited (not killed by a signal)"),
            stdout: stdout.join("\n"),
            stderr: self
                .stderr
                .take()
                .and_then(|reader| reader.join().ok())
                .unwrap_or_default(),
        }
    }
}

impl Drop for XaaChild {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
