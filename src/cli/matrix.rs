//! `imds-conform matrix REPORT.json... --out DIR`: one conformance matrix over
//! several runs — per target its scores, departures and readings, and the rules
//! grid — as `DIR/matrix.md` and a self-contained `DIR/matrix.html`. Departures
//! and failing cells link to a reproducer, relative to DIR, where the report's
//! folder has one.
use std::path::{Component, Path, PathBuf};

use clap::Args;
use imds_conform::report::matrix::{self, MatrixInput};
use imds_conform::report::{self, repro::file_stem};

use super::exit;

#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Reports (`report.json`, or a `run --report` folder). One column per target
    /// (`meta.target`, e.g. `moto 5.2.5`; reports of one target share it).
    #[arg(required = true, value_name = "REPORT")]
    reports: Vec<PathBuf>,
    /// Write matrix.md and matrix.html here.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// Print the summary (versions, date, per-target scores, readings; no links) to
    /// standard output instead of writing files: what the README shows.
    #[arg(long, conflicts_with = "out")]
    summary: bool,
}

pub fn execute(args: MatrixArgs) -> u8 {
    if !args.summary {
        if let Err(e) = std::fs::create_dir_all(&args.out) {
            eprintln!("error: cannot create {}: {e}", args.out.display());
            return exit::USAGE;
        }
    }
    let out_abs = absolute(&args.out);
    let mut inputs = Vec::new();
    for p in &args.reports {
        let file = if p.is_dir() {
            p.join("report.json")
        } else {
            p.clone()
        };
        let r = match report::json::read(&file) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return exit::USAGE;
            }
        };
        let dir = absolute(file.parent().unwrap_or(Path::new(".")));
        let mut apis: Vec<String> = Vec::new();
        for c in &r.cases {
            if !apis.contains(&c.api) {
                apis.push(c.api.clone());
            }
        }
        let repro_dirs = apis
            .iter()
            .filter_map(|api| {
                repro_dir(&dir, api, &r.meta.api, &r.meta.target)
                    .map(|d| (api.clone(), relative(&out_abs, &d)))
            })
            .collect();
        inputs.push(MatrixInput {
            report: r,
            repro_dirs,
        });
    }
    let m = matrix::build(&inputs);
    if args.summary {
        out!("{}", matrix::summary_markdown(&m));
        return exit::OK;
    }
    for (name, body) in [
        ("matrix.md", matrix::to_markdown(&m)),
        ("matrix.html", matrix::to_html(&m)),
    ] {
        let path = args.out.join(name);
        if let Err(e) = report::write::write_whole(&path, &body) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return exit::USAGE;
        }
        outln!("wrote {}", path.display());
    }
    let names: Vec<&str> = m.targets.iter().map(|t| t.label.as_str()).collect();
    outln!(
        "{} rules × {} targets ({}); {} departures, {} ambiguities",
        m.rows.len(),
        m.targets.len(),
        names.join(", "),
        m.targets.iter().map(|t| t.departures.len()).sum::<usize>(),
        m.readings.len()
    );
    exit::OK
}

/// Where a report's reproducers for `api` are: `run --report DIR` writes
/// `DIR/<api>/repro` (or `DIR/<api>-<target>/repro`), `write_all` writes
/// `DIR/repro`.
fn repro_dir(dir: &Path, api: &str, report_api: &str, target: &str) -> Option<PathBuf> {
    let mut candidates = vec![
        dir.join(file_stem(api)).join("repro"),
        dir.join(file_stem(&format!("{api}-{target}")))
            .join("repro"),
    ];
    if report_api == api {
        candidates.push(dir.join("repro"));
    }
    candidates.into_iter().find(|c| c.is_dir())
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    })
}

/// `to` as a path relative to the folder `from` (both absolute), with `/`.
fn relative(from: &Path, to: &Path) -> String {
    let f: Vec<Component> = from.components().collect();
    let t: Vec<Component> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); f.len() - common];
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}
