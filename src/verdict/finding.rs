//! Findings: what exactly a failing case shows, in a form that groups.
//!
//! A case fails for one or more reasons; each reason is a [`Finding`] with the rule it
//! breaks, a normalized expectation and answer (`400 InvalidParameterValue` vs
//! `500 (HTML page)`: statuses and codes, never request ids or values) and a line of
//! detail for this one case. Cases whose findings share a [`Finding::key`] are one
//! departure (see [`super::departure`]).

use serde::{Deserialize, Serialize};

use crate::oracle::{Acceptable, Expectation, Expected};
use crate::spec::Spec;
use crate::wire::Outcome;

/// What kind of difference a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// A call the docs refuse was accepted.
    AcceptedInvalid,
    /// A call the docs accept was refused.
    RefusedValid,
    /// An error was due and came, with another status or code.
    WrongError,
    /// The answer's body is not in the protocol's format (an HTML page, plain text…).
    NotProtocol,
    /// A success answer lacks a field, or shows the wrong value or state.
    Answer,
    /// The read-back after the call disagrees with the answer, or lacks a field.
    Readback,
    /// The change never reaches the state it settles to.
    NeverSettles,
    /// A reason without structure (a report written by hand or by an older version).
    Other,
}

impl FindingKind {
    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::AcceptedInvalid => "accepted-invalid",
            FindingKind::RefusedValid => "refused-valid",
            FindingKind::WrongError => "wrong-error",
            FindingKind::NotProtocol => "not-protocol",
            FindingKind::Answer => "answer",
            FindingKind::Readback => "read-back",
            FindingKind::NeverSettles => "never-settles",
            FindingKind::Other => "other",
        }
    }
}

/// One reason a case fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// The rule the target breaks (`HttpPutResponseHopLimit.range`, `readback.fields`).
    pub rule: String,
    /// What the docs call for, normalized (`400 InvalidParameterValue`, `success`).
    pub expected: String,
    /// What came, normalized (`200 success`, `500 (HTML page)`, `missing`).
    pub got: String,
    /// The field concerned, where there is one (`httpTokens`, `http_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// This case's difference in words, with its values.
    pub detail: String,
    /// The citations of the rule, one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cite: Vec<String>,
}

impl Finding {
    /// Cases whose findings have the same key show the same departure. A refused
    /// valid call is keyed by what came back, not by the case's rule: one cause (a
    /// 500 whenever an option is omitted) shows in cases of many rules.
    pub fn key(&self) -> String {
        let rule = match self.kind {
            FindingKind::RefusedValid | FindingKind::NotProtocol => "",
            _ => self.rule.as_str(),
        };
        // A refusal's rule names what was due: the expected errors vary with the
        // readings a call touches, not with the cause.
        let expected = match self.kind {
            FindingKind::AcceptedInvalid | FindingKind::WrongError => "",
            _ => self.expected.as_str(),
        };
        // Fields missing (or wrong) the same way are one departure, naming them all.
        let field = match self.kind {
            FindingKind::Answer | FindingKind::Readback => "",
            _ => self.field.as_deref().unwrap_or(""),
        };
        format!(
            "{}|{rule}|{expected}|{}|{field}",
            self.kind.name(),
            self.got,
        )
    }

    /// A finding for a failure known only by its reason text.
    pub fn other(rule: &str, reason: &str, cite: Vec<String>) -> Self {
        Finding {
            kind: FindingKind::Other,
            rule: rule.to_string(),
            expected: "as the docs say".into(),
            got: reason.to_string(),
            field: None,
            detail: reason.to_string(),
            cite,
        }
    }
}

