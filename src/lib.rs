//! imds-conform: a property-based conformance suite for the calls that change an
//! instance's metadata-service options.
pub mod spec;
