//! Subcommands. Each module owns its `clap` arguments and its printing; the library
//! below returns values and errors only.
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// `print!` to standard output through [`stdout::write`]: a closed stdout (a
/// reader such as `head` that has gone) is not a panic.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::stdout::write(format_args!($($arg)*))
    };
}

/// `println!` to standard output through [`stdout::write`].
macro_rules! outln {
    () => {
        $crate::cli::stdout::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::stdout::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub mod departures;
pub mod matrix;
pub mod record;
pub mod replay;
pub mod run;
pub mod run_imds;
pub mod selftest;
pub mod serve;
pub mod setup;
pub mod spec;
pub mod verify;
// `spec show`'s data-plane section.
pub mod data_plane_view;

/// Standard output for every subcommand. `print!` panics when stdout is closed
/// (`imds-conform selftest --list | head -1`: "failed printing to stdout: Broken
/// pipe"). Here the first failed write marks stdout gone and later output is
/// dropped: the command finishes what it was doing (a run still restores its
/// instances and writes its reports) and exits with its own code, quietly for a
/// reader that went away.
///
/// Chosen over restoring SIGPIPE's default action at start-up, which would end the
/// process at that write: in the middle of a run, before its reports are written,
/// and with a signal instead of the run's exit code.
pub(crate) mod stdout {
    use std::io::{ErrorKind, Write};
    use std::sync::atomic::{AtomicBool, Ordering};

    static GONE: AtomicBool = AtomicBool::new(false);
    /// A write failed otherwise than for a reader that went away (a full disk).
    static FAILED: AtomicBool = AtomicBool::new(false);

    /// Write `args` to stdout, unless an earlier write found it gone.
    pub fn write(args: std::fmt::Arguments) {
        if GONE.load(Ordering::Relaxed) {
            return;
        }
        if let Err(e) = std::io::stdout().lock().write_fmt(args) {
            if !GONE.swap(true, Ordering::Relaxed) && e.kind() != ErrorKind::BrokenPipe {
                FAILED.store(true, Ordering::Relaxed);
                eprintln!("error: cannot write to standard output: {e}");
            }
        }
    }

    /// Whether output was lost otherwise than to a reader that went away: the
    /// command's output is incomplete, so it must not exit 0.
    pub fn failed() -> bool {
        FAILED.load(Ordering::Relaxed)
    }
}

/// Exit codes shared by every subcommand.
pub mod exit {
    /// Every case conforms / the command did what it was asked.
    pub const OK: u8 = 0;
    /// Nonconformance found (or a check failed).
    pub const NONCONFORMANCE: u8 = 1;
    /// Usage or configuration error.
    pub const USAGE: u8 = 2;
    /// Target unreachable.
    pub const UNREACHABLE: u8 = 3;
    /// The run changed an instance and could not put it back as it was.
    pub const NOT_RESTORED: u8 = 4;
    /// Interrupted (Ctrl-C): what was judged is reported, but it is not a verdict
    /// on the whole run (128 + SIGINT, as a shell reports it).
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, Parser)]
#[command(
    name = "imds-conform",
    version,
    about = "Conformance suite, fuzzer and reference emulator for instance metadata-options APIs"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect and check the spec tables.
    #[command(subcommand)]
    Spec(spec::SpecCommand),
    /// Run the conformance suite (against the embedded emulator by default).
    Run(Box<run::RunArgs>),
    /// Send a recorded case again and say FIXED or STILL FAILING (STILL PASSES or NOW
    /// FAILING for a case that passed when recorded).
    Replay(replay::ReplayArgs),
    /// Run the reference emulator (EC2, Lightsail, Alibaba ECS) until Ctrl-C.
    Serve(serve::ServeArgs),
    /// Record one target's normalized coverage outcomes, one file per API.
    Record(Box<record::RecordArgs>),
    /// Compare a target with a recording (or a report's failures) and a baseline.
    Verify(Box<verify::VerifyArgs>),
    /// One conformance matrix (Markdown + HTML) from several reports.
    Matrix(matrix::MatrixArgs),
    /// A report's departures as one Markdown table.
    Departures(departures::DeparturesArgs),
    /// The engine's mutation score: a catalogue of deliberate deviations, each caught?
    Selftest(selftest::SelftestArgs),
}

