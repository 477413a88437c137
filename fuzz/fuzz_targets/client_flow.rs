//! The whole EnterpriseAuth flow against servers scripted by the input.
//! The properties live in `xaa_fuzzing::client_flow`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa_fuzzing::client_flow(data));
