//! Cases, generated from a spec table: the deterministic coverage phase, the
//! authentication cases, the settle sequences (here) and the seeded random phase
//! (`random`). Nothing here knows one API from another: every value comes from
//! the table's parameter rows.

pub mod data_plane;
pub mod random;

use serde::{Deserialize, Serialize};

use crate::spec::{Condition, Param, ParamType, Role, Spec};
use crate::target::Signing;
use crate::wire::{Call, RawParam, RawValue};

/// The phases of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Every parameter × every class of value, deterministic.
    Coverage,
    /// Seeded proptest calls, shrunk on failure.
    Random,
    /// Refused signings of a valid call.
    Auth,
    /// Settle sequences and DryRun checks.
    Sequence,
    /// Probes of the metadata service after each settled change (`runner::data_plane`).
    #[serde(rename = "data-plane")]
    DataPlane,
}

impl Phase {
    /// The phase's name in case ids (`coverage`…).
    pub fn name(self) -> &'static str {
        match self {
            Phase::Coverage => "coverage",
            Phase::Random => "random",
            Phase::Auth => "auth",
            Phase::Sequence => "sequence",
            Phase::DataPlane => "data-plane",
        }
    }
}

/// What the runner does with a case beyond sending it and reading back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// Send, judge, read back.
    Single,
    /// Send, then read back until the change settles (bounded wait).
    Settle,
    /// Send a signed request twice; the second must be refused as a reused nonce.
    ReplayNonce,
}

/// One generated case. The instance and region are filled in by the runner
/// through `Subject` when the call is built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Position within its phase; the runner prefixes api and phase.
    pub seq: usize,
    /// The phase it belongs to.
    pub phase: Phase,
    /// The rule it checks: `HttpPutResponseHopLimit.range`, `auth.unsigned`…
    pub rule: String,
    /// What the case sends, in words.
    pub title: String,
    /// The call.
    pub call: Call,
    /// How it is signed.
    pub signing: Signing,
    /// What the runner does beyond sending it.
    pub check: Check,
}

/// The instance cases are aimed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The instance under test.
    pub instance: String,
    /// Its region.
    pub region: String,
    /// A valid-looking id that names no instance (for not-found cases).
    pub absent: String,
}

impl Subject {
    /// `absent` is chosen to match the target parameter's pattern and to differ
    /// from every id in `known`.
    pub fn new(spec: &Spec, instance: &str, region: &str, known: &[String]) -> Self {
        Subject {
            instance: instance.to_string(),
            region: region.to_string(),
            absent: absent_id(spec, instance, known),
        }
    }
}

fn absent_id(spec: &Spec, instance: &str, known: &[String]) -> String {
    let pattern = spec
        .param_with_role(Role::Target)
        .and_then(|p| p.pattern_regex.clone());
    let zero_filled = match instance.split_once('-') {
        Some((prefix, rest)) => format!(
            "{prefix}-{}",
            rest.chars()
                .map(|c| if c.is_ascii_alphanumeric() { '0' } else { c })
                .collect::<String>()
        ),
        None => format!("{instance}0"),
    };
    // A name nobody would give a real instance comes first; ids with a strict
    // shape fall back to an all-zero id, which real clouds never hand out.
    let candidates = [
        "imds-conform-absent".to_string(),
        zero_filled,
        format!("{instance}0"),
    ];
    candidates
        .into_iter()
        .find(|c| {
            c != instance && !known.contains(c) && pattern.as_ref().is_none_or(|re| re.is_match(c))
        })
        .unwrap_or_else(|| "imds-conform-absent".into())
}

/// Builds calls for one spec and subject.
pub struct Builder<'a> {
    /// The table.
    pub spec: &'a Spec,
    /// The instance cases are aimed at.
    pub subject: &'a Subject,
}

impl<'a> Builder<'a> {
    /// A builder for `spec` and `subject`.
    pub fn new(spec: &'a Spec, subject: &'a Subject) -> Self {
        Builder { spec, subject }
    }

    /// Does the protocol carry typed values (numbers, booleans, `null`)?
    fn json(&self) -> bool {
        self.spec.api.protocol.typed_values()
    }

