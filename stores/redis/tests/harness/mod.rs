//! A real `redis-server` on a free 127.0.0.1 port, for the tests: started without persistence
//! in a directory of its own, stopped (and the directory removed) on drop, and stoppable and
//! restartable mid-test on the same port.
//!
//! When `redis-server` is not installed, [`RedisServer::start`] prints a loud SKIPPED line and
//! returns `None`, and the test passes having checked nothing; `scripts/test` installs it.
//! When it is installed and does not start, the test fails.

// Each test file uses its own part of the harness.
#![allow(dead_code)]

pub(crate) mod gateway;
pub(crate) mod replica_process;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use xaa_redis::{ReconnectingConnection, Timeouts};

/// How long a server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Servers started by this test binary, for unique directory names.
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// A running (or stopped) `redis-server` owned by one test.
pub(crate) struct RedisServer {
    program: PathBuf,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// The CA (PEM) that signed the server's certificate, when it speaks TLS only.
    tls_ca: Option<Vec<u8>>,
}

impl RedisServer {
    /// A started server; `None`, after a SKIPPED line on stderr, when `redis-server` is not
    /// installed. Panics when it is installed and does not start.
    pub(crate) fn start(test: &str) -> Option<Self> {
        Self::launch(test, false)
    }

    /// [`RedisServer::start`], with a server that speaks TLS only, its certificate (for
    /// 127.0.0.1) signed by a CA made for the test; [`client`](Self::client) trusts that CA.
    pub(crate) fn start_tls(test: &str) -> Option<Self> {
        Self::launch(test, true)
    }

    fn launch(test: &str, tls: bool) -> Option<Self> {
        let Some(program) = find_program() else {
            let line = format!(
                "\n!!!!! SKIPPED {test}: redis-server is not installed (not in PATH nor \
                 $REDIS_SERVER); run scripts/test, which installs it !!!!!\n"
            );
            // Past the test harness' capture, so the line shows in a passing run too.
            let _ = std::io::stderr().write_all(line.as_bytes());
            return None;
        };
        let port = free_port();
        let number = STARTED.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "xaa-redis-test-{}-{number}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory for redis-server");
        let tls_ca = tls.then(|| write_certificates(&dir));
        let mut server = Self {
            program,
            port,
            dir,
            child: None,
            tls_ca,
        };
        server.restart();
        Some(server)
    }

    /// `redis://127.0.0.1:<port>/`, or `rediss://` for a TLS server.
    pub(crate) fn url(&self) -> String {
        let scheme = if self.tls_ca.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}/", self.port)
    }

    /// A client for this server; for a TLS server, one that trusts the test's CA only.
    pub(crate) fn client(&self) -> redis::Client {
        match &self.tls_ca {
            Some(ca) => {
                let certificates = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(ca.clone()),
                };
                redis::Client::build_with_tls(self.url(), certificates).expect("a TLS client")
            }
            None => redis::Client::open(self.url()).expect("a valid URL"),
        }
    }

    /// A reconnecting blocking connection with short timeouts.
    pub(crate) fn connection(&self) -> ReconnectingConnection {
        let timeouts = Timeouts {
            connect: Duration::from_secs(1),
            response: Duration::from_secs(2),
        };
        ReconnectingConnection::new(self.client(), timeouts)
    }

    /// Kills the server (as a crash would) and waits for it to be gone.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server on the same port, after a [`stop`](Self::stop) or for the first
    /// time, and waits until it answers `PING`. Panics when it does not.
    pub(crate) fn restart(&mut self) {
        self.stop();
        let log = self.dir.join("redis.log");
        let port = self.port.to_string();
        let mut command = Command::new(&self.program);
        if self.tls_ca.is_some() {
            command
                .args([
                    "--port",
                    "0",
                    "--tls-port",
                    &port,
                    "--tls-auth-clients",
                    "no",
                ])
                .arg("--tls-cert-file")
                .arg(self.dir.join("server.pem"))
                .arg("--tls-key-file")
                .arg(self.dir.join("server.key"));
        } else {
            command.args(["--port", &port]);
        }
        let child = command
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("redis-server is installed but did not start: {error}"));
        self.child = Some(child);
        self.wait_until_ready(&log);
    }

    fn wait_until_ready(&mut self, log: &Path) {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log = std::fs::read_to_string(log).unwrap_or_default();
                panic!("redis-server exited at start ({status}); its log:\n{log}");
            }
            if self.answers_ping() {
                return;
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "redis-server did not answer on port {} within {START_TIMEOUT:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answers_ping(&self) -> bool {
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let Ok(_probe) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
            return false;
        };
        self.client()
            .get_connection_with_timeout(Duration::from_secs(1))
            .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection))
            .is_ok_and(|pong| pong == "PONG")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `server.pem` and `server.key` for 127.0.0.1 into `dir`, signed by a new CA; returns
/// the CA's certificate (PEM).
fn write_certificates(dir: &Path) -> Vec<u8> {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("a CA key");
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("a CA");
    let server_key = KeyPair::generate().expect("a server key");
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("server parameters")
        .signed_by(&server_key, &ca)
        .expect("a server certificate");
    std::fs::write(dir.join("server.pem"), server.pem()).expect("server.pem");
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).expect("server.key");
    ca.pem().into_bytes()
}

/// `$REDIS_SERVER`, or `redis-server` in `PATH` or in the usual system directories.
fn find_program() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("REDIS_SERVER") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

/// A port no one listens on at the moment of asking.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port on 127.0.0.1")
}

/// Runs a raw command on `server`, for looking at what the stores wrote.
pub(crate) fn raw<T: redis::FromRedisValue>(server: &RedisServer, command: &mut redis::Cmd) -> T {
    let mut connection = server
        .client()
        .get_connection_with_timeout(Duration::from_secs(1))
        .expect("a connection to the test server");
    command.query(&mut connection).expect("the raw command")
}
