//! Verdicts: an actual outcome against the oracle's expectation.
//!
//! A case passes when the outcome matches an acceptable one; where the call touches
//! an ambiguity and the outcome matches only some readings, it passes *under* those
//! readings, and the report says which reading the target implements.

pub mod departure;
pub mod finding;
pub mod normalize;
pub mod readings;
pub mod record;
pub mod redact;

pub use departure::{departures, Departure};
pub use finding::{Finding, FindingKind, Mismatch};
pub use readings::{AmbiguityReading, ReadingTracker};
pub use record::{Actual, CaseResult, Exchange, Summary};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::oracle::{Acceptable, Expectation, Expected, ReadingLabel};
use crate::spec::Spec;
use crate::wire::Outcome;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// The outcome is acceptable under every reading.
    Pass,
    /// Acceptable only under some readings: `readings` lists each reading that
    /// takes part, `combinations` the combinations of readings (of the ambiguities
    /// that make a difference) under which the outcome is acceptable.
    PassUnderReading {
        readings: Vec<ReadingLabel>,
        combinations: Vec<Vec<ReadingLabel>>,
    },
    /// No acceptable outcome matches.
    Fail { reason: String },
    /// The case could not be judged (transport failure, undecodable answer).
    Error { reason: String },
}

impl Verdict {
    pub fn is_pass(&self) -> bool {
        matches!(self, Verdict::Pass | Verdict::PassUnderReading { .. })
    }
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::PassUnderReading { .. } => "pass-under-reading",
            Verdict::Fail { .. } => "fail",
            Verdict::Error { .. } => "error",
        }
    }
}

/// A verdict with the findings that explain a failure (empty when it passes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
}

/// Judge `actual` against `expectation`. `instance` fills `{instance}` in constants.
pub fn judge(spec: &Spec, expectation: &Expectation, actual: &Outcome, instance: &str) -> Verdict {
    judge_with(spec, expectation, actual, instance, |_| Ok(()))
}

/// [`judge`], with a further test each matching outcome must pass (the runner's
/// read-back: the options the target shows afterwards). `Err` says why not.
pub fn judge_with(
    spec: &Spec,
    expectation: &Expectation,
    actual: &Outcome,
    instance: &str,
    also: impl Fn(&Acceptable) -> Result<(), Vec<Finding>>,
) -> Verdict {
    // Nothing says the call was taken as sent: a refuted success is not judged
    // under the other readings.
    judge_full(spec, expectation, actual, instance, "", false, also).verdict
}