    fn params(&self) -> impl Iterator<Item = &'a Param> {
        self.spec.params.iter().map(|p| p.get_ref())
    }

    /// A valid value as the wire carries it.
    pub fn value(&self, p: &Param, text: &str) -> RawValue {
        match p.kind {
            ParamType::Integer | ParamType::Boolean if self.json() => {
                RawValue::Json(text.to_string())
            }
            _ => RawValue::Text(text.to_string()),
        }
    }

    /// The baseline call: the target, the region, and every required parameter
    /// with its first valid value.
    pub fn base(&self) -> Vec<RawParam> {
        self.params()
            .filter_map(|p| {
                let v = match p.role {
                    Role::Target => self.subject.instance.clone(),
                    Role::Region => self.subject.region.clone(),
                    _ if p.required => self.valid_values(p).into_iter().next()?,
                    _ => return None,
                };
                Some(RawParam {
                    name: p.name.clone(),
                    value: self.value(p, &v),
                })
            })
            .collect()
    }

    /// Valid values of a parameter, as text.
    pub fn valid_values(&self, p: &Param) -> Vec<String> {
        match p.role {
            Role::Target => return vec![self.subject.instance.clone()],
            Role::Region => return vec![self.subject.region.clone()],
            _ => {}
        }
        match p.kind {
            ParamType::Enum | ParamType::Boolean => p.values.clone(),
            ParamType::Integer => {
                let r = p.range.unwrap_or(crate::spec::Range { min: 1, max: 64 });
                let mut v = vec![r.min, r.min + 1, (r.min + r.max) / 2, r.max];
                v.dedup();
                v.into_iter().map(|n| n.to_string()).collect()
            }
            ParamType::String => vec!["x".into()],
        }
    }

    /// A call of the table's operation with `params`.
    pub fn call(&self, params: Vec<RawParam>) -> Call {
        Call {
            operation: self.spec.api.operation.clone(),
            params,
        }
    }

    /// `base` with `name` replaced by `values` (none: removed), in place.
    pub fn with(&self, name: &str, values: Vec<RawValue>) -> Call {
        let mut params = self.base();
        let at = params.iter().position(|p| p.name == name);
        params.retain(|p| p.name != name);
        let new = values.into_iter().map(|value| RawParam {
            name: name.to_string(),
            value,
        });
        match at {
            Some(i) => {
                let tail = params.split_off(i);
                params.extend(new);
                params.extend(tail);
            }
            None => params.extend(new),
        }
        self.call(params)
    }

    /// The classes of a parameter: (label, value) pairs, valid and invalid.
    pub fn classes(&self, p: &Param) -> Vec<(String, RawValue, bool)> {
        let mut out: Vec<(String, RawValue, bool)> = Vec::new();
        for v in self.valid_values(p) {
            out.push((format!("valid {v:?}"), self.value(p, &v), true));
        }
        match p.kind {
            ParamType::Integer => {
                let mut numbers: Vec<String> = (0..=65).map(|n: i64| n.to_string()).collect();
                numbers.extend(["-1", "2147483648", "9223372036854775808"].map(String::from));
                for n in numbers {
                    if !out.iter().any(|(_, v, _)| v.as_query_text() == n) {
                        out.push((format!("integer {n}"), self.value(p, &n), false));
                    }
                }
            }
            ParamType::Enum | ParamType::Boolean => {
                for v in &p.values {
                    let mut cap = v.clone();
                    if let Some(first) = cap.get_mut(..1) {
                        first.make_ascii_uppercase();
                    }
                    out.push((format!("case variant {cap:?}"), RawValue::Text(cap), false));
                    out.push((
                        format!("case variant {:?}", v.to_uppercase()),
                        RawValue::Text(v.to_uppercase()),
                        false,
                    ));
                }
            }
            ParamType::String => {}
        }
        if p.role == Role::Target {
            out.push((
                "absent instance".into(),
                RawValue::Text(self.subject.absent.clone()),
                false,
            ));
        }
        if let Some(bad) = &p.malformed {
            let what = if p.role == Role::Target {
                "id"
            } else {
                "value"
            };
            out.push((
                format!("malformed {what} {bad:?}"),
                RawValue::Text(bad.clone()),
                false,
            ));
        }
        for w in ["abc", "1.5", "", " 2"] {
            out.push((format!("wrong type {w:?}"), RawValue::Text(w.into()), false));
        }
        if self.json() {
            let typed: &[(&str, &str)] = match p.kind {
                ParamType::Integer => &[
                    ("string \"2\"", "\"2\""),
                    ("float 1.5", "1.5"),
                    ("boolean", "true"),
                    ("null", "null"),
                ],
                _ => &[
                    ("number 1", "1"),
                    ("boolean", "true"),
                    ("null", "null"),
                    ("object", "{}"),
                ],
            };
            for (label, lit) in typed {
                let value = match lit.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    Some(inner) => RawValue::Text(inner.into()),
                    None => RawValue::Json((*lit).into()),
                };
                out.push((format!("JSON {label}"), value, false));
            }
        }
        // Whether a class is valid is the oracle's business; the flag only
        // guides pairwise selection.
        out
    }
}

