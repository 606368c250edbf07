//! The data plane's oracle: (a table's `[data_plane]`, the instance's *applied*
//! options, a probe) → every acceptable answer, with the rule that decides and its
//! citations. Pure, like the rest of the oracle: no I/O, no clock.
//!
//! The first rule (in table order) whose probes include the probe and whose `when`
//! holds under the applied options decides. An option the target does not show is
//! unknown, and a rule that needs it does not hold: silence is not a rule. No rule
//! → no expectation, and the probe is not sent.

use serde::{Deserialize, Serialize};

use super::{Acceptable, AnswerShape, Expected, Options, ReadingLabel};
use crate::spec::{Citation, DataPlane, DataRule, Probe, Status, StatusClass, Strength};

/// One acceptable answer to a probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataAcceptable {
    /// `None`: no answer at all (refused, closed, timed out).
    pub status: Option<Status>,
    /// The status the table names when `status` is a class (an inexact one).
    pub likely: Option<u16>,
    /// The token answer must echo the TTL header it was sent.
    pub echo_ttl: bool,
    /// The reading it holds under (empty: every reading).
    pub readings: Vec<ReadingLabel>,
}

/// What a conforming metadata service answers to one probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataExpectation {
    /// `data_plane.<rule id>`.
    pub rule: String,
    pub answers: Vec<DataAcceptable>,
    /// The weakest strength among the rule's citations.
    pub strength: Strength,
    pub cite: Vec<Citation>,
}

/// What came back from a probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataActual {
    /// No HTTP answer: connection refused, closed without a response, or timed out.
    NoAnswer { reason: String },
    Answer {
        status: u16,
        /// The TTL header of the answer, if any.
        echoed_ttl: Option<String>,
        /// The TTL header the probe sent, if any.
        sent_ttl: Option<String>,
    },
}

/// Does `rule` hold for `probe` under `applied`?
fn holds(rule: &DataRule, applied: &Options, probe: Probe) -> bool {
    let about = rule.probes.contains(&probe) || rule.probes.contains(&Probe::Any);
    about && rule.when.iter().all(|(o, v)| applied.get(o) == Some(v))
}

/// The acceptable answers to `probe` under the applied options, or `None` when no
/// rule decides it.
pub fn expect(dp: &DataPlane, applied: &Options, probe: Probe) -> Option<DataExpectation> {
    let rule = dp
        .rules
        .iter()
        .map(|r| r.get_ref())
        .find(|r| holds(r, applied, probe))?;
    let answers = rule
        .answer
        .iter()
        .map(|a| {
            let status = match (a.status, a.exact) {
                (Some(Status::Exact(s)), false) if (400..500).contains(&s) => {
                    Some(Status::Class(StatusClass::Client))
                }
                (Some(Status::Exact(s)), false) if (500..600).contains(&s) => {
                    Some(Status::Class(StatusClass::Server))
                }
                (s, _) => s,
            };
            DataAcceptable {
                status,
                likely: match (a.status, a.exact) {
                    (Some(Status::Exact(s)), false) => Some(s),
                    _ => None,
                },
                echo_ttl: a.echo_ttl,
                readings: a
                    .reading_parts()
                    .map(|(ambiguity, reading)| ReadingLabel {
                        ambiguity: ambiguity.to_string(),
                        reading: reading.to_string(),
                    })
                    .into_iter()
                    .collect(),
            }
        })
        .collect();
    let strength = rule
        .cite
        .iter()
        .map(|c| c.strength)
        .max_by_key(|s| s.weakness())
        .unwrap_or(Strength::Inferred);
    Some(DataExpectation {
        rule: format!("data_plane.{}", rule.id),
        answers,
        strength,
        cite: rule.cite.clone(),
    })
}

/// Does `actual` match this acceptable answer? `Err` says why not.
pub fn matches(a: &DataAcceptable, actual: &DataActual) -> Result<(), String> {
    match (&a.status, actual) {
        (None, DataActual::NoAnswer { .. }) => Ok(()),
        (None, DataActual::Answer { status, .. }) => {
            Err(format!("answered {status}, expected no answer"))
        }
        (Some(want), DataActual::NoAnswer { reason }) => {
            Err(format!("no answer ({reason}), expected {want}"))
        }
        (
            Some(want),
            DataActual::Answer {
                status,
                echoed_ttl,
                sent_ttl,
            },
        ) => {
            if !want.matches(*status) {
                return Err(format!("answered {status}, expected {}", shown(a)));
            }
            if a.echo_ttl && echoed_ttl != sent_ttl {
                return Err(format!(
                    "the token answer echoes the TTL header as {echoed_ttl:?}, sent {sent_ttl:?}"
                ));
            }
            Ok(())
        }
    }
}

