//! `spec check`: every quoted phrase must occur in the doc (or reference text
//! extract) it names, every model key must resolve in its reference file, and what
//! the tables say of enum values, required flags and member names must agree with
//! the machine models. A
//! disagreement is either covered by an ambiguity that cites the model, or a failure.
//! No printing here: the result is a [`CheckReport`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::types::{Citation, Cites, Param, Spec};

/// Where the sources are.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The seed docs (`../shared/seeds`).
    pub docs: PathBuf,
    /// The machine-model extracts (`../shared/reference`).
    pub reference: PathBuf,
    /// SPEC-FACTS.md, quoted as a doc by the tables (`../shared/design/SPEC-FACTS.md`).
    pub facts: PathBuf,
}

impl Sources {
    /// The standard layout: `docs` and `reference` given, SPEC-FACTS.md in the
    /// `design` folder beside `docs`.
    pub fn new(docs: &Path, reference: &Path) -> Self {
        let facts = docs
            .parent()
            .unwrap_or(Path::new("."))
            .join("design")
            .join("SPEC-FACTS.md");
        Sources {
            docs: docs.to_path_buf(),
            reference: reference.to_path_buf(),
            facts,
        }
    }
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingKind {
    /// Checked and true.
    Ok,
    /// A disagreement that an ambiguity entry carries.
    Ambiguity(String),
    /// A failure: the table says something its source does not.
    Failure,
}

/// One check and what it found.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The API id.
    pub api: String,
    /// What was checked: `HttpTokens cite.values`, `members of …`.
    pub subject: String,
    /// What was found, in words.
    pub detail: String,
    /// Whether it holds.
    pub kind: FindingKind,
}

/// Every check made over the tables.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// The findings in order.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// The findings that are failures.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.kind == FindingKind::Failure)
    }
    /// How many findings are of a kind.
    pub fn count(&self, pred: impl Fn(&FindingKind) -> bool) -> usize {
        self.findings.iter().filter(|f| pred(&f.kind)).count()
    }
}

/// A missing source folder or file that makes the check impossible.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what} not found at {path}")]
pub struct MissingSource {
    /// What is missing (`the seed docs`…).
    pub what: String,
    /// Where it was looked for.
    pub path: String,
}

/// Check that the source folders exist.
pub fn require(sources: &Sources) -> Result<(), MissingSource> {
    for (what, p) in [
        ("the docs folder", &sources.docs),
        ("the reference folder", &sources.reference),
    ] {
        if !p.is_dir() {
            return Err(MissingSource {
                what: what.into(),
                path: p.display().to_string(),
            });
        }
    }
    Ok(())
}

/// Collapse whitespace runs to one space, so that quotes survive re-wrapping.
pub fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Loaded {
    /// Normalized texts by path: the docs, and text extracts in the reference
    /// folder (`imds-data-plane.md`).
    docs: BTreeMap<PathBuf, Option<String>>,
    models: BTreeMap<String, Option<Value>>,
}

impl Loaded {
    fn normalized(&mut self, path: PathBuf) -> Option<&String> {
        self.docs
            .entry(path)
            .or_insert_with_key(|p| std::fs::read_to_string(p).ok().map(|t| normalize(&t)))
            .as_ref()
    }

    fn doc(&mut self, sources: &Sources, name: &str) -> Option<&String> {
        self.normalized(if name == "SPEC-FACTS.md" {
            sources.facts.clone()
        } else {
            sources.docs.join(name)
        })
    }

    fn text(&mut self, sources: &Sources, name: &str) -> Option<&String> {
        self.normalized(sources.reference.join(name))
    }

    fn model(&mut self, sources: &Sources, name: &str) -> Option<&Value> {
        self.models
            .entry(name.to_string())
            .or_insert_with(|| {
                std::fs::read_to_string(sources.reference.join(name))
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok())
            })
            .as_ref()
    }
}

/// Check every table against the sources.
pub fn check(specs: &[Spec], sources: &Sources) -> CheckReport {
    let mut loaded = Loaded {
        docs: BTreeMap::new(),
        models: BTreeMap::new(),
    };
    let mut report = CheckReport::default();
    for spec in specs {
        for (subject, citation) in citations(spec) {
            report.findings.push(check_citation(
                &mut loaded,
                sources,
                spec,
                &subject,
                citation,
            ));
        }
        for p in spec.params.iter().map(|p| p.get_ref()) {
            check_param_against_models(&mut loaded, sources, spec, p, &mut report);
        }
        check_members(&mut loaded, sources, spec, &mut report);
    }
    report
}

