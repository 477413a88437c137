//! The Authorizer under arbitrary interleavings of callers and MCP answers.
//! The properties live in `xaa_fuzzing::authorizer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa_fuzzing::authorizer(data));
