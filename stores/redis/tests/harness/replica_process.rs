//! Replica processes of one gateway sharing a real redis-server: the test binary started again
//! as a child that runs only its test `replica_child` (which does nothing unless the parent
//! set its environment). Each child has its own `xaa-ureq` authorizer over a
//! [`RedisSharedStore`]; the loopback testkit, in the parent, counts the exchanges.
//!
//! A child discovers the MCP server (a token for a warm-up user), says `ready`, then runs one
//! round per `go <ID token>` line on its standard input: [`CALLERS_PER_REPLICA`] threads ask a
//! token for that user at once, and it prints each token's SHA-256 (never the token), its
//! fallback count and `done`. It also says `leased` when it takes the lease and `held` when
//! another replica has it, so a parent can act while a flow runs. Every line the child means
//! for the parent starts with [`MARK`]; the test harness' own output is ignored.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{SHA256, digest};
use xaa::authorizer::{AuthorizerConfig, User};
use xaa::cache::{CacheKey, CachedToken};
use xaa::driver::{LeaseId, Leased, SharedStore, SharedTokenStore, StoreUnavailable};
use xaa::grant::SubjectToken;
use xaa::{
    AccessToken, AuthorizationServer, ClientCredentials, ClientSecret, IdToken, IdentityProvider,
    Policy,
};
use xaa_redis::{KeyPrefix, RedisSharedStore, SealingKey, SealingKeys, Timeouts};
use xaa_testkit::Testkit;
use xaa_ureq::{Authorizer, Client, ProxySetting};

use super::RedisServer;

/// The concurrent callers of one round in each replica.
pub(crate) const CALLERS_PER_REPLICA: usize = 32;

/// The start of every line a child prints for its parent.
const MARK: &str = "replica: ";

/// The environment a replica child reads; without `CHILD`, [`child_main`] returns at once.
const CHILD: &str = "XAA_FLEET_REPLICA";
const MCP_URL: &str = "XAA_FLEET_MCP_URL";
const IDP_ISSUER: &str = "XAA_FLEET_IDP_ISSUER";
const AS_CLIENT_ID: &str = "XAA_FLEET_AS_CLIENT_ID";
const AS_SECRET: &str = "XAA_FLEET_AS_SECRET";
const REDIS_URL: &str = "XAA_FLEET_REDIS_URL";
const WARM_ID_TOKEN: &str = "XAA_FLEET_WARM_ID_TOKEN";
const LEASE_TTL_MS: &str = "XAA_FLEET_LEASE_TTL_MS";

/// Short, so that a stopped Redis costs each step well under a second.
const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_millis(300),
    response: Duration::from_millis(500),
};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("the parent sets {name}"))
}

fn user(id_token: &str) -> User {
    User::from_id_token(SubjectToken::IdToken(IdToken::new(id_token))).expect("a user")
}

fn say(line: &str) {
    println!("{MARK}{line}");
}

/// The shared store, saying when it takes the lease or finds it held.
struct Announcing(RedisSharedStore);

impl SharedTokenStore for Announcing {
    fn load(&self, key: &CacheKey) -> Result<Option<CachedToken>, StoreUnavailable> {
        self.0.load(key)
    }

    fn save(&self, key: &CacheKey, token: &CachedToken) -> Result<(), StoreUnavailable> {
        self.0.save(key, token)
    }

    fn remove(&self, key: &CacheKey, refused: &AccessToken) -> Result<(), StoreUnavailable> {
        self.0.remove(key, refused)
    }

    fn try_lease(&self, key: &CacheKey, ttl: Duration) -> Result<Leased, StoreUnavailable> {
        let leased = self.0.try_lease(key, ttl)?;
        say(match leased {
            Leased::Acquired(_) => "leased",
            Leased::Held => "held",
        });
        Ok(leased)
    }

    fn renew(
        &self,
        key: &CacheKey,
        lease: LeaseId,
        ttl: Duration,
    ) -> Result<bool, StoreUnavailable> {
        self.0.renew(key, lease, ttl)
    }

    fn release(&self, key: &CacheKey, lease: LeaseId) -> Result<(), StoreUnavailable> {
        self.0.release(key, lease)
    }

    fn wait_for(&self, key: &CacheKey, timeout: Duration) -> Result<(), StoreUnavailable> {
        self.0.wait_for(key, timeout)
    }
}

/// The body of each test binary's `replica_child` test: a replica when the parent started
/// this process as one, nothing otherwise.
pub(crate) fn child_main() {
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
        TIMEOUTS,
        KeyPrefix::new("fleet").expect("a valid prefix"),
        keys,
    );
    let lease_ttl = env(LEASE_TTL_MS).parse().expect("a number of milliseconds");
    let shared =
        SharedStore::blocking(Announcing(store)).with_lease_ttl(Duration::from_millis(lease_ttl));
    let client = Client::builder()
        .proxy(ProxySetting::None)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("a client")
        .with_shared_store(shared.clone());
    let authorizer = Authorizer::with_client(config, client);
    authorizer
        .token(&user(&env(WARM_ID_TOKEN)))
        .expect("a warm-up token");
    say("ready");
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("the parent's line");
        let Some(id_token) = line.strip_prefix("go ") else {
            continue;
        };
        for outcome in round(&authorizer, id_token) {
            match outcome {
                Ok(digest) => say(&format!("token {digest}")),
                Err(error) => say(&format!("failed {error}")),
            }
        }
        say(&format!("fallbacks {}", shared.fallbacks()));
        say("done");
    }
}

