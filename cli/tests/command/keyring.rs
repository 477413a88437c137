//! The token store sealed with a data key kept in a real Secret Service: a private
//! `dbus-daemon` (activating only what a test puts in its services directory) and
//! `gnome-keyring-daemon`, started here with their own HOME and XDG directories in a temporary
//! directory and killed at the end. Where `gnome-keyring-daemon`, `dbus-daemon`,
//! `dbus-send` or `secret-tool` is missing, the tests that need them print `SKIPPED: <reason>`
//! and pass; where they are present, they fail if it cannot start.
//!
//! The runs without a bus need neither and always run. The data key is checked absent from
//! every output, error and file beside the store.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use xaa_testkit::{Options, Testkit};

use crate::login_support::{Finished, LoginRun, browser, login_args};
use crate::support::{EXIT_USAGE, Setup, TempDir, Via, Xaa, kit, mode};

/// How long the daemons may take to come up.
const START_WAIT: Duration = Duration::from_secs(20);

/// A session bus of its own on a socket in `dir`, stopped when dropped.
struct Bus {
    child: Child,
    address: String,
}

/// The bus configuration: a session bus on one socket; it activates only what the services
/// directory `@SERVICES@` names (nothing, unless a test puts a service file there).
const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=@SOCKET@</listen>
  <auth>EXTERNAL</auth>
  <servicedir>@SERVICES@</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

impl Bus {
    /// Starts `dbus-daemon` with its socket in `dir/runtime` and its services directory
    /// `dir/services`.
    fn start(dir: &TempDir) -> Self {
        let socket = dir.path().join("runtime").join("bus");
        let config = dir.write(
            "bus.conf",
            BUS_CONFIG
                .replace("@SOCKET@", &socket.to_string_lossy())
                .replace("@SERVICES@", &dir.path().join("services").to_string_lossy()),
        );
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon starts");
        let mut address = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut address)
            .expect("dbus-daemon prints its address");
        let address = address.trim().to_owned();
        assert!(address.starts_with("unix:"), "bus address {address:?}");
        Self { child, address }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The private directories of the daemons.
fn private_dirs() -> TempDir {
    let dir = TempDir::new();
    for sub in ["home", "data", "config", "runtime", "state", "services"] {
        dir.subdir(sub, 0o700);
    }
    dir
}

/// Whether `programs` are all installed; if not, says which is missing as the test's
/// `SKIPPED:` line.
fn installed(programs: &[&str]) -> bool {
    match programs.iter().find(|program| !on_path(program)) {
        None => true,
        Some(program) => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {program} is not installed (Debian: gnome-keyring, dbus, \
                 libsecret-tools)"
            );
            false
        }
    }
}

/// A session bus and a Secret Service of their own, stopped when dropped (the keyring
/// first, then the bus).
struct SecretService {
    keyring: Child,
    bus: Bus,
    dir: TempDir,
}

