//! Authorization-server metadata (RFC 8414) parsing and support checks.
//! The properties live in `xaa_fuzzing::authorization_server_metadata`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa_fuzzing::authorization_server_metadata(data));
