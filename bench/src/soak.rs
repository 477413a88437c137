//! `xaa-bench soak`: one authorizer serving a million distinct users over simulated weeks
//! (decisions.md D26), without I/O. The clock is passed in, the servers are canned answers, and
//! each user's flow runs through `xaa::drive`; the resident set (`VmRSS`, `VmHWM` of
//! `/proc/self/status`) is sampled as the users pass. The report gives its plateau and the
//! memory per live user.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, StatusCode};
use xaa::authorizer::{Acquired, Authorizer, AuthorizerConfig, Flight, Landed, User};
use xaa::cache::{MemoryTokenStore, Principal};
use xaa::grant::SubjectToken;
use xaa::{
    AccessToken, AuthorizationServer, ClientCredentials, ClientSecret, DriveError, HttpRequest,
    HttpResponse, IdToken, IdentityProvider,
};

use crate::contenders::BoxError;
use crate::stats::{peak_rss_kb, rss_kb};

const HELP: &str = "\
xaa-bench soak: one authorizer, many distinct users over simulated time, no I/O.

USAGE: cargo run -p xaa-bench --release -- soak [OPTIONS]

OPTIONS:
  --users N           distinct users, each arriving once (default 1000000)
  --days D            simulated time the arrivals spread over (default 21)
  --lifetime-s S      access-token lifetime (default 3600)
  --max-entries N     AuthorizerConfig::max_entries, and the store's capacity (default 100000)
  --store KIND        memory: Authorizer::with_store over a MemoryTokenStore, as a gateway
                      sharing a store would; none: Authorizer::new (default memory)
  --samples N         resident-set samples over the run (default 100)
  -h, --help          this text

Each user asks for a token once, on arrival: a full exchange (token exchange at the IdP, then
jwt-bearer at the authorization server) answered from memory, then an MCP answer of 200. The
access tokens are 1 KiB, as a JWT access token of an enterprise IdP is.";

const MCP: &str = "https://mcp.example.com/mcp";
const PRM: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
const AS: &str = "https://as.example.com";
const AS_META: &str = "https://as.example.com/.well-known/oauth-authorization-server";
const AS_TOKEN: &str = "https://as.example.com/token";
const IDP: &str = "https://idp.example.com";
const IDP_META: &str = "https://idp.example.com/.well-known/oauth-authorization-server";
const IDP_TOKEN: &str = "https://idp.example.com/token";
const AS_CLIENT: &str = "mcp-gateway";
const IDP_CLIENT: &str = "mcp-gateway-at-idp";
/// The first arrival: 2026-11-26T00:00:00Z.
const START: u64 = 1_795_651_200;
/// The length of the access tokens the authorization server issues.
const ACCESS_TOKEN_BYTES: usize = 1024;

#[derive(Clone, Debug)]
struct Params {
    users: u64,
    span: Duration,
    lifetime: Duration,
    max_entries: usize,
    memory_store: bool,
    samples: u64,
}

impl Params {
    fn parse(args: impl Iterator<Item = String>) -> Result<Option<Self>, BoxError> {
        let mut params = Self {
            users: 1_000_000,
            span: Duration::from_secs(21 * 86_400),
            lifetime: Duration::from_secs(3600),
            max_entries: 100_000,
            memory_store: true,
            samples: 100,
        };
        let mut args = args;
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "-h" | "--help" => return Ok(None),
                "--users" => params.users = value()?.parse()?,
                "--days" => {
                    params.span = Duration::from_secs_f64(value()?.parse::<f64>()? * 86_400.0)
                }
                "--lifetime-s" => params.lifetime = Duration::from_secs(value()?.parse()?),
                "--max-entries" => params.max_entries = value()?.parse()?,
                "--store" => {
                    params.memory_store = match value()?.as_str() {
                        "memory" => true,
                        "none" => false,
                        other => return Err(format!("--store memory|none, not {other}").into()),
                    }
                }
                "--samples" => params.samples = value()?.parse()?,
                other => return Err(format!("unknown option {other}; see soak --help").into()),
            }
        }
        if params.users == 0 || params.samples == 0 || params.max_entries == 0 {
            return Err("--users, --samples and --max-entries must be positive".into());
        }
        Ok(Some(params))
    }

    /// When user `n` arrives.
    fn arrival(&self, n: u64) -> SystemTime {
        let offset = self.span.as_nanos() * u128::from(n) / u128::from(self.users);
        SystemTime::UNIX_EPOCH
            + Duration::from_secs(START)
            + Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX))
    }
}

