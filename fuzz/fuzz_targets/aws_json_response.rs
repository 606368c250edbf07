#![no_main]
//! See fuzz/README.md and `imds_conform::fuzzing::aws_json_response`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    imds_conform::fuzzing::run_target("aws_json_response", data);
});
