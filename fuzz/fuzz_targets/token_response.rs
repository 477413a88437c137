//! Token responses and the jwt-bearer grant's acceptance rules.
//! The properties live in `xaa_fuzzing::token_response`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa_fuzzing::token_response(data));
