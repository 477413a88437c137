//! The IdP's token-exchange endpoint (server module).
//! The properties live in `xaa::fuzzing::server_token_exchange`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa::fuzzing::server_token_exchange(data));