impl SecretService {
    /// Starts both daemons, or says why the test is skipped (`None`).
    fn start() -> Option<Self> {
        if !installed(&[
            "gnome-keyring-daemon",
            "dbus-daemon",
            "secret-tool",
            "dbus-send",
        ]) {
            return None;
        }
        let dir = private_dirs();
        let bus = Bus::start(&dir);
        let mut keyring = private_env(
            &mut Command::new("gnome-keyring-daemon"),
            &dir,
            &bus.address,
        )
        .args(["--foreground", "--unlock", "--components=secrets"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gnome-keyring-daemon starts");
        let mut stdin = keyring.stdin.take().expect("stdin");
        stdin
            .write_all(b"test keyring password")
            .expect("the password");
        drop(stdin);
        let mut service = Self { keyring, bus, dir };
        service.wait_for_secret_service();
        Some(service)
    }

    /// `command` with the private HOME, XDG directories and bus of the daemons.
    fn daemon_env<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        private_env(command, &self.dir, &self.bus.address)
    }

    /// Waits until `org.freedesktop.secrets` has an owner on the bus.
    fn wait_for_secret_service(&mut self) {
        let started = Instant::now();
        loop {
            let asked = self
                .daemon_env(&mut Command::new("dbus-send"))
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .output()
                .expect("dbus-send runs");
            if String::from_utf8_lossy(&asked.stdout).contains("boolean true") {
                return;
            }
            if let Ok(Some(status)) = self.keyring.try_wait() {
                panic!("gnome-keyring-daemon exited ({status}) before it served");
            }
            assert!(
                started.elapsed() < START_WAIT,
                "the Secret Service did not come up within {START_WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `xaa` pointed at this Secret Service, with `--credential-store auto` (the default).
    fn xaa(&self, xaa: Xaa) -> Xaa {
        let sub = |name: &str| self.dir.path().join(name).to_string_lossy().into_owned();
        xaa.env("XAA_CREDENTIAL_STORE", "auto")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus.address)
            .env("XDG_RUNTIME_DIR", &sub("runtime"))
            .env("XDG_STATE_HOME", &sub("state"))
            .env("HOME", &sub("home"))
    }

    /// The environment of [`xaa`](Self::xaa), for a command run by hand.
    fn env_pairs(&self) -> Vec<(String, String)> {
        let sub = |name: &str| self.dir.path().join(name).to_string_lossy().into_owned();
        vec![
            ("XAA_CREDENTIAL_STORE".into(), "auto".into()),
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.bus.address.clone()),
            ("XDG_RUNTIME_DIR".into(), sub("runtime")),
            ("XDG_STATE_HOME".into(), sub("state")),
            ("HOME".into(), sub("home")),
        ]
    }

    /// `secret-tool lookup service xaa username ACCOUNT`: the secret, if any.
    fn lookup(&self, account: &str) -> Option<String> {
        let output = self
            .daemon_env(&mut Command::new("secret-tool"))
            .args(["lookup", "service", "xaa", "username", account])
            .output()
            .expect("secret-tool runs");
        let secret = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        (output.status.success() && !secret.is_empty()).then_some(secret)
    }

    /// Replaces the secret of the entry `account` by `secret`.
    fn replace(&self, account: &str, secret: &str) {
        let mut child = self
            .daemon_env(&mut Command::new("secret-tool"))
            .args([
                "store",
                "--label=replaced by a test",
                "service",
                "xaa",
                "username",
                account,
                "target",
                "default",
                "application",
                "rust-keyring",
            ])
            .stdin(Stdio::piped())
            .spawn()
            .expect("secret-tool runs");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(secret.as_bytes()).expect("the secret");
        drop(stdin);
        assert!(child.wait().expect("secret-tool ends").success());
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        // The bus stops when the field `bus` is dropped, after this; the directory last.
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
    }
}

/// `command` with the HOME and XDG directories under `dir` and the bus at `address`.
fn private_env<'c>(command: &'c mut Command, dir: &TempDir, address: &str) -> &'c mut Command {
    let sub = |name: &str| dir.path().join(name);
    command
        .env("HOME", sub("home"))
        .env("XDG_DATA_HOME", sub("data"))
        .env("XDG_CONFIG_HOME", sub("config"))
        .env("XDG_RUNTIME_DIR", sub("runtime"))
        .env("DBUS_SESSION_BUS_ADDRESS", address)
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|directory| directory.join(program).is_file())
    })
}

/// `xaa login --device` for `user` against the kit, with `env`, keeping the session in
/// `store` (the default store when `None`); the test approves the code at the kit's
/// verification page as a person would.
fn device_login(
    kit: &Testkit,
    store: Option<&Path>,
    env: &[(String, String)],
    user: &str,
) -> Finished {
    let dir = TempDir::new();
    let mut args = login_args(
        kit,
        &dir,
        store.unwrap_or(Path::new("unused")),
        &["--device"],
    );
    if store.is_none() {
        let at = args
            .iter()
            .position(|arg| arg == "--token-store")
            .expect("the option");
        args.drain(at..at + 2);
    }
    let mut run = LoginRun::start_with(&args, env);
    let told = run.stderr_until("enter the code ");
    let user_code = told
        .split("enter the code ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a user code")
        .to_owned();
    let decided = browser::request(
        "POST",
        kit.idp_device_verification_uri(),
        Some(&browser::form(&[
            ("user_code", &user_code),
            ("user", user),
            ("decision", "allow"),
        ])),
    );
    assert_eq!(decided.status, 200, "{}", decided.body);
    run.finish(&told)
}

