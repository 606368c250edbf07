//! Short text forms shared by the renderers: parameters, expected and actual
//! outcomes, verdict reasons, and the grouping of cases by rule.

use crate::oracle::{Acceptable, Auth, Expected};
use crate::verdict::redact;
use crate::verdict::{Actual, CaseResult, Summary, Verdict};
use crate::wire::{Outcome, RawParam, RawValue};

/// Whitespace runs (newlines included) as one space, trimmed; other control
/// characters and bidirectional overrides (which can make text display other
/// than it reads) spelled `\u{…}`.
pub fn one_line(s: &str) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    joined
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Text on one line (see [`one_line`]) with Markdown and HTML syntax
/// backslash-escaped, for Markdown reports and matrices.
pub fn markdown(s: &str) -> String {
    let mut out = String::new();
    for ch in one_line(s).chars() {
        if matches!(
            ch,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '&' | '~'
        ) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// At most `max` characters, with `…` when cut.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// `Name="text"` (JSON-quoted, so control characters show) or `Name=literal` for a
/// raw JSON value; secret-bearing parameters show `<redacted>`.
pub fn param(p: &RawParam) -> String {
    if redact::is_secret_param(&p.name) {
        return format!("{}={}", p.name, redact::REDACTED);
    }
    match &p.value {
        RawValue::Text(s) => format!(
            "{}={}",
            p.name,
            serde_json::to_string(s).unwrap_or_else(|_| s.clone())
        ),
        RawValue::Json(s) => format!("{}={s}", p.name),
    }
}

/// Parameters as `Name="value"` (JSON literals as they are), comma-separated.
pub fn params(ps: &[RawParam]) -> String {
    if ps.is_empty() {
        "(no parameters)".to_string()
    } else {
        ps.iter().map(param).collect::<Vec<_>>().join(", ")
    }
}

/// The serde name of an auth mode (`valid`, `bad-signature`…).
pub fn auth(a: Auth) -> String {
    match serde_json::to_value(a) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{a:?}"),
    }
}

/// One acceptable outcome in one line: what, under which readings, how strong, which rule.
pub fn expected(a: &Acceptable) -> String {
    let what = match &a.expected {
        Expected::Error {
            code,
            likely,
            status,
            message,
        } => {
            let mut s = match (code, likely) {
                (Some(c), _) => format!("error {c} ({status})"),
                (None, Some(l)) => format!("error with any code ({status}; likely {l})"),
                (None, None) => format!("error with any code ({status})"),
            };
            if let Some(m) = message {
                s.push_str(&format!(
                    " {}",
                    serde_json::to_string(&one_line(m)).unwrap_or_default()
                ));
            }
            s
        }
        Expected::Success {
            options,
            states,
            targets_instance,
            ..
        } => {
            let mut s = "success".to_string();
            if !targets_instance {
                s.push_str(" (names no instance of ours)");
            } else if !options.is_empty() {
                let opts: Vec<String> = options.iter().map(|(k, v)| format!("{k}={v}")).collect();
                s.push_str(&format!(" with {{{}}}", opts.join(", ")));
            }
            if !states.is_empty() {
                s.push_str(&format!(", state one of [{}]", states.join(", ")));
            }
            s
        }
    };
    let mut out = what;
    if !a.readings.is_empty() {
        let r: Vec<String> = a.readings.iter().map(|r| r.to_string()).collect();
        out.push_str(&format!(" under {}", r.join(" & ")));
    }
    out.push_str(&format!(" [{}] ({})", a.strength, a.rule));
    out
}

/// What came back, in one line.
pub fn actual(a: &Actual) -> String {
    match a {
        Actual::Outcome {
            outcome:
                Outcome::Success {
                    status,
                    request_id,
                    body,
                },
        } => {
            let mut s = format!("success ({status})");
            if let Some(id) = request_id {
                s.push_str(&format!(", request {id}"));
            }
            s.push_str(&format!(": {}", cut(&body.to_string(), 300)));
            s
        }
        Actual::Outcome {
            outcome:
                Outcome::Error {
                    status,
                    code,
                    message,
                    request_id,
                },
        } => {
            let mut s = format!("error {code} ({status}): {}", cut(&one_line(message), 300));
            if let Some(id) = request_id {
                s.push_str(&format!(" [request {id}]"));
            }
            s
        }
        Actual::Undecodable { status, reason } => {
            format!(
                "undecodable answer ({status}): {}",
                cut(&one_line(reason), 300)
            )
        }
        Actual::Unjudgeable { reason } => format!("unjudgeable: {}", one_line(reason)),
    }
}

/// The reason of a fail or error verdict.
pub fn reason(v: &Verdict) -> Option<&str> {
    match v {
        Verdict::Fail { reason } | Verdict::Error { reason } => Some(reason),
        _ => None,
    }
}

/// Is the verdict `fail` or `error`?
pub fn is_failure(v: &Verdict) -> bool {
    matches!(v, Verdict::Fail { .. } | Verdict::Error { .. })
}

/// The cases of one rule of one API.
pub struct RuleGroup<'a> {
    /// The API id.
    pub api: &'a str,
    /// The rule.
    pub rule: &'a str,
    /// Indices into the report's `cases`, in order.
    pub indices: Vec<usize>,
    /// Counts by verdict over the group.
    pub summary: Summary,
}

/// Cases grouped by (api, rule), groups in order of first appearance.
pub fn by_rule(cases: &[CaseResult]) -> Vec<RuleGroup<'_>> {
    let mut groups: Vec<RuleGroup<'_>> = Vec::new();
    for (index, c) in cases.iter().enumerate() {
        let i = match groups
            .iter()
            .position(|g| g.api == c.api && g.rule == c.rule)
        {
            Some(i) => i,
            None => {
                groups.push(RuleGroup {
                    api: &c.api,
                    rule: &c.rule,
                    indices: Vec::new(),
                    summary: Summary::default(),
                });
                groups.len() - 1
            }
        };
        groups[i].indices.push(index);
        groups[i].summary.add(&c.verdict);
    }
    groups
}

/// A report's verdict: its summary's, and `INCOMPLETE` when the run stopped
/// early (a partial run that found nothing has not shown the target conforms).
pub fn report_verdict(r: &super::RunReport) -> String {
    verdict_of(&r.summary, r.incomplete.is_some())
}

/// The verdict of a summary, of a run that stopped early when `incomplete`.
pub fn verdict_of(s: &Summary, incomplete: bool) -> String {
    match (incomplete, s.conforms() || s.total == 0) {
        (false, _) => verdict_word(s),
        (true, true) => "INCOMPLETE".to_string(),
        (true, false) => format!("{}, INCOMPLETE", verdict_word(s)),
    }
}

/// `N FAILURES`-style verdict for a summary.
pub fn verdict_word(s: &Summary) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = Vec::new();
    if s.fail > 0 {
        // Departures are the causes; without them (a hand-built summary) the cases.
        parts.push(if s.departures > 0 {
            plural(s.departures, "DEPARTURE", "DEPARTURES")
        } else {
            plural(s.fail, "FAILURE", "FAILURES")
        });
    }
    if s.inconsistent_readings > 0 {
        parts.push(plural(
            s.inconsistent_readings,
            "INCONSISTENT READING",
            "INCONSISTENT READINGS",
        ));
    }
    if s.error > 0 {
        parts.push(plural(s.error, "ERROR", "ERRORS"));
    }
    if parts.is_empty() && s.total == 0 {
        "NO CASES".to_string()
    } else if parts.is_empty() {
        "CONFORMS".to_string()
    } else {
        parts.join(", ")
    }
}
