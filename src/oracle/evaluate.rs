//! Judging one call under one effective table: resolve each parameter (unknown,
//! duplicated and empty ones may be handled in several acceptable ways), validate,
//! and turn the result into acceptable outcomes.
//!
//! The outcomes come out [`Raw`]: an error whose code a reading may withdraw says
//! which error entry it is, so that the readings that change only error codes or
//! the answer's shape are applied afterwards ([`Raw::under`]) without evaluating
//! again.

use super::effective::{EffParam, Effective, Row};
use super::{Acceptable, AnswerShape, Expected, Options, World};
use crate::spec::{
    Absent, Citation, Condition, ErrorEntry, ErrorRef, Handling, ParamType, Role, Spec, Status,
    StatusClass, Strength,
};
use crate::wire::{Call, RawValue};

/// Forks past this many are resolved with their first handling only, so a call
/// with dozens of unknown parameters cannot explode the evaluation.
const MAX_FORKS: usize = 8;

/// One acceptable outcome as evaluated under an [`Effective`] table.
#[derive(Debug, Clone, PartialEq)]
pub struct Raw {
    pub acceptable: Acceptable,
    /// The error entry (index in the table's errors) of an error given with its
    /// exact code, whose code a reading may declare not established.
    pub withdrawable: Option<usize>,
}

impl Raw {
    fn plain(acceptable: Acceptable) -> Self {
        Raw {
            acceptable,
            withdrawable: None,
        }
    }

    /// The outcome under readings whose answer has `shape` and under which the
    /// codes of the error entries `withdrawn` (and the codes `open`) are not
    /// established: what `evaluate` gives under such a table, when this one was
    /// evaluated under the same parameter rows and the table's own shape and
    /// exactness.
    pub fn under(&self, shape: &AnswerShape, withdrawn: &[usize], open: &[String]) -> Acceptable {
        let mut a = self.acceptable.clone();
        match &mut a.expected {
            Expected::Success { shape: s, .. } => *s = shape.clone(),
            Expected::Error { code, .. } => {
                if self.withdrawable.is_some_and(|e| withdrawn.contains(&e)) {
                    *code = None;
                    a.strength = Strength::Inferred;
                }
            }
        }
        open_codes(&mut a, |c| open.iter().any(|o| o == c));
        a
    }
}

/// A code a reading leaves open is open wherever the error comes from: a
/// condition's error (not found…) as well as a parameter's.
pub fn open_codes(a: &mut Acceptable, is_open: impl Fn(&str) -> bool) {
    if let Expected::Error { code, .. } = &mut a.expected {
        if code.as_deref().is_some_and(is_open) {
            *code = None;
            a.strength = Strength::Inferred;
        }
    }
}

/// How one parameter name of the call is taken.
#[derive(Debug, Clone)]
enum Resolution {
    Value(RawValue),
    Absent,
    Ignore,
    Error(Vec<Acceptable>),
}

/// All acceptable outcomes of `call` under `eff`.
pub fn evaluate<'a>(spec: &'a Spec, eff: &Effective<'a>, world: &World, call: &Call) -> Vec<Raw> {
    let names = names_in_order(call);
    let alternatives: Vec<Vec<Resolution>> = names
        .iter()
        .map(|name| resolutions(spec, eff, world, call, name))
        .collect();
    let mut out: Vec<Raw> = Vec::new();
    for combo in combinations(&alternatives) {
        for acceptable in judge(spec, eff, world, &names, &combo) {
            if !out.contains(&acceptable) {
                out.push(acceptable);
            }
        }
    }
    out
}

fn names_in_order(call: &Call) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for p in &call.params {
        if !names.contains(&p.name.as_str()) {
            names.push(&p.name);
        }
    }
    names
}

