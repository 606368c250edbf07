//! The part of an expectation that does not depend on the instance's current
//! options, and how it becomes the expectation for given options.
//!
//! A call is judged under every combination of the touched ambiguities' readings,
//! but evaluated once per distinct set of parameter rows: readings that change only
//! error codes or the answer's shape are applied to the evaluated outcomes
//! ([`Raw::under`]). The options only seed what a success leaves on the instance,
//! so a plan is evaluated with none and the current ones are laid under each
//! success when the expectation is made ([`Plan::expectation`]); that is what lets
//! [`Oracle`](super::Oracle) remember plans by call, whatever the options.

use super::effective::{self, Answering, Effective};
use super::evaluate::{self, Raw};
use super::{
    Acceptable, AnswerShape, Expectation, Expected, Options, ReadingLabel, World,
    MAX_READING_COMBINATIONS,
};
use crate::spec::{Citation, Spec};
use crate::wire::Call;

/// A combination of readings: (ambiguity index, reading index), by ambiguity.
pub type Combination = Vec<(usize, usize)>;

/// Everything of an expectation but the instance's options.
#[derive(Debug)]
pub struct Plan {
    /// The outcomes under each distinct set of parameter rows, evaluated for an
    /// instance with no options set.
    evaluations: Vec<Vec<Raw>>,
    /// One per combination of readings, in order.
    finishes: Vec<Finish>,
    /// The ambiguities the call touches.
    ambiguities: Vec<String>,
}

/// How one combination of readings turns evaluated outcomes into acceptable ones.
#[derive(Debug)]
struct Finish {
    evaluation: usize,
    labels: Vec<ReadingLabel>,
    /// Per evaluated outcome, the citations of the readings it depends on.
    cites: Vec<Vec<Citation>>,
    shape: AnswerShape,
    /// Error entries whose codes are not established under the combination.
    withdrawn: Vec<usize>,
    /// Those codes, open wherever an error comes from (a condition's as well).
    open: Vec<String>,
}

impl Plan {
    /// The plan of a validly signed `call` against `world` (its options unused).
    pub fn new(spec: &Spec, world: &World, call: &Call) -> Self {
        let bare = World {
            region: world.region.clone(),
            instance: super::Instance {
                id: world.instance.id.clone(),
                state: world.instance.state.clone(),
                options: Options::new(),
            },
        };
        let mut evaluations = Evaluations::new(spec, &bare, call);
        // First the ambiguities whose patches concern the parameters as sent…
        let mut touched = effective::touched_by_params(spec, call);
        let mut combos = reading_combinations(spec, &touched);
        let first: Vec<usize> = combos.iter().map(|c| evaluations.index(c)).collect();
        // …then those whose patches concern an error code or the answer's shape, if
        // the outcomes so far involve them. (Which codes and successes there are
        // depends neither on those readings nor on the options, so the outcomes as
        // evaluated tell.)
        let so_far = first
            .iter()
            .flat_map(|&i| &evaluations.done[i].1)
            .map(|raw| &raw.acceptable);
        let more = effective::touched_by_outcomes(spec, &touched, so_far);
        if !more.is_empty() {
            touched.extend(more);
            touched.sort_unstable();
            combos = reading_combinations(spec, &touched);
        }
        let mut finishes: Vec<Finish> = combos
            .iter()
            .map(|combo| finish(spec, combo, evaluations.index(combo)))
            .collect();
        cite_what_matters(spec, &combos, &mut finishes, &evaluations.done);
        Plan {
            evaluations: evaluations.done.into_iter().map(|(_, raws)| raws).collect(),
            finishes,
            ambiguities: touched
                .iter()
                .map(|i| spec.ambiguities[*i].get_ref().id.clone())
                .collect(),
        }
    }

    /// The expectation for an instance whose options are now `options`.
    pub fn expectation(&self, options: &Options) -> Expectation {
        let mut outcomes: Vec<Acceptable> = Vec::new();
        for f in &self.finishes {
            for (raw, cites) in self.evaluations[f.evaluation].iter().zip(&f.cites) {
                let mut acceptable = raw.under(&f.shape, &f.withdrawn, &f.open);
                if let Expected::Success { options: set, .. } = &mut acceptable.expected {
                    let set_by_call = std::mem::replace(set, options.clone());
                    set.extend(set_by_call);
                }
                acceptable.readings = f.labels.clone();
                acceptable.cite.extend(cites.iter().cloned());
                push_new(&mut outcomes, acceptable);
            }
        }
        Expectation {
            outcomes,
            ambiguities: self.ambiguities.clone(),
        }
    }
}

