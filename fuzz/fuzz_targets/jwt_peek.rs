//! Peeking at compact JWTs without verification.
//! The properties live in `xaa_fuzzing::jwt_peek`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa_fuzzing::jwt_peek(data));
