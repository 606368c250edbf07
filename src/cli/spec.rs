//! `imds-conform spec check|show`: check the tables against their sources, and
//! print a table for people or as stable JSON.
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Subcommand;
use imds_conform::spec::{self, check, Citation, Param, Spec};

use super::exit;

#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Check every quoted phrase against its doc, every model key against its
    /// reference file, and values/required flags/member names against the models.
    Check {
        /// The seed docs.
        #[arg(long, default_value = "../shared/seeds")]
        docs: PathBuf,
        /// The machine-model extracts.
        #[arg(long, default_value = "../shared/reference")]
        reference: PathBuf,
        /// Check the tables in this folder instead of the built-in ones.
        #[arg(long)]
        specs: Option<PathBuf>,
        /// Also list every check that passed.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Print one API's table, ambiguities included.
    Show {
        /// `aws-ec2`, `aws-lightsail` or `aliyun-ecs`.
        api: String,
        /// The stable JSON format (`imds-conform.spec/1`, see README).
        #[arg(long)]
        json: bool,
        /// Read the tables from this folder instead of the built-in ones.
        #[arg(long)]
        specs: Option<PathBuf>,
    },
    /// Print every table's ambiguities as a Markdown table: each reading, its
    /// strength and its sources (the README's table is this output).
    Ambiguities {
        /// Read the tables from this folder instead of the built-in ones.
        #[arg(long)]
        specs: Option<PathBuf>,
    },
}

/// The tables: built in, or from `--specs DIR` (at least one there). Errors are
/// printed here.
pub fn load_specs(dir: Option<&PathBuf>) -> Result<Vec<Spec>, u8> {
    let loaded = match dir {
        Some(d) => spec::load_dir(d),
        None => spec::builtin(),
    };
    match (loaded, dir) {
        (Ok(specs), Some(d)) if specs.is_empty() => {
            eprintln!("error: no spec tables (*.toml) in {}", d.display());
            Err(exit::USAGE)
        }
        (Ok(specs), _) => Ok(specs),
        (Err(e), _) if e.0.iter().all(spec::SpecError::is_unreadable) => {
            eprintln!("error: {e}");
            Err(exit::USAGE)
        }
        (Err(e), _) => {
            eprintln!("error: invalid spec table\n{e}");
            Err(exit::USAGE)
        }
    }
}

pub fn execute(cmd: SpecCommand) -> u8 {
    match cmd {
        SpecCommand::Check {
            docs,
            reference,
            specs,
            verbose,
        } => run_check(docs, reference, specs, verbose),
        SpecCommand::Show { api, json, specs } => run_show(&api, json, specs),
        SpecCommand::Ambiguities { specs } => match load_specs(specs.as_ref()) {
            Ok(specs) => {
                out!("{}", ambiguity_table(&specs));
                exit::OK
            }
            Err(code) => code,
        },
    }
}

/// Every ambiguity of the tables, one row per reading, with the reading's
/// strongest strength and its sources: the README's table.
pub fn ambiguity_table(specs: &[Spec]) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out =
        String::from("| API | Ambiguity | Reading | Strength | Source |\n|---|---|---|---|---|\n");
    for spec in specs {
        for amb in spec.ambiguities.iter().map(|a| a.get_ref()) {
            for (i, r) in amb.readings.iter().enumerate() {
                let (api, id) = if i == 0 {
                    (format!("`{}`", spec.api.id), format!("`{}`", amb.id))
                } else {
                    (String::new(), String::new())
                };
                let strength = r
                    .cite
                    .iter()
                    .map(|c| format!("{:?}", c.strength).to_lowercase())
                    .min_by_key(|s| {
                        ["documented", "model", "observed", "inferred"]
                            .iter()
                            .position(|x| x == s)
                    })
                    .unwrap_or_default();
                let sources: Vec<String> = r.cite.iter().map(|c| cell(&c.short())).collect();
                out.push_str(&format!(
                    "| {api} | {id} | `{}`: {} | {strength} | {} |\n",
                    r.id,
                    cell(&r.summary),
                    sources.join("<br>")
                ));
            }
        }
    }
    out
}