/// Every caller's outcome: its token's SHA-256 in hexadecimal, or its error.
fn round(authorizer: &Authorizer, id_token: &str) -> Vec<Result<String, String>> {
    let barrier = Arc::new(Barrier::new(CALLERS_PER_REPLICA));
    std::thread::scope(|scope| {
        let callers: Vec<_> = (0..CALLERS_PER_REPLICA)
            .map(|_| {
                let (user, barrier) = (user(id_token), Arc::clone(&barrier));
                scope.spawn(move || {
                    barrier.wait();
                    authorizer
                        .token(&user)
                        .map(
                            |token| hex(digest(&SHA256, token.expose_secret().as_bytes()).as_ref()),
                        )
                        .map_err(|error| error.to_string())
                })
            })
            .collect();
        callers
            .into_iter()
            .map(|caller| {
                caller
                    .join()
                    .unwrap_or_else(|_| Err("a caller panicked".into()))
            })
            .collect()
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What a round of one replica gave.
#[derive(Debug)]
pub(crate) struct Round {
    /// The SHA-256 of each caller's token.
    pub(crate) tokens: Vec<String>,
    /// The errors of the callers that were not served.
    pub(crate) failures: Vec<String>,
    /// The replica's count of calls that went on without Redis, since it started.
    pub(crate) fallbacks: u64,
    /// When the parent read the end of the round.
    pub(crate) ended_at: Instant,
}

/// A replica child, seen from the parent: killed (SIGKILL) when dropped, so that no test
/// leaves one behind.
pub(crate) struct ReplicaProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl ReplicaProcess {
    /// Starts a replica against `kit` and `server`, with leases of `lease_ttl`, and waits until
    /// it is ready (it has discovered the MCP server).
    pub(crate) fn start(kit: &Testkit, server: &RedisServer, lease_ttl: Duration) -> Self {
        let secret = kit
            .as_client()
            .secret()
            .expect("the kit's authorization server client has a secret")
            .expose_secret()
            .to_owned();
        let mut child = Command::new(std::env::current_exe().expect("this test binary"))
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
            .env(LEASE_TTL_MS, lease_ttl.as_millis().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("a replica process");
        let stdout = child.stdout.take().expect("piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                // The test harness may print `test replica_child ... ` before the first line.
                if let Some(at) = line.find(MARK)
                    && sender.send(line[at + MARK.len()..].to_owned()).is_err()
                {
                    return;
                }
            }
        });
        let stdin = child.stdin.take();
        let replica = Self {
            child,
            stdin,
            lines,
        };
        replica.expect("ready", Duration::from_secs(30));
        replica
    }

    /// Starts a round of the replica's callers asking a token for the kit's user `name`.
    pub(crate) fn go(&mut self, kit: &Testkit, name: &str) {
        let stdin = self.stdin.as_mut().expect("the replica's input is open");
        let line = format!("go {}\n", kit.id_token(name).expose_secret());
        stdin.write_all(line.as_bytes()).expect("go");
        stdin.flush().expect("go");
    }

    /// The replica's next line, if it comes within `timeout` (none once the replica exited).
    pub(crate) fn next_line(&self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// Reads lines until `wanted`; panics when it does not come within `timeout`.
    pub(crate) fn expect(&self, wanted: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        while let Some(line) = self.next_line(deadline.saturating_duration_since(Instant::now())) {
            if line == wanted {
                return;
            }
            seen.push(line);
        }
        panic!("the replica did not say {wanted:?} within {timeout:?}; it said {seen:#?}");
    }

    /// The rest of the current round, which must end within `timeout`.
    pub(crate) fn round(&self, timeout: Duration) -> Round {
        let deadline = Instant::now() + timeout;
        let (mut tokens, mut failures, mut fallbacks) = (Vec::new(), Vec::new(), None);
        while let Some(line) = self.next_line(deadline.saturating_duration_since(Instant::now())) {
            if let Some(digest) = line.strip_prefix("token ") {
                tokens.push(digest.to_owned());
            } else if let Some(error) = line.strip_prefix("failed ") {
                failures.push(error.to_owned());
            } else if let Some(count) = line.strip_prefix("fallbacks ") {
                fallbacks = count.parse().ok();
            } else if line == "done" {
                return Round {
                    tokens,
                    failures,
                    fallbacks: fallbacks.expect("the replica reports its fallbacks"),
                    ended_at: Instant::now(),
                };
            }
        }
        panic!("the round did not end within {timeout:?}: {tokens:?} {failures:?}");
    }

    /// Kills the replica with SIGKILL, as a crash or an OOM kill would, and reaps it.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Closes the replica's input and waits for it to exit; panics unless it exits well.
    pub(crate) fn finish(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().expect("the replica exits");
        assert!(status.success(), "the replica failed: {status}");
    }
}

impl Drop for ReplicaProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}
