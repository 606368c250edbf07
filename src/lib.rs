//! imds-conform: a property-based conformance suite, fuzzer and reference emulator
//! for the calls that change an instance's metadata-service options.
//!
//! Data flows one way (see `docs/architecture.md`, the rooms and their walls):
//! `spec` tables feed the `oracle` and `generate`; the `runner` sends cases through
//! `target` and `wire`; answers come back through `wire` to `verdict` and `report`.
//! The `emulator` reuses `wire` from the server side and never imports the
//! `oracle`; `fuzzing` (with the `fuzzing` feature) drives them all.
pub mod emulator;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod generate;
pub mod oracle;
pub mod report;
pub mod runner;
pub mod spec;
pub mod target;
pub mod verdict;
pub mod wire;
