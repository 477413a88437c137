//! The IdP's token-exchange endpoint (server module).
//! The properties live in `xaa_fuzzing::server_token_exchange`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa_fuzzing::server_token_exchange(data));
