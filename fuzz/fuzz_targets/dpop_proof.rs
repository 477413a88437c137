//! DPoP proofs checked by the server side (RFC 9449 section 4.3).
//! The properties live in `xaa_fuzzing::dpop_proof`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa_fuzzing::dpop_proof(data));
