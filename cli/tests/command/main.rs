//! The `xaa` command run as a subprocess (`CARGO_BIN_EXE_xaa`) against the loopback testkit:
//! what it prints, its exit codes, and that no secret reaches its output.
#![allow(unreachable_pub, missing_docs)]

mod browser;
mod browser_support;
mod decode;
mod demo;
mod discover;
mod dpop;
mod exit_codes;
mod hostile_output;
mod hostile_token;
mod login;
mod login_refusals;
mod login_support;
mod store;
mod support;
mod token;
