//! One reading per target: which reading of each ambiguity a target implements.
//!
//! A case that passes only under some combinations of readings constrains the
//! target; a conforming target implements one reading of each ambiguity in every
//! call. The tracker keeps every assignment of readings to the API's ambiguities
//! (a few hundred at most) that all cases so far allow, folding cases in as they
//! finish, so it needs no case kept in memory. When a case leaves no assignment, the
//! ambiguities it disagrees on are `inconsistent`, with two witness cases: one that
//! passes only under one reading, one only under another.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{CaseResult, Verdict};
use crate::oracle::ReadingLabel;
use crate::spec::Spec;

/// Past this many assignments the tracker keeps each ambiguity on its own (never
/// reached by the built-in tables: 12, 4 and 144).
const MAX_WORLDS: usize = 65_536;

/// A case that constrains the readings: its id, title, and the combinations of
/// readings it passes under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Witness {
    pub case: String,
    pub title: String,
    /// The readings it passes under, as `ambiguity=reading` lists (one per combination).
    pub passes_under: Vec<String>,
}

impl Witness {
    /// `case passes only under a=x or a=y`.
    pub fn short(&self) -> String {
        format!(
            "{} passes only under {}",
            self.case,
            self.passes_under.join(" or ")
        )
    }

    /// `case (title) passes only under a=x or a=y`.
    pub fn long(&self) -> String {
        format!(
            "{} ({}) passes only under {}",
            self.case,
            self.title,
            self.passes_under.join(" or ")
        )
    }
}

/// What a run shows of one ambiguity at one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmbiguityReading {
    pub api: String,
    pub ambiguity: String,
    /// `consistent` (the target implements one of `readings`, the same in every
    /// call), or `inconsistent` (its answers need two readings; see `witnesses`).
    pub status: String,
    /// The readings consistent with every case (all of them when no case told them
    /// apart).
    pub readings: Vec<String>,
    /// For `inconsistent`: two cases that need different readings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<Witness>,
}

impl AmbiguityReading {
    pub fn is_consistent(&self) -> bool {
        self.status != "inconsistent"
    }
    /// The cell text: the reading, `a | b` while undecided, or `inconsistent`.
    pub fn cell(&self) -> String {
        if self.is_consistent() {
            self.readings.join(" | ")
        } else {
            "inconsistent".into()
        }
    }
}

#[derive(Debug, Clone)]
struct Constraint {
    witness: Witness,
    /// The ambiguities (indices) the combinations speak of.
    ambiguities: Vec<usize>,
    /// Allowed readings per combination, as (ambiguity, reading) indices.
    combinations: Vec<Vec<(usize, usize)>>,
}

impl Constraint {
    fn allows(&self, world: &[usize]) -> bool {
        self.allows_on(world, |_| true)
    }

    /// The constraint on the ambiguities `keep` keeps alone; `None` when it says
    /// nothing of them (some combination speaks of none of them).
    fn keeping(self, keep: impl Fn(usize) -> bool) -> Option<Constraint> {
        if self.ambiguities.iter().all(|a| keep(*a)) {
            return Some(self);
        }
        let combinations: Vec<Vec<(usize, usize)>> = self
            .combinations
            .iter()
            .map(|c| c.iter().copied().filter(|(a, _)| keep(*a)).collect())
            .collect();
        if combinations.iter().any(Vec::is_empty) {
            return None;
        }
        Some(Constraint {
            witness: self.witness,
            ambiguities: self.ambiguities.into_iter().filter(|a| keep(*a)).collect(),
            combinations,
        })
    }

    /// Whether `world` is allowed looking only at the ambiguities `on` keeps.
    fn allows_on(&self, world: &[usize], on: impl Fn(usize) -> bool) -> bool {
        self.combinations
            .iter()
            .any(|c| c.iter().all(|(a, r)| !on(*a) || world[*a] == *r))
    }
}

/// Past this many ambiguities in two clashing cases, all of them are blamed (the
/// subsets to try would be too many; the built-in tables have at most four).
const MAX_BLAMED_SEARCH: usize = 10;

/// The ambiguities two clashing cases disagree on: the smallest sets of
/// `involved` on which, looking at those alone, no world allows both (every such
/// set of that size, joined). Two cases that pass only under `tokens=keep,
/// element=model` and `tokens=reset, element=model` disagree on `tokens` alone:
/// `element` is read the same way by both and is not inconsistent. `None` when
/// the two clash only with the other cases' help (then all are blamed).
fn blamed(
    c: &Constraint,
    d: &Constraint,
    involved: &[usize],
    worlds: &[Vec<usize>],
) -> Option<Vec<usize>> {
    let n = involved.len();
    if n == 0 || n > MAX_BLAMED_SEARCH {
        return None;
    }
    for size in 1..=n {
        let mut found: Vec<usize> = Vec::new();
        for mask in 1u32..(1 << n) {
            if mask.count_ones() as usize != size {
                continue;
            }
            let on = |a: usize| {
                involved
                    .iter()
                    .position(|x| *x == a)
                    .is_some_and(|i| mask & (1 << i) != 0)
            };
            if !worlds
                .iter()
                .any(|w| c.allows_on(w, on) && d.allows_on(w, on))
            {
                found.extend((0..n).filter(|i| mask & (1 << i) != 0).map(|i| involved[i]));
            }
        }
        if !found.is_empty() {
            found.sort_unstable();
            found.dedup();
            return Some(found);
        }
    }
    None
}

