//! The catalogue of deliberate deviations, derived from a spec table: for every
//! rule family the table has (ranges, enums, omission, DryRun, the state machine,
//! the read-back, errors and their codes and statuses, authentication), faults
//! built from its rows — never from a list of API names — each with the departure
//! rule (or the inconsistent ambiguity) that must catch it.
//!
//! A fault is left out where no reading-independent check could see it: a value of
//! a parameter that some reading ignores and the read-back does not show, an
//! omission of an option nothing shows. Such gaps are the table's, not the engine's.

use serde::{Deserialize, Serialize};

use super::fault::Fault;
use super::model::{initial_value, patch_row, pinned, rows, Assignment, UNLISTED_CODE};
use crate::generate::{Builder, Phase, Subject};
use crate::oracle::Auth;
use crate::spec::{
    Absent, Condition, ErrorEntry, Handling, Param, ParamType, Range, Role, Spec, Status,
};

/// The rule families of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Ranges of numbers.
    Range,
    /// Enumerated values.
    Enum,
    /// What an omitted parameter does.
    Omission,
    /// DryRun handling.
    DryRun,
    /// The pending → applied machine.
    StateMachine,
    /// The modify answer's options.
    Answer,
    /// The read-back call.
    Readback,
    /// Error codes and statuses.
    Errors,
    /// Authentication.
    Auth,
}

impl Family {
    /// Every family, in listing order.
    pub const ALL: [Family; 9] = [
        Family::Range,
        Family::Enum,
        Family::Omission,
        Family::DryRun,
        Family::StateMachine,
        Family::Answer,
        Family::Readback,
        Family::Errors,
        Family::Auth,
    ];

    /// The family's name in listings.
    pub fn name(self) -> &'static str {
        match self {
            Family::Range => "ranges",
            Family::Enum => "enums",
            Family::Omission => "omission",
            Family::DryRun => "dry-run",
            Family::StateMachine => "state machine",
            Family::Answer => "answer",
            Family::Readback => "read-back",
            Family::Errors => "errors",
            Family::Auth => "auth",
        }
    }
}

/// How a deviation must be caught.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum Expect {
    /// A departure whose rule matches this glob.
    Departure {
        /// The glob.
        rule: String,
    },
    /// The ambiguity's readings come out `inconsistent`.
    Inconsistent {
        /// The ambiguity's id.
        ambiguity: String,
    },
}

/// One deliberate deviation: a model target with one fault, and what must catch it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deviation {
    /// `api/family/what`, stable.
    pub id: String,
    /// The API id.
    pub api: String,
    /// The rule family it deviates in.
    pub family: Family,
    /// The deviation.
    pub fault: Fault,
    /// The readings the faulty target otherwise implements.
    pub assignment: Assignment,
    /// What must catch it.
    pub expect: Expect,
    /// The phases the run needs, the random-phase size, and (when not empty) the
    /// case rules it needs (globs, as `run --only`).
    pub phases: Vec<Phase>,
    /// The random-phase size.
    pub random_cases: u32,
    /// The case rules it needs (none: every case).
    pub only: Vec<String>,
}

/// An error the table answers under a rule.
struct ErrorRule {
    rule: String,
    entry: ErrorEntry,
    /// The code is established (not only the status).
    code_exact: bool,
    /// The rule is about an option's value.
    value: bool,
}

/// The rule families a table has facts for: each must have deviations of its own.
pub fn families(spec: &Spec) -> Vec<Family> {
    let params = || spec.params.iter().map(|p| p.get_ref());
    let mut out = Vec::new();
    if params().any(|p| p.kind == ParamType::Integer && p.role == Role::Option) {
        out.push(Family::Range);
    }
    if params().any(|p| matches!(p.kind, ParamType::Enum | ParamType::Boolean)) {
        out.push(Family::Enum);
    }
    if params().any(|p| p.role == Role::Option || p.required) {
        out.push(Family::Omission);
    }
    if params().any(|p| p.role == Role::DryRun) {
        out.push(Family::DryRun);
    }
    if spec.state_machine.is_some() {
        out.push(Family::StateMachine);
    }
    if spec.response.options_path.is_some() && !spec.response.fields.is_empty() {
        out.push(Family::Answer);
    }
    if !spec.readback.fields.is_empty() {
        out.push(Family::Readback);
    }
    if !spec.errors.is_empty() {
        out.push(Family::Errors);
    }
    out.push(Family::Auth);
    out
}

