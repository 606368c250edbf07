//! One reading per target: the tracker that folds judged cases into the reading of
//! each ambiguity a target implements. Cases here are built by hand: each passes
//! under the combinations of readings given.
use imds_conform::oracle::ReadingLabel;
use imds_conform::verdict::{CaseResult, ReadingTracker, Verdict};
use proptest::prelude::*;

fn label(a: &str, r: &str) -> ReadingLabel {
    ReadingLabel {
        ambiguity: a.into(),
        reading: r.into(),
    }
}

/// A case that passes only under these combinations.
fn case(id: &str, combos: &[&[(&str, &str)]]) -> CaseResult {
    let combinations: Vec<Vec<ReadingLabel>> = combos
        .iter()
        .map(|c| c.iter().map(|(a, r)| label(a, r)).collect())
        .collect();
    let mut ambiguities: Vec<String> = combinations
        .iter()
        .flatten()
        .map(|l| l.ambiguity.clone())
        .collect();
    ambiguities.sort();
    ambiguities.dedup();
    let mut readings: Vec<ReadingLabel> = combinations.iter().flatten().cloned().collect();
    readings.sort();
    readings.dedup();
    let json = serde_json::json!({
        "id": id, "api": "x", "phase": "coverage", "rule": "r", "title": format!("case {id}"),
        "operation": "Op", "request": [], "auth": "valid", "expected": [],
        "ambiguities": ambiguities,
        "actual": {"kind": "unjudgeable", "reason": "-"},
        "verdict": {"verdict": "pass"}, "citation": [], "exchanges": [], "notes": [],
        "duration_ms": 0.0
    });
    let mut c: CaseResult = serde_json::from_value(json).expect("a case");
    c.verdict = Verdict::PassUnderReading {
        readings,
        combinations,
    };
    c
}

fn tracker() -> ReadingTracker {
    ReadingTracker::from_ambiguities(
        "x",
        vec![
            ("omit".into(), vec!["keep".into(), "reset".into()]),
            ("range".into(), vec!["1-64".into(), "2-63".into()]),
        ],
    )
}

#[test]
fn cases_agreeing_on_a_reading_name_it() {
    let mut t = tracker();
    t.add(&case("1", &[&[("omit", "keep")]]));
    t.add(&case("2", &[&[("omit", "keep")], &[("omit", "reset")]]));
    let r = t.finish();
    let omit = r.iter().find(|r| r.ambiguity == "omit").expect("omit");
    assert_eq!(omit.status, "consistent");
    assert_eq!(omit.readings, ["keep"]);
    // Never touched: not reported.
    assert!(r.iter().all(|r| r.ambiguity != "range"), "{r:?}");
}

/// Two cases that clash on one ambiguity while both also pass only under the
/// same reading of another: only the first is inconsistent; the other keeps the
/// reading both show. (Before, every ambiguity of the two clashing cases was.)
#[test]
fn only_the_ambiguity_two_cases_disagree_on_is_inconsistent() {
    let mut t = tracker();
    t.add(&case("k", &[&[("omit", "keep"), ("range", "1-64")]]));
    t.add(&case("r", &[&[("omit", "reset"), ("range", "1-64")]]));
    let r = t.finish();
    let omit = r.iter().find(|r| r.ambiguity == "omit").expect("omit");
    assert_eq!(omit.status, "inconsistent");
    let range = r.iter().find(|r| r.ambiguity == "range").expect("range");
    assert_eq!(range.status, "consistent", "{r:?}");
    assert_eq!(range.readings, ["1-64"]);
    // Disagreeing on both, neither alone explains it: both are.
    let mut t = tracker();
    t.add(&case("a", &[&[("omit", "keep"), ("range", "1-64")]]));
    t.add(&case("b", &[&[("omit", "reset"), ("range", "2-63")]]));
    let r = t.finish();
    assert!(r.iter().all(|r| r.status == "inconsistent"), "{r:?}");
}