/// An outcome cites the readings it depends on, not every reading the call
/// touches: a wrong `HttpTokens` value's error does not rest on how an omitted
/// `HttpTokens` is read, nor on the answer's element name. A reading counts when
/// the outcome is not among those of a combination that reads that ambiguity
/// otherwise and the rest alike; where no such combination was made (capped),
/// it counts.
fn cite_what_matters(
    spec: &Spec,
    combos: &[Combination],
    finishes: &mut [Finish],
    done: &[(Combination, Vec<Raw>)],
) {
    if let [only] = finishes {
        // No other reading to tell by: each outcome cites the one it was made under.
        let cites: Vec<Citation> = combos[0]
            .iter()
            .flat_map(|&(amb, r)| spec.ambiguities[amb].get_ref().readings[r].cite.iter())
            .cloned()
            .collect();
        only.cites = vec![cites; done[only.evaluation].1.len()];
        return;
    }
    // Combinations that evaluate alike and answer alike have the same outcomes:
    // each such group's outcomes are made once.
    let mut groups: Vec<usize> = Vec::with_capacity(finishes.len());
    let mut outcomes: Vec<Vec<Acceptable>> = Vec::new();
    let mut firsts: Vec<usize> = Vec::new();
    for (i, f) in finishes.iter().enumerate() {
        let alike = firsts.iter().position(|&j| {
            let g = &finishes[j];
            g.evaluation == f.evaluation
                && g.shape == f.shape
                && g.withdrawn == f.withdrawn
                && g.open == f.open
        });
        groups.push(alike.unwrap_or_else(|| {
            firsts.push(i);
            outcomes.push(
                done[f.evaluation]
                    .1
                    .iter()
                    .map(|raw| raw.under(&f.shape, &f.withdrawn, &f.open))
                    .collect(),
            );
            outcomes.len() - 1
        }));
    }
    let same = |a: &Acceptable, b: &Acceptable| {
        a.rule == b.rule && a.expected == b.expected && a.strength == b.strength
    };
    let index: std::collections::HashMap<&Combination, usize> =
        combos.iter().enumerate().map(|(i, c)| (c, i)).collect();
    for (i, combo) in combos.iter().enumerate() {
        let mine = &outcomes[groups[i]];
        // Per ambiguity, the groups of the combinations reading it otherwise and
        // the rest alike (none: capped, or a single reading).
        let siblings: Vec<Vec<usize>> = combo
            .iter()
            .enumerate()
            .map(|(k, &(amb, reading))| {
                let mut other = combo.clone();
                (0..spec.ambiguities[amb].get_ref().readings.len())
                    .filter(|r| *r != reading)
                    .filter_map(|r| {
                        other[k].1 = r;
                        index.get(&other).map(|&g| groups[g])
                    })
                    .collect()
            })
            .collect();
        let cites: Vec<Vec<Citation>> = mine
            .iter()
            .map(|o| {
                let mut cites = Vec::new();
                for (k, &(amb, reading)) in combo.iter().enumerate() {
                    let matters = siblings[k].is_empty()
                        || siblings[k]
                            .iter()
                            .any(|&g| g != groups[i] && !outcomes[g].iter().any(|p| same(o, p)));
                    if matters {
                        let r = &spec.ambiguities[amb].get_ref().readings[reading];
                        cites.extend(r.cite.iter().cloned());
                    }
                }
                cites
            })
            .collect();
        finishes[i].cites = cites;
    }
}

fn finish(spec: &Spec, combo: &[(usize, usize)], evaluation: usize) -> Finish {
    let mut answering = Answering::base(spec);
    let mut labels = Vec::with_capacity(combo.len());
    for &(amb_index, reading_index) in combo {
        let amb = spec.ambiguities[amb_index].get_ref();
        let reading = &amb.readings[reading_index];
        answering.apply(&reading.set);
        labels.push(ReadingLabel {
            ambiguity: amb.id.clone(),
            reading: reading.id.clone(),
        });
    }
    let withdrawn = spec
        .errors
        .iter()
        .enumerate()
        .filter(|(_, e)| answering.inexact_errors.contains(e.get_ref().code.as_str()))
        .map(|(i, _)| i)
        .collect();
    let open = answering
        .inexact_errors
        .iter()
        .map(|c| c.to_string())
        .collect();
    Finish {
        evaluation,
        open,
        labels,
        cites: Vec::new(),
        shape: answering.shape.to_shape(),
        withdrawn,
    }
}

/// Push `a` unless an equal outcome is there. Outcomes of different combinations
/// differ in their readings, which are compared first.
fn push_new(out: &mut Vec<Acceptable>, a: Acceptable) {
    if !out.iter().any(|o| o.readings == a.readings && *o == a) {
        out.push(a);
    }
}

/// One call's evaluations, by the readings that patch parameter rows: combinations
/// that agree on those see the same rows, so the call is evaluated once for them.
struct Evaluations<'a> {
    spec: &'a Spec,
    world: &'a World,
    call: &'a Call,
    base: Effective<'a>,
    /// (the parameter-patching readings of a combination, the outcomes under them).
    done: Vec<(Combination, Vec<Raw>)>,
}

impl<'a> Evaluations<'a> {
    fn new(spec: &'a Spec, world: &'a World, call: &'a Call) -> Self {
        Evaluations {
            spec,
            world,
            call,
            base: Effective::base(spec),
            done: Vec::new(),
        }
    }

    /// The index in `done` of the evaluation `combo` uses (evaluating it if new).
    fn index(&mut self, combo: &[(usize, usize)]) -> usize {
        let spec = self.spec;
        let reading = |&(a, r): &(usize, usize)| &spec.ambiguities[a].get_ref().readings[r];
        let key: Combination = combo
            .iter()
            .filter(|c| effective::patches_params(&reading(c).set))
            .copied()
            .collect();
        if let Some(i) = self.done.iter().position(|(k, _)| *k == key) {
            return i;
        }
        let mut eff = self.base.clone();
        for c in &key {
            eff.apply_to_params(&reading(c).set);
        }
        let raws = evaluate::evaluate(spec, &eff, self.world, self.call);
        self.done.push((key, raws));
        self.done.len() - 1
    }
}

/// Every combination of the readings of the `touched` ambiguities (past
/// [`MAX_READING_COMBINATIONS`], the remaining ones keep their first reading).
pub fn reading_combinations(spec: &Spec, touched: &[usize]) -> Vec<Combination> {
    let sizes: Vec<usize> = touched
        .iter()
        .map(|&amb| spec.ambiguities[amb].get_ref().readings.len())
        .collect();
    super::capped_product(&sizes, MAX_READING_COMBINATIONS)
        .into_iter()
        .map(|picks| {
            touched
                .iter()
                .zip(picks)
                .map(|(&amb, r)| (amb, r.unwrap_or(0)))
                .collect()
        })
        .collect()
}