/// The canned servers: discovery documents, an IdP minting ID-JAGs valid for five minutes from
/// the clock, an authorization server minting 1 KiB access tokens.
struct World {
    lifetime: Duration,
    grants: u64,
    /// The ID-JAG of the current second.
    id_jag: (u64, String),
    /// The bulk of every access token.
    token_body: String,
}

impl World {
    fn new(lifetime: Duration) -> Self {
        let token_body: String = (0..ACCESS_TOKEN_BYTES - 24)
            .map(|i| {
                char::from(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[i * 7 % 64],
                )
            })
            .collect();
        Self {
            lifetime,
            grants: 0,
            id_jag: (0, String::new()),
            token_body,
        }
    }

    fn answer(&mut self, request: &HttpRequest, now: SystemTime) -> HttpResponse {
        let url = request.uri().to_string();
        match (request.method().as_str(), url.as_str()) {
            ("POST", MCP) => {
                let challenge = format!(r#"Bearer resource_metadata="{PRM}", scope="tools:read""#);
                response(401, Some(&challenge), "")
            }
            ("GET", PRM) => response(
                200,
                None,
                &format!(r#"{{"resource":"{MCP}","authorization_servers":["{AS}"]}}"#),
            ),
            ("GET", AS_META) => response(
                200,
                None,
                &format!(
                    r#"{{"issuer":"{AS}","token_endpoint":"{AS_TOKEN}","grant_types_supported":["urn:ietf:params:oauth:grant-type:jwt-bearer"]}}"#
                ),
            ),
            ("GET", IDP_META) => response(
                200,
                None,
                &format!(r#"{{"issuer":"{IDP}","token_endpoint":"{IDP_TOKEN}"}}"#),
            ),
            ("POST", IDP_TOKEN) => {
                let id_jag = self.id_jag(now);
                let body = format!(
                    r#"{{"access_token":"{id_jag}","issued_token_type":"urn:ietf:params:oauth:token-type:id-jag","token_type":"N_A","expires_in":300}}"#
                );
                response(200, None, &body)
            }
            ("POST", AS_TOKEN) => {
                self.grants += 1;
                let body = format!(
                    r#"{{"access_token":"{}.{:023}","token_type":"Bearer","expires_in":{},"scope":"tools:read"}}"#,
                    self.token_body,
                    self.grants,
                    self.lifetime.as_secs()
                );
                response(200, None, &body)
            }
            _ => response(404, None, ""),
        }
    }

    fn id_jag(&mut self, now: SystemTime) -> String {
        let secs = unix(now);
        if self.id_jag.0 != secs {
            let header =
                serde_json::json!({"alg": "ES256", "typ": "oauth-id-jag+jwt", "kid": "idp-2026"});
            let claims = serde_json::json!({
                "iss": IDP, "sub": "gateway-user", "aud": AS, "client_id": AS_CLIENT,
                "jti": format!("jti-{secs}"), "iat": secs, "exp": secs + 300,
                "resource": MCP, "scope": "tools:read",
            });
            let signature =
                "c2lnbmF0dXJlLW9mLXRoZS1pZHAtb3Zlci10aGUtaGVhZGVyLWFuZC1jbGFpbXMtNjQtYnl0ZXM";
            self.id_jag = (
                secs,
                format!(
                    "{}.{}.{signature}",
                    xaa::jwt::encode_segment(&header),
                    xaa::jwt::encode_segment(&claims)
                ),
            );
        }
        self.id_jag.1.clone()
    }
}

fn response(status: u16, challenge: Option<&str>, body: &str) -> HttpResponse {
    let mut builder = http::Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(challenge) = challenge {
        builder = builder.header("www-authenticate", challenge);
    }
    builder
        .body(body.as_bytes().to_vec())
        .unwrap_or_else(|_| HttpResponse::new(Vec::new()))
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// One resident-set sample.
#[derive(Clone, Copy, Debug)]
struct Sample {
    users: u64,
    day: f64,
    cached: usize,
    stored: usize,
    principals: usize,
    dormant: usize,
    rss_kb: u64,
    hwm_kb: u64,
}

/// `xaa-bench soak [OPTIONS]`.
pub(crate) fn run(args: impl Iterator<Item = String>) -> Result<(), BoxError> {
    let Some(params) = Params::parse(args)? else {
        println!("{HELP}");
        return Ok(());
    };
    let config = AuthorizerConfig::new(
        MCP,
        IdentityProvider::issuer(IDP, ClientCredentials::public(IDP_CLIENT)),
        AuthorizationServer::discovered(ClientCredentials::basic(
            AS_CLIENT,
            ClientSecret::new("gateway-secret"),
        )),
    )
    .max_entries(params.max_entries);
    let store = params
        .memory_store
        .then(|| Arc::new(MemoryTokenStore::with_capacity(params.max_entries)));
    let authorizer = match &store {
        Some(store) => Authorizer::with_store(config, store.clone()),
        None => Authorizer::new(config),
    };
    let mut world = World::new(params.lifetime);
    let subject = Arc::new(subject_token(&params));
    let ok = HeaderMap::new();

    let baseline_kb = rss_kb().ok_or("no /proc/self/status")?;
    eprintln!("xaa-bench soak: {params:?}; resident before the first user: {baseline_kb} kB");
    let every = (params.users / params.samples).max(1);
    let mut samples = Vec::new();
    let started = Instant::now();
    for n in 0..params.users {
        let now = params.arrival(n);
        let user = User::new(
            Principal::subject(IDP, format!("user-{n:07}")),
            subject.clone(),
        );
        let token = token(&authorizer, &user, &mut world, now)?;
        let _ = authorizer.on_response(&user, &token, StatusCode::OK, &ok, now);
        if (n + 1) % every == 0 {
            let sample = sample(&params, n + 1, &authorizer, store.as_deref(), now)?;
            eprintln!(
                "  day {:5.2}: {:>8} users, {:>6} cached, {:>6} stored, {:>6} principals ({:>6} dormant), {:>7} kB resident",
                sample.day,
                sample.users,
                sample.cached,
                sample.stored,
                sample.principals,
                sample.dormant,
                sample.rss_kb
            );
            samples.push(sample);
        }
    }
    let elapsed = started.elapsed();
    print!("{}", report(&params, baseline_kb, &samples, elapsed));
    Ok(())
}

/// One ID token for every user, valid beyond the run: the bench measures the authorizer, not
/// the subject tokens the application holds.
fn subject_token(params: &Params) -> SubjectToken {
    let exp = START + params.span.as_secs() + 86_400;
    let claims =
        serde_json::json!({"iss": IDP, "sub": "any", "aud": IDP_CLIENT, "iat": START, "exp": exp});
    let header = serde_json::json!({"alg": "ES256", "typ": "JWT"});
    SubjectToken::IdToken(IdToken::new(format!(
        "{}.{}.c2ln",
        xaa::jwt::encode_segment(&header),
        xaa::jwt::encode_segment(&claims)
    )))
}

fn token(
    authorizer: &Authorizer,
    user: &User,
    world: &mut World,
    now: SystemTime,
) -> Result<AccessToken, BoxError> {
    match authorizer.acquire(user, now)? {
        Acquired::Token(token) => Ok(token),
        Acquired::TokenAndRefresh(token, flight) => {
            let _ = fly(flight, world, now);
            Ok(token)
        }
        Acquired::Run(flight) => match fly(flight, world, now) {
            Landed::Token(token) => Ok(token),
            Landed::Failed(error) => Err(error.into()),
            Landed::Retry(_) => Err("the canned IdP never refuses".into()),
        },
        Acquired::Wait(_) => Err("one thread: nobody else runs a flight".into()),
    }
}

fn fly(mut flight: Flight, world: &mut World, now: SystemTime) -> Landed {
    let result = match flight.take_flow() {
        Some(flow) => xaa::drive(
            flow,
            || now,
            |request| Ok::<_, Infallible>(world.answer(&request, now)),
        )
        .map_err(|error| match error {
            DriveError::Flow(error) => error,
            _ => xaa::Error::Misuse("the canned world always answers"),
        }),
        None => Err(xaa::Error::Misuse("a flight without its flow")),
    };
    flight.land(result, now)
}

fn sample(
    params: &Params,
    users: u64,
    authorizer: &Authorizer,
    store: Option<&MemoryTokenStore>,
    now: SystemTime,
) -> Result<Sample, BoxError> {
    let stats = authorizer.stats();
    let since = now
        .duration_since(params.arrival(0))
        .unwrap_or_default()
        .as_secs_f64();
    Ok(Sample {
        users,
        day: since / 86_400.0,
        cached: stats.cached_tokens,
        stored: store.map_or(0, MemoryTokenStore::len),
        principals: stats.principals,
        dormant: stats.dormant_principals,
        rss_kb: rss_kb().ok_or("no VmRSS")?,
        hwm_kb: peak_rss_kb().ok_or("no VmHWM")?,
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        len if len % 2 == 1 => values[len / 2],
        len => (values[len / 2 - 1] + values[len / 2]) / 2.0,
    }
}

/// The samples as a markdown table, then the plateau (medians over the second half of the
/// run) and the memory per live user.
fn report(params: &Params, baseline_kb: u64, samples: &[Sample], elapsed: Duration) -> String {
    let mut out = String::new();
    let store = if params.memory_store {
        "MemoryTokenStore"
    } else {
        "none"
    };
    out.push_str(&format!(
        "## Soak: {} users over {:.0} days, {} s tokens, max_entries {}, store {store}\n\n",
        params.users,
        params.span.as_secs_f64() / 86_400.0,
        params.lifetime.as_secs(),
        params.max_entries
    ));
    out.push_str(
        "| day | users | cached | stored | principals | dormant | VmRSS kB | VmHWM kB |\n",
    );
    out.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let step = (samples.len() / 10).max(1);
    for (index, s) in samples.iter().enumerate() {
        if index % step == step - 1 || index + 1 == samples.len() {
            out.push_str(&format!(
                "| {:.1} | {} | {} | {} | {} | {} | {} | {} |\n",
                s.day, s.users, s.cached, s.stored, s.principals, s.dormant, s.rss_kb, s.hwm_kb
            ));
        }
    }
    let half = &samples[samples.len() / 2..];
    let of = |f: fn(&Sample) -> f64| median(half.iter().map(f).collect());
    let plateau_kb = of(|s| s.rss_kb as f64);
    let cached = of(|s| s.cached as f64);
    let dormant = of(|s| s.dormant as f64);
    let first = half.first().map_or(0, |s| s.rss_kb);
    let last = half.last().map_or(0, |s| s.rss_kb);
    let held = (plateau_kb - baseline_kb as f64) * 1024.0;
    out.push_str(&format!(
        "\nResident before the first user: {baseline_kb} kB. Plateau (median VmRSS over the second \
         half): {plateau_kb:.0} kB, {:+} kB from the middle of the run to its end; peak (VmHWM) {} kB.\n\
         Held at the plateau: {:.0} cached tokens (median), {:.0} dormant principals: {:.0} bytes \
         per live user, everything the authorizer holds divided by the users with a cached token.\n\
         {} users in {:.1} s ({:.1} µs per user, a full exchange each).\n",
        i128::from(last) - i128::from(first),
        samples.last().map_or(0, |s| s.hwm_kb),
        cached,
        dormant,
        if cached > 0.0 { held / cached } else { 0.0 },
        params.users,
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / params.users as f64,
    ));
    out
}
