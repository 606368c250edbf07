//! The oracle: what a conforming target may answer.
//!
//! `expect(spec, world, call, auth)` returns every acceptable outcome, each labelled
//! with the rule and the citations that allow it and, where the docs disagree, with
//! the ambiguity reading it follows. Pure: no I/O, no clock. It reads only the spec
//! table; nothing here knows one API from another. [`Oracle`] is the same with a
//! bounded memory of its answers, for runs whose calls repeat.

pub mod data_plane;
mod effective;
mod evaluate;
mod memo;
#[doc(hidden)]
pub mod reference;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::spec::{Citation, Condition, Spec, Status, Strength};
use crate::wire::Call;

pub use effective::{Answering, EffParam, Effective, Row, ShapeRef};
pub use memo::{MemoStats, Oracle};

/// An instance's metadata options: option name (`http_tokens`, `hop_limit`, …) →
/// value as the wire spells it (`required`, `2`).
pub type Options = BTreeMap<String, String>;

/// What the oracle knows of the target: the one instance a case may change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct World {
    /// The region the instance is in.
    pub region: String,
    /// The instance under test.
    pub instance: Instance,
}

/// The instance a case may change, as the oracle knows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Instance {
    /// The id (EC2, Alibaba) or name (Lightsail) that names it.
    pub id: String,
    /// `running` or `stopped`.
    pub state: String,
    /// Its current options.
    pub options: Options,
}

/// How the request is signed. Anything but `Valid` must be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    /// Signed with valid credentials.
    Valid,
    /// Not signed.
    Unsigned,
    /// Signed, but the signature does not match.
    BadSignature,
    /// Signed with an access key the target does not know.
    UnknownAccessKey,
    /// Signed with a time outside the allowed skew.
    Expired,
    /// An Alibaba nonce sent a second time.
    NonceReused,
}

impl Auth {
    fn condition(self) -> Option<Condition> {
        match self {
            Auth::Valid => None,
            Auth::Unsigned => Some(Condition::Unsigned),
            Auth::BadSignature => Some(Condition::BadSignature),
            Auth::UnknownAccessKey => Some(Condition::UnknownAccessKey),
            Auth::Expired => Some(Condition::Expired),
            Auth::NonceReused => Some(Condition::NonceReused),
        }
    }
}

/// One reading of one ambiguity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReadingLabel {
    /// The ambiguity's id.
    pub ambiguity: String,
    /// The reading's id.
    pub reading: String,
}

impl std::fmt::Display for ReadingLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.ambiguity, self.reading)
    }
}

/// Where the modify answer keeps the options (it can differ by reading).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerShape {
    /// Path to the options object; `None`: the answer carries no options.
    pub options_path: Option<String>,
    /// Member holding the change's state.
    pub state_field: Option<String>,
    /// Option name → member name.
    pub fields: BTreeMap<String, String>,
}

/// One acceptable outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Expected {
    /// The call succeeds and the instance ends with `options`.
    Success {
        /// The options the instance must end with.
        options: Options,
        /// Acceptable change states in the answer (empty: the answer has none).
        states: Vec<String>,
        /// Where the answer keeps the options.
        shape: AnswerShape,
        /// `false` when the call names no instance of ours (nothing to observe).
        targets_instance: bool,
    },
    /// The call fails. `code: None` means any code with a matching status.
    Error {
        /// The exact code, or `None` when any code with the status is acceptable.
        code: Option<String>,
        /// The code most likely used when `code` is `None`.
        likely: Option<String>,
        /// The HTTP status (exact or a class).
        status: Status,
        /// The message the docs give, if any.
        message: Option<String>,
    },
}

/// An acceptable outcome with why it is acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptable {
    /// The outcome.
    pub expected: Expected,
    /// The rule that yields it: `HttpTokens.values`, `conventions.unknown_parameter`…
    pub rule: String,
    /// How strongly its sources establish it (the weakest decides).
    pub strength: Strength,
    /// Its sources.
    pub cite: Vec<Citation>,
    /// The ambiguity readings under which this outcome holds (empty: all readings).
    pub readings: Vec<ReadingLabel>,
}

/// Everything a conforming target may answer to one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expectation {
    /// Every acceptable outcome.
    pub outcomes: Vec<Acceptable>,
    /// The ambiguities this call touches.
    pub ambiguities: Vec<String>,
}

impl Expectation {
    /// Is a success among the acceptable outcomes?
    pub fn allows_success(&self) -> bool {
        self.outcomes
            .iter()
            .any(|a| matches!(a.expected, Expected::Success { .. }))
    }
    /// Is an error among the acceptable outcomes?
    pub fn allows_error(&self) -> bool {
        self.outcomes
            .iter()
            .any(|a| matches!(a.expected, Expected::Error { .. }))
    }
}

/// The most combinations of readings one call is judged under; past this the
/// remaining ambiguities keep their first reading (never reached by the built-in
/// tables, whose calls touch at most a handful).
pub const MAX_READING_COMBINATIONS: usize = 512;

