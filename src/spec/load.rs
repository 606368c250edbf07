//! Loading spec tables: TOML → [`Spec`], then validation. Every rejection names the
//! file, the line and the field, so a table author can fix it without guessing.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::ops::Range as ByteRange;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::types::{
    Absent, Ambiguity, Api, Citation, Cites, Conventions, ErrorEntry, Param, ParamType, Patch,
    Readback, Response, Role, Spec, StateMachine, Status, Strength, Volatile,
};

mod data_plane;

/// A rejected spec table: where, which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The file (or `-` for errors across tables).
    pub file: String,
    /// The 1-based line (0 when unknown).
    pub line: usize,
    /// The field, dotted (`cite.values`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_unreadable() {
            // A file or folder that could not be read: no line, no field to name.
            return write!(f, "{}: {}", self.file, self.message);
        }
        write!(
            f,
            "{}:{}: field `{}`: {}",
            self.file, self.line, self.field, self.message
        )
    }
}

impl std::error::Error for SpecError {}

impl SpecError {
    /// A file or folder that could not be read ([`SpecErrors::unreadable`]), not
    /// a table found invalid.
    pub fn is_unreadable(&self) -> bool {
        self.line == 0 && self.field == "-" && self.file != "-"
    }
}

/// Several rejections of one or more tables.
#[derive(Debug, Clone)]
pub struct SpecErrors(pub Vec<SpecError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

impl SpecErrors {
    /// The one error of a file or folder that could not be read.
    fn unreadable(path: &Path, message: &str) -> Self {
        SpecErrors(vec![SpecError {
            file: path.display().to_string(),
            line: 0,
            field: "-".into(),
            message: message.to_string(),
        }])
    }
}

/// Parse and validate one table. `file` names it in errors.
pub fn load_str(file: &str, text: &str) -> Result<Spec, SpecErrors> {
    let mut spec: Spec =
        toml::from_str(text).map_err(|e| SpecErrors(vec![parse_error(file, text, &e)]))?;
    let mut v = Validator {
        file,
        text,
        errors: Vec::new(),
    };
    v.spec(&spec);
    if v.errors.is_empty() {
        for p in &mut spec.params {
            let p = p.get_mut();
            p.pattern_regex = p
                .pattern
                .as_deref()
                .and_then(|re| regex::Regex::new(re).ok())
                .map(std::sync::Arc::new);
        }
        spec.volatile.instance_regex = spec
            .volatile
            .instance_pattern
            .as_deref()
            .and_then(|re| Volatile::compile_instance_pattern(re).ok());
        Ok(spec)
    } else {
        Err(SpecErrors(v.errors))
    }
}

/// Load one table from disk.
pub fn load_file(path: &Path) -> Result<Spec, SpecErrors> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SpecErrors::unreadable(path, &format!("cannot read: {e}")))?;
    load_str(&path.display().to_string(), &text)
}

/// Load every `*.toml` in `dir`, sorted by file name; all errors of all tables.
pub fn load_dir(dir: &Path) -> Result<Vec<Spec>, SpecErrors> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| SpecErrors::unreadable(dir, &format!("cannot read the spec folder: {e}")))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    collect(paths.iter().map(|p| load_file(p)))
}

/// The tables in `specs/`, compiled into the binary (see build.rs) so the tool
/// works from any directory. Adding a table to `specs/` adds an API.
pub fn builtin() -> Result<Vec<Spec>, SpecErrors> {
    collect(
        BUILTIN
            .iter()
            .map(|(name, text)| load_str(&format!("specs/{name}"), text)),
    )
}

/// The built-in table with this API id.
pub fn builtin_api(id: &str) -> Result<Option<Spec>, SpecErrors> {
    Ok(builtin()?.into_iter().find(|s| s.api.id == id))
}

include!(concat!(env!("OUT_DIR"), "/builtin_specs.rs"));

fn collect(
    results: impl Iterator<Item = Result<Spec, SpecErrors>>,
) -> Result<Vec<Spec>, SpecErrors> {
    let mut specs = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(s) => specs.push(s),
            Err(SpecErrors(mut e)) => errors.append(&mut e),
        }
    }
    let mut seen = HashSet::new();
    for s in &specs {
        if !seen.insert(s.api.id.clone()) {
            errors.push(SpecError {
                file: "-".into(),
                line: 0,
                field: "api.id".into(),
                message: format!("two tables have the id {:?}", s.api.id),
            });
        }
    }
    if errors.is_empty() {
        Ok(specs)
    } else {
        Err(SpecErrors(errors))
    }
}