/// Folds cases into the readings a target implements.
#[derive(Debug, Clone)]
pub struct ReadingTracker {
    api: String,
    /// Ambiguity ids and their reading ids.
    ambiguities: Vec<(String, Vec<String>)>,
    /// Ambiguities some case touched.
    touched: Vec<bool>,
    /// Constraints accepted so far (distinct ones only).
    accepted: Vec<Constraint>,
    /// Every distinct constraint seen, with the smallest case id as its witness:
    /// `finish` replays them in witness order, so the readings and the witnesses
    /// named do not depend on the order cases arrived in (workers interleave).
    seen: BTreeMap<Vec<Vec<(usize, usize)>>, Constraint>,
    /// Ambiguity index → the two witnesses that disagree on it.
    inconsistent: Vec<Option<Vec<Witness>>>,
    /// The assignments every accepted constraint allows.
    worlds: Vec<Vec<usize>>,
}

impl ReadingTracker {
    /// A tracker for `spec`'s ambiguities.
    pub fn new(spec: &Spec) -> Self {
        let ambiguities: Vec<(String, Vec<String>)> = spec
            .ambiguities
            .iter()
            .map(|a| {
                let a = a.get_ref();
                (
                    a.id.clone(),
                    a.readings.iter().map(|r| r.id.clone()).collect(),
                )
            })
            .collect();
        Self::from_ambiguities(&spec.api.id, ambiguities)
    }

    /// A tracker for these ambiguities (id, reading ids).
    pub fn from_ambiguities(api: &str, ambiguities: Vec<(String, Vec<String>)>) -> Self {
        let n = ambiguities.len();
        let mut t = ReadingTracker {
            api: api.to_string(),
            touched: vec![false; n],
            inconsistent: vec![None; n],
            accepted: Vec::new(),
            seen: BTreeMap::new(),
            worlds: Vec::new(),
            ambiguities,
        };
        t.worlds = t.all_worlds();
        t
    }

    fn all_worlds(&self) -> Vec<Vec<usize>> {
        let sizes: Vec<usize> = self
            .ambiguities
            .iter()
            .map(|(_, readings)| readings.len().max(1))
            .collect();
        crate::oracle::capped_product(&sizes, MAX_WORLDS)
            .into_iter()
            .map(|w| w.into_iter().map(|r| r.unwrap_or(usize::MAX)).collect())
            .collect()
    }

    fn index(&self, label: &ReadingLabel) -> Option<(usize, usize)> {
        let a = self
            .ambiguities
            .iter()
            .position(|(id, _)| *id == label.ambiguity)?;
        let r = self.ambiguities[a]
            .1
            .iter()
            .position(|id| *id == label.reading)?;
        Some((a, r))
    }

