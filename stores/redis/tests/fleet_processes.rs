//! Four replica processes of one gateway sharing a real redis-server: this test binary starts
//! itself four times as a replica child (the test `replica_child`, which does nothing unless
//! the parent set its environment), each with its own `xaa-ureq` authorizer and 32 concurrent
//! callers for one user, cold. The loopback testkit, in the parent, counts the exchanges.

mod harness;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use harness::RedisServer;
use xaa::authorizer::{AuthorizerConfig, User};
use xaa::driver::SharedStore;
use xaa::grant::SubjectToken;
use xaa::{
    AuthorizationServer, ClientCredentials, ClientSecret, IdToken, IdentityProvider, Policy,
};
use xaa_redis::{KeyPrefix, RedisSharedStore, SealingKey, SealingKeys, Timeouts};
use xaa_testkit::{Endpoint, Options, Testkit};
use xaa_ureq::{Authorizer, Client, ProxySetting};

const REPLICAS: usize = 4;
const CALLERS_PER_REPLICA: usize = 32;

/// The environment a replica child reads; without `CHILD`, `replica_child` returns at once.
const CHILD: &str = "XAA_FLEET_REPLICA";
const MCP_URL: &str = "XAA_FLEET_MCP_URL";
const IDP_ISSUER: &str = "XAA_FLEET_IDP_ISSUER";
const AS_CLIENT_ID: &str = "XAA_FLEET_AS_CLIENT_ID";
const AS_SECRET: &str = "XAA_FLEET_AS_SECRET";
const REDIS_URL: &str = "XAA_FLEET_REDIS_URL";
const WARM_ID_TOKEN: &str = "XAA_FLEET_WARM_ID_TOKEN";
const ID_TOKEN: &str = "XAA_FLEET_ID_TOKEN";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("the parent sets {name}"))
}

fn user(id_token: String) -> User {
    User::from_id_token(SubjectToken::IdToken(IdToken::new(id_token))).expect("a user")
}

/// A replica: discovers the MCP server (a token for the warm-up user), says `ready`, waits for
/// `go` on its standard input, then has 32 threads ask a token for the user at once and prints
/// each token's SHA-256 (never the token).
#[test]
fn replica_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let credentials =
        ClientCredentials::basic(env(AS_CLIENT_ID), ClientSecret::new(env(AS_SECRET)));
    let config = AuthorizerConfig::new(
        env(MCP_URL),
        IdentityProvider::issuer(
            env(IDP_ISSUER),
            ClientCredentials::public(xaa_testkit::IDP_CLIENT_ID),
        ),
        AuthorizationServer::discovered(credentials),
    )
    .policy(Policy::loopback());
    let redis = redis::Client::open(env(REDIS_URL)).expect("a Redis URL");
    let keys = SealingKeys::new(SealingKey::new(1, &[7; 32]).expect("a 32-byte key"));
    let store = RedisSharedStore::new(
        redis,
        Timeouts::default(),
        KeyPrefix::new("fleet").expect("a valid prefix"),
        keys,
    );
    let shared = SharedStore::blocking(store);
    let client = Client::builder()
        .proxy(ProxySetting::None)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("a client")
        .with_shared_store(shared.clone());
    let authorizer = Authorizer::with_client(config, client);
    authorizer
        .token(&user(env(WARM_ID_TOKEN)))
        .expect("a warm-up token");
    println!("ready");
    let mut go = String::new();
    std::io::stdin()
        .read_line(&mut go)
        .expect("the parent's go");

    let barrier = Arc::new(Barrier::new(CALLERS_PER_REPLICA));
    let digests: Vec<String> = std::thread::scope(|scope| {
        let callers: Vec<_> = (0..CALLERS_PER_REPLICA)
            .map(|_| {
                let (authorizer, alice, barrier) =
                    (&authorizer, user(env(ID_TOKEN)), Arc::clone(&barrier));
                scope.spawn(move || {
                    barrier.wait();
                    let token = authorizer.token(&alice).expect("every caller is served");
                    hex(digest(&SHA256, token.expose_secret().as_bytes()).as_ref())
                })
            })
            .collect();
        callers
            .into_iter()
            .map(|caller| caller.join().expect("no panic"))
            .collect()
    });
    for digest in digests {
        println!("token {digest}");
    }
    println!("fallbacks {}", shared.fallbacks());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn spawn_replica(kit: &Testkit, server: &RedisServer) -> Child {
    let secret = kit
        .as_client()
        .secret()
        .expect("the kit's authorization server client has a secret")
        .expose_secret()
        .to_owned();
    Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--exact",
            "replica_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env(MCP_URL, kit.mcp_url())
        .env(IDP_ISSUER, kit.idp_issuer())
        .env(AS_CLIENT_ID, kit.as_client().client_id)
        .env(AS_SECRET, secret)
        .env(REDIS_URL, server.url())
        .env(WARM_ID_TOKEN, kit.id_token("bob").expose_secret())
        .env(ID_TOKEN, kit.id_token("alice").expose_secret())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("a replica process")
}