fn parse_error(file: &str, text: &str, e: &toml::de::Error) -> SpecError {
    let span = e.span().unwrap_or(0..0);
    let message = e.message().trim();
    // serde names the field itself for unknown and missing fields; otherwise the
    // field is the key assigned on the line the error points at.
    let named = ["unknown field", "missing field", "duplicate field"]
        .iter()
        .any(|p| message.starts_with(p));
    let field = if named { quoted_in(message) } else { None }
        .or_else(|| key_on_line(text, span.start))
        .unwrap_or_else(|| "-".into());
    SpecError {
        file: file.into(),
        line: line_at(text, span.start),
        field,
        message: message.to_string(),
    }
}

/// The key assigned on the line holding `offset` (`key = …`), if any.
fn key_on_line(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or("");
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('{')).then(|| key.to_string())
}

/// The first `backquoted` word of a message (serde names fields that way).
fn quoted_in(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

fn line_at(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text[..offset].bytes().filter(|b| *b == b'\n').count() + 1
}

struct Validator<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<SpecError>,
}

/// Where a value sits in the file: a spanned table, or a `[section]` header.
#[derive(Clone)]
enum Place<'s> {
    Span(ByteRange<usize>),
    Section(&'s str),
}

impl<'a> Validator<'a> {
    fn fail(&mut self, place: &Place, field: &str, message: impl Into<String>) {
        let line = self.line_of(place, field);
        self.errors.push(SpecError {
            file: self.file.into(),
            line,
            field: field.into(),
            message: message.into(),
        });
    }

    /// The line of `field` inside `place`: the first line there that assigns it
    /// (`field =`, `field.x =`), else the start of the place.
    fn line_of(&self, place: &Place, field: &str) -> usize {
        let range = match place {
            Place::Span(r) => self.table_extent(r.clone()),
            Place::Section(header) => self.section_range(header),
        };
        let leaf = field.rsplit('.').next().unwrap_or(field);
        let body = self.text.get(range.clone()).unwrap_or("");
        let mut offset = range.start;
        for line in body.split_inclusive('\n') {
            let t = line.trim_start();
            let key_matches = [leaf, field].iter().any(|k| {
                t.strip_prefix(k)
                    .is_some_and(|rest| rest.trim_start().starts_with(['=', '.']))
            });
            if key_matches {
                return line_at(self.text, offset);
            }
            offset += line.len();
        }
        // Then a key inside an inline table: `{ field = …` or `, field = …`.
        let mut offset = range.start;
        for line in body.split_inclusive('\n') {
            if [format!("{{ {leaf} ="), format!(", {leaf} =")]
                .iter()
                .any(|k| line.contains(k.as_str()))
            {
                return line_at(self.text, offset);
            }
            offset += line.len();
        }
        line_at(self.text, range.start)
    }

    /// A spanned array-of-tables entry, widened to take in its sub-tables
    /// (`[[ambiguity.reading]]` under `[[ambiguity]]`): up to the next header that
    /// is not one of its own.
    fn table_extent(&self, span: ByteRange<usize>) -> ByteRange<usize> {
        // The span of an array-of-tables entry starts at its `[[name]]` header.
        let start = span.start.min(self.text.len());
        let header = self.text[start..].lines().next().unwrap_or("").trim();
        if !header.starts_with("[[") {
            return span;
        }
        let name = header.trim_matches(|c| c == '[' || c == ']');
        let own = [format!("[[{name}."), format!("[{name}.")];
        let mut offset = span.start;
        for line in self.text[span.start..].split_inclusive('\n') {
            let t = line.trim();
            if offset > span.start
                && t.starts_with('[')
                && !own.iter().any(|o| t.starts_with(o.as_str()))
            {
                return span.start..offset.max(span.end);
            }
            offset += line.len();
        }
        span.start..self.text.len()
    }

    fn section_range(&self, header: &str) -> ByteRange<usize> {
        let needle = format!("[{header}]");
        let mut offset = 0;
        let mut start = None;
        for line in self.text.split_inclusive('\n') {
            let t = line.trim();
            if start.is_none() && t == needle {
                start = Some(offset);
            } else if start.is_some()
                && t.starts_with('[')
                && !t.starts_with(&format!("[{header}."))
            {
                return start.unwrap_or(0)..offset;
            }
            offset += line.len();
        }
        start.unwrap_or(0)..self.text.len()
    }

