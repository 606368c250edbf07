//! Departures: failing cases grouped by cause.
//!
//! Many failing cases usually share a few causes. Cases whose findings have the
//! same key (rule, kind, normalized expectation and answer, field; see
//! [`Finding::key`]) are one departure; a case can show several. A refused valid
//! call is grouped by its answer alone, and its rule is named after what the cases
//! have in common: a parameter every one of them omits and no call the target took
//! lacks (`500 when HttpPutResponseHopLimit is omitted`), else a value every one
//! sends and no call the target took does (`400 InvalidParameterValue when
//! HttpEndpoint = "disabled"`). Each departure keeps as its reproducer the
//! smallest case that shows it alone (failing that, the smallest).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::finding::{Finding, FindingKind};
use super::{Actual, CaseResult, Verdict};

/// One distinct way a target departs from the docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Departure {
    /// `aws-ec2/D01`: stable for the same set of findings.
    pub id: String,
    pub api: String,
    /// One line a person understands.
    pub title: String,
    pub kind: FindingKind,
    /// The rule broken, and its citations.
    pub rule: String,
    pub cite: Vec<String>,
    pub expected: String,
    pub got: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// How many cases show it, and which (in run order).
    pub count: usize,
    pub cases: Vec<String>,
    /// Its reproducer: the smallest case that shows it alone (failing that, the
    /// smallest that shows it).
    pub reproducer: String,
    /// Its title and difference in words.
    pub example: String,
    /// The ambiguities its cases touch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readings: Vec<String>,
    /// A fingerprint of the grouping key, for baselines: the same departure has the
    /// same fingerprint in another run.
    pub fingerprint: String,
}

/// The findings of a case; a failure recorded without any (a hand-built report,
/// an older version) gets one from its reason.
pub fn findings_of(case: &CaseResult) -> Vec<Finding> {
    match &case.verdict {
        Verdict::Fail { reason } if case.findings.is_empty() => {
            vec![Finding::other(&case.rule, reason, case.citation.clone())]
        }
        Verdict::Fail { .. } => case.findings.clone(),
        _ => Vec::new(),
    }
}

/// The size of a case, for picking the smallest reproducer: parameters, then bytes.
fn size(case: &CaseResult) -> (usize, usize, String) {
    let bytes = case
        .request
        .iter()
        .map(|p| p.name.len() + format!("{:?}", p.value).len())
        .sum();
    (case.request.len(), bytes, case.id.clone())
}

/// Group the failing cases of one run into departures, largest first.
pub fn departures(cases: &[CaseResult]) -> Vec<Departure> {
    let findings = attributed(cases);
    // key → (first finding, case indices, the fields the findings name)
    let mut groups: Vec<(String, Finding, Vec<usize>, Vec<String>)> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        for f in findings[i].iter().cloned() {
            let key = group_key(case, &f);
            let g = match index.get(&key) {
                Some(&g) => g,
                None => {
                    index.insert(key.clone(), groups.len());
                    groups.push((key, f.clone(), Vec::new(), Vec::new()));
                    groups.len() - 1
                }
            };
            if !groups[g].2.contains(&i) {
                groups[g].2.push(i);
            }
            if let Some(field) = f.field {
                if !groups[g].3.contains(&field) {
                    groups[g].3.push(field);
                }
            }
        }
    }
    let mut out: Vec<Departure> = groups
        .into_iter()
        .map(|(key, mut f, members, fields)| {
            if !fields.is_empty() {
                f.field = Some(fields.join(", "));
            }
            build(cases, &findings, &key, f, &members)
        })
        .collect();
    out.sort_by(|a, b| {
        (
            a.api.as_str(),
            std::cmp::Reverse(a.count),
            a.fingerprint.as_str(),
        )
            .cmp(&(
                b.api.as_str(),
                std::cmp::Reverse(b.count),
                b.fingerprint.as_str(),
            ))
    });
    let mut per_api: BTreeMap<String, usize> = BTreeMap::new();
    for d in &mut out {
        let n = per_api.entry(d.api.clone()).or_default();
        *n += 1;
        d.id = format!("{}/D{:02}", d.api, n);
    }
    out
}

