//! Properties of the oracle over every built-in table.
use imds_conform::generate;
use imds_conform::oracle::{self, Auth, Effective, Expectation, Expected, Instance, World};
use imds_conform::spec::{self, Absent, ParamType, Role, Spec};
use imds_conform::wire::{Call, Protocol, RawParam, RawValue};
use proptest::prelude::*;

fn specs() -> &'static [Spec] {
    static SPECS: std::sync::OnceLock<Vec<Spec>> = std::sync::OnceLock::new();
    SPECS.get_or_init(|| spec::builtin().expect("tables load"))
}

fn world(spec: &Spec) -> World {
    let mut options = oracle::Options::new();
    for p in spec.params.iter().map(|p| p.get_ref()) {
        if let Some(opt) = &p.option {
            let v = match p.kind {
                ParamType::Integer => "3".to_string(),
                _ => p.values.first().cloned().unwrap_or_default(),
            };
            options.insert(opt.clone(), v);
        }
    }
    World {
        region: spec.api.default_region.clone(),
        instance: Instance {
            id: match spec.api.protocol {
                Protocol::AwsJson11 => "web-1".into(),
                _ => "i-0123456789abcdef0".into(),
            },
            state: "running".into(),
            options,
        },
    }
}

fn param(spec: &Spec, name: &str, value: &str) -> RawParam {
    let integer = spec
        .param(name)
        .is_some_and(|p| p.kind == ParamType::Integer);
    if spec.api.protocol == Protocol::AwsJson11 && integer {
        RawParam::json(name, value)
    } else {
        RawParam::text(name, value)
    }
}

/// A call with the target and region, and `choice[i]` deciding for each option
/// parameter whether it is sent and with which valid value.
fn valid_call(spec: &Spec, w: &World, choices: &[u8]) -> Call {
    let mut call = Call::new(spec.api.operation.clone());
    for (i, p) in spec.params.iter().map(|p| p.get_ref()).enumerate() {
        let c = choices.get(i).copied().unwrap_or(0);
        let value = match p.role {
            Role::Target => Some(w.instance.id.clone()),
            Role::Region => Some(w.region.clone()),
            Role::DryRun => (c % 2 == 0).then(|| "false".to_string()),
            // A parameter available only in other regions is not valid here.
            Role::Option if !p.regions.is_empty() && !p.regions.contains(&w.region) => None,
            Role::Option => (c % 3 != 0 || p.required).then(|| match p.kind {
                ParamType::Integer => {
                    let r = p.range.unwrap_or(spec::Range { min: 1, max: 64 });
                    (r.min + i64::from(c) % (r.max - r.min + 1)).to_string()
                }
                _ => p.values[usize::from(c) % p.values.len()].clone(),
            }),
        };
        if let Some(v) = value {
            call.params.push(param(spec, &p.name, &v));
        }
    }
    call
}

/// The world of `spec`, the valid call `choices` draw, and what the oracle expects
/// of it with valid credentials.
fn expect_valid(spec: &Spec, choices: &[u8]) -> (World, Call, Expectation) {
    let w = world(spec);
    let call = valid_call(spec, &w, choices);
    let exp = oracle::expect(spec, &w, &call, Auth::Valid);
    (w, call, exp)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A call with only valid values never yields only error outcomes.
    #[test]
    fn valid_values_are_never_only_errors(choices in proptest::collection::vec(any::<u8>(), 8)) {
        for spec in specs() {
            let (_, call, exp) = expect_valid(spec, &choices);
            prop_assert!(exp.allows_success(), "{}: {call:?} → {exp:#?}", spec.api.id);
        }
    }

    /// An omitted parameter whose rule (under the outcome's readings) is "keep"
    /// leaves its option unchanged.
    #[test]
    fn omitted_keep_parameters_keep_their_option(choices in proptest::collection::vec(any::<u8>(), 8)) {
        for spec in specs() {
            let (w, call, exp) = expect_valid(spec, &choices);
            for a in &exp.outcomes {
                let Expected::Success { options, targets_instance: true, .. } = &a.expected else { continue };
                let mut eff = Effective::base(spec);
                for label in &a.readings {
                    let amb = spec.ambiguity(&label.ambiguity).unwrap();
                    let reading = amb.readings.iter().find(|r| r.id == label.reading).unwrap();
                    eff.apply(&reading.set);
                }
                for p in &eff.params {
                    let sent = call.params.iter().any(|q| q.name == p.row.name);
                    if sent || p.row.absent != Absent::Keep || p.row.required { continue }
                    let opt = p.row.option.as_ref().unwrap();
                    prop_assert_eq!(&options[opt], &w.instance.options[opt], "{} {}", spec.api.id, p.row.name);
                }
            }
        }
    }

    /// Every reading of every touched ambiguity labels at least one outcome.
    #[test]
    fn an_ambiguity_yields_one_outcome_per_reading(
        choices in proptest::collection::vec(any::<u8>(), 8),
        junk in proptest::collection::vec((0usize..8, "[a-zA-Z0-9 ]{0,4}"), 0..3),
    ) {
        for spec in specs() {
            let w = world(spec);
            let mut call = valid_call(spec, &w, &choices);
            // Spoil some values so error paths are covered too.
            for (i, v) in &junk {
                if let Some(p) = call.params.get_mut(*i) {
                    p.value = RawValue::Text(v.clone());
                }
            }
            let exp = oracle::expect(spec, &w, &call, Auth::Valid);
            for id in &exp.ambiguities {
                let amb = spec.ambiguity(id).unwrap();
                for r in &amb.readings {
                    let labelled = exp.outcomes.iter().any(|a| a.readings.iter().any(|l| &l.ambiguity == id && l.reading == r.id));
                    prop_assert!(labelled, "{}: {id}={} has no outcome for {call:?}", spec.api.id, r.id);
                }
            }
        }
    }
}