    fn spec(&mut self, spec: &Spec) {
        self.api(&spec.api);
        let options: BTreeSet<String> = spec
            .params
            .iter()
            .filter_map(|p| p.get_ref().option.clone())
            .collect();
        let codes: BTreeSet<&str> = spec
            .errors
            .iter()
            .map(|e| e.get_ref().code.as_str())
            .collect();
        let mut names = HashSet::new();
        for p in &spec.params {
            let place = Place::Span(p.span());
            if !names.insert(p.get_ref().name.clone()) {
                self.fail(
                    &place,
                    "name",
                    format!("parameter {:?} is listed twice", p.get_ref().name),
                );
            }
            self.param(p, &codes);
        }
        self.conventions(&spec.conventions);
        self.volatile(&spec.volatile);
        self.response(&spec.response, &options);
        self.readback(&spec.readback, &options);
        if let Some(sm) = &spec.state_machine {
            self.state_machine(sm);
        }
        for e in &spec.errors {
            self.error_entry(e);
        }
        let mut ids = HashSet::new();
        for a in &spec.ambiguities {
            if !ids.insert(a.get_ref().id.clone()) {
                self.fail(
                    &Place::Span(a.span()),
                    "id",
                    format!("ambiguity {:?} is listed twice", a.get_ref().id),
                );
            }
            self.ambiguity(spec, a, &codes);
        }
        if let Some(dp) = &spec.data_plane {
            self.data_plane(spec, dp);
        }
    }

    fn api(&mut self, api: &Api) {
        let place = Place::Section("api");
        for field in [
            "operation",
            "protocol",
            "api_version",
            "signing",
            "endpoint",
            "credentials",
        ] {
            self.require_cite(&place, &api.cite, field);
        }
        for name in api.credentials.names() {
            if !crate::wire::credentials::is_variable_name(name) {
                self.fail(
                    &place,
                    "credentials",
                    format!(
                        "{name:?} is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)"
                    ),
                );
            }
        }
        if api.signing == crate::wire::SigningScheme::Sigv4 && api.signing_name.is_empty() {
            self.fail(&place, "signing_name", "SigV4 needs a signing name");
        }
        if api.protocol == crate::wire::Protocol::AwsJson11 && api.target_prefix.is_empty() {
            self.fail(&place, "target_prefix", "AWS JSON needs a target prefix");
        }
        self.cites(&place, &api.cite);
    }

    fn param(&mut self, p: &Spanned<Param>, codes: &BTreeSet<&str>) {
        let place = Place::Span(p.span());
        let p = p.get_ref();
        match p.kind {
            ParamType::Enum | ParamType::Boolean if p.values.is_empty() => {
                self.fail(
                    &place,
                    "values",
                    format!("{} parameter {:?} has no values", kind_name(p.kind), p.name),
                );
            }
            _ => {}
        }
        if let Some(r) = p.range {
            if r.min > r.max {
                self.fail(
                    &place,
                    "range",
                    format!("min {} is greater than max {}", r.min, r.max),
                );
            }
            if p.kind != ParamType::Integer {
                self.fail(&place, "range", "a range needs type = \"integer\"");
            }
        }
        if p.role == Role::Option && p.option.is_none() {
            self.fail(
                &place,
                "option",
                format!(
                    "option parameter {:?} does not name the option it sets",
                    p.name
                ),
            );
        }
        if p.absent == Absent::Default {
            match &p.default {
                None => self.fail(
                    &place,
                    "default",
                    "absent = \"default\" needs a default value",
                ),
                Some(d) if !p.values.is_empty() && !p.values.contains(d) => self.fail(
                    &place,
                    "default",
                    format!("default {d:?} is not one of the values"),
                ),
                Some(_) => {}
            }
        }
        if let Some(pattern) = &p.pattern {
            if let Err(e) = regex::Regex::new(pattern) {
                self.fail(
                    &place,
                    "pattern",
                    format!("not a valid regular expression: {e}"),
                );
            }
        }
        if let (Some(bad), Some(Ok(re))) =
            (&p.malformed, p.pattern.as_deref().map(regex::Regex::new))
        {
            if re.is_match(bad) {
                self.fail(
                    &place,
                    "malformed",
                    format!("{bad:?} matches the pattern: it is not malformed"),
                );
            }
        }
        if let Some(inv) = &p.invalid {
            if !codes.contains(inv.error.as_str()) {
                self.fail(
                    &place,
                    "invalid",
                    format!("error {:?} is not in the table's errors", inv.error),
                );
            }
        }
        self.stated_and_cited(&place, &p.stated_facts(), &p.cite, "this parameter");
    }

