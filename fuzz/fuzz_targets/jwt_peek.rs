//! Peeking at compact JWTs without verification.
//! The properties live in `xaa::fuzzing::jwt_peek`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa::fuzzing::jwt_peek(data));