/// Every hop limit 0..=65 (and the far ends) is classified exactly by the range
/// of the table under each combination of readings.
#[test]
fn hop_limits_are_classified_by_the_range() {
    for spec in specs() {
        let w = world(spec);
        let hop = spec
            .params
            .iter()
            .map(|p| p.get_ref())
            .find(|p| p.option.as_deref() == Some("hop_limit"))
            .expect("every table has the hop limit");
        let mut base = valid_call(spec, &w, &[0; 8]);
        base.params.retain(|p| p.name != hop.name);
        let values: Vec<i64> = (0..=65).chain([-1, 1 << 31, i64::MAX]).collect();
        for h in values {
            let mut call = base.clone();
            call.params.push(param(spec, &hop.name, &h.to_string()));
            let exp = oracle::expect(spec, &w, &call, Auth::Valid);
            assert!(!exp.outcomes.is_empty());
            for a in &exp.outcomes {
                let mut eff = Effective::base(spec);
                for label in &a.readings {
                    let amb = spec.ambiguity(&label.ambiguity).unwrap();
                    eff.apply(
                        &amb.readings
                            .iter()
                            .find(|r| r.id == label.reading)
                            .unwrap()
                            .set,
                    );
                }
                let p = eff.param(&hop.name).unwrap();
                let in_i32 = i32::try_from(h).is_ok();
                let valid = if p.ignored {
                    true
                } else if p.rejected.is_some() || !in_i32 {
                    false
                } else {
                    p.row.range.is_none_or(|r| r.contains(h))
                };
                match &a.expected {
                    Expected::Success { options, .. } => {
                        assert!(
                            valid,
                            "{} hop {h} under {:?}: success but out of range",
                            spec.api.id, a.readings
                        );
                        if !p.ignored {
                            assert_eq!(options["hop_limit"], h.to_string());
                        }
                    }
                    Expected::Error { .. } => assert!(
                        !valid,
                        "{} hop {h} under {:?}: error but in range",
                        spec.api.id, a.readings
                    ),
                }
            }
        }
    }
}

// -- The optimized oracle against the plain evaluation ---------------------------

/// A world with option values picked from each parameter's valid values (and a hop
/// limit from its range) by `picks`, running or stopped.
fn picked_world(spec: &Spec, picks: &[u8], stopped: bool) -> World {
    let mut w = world(spec);
    for (i, p) in spec.params.iter().map(|p| p.get_ref()).enumerate() {
        let Some(opt) = &p.option else { continue };
        let c = picks.get(i).copied().unwrap_or(0);
        let v = match p.kind {
            ParamType::Integer => (1 + i64::from(c) % 64).to_string(),
            _ if p.values.is_empty() => continue,
            _ => p.values[usize::from(c) % p.values.len()].clone(),
        };
        w.instance.options.insert(opt.clone(), v);
    }
    if stopped {
        w.instance.state = "stopped".into();
    }
    w
}

/// `n` calls of the random phase's strategy, drawn with `seed`.
fn random_calls(spec: &Spec, w: &World, seed: u64, n: usize) -> Vec<Call> {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let subject = generate::Subject::new(spec, &w.instance.id, &w.region, &[]);
    let strategy = generate::random::calls(spec, &subject);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("a call").current())
        .collect()
}

