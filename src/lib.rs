//! imds-conform: a property-based conformance suite, fuzzer and reference emulator
//! for the calls that change an instance's metadata-service options — AWS EC2
//! `ModifyInstanceMetadataOptions`, AWS Lightsail `UpdateInstanceMetadataOptions`
//! and Alibaba ECS `ModifyInstanceMetadataOptions`.
//!
//! Every fact the suite checks comes from a spec table that cites the docs. The
//! suite generates cases from the tables (every parameter × every class of value,
//! authentication, settle sequences, a seeded random phase), sends them to a
//! target, reads the instance back after each, and judges the answers against
//! every outcome the docs allow. Failing cases are grouped into *departures*: one
//! per cause, each naming the rule it breaks, the docs' words for that rule and a
//! curl reproducer. Where the docs are ambiguous, the target must implement one
//! *reading* consistently.
//!
//! # Testing your emulator from `cargo test`
//!
//! Add the crate as a dev-dependency, start your emulator in the test, and point
//! a [`Suite`] at it. [`Report::assert_conforms`] fails the test with every
//! departure explained; or assert on [`Report::departures`] when your emulator
//! deliberately implements only part of the API.
//!
//! ```no_run
//! # async fn my_emulator() -> String { unimplemented!() }
//! #[tokio::test]
//! async fn my_emulator_conforms_to_ec2() {
//!     let url = my_emulator().await; // e.g. "http://127.0.0.1:4566"
//!     let report = imds_conform::Suite::new("aws-ec2")
//!         .endpoint(url)
//!         .region("us-east-1")
//!         .instance("i-0123456789abcdef0") // read first, restored at the end
//!         .credentials("AKIDEXAMPLE", "secret-the-emulator-accepts")
//!         .run()
//!         .await
//!         .expect("the suite runs");
//!     report.assert_conforms();
//! }
//! ```
//!
//! A narrower run: [`Suite::only`] keeps the cases whose rule matches a glob
//! (`HttpPutResponseHopLimit.*`), [`Suite::phases`] picks phases. A complete
//! example crate, a small EC2 emulator with its test, is `examples/tiny-emulator`
//! in the repository.
//!
//! # The reference emulator in your tests
//!
//! [`Emulator::start`] serves all three APIs on a free loopback port, with
//! fixture instances and credentials — for testing a client, or as the reference
//! a run is compared with. Without an endpoint, [`Suite::run`] starts one itself.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use imds_conform::{Emulator, Suite};
//!
//! let emulator = Emulator::start().await.unwrap();
//! let instance = &emulator.instances("aws-ec2")[0];
//! let (key_id, _secret) = emulator.credentials("aws-ec2").unwrap();
//! // … point your client at emulator.url() with these …
//! # let _ = (instance, key_id);
//!
//! let report = Suite::new("aws-ec2")
//!     .emulator(&emulator)
//!     .only("HttpTokens.*")
//!     .run()
//!     .await
//!     .unwrap();
//! assert!(report.conforms(), "{report}");
//! # });
//! ```
//!
//! # Reading a report
//!
//! - [`Report::departures`]: each [`Departure`] has a one-line `title`, the `rule`
//!   and its citations (`cite`), `count` cases and as `reproducer` the smallest
//!   case that shows it alone (failing that, the smallest). Its `Display` explains them all, with curl commands.
//! - [`Report::readings`]: for each ambiguity the run touched, the reading(s) the
//!   target implements ([`AmbiguityReading`]), or `inconsistent` with two witness
//!   cases.
//! - [`Report::write_to`] writes `report.json`, `junit.xml`, `report.md` and
//!   reproducers, as the command line's `run --report DIR` does.
//!
//! # Against moto, LocalStack or a real cloud
//!
//! The same run works against any endpoint: the instances are read first and
//! restored at the end, requests are paced at 5 per second off loopback, and no
//! secret reaches a report. In this repository, `cargo test --test conformance`
//! runs every case as a test of its own (`aws-ec2::coverage::0042-…`), aimed by
//! `IMDS_CONFORM_ENDPOINT`, `IMDS_CONFORM_API`, `IMDS_CONFORM_REGION`,
//! `IMDS_CONFORM_INSTANCE`, `IMDS_CONFORM_SEED` and `IMDS_CONFORM_CASES` (see
//! the README). The command line, `imds-conform run`, adds matrices, baselines,
//! recording and replay.
//!
//! # Modules
//!
//! The engine's rooms below are public for the project's own tests and tools, not
//! as a stable API, and are hidden from these docs. Data flows one way (see
//! `docs/architecture.md`, the rooms and their walls): `spec` tables feed the
//! `oracle` and `generate`; the `runner` sends cases out through `target` and
//! `wire`; answers come back through `wire` to `verdict` and `report`. The
//! `emulator` reuses `wire` from the server side and never imports the `oracle`;
//! `fuzzing` (with the `fuzzing` feature) drives them all.
// The emulator's page offsets and token names: its casts are checked where made.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::unnested_or_patterns
)]
#[doc(hidden)]
pub mod emulator;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
#[doc(hidden)]
pub mod generate;
#[doc(hidden)]
pub mod oracle;
#[doc(hidden)]
pub mod report;
#[doc(hidden)]
pub mod runner;
pub mod selftest;
#[doc(hidden)]
pub mod spec;
#[doc(hidden)]
pub mod suite;
#[doc(hidden)]
pub mod target;
#[doc(hidden)]
pub mod verdict;
#[doc(hidden)]
pub mod wire;

pub use generate::Phase;
pub use suite::{Emulator, Report, Suite, SuiteError, DEFAULT_RANDOM_CASES, DEFAULT_SEED};
pub use verdict::readings::Witness;
pub use verdict::{AmbiguityReading, Departure, FindingKind};
