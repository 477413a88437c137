//! OAuth error bodies at both token endpoints.
//! The properties live in `xaa_fuzzing::oauth_error`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa_fuzzing::oauth_error(data));
