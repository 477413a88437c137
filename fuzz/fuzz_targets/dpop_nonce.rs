//! The client's DPoP nonce handling (RFC 9449 sections 8 and 9).
//! The properties live in `xaa_fuzzing::dpop_nonce`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa_fuzzing::dpop_nonce(data));