/// [`judge_with`], also saying why a failure fails ([`Finding`]s, which group
/// into departures). `case_rule` is the case's own rule. `also` refutes an
/// acceptable outcome with one or more findings (a read-back wrong under two
/// rules: a value the call set, and an option it omitted). `applied` says whether
/// the read-back shows the values the call sent taking effect as sent: without
/// it, a read-back that refutes a success is no sign of what the target took the
/// call for.
pub fn judge_full(
    spec: &Spec,
    expectation: &Expectation,
    actual: &Outcome,
    instance: &str,
    case_rule: &str,
    applied: bool,
    also: impl Fn(&Acceptable) -> Result<(), Vec<Finding>>,
) -> Judgement {
    let answer_matches: Vec<&Acceptable> = expectation
        .outcomes
        .iter()
        .filter(|a| matches(spec, &a.expected, actual, instance).is_ok())
        .collect();
    // Each refuted outcome's findings, once per way of disagreeing; and whether
    // every refuted outcome is refuted on what it says of the call's own change
    // (a finding under its own rule), not only on an option the call omitted.
    let mut refutations: Vec<Vec<Finding>> = Vec::new();
    let mut refuted_on_change = true;
    let matched: Vec<&Acceptable> = answer_matches
        .iter()
        .copied()
        .filter(|a| match also(a) {
            Ok(()) => true,
            Err(found) => {
                // (A success on another instance changes nothing of ours: what
                // the read-back shows of ours says nothing of how that call was
                // taken.)
                let on_ours = matches!(
                    a.expected,
                    Expected::Success {
                        targets_instance: true,
                        ..
                    }
                );
                refuted_on_change &= on_ours && found.iter().any(|f| f.rule == a.rule);
                if !refutations.iter().any(|r| details(r) == details(&found)) {
                    refutations.push(found);
                }
                false
            }
        })
        .collect();
    if matched.is_empty() && !answer_matches.is_empty() {
        // Under several readings the read-back may disagree in several ways (the
        // same call seen otherwise). A finding is a departure where every reading's
        // refutation has one under the same rule (one reading's "kept" may be
        // another's "reset"); when none is, the first reading's first finding is.
        let mut also_findings = agreed(&refutations);
        let reason = refutations
            .iter()
            .take(3)
            .map(|r| details(r))
            .collect::<Vec<_>>()
            .join("; ");
        // The answer fits only readings its read-back refutes on the change itself
        // (a value accepted under "ignored" shows as applied): where every other
        // reading wants an error, the answer is wrong under those too, and that is
        // the departure; the value it shows is what accepting it did, not a second
        // departure (as where no reading takes the call). An omitted option's
        // finding stays one of its own. A refutation only on omitted options says
        // nothing of the readings: the answer stands, and the omission is the
        // departure (not "accepted where the docs say 400" under a reading the
        // target does not follow). Nor does a read-back that shows something other
        // than the values sent (a change not applied, a read-back that lags or shows
        // another value): the success's own finding is the departure.
        let others: Vec<Acceptable> = expectation
            .outcomes
            .iter()
            .filter(|a| !answer_matches.contains(a))
            .cloned()
            .collect();
        if refuted_on_change
            && applied
            && matches!(actual, Outcome::Success { .. })
            && !others.is_empty()
            && others
                .iter()
                .all(|a| matches!(a.expected, Expected::Error { .. }))
        {
            let rest = Expectation {
                outcomes: others,
                ambiguities: expectation.ambiguities.clone(),
            };
            let mut first = finding::of_answer(&rest, actual, case_rule);
            first.extend(
                also_findings
                    .into_iter()
                    .filter(|f| !answer_matches.iter().any(|a| a.rule == f.rule)),
            );
            also_findings = first;
        }
        return Judgement {
            verdict: Verdict::Fail { reason },
            findings: also_findings,
        };
    }
    if matched.is_empty() {
        let mut reason = explain_mismatch(spec, expectation, actual, instance);
        let mut findings = answer_findings(spec, expectation, actual, instance, case_rule);
        // A wrong error is still an error, and an error changes nothing: a read-back
        // that shows a change is a departure of its own (often the graver one).
        let due_error = expectation
            .outcomes
            .iter()
            .find(|a| matches!(a.expected, Expected::Error { .. }));
        if let (Outcome::Error { .. }, Some(a)) = (actual, due_error) {
            if let Err(mut found) = also(a) {
                reason = format!("{reason}; {}", details(&found));
                findings.append(&mut found);
            }
        }
        return Judgement {
            verdict: Verdict::Fail { reason },
            findings,
        };
    }
    Judgement {
        verdict: passing_verdict(expectation, &matched),
        findings: Vec::new(),
    }
}

/// The first refutation's findings whose rule (and kind) every refutation has;
/// failing that, its first finding. By rule, not by field: the fields a call set
/// are one finding named by the first that differs, which may be another under
/// another reading; an omitted option's finding is under its own rule.
fn agreed(refutations: &[Vec<Finding>]) -> Vec<Finding> {
    let Some(first) = refutations.first() else {
        return Vec::new();
    };
    let in_all = |f: &Finding| {
        refutations
            .iter()
            .all(|r| r.iter().any(|g| g.kind == f.kind && g.rule == f.rule))
    };
    let kept: Vec<Finding> = first.iter().filter(|f| in_all(f)).cloned().collect();
    if kept.is_empty() {
        first.iter().take(1).cloned().collect()
    } else {
        kept
    }
}