/// Why an answer does not match one acceptable outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// An error with another status.
    Status { expected: String, got: u16 },
    /// An error with the right status and another code.
    Code { expected: String, got: String },
    /// A success where an error was due.
    SuccessNotError { status: u16, expected: String },
    /// An error where a success was due.
    ErrorNotSuccess {
        status: u16,
        code: String,
        message: String,
    },
    /// A constant of every success answer is missing or wrong.
    Constant {
        path: String,
        expected: String,
        got: Option<String>,
    },
    /// The answer has no options object.
    NoOptions { path: String },
    /// An option in the answer is missing or has another value.
    Field {
        path: String,
        field: String,
        expected: String,
        got: Option<String>,
    },
    /// The answer's change state is not one of the acceptable ones.
    State {
        path: String,
        field: String,
        expected: Vec<String>,
        got: Option<String>,
    },
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Status { expected, got } => write!(f, "status {got}, expected {expected}"),
            Mismatch::Code { expected, got } => write!(f, "code {got}, expected {expected}"),
            Mismatch::SuccessNotError { status, expected } => {
                write!(f, "success ({status}), expected error {expected}")
            }
            Mismatch::ErrorNotSuccess {
                status,
                code,
                message,
            } => write!(f, "error {code} ({status}): {message}, expected success"),
            Mismatch::Constant {
                path,
                expected,
                got,
            } => write!(f, "{path} is {}, expected \"{expected}\"", shown(got)),
            Mismatch::NoOptions { path } => write!(f, "the answer has no {path}"),
            Mismatch::Field {
                path,
                field,
                expected,
                got,
            } => write!(
                f,
                "{path}.{field} is {}, expected \"{expected}\"",
                shown(got)
            ),
            Mismatch::State {
                path,
                field,
                expected,
                got,
            } => {
                let one_of: Vec<String> = expected.iter().map(|e| format!("\"{e}\"")).collect();
                write!(
                    f,
                    "{path}.{field} is {}, expected one of {}",
                    shown(got),
                    one_of.join(", ")
                )
            }
        }
    }
}

/// A value of an answer as the reports show it: quoted, or `missing`.
fn shown(v: &Option<String>) -> String {
    match v {
        Some(v) => format!("\"{v}\""),
        None => "missing".into(),
    }
}

/// `400 InvalidParameterValue or 412 DryRunOperation`: the errors an expectation allows.
pub fn expected_errors(outcomes: &[&Acceptable]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for a in outcomes {
        if let Expected::Error { code, status, .. } = &a.expected {
            let s = match code {
                Some(c) => format!("{status} {c}"),
                None => format!("{status} (any code)"),
            };
            if !seen.contains(&s) {
                seen.push(s);
            }
        }
    }
    seen.join(" or ")
}

fn cites(a: &Acceptable) -> Vec<String> {
    super::unique(a.cite.iter().map(|c| c.short()))
}