/// The acceptable ways to take parameter `name` as sent.
fn resolutions(
    spec: &Spec,
    eff: &Effective,
    world: &World,
    call: &Call,
    name: &str,
) -> Vec<Resolution> {
    let values: Vec<&RawValue> = call.values(name).collect();
    let conventions = &spec.conventions;
    if eff.param(name).is_none() {
        let handlings = or_error(&conventions.unknown_parameter);
        return handlings
            .iter()
            .map(|h| match h {
                Handling::Ignore => Resolution::Ignore,
                _ => Resolution::Error(convention_errors(
                    spec,
                    world,
                    Condition::UnknownParameter,
                    "conventions.unknown_parameter",
                    conventions.cite.get("unknown_parameter"),
                )),
            })
            .collect();
    }
    let picked: Vec<Resolution> = if values.len() > 1 {
        or_error(&conventions.duplicate_parameter)
            .iter()
            .map(|h| match h {
                Handling::FirstWins => Resolution::Value(values[0].clone()),
                Handling::LastWins => Resolution::Value(values[values.len() - 1].clone()),
                _ => Resolution::Error(convention_errors(
                    spec,
                    world,
                    Condition::DuplicateParameter,
                    "conventions.duplicate_parameter",
                    conventions.cite.get("duplicate_parameter"),
                )),
            })
            .collect()
    } else {
        vec![Resolution::Value(values[0].clone())]
    };
    // An empty text value may count as omitted where the conventions say so.
    let mut out = Vec::new();
    for r in picked {
        match &r {
            Resolution::Value(RawValue::Text(s)) if s.is_empty() => {
                for h in or_error(&conventions.empty_value) {
                    match h {
                        Handling::AsAbsent => out.push(Resolution::Absent),
                        _ => out.push(r.clone()),
                    }
                }
            }
            Resolution::Value(RawValue::Json(j)) if j == "null" => {
                for h in or_error(&conventions.null_value) {
                    match h {
                        Handling::AsAbsent => out.push(Resolution::Absent),
                        _ => out.push(r.clone()),
                    }
                }
            }
            _ => out.push(r),
        }
    }
    out
}

/// An undocumented convention is taken as "an error" (the safe reading).
fn or_error(list: &[Handling]) -> Vec<Handling> {
    if list.is_empty() {
        vec![Handling::Error]
    } else {
        list.to_vec()
    }
}

/// Every way of taking the parameters: one resolution of each (past [`MAX_FORKS`]
/// forks, the first). Borrowed, not cloned: a resolution that is an error carries
/// its acceptable outcomes, citations and all.
fn combinations(alternatives: &[Vec<Resolution>]) -> Vec<Vec<&Resolution>> {
    let mut combos: Vec<Vec<&Resolution>> = vec![Vec::with_capacity(alternatives.len())];
    let mut forks = 0;
    for alts in alternatives {
        let take = if alts.len() > 1 && forks < MAX_FORKS {
            forks += 1;
            alts.len()
        } else {
            1
        };
        if take == 1 {
            // The common case: every combination takes the one resolution.
            for c in &mut combos {
                c.push(&alts[0]);
            }
            continue;
        }
        combos = combos
            .into_iter()
            .flat_map(|c| {
                alts[..take].iter().map(move |a| {
                    let mut c = c.clone();
                    c.push(a);
                    c
                })
            })
            .collect();
    }
    combos
}

/// Outcomes for one way of taking every parameter.
fn judge<'a>(
    spec: &'a Spec,
    eff: &Effective<'a>,
    world: &World,
    names: &[&str],
    combo: &[&Resolution],
) -> Vec<Raw> {
    let json = spec.api.protocol.typed_values();
    let mut errors: Vec<Raw> = Vec::new();
    let mut values: Vec<(&EffParam, String)> = Vec::new();
    for (name, resolution) in names.iter().zip(combo) {
        match resolution {
            Resolution::Error(e) => errors.extend(e.iter().cloned().map(Raw::plain)),
            Resolution::Ignore | Resolution::Absent => {}
            Resolution::Value(raw) => {
                let Some(p) = eff.param(name) else { continue };
                match validate(spec, eff, world, p, raw, json) {
                    Ok(Some(v)) => values.push((p, v)),
                    Ok(None) => {}
                    Err(e) => errors.extend(e),
                }
            }
        }
    }
    let sent = |p: &EffParam| {
        names
            .iter()
            .zip(combo)
            .any(|(n, r)| *n == p.row.name && !matches!(r, Resolution::Absent))
    };
    for p in &eff.params {
        if !sent(p) && (p.row.required || p.row.absent == Absent::Error) {
            errors.extend(missing_errors(spec, world, p).into_iter().map(Raw::plain));
        }
    }
    let dry_run = values
        .iter()
        .any(|(p, v)| p.row.role == Role::DryRun && v == "true");
    if !errors.is_empty() {
        if dry_run {
            // Whether DryRun is answered before or after validation is not documented.
            errors.extend(
                condition_errors(spec, Condition::DryRun, "DryRun.order", world)
                    .into_iter()
                    .map(|mut a| {
                        a.strength = Strength::Inferred;
                        Raw::plain(a)
                    }),
            );
        }
        return errors;
    }
    if dry_run {
        return condition_errors(spec, Condition::DryRun, "DryRun", world)
            .into_iter()
            .map(Raw::plain)
            .collect();
    }
    vec![Raw::plain(success(spec, eff, world, &values, names, combo))]
}