/// The sealed store's envelope, and the key entry it names.
fn envelope(store: &Path) -> (serde_json::Value, String) {
    let bytes = std::fs::read(store).expect("the store");
    let envelope: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(envelope["sealed"]["format"], 1, "{envelope}");
    assert_eq!(envelope["sealed"]["cipher"], "A256GCM", "{envelope}");
    assert_eq!(envelope["sealed"]["key"]["service"], "xaa", "{envelope}");
    let account = envelope["sealed"]["key"]["account"]
        .as_str()
        .expect("an account")
        .to_owned();
    (envelope, account)
}

/// Opens the sealed store with `key` (base64) as the format says, independently of the
/// command: AES-256-GCM, the associated data naming the format, the file and the entry.
fn open_sealed(store: &Path, key: &str) -> serde_json::Value {
    let (envelope, account) = envelope(store);
    let key = STANDARD.decode(key).expect("a base64 key");
    let nonce: [u8; 12] = STANDARD
        .decode(envelope["nonce"].as_str().expect("nonce"))
        .expect("base64")
        .try_into()
        .expect("12 bytes");
    let mut in_out = STANDARD
        .decode(envelope["ciphertext"].as_str().expect("ciphertext"))
        .expect("base64");
    let aad = format!("xaa token store, sealed format 1, cipher A256GCM, key xaa/{account}");
    let cipher = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("a 32-byte key"));
    let plaintext = cipher
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad.as_bytes()),
            &mut in_out,
        )
        .expect("the key opens the store");
    serde_json::from_slice(plaintext).expect("the plaintext format")
}

/// The ID token and refresh token of a store's session.
fn session_secrets(document: &serde_json::Value) -> Vec<String> {
    ["id_token", "refresh_token"]
        .iter()
        .map(|name| {
            document["session"][name]
                .as_str()
                .expect("a session secret")
                .to_owned()
        })
        .collect()
}

fn assert_absent(haystack: &[u8], needles: &[String], what: &str) {
    for needle in needles {
        assert!(
            !needle.is_empty()
                && !haystack
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes()),
            "a secret is in {what}"
        );
    }
}

