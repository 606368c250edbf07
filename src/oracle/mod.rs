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
mod plan;
#[doc(hidden)]
pub mod reference;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::spec::{Citation, Condition, Spec, Status, Strength};
use crate::wire::Call;

pub use effective::{Answering, EffParam, Effective, Row, ShapeRef};
pub use evaluate::{stored_form, VALUE_FACTS};
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

/// Every way to pick one of `sizes[i]` choices for each position `i`, in order (the
/// last position varies fastest), as long as there are at most `cap` of them: a
/// position that would take the count past `cap` is left unpicked (`None`) in
/// every combination. A size of 0 counts as 1 (the position stays unpicked).
/// The combinations of ambiguity readings, for the oracle and for the readings a
/// target implements.
pub fn capped_product(sizes: &[usize], cap: usize) -> Vec<Vec<Option<usize>>> {
    let mut combos: Vec<Vec<Option<usize>>> = vec![Vec::with_capacity(sizes.len())];
    for &n in sizes {
        if n == 0 || combos.len() * n > cap {
            combos.iter_mut().for_each(|c| c.push(None));
            continue;
        }
        combos = combos
            .into_iter()
            .flat_map(|c| {
                (0..n).map(move |r| {
                    let mut c = c.clone();
                    c.push(Some(r));
                    c
                })
            })
            .collect();
    }
    combos
}

/// Every acceptable outcome of `call` against `world`. [`Oracle`] gives the same
/// with a memory across calls.
pub fn expect(spec: &Spec, world: &World, call: &Call, auth: Auth) -> Expectation {
    match auth.condition() {
        Some(condition) => Expectation {
            outcomes: evaluate::condition_errors(spec, condition, &auth_rule(condition), world),
            ambiguities: Vec::new(),
        },
        None => plan::Plan::new(spec, world, call).expectation(&world.instance.options),
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

#[cfg(test)]
mod capped_product_tests {
    use super::capped_product;

    #[test]
    fn every_pick_in_order_until_the_cap() {
        let all = capped_product(&[2, 3], 6);
        assert_eq!(all.len(), 6);
        assert_eq!(all[0], [Some(0), Some(0)]);
        assert_eq!(all[1], [Some(0), Some(1)]);
        assert_eq!(all[5], [Some(1), Some(2)]);
        // The third position would make 12 > 10: unpicked everywhere, the fourth
        // still fits.
        let capped = capped_product(&[2, 3, 2, 1], 10);
        assert_eq!(capped.len(), 6);
        assert!(capped.iter().all(|c| c[2].is_none() && c[3] == Some(0)));
        assert_eq!(capped_product(&[], 4), vec![Vec::<Option<usize>>::new()]);
    }
}
