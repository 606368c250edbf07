//! The random phase: cases drawn from the spec's proptest strategy with a seeded
//! RNG; a failing case is shrunk with proptest's value tree (each step sent to the
//! target and judged), and the minimal case is sent once more and re-judged before
//! it is reported.
#![warn(missing_docs)]

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tokio::sync::mpsc::UnboundedSender;

use super::{execute, finished, set_options, Event, RunConfig, RunError, Worker};
use crate::generate::{random, Case, Check, Phase};
use crate::target::Signing;
use crate::verdict::{CaseResult, Verdict};

/// The most shrink steps (each is one request) spent on one failure.
const MAX_SHRINK_STEPS: usize = 200;

/// The RNG for a seed: the same seed draws the same cases.
pub fn rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(
            &seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(i as u64)
                .to_le_bytes(),
        );
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

fn case(seq: usize, call: crate::wire::Call, title: &str) -> Case {
    Case {
        seq,
        phase: Phase::Random,
        rule: super::RANDOM_RULE.into(),
        title: title.into(),
        call,
        signing: Signing::Valid,
        check: Check::Single,
    }
}

/// A worker's random phase: `cfg.random_cases` calls drawn with `seed`, numbered
/// from `first` on.
pub async fn random_phase(
    cfg: &RunConfig,
    w: &mut Worker,
    (seed, first): (u64, usize),
    events: &UnboundedSender<Event>,
    results: &mut Vec<CaseResult>,
) -> Result<(), RunError> {
    let strategy = random::calls(&cfg.spec, &w.subject);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng(seed));
    for seq in first..first + cfg.random_cases as usize {
        if super::cancelled(cfg) {
            break;
        }
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            break;
        };
        match judge_drawn(cfg, w, seq, tree).await {
            Ok(r) => finished(cfg, events, results, r, &w.shared),
            Err(stopped) => {
                // A failure found before the error is still a departure.
                if let Some(r) = stopped.failure {
                    finished(cfg, events, results, r, &w.shared);
                }
                return Err(stopped.error);
            }
        }
    }
    Ok(())
}

/// The `index`-th call (1-based) the random phase draws for `seed` against this
/// worker's instance, as a value tree that can still shrink.
pub(super) fn draw(
    cfg: &RunConfig,
    w: &Worker,
    seed: u64,
    index: usize,
) -> Option<impl ValueTree<Value = crate::wire::Call>> {
    let strategy = random::calls(&cfg.spec, &w.subject);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng(seed));
    let mut tree = None;
    for _ in 0..index {
        tree = Some(strategy.new_tree(&mut runner).ok()?);
    }
    tree
}

/// An error that stopped a drawn case, and the failure it had already shown (the
/// error came while shrinking it), as first sent.
pub(super) struct Stopped {
    pub error: RunError,
    pub failure: Option<CaseResult>,
}

/// Send one drawn call and judge it; a failure is shrunk (each step from the
/// state the failing case met) and the minimal case is sent once more. When that
/// send does not fail the same way, the failure is reported as first sent, with a
/// note.
pub(super) async fn judge_drawn(
    cfg: &RunConfig,
    w: &mut Worker,
    seq: usize,
    tree: impl ValueTree<Value = crate::wire::Call>,
) -> Result<CaseResult, Stopped> {
    // The failure may depend on the instance's state: every shrink step and the
    // final re-judgement start from the state the failing case met, read again
    // first if the last read-back failed (`execute` would, after `before` is taken).
    let _unknown = super::refresh(cfg, w).await;
    let before = w.world.instance.options.clone();
    let first = execute(cfg, w, &case(seq, tree.current(), "random call"))
        .await
        .map_err(|error| Stopped {
            error,
            failure: None,
        })?;
    if !matches!(first.verdict, Verdict::Fail { .. }) {
        return Ok(first);
    }
    let mut first = first;
    match shrink(cfg, w, seq, tree, &mut first, &before).await {
        Ok(Some(shrunk)) => Ok(shrunk),
        Ok(None) => Ok(first),
        Err(error) => {
            // Pushed after the case was redacted: the error may quote the target.
            first.notes.push(crate::verdict::redact::text(&format!(
                "not shrunk: the run stopped while shrinking it ({error})"
            )));
            Err(Stopped {
                error,
                failure: Some(first),
            })
        }
    }
}

/// The departures a case shows, by their keys. A failure without findings is
/// keyed by its reason, as departures group it: never "any failure".
fn departure_keys(case: &CaseResult) -> Vec<String> {
    crate::verdict::departure::findings_of(case)
        .iter()
        .map(|f| f.key())
        .collect()
}