fn shown(a: &DataAcceptable) -> String {
    match (&a.status, a.likely) {
        (None, _) => "no answer".into(),
        (Some(s), Some(l)) => format!("{s} (likely {l})"),
        (Some(s), None) => s.to_string(),
    }
}

/// The judgement of one probe: `Ok(readings)` (empty: under every reading; else
/// the readings under which the answer is acceptable), or `Err(reason)`.
pub fn judge(exp: &DataExpectation, actual: &DataActual) -> Result<Vec<ReadingLabel>, String> {
    let mut reasons = Vec::new();
    let mut readings = Vec::new();
    for a in &exp.answers {
        match matches(a, actual) {
            Ok(()) if a.readings.is_empty() => return Ok(Vec::new()),
            Ok(()) => readings.extend(a.readings.iter().cloned()),
            Err(r) if !reasons.contains(&r) => reasons.push(r),
            Err(_) => {}
        }
    }
    if readings.is_empty() {
        Err(reasons.join("; "))
    } else {
        Ok(readings)
    }
}

/// Does `probe` tell the options `after` from `before`: some rule decides it
/// under both, and no answer acceptable under one is acceptable under the other
/// (so an acceptable answer under `after` shows that `after` applies)?
pub fn tells_apart(dp: &DataPlane, before: &Options, after: &Options, probe: Probe) -> bool {
    let (Some(b), Some(a)) = (expect(dp, before, probe), expect(dp, after, probe)) else {
        return false;
    };
    let overlap = |x: &DataAcceptable, y: &DataAcceptable| match (x.status, y.status) {
        (None, None) => true,
        (Some(sx), Some(sy)) => (100..=599).any(|s| sx.matches(s) && sy.matches(s)),
        _ => false,
    };
    !b.answers
        .iter()
        .any(|x| a.answers.iter().any(|y| overlap(x, y)))
}

/// The answers as the control plane's acceptable outcomes, for reports: a 2xx is
/// a success with the applied options, a refusal an error with any code and that
/// status, and no answer the pseudo-code `no-answer`.
pub fn as_acceptable(exp: &DataExpectation, applied: &Options) -> Vec<Acceptable> {
    exp.answers
        .iter()
        .map(|a| Acceptable {
            expected: match a.status {
                Some(Status::Exact(s)) if (200..300).contains(&s) => Expected::Success {
                    options: applied.clone(),
                    states: Vec::new(),
                    shape: AnswerShape {
                        options_path: None,
                        state_field: None,
                        fields: Default::default(),
                    },
                    targets_instance: true,
                },
                Some(status) => Expected::Error {
                    code: None,
                    likely: a.likely.map(|l| format!("HTTP {l}")),
                    status,
                    message: None,
                },
                None => Expected::Error {
                    code: Some(NO_ANSWER.into()),
                    likely: None,
                    status: Status::Exact(0),
                    message: Some("the metadata service does not answer".into()),
                },
            },
            rule: exp.rule.clone(),
            strength: exp.strength,
            cite: exp.cite.clone(),
            readings: a.readings.clone(),
        })
        .collect()
}

/// The pseudo error code of "no answer" in reports.
pub const NO_ANSWER: &str = "no-answer";

#[cfg(test)]
mod tells_apart_tests {
    use super::tells_apart;
    use crate::oracle::Options;
    use crate::spec::Probe;

    fn options(pairs: &[(&str, &str)]) -> Options {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A refusing turned-off service answers a tokenless GET as one with tokens
    /// required does: only the token PUT tells the two apart.
    #[test]
    fn only_a_probe_whose_answers_differ_tells_options_apart() {
        let spec = crate::spec::builtin_api("aliyun-ecs")
            .expect("tables load")
            .expect("the table");
        let dp = spec.data_plane.as_ref().expect("a data plane");
        let off = options(&[("http_endpoint", "disabled"), ("http_tokens", "optional")]);
        let required = options(&[("http_endpoint", "enabled"), ("http_tokens", "required")]);
        assert!(!tells_apart(dp, &off, &required, Probe::Get));
        assert!(tells_apart(dp, &off, &required, Probe::PutToken));
        let optional = options(&[("http_endpoint", "enabled"), ("http_tokens", "optional")]);
        assert!(tells_apart(dp, &optional, &required, Probe::Get));
        assert!(!tells_apart(dp, &optional, &required, Probe::PutToken));
    }
}
