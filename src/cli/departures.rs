//! `imds-conform departures REPORT`: a report's departures as one Markdown table,
//! for READMEs and issue trackers (the README's peer tables are this output), and
//! the ambiguities it found read inconsistently, if any.
use std::path::PathBuf;

use clap::Args;
use imds_conform::report::{self, markdown};

use super::exit;

#[derive(Debug, Args)]
pub struct DeparturesArgs {
    /// A `report.json`, or the folder holding it.
    report: PathBuf,
    /// Where the reproducer links point; `{api}` is replaced by the departure's API
    /// (default: the report's own `<folder>/{api}/repro/`).
    #[arg(long, value_name = "PREFIX")]
    repro_prefix: Option<String>,
}

pub fn execute(args: DeparturesArgs) -> u8 {
    let (file, dir) = if args.report.is_dir() {
        (args.report.join("report.json"), args.report.clone())
    } else {
        let dir = args.report.parent().map(PathBuf::from).unwrap_or_default();
        (args.report.clone(), dir)
    };
    let r = match report::json::read(&file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let prefix = args.repro_prefix.unwrap_or_else(|| {
        let d = dir.display().to_string();
        if d.is_empty() {
            "{api}/repro/".into()
        } else {
            format!("{d}/{{api}}/repro/")
        }
    });
    outln!(
        "{} departure(s) of {} @ {} ({} cases, imds-conform {}):\n",
        r.departures.len(),
        r.meta.api,
        r.meta.target,
        r.summary.total,
        r.meta.tool_version
    );
    out!("{}", markdown::departure_table(&r, &prefix));
    out!("{}", markdown::inconsistent_list(&r));
    exit::OK
}
