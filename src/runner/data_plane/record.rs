//! The data-plane phase's records: each probe, a state that could not be
//! reached, and an endpoint bound to the wrong instance, as [`CaseResult`]s, with
//! their exchanges as recorded (issued tokens redacted).

use std::time::Duration;

use crate::generate::data_plane::{DataProbe, DataState};
use crate::oracle::data_plane::{self as dpo, DataActual, DataExpectation};
use crate::oracle::{Auth, Options};
use crate::spec::DataPlane;
use crate::verdict::record::{RecordedRequest, RecordedResponse};
use crate::verdict::redact::REDACTED;
use crate::verdict::{Actual, CaseResult, Exchange, Verdict};
use crate::wire::{Outcome, RawParam};

use super::identity;
use crate::runner::RunConfig;

/// A state's options as a record's parameters.
pub(super) fn state_params(state: &DataState) -> Vec<RawParam> {
    state
        .options
        .iter()
        .map(|(k, v)| RawParam::text(k.clone(), v.clone()))
        .collect()
}

/// The record of a state the instance could not be brought to: an error (its
/// probes were not judged), counted like any case.
pub(super) fn unreached(cfg: &RunConfig, n: usize, state: &DataState, why: String) -> CaseResult {
    let reason = format!(
        "could not bring the instance to {}: {why}; its probes were not judged",
        state.title
    );
    let mut r = CaseResult {
        id: format!("{}/data-plane/{n:04}", cfg.spec.api.id),
        api: cfg.spec.api.id.clone(),
        phase: "data-plane".into(),
        rule: "data_plane.state".into(),
        title: format!("{}: reach the state", state.title),
        operation: cfg.spec.api.operation.clone(),
        request: state_params(state),
        auth: Auth::Valid,
        expected: Vec::new(),
        ambiguities: Vec::new(),
        actual: Actual::Unjudgeable { reason: why },
        verdict: Verdict::Error { reason },
        findings: Vec::new(),
        citation: Vec::new(),
        exchanges: Vec::new(),
        notes: Vec::new(),
        duration_ms: 0.0,
    };
    crate::verdict::redact::case(&mut r);
    r
}

/// The record of an endpoint bound to the instance that names another: an error
/// of the run (the binding is wrong), counted like any case.
pub(super) fn misbound(
    cfg: &RunConfig,
    dp: &DataPlane,
    n: usize,
    instance: &str,
    m: identity::Misbound,
    late: bool,
) -> CaseResult {
    let reason = m.reason(dp, instance, late);
    let mut r = CaseResult {
        id: format!("{}/data-plane/{n:04}", cfg.spec.api.id),
        api: cfg.spec.api.id.clone(),
        phase: "data-plane".into(),
        rule: "data_plane.identity".into(),
        title: format!("{instance}: is the metadata endpoint bound to it its own?"),
        operation: format!("IMDS GET {}", dp.item_path),
        request: Vec::new(),
        auth: Auth::Valid,
        expected: Vec::new(),
        ambiguities: Vec::new(),
        actual: Actual::Unjudgeable {
            reason: reason.clone(),
        },
        verdict: Verdict::Error { reason },
        findings: Vec::new(),
        citation: Vec::new(),
        exchanges: m.exchanges,
        notes: Vec::new(),
        duration_ms: 0.0,
    };
    crate::verdict::redact::case(&mut r);
    r
}

/// What one probe sent and got.
pub struct Sent {
    pub actual: DataActual,
    /// The judged request's method and path.
    pub request_line: String,
    /// The answer's body (tokens redacted).
    pub body: String,
    pub exchanges: Vec<Exchange>,
    pub elapsed: Duration,
}