#[test]
fn login_seals_the_store_status_says_so_and_logout_keeps_the_key() {
    let Some(secret_service) = SecretService::start() else {
        return;
    };
    let kit = kit(Options::new());
    kit.set_device_poll_interval(Duration::from_secs(1));
    let setup = Setup::new(&kit);
    let store = setup.dir.path().join("store.json");
    let login = device_login(&kit, Some(&store), &secret_service.env_pairs(), "alice");
    assert_eq!(login.code, 0, "{}", login.stderr);
    assert!(!login.stderr.contains("notice"), "{}", login.stderr);
    assert_eq!(mode(&store), 0o600);

    let (_, account) = envelope(&store);
    let key = secret_service
        .lookup(&account)
        .expect("secret-tool finds the data key");
    assert_eq!(STANDARD.decode(&key).map(|k| k.len()).ok(), Some(32));
    let document = open_sealed(&store, &key);
    assert_eq!(document["version"], 1);
    let mut secrets = session_secrets(&document);
    assert_absent(
        &std::fs::read(&store).expect("store"),
        &secrets,
        "the sealed file",
    );
    secrets.push(key.clone());
    assert_absent(login.stdout.as_bytes(), &secrets, "login's stdout");
    assert_absent(login.stderr.as_bytes(), &secrets, "login's stderr");

    let token = secret_service
        .xaa(setup.credentials(setup.bare(), Via::File, Via::File))
        .args(["--token-store".into(), store.clone().into_os_string()])
        .secrets(secrets.clone())
        .run()
        .expect_code(0);
    setup.printed_token(&token);
    assert!(
        String::from_utf8_lossy(&std::fs::read(&store).expect("store")).contains("\"sealed\""),
        "the store stays sealed after token keeps an access token"
    );

    let status = secret_service
        .xaa(Xaa::new(["status", "--token-store"]))
        .args([store.clone().into_os_string()])
        .secrets(secrets.clone())
        .run()
        .expect_code(0);
    assert!(status.stdout.starts_with("signed in as alice"), "{status}");
    assert!(
        status.stdout.ends_with(&format!(
            "protection: sealed with a key in the OS credential store (service xaa, account \
             {account})\n"
        )),
        "{status}"
    );

    secret_service
        .xaa(Xaa::new(["logout", "--insecure-loopback", "--token-store"]))
        .args([store.clone().into_os_string()])
        .secrets(secrets.clone())
        .run()
        .expect_code(0);
    let after = open_sealed(&store, &key);
    assert!(after["session"].is_null(), "the session is gone: {after}");
    assert_eq!(after["tokens"], serde_json::json!([]));
    assert_eq!(
        secret_service.lookup(&account).as_deref(),
        Some(key.as_str()),
        "the key stays: the store it seals stays"
    );
    // The data key is in no file beside the store (store, lock, temporaries) either.
    for entry in std::fs::read_dir(setup.dir.path()).expect("the directory") {
        let path = entry.expect("an entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("a file");
            assert_absent(
                &bytes,
                std::slice::from_ref(&key),
                &path.display().to_string(),
            );
        }
    }
}

#[test]
fn two_concurrent_runs_renew_one_session_with_one_refresh_token_redemption() {
    let Some(secret_service) = SecretService::start() else {
        return;
    };
    let kit = kit(Options::new());
    kit.set_device_poll_interval(Duration::from_secs(1));
    // Issued already within the renewal margin, so the next run renews it.
    kit.set_id_token_lifetime(Duration::from_secs(30));
    let setup = Setup::new(&kit);
    // No --token-store: the default store under XDG_STATE_HOME, read by token as well.
    let login = device_login(&kit, None, &secret_service.env_pairs(), "alice");
    assert_eq!(login.code, 0, "{}", login.stderr);
    let store = secret_service.dir.path().join("state/xaa/store.json");
    assert_eq!(mode(&store.with_file_name("")), 0o700);
    let (_, account) = envelope(&store);
    let key = secret_service.lookup(&account).expect("the data key");
    let mut secrets = session_secrets(&open_sealed(&store, &key));
    secrets.push(key.clone());
    kit.set_id_token_lifetime(Duration::from_secs(600));
    let before = kit
        .sign_in_records()
        .into_iter()
        .filter(|record| record.is_refresh_redemption())
        .count();
    assert_eq!(before, 0);

    let runs: Vec<_> = (0..2)
        .map(|_| {
            let xaa = secret_service
                .xaa(setup.credentials(setup.bare(), Via::File, Via::File))
                .secrets(secrets.clone());
            std::thread::spawn(move || xaa.run())
        })
        .collect();
    for run in runs {
        let run = run.join().expect("the run's thread").expect_code(0);
        setup.printed_token(&run);
    }
    let redemptions: Vec<_> = kit
        .sign_in_records()
        .into_iter()
        .filter(|record| record.is_refresh_redemption())
        .map(|record| (record.refresh_generation, record.error))
        .collect();
    assert_eq!(
        redemptions,
        vec![(Some(0), None)],
        "one redemption; the other run found the session renewed"
    );
    let renewed = session_secrets(&open_sealed(&store, &key));
    assert_ne!(renewed[1], secrets[1], "the rotated refresh token is kept");
}

