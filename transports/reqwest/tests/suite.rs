//! The drivers' one test suite (`transports/tests-shared/suite/`), run on the async driver.
//!
//! Each shared test is written once. The macros here say what async means: a test is a
//! `#[tokio::test]` on a multi-threaded runtime, `wait!` awaits its expression, a caller runs
//! in a task of its own. `xaa-ureq`'s `tests/suite.rs` gives the same macros their blocking
//! meaning.

use xaa_reqwest as driver;

/// The driver under test is async.
const BLOCKING: bool = false;

/// Where concurrent callers meet.
type Barrier = tokio::sync::Barrier;

/// A test on a multi-threaded runtime of 2 workers, or `workers = N;`.
macro_rules! driver_test {
    (workers = $workers:literal; $(#[$meta:meta])* fn $name:ident() $body:block) => {
        $(#[$meta])*
        #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
        async fn $name() $body
    };
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        driver_test!(workers = 2; $(#[$meta])* fn $name() $body);
    };
}

/// A helper that awaits: an async function here.
macro_rules! driver_fn {
    ($(#[$meta:meta])* fn $name:ident($($args:tt)*) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        async fn $name($($args)*) $(-> $ret)? $body
    };
}

/// The result of a driver call: awaited.
macro_rules! wait {
    ($call:expr) => {
        $call.await
    };
}

/// Runs `body` in a task of its own.
macro_rules! spawn {
    ($body:expr) => {
        tokio::spawn(async move { $body })
    };
}

/// What a spawned caller returned.
macro_rules! joined {
    ($handle:expr) => {
        $handle.await.expect("task")
    };
}

/// Sleeps the task.
macro_rules! sleep {
    ($duration:expr) => {
        tokio::time::sleep($duration).await
    };
}

/// Items or statements of the blocking driver alone: dropped.
macro_rules! blocking_only {
    ($($code:tt)*) => {};
}

/// Items or statements of the async driver alone: kept.
macro_rules! async_only {
    ($($code:tt)*) => {
        $($code)*
    };
}

#[macro_use]
#[path = "../../tests-shared/suite/macros.rs"]
mod macros;

#[path = "../../tests-shared/kit.rs"]
#[allow(dead_code, unreachable_pub)]
mod common;
#[path = "../../tests-shared/dpop.rs"]
#[allow(dead_code, unreachable_pub)]
mod dpop;
#[path = "../../tests-shared/loopback.rs"]
mod loopback;

#[path = "../../tests-shared/suite/address_guard.rs"]
mod address_guard;
#[path = "../../tests-shared/suite/authorizer.rs"]
mod authorizer;
#[path = "../../tests-shared/suite/client.rs"]
mod client;
#[path = "../../tests-shared/suite/concurrency.rs"]
mod concurrency;
#[cfg(feature = "rustls")]
#[path = "../../tests-shared/suite/device_sign_in.rs"]
mod device_sign_in;
#[path = "../../tests-shared/suite/dpop.rs"]
mod dpop_send;
#[path = "../../tests-shared/suite/faults.rs"]
mod faults;
#[cfg(feature = "rustls")]
#[path = "../../tests-shared/suite/https.rs"]
mod https;
#[path = "../../tests-shared/suite/session_renewal.rs"]
mod session_renewal;
#[path = "../../tests-shared/suite/tls.rs"]
mod tls;