/// The lines the replica printed after `prefix`, until it exits.
fn lines_after(reader: &mut impl BufRead, prefix: &str) -> Vec<String> {
    reader
        .lines()
        .map(|line| line.expect("the replica's output"))
        .filter_map(|line| line.strip_prefix(prefix).map(str::to_owned))
        .collect()
}

fn wait_for_ready(reader: &mut impl BufRead) {
    let mut line = String::new();
    loop {
        line.clear();
        assert_ne!(
            reader.read_line(&mut line).expect("the replica's output"),
            0,
            "the replica exited before it was ready"
        );
        // The test harness prints `test replica_child ... ` before the test's own output.
        if line.trim_end().ends_with("ready") {
            return;
        }
    }
}

/// Kills the replicas still running after a minute, so that a replica that hangs ends the test
/// (its output closes, the assertions fail) instead of hanging it.
struct Watchdog {
    done: std::sync::mpsc::Sender<()>,
}

impl Watchdog {
    fn start(pids: Vec<u32>) -> Self {
        let (done, finished) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if finished.recv_timeout(Duration::from_secs(60)).is_err() {
                for pid in pids {
                    let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
                }
            }
        });
        Self { done }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let _ = self.done.send(());
    }
}

#[test]
fn four_replica_processes_of_thirty_two_cold_callers_make_one_exchange() {
    let Some(server) = RedisServer::start("four_replica_processes") else {
        return;
    };
    let kit = Testkit::start(Options::default()).expect("the kit starts");
    let mut replicas: Vec<(Child, BufReader<std::process::ChildStdout>)> = (0..REPLICAS)
        .map(|_| {
            let mut child = spawn_replica(&kit, &server);
            let stdout = BufReader::new(child.stdout.take().expect("piped"));
            (child, stdout)
        })
        .collect();
    let _watchdog = Watchdog::start(replicas.iter().map(|(child, _)| child.id()).collect());
    for (_, stdout) in &mut replicas {
        wait_for_ready(stdout);
    }
    kit.clear_requests();
    // A slow exchange widens the window in which the replicas meet the lease.
    kit.set_delay(Endpoint::IdpToken, Duration::from_millis(300));

    for (child, _) in &mut replicas {
        let stdin = child.stdin.as_mut().expect("piped");
        stdin.write_all(b"go\n").expect("go");
        stdin.flush().expect("go");
    }
    let mut digests = Vec::new();
    for (mut child, mut stdout) in replicas {
        let lines: Vec<String> = lines_after(&mut stdout, "");
        assert!(
            child.wait().expect("the replica exits").success(),
            "{lines:#?}"
        );
        digests.extend(
            lines
                .iter()
                .filter_map(|line| line.strip_prefix("token ").map(str::to_owned)),
        );
        assert!(
            lines.iter().any(|line| line == "fallbacks 0"),
            "no replica went without Redis: {lines:#?}"
        );
    }

    assert_eq!(
        digests.len(),
        REPLICAS * CALLERS_PER_REPLICA,
        "every caller served"
    );
    assert!(
        digests.iter().all(|d| *d == digests[0]),
        "one token for all"
    );
    assert_eq!(
        kit.requests_to(Endpoint::IdpToken).len(),
        1,
        "{:#?}",
        kit.requests()
    );
    assert_eq!(kit.requests_to(Endpoint::AsToken).len(), 1);
}
