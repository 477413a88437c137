//! The drivers' one test suite (`transports/tests-shared/suite/`), run on the blocking driver.
//!
//! Each shared test is written once. The macros here say what blocking means: a test is a
//! `#[test]`, `wait!` returns its expression as it is, a caller runs on a thread of its own.
//! `xaa-reqwest`'s `tests/suite.rs` gives the same macros their async meaning.

use xaa_ureq as driver;

/// The driver under test blocks.
const BLOCKING: bool = true;

/// Where concurrent callers meet.
type Barrier = std::sync::Barrier;

/// A test; `workers = N;` is the async driver's worker count, unused here.
macro_rules! driver_test {
    (workers = $workers:literal; $($test:tt)*) => {
        driver_test!($($test)*);
    };
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() $body
    };
}

/// A helper that the async driver's suite awaits: a plain function here.
macro_rules! driver_fn {
    ($(#[$meta:meta])* fn $name:ident($($args:tt)*) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        fn $name($($args)*) $(-> $ret)? $body
    };
}

/// The result of a driver call: here the call's own.
macro_rules! wait {
    ($call:expr) => {
        $call
    };
}

/// Runs `body` on a thread of its own.
macro_rules! spawn {
    ($body:expr) => {
        std::thread::spawn(move || $body)
    };
}

/// What a spawned caller returned.
macro_rules! joined {
    ($handle:expr) => {
        $handle.join().expect("thread")
    };
}

/// Sleeps the thread.
macro_rules! sleep {
    ($duration:expr) => {
        std::thread::sleep($duration)
    };
}

/// Items or statements of the blocking driver alone: kept.
macro_rules! blocking_only {
    ($($code:tt)*) => {
        $($code)*
    };
}

/// Items or statements of the async driver alone: dropped.
macro_rules! async_only {
    ($($code:tt)*) => {};
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
#[path = "../../tests-shared/suite/device_sign_in.rs"]
mod device_sign_in;
#[path = "../../tests-shared/suite/dpop.rs"]
mod dpop_send;
#[path = "../../tests-shared/suite/faults.rs"]
mod faults;
#[path = "../../tests-shared/suite/https.rs"]
mod https;
#[path = "../../tests-shared/suite/session_renewal.rs"]
mod session_renewal;
#[path = "../../tests-shared/suite/tls.rs"]
mod tls;
