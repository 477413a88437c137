//! The claims checks of an ID token.
//! The properties live in `xaa_fuzzing::id_token_claims`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa_fuzzing::id_token_claims(data));
