//! Every generated case of every selected API as a test of its own:
//! `aws-ec2::coverage::0042-httptokens-valid-required`, `aliyun-ecs::auth::0003-…`,
//! `aws-lightsail::random::0007`. libtest's filters work as usual
//! (`cargo test --test conformance -- hoplimit`, `--list`, `--exact`, `--skip`),
//! and so does `cargo nextest run --test conformance`.
//!
//! Without environment variables the tests run against the embedded emulator
//! (started once per process). `IMDS_CONFORM_ENDPOINT`, `IMDS_CONFORM_API`,
//! `IMDS_CONFORM_REGION` and `IMDS_CONFORM_INSTANCE` (with the standard
//! credential variables) aim them at moto, LocalStack or a real cloud, with the
//! safety of `imds-conform run`: the instances are read first and restored when
//! the process ends (also after Ctrl-C), and requests are paced off loopback.
//! `IMDS_CONFORM_SEED` and `IMDS_CONFORM_CASES` set the random phase.
//!
//! Each case starts from a known state and runs alone (see
//! `imds_conform::suite::harness`), so filtered runs judge cases as a whole run
//! does. After the tests, the process also fails when the target implements two
//! readings of one ambiguity across the cases it ran.
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use imds_conform::suite::harness::{Ended, Harness};
use libtest_mimic::{Arguments, Failed, Trial};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let harness = match Harness::from_env() {
        Ok(h) => Arc::new(h),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let trials: Vec<Trial> = harness
        .tests()
        .into_iter()
        .map(|test| {
            let h = Arc::clone(&harness);
            Trial::test(test.name.clone(), move || {
                h.run(&test).map_err(Failed::from)
            })
        })
        .collect();
    if args.list {
        return libtest_mimic::run(&args, trials).exit_code();
    }
    // One test process at a time changes an endpoint's instances: cargo-nextest
    // runs a process per test, and each reads the instance first and restores it.
    let mut lock = match harness.endpoint().map(lock_file).transpose() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let _held = match lock.as_mut().map(hold) {
        Some(Err(e)) => {
            eprintln!("error: cannot lock the target: {e}");
            return ExitCode::from(2);
        }
        held => held,
    };
    eprintln!("{}", harness.describe());
    if harness.endpoint().is_some() {
        harness.stop_on_interrupt();
    }
    // The instances are restored whatever becomes of the runner: its printer
    // panics when stdout is a closed pipe (`… | head`).
    let Ended { outcome, finish } =
        Harness::run_then_finish(harness, || libtest_mimic::run(&args, trials));
    if let Err(panic) = &outcome {
        say(&format!("error: the test runner stopped: {panic}"));
    }
    for note in &finish.notes {
        say(note);
    }
    for problem in &finish.problems {
        say(&format!("error: {problem}"));
    }
    match outcome {
        Ok(conclusion) if finish.problems.is_empty() => conclusion.exit_code(),
        _ => ExitCode::from(101),
    }
}

/// A line on stderr, lost quietly if stderr is gone too (the exit code still tells).
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The lock file of an endpoint's tests, in the temporary folder.
fn lock_file(endpoint: &str) -> std::io::Result<fd_lock::RwLock<std::fs::File>> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (
        endpoint,
        std::env::var("IMDS_CONFORM_API").unwrap_or_default(),
        std::env::var("IMDS_CONFORM_INSTANCE").unwrap_or_default(),
    )
        .hash(&mut hasher);
    let path = std::env::temp_dir().join(format!("imds-conform-{:016x}.lock", hasher.finish()));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    Ok(fd_lock::RwLock::new(file))
}

/// Take the lock, saying so when another process holds it.
fn hold(
    lock: &mut fd_lock::RwLock<std::fs::File>,
) -> std::io::Result<fd_lock::RwLockWriteGuard<'_, std::fs::File>> {
    if lock.try_write().is_err() {
        eprintln!("waiting for another imds-conform test process using the same target…");
    }
    lock.write()
}