/// Does `attempt` fail as a case showing the departures `keys` did: a failure
/// showing every one of them (a case that shows two causes does not shrink into
/// showing one of them)?
fn fails_as(keys: &[String], attempt: &CaseResult) -> bool {
    let shown = departure_keys(attempt);
    matches!(attempt.verdict, Verdict::Fail { .. }) && keys.iter().all(|k| shown.contains(k))
}

/// Shrink the failing case `first` drawn from `tree`: its minimal form, failing
/// the same way when sent again, or `None` when it does not (then `first` gets a
/// note, and is what is reported).
async fn shrink(
    cfg: &RunConfig,
    w: &mut Worker,
    seq: usize,
    mut tree: impl ValueTree<Value = crate::wire::Call>,
    first: &mut CaseResult,
    before: &crate::oracle::Options,
) -> Result<Option<CaseResult>, RunError> {
    // Shrink: simplify while it still fails the same way, complicate back when it
    // does not.
    let keys = departure_keys(first);
    let same_failure = |r: &CaseResult| fails_as(&keys, r);
    let original = tree.current();
    let mut minimal = original.clone();
    let mut steps = 0;
    let mut last_failed = true;
    while steps < MAX_SHRINK_STEPS && !super::cancelled(cfg) {
        let moved = if last_failed {
            tree.simplify()
        } else {
            tree.complicate()
        };
        if !moved {
            break;
        }
        steps += 1;
        set_options(cfg, w, before).await?;
        let attempt = execute(cfg, w, &case(seq, tree.current(), "shrink step")).await?;
        last_failed = same_failure(&attempt);
        if last_failed {
            minimal = tree.current();
        }
    }
    // Re-judge the minimal case on a fresh send before reporting it.
    set_options(cfg, w, before).await?;
    let mut shrunk = execute(cfg, w, &case(seq, minimal.clone(), "random call, shrunk")).await?;
    shrunk.notes.push(format!(
        "shrunk in {steps} steps from {} to {} parameters; original: {}",
        original.params.len(),
        minimal.params.len(),
        serde_json::to_string(&super::redacted_params(&original.params)).unwrap_or_default()
    ));
    if !same_failure(&shrunk) {
        // The target departed once: that is what is reported, as first sent. A pass
        // here would hide a flaky departure, another failure would swap it for
        // another one.
        let how = match &shrunk.verdict {
            Verdict::Fail { reason } => format!("failed otherwise ({reason})"),
            Verdict::Error { reason } => format!("error ({reason})"),
            v => v.name().to_string(),
        };
        first.notes.push(format!(
            "not reproducible: the shrunk case ({} parameters, after {steps} steps) {how} when \
             sent again; this is the case as first sent",
            minimal.params.len(),
        ));
        return Ok(None);
    }
    Ok(Some(shrunk))
}

#[cfg(test)]
mod tests {
    use super::{departure_keys, fails_as};
    use crate::verdict::CaseResult;

    /// A failing case with findings on `fields` (read-back, each its rule).
    fn failing(fields: &[&str]) -> CaseResult {
        let findings: Vec<serde_json::Value> = fields
            .iter()
            .map(|f| {
                serde_json::json!({
                    "kind": "readback", "rule": format!("{f}.rule"), "expected": "kept",
                    "got": "changed", "field": f, "detail": format!("{f} differs"), "cite": [],
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "id": "api/random/0001", "api": "api", "phase": "random", "rule": "r",
            "title": "t", "operation": "Modify", "request": [], "auth": "valid",
            "expected": [], "ambiguities": [],
            "actual": {"kind": "unjudgeable", "reason": "x"},
            "verdict": {"verdict": "fail", "reason": "differs"},
            "findings": findings,
            "citation": [], "notes": [], "duration_ms": 1.0, "exchanges": [],
        }))
        .expect("a case")
    }

    /// Shrinking keeps every departure the case showed: losing one is failing
    /// otherwise; showing one more is still the same failure.
    #[test]
    fn a_case_showing_two_departures_shrinks_only_into_one_showing_both() {
        let first = departure_keys(&failing(&["hop_limit", "http_endpoint"]));
        assert!(fails_as(&first, &failing(&["hop_limit", "http_endpoint"])));
        assert!(fails_as(
            &first,
            &failing(&["http_endpoint", "hop_limit", "x"])
        ));
        assert!(!fails_as(&first, &failing(&["http_endpoint"])));
        assert!(!fails_as(&first, &failing(&["hop_limit"])));
        let mut passed = failing(&["hop_limit", "http_endpoint"]);
        passed.verdict = crate::verdict::Verdict::Pass;
        assert!(!fails_as(&first, &passed));
    }
}