pub(super) fn record(
    cfg: &RunConfig,
    n: usize,
    state: &DataState,
    applied: &Options,
    p: &DataProbe,
    exp: &DataExpectation,
    sent: Sent,
) -> CaseResult {
    let verdict = match dpo::judge(exp, &sent.actual) {
        Ok(r) if r.is_empty() => Verdict::Pass,
        Ok(readings) => Verdict::PassUnderReading {
            combinations: vec![readings.clone()],
            readings,
        },
        Err(reason) => Verdict::Fail { reason },
    };
    let full = crate::runner::in_full(cfg, &verdict);
    let mut ambiguities: Vec<String> = exp
        .answers
        .iter()
        .flat_map(|a| a.readings.iter().map(|r| r.ambiguity.clone()))
        .collect();
    ambiguities.dedup();
    let outcome = match &sent.actual {
        DataActual::NoAnswer { reason } => Outcome::Error {
            status: 0,
            code: dpo::NO_ANSWER.into(),
            message: reason.clone(),
            request_id: None,
        },
        DataActual::Answer { status, .. } if (200..300).contains(status) => Outcome::Success {
            status: *status,
            request_id: None,
            body: serde_json::Value::String(sent.body.clone()),
        },
        DataActual::Answer { status, .. } => Outcome::Error {
            status: *status,
            code: format!("HTTP {status}"),
            message: sent.body.clone(),
            request_id: None,
        },
    };
    let mut request = state_params(state);
    request.push(RawParam::text("probe", p.probe.name()));
    if let Some(ttl) = &p.ttl {
        request.push(RawParam::text("ttl", ttl.clone()));
    }
    let expected = dpo::as_acceptable(exp, applied);
    let findings = match &verdict {
        Verdict::Fail { reason } => {
            let expectation = crate::oracle::Expectation {
                outcomes: expected.clone(),
                ambiguities: ambiguities.clone(),
            };
            let mut f = crate::verdict::finding::of_answer(&expectation, &outcome, &exp.rule);
            if f.is_empty() {
                f.push(crate::verdict::Finding {
                    kind: crate::verdict::FindingKind::Answer,
                    rule: exp.rule.clone(),
                    expected: "the documented answer".into(),
                    got: "another answer".into(),
                    field: None,
                    detail: reason.clone(),
                    cite: exp.cite.iter().map(|c| c.short()).collect(),
                });
            }
            f
        }
        _ => Vec::new(),
    };
    let mut r = CaseResult {
        id: format!("{}/data-plane/{n:04}", cfg.spec.api.id),
        api: cfg.spec.api.id.clone(),
        phase: "data-plane".into(),
        rule: exp.rule.clone(),
        title: format!("{}: {}", state.title, p.title),
        operation: format!("IMDS {}", sent.request_line),
        request,
        auth: Auth::Valid,
        expected,
        ambiguities,
        actual: Actual::Outcome { outcome },
        verdict,
        findings,
        citation: if full {
            exp.cite.iter().map(|c| c.short()).collect()
        } else {
            Vec::new()
        },
        exchanges: if full { sent.exchanges } else { Vec::new() },
        notes: vec![format!(
            "applied: {}",
            applied
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        )],
        duration_ms: sent.elapsed.as_secs_f64() * 1000.0,
    };
    crate::verdict::redact::case(&mut r);
    r
}

/// An answer as the recorder takes it.
pub(super) struct Answered {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: String,
    /// The answer to a token request (its body is a token).
    pub(super) token: bool,
}

/// An exchange as recorded: the token header's value and a token answer's body
/// are replaced by `<redacted>`.
pub(super) fn exchange(
    endpoint: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    token_header: &str,
    response: Option<Answered>,
) -> Exchange {
    Exchange {
        endpoint: endpoint.to_string(),
        request: RecordedRequest {
            method: method.to_string(),
            path_and_query: path.to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    if k.eq_ignore_ascii_case(token_header) {
                        (k.clone(), REDACTED.to_string())
                    } else {
                        (k.clone(), v.clone())
                    }
                })
                .collect(),
            body: String::new(),
        },
        response: response.map(|a| RecordedResponse {
            status: a.status,
            headers: a.headers,
            body: if a.token && a.status == 200 {
                REDACTED.to_string()
            } else {
                a.body
            },
        }),
    }
}