/// The first reading of each ambiguity.
pub fn first_readings(spec: &Spec) -> Assignment {
    spec.ambiguities
        .iter()
        .filter_map(|a| {
            let a = a.get_ref();
            a.readings.first().map(|r| (a.id.clone(), r.id.clone()))
        })
        .collect()
}

/// What the derivation needs to know of a table.
struct Table<'a> {
    spec: &'a Spec,
    base: Assignment,
    /// The parameter rows under the base readings.
    rows: Vec<Param>,
    out: Vec<Deviation>,
}

/// Every deviation derived from `spec`.
pub fn catalogue(spec: &Spec) -> Vec<Deviation> {
    let base = first_readings(spec);
    let rows = rows(&pinned(spec, &base));
    let mut t = Table {
        spec,
        base,
        rows,
        out: Vec::new(),
    };
    t.ranges();
    t.enums();
    t.omissions();
    t.omission_ambiguities();
    t.dry_run();
    t.state_machine();
    t.answer();
    t.readback();
    t.errors();
    t.auth();
    t.out
}

impl Table<'_> {
    fn push(&mut self, family: Family, what: String, fault: Fault, expect: Expect) {
        let (phases, random_cases, only) = self.needs(family, &fault);
        self.out.push(Deviation {
            id: format!(
                "{}/{}/{what}",
                self.spec.api.id,
                family.name().replace(' ', "-")
            ),
            api: self.spec.api.id.clone(),
            family,
            fault,
            assignment: self.base.clone(),
            expect,
            phases,
            random_cases,
            only,
        });
    }

    /// The phases and cases a fault needs to show.
    fn needs(&self, family: Family, fault: &Fault) -> (Vec<Phase>, u32, Vec<String>) {
        let cov_seq = vec![Phase::Coverage, Phase::Sequence];
        match (family, fault) {
            (Family::Auth, _) => (vec![Phase::Auth], 0, Vec::new()),
            (Family::StateMachine, Fault::NeverSettles) => (vec![Phase::Sequence], 0, Vec::new()),
            (_, Fault::AcceptValue { param, .. } | Fault::CaseInsensitive { param }) => {
                (vec![Phase::Coverage], 0, vec![format!("{param}.*")])
            }
            (_, Fault::AcceptMissing { param }) => {
                (vec![Phase::Coverage], 0, vec![format!("{param}.absent")])
            }
            (_, Fault::ReadbackDrops { .. }) => (vec![Phase::Coverage], 0, vec!["baseline".into()]),
            (Family::DryRun, _) => {
                let dry = self.rows().find(|p| p.role == Role::DryRun);
                let mut only = vec!["dry-run.*".to_string()];
                only.extend(dry.map(|p| format!("{}.*", p.name)));
                (cov_seq, 0, only)
            }
            (
                Family::Errors,
                Fault::ErrorCode { rule, .. }
                | Fault::ErrorStatus { rule, .. }
                | Fault::ErrorHtml { rule },
            ) => {
                let param = rule.split('.').next().unwrap_or(rule);
                let glob = if rule.starts_with("conventions.") {
                    rule.clone()
                } else {
                    format!("{param}.*")
                };
                (vec![Phase::Coverage], 0, vec![glob])
            }
            _ => (cov_seq, 0, Vec::new()),
        }
    }

    /// The parameter rows under the base readings.
    fn rows(&self) -> impl Iterator<Item = &Param> {
        self.rows.iter()
    }

    /// The parameter can be used in the table's default region.
    fn available(&self, p: &Param) -> bool {
        p.regions.is_empty() || p.regions.contains(&self.spec.api.default_region)
    }

    /// Some reading of some ambiguity changes what an omitted `param` does.
    fn omission_ambiguous(&self, param: &str) -> bool {
        self.patches(param)
            .any(|pt| pt.absent.is_some() || pt.required.is_some() || pt.default.is_some())
    }

    /// Some reading ignores `param` and nothing shows its option: a value fault on
    /// it passes under that reading.
    fn ignorable_unseen(&self, p: &Param) -> bool {
        let ignored = self.patches(&p.name).any(|pt| pt.ignored);
        ignored && !p.option.as_ref().is_some_and(|o| self.observable(o))
    }

    /// Some reading changes the valid values of `param`.
    fn values_ambiguous(&self, param: &str) -> bool {
        self.patches(param)
            .any(|pt| pt.values.is_some() || pt.rejected.is_some())
    }

    fn patches<'s>(&'s self, param: &'s str) -> impl Iterator<Item = &'s crate::spec::Patch> {
        self.spec
            .ambiguities
            .iter()
            .flat_map(|a| a.get_ref().readings.iter())
            .flat_map(|r| r.set.iter())
            .filter(move |pt| pt.param.as_deref() == Some(param))
    }

    /// The answer or the read-back shows `option`.
    fn observable(&self, option: &str) -> bool {
        let in_answer = self.spec.response.options_path.is_some()
            && self.spec.response.fields.contains_key(option);
        in_answer || self.spec.readback.fields.contains_key(option)
    }

    /// The widest range any reading gives an integer parameter (`None`: some
    /// reading bounds it by its type only).
    fn widest_range(&self, p: &Param) -> Option<Range> {
        let base = self.spec.param(&p.name).and_then(|row| row.range);
        let mut ranges = vec![base];
        for pt in self.patches(&p.name) {
            if pt.unbounded {
                ranges.push(None);
            } else if let Some(r) = pt.range {
                ranges.push(Some(r));
            }
        }
        ranges.into_iter().try_fold(None::<Range>, |acc, r| {
            let r = r?;
            Some(Some(match acc {
                None => r,
                Some(a) => Range {
                    min: a.min.min(r.min),
                    max: a.max.max(r.max),
                },
            }))
        })?
    }

    fn ranges(&mut self) {
        let rows: Vec<Param> = self
            .rows()
            .filter(|p| p.kind == ParamType::Integer && p.role == Role::Option)
            .filter(|p| self.available(p) && !self.ignorable_unseen(p))
            .cloned()
            .collect();
        for p in rows {
            let (values, fact) = match self.widest_range(&p) {
                Some(r) => (vec![r.max + 1, r.min - 1], "range"),
                // Bounded by its 32-bit type only: one past the top.
                None => (vec![i64::from(i32::MAX) + 1], "type"),
            };
            for v in values {
                self.push(
                    Family::Range,
                    format!("{}={v}", p.name),
                    Fault::AcceptValue {
                        param: p.name.clone(),
                        value: v.to_string(),
                    },
                    Expect::Departure {
                        rule: format!("{}.{fact}", p.name),
                    },
                );
            }
        }
    }

    /// An invalid value the generator sends for `p` that is not a spelling of a
    /// valid one.
    fn extra_value(&self, p: &Param) -> Option<String> {
        let subject = Subject::new(self.spec, "selftest", &self.spec.api.default_region, &[]);
        Builder::new(self.spec, &subject)
            .classes(p)
            .into_iter()
            .filter(|(_, _, valid)| !valid)
            .map(|(_, v, _)| v.as_query_text().to_string())
            .find(|v| {
                !v.trim().is_empty()
                    && v.chars().all(|c| c.is_ascii_alphabetic())
                    && !p.values.iter().any(|x| x.eq_ignore_ascii_case(v))
            })
    }

    fn enums(&mut self) {
        let rows: Vec<Param> = self
            .rows()
            .filter(|p| matches!(p.kind, ParamType::Enum | ParamType::Boolean))
            .filter(|p| !p.values.is_empty() && self.available(p))
            .filter(|p| !self.ignorable_unseen(p) && !self.values_ambiguous(&p.name))
            .cloned()
            .collect();
        for p in rows {
            let rule = format!("{}.values", p.name);
            if let Some(extra) = self.extra_value(&p) {
                self.push(
                    Family::Enum,
                    format!("{}={extra}", p.name),
                    Fault::AcceptValue {
                        param: p.name.clone(),
                        value: extra,
                    },
                    Expect::Departure { rule: rule.clone() },
                );
            }
            self.push(
                Family::Enum,
                format!("{}-any-case", p.name),
                Fault::CaseInsensitive {
                    param: p.name.clone(),
                },
                Expect::Departure { rule },
            );
        }
    }

    /// A valid value of an option other than the one the model starts with.
    fn reset_value(p: &Param) -> Option<String> {
        let start = initial_value(p);
        let mut candidates: Vec<String> = p.default.iter().cloned().collect();
        candidates.extend(p.values.iter().cloned());
        if let Some(r) = p.range {
            candidates.extend([r.min, r.max].map(|n| n.to_string()));
        } else if p.kind == ParamType::Integer {
            candidates.push("1".into());
        }
        candidates.into_iter().find(|c| Some(c) != start.as_ref())
    }

    fn omissions(&mut self) {
        let rows: Vec<Param> = self.rows().cloned().collect();
        for p in &rows {
            if self.omission_ambiguous(&p.name) {
                continue;
            }
            let rule = Expect::Departure {
                rule: format!("{}.absent", p.name),
            };
            let observable = p.option.as_ref().is_some_and(|o| self.observable(o));
            match (&p.role, &p.absent) {
                (Role::Option, Absent::Keep) if observable => {
                    if let Some(to) = Self::reset_value(p) {
                        self.omission_pair(p, to, rule);
                    }
                }
                (Role::Option, Absent::Default) if observable => {
                    if let Some(to) = p.default.clone() {
                        self.omission_pair(p, to, rule);
                    }
                }
                (_, Absent::Error) => self.push(
                    Family::Omission,
                    format!("{}-not-required", p.name),
                    Fault::AcceptMissing {
                        param: p.name.clone(),
                    },
                    Expect::Departure {
                        rule: format!("{}.required", p.name),
                    },
                ),
                _ => {}
            }
        }
    }

    /// The fault that swaps the table's omission rule, and the one that applies it
    /// on one call and not the next.
    fn omission_pair(&mut self, p: &Param, to: String, expect: Expect) {
        let swapped = match p.absent {
            Absent::Default => Fault::KeepOnOmission {
                param: p.name.clone(),
            },
            _ => Fault::ResetOnOmission {
                param: p.name.clone(),
                to: to.clone(),
            },
        };
        let what = if p.absent == Absent::Default {
            "kept"
        } else {
            "reset"
        };
        self.push(
            Family::Omission,
            format!("{}-omitted-{what}", p.name),
            swapped,
            expect.clone(),
        );
        self.push(
            Family::Omission,
            format!("{}-omitted-alternating", p.name),
            Fault::AlternateOmission {
                param: p.name.clone(),
                to,
            },
            expect,
        );
    }

    /// For each ambiguity about an omitted option: a target that keeps it on one
    /// call and resets it on the next must come out inconsistent.
    fn omission_ambiguities(&mut self) {
        let spec = self.spec;
        for amb in spec.ambiguities.iter().map(|a| a.get_ref()) {
            let Some((param, reading, to)) = self.omission_readings(amb) else {
                continue;
            };
            let mut assignment = self.base.clone();
            assignment.insert(amb.id.clone(), reading);
            self.out.push(Deviation {
                id: format!("{}/omission/{}-alternating", spec.api.id, amb.id),
                api: spec.api.id.clone(),
                family: Family::Omission,
                fault: Fault::AlternateOmission { param, to },
                assignment,
                expect: Expect::Inconsistent {
                    ambiguity: amb.id.clone(),
                },
                phases: vec![Phase::Coverage, Phase::Sequence, Phase::Random],
                random_cases: 40,
                only: Vec::new(),
            });
        }
    }

    /// For an ambiguity about an omitted option: the option's parameter, a reading
    /// under which omitting it succeeds, and a value some reading resets it to.
    fn omission_readings(&self, amb: &crate::spec::Ambiguity) -> Option<(String, String, String)> {
        let about = |pt: &crate::spec::Patch| {
            pt.absent.is_some() || pt.required.is_some() || pt.default.is_some()
        };
        let param = amb
            .readings
            .iter()
            .flat_map(|r| r.set.iter())
            .find(|pt| about(pt))
            .and_then(|pt| pt.param.clone())?;
        let row = self.spec.param(&param)?;
        let option = row.option.clone()?;
        if row.role != Role::Option || !self.observable(&option) {
            return None;
        }
        // Each reading's omission rule, as the table reads under it.
        let mut omittable = None;
        let mut reset_to = None;
        for r in &amb.readings {
            let mut p = row.clone();
            for pt in r
                .set
                .iter()
                .filter(|pt| pt.param.as_deref() == Some(&param))
            {
                patch_row(&mut p, pt);
            }
            let ok = !p.required && matches!(p.absent, Absent::Keep | Absent::Default);
            if ok && omittable.is_none() {
                omittable = Some(r.id.clone());
            }
            if p.absent == Absent::Default && reset_to.is_none() {
                reset_to = p.default.clone();
            }
        }
        Some((param, omittable?, reset_to?))
    }

    fn dry_run(&mut self) {
        let Some(p) = self.rows().find(|p| p.role == Role::DryRun).cloned() else {
            return;
        };
        // The oracle's rule for the dry-run answer.
        let rule = || Expect::Departure {
            rule: "DryRun".into(),
        };
        self.push(
            Family::DryRun,
            format!("{}-performs", p.name),
            Fault::IgnoreParam {
                param: p.name.clone(),
            },
            rule(),
        );
        self.push(
            Family::DryRun,
            format!("{}-applies", p.name),
            Fault::DryRunApplies {
                param: p.name.clone(),
            },
            rule(),
        );
        let code = self
            .spec
            .errors_for(Condition::Unauthorized)
            .map(|e| e.code.clone())
            .next()
            .unwrap_or_else(|| UNLISTED_CODE.into());
        self.push(
            Family::DryRun,
            format!("{}-code-{code}", p.name),
            Fault::ErrorCode {
                rule: "DryRun".into(),
                code,
            },
            rule(),
        );
    }

    fn state_machine(&mut self) {
        if self.spec.state_machine.is_none() {
            return;
        }
        self.push(
            Family::StateMachine,
            "always-settled".into(),
            Fault::AlwaysSettled,
            Expect::Departure {
                rule: "state_machine.on_modify".into(),
            },
        );
        self.push(
            Family::StateMachine,
            "never-settles".into(),
            Fault::NeverSettles,
            Expect::Departure {
                rule: "state_machine.settles_to".into(),
            },
        );
    }

    /// Where the modify answer shows the options: an answer lacking one, an
    /// answer showing the options before the call. Each is the answer's departure
    /// alone, whether the call sent the option or left it out (the answer's
    /// fields are a fact of its shape, not of what an omission does).
    fn answer(&mut self) {
        if self.spec.response.options_path.is_none() {
            return;
        }
        let fields: Vec<String> = self.spec.response.fields.keys().cloned().collect();
        for option in fields {
            self.push(
                Family::Answer,
                format!("drops-{option}"),
                Fault::AnswerDrops {
                    option: option.clone(),
                },
                Expect::Departure {
                    rule: "response.fields".into(),
                },
            );
        }
        self.push(
            Family::Answer,
            "stale".into(),
            Fault::AnswerStale,
            Expect::Departure {
                rule: "response.fields".into(),
            },
        );
    }

    fn readback(&mut self) {
        let fields: Vec<String> = self.spec.readback.fields.keys().cloned().collect();
        for option in fields {
            self.push(
                Family::Readback,
                format!("drops-{option}"),
                Fault::ReadbackDrops {
                    option: option.clone(),
                },
                Expect::Departure {
                    rule: "readback.fields".into(),
                },
            );
        }
        self.push(
            Family::Readback,
            "stale".into(),
            Fault::ReadbackStale,
            Expect::Departure {
                rule: "modify.success".into(),
            },
        );
        self.push(
            Family::Readback,
            "not-applied".into(),
            Fault::NotApplied,
            Expect::Departure {
                rule: "modify.success".into(),
            },
        );
    }

    /// The code is established under every reading (where a reading leaves it
    /// open, another code is that reading, not a deviation).
    fn exact(&self, e: &ErrorEntry) -> bool {
        let opened = self
            .spec
            .ambiguities
            .iter()
            .flat_map(|a| a.get_ref().readings.iter())
            .flat_map(|r| r.set.iter())
            .any(|pt| pt.error.as_ref() == Some(&e.code) && pt.exact == Some(false));
        e.exact && matches!(e.status, Status::Exact(_)) && !opened
    }

    /// Another code of the table: one with the same status if there is one.
    fn other_code(&self, e: &ErrorEntry) -> String {
        let others: Vec<&ErrorEntry> = self
            .spec
            .errors
            .iter()
            .map(|x| x.get_ref())
            .filter(|x| x.code != e.code)
            .collect();
        others
            .iter()
            .find(|x| x.status == e.status)
            .or(others.first())
            .map_or_else(|| UNLISTED_CODE.to_string(), |x| x.code.clone())
    }

    /// The rule under which the table answers each error condition a coverage
    /// case reaches, with the entry it answers.
    fn error_rules(&self) -> Vec<ErrorRule> {
        let spec = self.spec;
        let mut out = Vec::new();
        let mut add = |rule: String, entry: &ErrorEntry, code_exact: bool, value: bool| {
            let code_exact = code_exact && self.exact(entry);
            out.push(ErrorRule {
                rule,
                entry: entry.clone(),
                code_exact,
                value,
            });
        };
        let first = |when: Condition| spec.errors_for(when).next();
        if let (Some(t), Some(e)) = (
            spec.param_with_role(Role::Target),
            first(Condition::NotFound),
        ) {
            add(format!("{}.exists", t.name), e, true, false);
        }
        if let Some(e) = first(Condition::MissingParameter) {
            for p in self.rows().filter(|p| p.absent == Absent::Error) {
                if !self.omission_ambiguous(&p.name) {
                    add(format!("{}.required", p.name), e, true, false);
                }
            }
        }
        let unknown_errs = spec.conventions.unknown_parameter.first() == Some(&Handling::Error);
        if let (true, Some(e)) = (unknown_errs, first(Condition::UnknownParameter)) {
            add("conventions.unknown_parameter".into(), e, true, false);
        }
        for p in self
            .rows()
            .filter(|p| self.available(p) && !self.values_ambiguous(&p.name))
        {
            let Some(r) = p.invalid.as_ref() else {
                continue;
            };
            let Some(e) = spec.error(&r.error) else {
                continue;
            };
            let fact = match p.kind {
                ParamType::Integer if p.range.is_some() => "range",
                ParamType::Integer => "type",
                ParamType::Enum | ParamType::Boolean => "values",
                ParamType::String if p.pattern.is_some() => "pattern",
                ParamType::String => "type",
            };
            add(
                format!("{}.{fact}", p.name),
                e,
                r.exact,
                p.role == Role::Option,
            );
        }
        out
    }

    fn errors(&mut self) {
        let rules = self.error_rules();
        for r in rules.iter().filter(|r| r.code_exact) {
            let code = self.other_code(&r.entry);
            self.push(
                Family::Errors,
                format!("{}-code", r.rule),
                Fault::ErrorCode {
                    rule: r.rule.clone(),
                    code,
                },
                Expect::Departure {
                    rule: r.rule.clone(),
                },
            );
        }
        // A server error where a client error is due: once in the protocol's
        // format (for an invalid option value), once as a web page.
        let client =
            |r: &&ErrorRule| matches!(r.entry.status, Status::Exact(s) if (400..500).contains(&s));
        let faults = [
            rules.iter().filter(client).find(|r| r.value).map(|r| {
                (
                    format!("{}-500", r.rule),
                    Fault::ErrorStatus {
                        rule: r.rule.clone(),
                        status: 500,
                    },
                    r.rule.clone(),
                )
            }),
            rules.iter().find(client).map(|r| {
                (
                    format!("{}-html-500", r.rule),
                    Fault::ErrorHtml {
                        rule: r.rule.clone(),
                    },
                    r.rule.clone(),
                )
            }),
        ];
        for (what, fault, rule) in faults.into_iter().flatten() {
            self.push(Family::Errors, what, fault, Expect::Departure { rule });
        }
    }

    fn auth(&mut self) {
        let conditions = [
            (Auth::Unsigned, Condition::Unsigned, "unsigned"),
            (Auth::BadSignature, Condition::BadSignature, "bad-signature"),
            (
                Auth::UnknownAccessKey,
                Condition::UnknownAccessKey,
                "unknown-key",
            ),
            (Auth::Expired, Condition::Expired, "expired"),
            (Auth::NonceReused, Condition::NonceReused, "nonce-reused"),
        ];
        for (auth, condition, what) in conditions {
            // Without a listed error for it the generator has no case (nonce reuse).
            if auth == Auth::NonceReused && self.spec.errors_for(condition).next().is_none() {
                continue;
            }
            self.push(
                Family::Auth,
                format!("accepts-{what}"),
                Fault::AcceptAuth { auth },
                Expect::Departure {
                    rule: "auth*".into(),
                },
            );
        }
    }
}