/// Each case's findings, where a wrong error could be any of several refusals due
/// (a call with two bad values answered 500) named by the one other cases show
/// that answer under alone: a target failing one bad value's check with a 500 is
/// one departure, not a second one for each call that also has another bad value.
fn attributed(cases: &[CaseResult]) -> Vec<Vec<Finding>> {
    let all: Vec<Vec<Finding>> = cases.iter().map(findings_of).collect();
    let refusals = |c: &CaseResult| -> Vec<String> {
        super::unique(
            c.expected
                .iter()
                .filter(|a| matches!(a.expected, crate::oracle::Expected::Error { .. }))
                .map(|a| a.rule.clone()),
        )
    };
    let shown_alone: std::collections::BTreeSet<(String, String, String)> = cases
        .iter()
        .zip(&all)
        .filter(|(c, _)| refusals(c).len() == 1)
        .flat_map(|(c, fs)| {
            fs.iter()
                .filter(|f| f.kind == FindingKind::WrongError)
                .map(|f| (c.api.clone(), f.rule.clone(), f.got.clone()))
        })
        .collect();
    let alone = |api: &str, rule: &str, got: &str| {
        shown_alone.contains(&(api.to_string(), rule.to_string(), got.to_string()))
    };
    cases
        .iter()
        .zip(all)
        .map(|(c, mut fs)| {
            let due = refusals(c);
            if due.len() < 2 {
                return fs;
            }
            for f in fs.iter_mut().filter(|f| f.kind == FindingKind::WrongError) {
                if alone(&c.api, &f.rule, &f.got) {
                    continue;
                }
                let Some(r) = due.iter().find(|r| alone(&c.api, r, &f.got)) else {
                    continue;
                };
                f.cite = super::unique(
                    c.expected
                        .iter()
                        .filter(|a| &a.rule == r)
                        .flat_map(|a| a.cite.iter().map(|c| c.short())),
                );
                f.rule = r.clone();
            }
            fs
        })
        .collect()
}

fn build(
    cases: &[CaseResult],
    findings: &[Vec<Finding>],
    key: &str,
    mut f: Finding,
    members: &[usize],
) -> Departure {
    let group: Vec<&CaseResult> = members.iter().map(|i| &cases[*i]).collect();
    let smallest = reproducer(cases, findings, members, key);
    let mut readings: Vec<String> = group
        .iter()
        .flat_map(|c| c.ambiguities.iter().cloned())
        .collect();
    readings.sort();
    readings.dedup();
    let api = group[0].api.clone();
    let mut when = String::new();
    if f.kind == FindingKind::RefusedValid {
        if let Some((p, emptied)) = common_omission(cases, &group) {
            f.rule = format!("{p}.absent");
            let or_empty = if emptied { " or empty" } else { "" };
            when = format!(" when {p} is omitted{or_empty}");
            if let Some(c) = group.iter().find(|c| !c.citation.is_empty()) {
                f.cite = c.citation.clone();
            }
        } else {
            if let Some((p, v)) = common_value(cases, &group) {
                when = format!(" when {p} = {v:?}");
            }
            if !group.iter().all(|c| c.rule == group[0].rule) {
                f.rule = "valid calls succeed".into();
            }
        }
    }
    // The reproducer's own finding of this departure (failing that, one of its
    // kind): a case may show two of a kind (a value not kept, an omitted option
    // not kept).
    let mine = &findings[smallest];
    let smallest = &cases[smallest];
    let detail = mine
        .iter()
        .find(|g| g.key() == f.key())
        .or_else(|| mine.iter().find(|g| g.kind == f.kind))
        .map(|g| g.detail.clone())
        .unwrap_or_else(|| f.detail.clone());
    let title = title(&f, &when, group.len(), &smallest.title);
    Departure {
        id: String::new(),
        api,
        title,
        kind: f.kind,
        rule: f.rule,
        cite: f.cite,
        expected: f.expected,
        got: f.got,
        field: f.field,
        count: group.len(),
        cases: group.iter().map(|c| c.id.clone()).collect(),
        reproducer: smallest.id.clone(),
        example: format!("{}: {detail}", smallest.title),
        readings,
        fingerprint: fingerprint(key),
    }
}

/// What groups a case's finding with others into one departure: its API and its
/// [`Finding::key`].
fn group_key(case: &CaseResult, f: &Finding) -> String {
    format!("{}|{}", case.api, f.key())
}

/// The case a departure is shown by: the smallest that shows it alone (a case that
/// also shows another departure would send its reader after two things at once;
/// an unsigned call that is accepted shows that before anything its read-back
/// lacks), and the smallest of all when every case shows something else too.
fn reproducer(
    cases: &[CaseResult],
    findings: &[Vec<Finding>],
    group: &[usize],
    key: &str,
) -> usize {
    let alone = |i: &&usize| {
        findings[**i]
            .iter()
            .all(|g| group_key(&cases[**i], g) == key)
    };
    group
        .iter()
        .filter(alone)
        .min_by_key(|i| size(&cases[**i]))
        .or_else(|| group.iter().min_by_key(|i| size(&cases[**i])))
        .copied()
        .unwrap_or(group[0])
}