fn success(
    spec: &Spec,
    eff: &Effective,
    world: &World,
    values: &[(&EffParam, String)],
    names: &[&str],
    combo: &[&Resolution],
) -> Acceptable {
    let targets_instance = values.iter().any(|(p, _)| p.row.role == Role::Target);
    let mut options: Options = world.instance.options.clone();
    let mut cite: Vec<Citation> = Vec::new();
    let mut strength = Strength::Documented;
    if targets_instance {
        for p in eff
            .params
            .iter()
            .filter(|p| p.row.role == Role::Option && !p.ignored)
        {
            let Some(option) = &p.row.option else {
                continue;
            };
            if let Some((_, v)) = values.iter().find(|(q, _)| q.row.name == p.row.name) {
                options.insert(option.clone(), v.clone());
                continue;
            }
            let sent_but_dropped = names
                .iter()
                .zip(combo)
                .any(|(n, r)| *n == p.row.name && matches!(r, Resolution::Ignore));
            if sent_but_dropped {
                continue;
            }
            let facts = p.row.cite.get("absent").map(Vec::as_slice).unwrap_or(&[]);
            strength = weaker(strength, best(facts));
            cite.extend(facts.iter().cloned());
            if p.row.absent == Absent::Default {
                if let Some(d) = p.row.default {
                    options.insert(option.clone(), d.to_string());
                }
            }
        }
    }
    let states = spec
        .state_machine
        .as_ref()
        .and_then(|sm| {
            sm.on_modify
                .iter()
                .find(|r| r.instance_state == world.instance.state)
                .map(|r| {
                    cite.extend(r.cite.iter().cloned());
                    r.answer.clone()
                })
        })
        .unwrap_or_default();
    Acceptable {
        expected: Expected::Success {
            options,
            states,
            shape: eff.answering.shape.to_shape(),
            targets_instance,
        },
        rule: "modify.success".into(),
        strength,
        cite,
        readings: Vec::new(),
    }
}

/// `Ok(Some(v))`: valid, normalized; `Ok(None)`: accepted without effect;
/// `Err`: the acceptable errors.
fn validate<'a>(
    spec: &'a Spec,
    eff: &Effective<'a>,
    world: &World,
    p: &EffParam<'a>,
    raw: &RawValue,
    json: bool,
) -> Result<Option<String>, Vec<Raw>> {
    let plain = |errors: Vec<Acceptable>| errors.into_iter().map(Raw::plain).collect();
    if p.ignored {
        return Ok(None);
    }
    if let Some(rejected) = p.rejected {
        return Err(vec![error_from_ref(
            spec,
            eff,
            world,
            rejected,
            &format!("{}.rejected", p.row.name),
            &[],
            None,
        )]);
    }
    if !p.row.regions.is_empty() && !p.row.regions.contains(&world.region) {
        let facts = p.row.cite.get("regions").cloned().unwrap_or_default();
        return Err(plain(
            condition_errors(
                spec,
                Condition::Unsupported,
                &format!("{}.regions", p.row.name),
                world,
            )
            .into_iter()
            .map(|mut a| {
                a.cite.splice(0..0, facts.iter().cloned());
                a
            })
            .collect(),
        ));
    }
    let (valid, fact) = check_value(&p.row, raw, json);
    let Some(value) = valid else {
        let rule = format!("{}.{fact}", p.row.name);
        let facts = p.row.cite.get(fact).cloned().unwrap_or_default();
        return Err(invalid_errors(spec, eff, world, p, &rule, &facts, raw));
    };
    match p.row.role {
        Role::Target if value != world.instance.id => Err(plain(condition_errors(
            spec,
            Condition::NotFound,
            &format!("{}.exists", p.row.name),
            &World {
                instance: super::Instance {
                    id: value,
                    ..world.instance.clone()
                },
                ..world.clone()
            },
        ))),
        Role::Region if value != world.region => Err(vec![Raw::plain(any_client_error(
            &format!("{}.matches-instance", p.row.name),
            "The instance is in another region; no doc names the error",
        ))]),
        _ => Ok(Some(value)),
    }
}

