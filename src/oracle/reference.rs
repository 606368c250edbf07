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
    let combos = reading_combinations(spec, touched);
    // Whether a reading matters to an outcome is a fact of the call, not of the
    // instance's options: told on an instance with none.
    let bare = World {
        instance: super::Instance {
            options: Default::default(),
            ..world.instance.clone()
        },
        ..world.clone()
    };
    let under = |combo: &[(usize, usize)], w: &World| -> Vec<Acceptable> {
        let mut eff = Effective::base(spec);
        for (amb_index, reading_index) in combo {
            eff.apply(&spec.ambiguities[*amb_index].get_ref().readings[*reading_index].set);
        }
        evaluate::evaluate(spec, &eff, w, call)
            .into_iter()
            .map(|raw| {
                let mut a = raw.acceptable;
                evaluate::open_codes(&mut a, |c| eff.answering.inexact_errors.contains(c));
                a
            })
            .collect()
    };
    let plain: Vec<Vec<Acceptable>> = combos.iter().map(|c| under(c, &bare)).collect();
    let mut out: Vec<Acceptable> = Vec::new();
    for (i, combo) in combos.iter().enumerate() {
        for (j, mut acceptable) in under(combo, world).into_iter().enumerate() {
            let mut cites = Vec::new();
            for (k, (amb_index, reading_index)) in combo.iter().enumerate() {
                // The combinations reading this ambiguity otherwise and the rest alike.
                let siblings: Vec<usize> = (0..combos.len())
                    .filter(|&g| {
                        combos[g][k].1 != *reading_index
                            && (0..combo.len()).all(|m| m == k || combos[g][m] == combo[m])
                    })
                    .collect();
                let o = &plain[i][j];
                let elsewhere = |g: usize| {
                    plain[g].iter().any(|p| {
                        p.rule == o.rule && p.expected == o.expected && p.strength == o.strength
                    })
                };
                if siblings.is_empty() || !siblings.into_iter().all(elsewhere) {
                    let reading = &spec.ambiguities[*amb_index].get_ref().readings[*reading_index];
                    cites.extend(reading.cite.iter().cloned());
                }
            }
            acceptable.readings = combo
                .iter()
                .map(|(a, r)| {
                    let amb = spec.ambiguities[*a].get_ref();
                    ReadingLabel {
                        ambiguity: amb.id.clone(),
                        reading: amb.readings[*r].id.clone(),
                    }
                })
                .collect();
            acceptable.cite.extend(cites);
            if !out.contains(&acceptable) {
                out.push(acceptable);
            }
        }
    }
    out
}
