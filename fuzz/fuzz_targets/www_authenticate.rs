//! `WWW-Authenticate` parsing and rendering.
//! The properties live in `xaa_fuzzing::www_authenticate`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa_fuzzing::www_authenticate(data));
