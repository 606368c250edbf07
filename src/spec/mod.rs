//! Spec tables: the API facts, typed, validated and cited.
//!
//! `types` is the schema (it also serializes as the stable `spec show --json`
//! format), `load` parses and validates tables (errors name file, line and field),
//! `check` compares tables with the source docs and the machine models. The CLI's
//! `spec show` renders a table for people.
pub mod check;
pub mod data_plane;
pub mod load;
pub mod types;

pub use data_plane::{DataAnswer, DataPlane, DataRule, Probe};
pub use load::{builtin, builtin_api, load_dir, load_file, load_str, SpecError, SpecErrors};
pub use types::*;
