//! The token-exchange answer and the client-side ID-JAG checks.
//! The properties live in `xaa_fuzzing::token_exchange_response`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa_fuzzing::token_exchange_response(data));
