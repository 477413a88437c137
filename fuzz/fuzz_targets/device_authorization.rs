//! The device authorization response of RFC 8628.
//! The properties live in `xaa_fuzzing::device_authorization`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa_fuzzing::device_authorization(data));
