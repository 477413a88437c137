//! The blocking driver's test set-up: the shared one, plus a blocking authorizer and wait.
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use xaa_testkit::Testkit;
use xaa_ureq::Authorizer;

use xaa_ureq as driver;

#[path = "../../../tests-shared/kit.rs"]
mod kit;
pub use kit::*;

/// A blocking authorizer for the kit.
pub fn authorizer(kit: &Testkit) -> Authorizer {
    Authorizer::with_client(config(kit), client())
}

/// Polls `condition` until it holds or `timeout` passes; whether it held.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
