//! The plain evaluation the optimized [`expect`](super::expect) and
//! [`Oracle`](super::Oracle) are tested against (`tests/oracle_props.rs`): every
//! combination of the touched ambiguities' readings applied in full to the table,
//! and the call evaluated anew under each, with nothing shared and nothing
//! remembered. Slow on purpose; not for use outside tests.

use super::effective::{self, Effective};
use super::plan::reading_combinations;
use super::{evaluate, Acceptable, Auth, Expectation, ReadingLabel, World};
use crate::spec::Spec;
use crate::wire::Call;

#[doc(hidden)]
pub fn expect(spec: &Spec, world: &World, call: &Call, auth: Auth) -> Expectation {
    if let Some(condition) = auth.condition() {
        return Expectation {
            outcomes: evaluate::condition_errors(
                spec,
                condition,
                &super::auth_rule(condition),
                world,
            ),
            ambiguities: Vec::new(),
        };
    }
    let mut touched = effective::touched_by_params(spec, call);
    let mut outcomes = evaluate_all(spec, world, call, &touched);
    let more = effective::touched_by_outcomes(spec, &touched, outcomes.iter());
    if !more.is_empty() {
        touched.extend(more);
        touched.sort_unstable();
        outcomes = evaluate_all(spec, world, call, &touched);
    }
    Expectation {
        outcomes,
        ambiguities: touched
            .iter()
            .map(|i| spec.ambiguities[*i].get_ref().id.clone())
            .collect(),
    }
}

fn evaluate_all(spec: &Spec, world: &World, call: &Call, touched: &[usize]) -> Vec<Acceptable> {
    let mut out: Vec<Acceptable> = Vec::new();
    for combo in reading_combinations(spec, touched) {
        let mut eff = Effective::base(spec);
        let mut labels = Vec::new();
        let mut cites = Vec::new();
        for (amb_index, reading_index) in &combo {
            let amb = spec.ambiguities[*amb_index].get_ref();
            let reading = &amb.readings[*reading_index];
            eff.apply(&reading.set);
            labels.push(ReadingLabel {
                ambiguity: amb.id.clone(),
                reading: reading.id.clone(),
            });
            cites.extend(reading.cite.iter().cloned());
        }
        for raw in evaluate::evaluate(spec, &eff, world, call) {
            let mut acceptable = raw.acceptable;
            evaluate::open_codes(&mut acceptable, |c| {
                eff.answering.inexact_errors.contains(c)
            });
            acceptable.readings = labels.clone();
            acceptable.cite.extend(cites.iter().cloned());
            if !out.contains(&acceptable) {
                out.push(acceptable);
            }
        }
    }
    out
}