    /// Fold one judged case in.
    pub fn add(&mut self, case: &CaseResult) {
        for amb in &case.ambiguities {
            if let Some(i) = self.ambiguities.iter().position(|(id, _)| id == amb) {
                self.touched[i] = true;
            }
        }
        let Verdict::PassUnderReading { combinations, .. } = &case.verdict else {
            return;
        };
        let combos: Vec<Vec<(usize, usize)>> = combinations
            .iter()
            .map(|c| c.iter().filter_map(|l| self.index(l)).collect())
            .collect();
        let mut ambiguities: Vec<usize> = combos.iter().flatten().map(|(a, _)| *a).collect();
        ambiguities.sort_unstable();
        ambiguities.dedup();
        if ambiguities.is_empty() {
            return;
        }
        let constraint = Constraint {
            witness: Witness {
                case: case.id.clone(),
                title: case.title.clone(),
                passes_under: combinations
                    .iter()
                    .map(|c| {
                        c.iter()
                            .map(|l| l.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .collect(),
            },
            ambiguities,
            combinations: combos,
        };
        match self.seen.get_mut(&constraint.combinations) {
            Some(known) if known.witness.case <= constraint.witness.case => {}
            Some(known) => *known = constraint,
            None => {
                self.seen
                    .insert(constraint.combinations.clone(), constraint);
            }
        }
    }

    /// The constraints replayed in witness order from the start.
    fn replayed(&self) -> Self {
        let mut t = ReadingTracker::from_ambiguities(&self.api, self.ambiguities.clone());
        t.touched.clone_from(&self.touched);
        let mut all: Vec<&Constraint> = self.seen.values().collect();
        all.sort_by(|a, b| a.witness.case.cmp(&b.witness.case));
        for c in all {
            t.apply(c.clone());
        }
        t
    }

    fn apply(&mut self, c: Constraint) {
        // What the case says of the ambiguities not found inconsistent yet.
        let Some(c) = c.keeping(|a| self.inconsistent[a].is_none()) else {
            return;
        };
        // No two constraints replayed have the same combinations (`seen` keeps one
        // per distinct answer), so none is accepted twice.
        let kept: Vec<Vec<usize>> = self
            .worlds
            .iter()
            .filter(|w| c.allows(w))
            .cloned()
            .collect();
        if !kept.is_empty() {
            self.worlds = kept;
            self.accepted.push(c);
            return;
        }
        // No assignment allows every case: find an earlier case this one cannot
        // stand with on its own; their ambiguities are inconsistent.
        let all = self.all_worlds();
        let partner = self
            .accepted
            .iter()
            .find(|d| !all.iter().any(|w| d.allows(w) && c.allows(w)))
            .or_else(|| {
                self.accepted
                    .iter()
                    .find(|d| d.ambiguities.iter().any(|a| c.ambiguities.contains(a)))
            })
            .cloned();
        let mut involved = c.ambiguities.clone();
        if let Some(d) = &partner {
            involved.extend(d.ambiguities.iter().copied());
            involved.sort_unstable();
            involved.dedup();
            if let Some(blamed) = blamed(&c, d, &involved, &all) {
                involved = blamed;
            }
        }
        let witnesses: Vec<Witness> = partner
            .iter()
            .map(|d| d.witness.clone())
            .chain(std::iter::once(c.witness.clone()))
            .collect();
        let mut marked = false;
        for a in involved {
            if self.inconsistent[a].is_none() {
                self.inconsistent[a] = Some(witnesses.clone());
                marked = true;
            }
        }
        // Start again from what every case so far (this one too) says of the
        // other ambiguities: a case that clashes on one still tells the reading of
        // another. (Each round marks one more ambiguity, so this ends.)
        if !marked {
            // Nothing new to set aside (a case no world allows on its own): it is
            // left out, the others stand.
            return;
        }
        let earlier = std::mem::take(&mut self.accepted);
        self.worlds = all;
        for d in earlier.into_iter().chain(std::iter::once(c)) {
            self.apply(d);
        }
    }

    /// The readings, one entry per ambiguity some case touched.
    pub fn finish(&self) -> Vec<AmbiguityReading> {
        let t = self.replayed();
        t.readings()
    }

    fn readings(&self) -> Vec<AmbiguityReading> {
        let mut out = Vec::new();
        for (i, (id, readings)) in self.ambiguities.iter().enumerate() {
            if !self.touched[i] && self.inconsistent[i].is_none() {
                continue;
            }
            if let Some(w) = &self.inconsistent[i] {
                out.push(AmbiguityReading {
                    api: self.api.clone(),
                    ambiguity: id.clone(),
                    status: "inconsistent".into(),
                    readings: Vec::new(),
                    witnesses: w.clone(),
                });
                continue;
            }
            let mut seen: Vec<usize> = self.worlds.iter().map(|w| w[i]).collect();
            seen.sort_unstable();
            seen.dedup();
            let names: Vec<String> = if seen.contains(&usize::MAX) {
                readings.clone()
            } else {
                seen.iter()
                    .filter_map(|r| readings.get(*r).cloned())
                    .collect()
            };
            out.push(AmbiguityReading {
                api: self.api.clone(),
                ambiguity: id.clone(),
                status: "consistent".into(),
                readings: names,
                witnesses: Vec::new(),
            });
        }
        out
    }

    /// The readings of a list of cases (all of one API), ambiguities as the cases
    /// name them: for reports built from their cases alone.
    pub fn of_cases(api: &str, cases: &[CaseResult]) -> Vec<AmbiguityReading> {
        let mut ambiguities: Vec<(String, Vec<String>)> = Vec::new();
        let mut note = |amb: &str, reading: Option<&str>| {
            let i = match ambiguities.iter().position(|(id, _)| id == amb) {
                Some(i) => i,
                None => {
                    ambiguities.push((amb.to_string(), Vec::new()));
                    ambiguities.len() - 1
                }
            };
            if let Some(r) = reading {
                if !ambiguities[i].1.iter().any(|x| x == r) {
                    ambiguities[i].1.push(r.to_string());
                }
            }
        };
        for c in cases.iter().filter(|c| c.api == api) {
            for a in &c.ambiguities {
                note(a, None);
            }
            if let Verdict::PassUnderReading { combinations, .. } = &c.verdict {
                for l in combinations.iter().flatten() {
                    note(&l.ambiguity, Some(&l.reading));
                }
            }
        }
        let mut t = ReadingTracker::from_ambiguities(api, ambiguities);
        for c in cases.iter().filter(|c| c.api == api) {
            t.add(c);
        }
        t.finish()
    }
}