/// The findings of an answer that matches none of the acceptable outcomes.
/// `case_rule` names the case's own rule (used where the outcomes carry none).
pub fn of_answer(expectation: &Expectation, actual: &Outcome, case_rule: &str) -> Vec<Finding> {
    let successes: Vec<&Acceptable> = expectation
        .outcomes
        .iter()
        .filter(|a| matches!(a.expected, Expected::Success { .. }))
        .collect();
    let errors: Vec<&Acceptable> = expectation
        .outcomes
        .iter()
        .filter(|a| matches!(a.expected, Expected::Error { .. }))
        .collect();
    // An error some reading's refusal accounts for is a wrong error, though another
    // reading (a value ignored, unbounded, or empty read as omitted) would take the
    // call: its code is one a refusal gives; or the case was made to be refused
    // (a refusal of its parameter's value is due: `HttpEndpoint = ""`, which one
    // reading takes as omitted); or every reading allows an error (a success only one way of
    // several). Otherwise a refusal where some reading wants success is a refused
    // valid call: a valid hop limit answered 500 is that, not "the refusal of the
    // reading that rejects the parameter" (a target failing every valid call would
    // show as one departure per such reading).
    // Whether an error outcome gives `got`: as its code, or (when `likely`) as the
    // code it most likely has.
    let gives = |a: &Acceptable, got: &str, likely_too: bool| {
        matches!(&a.expected, Expected::Error { code, likely, .. }
            if code.as_deref() == Some(got) || likely_too && code.is_none() && likely.as_deref() == Some(got))
    };
    // A refusal of the value the case sends for its parameter (`HttpEndpoint.values`
    // for a case under `HttpEndpoint.values`; `HttpPutResponseHopLimit.type` for one
    // under `.range` sending "").
    let made_to_be_refused = |a: &Acceptable| {
        a.rule == case_rule
            || matches!((a.rule.rsplit_once('.'), case_rule.rsplit_once('.')),
                (Some((p, fact)), Some((q, _))) if p == q && crate::oracle::VALUE_FACTS.contains(&fact))
    };
    let accounted = |got: &str| {
        errors
            .iter()
            .any(|a| gives(a, got, true) || made_to_be_refused(a))
            || super::unique(expectation.outcomes.iter().map(|a| &a.readings))
                .into_iter()
                .all(|combo| errors.iter().any(|a| &a.readings == combo))
    };
    match actual {
        Outcome::Error {
            status,
            code,
            message,
            ..
        } if !successes.is_empty() && !accounted(code) => vec![Finding {
            kind: FindingKind::RefusedValid,
            rule: successes[0].rule.clone(),
            expected: "success".into(),
            got: format!("{status} {code}"),
            field: None,
            detail: format!("error {code} ({status}): {message}, expected success"),
            cite: cites(successes[0]),
        }],
        Outcome::Error { status, code, .. } => {
            // The errors due with this status (another code), else all of them; of
            // those, the one with this exact code, else the case's own rule's, else
            // the first. (A likely code is too weak a sign to name another rule by.)
            let with_status: Vec<&Acceptable> = errors
                .iter()
                .copied()
                .filter(|a| matches!(&a.expected, Expected::Error { status: s, .. } if s.matches(*status)))
                .collect();
            let among = if with_status.is_empty() {
                &errors
            } else {
                &with_status
            };
            let rule_of = among
                .iter()
                .find(|a| gives(a, code, false))
                .or_else(|| among.iter().find(|a| a.rule == case_rule))
                .or(among.first())
                .copied();
            let expected = expected_errors(&errors);
            vec![Finding {
                kind: FindingKind::WrongError,
                rule: rule_of.map_or(case_rule.to_string(), |a| a.rule.clone()),
                expected: expected.clone(),
                got: format!("{status} {code}"),
                field: None,
                detail: format!("error {code} ({status}), expected {expected}"),
                cite: rule_of.map(cites).unwrap_or_default(),
            }]
        }
        Outcome::Success { status, .. } if successes.is_empty() => {
            let expected = expected_errors(&errors);
            // Of several refusals due, the case's own rule's (the departure then
            // has the rule its reproducer says), else the first.
            let due = errors
                .iter()
                .find(|a| a.rule == case_rule)
                .or(errors.first());
            vec![Finding {
                kind: FindingKind::AcceptedInvalid,
                rule: due.map_or(case_rule.to_string(), |a| a.rule.clone()),
                expected: expected.clone(),
                got: format!("{status} success"),
                field: None,
                detail: format!("success ({status}), expected error {expected}"),
                cite: due.map(|a| cites(a)).unwrap_or_default(),
            }]
        }
        Outcome::Success { .. } => Vec::new(),
    }
}