#[test]
fn two_readings_of_one_ambiguity_are_inconsistent_with_both_witnesses() {
    let mut t = tracker();
    t.add(&case("a", &[&[("range", "2-63")]]));
    t.add(&case("k", &[&[("omit", "keep")]]));
    t.add(&case("r", &[&[("omit", "reset")]]));
    let r = t.finish();
    let omit = r.iter().find(|r| r.ambiguity == "omit").expect("omit");
    assert_eq!(omit.status, "inconsistent");
    let ids: Vec<&str> = omit.witnesses.iter().map(|w| w.case.as_str()).collect();
    assert_eq!(ids, ["k", "r"]);
    assert_eq!(omit.witnesses[0].passes_under, ["omit=keep"]);
    assert_eq!(omit.witnesses[1].passes_under, ["omit=reset"]);
    // The other ambiguity keeps its reading.
    let range = r.iter().find(|r| r.ambiguity == "range").expect("range");
    assert_eq!(
        (range.status.as_str(), range.readings.clone()),
        ("consistent", vec!["2-63".to_string()])
    );
}

#[test]
fn joint_constraints_narrow_each_other() {
    // Case 1: keep with 1-64, or reset with 2-63; case 2: 2-63 only → reset.
    let mut t = tracker();
    t.add(&case(
        "1",
        &[
            &[("omit", "keep"), ("range", "1-64")],
            &[("omit", "reset"), ("range", "2-63")],
        ],
    ));
    t.add(&case("2", &[&[("range", "2-63")]]));
    let r = t.finish();
    let get = |a: &str| {
        r.iter()
            .find(|r| r.ambiguity == a)
            .expect(a)
            .readings
            .clone()
    };
    assert_eq!(get("omit"), ["reset"]);
    assert_eq!(get("range"), ["2-63"]);
}

proptest! {
    /// A target implementing one reading of each ambiguity is consistent, whatever
    /// the order its cases finish in, and the readings named include its own.
    #[test]
    fn a_consistent_target_is_never_inconsistent(
        omit in 0usize..2, range in 0usize..2,
        shapes in proptest::collection::vec((0u8..4, any::<bool>()), 1..30),
    ) {
        let omits = ["keep", "reset"];
        let ranges = ["1-64", "2-63"];
        let (o, g) = (omits[omit], ranges[range]);
        let mut cases = Vec::new();
        for (i, (shape, widen)) in shapes.iter().enumerate() {
            let id = i.to_string();
            // Every case's combinations include the target's own readings.
            let c = match shape {
                0 => case(&id, &[&[("omit", o)]]),
                1 => case(&id, &[&[("range", g)]]),
                2 => case(&id, &[&[("omit", o), ("range", g)]]),
                _ if *widen => case(&id, &[&[("omit", o)], &[("omit", omits[1 - omit])]]),
                _ => case(&id, &[&[("omit", o), ("range", g)], &[("omit", omits[1 - omit]), ("range", ranges[1 - range])]]),
            };
            cases.push(c);
        }
        for order in [false, true] {
            let mut t = tracker();
            let iter: Box<dyn Iterator<Item = &CaseResult>> = if order { Box::new(cases.iter().rev()) } else { Box::new(cases.iter()) };
            for c in iter { t.add(c); }
            for r in t.finish() {
                prop_assert_eq!(r.status.as_str(), "consistent");
                let own = if r.ambiguity == "omit" { o } else { g };
                prop_assert!(r.readings.iter().any(|x| x == own), "{:?}", r);
            }
        }
    }
}

/// Workers interleave: the same cases in another order name the same witnesses
/// (the smallest case id of each distinct answer), not whichever came first.
#[test]
fn witnesses_do_not_depend_on_the_order_cases_arrive_in() {
    let finish = |order: &[&str]| {
        let mut t = tracker();
        for id in order {
            let reading = if id.starts_with('k') { "keep" } else { "reset" };
            t.add(&case(id, &[&[("omit", reading)]]));
        }
        t.finish()
    };
    let first = finish(&["r1", "k1", "k0"]);
    let omit = first.iter().find(|r| r.ambiguity == "omit").expect("omit");
    let ids: Vec<&str> = omit.witnesses.iter().map(|w| w.case.as_str()).collect();
    assert_eq!(ids, ["k0", "r1"], "{omit:#?}");
    for order in [["k0", "k1", "r1"], ["k1", "r1", "k0"], ["r1", "k0", "k1"]] {
        assert_eq!(finish(&order), first, "order {order:?}");
    }
}