/// The facts the oracle decides a value by: a refusal under `<param>.<fact>`
/// with one of these is a refusal of the value sent for `param`.
pub const VALUE_FACTS: [&str; 4] = ["type", "range", "values", "pattern"];

/// The normalized value if valid, and the fact that decides it.
fn check_value(p: &Row, raw: &RawValue, json: bool) -> (Option<String>, &'static str) {
    match p.kind {
        ParamType::Integer => {
            let text = match (raw, json) {
                (RawValue::Json(lit), true) => lit.as_str(),
                (RawValue::Text(_), true) => return (None, "type"),
                (v, false) => v.as_query_text(),
            };
            let Some(n) = parse_integer(text, json) else {
                return (None, "type");
            };
            match p.range {
                Some(r) if !r.contains(n) => (None, "range"),
                _ => (Some(n.to_string()), "range"),
            }
        }
        ParamType::Enum | ParamType::Boolean => {
            let text = match (raw, json, p.kind) {
                (RawValue::Text(s), _, _) => s.as_str(),
                (RawValue::Json(lit), true, ParamType::Boolean) => lit.as_str(),
                (RawValue::Json(_), true, _) => return (None, "type"),
                (RawValue::Json(lit), false, _) => lit.as_str(),
            };
            if p.values.iter().any(|v| v == text) {
                // A boolean means what it says whatever the spelling a reading allows.
                let v = if p.kind == ParamType::Boolean {
                    text.to_ascii_lowercase()
                } else {
                    text.to_string()
                };
                (Some(v), "values")
            } else {
                (None, "values")
            }
        }
        ParamType::String => {
            let text = match (raw, json) {
                (RawValue::Json(_), true) => return (None, "type"),
                (v, _) => v.as_query_text(),
            };
            match p.pattern {
                Some(re) if !re.is_match(text) => (None, "pattern"),
                _ => (Some(text.to_string()), "type"),
            }
        }
    }
}

/// The option a target that takes `raw` as it comes would store, in the form a
/// read-back shows options (the strict reading is the oracle's `check_value`): an
/// integer as its number (surrounding space, a sign and leading zeros dropped),
/// a boolean lower-case, a JSON string unquoted, JSON `null` empty; anything else
/// as sent. For telling a value taken as sent from a value ignored or changed.
pub fn stored_form(kind: ParamType, raw: &RawValue) -> String {
    let text = match raw {
        RawValue::Json(lit) if lit.trim() == "null" => return String::new(),
        RawValue::Json(lit) => serde_json::from_str::<String>(lit).unwrap_or_else(|_| lit.clone()),
        RawValue::Text(t) => t.clone(),
    };
    match kind {
        ParamType::Integer => text
            .trim()
            .trim_start_matches('+')
            .parse::<i64>()
            .map_or(text, |n| n.to_string()),
        ParamType::Boolean => text.to_ascii_lowercase(),
        ParamType::Enum | ParamType::String => text,
    }
}

/// A 32-bit integer as the wire carries it: digits with an optional sign (query
/// protocols read it as Java's `Integer.parseInt` would; JSON allows no `+`).
/// Both clouds model these members as 32-bit integers.
fn parse_integer(text: &str, json: bool) -> Option<i64> {
    let digits = text
        .strip_prefix('-')
        .or_else(|| if json { None } else { text.strip_prefix('+') })
        .unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = text.trim_start_matches('+').parse().ok()?;
    i32::try_from(n).ok().map(i64::from)
}

fn invalid_errors<'a>(
    spec: &'a Spec,
    eff: &Effective<'a>,
    world: &World,
    p: &EffParam,
    rule: &str,
    facts: &[Citation],
    raw: &RawValue,
) -> Vec<Raw> {
    let shown = raw.as_query_text();
    match p.row.invalid {
        Some(r) => {
            let mut facts = facts.to_vec();
            facts.extend(p.row.cite.get("invalid").cloned().unwrap_or_default());
            vec![error_from_ref(
                spec,
                eff,
                world,
                r,
                rule,
                &facts,
                Some(shown),
            )]
        }
        None => condition_errors(spec, Condition::InvalidValue, rule, world)
            .into_iter()
            .map(|mut a| {
                a.cite.splice(0..0, facts.iter().cloned());
                Raw::plain(a)
            })
            .collect(),
    }
}