#[test]
fn a_wrong_key_in_the_keyring_is_a_clear_error_the_file_untouched_until_logout() {
    let Some(secret_service) = SecretService::start() else {
        return;
    };
    let kit = kit(Options::new());
    kit.set_device_poll_interval(Duration::from_secs(1));
    let setup = Setup::new(&kit);
    let store = setup.dir.path().join("store.json");
    let login = device_login(&kit, Some(&store), &secret_service.env_pairs(), "alice");
    assert_eq!(login.code, 0, "{}", login.stderr);
    let (_, account) = envelope(&store);
    let key = secret_service.lookup(&account).expect("the data key");
    let wrong = STANDARD.encode([7u8; 32]);
    secret_service.replace(&account, &wrong);
    assert_eq!(secret_service.lookup(&account), Some(wrong.clone()));
    let sealed = std::fs::read(&store).expect("store");

    for command in [
        secret_service
            .xaa(Xaa::new(["status", "--token-store"]))
            .args([store.clone().into_os_string()]),
        secret_service
            .xaa(setup.credentials(setup.bare(), Via::File, Via::File))
            .args(["--token-store".into(), store.clone().into_os_string()]),
    ] {
        let refused = command
            .secrets([key.clone(), wrong.clone()])
            .run()
            .expect_code(EXIT_USAGE);
        assert!(
            refused.stderr.contains(&format!(
                "token store {} cannot be opened: the data key in the OS credential store \
                 does not open it",
                store.display()
            )),
            "{refused}"
        );
        assert!(
            refused
                .stderr
                .contains("run xaa logout (or delete the file), then sign in again with xaa login"),
            "the fix is named: {refused}"
        );
        assert_eq!(std::fs::read(&store).expect("store"), sealed, "untouched");
    }
    // The fix named: signing out deletes the store no key opens, and says what it could not do.
    let logout = secret_service
        .xaa(Xaa::new(["logout", "--insecure-loopback", "--token-store"]))
        .args([store.clone().into_os_string()])
        .secrets([key.clone(), wrong.clone()])
        .run()
        .expect_code(0);
    assert!(
        logout
            .stderr
            .contains("the refresh token it held was not revoked"),
        "{logout}"
    );
    assert!(!store.exists(), "deleted");
    assert!(
        kit.sign_in_records()
            .iter()
            .all(|record| !record.is_refresh_redemption()),
        "nothing was sent with a token no key could read"
    );
    assert_eq!(
        secret_service.lookup(&account),
        Some(wrong),
        "the entry is not replaced either"
    );
}

#[test]
fn a_plaintext_store_is_sealed_on_its_next_write_once_a_credential_store_answers() {
    let Some(secret_service) = SecretService::start() else {
        return;
    };
    let kit = kit(Options::new());
    kit.set_device_poll_interval(Duration::from_secs(1));
    let setup = Setup::new(&kit);
    let store = setup.dir.path().join("store.json");
    let mut env = secret_service.env_pairs();
    env.push(("XAA_CREDENTIAL_STORE".into(), "none".into()));
    let login = device_login(&kit, Some(&store), &env, "alice");
    assert_eq!(login.code, 0, "{}", login.stderr);
    assert!(
        !login.stderr.contains("notice"),
        "none is chosen, not a fallback"
    );
    let plain: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&store).expect("store")).expect("JSON");
    let secrets = session_secrets(&plain);

    secret_service
        .xaa(setup.credentials(setup.bare(), Via::File, Via::File))
        .args(["--token-store".into(), store.clone().into_os_string()])
        .secrets(secrets.clone())
        .run()
        .expect_code(0);
    let (_, account) = envelope(&store);
    let key = secret_service.lookup(&account).expect("the key made now");
    let sealed = open_sealed(&store, &key);
    assert_eq!(
        session_secrets(&sealed),
        secrets,
        "the same session, sealed"
    );
    assert_eq!(sealed["tokens"].as_array().map(Vec::len), Some(1));
    assert_absent(
        &std::fs::read(&store).expect("store"),
        &secrets,
        "the sealed file",
    );
}

/// The environment of a run whose session bus does not exist.
fn without_a_bus(dir: &TempDir) -> Vec<(String, String)> {
    let runtime = dir.subdir("runtime", 0o700);
    vec![
        (
            "DBUS_SESSION_BUS_ADDRESS".into(),
            format!("unix:path={}", runtime.join("no-bus").display()),
        ),
        (
            "XDG_RUNTIME_DIR".into(),
            runtime.to_string_lossy().into_owned(),
        ),
    ]
}