    fn conventions(&mut self, c: &Conventions) {
        let place = Place::Section("conventions");
        let lists = [
            ("unknown_parameter", &c.unknown_parameter),
            ("duplicate_parameter", &c.duplicate_parameter),
            ("empty_value", &c.empty_value),
            ("null_value", &c.null_value),
        ];
        for (name, list) in lists {
            if !list.is_empty() {
                self.require_cite(&place, &c.cite, name);
            }
        }
        self.cites(&place, &c.cite);
    }

    fn volatile(&mut self, v: &Volatile) {
        let place = Place::Section("volatile");
        if let Some(pattern) = &v.instance_pattern {
            if let Err(e) = Volatile::compile_instance_pattern(pattern) {
                self.fail(
                    &place,
                    "instance_pattern",
                    format!("not a valid regular expression: {e}"),
                );
            }
        }
        self.stated_and_cited(&place, &v.stated_facts(), &v.cite, "this section");
    }

    fn response(&mut self, r: &Response, options: &BTreeSet<String>) {
        let place = Place::Section("response");
        if r.options_path.is_some() {
            self.require_cite(&place, &r.cite, "options_path");
        }
        if !r.fields.is_empty() {
            self.require_cite(&place, &r.cite, "fields");
        }
        if !r.constants.is_empty() {
            self.require_cite(&place, &r.cite, "constants");
        }
        if r.cite.is_empty() {
            self.fail(&place, "cite", "the response shape has no source");
        }
        self.known_options(&place, &r.fields, options);
        self.cites(&place, &r.cite);
    }

    fn readback(&mut self, r: &Readback, options: &BTreeSet<String>) {
        let place = Place::Section("readback");
        self.require_cite(&place, &r.cite, "operation");
        if r.run_state_path.is_some() {
            self.require_cite(&place, &r.cite, "run_state_path");
        }
        self.known_options(&place, &r.fields, options);
        self.cites(&place, &r.cite);
    }

    fn known_options(
        &mut self,
        place: &Place,
        fields: &std::collections::BTreeMap<String, String>,
        options: &BTreeSet<String>,
    ) {
        for option in fields.keys() {
            if !options.contains(option) {
                self.fail(
                    place,
                    "fields",
                    format!("option {option:?} is set by no parameter"),
                );
            }
        }
    }

    fn state_machine(&mut self, sm: &StateMachine) {
        let place = Place::Section("state_machine");
        if !sm.states.contains(&sm.settles_to) {
            self.fail(
                &place,
                "settles_to",
                format!("{:?} is not one of the states", sm.settles_to),
            );
        }
        self.require_cite(&place, &sm.cite, "states");
        self.require_cite(&place, &sm.cite, "settles_to");
        for rule in &sm.on_modify {
            for s in &rule.answer {
                if !sm.states.contains(s) {
                    self.fail(&place, "answer", format!("{s:?} is not one of the states"));
                }
            }
            if rule.cite.is_empty() {
                self.fail(
                    &place,
                    "cite",
                    format!(
                        "the on_modify rule for {:?} has no source",
                        rule.instance_state
                    ),
                );
            }
            for c in &rule.cite {
                self.citation(&place, "cite", c);
            }
        }
        self.cites(&place, &sm.cite);
    }

    fn error_entry(&mut self, e: &Spanned<ErrorEntry>) {
        let place = Place::Span(e.span());
        let e = e.get_ref();
        if let Status::Exact(s) = e.status {
            if !(100..=599).contains(&s) {
                self.fail(&place, "status", format!("{s} is not an HTTP status"));
            }
        }
        if e.cite.is_empty() {
            self.fail(&place, "cite", format!("error {:?} has no source", e.code));
        }
        for c in &e.cite {
            self.citation(&place, "cite", c);
        }
    }

    fn ambiguity(&mut self, spec: &Spec, a: &Spanned<Ambiguity>, codes: &BTreeSet<&str>) {
        let place = Place::Span(a.span());
        let a = a.get_ref();
        if a.readings.len() < 2 {
            self.fail(
                &place,
                "reading",
                format!("ambiguity {:?} needs at least two readings", a.id),
            );
        }
        let mut ids = HashSet::new();
        for r in &a.readings {
            if !ids.insert(r.id.clone()) {
                self.fail(&place, "id", format!("reading {:?} is listed twice", r.id));
            }
            if r.cite.is_empty() {
                self.fail(&place, "cite", format!("reading {:?} has no source", r.id));
            }
            for c in &r.cite {
                self.citation(&place, "cite", c);
            }
            for patch in &r.set {
                self.patch(spec, &place, patch, codes);
            }
        }
    }