/// Every citation in a table, with what it supports.
fn citations(spec: &Spec) -> Vec<(String, &Citation)> {
    fn push<'a>(out: &mut Vec<(String, &'a Citation)>, subject: &str, cites: &'a Cites) {
        for (fact, list) in cites {
            out.extend(list.iter().map(|c| (format!("{subject} cite.{fact}"), c)));
        }
    }
    let mut out = Vec::new();
    push(&mut out, "[api]", &spec.api.cite);
    for p in &spec.params {
        push(
            &mut out,
            &format!("param {}", p.get_ref().name),
            &p.get_ref().cite,
        );
    }
    push(&mut out, "[conventions]", &spec.conventions.cite);
    push(&mut out, "[volatile]", &spec.volatile.cite);
    push(&mut out, "[response]", &spec.response.cite);
    push(&mut out, "[readback]", &spec.readback.cite);
    if let Some(sm) = &spec.state_machine {
        push(&mut out, "[state_machine]", &sm.cite);
        for r in &sm.on_modify {
            let subject = format!("[state_machine] on_modify {}", r.instance_state);
            out.extend(r.cite.iter().map(|c| (subject.clone(), c)));
        }
    }
    for e in &spec.errors {
        let subject = format!("error {}", e.get_ref().code);
        out.extend(e.get_ref().cite.iter().map(|c| (subject.clone(), c)));
    }
    for a in &spec.ambiguities {
        for r in &a.get_ref().readings {
            let subject = format!("ambiguity {} reading {}", a.get_ref().id, r.id);
            out.extend(r.cite.iter().map(|c| (subject.clone(), c)));
        }
    }
    if let Some(dp) = &spec.data_plane {
        push(&mut out, "[data_plane]", &dp.cite);
        for rule in dp.rules.iter().map(|r| r.get_ref()) {
            let subject = format!("data_plane rule {}", rule.id);
            out.extend(rule.cite.iter().map(|c| (subject.clone(), c)));
        }
    }
    out
}

fn check_citation(
    loaded: &mut Loaded,
    sources: &Sources,
    spec: &Spec,
    subject: &str,
    c: &Citation,
) -> Finding {
    let finding = |detail: String, kind: FindingKind| Finding {
        api: spec.api.id.clone(),
        subject: subject.to_string(),
        detail,
        kind,
    };
    if let (Some(doc), Some(quote)) = (&c.doc, &c.quote) {
        let Some(text) = loaded.doc(sources, doc) else {
            return finding(format!("doc {doc} not found"), FindingKind::Failure);
        };
        let q = normalize(quote);
        return if text.contains(&q) {
            finding(format!("quote found in {doc}"), FindingKind::Ok)
        } else {
            finding(format!("quote not in {doc}: \"{q}\""), FindingKind::Failure)
        };
    }
    if let (Some(reference), None, Some(quote)) = (&c.reference, &c.key, &c.quote) {
        let Some(text) = loaded.text(sources, reference) else {
            return finding(
                format!("reference {reference} not found"),
                FindingKind::Failure,
            );
        };
        let q = normalize(quote);
        return if text.contains(&q) {
            finding(format!("quote found in {reference}"), FindingKind::Ok)
        } else {
            finding(
                format!("quote not in {reference}: \"{q}\""),
                FindingKind::Failure,
            )
        };
    }
    if let (Some(reference), Some(key)) = (&c.reference, &c.key) {
        let Some(model) = loaded.model(sources, reference) else {
            return finding(
                format!("reference {reference} not found or not JSON"),
                FindingKind::Failure,
            );
        };
        return if resolve(model, key).is_empty() {
            finding(
                format!("key {key} does not resolve in {reference}"),
                FindingKind::Failure,
            )
        } else {
            finding(
                format!("key {key} resolves in {reference}"),
                FindingKind::Ok,
            )
        };
    }
    finding("a note (nothing to check)".into(), FindingKind::Ok)
}

/// Values at a dotted key. A member name may itself contain dots (Smithy shape
/// ids), so each step takes the longest run of segments that names a member; `*`
/// takes every element of an array or every member of an object.
pub fn resolve<'a>(root: &'a Value, key: &str) -> Vec<&'a Value> {
    let segments: Vec<&str> = key.split('.').collect();
    let mut out = Vec::new();
    resolve_from(root, &segments, &mut out);
    out
}

fn resolve_from<'a>(v: &'a Value, segments: &[&str], out: &mut Vec<&'a Value>) {
    if segments.is_empty() {
        out.push(v);
        return;
    }
    if segments[0] == "*" {
        match v {
            Value::Array(items) => items
                .iter()
                .for_each(|i| resolve_from(i, &segments[1..], out)),
            Value::Object(map) => map
                .values()
                .for_each(|i| resolve_from(i, &segments[1..], out)),
            _ => {}
        }
        return;
    }
    let Value::Object(map) = v else { return };
    for take in (1..=segments.len()).rev() {
        let name = segments[..take].join(".");
        if let Some(child) = map.get(&name) {
            resolve_from(child, &segments[take..], out);
            return;
        }
    }
}