fn run_check(docs: PathBuf, reference: PathBuf, specs: Option<PathBuf>, verbose: bool) -> u8 {
    let sources = check::Sources::new(&docs, &reference);
    if let Err(e) = check::require(&sources) {
        eprintln!("error: {e} (pass --docs DIR / --reference DIR)");
        return exit::USAGE;
    }
    let specs = match load_specs(specs.as_ref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let report = check::check(&specs, &sources);
    for f in &report.findings {
        let tag = match &f.kind {
            check::FindingKind::Ok if !verbose => continue,
            check::FindingKind::Ok => "ok  ".to_string(),
            check::FindingKind::Ambiguity(id) => format!("ambiguity {id}:"),
            check::FindingKind::Failure => "FAIL".to_string(),
        };
        outln!("{tag} {} {}: {}", f.api, f.subject, f.detail);
    }
    let failures = report.count(|k| *k == check::FindingKind::Failure);
    let ambiguous = report.count(|k| matches!(k, check::FindingKind::Ambiguity(_)));
    let ok = report.count(|k| *k == check::FindingKind::Ok);
    outln!(
        "spec check: {} tables, {ok} checks passed, {ambiguous} disagreements carried by ambiguities, {failures} failures",
        specs.len()
    );
    if failures == 0 {
        exit::OK
    } else {
        exit::NONCONFORMANCE
    }
}

fn run_show(api: &str, json: bool, specs: Option<PathBuf>) -> u8 {
    let specs = match load_specs(specs.as_ref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let Some(spec) = specs.iter().find(|s| s.api.id == api) else {
        let known: Vec<_> = specs.iter().map(|s| s.api.id.as_str()).collect();
        eprintln!(
            "error: no spec table for {api:?} (known: {})",
            known.join(", ")
        );
        return exit::USAGE;
    };
    if json {
        let doc = serde_json::json!({ "format": "imds-conform.spec/1", "spec": spec });
        match serde_json::to_string_pretty(&doc) {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::USAGE;
            }
        }
    } else {
        out!("{}", render(spec));
    }
    exit::OK
}

fn cite_lines(out: &mut String, indent: &str, cites: &[Citation]) {
    for c in cites {
        let _ = writeln!(out, "{indent}- {}", c.short());
    }
}

/// The table for people: every fact with its sources, ambiguities last.
pub fn render(spec: &Spec) -> String {
    let mut o = String::new();
    render_api(&mut o, spec);
    let _ = writeln!(o, "\nParameters");
    for p in spec.params.iter().map(|p| p.get_ref()) {
        render_param(&mut o, p);
    }
    render_answers(&mut o, spec);
    let _ = writeln!(o, "\nErrors");
    for e in spec.errors.iter().map(|e| e.get_ref()) {
        let _ = writeln!(
            o,
            "  {} {} when {:?}{}: {}",
            e.status,
            e.code,
            e.when,
            if e.exact {
                ""
            } else {
                " (code not established)"
            },
            e.message.as_deref().unwrap_or(&e.description)
        );
        cite_lines(&mut o, "    ", &e.cite);
    }
    super::data_plane_view::render(&mut o, spec);
    let _ = writeln!(o, "\nAmbiguities");
    for amb in spec.ambiguities.iter().map(|a| a.get_ref()) {
        let _ = writeln!(o, "  {}: {}", amb.id, amb.summary);
        for r in &amb.readings {
            let _ = writeln!(o, "    reading {}: {}", r.id, r.summary);
            cite_lines(&mut o, "      ", &r.cite);
        }
    }
    o
}

fn render_api(o: &mut String, spec: &Spec) {
    let a = &spec.api;
    let _ = writeln!(o, "{} ({})", a.title, a.id);
    let _ = writeln!(
        o,
        "  operation {}  protocol {:?}  version {}  signing {:?} {}",
        a.operation, a.protocol, a.api_version, a.signing, a.signing_name
    );
    let _ = writeln!(
        o,
        "  endpoint {}  default region {}",
        a.endpoint, a.default_region
    );
    let names: Vec<&str> = a.credentials.names().map(String::as_str).collect();
    let _ = writeln!(o, "  credentials from {}", names.join(", "));
}

fn render_param(o: &mut String, p: &Param) {
    let mut facts = vec![
        format!("{:?}", p.kind).to_lowercase(),
        if p.required {
            "required".into()
        } else {
            "optional".into()
        },
        format!("absent: {:?}", p.absent).to_lowercase(),
    ];
    if !p.values.is_empty() {
        facts.push(format!("values {}", p.values.join("|")));
    }
    if let Some(r) = p.range {
        facts.push(format!("range {}..={}", r.min, r.max));
    }
    if let Some(d) = &p.default {
        facts.push(format!("default {d}"));
    }
    if let Some(pat) = &p.pattern {
        facts.push(format!("pattern {pat}"));
    }
    if let Some(bad) = &p.malformed {
        facts.push(format!("malformed e.g. {bad:?}"));
    }
    if let Some(inv) = &p.invalid {
        facts.push(format!(
            "invalid → {}{}",
            inv.error,
            if inv.exact {
                ""
            } else {
                " (code not established)"
            }
        ));
    }
    if !p.regions.is_empty() {
        facts.push(format!("regions {}", p.regions.join(",")));
    }
    let _ = writeln!(o, "  {}  [{}]", p.name, facts.join("; "));
    for (fact, cites) in &p.cite {
        let _ = writeln!(o, "    {fact}:");
        cite_lines(o, "      ", cites);
    }
}

/// The read-back, the state machine, and what changes from call to call.
fn render_answers(o: &mut String, spec: &Spec) {
    let _ = writeln!(
        o,
        "\nRead-back: {} → {}[{}].{}",
        spec.readback.operation,
        spec.readback.instances_path,
        spec.readback.id_field,
        spec.readback.options_path
    );
    if let Some(sm) = &spec.state_machine {
        let _ = writeln!(
            o,
            "State machine: {} (settles to {})",
            sm.states.join(" → "),
            sm.settles_to
        );
        for r in &sm.on_modify {
            let _ = writeln!(
                o,
                "  {} instance: answer {}",
                r.instance_state,
                r.answer.join(" or ")
            );
        }
    }
    let v = &spec.volatile;
    if !v.stated_facts().is_empty() {
        let _ = writeln!(o, "Changes per call (normalized):");
        for (kind, names) in [
            ("request id", &v.request_id),
            ("operation id", &v.operation_id),
            ("timestamp", &v.timestamp),
            ("instance", &v.instance),
        ] {
            if !names.is_empty() {
                let _ = writeln!(o, "  {kind}: {}", names.join(", "));
            }
        }
        if let Some(p) = &v.instance_pattern {
            let _ = writeln!(o, "  instance id in text: {p}");
        }
        for (fact, cites) in &v.cite {
            let _ = writeln!(o, "    {fact}:");
            cite_lines(o, "      ", cites);
        }
    }
}
