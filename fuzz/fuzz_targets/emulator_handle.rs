#![no_main]
//! See fuzz/README.md and `imds_conform::fuzzing::emulator_handle`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    imds_conform::fuzzing::run_target("emulator_handle", data);
});
