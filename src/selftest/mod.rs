//! The self-test: the engine's mutation score, measured in the project.
//!
//! A catalogue of deliberate deviations is derived from each spec table
//! ([`catalogue`](mod@catalogue)): for every rule family the table has, small faults
//! ([`fault::Fault`]) stated in the table's own terms. Each deviation is served by a
//! test-only model target ([`model::Model`]) on 127.0.0.1 and run through the normal
//! runner; it counts as caught when a departure names the rule it breaks (or, for
//! an omission handled differently between calls where the table has an
//! ambiguity, when that ambiguity comes out inconsistent), and it is misnamed when
//! the run shows anything else its fault does not explain
//! ([`Fault::may_also_show`]): one fault named twice, or under a reading the
//! target does not follow. The other direction: for every reading of every
//! ambiguity, a model implementing that reading in every call must not be
//! flagged. [`check::run_all`] does all three; `imds-conform selftest` prints the
//! score.
//!
//! Why a model target rather than a proxy in front of the emulator: a fault such as
//! "accepts hop limit 65" or "implements the other reading" needs a store that holds
//! what the emulator refuses to hold, so a proxy would grow a shadow store of its
//! own; a model driven by the table gets every fault and every reading of a new
//! table for free. The emulator stays untouched, and it remains the independent
//! cross-check of the oracle (it never reads the tables).

pub mod catalogue;
pub mod check;
pub mod fault;
pub mod model;
pub mod protocol;
pub mod serve;
pub mod shape;

pub use catalogue::{catalogue, families, first_readings, Deviation, Expect, Family};
pub use check::{readings_of, run_all, run_deviation, run_reading, Options, Report};
pub use fault::Fault;
pub use model::{Assignment, Model};