/// The finding of a success answer that differs from an acceptable success.
pub fn of_success_mismatch(spec: &Spec, a: &Acceptable, m: &Mismatch) -> Finding {
    let detail = m.to_string();
    // The answer's shape and states are the table's `[response]` and
    // `[state_machine]` facts: cite those, not the call's rule.
    let short = |c: &crate::spec::Cites| -> Vec<String> {
        c.values().flatten().map(|c| c.short()).collect()
    };
    let cite = match m {
        Mismatch::State { .. } => spec
            .state_machine
            .as_ref()
            .map(|sm| short(&sm.cite))
            .unwrap_or_default(),
        Mismatch::Constant { .. } | Mismatch::NoOptions { .. } | Mismatch::Field { .. } => {
            short(&spec.response.cite)
        }
        _ => cites(a),
    };
    let (rule, expected, got, field) = match m {
        Mismatch::Constant { path, got, .. } => (
            "response.constants".to_string(),
            "the documented value".to_string(),
            another_or_missing(got.is_some()),
            Some(path.clone()),
        ),
        Mismatch::NoOptions { path } => (
            "response.options".to_string(),
            "present".to_string(),
            "missing".to_string(),
            Some(path.clone()),
        ),
        Mismatch::Field { field, got, .. } => (
            "response.fields".to_string(),
            "the value the call set or kept".to_string(),
            another_or_missing(got.is_some()),
            Some(field.clone()),
        ),
        Mismatch::State {
            field,
            expected,
            got,
            ..
        } => (
            "state_machine.on_modify".to_string(),
            expected.join(" or "),
            got.clone().unwrap_or_else(|| "missing".into()),
            Some(field.clone()),
        ),
        other => (
            a.rule.clone(),
            "as the docs say".to_string(),
            other.to_string(),
            None,
        ),
    };
    Finding {
        kind: FindingKind::Answer,
        rule,
        expected,
        got,
        field,
        detail,
        cite,
    }
}

/// What an answer showed in place of a documented value: another one, or none.
fn another_or_missing(present: bool) -> String {
    if present { "another value" } else { "missing" }.to_string()
}

/// What an answer whose body is not the protocol's looks like: `HTML page`,
/// `empty body`, `plain text`…
pub fn body_kind(body: &[u8]) -> &'static str {
    let text = String::from_utf8_lossy(&body[..body.len().min(512)]);
    let t = text.trim_start().to_ascii_lowercase();
    if t.is_empty() {
        "empty body"
    } else if t.starts_with("<!doctype html") || t.starts_with("<html") || t.contains("<body") {
        "HTML page"
    } else if t.starts_with('<') {
        "XML not of the protocol"
    } else if t.starts_with('{') || t.starts_with('[') {
        "JSON not of the protocol"
    } else {
        "plain text"
    }
}

