//! Random `jti` values (RFC 7519 section 4.1.7).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::JtiSource;

/// `jti` values of 128 random bits, base64url (RFC 7519 section 4.1.7), from the `aws-lc-rs`
/// system generator.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomJti;

impl JtiSource for RandomJti {
    fn next_jti(&self) -> String {
        random_jti()
    }
}

/// 128 random bits, base64url. Should the system generator ever fail, a value from the clock
/// and a process-wide counter keeps `jti`s unique (though guessable) rather than panicking.
pub fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        bytes[..8].copy_from_slice(&(nanos as u64).to_be_bytes());
        bytes[8..].copy_from_slice(&count.to_be_bytes());
    }
    URL_SAFE_NO_PAD.encode(bytes)
}
