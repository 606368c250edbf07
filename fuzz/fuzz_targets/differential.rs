#![no_main]
//! Emulator vs oracle: an arbitrary sequence of calls against a fresh in-process
//! emulator; every answer must be one the oracle accepts, and the read-back must
//! agree. See `imds_conform::fuzzing::differential`.
use imds_conform::fuzzing::{differential, Scenario};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|scenario: Scenario| {
    if let Err(finding) = differential(&scenario) {
        panic!("{finding}");
    }
});