const AUTHS: [Auth; 6] = [
    Auth::Valid,
    Auth::Unsigned,
    Auth::BadSignature,
    Auth::UnknownAccessKey,
    Auth::Expired,
    Auth::NonceReused,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// `expect` (one evaluation per set of parameter rows, options laid under the
    /// successes afterwards) and `Oracle::expect` (plans remembered by call, with a
    /// memory small enough to evict) give exactly what the plain evaluation of
    /// every reading combination gives, outcome for outcome and in order, on
    /// random-phase calls of every table; each call is asked again with other
    /// options, so that it is also answered from a remembered plan.
    #[test]
    fn optimized_expect_equals_the_plain_evaluation(
        seed in any::<u64>(),
        picks in proptest::collection::vec(any::<u8>(), 8),
        stopped in any::<bool>(),
        auth in 0usize..12,
    ) {
        // Mostly valid signatures: only those reach the reading combinations.
        let auth = AUTHS.get(auth).copied().unwrap_or(Auth::Valid);
        let other: Vec<u8> = picks.iter().map(|p| p.wrapping_add(1)).collect();
        for spec in specs() {
            let worlds = [picked_world(spec, &picks, stopped), picked_world(spec, &other, stopped)];
            let oracle = oracle::Oracle::with_capacity(std::sync::Arc::new(spec.clone()), 4);
            for call in random_calls(spec, &worlds[0], seed, 6) {
                for w in &worlds {
                    let plain = oracle::reference::expect(spec, w, &call, auth);
                    prop_assert_eq!(&oracle::expect(spec, w, &call, auth), &plain, "{}: {:?}", spec.api.id, call);
                    prop_assert_eq!(&oracle.expect(w, &call, auth), &plain, "{} (remembered): {:?}", spec.api.id, call);
                }
            }
            let stats = oracle.stats();
            let (asked, hits) = if auth == Auth::Valid { (12, 6) } else { (0, 0) };
            prop_assert!(stats.len <= 4 && stats.hits + stats.misses == asked && stats.hits >= hits, "{stats:?}");
        }
    }
}

/// The same on every deterministic case of every table (coverage, auth and
/// sequence phases: wrong types, duplicates, unknown and empty parameters), for a
/// running and a stopped instance.
#[test]
fn optimized_expect_equals_the_plain_evaluation_on_every_deterministic_case() {
    for spec in specs() {
        for stopped in [false, true] {
            let w = picked_world(spec, &[1, 2, 3, 4, 5, 6, 7, 8], stopped);
            let subject = generate::Subject::new(spec, &w.instance.id, &w.region, &[]);
            let cases = generate::coverage(spec, &subject)
                .into_iter()
                .chain(generate::auth(spec, &subject))
                .chain(generate::sequences(spec, &subject));
            for case in cases {
                let auth = case.signing.auth();
                assert_eq!(
                    oracle::expect(spec, &w, &case.call, auth),
                    oracle::reference::expect(spec, &w, &case.call, auth),
                    "{} {}: {:?}",
                    spec.api.id,
                    case.rule,
                    case.call
                );
            }
        }
    }
}

/// The memory stays within its capacity and serves repeats: a hit is counted and
/// gives the same answer, also for other options (a plan does not depend on
/// them); another instance state is a miss, never a remembered answer.
#[test]
fn the_oracle_remembers_within_its_capacity() {
    let spec = &specs()[0];
    let oracle = oracle::Oracle::with_capacity(std::sync::Arc::new(spec.clone()), 3);
    let w = world(spec);
    let calls = random_calls(spec, &w, 7, 10);
    for call in &calls {
        oracle.expect(&w, call, Auth::Valid);
        assert!(oracle.stats().len <= 3);
    }
    let last = calls.last().unwrap();
    let before = oracle.stats();
    assert_eq!(
        oracle.expect(&w, last, Auth::Valid),
        oracle::expect(spec, &w, last, Auth::Valid)
    );
    assert_eq!(oracle.stats().hits, before.hits + 1);
    let moved = picked_world(spec, &[2, 1, 0, 2, 1, 0, 2, 1], false);
    assert_ne!(moved.instance.options, w.instance.options);
    assert_eq!(
        oracle.expect(&moved, last, Auth::Valid),
        oracle::expect(spec, &moved, last, Auth::Valid)
    );
    assert_eq!(oracle.stats().hits, before.hits + 2);
    let mut other = w.clone();
    other.instance.state = "stopped".into();
    assert_eq!(
        oracle.expect(&other, last, Auth::Valid),
        oracle::expect(spec, &other, last, Auth::Valid)
    );
    assert_eq!(oracle.stats().misses, before.misses + 1);
}
