#![no_main]
//! See fuzz/README.md and `imds_conform::fuzzing::aliyun_response_xml`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    imds_conform::fuzzing::run_target("aliyun_response_xml", data);
});
