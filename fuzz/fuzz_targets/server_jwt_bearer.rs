//! The MCP authorization server's jwt-bearer endpoint (server module).
//! The properties live in `xaa_fuzzing::server_jwt_bearer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa_fuzzing::server_jwt_bearer(data));