/// The findings of an answer the protocol cannot decode: the body is a departure of
/// its own, and its status is judged on what it says (a 5xx where a 4xx or a
/// success is due).
pub fn of_undecodable(
    expectation: &Expectation,
    status: u16,
    body: &[u8],
    protocol: crate::wire::Protocol,
    reason: &str,
    case_rule: &str,
) -> Vec<Finding> {
    let source = protocol.source().to_string();
    let protocol = protocol.name();
    let what = body_kind(body);
    let mut out = vec![Finding {
        kind: FindingKind::NotProtocol,
        rule: format!("protocol.{protocol}"),
        expected: format!("an answer in {protocol}"),
        got: what.to_string(),
        field: None,
        detail: format!("{status} with a body that is not {protocol}: {reason}"),
        cite: vec![source],
    }];
    let pseudo = if (200..300).contains(&status) {
        Outcome::Success {
            status,
            request_id: None,
            body: serde_json::Value::Null,
        }
    } else {
        Outcome::Error {
            status,
            code: format!("({what})"),
            message: String::new(),
            request_id: None,
        }
    };
    let status_ok = match &pseudo {
        Outcome::Success { .. } => expectation.allows_success(),
        Outcome::Error { .. } => expectation
            .outcomes
            .iter()
            .any(|a| matches!(&a.expected, Expected::Error { status: s, .. } if s.matches(status))),
    };
    if !status_ok {
        for mut f in of_answer(expectation, &pseudo, case_rule) {
            if let Outcome::Error { .. } = pseudo {
                f.got = format!("{status} ({what})");
            }
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{of_answer, FindingKind};
    use crate::generate::{coverage, Subject};
    use crate::oracle::{expect, Auth, Instance, World};
    use crate::wire::Outcome;

    /// A refusal due under `rule`: status 400, `code` or any.
    fn due(rule: &str, code: Option<&str>) -> crate::oracle::Acceptable {
        use crate::spec::{Status, Strength};
        crate::oracle::Acceptable {
            expected: crate::oracle::Expected::Error {
                code: code.map(Into::into),
                likely: None,
                status: Status::Exact(400),
                message: None,
            },
            rule: rule.into(),
            strength: Strength::Documented,
            cite: Vec::new(),
            readings: Vec::new(),
        }
    }

    fn error(code: &str) -> Outcome {
        Outcome::Error {
            status: 500,
            code: code.into(),
            message: String::new(),
            request_id: None,
        }
    }

    /// A documented refusal with a 500 is a wrong error under the rule the case
    /// checks, though another reading (a preview parameter ignored, an unbounded hop
    /// limit, an empty value read as omitted) takes the call; so is an error no
    /// reading gives (a 500 `InternalError`): "refused where the docs say success"
    /// would take the other reading's side. (Before: `modify.success`, renamed by
    /// `departure::build` to `ImdsConformUnknown.absent`, `HttpTokens.absent`…)
    /// Where no reading refuses the call, an error is a refused valid call.
    #[test]
    fn a_documented_refusal_with_a_500_is_a_wrong_error_under_the_case_s_rule() {
        let specs = crate::spec::builtin().expect("built-in tables");
        for (api, id, title, code, rule) in [
            (
                "aliyun-ecs",
                "i-bp67acfmxaz1234abcd",
                "HttpPutResponseHopLimit = integer 0",
                "InvalidHttpPutResponseHopLimit.NotSupported",
                "HttpPutResponseHopLimit.range",
            ),
            (
                "aliyun-ecs",
                "i-bp67acfmxaz1234abcd",
                "HttpPutResponseHopLimit = wrong type \"\"",
                "InvalidParameter",
                "HttpPutResponseHopLimit.type",
            ),
            (
                "aws-lightsail",
                "web-1",
                "httpPutResponseHopLimit = integer 0",
                "InvalidInputException",
                "httpPutResponseHopLimit.range",
            ),
            (
                "aws-ec2",
                "i-0123456789abcdef0",
                "HttpTokens = wrong type \"\"",
                "InvalidParameterValue",
                "HttpTokens.values",
            ),
        ] {
            let spec = specs.iter().find(|s| s.api.id == api).expect("table");
            let region = spec.api.default_region.clone();
            let subject = Subject::new(spec, id, &region, &[]);
            let case = coverage(spec, &subject)
                .into_iter()
                .find(|c| c.title == title)
                .expect("the case");
            let instance = Instance {
                id: id.into(),
                state: "running".into(),
                options: Default::default(),
            };
            let world = World { region, instance };
            let expectation = expect(spec, &world, &case.call, Auth::Valid);
            assert!(
                expectation.allows_success(),
                "{title}: some reading takes it"
            );
            let found = of_answer(&expectation, &error(code), &case.rule);
            assert_eq!(
                (found[0].kind, found[0].rule.as_str()),
                (FindingKind::WrongError, rule),
                "{api} {title}: {found:?}"
            );
            let found = of_answer(&expectation, &error("InternalError"), &case.rule);
            assert_eq!(
                (found[0].kind, found[0].rule.as_str()),
                (FindingKind::WrongError, rule),
                "{api} {title}: {found:?}"
            );
            let takes = crate::oracle::Expectation {
                outcomes: expectation
                    .outcomes
                    .iter()
                    .filter(|a| matches!(a.expected, crate::oracle::Expected::Success { .. }))
                    .cloned()
                    .collect(),
                ambiguities: expectation.ambiguities.clone(),
            };
            let found = of_answer(&takes, &error("InternalError"), &case.rule);
            assert_eq!(found[0].kind, FindingKind::RefusedValid, "{api} {title}");
        }
    }

    /// A valid value that one reading refuses only because it rejects the whole
    /// parameter (Alibaba's preview parameters), answered 500: a refused valid
    /// call, as for every other valid call such a target fails, not the rejecting
    /// reading's refusal. And where every reading allows an error (an empty
    /// InstanceId: not found, or required), a 500 page is a wrong error.
    #[test]
    fn a_refusal_only_one_reading_wants_is_a_refused_valid_call() {
        let specs = crate::spec::builtin().expect("built-in tables");
        let spec = specs
            .iter()
            .find(|s| s.api.id == "aliyun-ecs")
            .expect("table");
        let (id, region) = ("i-bp67acfmxaz1234abcd", spec.api.default_region.clone());
        let subject = Subject::new(spec, id, &region, &[]);
        let world = World {
            region: region.clone(),
            instance: Instance {
                id: id.into(),
                state: "running".into(),
                options: Default::default(),
            },
        };
        let cases = coverage(spec, &subject);
        let expectation_of = |title: &str| {
            let case = cases.iter().find(|c| c.title == title).expect(title);
            (
                expect(spec, &world, &case.call, Auth::Valid),
                case.rule.clone(),
            )
        };
        // A valid hop limit: refused only where the parameter is rejected.
        let (valid, rule) = cases
            .iter()
            .filter(|c| c.title.starts_with("HttpPutResponseHopLimit = "))
            .map(|c| (expect(spec, &world, &c.call, Auth::Valid), c.rule.clone()))
            .find(|(e, _)| {
                e.allows_success()
                    && e.outcomes
                        .iter()
                        .any(|a| a.rule == "HttpPutResponseHopLimit.rejected")
                    && e.outcomes.iter().all(|a| {
                        matches!(a.expected, crate::oracle::Expected::Success { .. })
                            || a.rule.ends_with(".rejected")
                    })
            })
            .expect("a valid hop limit only the rejecting reading refuses");
        let found = of_answer(&valid, &error("InternalError"), &rule);
        assert_eq!(found[0].kind, FindingKind::RefusedValid, "{found:?}");
        let (empty, rule) = expectation_of("InstanceId = wrong type \"\"");
        assert!(empty.allows_success(), "{empty:?}");
        let found = of_answer(&empty, &error("(HTML page)"), &rule);
        assert_eq!(found[0].kind, FindingKind::WrongError, "{found:?}");
    }

    /// Two refusals due with one status (a hop limit of 2^31: not an int32, and
    /// out of range): an accepted call, or another code with that status, is
    /// named by the case's own rule, the one its reproducer says; a code one of
    /// them gives names that one.
    #[test]
    fn of_refusals_alike_the_case_s_own_rule_names_the_departure() {
        use crate::oracle::Expectation;
        let expectation = Expectation {
            outcomes: vec![due("Hop.type", None), due("Hop.range", Some("CodeR"))],
            ambiguities: Vec::new(),
        };
        let accepted = Outcome::Success {
            status: 200,
            request_id: None,
            body: serde_json::Value::Null,
        };
        let rule = |found: Vec<super::Finding>| found[0].rule.clone();
        assert_eq!(
            rule(of_answer(&expectation, &accepted, "Hop.range")),
            "Hop.range"
        );
        assert_eq!(
            rule(of_answer(&expectation, &accepted, "random")),
            "Hop.type"
        );
        let other_400 = Outcome::Error {
            status: 400,
            code: "Other".into(),
            message: String::new(),
            request_id: None,
        };
        assert_eq!(
            rule(of_answer(&expectation, &other_400, "Hop.range")),
            "Hop.range"
        );
        assert_eq!(
            rule(of_answer(&expectation, &error("Other"), "Hop.range")),
            "Hop.range"
        );
        assert_eq!(
            rule(of_answer(&expectation, &error("CodeR"), "Hop.type")),
            "Hop.range"
        );
    }

    /// A call with two invalid values has two errors due; a 500 with the second's
    /// code is the second's wrong error, under its rule (not the first's).
    #[test]
    fn a_wrong_status_is_named_by_the_error_whose_code_it_has() {
        use crate::oracle::Expectation;
        let expectation = Expectation {
            outcomes: vec![
                due("A.range", Some("CodeA")),
                due("B.values", Some("CodeB")),
            ],
            ambiguities: Vec::new(),
        };
        let found = of_answer(&expectation, &error("CodeB"), "A.range");
        assert_eq!(
            (found[0].kind, found[0].rule.as_str()),
            (FindingKind::WrongError, "B.values")
        );
    }
}