    fn patch(&mut self, spec: &Spec, place: &Place, patch: &Patch, codes: &BTreeSet<&str>) {
        let targets = [patch.param.is_some(), patch.error.is_some(), patch.response]
            .iter()
            .filter(|t| **t)
            .count();
        if targets != 1 {
            self.fail(
                place,
                "set",
                "a patch names exactly one of param, error or response = true",
            );
            return;
        }
        if let Some(name) = &patch.param {
            match spec.param(name) {
                None => self.fail(place, "param", format!("parameter {name:?} does not exist")),
                Some(p) => {
                    if let Some(r) = patch.range {
                        if r.min > r.max {
                            self.fail(
                                place,
                                "range",
                                format!("min {} is greater than max {}", r.min, r.max),
                            );
                        }
                    }
                    if patch.absent == Some(Absent::Default)
                        && patch.default.is_none()
                        && p.default.is_none()
                    {
                        self.fail(
                            place,
                            "default",
                            "absent = \"default\" needs a default value",
                        );
                    }
                    if let Some(rej) = &patch.rejected {
                        if !codes.contains(rej.error.as_str()) {
                            self.fail(
                                place,
                                "rejected",
                                format!("error {:?} is not in the table's errors", rej.error),
                            );
                        }
                    }
                }
            }
        }
        if let Some(code) = &patch.error {
            if !codes.contains(code.as_str()) {
                self.fail(
                    place,
                    "error",
                    format!("error {code:?} is not in the table's errors"),
                );
            }
        }
    }

    /// Every fact `stated` has a source in `cites`, every source is of a fact
    /// stated (`what` states them, in the error), and each citation is well formed.
    fn stated_and_cited(&mut self, place: &Place, stated: &[&str], cites: &Cites, what: &str) {
        for fact in stated {
            self.require_cite(place, cites, fact);
        }
        for key in cites.keys() {
            if !stated.contains(&key.as_str()) {
                self.fail(
                    place,
                    &format!("cite.{key}"),
                    format!("cites {key:?}, which {what} does not state"),
                );
            }
        }
        self.cites(place, cites);
    }

    fn require_cite(&mut self, place: &Place, cites: &Cites, fact: &str) {
        if cites.get(fact).is_none_or(|c| c.is_empty()) {
            self.fail(
                place,
                &format!("cite.{fact}"),
                format!("the fact {fact:?} has no source"),
            );
        }
    }

    fn cites(&mut self, place: &Place, cites: &Cites) {
        for (fact, list) in cites {
            for c in list {
                self.citation(place, &format!("cite.{fact}"), c);
            }
        }
    }

    fn citation(&mut self, place: &Place, field: &str, c: &Citation) {
        let has_doc = c.doc.is_some() && c.quote.as_deref().is_some_and(|q| !q.trim().is_empty());
        // A reference is a model (+ key) or a text extract (+ quote).
        let has_ref = c.reference.is_some()
            && (c.key.as_deref().is_some_and(|k| !k.is_empty())
                || c.quote.as_deref().is_some_and(|q| !q.trim().is_empty()));
        let has_note = c.note.as_deref().is_some_and(|n| !n.trim().is_empty());
        if c.doc.is_some() && !has_doc {
            self.fail(place, field, "a doc citation needs the exact quote");
        } else if c.reference.is_some() && !has_ref {
            self.fail(
                place,
                field,
                "a reference citation needs the key or the quote",
            );
        } else if !(has_doc || has_ref || has_note) {
            self.fail(
                place,
                field,
                "a citation needs doc + quote, reference + key, or a note",
            );
        } else if c.strength == Strength::Model && !(has_ref || has_doc) {
            self.fail(
                place,
                field,
                "a model fact cites a model (reference + key) or a doc quote",
            );
        } else if c.strength == Strength::Documented && !(has_doc || has_ref) {
            self.fail(place, field, "a documented fact quotes its doc");
        }
    }
}

fn kind_name(k: ParamType) -> &'static str {
    match k {
        ParamType::String => "string",
        ParamType::Enum => "enum",
        ParamType::Integer => "integer",
        ParamType::Boolean => "boolean",
    }
}