#[test]
fn auto_without_a_bus_keeps_the_store_unencrypted_with_exactly_one_notice() {
    let kit = kit(Options::new());
    kit.set_device_poll_interval(Duration::from_secs(1));
    let setup = Setup::new(&kit);
    let store = setup.dir.path().join("store.json");
    let mut env = without_a_bus(&setup.dir);
    env.push(("XAA_CREDENTIAL_STORE".into(), "auto".into()));
    let login = device_login(&kit, Some(&store), &env, "alice");
    assert_eq!(login.code, 0, "{}", login.stderr);
    assert_eq!(
        login
            .stderr
            .matches("xaa: notice: no OS credential store answered")
            .count(),
        1,
        "{}",
        login.stderr
    );
    assert!(
        login.stderr.contains(&format!(
            "so the token store {} keeps the session and tokens unencrypted",
            store.display()
        )),
        "{}",
        login.stderr
    );
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&store).expect("store")).expect("JSON");
    assert_eq!(document["version"], 1, "the plaintext format");
    assert_eq!(mode(&store), 0o600);

    let mut status = Xaa::new(["status", "--token-store"]).args([store.clone().into_os_string()]);
    for (name, value) in &env {
        status = status.env(name, value);
    }
    let status = status.run().expect_code(0);
    assert!(
        status
            .stdout
            .contains("protection: unencrypted: no OS credential store ("),
        "{status}"
    );
}

#[test]
fn os_without_a_bus_fails_before_the_sign_in_and_writes_nothing() {
    let kit = kit(Options::new());
    let dir = TempDir::new();
    let store = dir.path().join("store.json");
    let mut env = without_a_bus(&dir);
    env.push(("XAA_CREDENTIAL_STORE".into(), "os".into()));
    let started = Instant::now();
    let args = login_args(&kit, &dir, &store, &["--device"]);
    let login = LoginRun::start_with(&args, &env).finish("");
    assert_eq!(login.code, EXIT_USAGE, "{}", login.stderr);
    assert!(
        login
            .stderr
            .contains("--credential-store os, but no OS credential store answered"),
        "{}",
        login.stderr
    );
    assert!(!store.exists(), "nothing written");
    assert!(kit.sign_in_records().is_empty(), "the IdP was never asked");
    assert!(started.elapsed() < Duration::from_secs(10), "bounded");
}

#[test]
fn a_bus_whose_secret_service_never_comes_is_given_up_on_within_the_bound() {
    if !installed(&["dbus-daemon"]) {
        return;
    }
    let dir = private_dirs();
    // Asking for the Secret Service activates this, which never takes the name: the bus
    // would hold the call until its activation timeout (25 s by default).
    dir.write(
        "services/org.freedesktop.secrets.service",
        "[D-BUS Service]\nName=org.freedesktop.secrets\nExec=/bin/sleep 8\n",
    );
    let bus = Bus::start(&dir);
    let store = dir.path().join("store.json");
    let runtime = dir.path().join("runtime");
    let env = [
        ("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str()),
        ("XDG_RUNTIME_DIR", &runtime.to_string_lossy()),
    ];
    let with_env = |mut xaa: Xaa| {
        for (name, value) in env {
            xaa = xaa.env(name, value);
        }
        xaa
    };
    let started = Instant::now();
    let refused = with_env(Xaa::new([
        "status",
        "--credential-store",
        "os",
        "--token-store",
    ]))
    .args([store.clone().into_os_string()])
    .run()
    .expect_code(EXIT_USAGE);
    let waited = started.elapsed();
    assert!(
        refused
            .stderr
            .contains("no OS credential store answered: it did not answer within 3 s"),
        "{refused}"
    );
    assert!(
        waited >= Duration::from_millis(2900) && waited < Duration::from_secs(10),
        "cut off at the bound, not at the bus's timeout: {waited:?}"
    );
    assert!(!store.exists());
}
