//! imds-conform: a property-based conformance suite, fuzzer and reference emulator
//! for the calls that change an instance's metadata-service options.
//!
//! Data flows one way (see ARCHITECTURE.md): `spec` tables feed the `oracle` and
//! `generate`; cases go out through `wire` and `target`; answers come back through
//! `wire` to `verdict` and `report`. The `emulator` reuses `wire` from the server side
//! and never imports the `oracle`.
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
