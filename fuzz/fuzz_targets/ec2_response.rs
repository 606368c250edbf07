#![no_main]
//! See fuzz/README.md and `imds_conform::fuzzing::ec2_response`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    imds_conform::fuzzing::run_target("ec2_response", data);
});
