//! The local cache at a number of users, in a process of its own: heap bytes per cached token
//! (the counting global allocator below, bytes in use after the inserts less before), and how
//! long an insert and a lookup take at that size.
//!
//! Two structures are measured:
//!
//! * the authorizer a gateway holds (`xaa::authorizer::Authorizer`): its token cache and its
//!   per-user records. Its cache is filled through its own path for a token read from a store
//!   (`Authorizer::with_store`): a store that hands out, for any user, a copy of a real token
//!   of the kit (same length, same fields, its text made unique per user). An insert is
//!   `acquire` for a user it has not seen (store read included); a lookup, `acquire` for a
//!   user it holds;
//! * `xaa::cache::TokenCache` alone, the map inside it: `insert` and `lookup`.

use std::alloc::System;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use cap::Cap;
use xaa::AccessToken;
use xaa::authorizer::{Acquired, Authorizer, User};
use xaa::cache::{CacheKey, CachedToken, Lookup, Principal, TokenCache, TokenStore};
use xaa_testkit::Testkit;

use crate::BoxError;
use crate::child::ChildProcess;
use crate::job::{Job, Kit, MemoryJob, MemoryReport, Report, user};
use crate::summary::Summary;

/// Every allocation of the process, counted (in every mode of the binary, since a global
/// allocator is the process's): the memory figure reads the bytes in use. The count costs an
/// atomic add per allocation, alike for every case compared.
#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

/// How long a measurement may take.
const TIMEOUT: Duration = Duration::from_secs(120);

/// The refresh lead: no token is due while the samples are taken.
const LEAD: Duration = Duration::from_secs(5);

/// The digits that make each minted token's text unique.
const SERIAL_DIGITS: usize = 20;

/// In the parent: measures the local cache at `users` users in a child process of its own.
pub(crate) fn in_child(kit: &Testkit, users: usize) -> Result<MemoryReport, BoxError> {
    let job = Job::Memory(MemoryJob {
        kit: Kit::of(kit)?,
        warm_id_token: kit.id_token("memory-warm").expose_secret().to_owned(),
        users,
    });
    match ChildProcess::spawn(format!("memory at {users} users"), &job)?.report(TIMEOUT)? {
        Report::Memory(report) => Ok(report),
        _ => Err("the memory child sent another kind of report".into()),
    }
}

/// A store that has a token for every user: the template's, with a text of its own.
struct MintingStore {
    template: CachedToken,
    /// The template's text less its last [`SERIAL_DIGITS`] characters.
    stem: String,
    minted: AtomicU64,
}

impl MintingStore {
    fn new(template: CachedToken) -> Self {
        let text = template.access_token.expose_secret();
        let keep = text.chars().count().saturating_sub(SERIAL_DIGITS);
        Self {
            stem: text.chars().take(keep).collect(),
            template,
            minted: AtomicU64::new(0),
        }
    }

    /// A copy of the template whose text, as long as the template's (at least
    /// [`SERIAL_DIGITS`] characters), ends in a number unique to this copy.
    fn mint(&self) -> CachedToken {
        let number = self.minted.fetch_add(1, Ordering::Relaxed);
        let mut token = self.template.clone();
        token.access_token = AccessToken::new(format!("{}{number:020}", self.stem));
        token
    }
}

impl TokenStore for MintingStore {
    fn load(&self, _key: &CacheKey) -> Option<CachedToken> {
        Some(self.mint())
    }

    fn save(&self, _key: &CacheKey, _token: &CachedToken) {}

    fn remove(&self, _key: &CacheKey) {}
}