/// The deterministic coverage phase: every parameter × every class of its row,
/// missing/unknown/duplicated parameters, and pairwise combinations.
pub fn coverage(spec: &Spec, subject: &Subject) -> Vec<Case> {
    let b = Builder::new(spec, subject);
    let mut cases: Vec<Case> = Vec::new();
    let mut push = |rule: String, title: String, call: Call| {
        cases.push(Case {
            seq: 0,
            phase: Phase::Coverage,
            rule,
            title,
            call,
            signing: Signing::Valid,
            check: Check::Single,
        });
    };
    push(
        "baseline".into(),
        "the baseline call".into(),
        b.call(b.base()),
    );
    for p in b.params() {
        let rule_for = |valid: bool| {
            if valid {
                format!("{}.values", p.name)
            } else {
                format!("{}.{}", p.name, invalid_fact(p))
            }
        };
        for (label, value, valid) in b.classes(p) {
            push(
                rule_for(valid),
                format!("{} = {label}", p.name),
                b.with(&p.name, vec![value]),
            );
        }
        push(
            format!("{}.absent", p.name),
            format!("{} missing", p.name),
            b.with(&p.name, vec![]),
        );
        let valid = b.valid_values(p);
        let (first, second) = (
            valid.first().cloned().unwrap_or_default(),
            valid.last().cloned().unwrap_or_default(),
        );
        push(
            "conventions.duplicate_parameter".into(),
            format!("{} twice ({first:?}, {second:?})", p.name),
            b.with(&p.name, vec![b.value(p, &first), b.value(p, &second)]),
        );
        let mut lower = b.base();
        lower.push(RawParam {
            name: p.name.to_lowercase(),
            value: b.value(p, &first),
        });
        if p.name.to_lowercase() != p.name {
            push(
                "conventions.unknown_parameter".into(),
                format!("{} spelled in lower case", p.name),
                b.call(lower),
            );
        }
    }
    let mut unknown = b.base();
    unknown.push(RawParam::text("ImdsConformUnknown", "1"));
    push(
        "conventions.unknown_parameter".into(),
        "an unknown parameter".into(),
        b.call(unknown),
    );
    pairwise(&b, &mut push);
    number(&mut cases);
    cases
}

fn invalid_fact(p: &Param) -> &'static str {
    match p.kind {
        ParamType::Integer if p.range.is_some() => "range",
        ParamType::Integer => "type",
        ParamType::Enum | ParamType::Boolean => "values",
        ParamType::String if p.pattern.is_some() => "pattern",
        ParamType::String => "type",
    }
}

