//! The async driver's test set-up: the shared one, plus an async authorizer and wait.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::time::{Duration, Instant};

use xaa_reqwest::Authorizer;
use xaa_testkit::Testkit;

use xaa_reqwest as driver;

#[path = "../../../tests-shared/kit.rs"]
mod kit;
pub use kit::*;

/// An async authorizer for the kit.
pub fn authorizer(kit: &Testkit) -> Authorizer {
    Authorizer::with_client(config(kit), client())
}

/// Polls `condition` until it holds or `timeout` passes; whether it held.
pub async fn wait_until<F: Future<Output = bool>>(
    timeout: Duration,
    mut condition: impl FnMut() -> F,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