/// In the child: runs the measurement.
pub(crate) fn run(job: &MemoryJob) -> Result<MemoryReport, BoxError> {
    let (template, key) = kit_token(job)?;
    let store = Arc::new(MintingStore::new(template));
    let config = job.kit.config(LEAD, job.users.saturating_add(16));
    let authorizer = Authorizer::with_store(config, Arc::clone(&store) as Arc<dyn TokenStore>);
    // The discovery: the authorizer learns it from one flow, run here against the kit.
    let runtime = crate::gateway::runtime()?;
    let driver =
        xaa_reqwest::Authorizer::from_authorizer(authorizer.clone(), crate::gateway::client(None)?);
    runtime.block_on(driver.token(&user(&job.warm_id_token)?))?;
    drop(driver);
    drop(runtime);

    // Every user's subject token: never read, since no flow runs (the store answers).
    let subject = Arc::new(xaa::grant::SubjectToken::IdToken(xaa::IdToken::new(
        job.warm_id_token.as_str(),
    )));
    let user_number = |n: usize| {
        User::new(
            Principal::subject(job.kit.idp_issuer.as_str(), format!("user-{n:07}")),
            Arc::clone(&subject) as Arc<dyn xaa::authorizer::SubjectTokenSource>,
        )
    };
    let now = SystemTime::now();
    let (authorizer_bytes, authorizer_insert, authorizer_lookup) =
        measure(job.users, user_number, |user| {
            expect_token(authorizer.acquire(user, now))
        })?;

    let mut cache = TokenCache::new().with_max_entries(job.users.saturating_add(16));
    let cache_key = |n: usize| {
        CacheKey::new(
            key.authorization_server(),
            key.resource(),
            key.client_id(),
            key.scope(),
            Principal::subject(job.kit.idp_issuer.as_str(), format!("user-{n:07}")),
        )
    };
    let mut inserts = Vec::with_capacity(job.users);
    let mut lookups = Vec::with_capacity(job.users);
    let heap_before = HEAP.allocated();
    for n in 0..job.users {
        let (key, token) = (cache_key(n), store.mint());
        let started = Instant::now();
        cache.insert(key, token);
        inserts.push(nanos(started));
    }
    let cache_bytes = HEAP.allocated().saturating_sub(heap_before) as f64;
    for n in 0..job.users {
        let key = cache_key(n);
        let started = Instant::now();
        let found = matches!(cache.lookup(&key, now), Lookup::Fresh(_));
        lookups.push(nanos(started));
        if !found {
            return Err("a token the cache was given is not fresh in it".into());
        }
    }

    Ok(MemoryReport {
        users: job.users,
        token_bytes: store.mint().access_token.expose_secret().len(),
        authorizer_bytes_per_user: authorizer_bytes / job.users as f64,
        authorizer_insert,
        authorizer_lookup,
        cache_bytes_per_entry: cache_bytes / job.users as f64,
        cache_insert: Summary::of_nanos(&inserts),
        cache_lookup: Summary::of_nanos(&lookups),
    })
}

/// A real token of the kit for the warm-up user, and its cache key: one flow through an
/// authorizer of its own.
fn kit_token(job: &MemoryJob) -> Result<(CachedToken, CacheKey), BoxError> {
    let runtime = crate::gateway::runtime()?;
    let driver = crate::gateway::authorizer(&job.kit, LEAD, crate::gateway::client(None)?);
    let warm = user(&job.warm_id_token)?;
    runtime.block_on(driver.token(&warm))?;
    let core = driver.authorizer();
    let key = core
        .cache_key_for(&warm)
        .ok_or("the authorizer knows the cache key after a flow")?;
    let token = core
        .cached_token(&key, SystemTime::now())
        .ok_or("the authorizer caches the token of its flow")?;
    Ok((token, key))
}

/// Inserts `users` users (made by `make`, outside the timing) through `acquire`, then looks
/// each up: the heap bytes the inserts kept, and the two timings.
fn measure(
    users: usize,
    make: impl Fn(usize) -> User,
    acquire: impl Fn(&User) -> Result<(), BoxError>,
) -> Result<(f64, Summary, Summary), BoxError> {
    let mut inserts = Vec::with_capacity(users);
    let mut lookups = Vec::with_capacity(users);
    let heap_before = HEAP.allocated();
    for n in 0..users {
        let user = make(n);
        let started = Instant::now();
        acquire(&user)?;
        inserts.push(nanos(started));
    }
    let bytes = HEAP.allocated().saturating_sub(heap_before) as f64;
    for n in 0..users {
        let user = make(n);
        let started = Instant::now();
        acquire(&user)?;
        lookups.push(nanos(started));
    }
    Ok((
        bytes,
        Summary::of_nanos(&inserts),
        Summary::of_nanos(&lookups),
    ))
}

/// The authorizer answered with a token at once (no flow, no wait).
fn expect_token(acquired: Result<Acquired, xaa::Error>) -> Result<(), BoxError> {
    match acquired? {
        Acquired::Token(_) => Ok(()),
        _ => Err("the authorizer did not answer from its cache or its store".into()),
    }
}

fn nanos(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
