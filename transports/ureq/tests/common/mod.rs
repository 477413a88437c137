//! The blocking driver's set-up for its own tests (`negative_matrix`, `no_secret_leaks`): the
//! set-up the shared suite uses, for `xaa-ureq`.
#![allow(dead_code, unreachable_pub)]

use xaa_ureq as driver;

#[path = "../../../tests-shared/kit.rs"]
mod kit;
pub use kit::*;

#[path = "../../../tests-shared/dpop.rs"]
pub mod dpop;
