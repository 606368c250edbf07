//! The engine's mutation score, asserted (issue 11, item 8).
//!
//! The catalogue of deliberate deviations is derived from the built-in tables; each
//! deviation runs against its own faulty model target over loopback through the
//! normal runner, and must be caught by a departure naming the rule it breaks (or,
//! for an omission handled differently between calls on an ambiguity, by that
//! ambiguity coming out `inconsistent`). In the other direction, a model that
//! implements any one reading of any ambiguity, in every call, must not be flagged.
use std::sync::Arc;

use imds_conform::selftest::{
    self, catalogue, families, readings_of, Deviation, Expect, Family, Fault, Options,
};
use imds_conform::spec::{self, Spec};

fn specs() -> Vec<Arc<Spec>> {
    spec::builtin()
        .expect("tables load")
        .into_iter()
        .map(Arc::new)
        .collect()
}

fn all_deviations(specs: &[Arc<Spec>]) -> Vec<Deviation> {
    specs.iter().flat_map(|s| catalogue(s)).collect()
}

#[test]
fn the_catalogue_covers_every_family_of_every_table() {
    let specs = specs();
    let all = all_deviations(&specs);
    assert!(all.len() >= 30, "only {} deviations", all.len());
    for s in &specs {
        let api = &s.api.id;
        let fams = families(s);
        for f in &fams {
            assert!(
                all.iter().any(|d| &d.api == api && d.family == *f),
                "{api}: no deviation of the {} family",
                f.name()
            );
        }
        // Every deviation of the table is of a family the table has.
        for d in all.iter().filter(|d| &d.api == api) {
            assert!(fams.contains(&d.family), "{}: family {:?}", d.id, d.family);
        }
    }
    let ids: Vec<&str> = all.iter().map(|d| d.id.as_str()).collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "deviation ids are unique");
}

#[test]
fn the_issue_examples_are_in_the_catalogue() {
    let all = all_deviations(&specs());
    // "EC2 accepts hop limit 65/0".
    for v in ["65", "0"] {
        assert!(
            all.iter().any(|d| d.api == "aws-ec2"
                && d.fault
                    == Fault::AcceptValue {
                        param: "HttpPutResponseHopLimit".into(),
                        value: v.into()
                    }
                && d.expect
                    == Expect::Departure {
                        rule: "HttpPutResponseHopLimit.range".into()
                    }),
            "EC2 hop limit {v}"
        );
    }
    // An omitted HttpTokens kept on one call and reset on the next.
    assert!(all.iter().any(|d| d.api == "aws-ec2"
        && matches!(&d.fault, Fault::AlternateOmission { param, .. } if param == "HttpTokens")
        && d.expect
            == Expect::Inconsistent {
                ambiguity: "ec2-http-tokens-omitted".into()
            }));
    // Where no ambiguity covers the omission, alternating is a departure.
    assert!(all.iter().any(|d| d.api == "aws-ec2"
        && matches!(&d.fault, Fault::AlternateOmission { param, .. } if param == "HttpEndpoint")
        && d.expect
            == Expect::Departure {
                rule: "HttpEndpoint.absent".into()
            }));
    // A reused Alibaba nonce; SigV4 has none.
    let nonce = |api: &str| {
        all.iter().any(|d| {
            d.api == api
                && d.fault
                    == Fault::AcceptAuth {
                        auth: imds_conform::oracle::Auth::NonceReused,
                    }
        })
    };
    assert!(nonce("aliyun-ecs"));
    assert!(!nonce("aws-ec2"));
    // A code some reading leaves open is not faulted: another code is that reading.
    assert!(!all
        .iter()
        .any(|d| d.api == "aliyun-ecs" && matches!(d.fault, Fault::ErrorCode { .. })));
}

/// The whole self-test: every deviation caught, no faithful target flagged. One
/// test, whose runs go four at a time.
#[test]
fn every_deviation_is_caught_and_no_faithful_target_is_flagged() {
    let specs = specs();
    let all = all_deviations(&specs);
    let report =
        selftest::run_all(&specs, &all, true, &Options::default()).expect("the self-test runs");
    assert_eq!(report.deviations.len(), all.len());
    let missed: Vec<String> = report
        .deviations
        .iter()
        .filter(|d| !d.caught())
        .map(|d| {
            let seen: Vec<String> = d
                .observed
                .departures
                .iter()
                .map(|x| format!("[{}] {}", x.rule, x.title))
                .collect();
            format!(
                "{} ({}): wanted {:?}; saw {seen:?}",
                d.id,
                d.fault.describe(),
                d.expect
            )
        })
        .collect();
    assert!(
        missed.is_empty(),
        "missed deviations:\n{}",
        missed.join("\n")
    );
    // Nothing but the fault is named: no departure it does not explain.
    let misnamed: Vec<String> = report
        .deviations
        .iter()
        .filter(|d| d.misnamed())
        .map(|d| format!("{} ({}): {:?}", d.id, d.fault.describe(), d.extra))
        .collect();
    assert!(
        misnamed.is_empty(),
        "departures the faults do not explain:\n{}",
        misnamed.join("\n")
    );
    // Nothing else is at fault: each run judged every case.
    for d in &report.deviations {
        assert_eq!(d.observed.errors, 0, "{}: unjudged cases", d.id);
        assert!(d.observed.cases > 0, "{}: no case ran", d.id);
    }
    let flagged: Vec<String> = report
        .readings
        .iter()
        .filter(|r| r.false_positive())
        .map(|r| format!("{} {}={}: {:?}", r.api, r.ambiguity, r.reading, r.flagged))
        .collect();
    assert!(
        flagged.is_empty(),
        "faithful targets flagged:\n{}",
        flagged.join("\n")
    );
    // Every reading of every ambiguity was tried, and the run says the target
    // implements it.
    for s in &specs {
        for (amb, reading) in readings_of(s) {
            let r = report
                .readings
                .iter()
                .find(|r| r.api == s.api.id && r.ambiguity == amb && r.reading == reading)
                .unwrap_or_else(|| panic!("{amb}={reading} not tried"));
            let shown = r
                .observed
                .readings
                .iter()
                .find(|x| x.ambiguity == amb)
                .unwrap_or_else(|| panic!("{amb}: the run did not touch it"));
            assert!(shown.is_consistent() && shown.readings.contains(&reading));
        }
    }
    assert!(report.passed());
    assert!(
        (report.score() - 100.0).abs() < f64::EPSILON,
        "{}",
        report.score()
    );
    // The families of the caught deviations are the table's families.
    for s in &specs {
        let caught: Vec<Family> = report
            .deviations
            .iter()
            .filter(|d| d.api == s.api.id && d.caught())
            .map(|d| d.family)
            .collect();
        for f in families(s) {
            assert!(caught.contains(&f), "{}: {}", s.api.id, f.name());
        }
    }
}
