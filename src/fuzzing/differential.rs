//! The differential target: a [`Scenario`] against the in-process emulator, every
//! answer judged against the oracle and followed by a read-back, as the runner
//! does. A disagreement is a [`Finding`].

use std::time::Duration;

use serde::Serialize;

use super::framing::response_to_bytes;
use super::harness::Run;
use super::scenario::{Op, Scenario, MAX_OPS};
use super::APIS;
use crate::oracle::{self, Expectation};
use crate::runner::{readback_agrees, FieldRule};
use crate::target::Signing;
use crate::verdict;
use crate::wire::{client, Call, Outcome};

/// A disagreement between the emulator and the oracle (or an answer that cannot
/// be judged). Its `Display` gives everything needed for a regression test.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub reason: String,
    pub api: String,
    pub instance: String,
    /// Index of the op in `scenario.ops`.
    pub step: usize,
    pub scenario: Scenario,
    pub call: Option<Call>,
    pub signing: Signing,
    pub options_before: oracle::Options,
    pub expectation: Option<Expectation>,
    pub answer: Option<String>,
    pub outcome: Option<Outcome>,
    pub readback: Option<oracle::Options>,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "differential finding on {} {} at op {}: {}",
            self.api, self.instance, self.step, self.reason
        )?;
        let mut scenario = self.scenario.clone();
        scenario.ops.truncate(self.step + 1);
        writeln!(
            f,
            "scenario (JSON, for tests/fuzz_regressions.rs): {}",
            serde_json::to_string(&scenario).unwrap_or_default()
        )?;
        writeln!(
            f,
            "{}",
            serde_json::to_string_pretty(self).unwrap_or_default()
        )
    }
}

fn signing_of(b: u8) -> Signing {
    if b < 200 {
        return Signing::Valid;
    }
    match (b - 200) % 5 {
        0 => Signing::Unsigned,
        1 => Signing::CorruptSignature,
        2 => Signing::WrongSecret,
        3 => Signing::UnknownKey,
        _ => Signing::Expired,
    }
}

/// Run `scenario` against a fresh emulator, judging every answer against the
/// oracle and reading the instance back after each call.
pub fn differential(scenario: &Scenario) -> Result<(), Box<Finding>> {
    let api = APIS[scenario.api as usize % APIS.len()];
    let Some(mut run) = Run::new(api, scenario.instance) else {
        return Ok(());
    };
    let finding = |run: &Run, step: usize, reason: String| {
        Box::new(Finding {
            reason,
            api: api.to_string(),
            instance: run.world.instance.id.clone(),
            step,
            scenario: scenario.clone(),
            call: None,
            signing: Signing::Valid,
            options_before: run.world.instance.options.clone(),
            expectation: None,
            answer: None,
            outcome: None,
            readback: None,
        })
    };
    let first = run
        .read_back()
        .map_err(|r| finding(&run, 0, format!("initial read-back: {r}")))?;
    run.world.instance.options = first.options;
    if let Some(s) = first.run_state {
        run.world.instance.state = s;
    }
    let field_names: Vec<String> = run.spec.readback.fields.keys().cloned().collect();
    let fields: Vec<&String> = field_names.iter().collect();
    for (step, op) in scenario.ops.iter().enumerate().take(MAX_OPS) {
        let (bare, edits, signing) = match op {
            Op::Wait { seconds } => {
                run.now += Duration::from_secs(u64::from(*seconds));
                continue;
            }
            Op::Modify {
                bare,
                edits,
                signing,
            } => (*bare, edits, signing_of(*signing)),
        };
        let call = run.call(bare, edits);
        if run.names_other_instance(&call) {
            continue;
        }
        let expectation = oracle::expect(&run.spec, &run.world, &call, signing.auth());
        // Calls the client cannot encode (names a protocol cannot carry) are not
        // the emulator's business.
        let Ok(resp) = run.send(&call, signing) else {
            continue;
        };
        let mut f = finding(&run, step, String::new());
        f.call = Some(call.clone());
        f.signing = signing;
        f.expectation = Some(expectation.clone());
        f.answer = Some(String::from_utf8_lossy(&response_to_bytes(&resp)).into_owned());
        let outcome = match client::decode(run.spec.api.protocol, &resp) {
            Ok(o) => o,
            Err(e) => {
                f.reason = format!("the emulator's answer does not decode: {e}");
                return Err(f);
            }
        };
        f.outcome = Some(outcome.clone());
        let before = run.world.instance.options.clone();
        let observed = match run.read_back() {
            Ok(o) => o,
            Err(r) => {
                f.reason = format!("read-back after the call: {r}");
                return Err(f);
            }
        };
        f.readback = Some(observed.options.clone());
        let instance = run.world.instance.id.clone();
        let verdict = verdict::judge_with(&run.spec, &expectation, &outcome, &instance, |a| {
            // Only whether it agrees counts here, not which rule names a finding.
            readback_agrees(a, &before, &observed.options, &fields, |_| {
                FieldRule::Unknown
            })
        });
        if !verdict.is_pass() {
            f.reason = format!("{verdict:?}");
            return Err(f);
        }
        run.world.instance.options = observed.options;
        if let Some(s) = observed.run_state {
            run.world.instance.state = s;
        }
        run.now += Duration::from_secs(1);
    }
    Ok(())
}