/// Findings' details, as one reason.
fn details(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| f.detail.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The findings of an answer no acceptable outcome matches.
fn answer_findings(
    spec: &Spec,
    expectation: &Expectation,
    actual: &Outcome,
    instance: &str,
    case_rule: &str,
) -> Vec<Finding> {
    let findings = finding::of_answer(expectation, actual, case_rule);
    if !findings.is_empty() {
        return findings;
    }
    // A success where a success was due, differing in its content.
    expectation
        .outcomes
        .iter()
        .filter(|a| matches!(a.expected, Expected::Success { .. }))
        .find_map(|a| {
            matches(spec, &a.expected, actual, instance)
                .err()
                .map(|m| finding::of_success_mismatch(spec, a, &m))
        })
        .into_iter()
        .collect()
}

/// Pass, or pass under the readings whose combinations matched.
fn passing_verdict(expectation: &Expectation, matched: &[&Acceptable]) -> Verdict {
    // Pass under every reading when each combination of readings has a match.
    let combos: Vec<&Vec<ReadingLabel>> = unique(expectation.outcomes.iter().map(|a| &a.readings));
    let matched_combos: Vec<&Vec<ReadingLabel>> = unique(matched.iter().map(|a| &a.readings));
    if matched_combos.len() == combos.len() {
        return Verdict::Pass;
    }
    // An ambiguity makes a difference when swapping its reading in some matching
    // combination gives a combination that does not match.
    let differs = |amb: &str| {
        matched_combos.iter().any(|c| {
            combos.iter().any(|other| {
                !matched_combos.contains(other)
                    && other.len() == c.len()
                    && other.iter().zip(c.iter()).all(|(a, b)| {
                        a.ambiguity != amb && a == b || a.ambiguity == amb && b.ambiguity == amb
                    })
            })
        })
    };
    let deciding: Vec<&String> = expectation
        .ambiguities
        .iter()
        .filter(|a| differs(a))
        .collect();
    let mut combinations: Vec<Vec<ReadingLabel>> = Vec::new();
    for c in &matched_combos {
        let projected: Vec<ReadingLabel> = c
            .iter()
            .filter(|l| deciding.contains(&&l.ambiguity))
            .cloned()
            .collect();
        if !combinations.contains(&projected) {
            combinations.push(projected);
        }
    }
    let mut readings: Vec<ReadingLabel> = combinations.iter().flatten().cloned().collect();
    readings.sort();
    readings.dedup();
    Verdict::PassUnderReading {
        readings,
        combinations,
    }
}

/// The items, each once, in their first order.
pub(crate) fn unique<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Does `actual` match this acceptable outcome? `Err` says why not.
pub fn matches(
    spec: &Spec,
    expected: &Expected,
    actual: &Outcome,
    instance: &str,
) -> Result<(), Mismatch> {
    match (expected, actual) {
        (
            Expected::Error { code, status, .. },
            Outcome::Error {
                status: got,
                code: got_code,
                ..
            },
        ) => {
            if !status.matches(*got) {
                return Err(Mismatch::Status {
                    expected: status.to_string(),
                    got: *got,
                });
            }
            match code {
                Some(c) if c != got_code => Err(Mismatch::Code {
                    expected: c.clone(),
                    got: got_code.clone(),
                }),
                _ => Ok(()),
            }
        }
        (Expected::Error { code, status, .. }, Outcome::Success { status: got, .. }) => {
            Err(Mismatch::SuccessNotError {
                status: *got,
                expected: format!("{} ({status})", code.as_deref().unwrap_or("any code")),
            })
        }
        (
            Expected::Success { .. },
            Outcome::Error {
                status,
                code,
                message,
                ..
            },
        ) => Err(Mismatch::ErrorNotSuccess {
            status: *status,
            code: code.clone(),
            message: message.clone(),
        }),
        (
            Expected::Success {
                options,
                states,
                shape,
                targets_instance,
            },
            Outcome::Success { body, .. },
        ) => {
            let instance_options = (*targets_instance).then_some((options, states));
            success_matches(spec, shape, instance_options, body, instance)
        }
    }
}

/// Does a success's `body` match an acceptable success of this `shape`: the
/// documented constants, and (when the call targets the instance) the instance's
/// `options` and one of the change `states`?
fn success_matches(
    spec: &Spec,
    shape: &crate::oracle::AnswerShape,
    instance_options: Option<(&crate::oracle::Options, &Vec<String>)>,
    body: &serde_json::Value,
    instance: &str,
) -> Result<(), Mismatch> {
    for (path, value) in &spec.response.constants {
        let want = value.replace("{instance}", instance);
        let got = lookup(body, path).first().map(|v| scalar(v));
        if got.as_deref() != Some(want.as_str()) {
            return Err(Mismatch::Constant {
                path: path.clone(),
                expected: want,
                got,
            });
        }
    }
    let (Some(options_path), Some((options, states))) =
        (shape.options_path.as_ref(), instance_options)
    else {
        return Ok(());
    };
    let Some(found) = lookup(body, options_path).into_iter().next() else {
        return Err(Mismatch::NoOptions {
            path: options_path.clone(),
        });
    };
    for (option, field) in &shape.fields {
        // An option whose value the run does not know (no read-back has
        // shown it, no call has set it) has nothing to be compared with: a
        // read-back that lacks it is a departure of its own.
        let Some(want) = options.get(option) else {
            continue;
        };
        let got = found.get(field).map(scalar);
        if got.as_ref() != Some(want) {
            return Err(Mismatch::Field {
                path: options_path.clone(),
                field: field.clone(),
                expected: want.clone(),
                got,
            });
        }
    }
    if let (Some(state_field), false) = (&shape.state_field, states.is_empty()) {
        let got = found.get(state_field).map(scalar);
        if !got.as_ref().is_some_and(|g| states.contains(g)) {
            return Err(Mismatch::State {
                path: options_path.clone(),
                field: state_field.clone(),
                expected: states.clone(),
                got,
            });
        }
    }
    Ok(())
}

fn explain_mismatch(
    spec: &Spec,
    expectation: &Expectation,
    actual: &Outcome,
    instance: &str,
) -> String {
    // Outcomes under several readings often miss alike: each reason once.
    let mut reasons = unique(expectation.outcomes.iter().filter_map(|a| {
        matches(spec, &a.expected, actual, instance)
            .err()
            .map(|m| m.to_string())
    }));
    reasons.truncate(4);
    reasons.join("; ")
}

/// Values at a dotted path. `*` steps into every element of an array (an object
/// counts as a one-element list, as XML lists of one are often not arrays).
pub fn lookup<'a>(root: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![root];
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        let mut next = Vec::new();
        for v in current {
            if seg == "*" {
                match v {
                    Value::Array(items) => next.extend(items.iter()),
                    Value::Object(_) => next.push(v),
                    _ => {}
                }
            } else if let Some(child) = v.get(seg) {
                next.push(child);
            }
        }
        current = next;
    }
    current
}

