//! The `imds-conform` command line: parses arguments and delegates to `cli::*`,
//! which call the library's rooms and are the only code that prints or exits.
mod cli;

use clap::Parser;
use std::process::ExitCode;

/// A run and the served emulator make many small allocations that live for one
/// case or one request: mimalloc does them in a fraction of glibc malloc's time
/// (benches/compare.sh; the README's "Performance"). Version 2, for its prompt
/// return of freed memory (Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    cli::dispatch(args)
}
