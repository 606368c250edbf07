//! Shared by the table tests (`spec_loader`, `imds_spec`): the real EC2 table,
//! spoiled in one place, and where the loader's first complaint points.
#![allow(dead_code)]

use imds_conform::spec::{self, SpecError};

/// The built-in EC2 table's text.
pub const EC2: &str = include_str!("../../specs/aws-ec2.toml");

/// The loader's first error for a table it must refuse.
pub fn reject(text: &str) -> SpecError {
    match spec::load_str("bad.toml", text) {
        Ok(_) => panic!("the spoiled table was accepted"),
        Err(e) => e.0.into_iter().next().expect("at least one error"),
    }
}

/// The 1-based line of the first occurrence of `needle` in `text`.
pub fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the table"));
    text[..at].matches('\n').count() + 1
}

/// The EC2 table with the first `from` replaced by `to`.
pub fn replace_once(from: &str, to: &str) -> String {
    assert!(EC2.contains(from), "{from:?} not in the table");
    EC2.replacen(from, to, 1)
}