/// A leaf as text: strings as they are, numbers and booleans as JSON prints them.
pub fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Status, Strength};

    /// An error outcome (any code, status 400) under reading `reading`.
    fn under(reading: &str) -> Acceptable {
        Acceptable {
            expected: Expected::Error {
                code: None,
                likely: None,
                status: Status::Exact(400),
                message: None,
            },
            rule: "rule".into(),
            strength: Strength::Documented,
            cite: Vec::new(),
            readings: vec![ReadingLabel {
                ambiguity: "a".into(),
                reading: reading.into(),
            }],
        }
    }

    /// A reason shared by outcomes under several readings is said once, though
    /// other outcomes' reasons come between them.
    #[test]
    fn a_failure_gives_each_reason_once() {
        let spec = &crate::spec::builtin().expect("the tables load")[0];
        let mut not_found = under("other");
        not_found.expected = Expected::Error {
            code: None,
            likely: None,
            status: Status::Exact(404),
            message: None,
        };
        let expectation = Expectation {
            outcomes: vec![under("first"), not_found, under("second")],
            ambiguities: Vec::new(),
        };
        let actual = Outcome::Error {
            status: 500,
            code: "InternalError".into(),
            message: String::new(),
            request_id: None,
        };
        assert_eq!(
            explain_mismatch(spec, &expectation, &actual, "i-1"),
            "status 500, expected 400; status 500, expected 404"
        );
    }

    fn on(field: &str) -> Finding {
        Finding {
            kind: FindingKind::Readback,
            rule: format!("{field}.rule"),
            expected: "kept".into(),
            got: "changed".into(),
            field: Some(field.into()),
            detail: format!("{field} differs"),
            cite: Vec::new(),
        }
    }

    /// The fields a call set, as one finding named by `first`.
    fn set(first: &str) -> Finding {
        Finding {
            rule: "modify.success".into(),
            ..on(first)
        }
    }

    fn judged(refute: impl Fn(&str) -> Vec<Finding>) -> Judgement {
        judged_under(&["first", "second"], refute)
    }

    fn judged_under(readings: &[&str], refute: impl Fn(&str) -> Vec<Finding>) -> Judgement {
        // Any table: only an error's status is matched.
        let spec = crate::spec::builtin()
            .expect("the tables load")
            .into_iter()
            .next()
            .expect("a built-in table");
        let expectation = Expectation {
            outcomes: readings.iter().map(|r| under(r)).collect(),
            ambiguities: vec!["a".into()],
        };
        let actual = Outcome::Error {
            status: 400,
            code: "Whatever".into(),
            message: String::new(),
            request_id: None,
        };
        judge_full(&spec, &expectation, &actual, "i-1", "rule", true, |a| {
            Err(refute(&a.readings[0].reading))
        })
    }

    fn fields(j: &Judgement) -> Vec<&str> {
        j.findings
            .iter()
            .filter_map(|f| f.field.as_deref())
            .collect()
    }

    /// A field one reading's read-back accepts is no departure: only what every
    /// refuted reading names is.
    #[test]
    fn a_field_is_a_departure_only_where_every_reading_names_it() {
        let j = judged(|reading| match reading {
            "first" => vec![on("hop_limit"), on("http_tokens")],
            _ => vec![on("hop_limit")],
        });
        assert!(!j.verdict.is_pass());
        assert_eq!(fields(&j), ["hop_limit"]);
    }

    /// Readings refuted each in their own way: the first reading's first finding
    /// stands for them (the case fails, and names something).
    #[test]
    fn readings_refuted_each_otherwise_keep_the_first_finding() {
        let j = judged(|reading| match reading {
            "first" => vec![on("http_endpoint"), on("http_tokens")],
            _ => vec![on("hop_limit")],
        });
        assert_eq!(fields(&j), ["http_endpoint"]);
        // The reason tells each way.
        let Verdict::Fail { reason } = &j.verdict else {
            panic!("{:?}", j.verdict);
        };
        assert!(reason.contains("hop_limit differs"), "{reason}");
    }

    /// Both findings named under every reading both stand.
    #[test]
    fn fields_every_reading_names_all_stand() {
        let j = judged(|_| vec![on("hop_limit"), on("http_endpoint")]);
        assert_eq!(fields(&j), ["hop_limit", "http_endpoint"]);
    }

    /// The fields a call set are one finding named by the first that differs,
    /// which may be another under another reading: it stands by its rule, beside
    /// an omitted option every reading names.
    #[test]
    fn the_set_fields_stand_however_each_reading_names_them() {
        let j = judged(|reading| match reading {
            "first" => vec![set("hop_limit"), on("http_tokens")],
            _ => vec![set("http_endpoint"), on("http_tokens")],
        });
        assert_eq!(fields(&j), ["hop_limit", "http_tokens"]);
    }

    /// A success under reading `ignored` (rule `modify.success`) and a refusal
    /// under `refused` (rule `P.range`), judging a 200 answer whose read-back
    /// refutes the success with `refute`; `applied`: the read-back shows the
    /// values sent.
    fn accepted(applied: bool, refute: Vec<Finding>) -> Judgement {
        accepted_on(true, applied, refute)
    }

    /// [`accepted`], for a call on our instance or (`ours` false) another's.
    fn accepted_on(ours: bool, applied: bool, refute: Vec<Finding>) -> Judgement {
        let spec = crate::spec::builtin()
            .expect("the tables load")
            .into_iter()
            .find(|s| s.response.constants.is_empty())
            .expect("a table whose answers carry no constant");
        let success = Acceptable {
            expected: Expected::Success {
                options: Default::default(),
                states: Vec::new(),
                shape: crate::oracle::AnswerShape {
                    options_path: None,
                    state_field: None,
                    fields: Default::default(),
                },
                targets_instance: ours,
            },
            rule: "modify.success".into(),
            ..under("ignored")
        };
        let refusal = Acceptable {
            rule: "P.range".into(),
            ..under("refused")
        };
        let expectation = Expectation {
            outcomes: vec![success, refusal],
            ambiguities: vec!["a".into()],
        };
        let actual = Outcome::Success {
            status: 200,
            request_id: None,
            body: Value::Null,
        };
        judge_full(
            &spec,
            &expectation,
            &actual,
            "i-1",
            "P.range",
            applied,
            |a| match a.expected {
                Expected::Success { .. } => Err(refute.clone()),
                Expected::Error { .. } => Ok(()),
            },
        )
    }

    fn kinds(j: &Judgement) -> Vec<(FindingKind, &str)> {
        j.findings
            .iter()
            .map(|f| (f.kind, f.rule.as_str()))
            .collect()
    }

    /// A value one reading ignores and another refuses, taken and applied as
    /// sent: the refusal's departure alone (what the read-back shows of it is
    /// what accepting it did), beside an omitted option's own finding.
    #[test]
    fn a_value_applied_where_one_reading_ignores_it_is_one_departure() {
        let j = accepted(true, vec![set("hop_limit"), on("http_tokens")]);
        assert_eq!(
            kinds(&j),
            [
                (FindingKind::AcceptedInvalid, "P.range"),
                (FindingKind::Readback, "http_tokens.rule")
            ]
        );
    }

    /// A read-back that refutes the success only on an option the call omitted
    /// says nothing of the readings: that omission is the departure, not
    /// "accepted where the docs say 400" under the refusing reading.
    #[test]
    fn a_success_refuted_only_on_an_omitted_option_is_that_omission() {
        let j = accepted(true, vec![on("http_tokens")]);
        assert_eq!(kinds(&j), [(FindingKind::Readback, "http_tokens.rule")]);
    }

    /// A success due on another instance, refuted by what ours shows: no sign of
    /// how that call was taken, so not judged under the refusing reading.
    #[test]
    fn a_success_elsewhere_refuted_here_is_not_judged_under_the_refusal() {
        let j = accepted_on(false, true, vec![set("hop_limit")]);
        assert_eq!(kinds(&j), [(FindingKind::Readback, "modify.success")]);
    }

    /// A read-back that does not show the values sent (not applied, lagging,
    /// another value) is no sign the target took the call as valid: the
    /// success's read-back finding is the departure.
    #[test]
    fn a_read_back_not_showing_the_values_sent_keeps_the_success_s_finding() {
        let j = accepted(false, vec![set("hop_limit")]);
        assert_eq!(kinds(&j), [(FindingKind::Readback, "modify.success")]);
    }

    /// Every refuted reading counts, not only the three the reason shows: a
    /// fourth whose read-back has the tokens setting right withdraws it.
    #[test]
    fn a_fourth_reading_that_accepts_a_field_withdraws_it() {
        let j = judged_under(&["r1", "r2", "r3", "r4"], |reading| match reading {
            "r1" => vec![set("hop_limit"), on("http_tokens")],
            "r2" => vec![set("http_endpoint"), on("http_tokens")],
            "r3" => vec![set("http_protocol_ipv6"), on("http_tokens")],
            _ => vec![set("instance_metadata_tags")],
        });
        assert_eq!(fields(&j), ["hop_limit"]);
    }
}