fn missing_errors(spec: &Spec, world: &World, p: &EffParam) -> Vec<Acceptable> {
    let mut facts: Vec<Citation> = p.row.cite.get("required").cloned().unwrap_or_default();
    facts.extend(p.row.cite.get("absent").cloned().unwrap_or_default());
    condition_errors(
        spec,
        Condition::MissingParameter,
        &format!("{}.required", p.row.name),
        world,
    )
    .into_iter()
    .map(|mut a| {
        a.cite.splice(0..0, facts.iter().cloned());
        a
    })
    .collect()
}

fn convention_errors(
    spec: &Spec,
    world: &World,
    condition: Condition,
    rule: &str,
    cites: Option<&Vec<Citation>>,
) -> Vec<Acceptable> {
    let facts = cites.cloned().unwrap_or_default();
    let fact_strength = best(&facts);
    condition_errors(spec, condition, rule, world)
        .into_iter()
        .map(|mut a| {
            a.strength = weaker(a.strength, fact_strength);
            a.cite.splice(0..0, facts.iter().cloned());
            a
        })
        .collect()
}

/// Every error the table lists for `condition`; "a 4xx client error" when none.
pub fn condition_errors(
    spec: &Spec,
    condition: Condition,
    rule: &str,
    world: &World,
) -> Vec<Acceptable> {
    let entries: Vec<&ErrorEntry> = spec.errors_for(condition).collect();
    if entries.is_empty() {
        return vec![any_client_error(
            rule,
            "No error is documented for this condition",
        )];
    }
    entries
        .into_iter()
        .map(|e| entry_error(e, e.exact, rule, &[], world, None))
        .collect()
}

fn error_from_ref<'a>(
    spec: &'a Spec,
    eff: &Effective<'a>,
    world: &World,
    r: &ErrorRef,
    rule: &str,
    facts: &[Citation],
    value: Option<&str>,
) -> Raw {
    let entry = spec
        .errors
        .iter()
        .map(|e| e.get_ref())
        .enumerate()
        .filter(|(_, e)| e.code == r.error)
        .min_by_key(|(_, e)| e.when != Condition::InvalidValue);
    match entry {
        Some((index, e)) => {
            let exact = r.exact && e.exact && !eff.answering.inexact_errors.contains(&*e.code);
            Raw {
                acceptable: entry_error(e, exact, rule, facts, world, value),
                withdrawable: exact.then_some(index),
            }
        }
        None => Raw::plain(any_client_error(
            rule,
            "the parameter's error is not in the table",
        )),
    }
}

fn entry_error(
    e: &ErrorEntry,
    exact: bool,
    rule: &str,
    facts: &[Citation],
    world: &World,
    value: Option<&str>,
) -> Acceptable {
    let mut cite = facts.to_vec();
    cite.extend(e.cite.iter().cloned());
    let strength = if exact {
        weaker(
            best(&e.cite),
            if facts.is_empty() {
                Strength::Documented
            } else {
                best(facts)
            },
        )
    } else {
        Strength::Inferred
    };
    let message = e.message.as_ref().map(|m| {
        m.replace("{instance}", &world.instance.id)
            .replace("{value}", value.unwrap_or(""))
    });
    // When the code is not established the status still is, unless it too is a class.
    Acceptable {
        expected: Expected::Error {
            code: exact.then(|| e.code.clone()),
            likely: Some(e.code.clone()),
            status: e.status,
            message,
        },
        rule: rule.to_string(),
        strength,
        cite,
        readings: Vec::new(),
    }
}

fn any_client_error(rule: &str, why: &str) -> Acceptable {
    Acceptable {
        expected: Expected::Error {
            code: None,
            likely: None,
            status: Status::Class(StatusClass::Client),
            message: None,
        },
        rule: rule.to_string(),
        strength: Strength::Inferred,
        cite: vec![Citation {
            doc: None,
            quote: None,
            reference: None,
            key: None,
            note: Some(why.into()),
            strength: Strength::Inferred,
        }],
        readings: Vec::new(),
    }
}

/// The strongest strength among citations of one fact (a fact is as strong as its
/// best source).
fn best(cites: &[Citation]) -> Strength {
    cites
        .iter()
        .map(|c| c.strength)
        .min_by_key(|s| s.weakness())
        .unwrap_or(Strength::Inferred)
}

/// The weaker of two strengths (an outcome is as strong as its weakest fact).
fn weaker(a: Strength, b: Strength) -> Strength {
    if a.weakness() >= b.weakness() {
        a
    } else {
        b
    }
}
