//! The redirect back from the IdP, checked by PendingSignIn::accept.
//! The properties live in `xaa_fuzzing::signin_callback`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xaa_fuzzing::signin_callback(data));
