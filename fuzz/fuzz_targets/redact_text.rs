#![no_main]
//! See fuzz/README.md and `imds_conform::fuzzing::redact_text`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    imds_conform::fuzzing::run_target("redact_text", data);
});