/// Every pair of option parameters, each valid or invalid: four cases per pair.
fn pairwise(b: &Builder, push: &mut impl FnMut(String, String, Call)) {
    let options: Vec<&Param> = b.params().filter(|p| p.role == Role::Option).collect();
    for (i, p) in options.iter().enumerate() {
        for q in &options[i + 1..] {
            let pick = |param: &Param, valid: bool| -> (String, RawValue) {
                if valid {
                    let v = b.valid_values(param).pop().unwrap_or_default();
                    (v.clone(), b.value(param, &v))
                } else {
                    ("\"bogus\"".into(), RawValue::Text("bogus".into()))
                }
            };
            for (pv, qv) in [(true, true), (true, false), (false, true), (false, false)] {
                let (pl, pval) = pick(p, pv);
                let (ql, qval) = pick(q, qv);
                let mut params = b.base();
                params.retain(|x| x.name != p.name && x.name != q.name);
                params.push(RawParam {
                    name: p.name.clone(),
                    value: pval,
                });
                params.push(RawParam {
                    name: q.name.clone(),
                    value: qval,
                });
                push(
                    format!("pairwise.{}+{}", p.name, q.name),
                    format!("{} = {pl}, {} = {ql}", p.name, q.name),
                    b.call(params),
                );
            }
        }
    }
}

/// Authentication cases: each bad signing of a benign call, and a reused nonce
/// where the table lists that error.
pub fn auth(spec: &Spec, subject: &Subject) -> Vec<Case> {
    let b = Builder::new(spec, subject);
    let call = b.call(b.base());
    let mut cases: Vec<Case> = [
        (Signing::Unsigned, "auth.unsigned", "an unsigned request"),
        (
            Signing::CorruptSignature,
            "auth.bad-signature",
            "one signature character changed",
        ),
        (
            Signing::WrongSecret,
            "auth.bad-signature",
            "signed with a wrong secret",
        ),
        (
            Signing::UnknownKey,
            "auth.unknown-access-key",
            "an unknown access key id",
        ),
        (Signing::Expired, "auth.expired", "a timestamp an hour old"),
    ]
    .into_iter()
    .map(|(signing, rule, title)| Case {
        seq: 0,
        phase: Phase::Auth,
        rule: rule.into(),
        title: title.into(),
        call: call.clone(),
        signing,
        check: Check::Single,
    })
    .collect();
    if spec.errors_for(Condition::NonceReused).next().is_some() {
        cases.push(Case {
            seq: 0,
            phase: Phase::Auth,
            rule: "auth.nonce-reused".into(),
            title: "the same signed request sent twice".into(),
            call,
            signing: Signing::Valid,
            check: Check::ReplayNonce,
        });
    }
    number(&mut cases);
    cases
}

/// Settle sequences: set each option parameter to each valid value and read back
/// until the change is applied.
pub fn sequences(spec: &Spec, subject: &Subject) -> Vec<Case> {
    let b = Builder::new(spec, subject);
    let mut cases = Vec::new();
    for p in b
        .params()
        .filter(|p| p.role == Role::Option && p.regions.is_empty())
    {
        for v in b.valid_values(p) {
            cases.push(Case {
                seq: 0,
                phase: Phase::Sequence,
                rule: "state.settles".into(),
                title: format!("set {} = {v:?}, read back until applied", p.name),
                call: b.with(&p.name, vec![b.value(p, &v)]),
                signing: Signing::Valid,
                check: Check::Settle,
            });
        }
    }
    // DryRun with a real change in it: the change must not happen.
    if let Some(dry) = b.params().find(|p| p.role == Role::DryRun) {
        for p in b
            .params()
            .filter(|p| p.role == Role::Option && p.regions.is_empty())
        {
            for v in b.valid_values(p) {
                let mut call = b.with(&p.name, vec![b.value(p, &v)]);
                call.params.push(RawParam {
                    name: dry.name.clone(),
                    value: b.value(dry, "true"),
                });
                cases.push(Case {
                    seq: 0,
                    phase: Phase::Sequence,
                    rule: "dry-run.changes-nothing".into(),
                    title: format!("{} with {} = {v:?}", dry.name, p.name),
                    call,
                    signing: Signing::Valid,
                    check: Check::Single,
                });
            }
        }
    }
    number(&mut cases);
    cases
}

fn number(cases: &mut [Case]) {
    for (i, c) in cases.iter_mut().enumerate() {
        c.seq = i + 1;
    }
}