/// A parameter that every case of the group omits while other failing cases of the
/// API send it: of several, the one the other cases send most often (the likeliest
/// cause; a rarely sent one such as a DryRun flag is omitted by chance).
fn common_omission(all: &[CaseResult], group: &[&CaseResult]) -> Option<(String, bool)> {
    if group.len() < 2 {
        return None;
    }
    let api = &group[0].api;
    let mut sent: BTreeMap<&str, usize> = BTreeMap::new();
    for c in all.iter().filter(|c| &c.api == api) {
        let mut names: Vec<&str> = c.request.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for n in names {
            *sent.entry(n).or_default() += 1;
        }
    }
    // An empty value counts as omitted: a target that reads `X=` as "no X" fails both
    // the same way, and a parameter only a handful of probes send (an unknown name)
    // loses to the documented one every other case sends.
    let carries = |c: &CaseResult, n: &str| {
        c.request
            .iter()
            .any(|p| p.name == n && !p.value.as_query_text().is_empty())
    };
    // A call the target took without the parameter shows its omission is not
    // what it refuses (a target refusing HttpEndpoint = disabled, in calls that
    // all happen to leave the hop limit out, is not refusing an omitted hop limit).
    let taken = taken(all, api);
    if taken.is_empty() {
        // A target that takes nothing refuses every call: no omission is the cause.
        return None;
    }
    let (name, _) = sent
        .into_iter()
        .filter(|(n, _)| group.iter().all(|c| !carries(c, n)))
        .filter(|(n, _)| taken.iter().all(|c| carries(c, n)))
        .max_by_key(|(n, count)| (*count, std::cmp::Reverse(*n)))?;
    let emptied = group
        .iter()
        .any(|c| c.request.iter().any(|p| p.name == name));
    Some((name.to_string(), emptied))
}

/// The cases of `api` the target answered with a success: the calls it takes.
fn taken<'a>(all: &'a [CaseResult], api: &str) -> Vec<&'a CaseResult> {
    all.iter()
        .filter(|c| c.api == api)
        .filter(|c| {
            matches!(&c.actual, Actual::Outcome { outcome } if matches!(outcome, crate::wire::Outcome::Success { .. }))
        })
        .collect()
}

/// A parameter value every case of `group` sends and no call the target took
/// does (a valid value it refuses), first in the first case's order.
fn common_value(all: &[CaseResult], group: &[&CaseResult]) -> Option<(String, String)> {
    if group.len() < 2 {
        return None;
    }
    // Nothing taken tells nothing: every parameter the group sends would qualify,
    // the instance's id first.
    let taken = taken(all, &group[0].api);
    if taken.is_empty() {
        return None;
    }
    let sends = |c: &CaseResult, n: &str, v: &str| {
        c.request
            .iter()
            .any(|p| p.name == n && p.value.as_query_text() == v)
    };
    group[0]
        .request
        .iter()
        .map(|p| (p.name.as_str(), p.value.as_query_text()))
        .find(|(n, v)| {
            group.iter().all(|c| sends(c, n, v)) && !taken.iter().any(|c| sends(c, n, v))
        })
        .map(|(n, v)| (n.to_string(), v.to_string()))
}

fn title(f: &Finding, when: &str, count: usize, example: &str) -> String {
    let field = f.field.as_deref().unwrap_or("a field");
    let head = match f.kind {
        FindingKind::AcceptedInvalid => format!(
            "{}: accepted ({}) where the docs say {}",
            f.rule, f.got, f.expected
        ),
        FindingKind::RefusedValid => {
            format!("{}{when} where the docs say success ({})", f.got, f.rule)
        }
        FindingKind::WrongError => {
            format!("{}: {} where the docs say {}", f.rule, f.got, f.expected)
        }
        FindingKind::NotProtocol => format!("answers with {} instead of {}", f.got, f.expected),
        FindingKind::Answer if f.got == "missing" => format!("the answer lacks {field}"),
        FindingKind::Answer if f.rule == "state_machine.on_modify" => format!(
            "the answer's {field} is {} where the docs say {}",
            f.got, f.expected
        ),
        FindingKind::Answer => format!("the answer's {field}: not {}", f.expected),
        FindingKind::Readback if f.got == "missing" => format!("the read-back lacks {field}"),
        FindingKind::Readback => format!(
            "{}: the read-back's {field} shows {} where the docs say {}",
            f.rule, f.got, f.expected
        ),
        FindingKind::NeverSettles => format!(
            "the change never settles: stays {} where the docs say {}",
            f.got, f.expected
        ),
        FindingKind::Other => format!("{}: {}", f.rule, f.got),
    };
    if count > 1 {
        format!("{head} — {count} cases, e.g. {example}")
    } else {
        format!("{head} — {example}")
    }
}

/// FNV-1a of the key, as 16 hex digits: short, stable across runs and builds.
pub fn fingerprint(key: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// True when the case was judged on an answer that is not the protocol's.
pub fn undecodable(case: &CaseResult) -> bool {
    matches!(case.actual, Actual::Undecodable { .. })
}