/// Every acceptable outcome of `call` against `world`.
///
/// Each combination of the touched ambiguities' readings is judged, but the call is
/// evaluated once per distinct set of parameter rows: readings that change only
/// error codes or the answer's shape are applied to the evaluated outcomes (see
/// `evaluate::Raw::under`). [`Oracle`] adds memory across calls.
pub fn expect(spec: &Spec, world: &World, call: &Call, auth: Auth) -> Expectation {
    if let Some(condition) = auth.condition() {
        return Expectation {
            outcomes: evaluate::condition_errors(spec, condition, &auth_rule(condition), world),
            ambiguities: Vec::new(),
        };
    }
    let mut evaluations = Evaluations::new(spec, world, call);
    // First the ambiguities whose patches concern the parameters as sent…
    let mut touched: Vec<usize> = spec
        .ambiguities
        .iter()
        .enumerate()
        .filter(|(_, a)| effective::touches_params(a.get_ref(), call))
        .map(|(i, _)| i)
        .collect();
    let mut combos = reading_combinations(spec, &touched);
    let first: Vec<usize> = combos.iter().map(|c| evaluations.index(c)).collect();
    // …then those whose patches concern an error code or the answer's shape, if
    // the outcomes so far involve them. (Which codes and successes there are does
    // not depend on those readings, so the outcomes as evaluated tell.)
    let so_far = first
        .iter()
        .flat_map(|&i| &evaluations.done[i].1)
        .map(|raw| &raw.acceptable);
    let more: Vec<usize> = spec
        .ambiguities
        .iter()
        .enumerate()
        .filter(|(i, a)| {
            !touched.contains(i) && effective::touches_outcomes(a.get_ref(), so_far.clone())
        })
        .map(|(i, _)| i)
        .collect();
    if !more.is_empty() {
        touched.extend(more);
        touched.sort_unstable();
        combos = reading_combinations(spec, &touched);
    }
    let mut outcomes: Vec<Acceptable> = Vec::new();
    for combo in &combos {
        let i = evaluations.index(combo);
        let mut answering = effective::Answering::base(spec);
        let mut labels = Vec::with_capacity(combo.len());
        let mut cites = Vec::new();
        for &(amb_index, reading_index) in combo {
            let amb = spec.ambiguities[amb_index].get_ref();
            let reading = &amb.readings[reading_index];
            answering.apply(&reading.set);
            labels.push(ReadingLabel {
                ambiguity: amb.id.clone(),
                reading: reading.id.clone(),
            });
            cites.extend(reading.cite.iter().cloned());
        }
        for raw in &evaluations.done[i].1 {
            let mut acceptable = raw.under(&answering);
            acceptable.readings = labels.clone();
            acceptable.cite.extend(cites.iter().cloned());
            push_new(&mut outcomes, acceptable);
        }
    }
    Expectation {
        outcomes,
        ambiguities: touched
            .iter()
            .map(|i| spec.ambiguities[*i].get_ref().id.clone())
            .collect(),
    }
}

/// Push `a` unless an equal outcome is there. Outcomes of different combinations
/// differ in their readings, which are compared first.
fn push_new(out: &mut Vec<Acceptable>, a: Acceptable) {
    if !out.iter().any(|o| o.readings == a.readings && *o == a) {
        out.push(a);
    }
}

/// One call's evaluations, by the readings that patch parameter rows: combinations
/// that agree on those see the same rows, so the call is evaluated once for them.
struct Evaluations<'a> {
    spec: &'a Spec,
    world: &'a World,
    call: &'a Call,
    base: Effective<'a>,
    /// (the parameter-patching readings of a combination, the outcomes under them).
    done: Vec<(Combination, Vec<evaluate::Raw<'a>>)>,
}

/// A combination of readings: (ambiguity index, reading index), by ambiguity.
type Combination = Vec<(usize, usize)>;

impl<'a> Evaluations<'a> {
    fn new(spec: &'a Spec, world: &'a World, call: &'a Call) -> Self {
        Evaluations {
            spec,
            world,
            call,
            base: Effective::base(spec),
            done: Vec::new(),
        }
    }

    /// The index in `done` of the evaluation `combo` uses (evaluating it if new).
    fn index(&mut self, combo: &[(usize, usize)]) -> usize {
        let spec = self.spec;
        let reading = |&(a, r): &(usize, usize)| &spec.ambiguities[a].get_ref().readings[r];
        let key: Combination = combo
            .iter()
            .filter(|c| effective::patches_params(&reading(c).set))
            .copied()
            .collect();
        if let Some(i) = self.done.iter().position(|(k, _)| *k == key) {
            return i;
        }
        let mut eff = self.base.clone();
        for c in &key {
            eff.apply_to_params(&reading(c).set);
        }
        let raws = evaluate::evaluate(spec, &eff, self.world, self.call);
        self.done.push((key, raws));
        self.done.len() - 1
    }
}

/// The acceptable outcomes of a protocol-level condition (a reused nonce…),
/// whatever the call.
pub fn expect_condition(spec: &Spec, world: &World, condition: Condition) -> Vec<Acceptable> {
    evaluate::condition_errors(spec, condition, &auth_rule(condition), world)
}

/// The rule of a refused request: `auth.bad-signature`, `auth.nonce-reused`…
pub(crate) fn auth_rule(condition: Condition) -> String {
    match serde_json::to_value(condition) {
        Ok(serde_json::Value::String(s)) => format!("auth.{s}"),
        _ => format!("auth.{condition:?}").to_lowercase(),
    }
}

fn reading_combinations(spec: &Spec, touched: &[usize]) -> Vec<Combination> {
    let mut combos: Vec<Combination> = vec![Vec::new()];
    for &amb in touched {
        let n = spec.ambiguities[amb].get_ref().readings.len();
        if combos.len() * n > MAX_READING_COMBINATIONS {
            combos.iter_mut().for_each(|c| c.push((amb, 0)));
            continue;
        }
        combos = combos
            .into_iter()
            .flat_map(|c| {
                (0..n).map(move |r| {
                    let mut c = c.clone();
                    c.push((amb, r));
                    c
                })
            })
            .collect();
    }
    combos
}