pub fn dispatch(cli: Cli) -> ExitCode {
    let code = match cli.command {
        Command::Spec(cmd) => spec::execute(cmd),
        Command::Serve(args) => serve::execute(args),
        Command::Run(args) => run::execute(*args),
        Command::Replay(args) => replay::execute(args),
        Command::Record(args) => record::execute(*args),
        Command::Verify(args) => verify::execute(*args),
        Command::Matrix(args) => matrix::execute(args),
        Command::Departures(args) => departures::execute(args),
        Command::Selftest(args) => selftest::execute(args),
    };
    // Output lost to a failed write (not to a closed pipe): at least a usage-class
    // error, so `spec show --json > file` on a full disk does not exit 0.
    let code = if stdout::failed() {
        code.max(exit::USAGE)
    } else {
        code
    };
    ExitCode::from(code)
}

/// A request rate: a finite number of requests per second, at least 0.01 (one
/// request every 100 s) and at most a million.
pub(crate) fn parse_rate(s: &str) -> Result<f64, String> {
    let r: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of requests per second"))?;
    if !r.is_finite() || !(0.01..=1_000_000.0).contains(&r) {
        return Err(format!(
            "{s}: the rate must be between 0.01 and 1000000 requests per second"
        ));
    }
    Ok(r)
}

/// `--endpoint`: an http or https URL with a host (`http://127.0.0.1:5000`), kept
/// as written. Anything else is a usage error naming the flag, not a request that
/// fails to sign or a target "unreachable" through a scheme it cannot speak.
pub(crate) fn parse_endpoint(s: &str) -> Result<String, String> {
    const EXAMPLE: &str = "e.g. http://127.0.0.1:5000";
    let url = reqwest::Url::parse(s.trim())
        .map_err(|e| format!("not an http(s) URL: {e} ({EXAMPLE})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme must be http or https, not {:?} ({EXAMPLE})",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("no host in the URL ({EXAMPLE})"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // The HTTP client would send them as Basic authentication beside the
        // signature's Authorization header; and they are a secret.
        return Err(
            "credentials in the URL (user:password@) are not supported: give the target's \
             credentials in its environment variables (see `imds-conform spec show`)"
                .into(),
        );
    }
    Ok(s.trim().to_string())
}

/// `--endpoint`'s parser for clap: [`parse_endpoint`], with an error that does not
/// repeat the value (clap's own would print it whole, a URL's password with it).
#[derive(Clone, Copy)]
pub(crate) struct EndpointParser;

impl clap::builder::TypedValueParser for EndpointParser {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let flag = arg.map_or("--endpoint".to_string(), |a| a.to_string());
        let invalid = |why: &str| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for '{flag}': {why}\n"),
            )
            .with_cmd(cmd)
        };
        let text = value.to_str().ok_or_else(|| invalid("not UTF-8"))?;
        parse_endpoint(text).map_err(|why| invalid(&why))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_endpoint;

    /// Credentials in the URL are refused, and the error does not repeat them.
    #[test]
    fn an_endpoint_with_credentials_is_refused_without_showing_them() {
        for bad in [
            "http://zqx:SECRETPW@127.0.0.1:5000",
            "http://SECRETPW@127.0.0.1:5000",
        ] {
            let e = parse_endpoint(bad).expect_err("refused");
            assert!(e.contains("credentials in the URL"), "{e}");
            assert!(!e.contains("SECRETPW"), "{e}");
        }
    }

    #[test]
    fn an_endpoint_is_an_http_or_https_url_with_a_host() {
        for good in [
            "http://127.0.0.1:5000",
            "https://ec2.us-east-1.amazonaws.com",
            "http://[::1]:8080/",
            "http://localhost:4566",
        ] {
            assert_eq!(parse_endpoint(good).as_deref(), Ok(good));
        }
        for bad in [
            "notaurl",
            "127.0.0.1:5000",
            "localhost:5000",
            "ftp://127.0.0.1:1",
            "file:///tmp/x",
            "http://",
            "",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad:?} taken");
        }
    }
}
