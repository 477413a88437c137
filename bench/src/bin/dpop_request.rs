//! What binding a token costs the client per MCP request: the headers of one request made with
//! a bearer token and with a DPoP-bound one (`Authorizer::request_authorization`, then applied to
//! the request), side by side in one run, on the thread's CPU clock.
//!
//! ```text
//! cargo run -p xaa-bench --release --bin dpop_request [rounds]
//! ```
//!
//! Each round times a batch of bearer requests and a batch of bound ones, alternately, so both
//! see the same machine; the report gives the medians per request, the added CPU (bound minus
//! bearer), and the signatures made per bound request (counted by the signer). The target
//! (BENCHMARKS.md): one signature per request and at most 60 µs added.

use std::hint::black_box;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use xaa::authorizer::{Authorizer, AuthorizerConfig};
use xaa::dpop::{DpopBinding, DpopPolicy, DpopSigner, EsDpopKey, PublicJwk};
use xaa::jose::RandomJti;
use xaa::{AccessToken, AuthorizationServer, ClientCredentials, IdentityProvider, SignerError};

const MCP: &str = "https://mcp.example.com/mcp";
const BATCH: u32 = 200;
const DEFAULT_ROUNDS: usize = 31;
const TARGET_ADDED_MICROS: f64 = 60.0;

/// The ES256 key, counting its signatures.
struct Counting {
    key: EsDpopKey,
    signatures: AtomicU64,
}

impl DpopSigner for Counting {
    fn algorithm(&self) -> &str {
        self.key.algorithm()
    }
    fn public_jwk(&self) -> &PublicJwk {
        self.key.public_jwk()
    }
    fn sha256(&self, data: &[u8]) -> [u8; 32] {
        self.key.sha256(data)
    }
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.signatures.fetch_add(1, Ordering::Relaxed);
        self.key.sign(signing_input)
    }
}

/// The CPU time of `batch` calls of `request`, per call.
fn per_request(request: &mut dyn FnMut()) -> Duration {
    let start = cpu_time::ThreadTime::now();
    for _ in 0..BATCH {
        request();
    }
    start.elapsed() / BATCH
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn main() -> ExitCode {
    let rounds = match std::env::args().nth(1).map(|n| n.parse::<usize>()) {
        None => DEFAULT_ROUNDS,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: dpop_request [rounds > 0]");
            return ExitCode::from(2);
        }
    };
    let key = match EsDpopKey::generate() {
        Ok(key) => key,
        Err(error) => {
            eprintln!("no key: {error}");
            return ExitCode::FAILURE;
        }
    };
    let signer = Arc::new(Counting {
        key,
        signatures: AtomicU64::new(0),
    });
    let binding = DpopBinding::new(signer.clone(), Arc::new(RandomJti), DpopPolicy::Required);
    let config = AuthorizerConfig::new(
        MCP,
        IdentityProvider::issuer("https://idp.example.com", ClientCredentials::public("c")),
        AuthorizationServer::discovered(ClientCredentials::public("c")),
    )
    .dpop(binding.clone());
    let authorizer = Authorizer::new(config);
    let uri: http::Uri = MCP.parse().expect("a fixed URI");
    let body = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}"#;
    let token = "eyJhbGciOiJFUzI1NiJ9.".to_owned() + &"a".repeat(600) + ".sig";
    let bearer = AccessToken::new(token.as_str());
    let bound = AccessToken::new(token.as_str()).bound_to(binding.jkt().to_owned());
    let send = |token: &AccessToken| {
        let mut request = http::Request::builder()
            .method(http::Method::POST)
            .uri(uri.clone())
            .body(body.to_vec())
            .expect("a fixed request");
        let headers = authorizer
            .request_authorization(token, &http::Method::POST, &uri, body, SystemTime::now())
            .expect("headers");
        headers.apply(request.headers_mut());
        black_box(request);
    };
    let (mut bearer_samples, mut bound_samples) = (Vec::new(), Vec::new());
    let signed_before = signer.signatures.load(Ordering::Relaxed);
    for _ in 0..rounds {
        bearer_samples.push(per_request(&mut || send(&bearer)));
        bound_samples.push(per_request(&mut || send(&bound)));
    }
    let signatures = signer.signatures.load(Ordering::Relaxed) - signed_before;
    let bound_requests = u64::from(BATCH) * rounds as u64;
    let (bearer, bound) = (median(bearer_samples), median(bound_samples));
    let added = bound.saturating_sub(bearer);
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!("rounds {rounds} x {BATCH} requests each, thread CPU time, medians per request");
    println!("bearer request headers      {:>9.2} µs", micros(bearer));
    println!("DPoP-bound request headers  {:>9.2} µs", micros(bound));
    println!(
        "added by binding            {:>9.2} µs (target <= {TARGET_ADDED_MICROS} µs)",
        micros(added)
    );
    println!(
        "ratio bound/bearer          {:>9.1}",
        bound.as_secs_f64() / bearer.as_secs_f64().max(1e-12)
    );
    println!(
        "signatures per bound request {:>8.3} (target 1)",
        signatures as f64 / bound_requests as f64
    );
    if signatures != bound_requests {
        eprintln!("expected exactly one signature per bound request");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
