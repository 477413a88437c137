//! Protected-resource metadata (RFC 9728) parsing.
//! The properties live in `xaa_fuzzing::protected_resource_metadata`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa_fuzzing::protected_resource_metadata(data));