/// Ambiguities with a reading that cites `reference` and patches `param`.
fn covering_ambiguity(spec: &Spec, param: &str, reference: &str) -> Option<String> {
    spec.ambiguities.iter().map(|a| a.get_ref()).find_map(|a| {
        let cites_model = a.readings.iter().any(|r| {
            r.cite
                .iter()
                .any(|c| c.reference.as_deref() == Some(reference))
        });
        let about_param = a
            .readings
            .iter()
            .any(|r| r.set.iter().any(|p| p.param.as_deref() == Some(param)))
            || a.summary.contains(param);
        (cites_model && about_param).then(|| a.id.clone())
    })
}

fn check_param_against_models(
    loaded: &mut Loaded,
    sources: &Sources,
    spec: &Spec,
    p: &Param,
    report: &mut CheckReport,
) {
    for (fact, cites) in &p.cite {
        for c in cites {
            let (Some(reference), Some(key)) = (&c.reference, &c.key) else {
                continue;
            };
            let Some(model) = loaded.model(sources, reference).cloned() else {
                continue;
            };
            let found = resolve(&model, key);
            let verdict = match fact.as_str() {
                "values" => Some(compare_values(p, &found)),
                "required" => Some(compare_required(p, &found)),
                _ => None,
            };
            let Some(result) = verdict else { continue };
            let kind = match &result {
                Ok(_) => FindingKind::Ok,
                Err(_) => match covering_ambiguity(spec, &p.name, reference) {
                    Some(id) => FindingKind::Ambiguity(id),
                    None => FindingKind::Failure,
                },
            };
            report.findings.push(Finding {
                api: spec.api.id.clone(),
                subject: format!("param {} {fact} vs {reference}#{key}", p.name),
                detail: result.unwrap_or_else(|e| e),
                kind,
            });
        }
    }
}

fn compare_values(p: &Param, found: &[&Value]) -> Result<String, String> {
    let Some(Value::Array(items)) = found.first() else {
        return Err("the model key is not a list of values".into());
    };
    let model: BTreeSet<String> = items
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let table: BTreeSet<String> = p.values.iter().cloned().collect();
    if model == table {
        Ok(format!("values {table:?} agree"))
    } else {
        Err(format!("table values {table:?}, model values {model:?}"))
    }
}

/// A botocore `required` list, or Alibaba metadata's `parameters` entries.
fn compare_required(p: &Param, found: &[&Value]) -> Result<String, String> {
    let model_required = match found {
        [Value::Array(names)] if names.iter().all(Value::is_string) => {
            Some(names.iter().any(|n| n.as_str() == Some(&p.name)))
        }
        entries => entries
            .iter()
            .find(|e| e.get("name").and_then(Value::as_str) == Some(&p.name))
            .and_then(|e| e.get("required").and_then(Value::as_bool)),
    };
    match model_required {
        Some(r) if r == p.required => Ok(format!("required = {r} agrees")),
        Some(r) => Err(format!(
            "table says required = {}, model says {r}",
            p.required
        )),
        None => Err(format!("the model does not mention {}", p.name)),
    }
}

/// The request's member names in the model (found through the `required`
/// citations) against the table's parameters.
fn check_members(loaded: &mut Loaded, sources: &Sources, spec: &Spec, report: &mut CheckReport) {
    let mut seen = BTreeSet::new();
    for p in spec.params.iter().map(|p| p.get_ref()) {
        for c in p.cite.get("required").into_iter().flatten() {
            let (Some(reference), Some(key)) = (&c.reference, &c.key) else {
                continue;
            };
            if !seen.insert((reference.clone(), key.clone())) {
                continue;
            }
            let Some(model) = loaded.model(sources, reference).cloned() else {
                continue;
            };
            let names: Option<BTreeSet<String>> = if let Some(parent) =
                key.strip_suffix(".required")
            {
                resolve(&model, &format!("{parent}.members"))
                    .first()
                    .and_then(|m| m.as_object())
                    .map(|m| m.keys().cloned().collect())
            } else {
                let entries = resolve(&model, key);
                Some(
                    entries
                        .iter()
                        .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_string))
                        .collect(),
                )
            };
            let Some(model_names) = names else { continue };
            let table: BTreeSet<String> = spec
                .params
                .iter()
                .map(|p| p.get_ref().name.clone())
                .collect();
            let only_model: Vec<_> = model_names.difference(&table).collect();
            let only_table: Vec<_> = table.difference(&model_names).collect();
            let ok = only_model.is_empty() && only_table.is_empty();
            report.findings.push(Finding {
                api: spec.api.id.clone(),
                subject: format!("request members vs {reference}#{key}"),
                detail: if ok {
                    format!("{} members agree", table.len())
                } else {
                    format!("only in the model: {only_model:?}; only in the table: {only_table:?}")
                },
                kind: if ok {
                    FindingKind::Ok
                } else {
                    FindingKind::Failure
                },
            });
        }
    }
}
