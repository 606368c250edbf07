//! Normalization (properties), recordings, the case-by-case comparison and the
//! baseline check.
use imds_conform::oracle::Auth;
use imds_conform::report::baseline::{self, Baseline};
use imds_conform::report::recording::{self, Recording};
use imds_conform::spec::{self, Spec};
use imds_conform::verdict::normalize::{self, Normalized, Normalizer};
use imds_conform::verdict::{Actual, CaseResult, Verdict};
use imds_conform::wire::{Outcome, RawParam};
use proptest::prelude::*;
use serde_json::json;

fn ec2_success(request_id: &str, instance: &str, hop: u32) -> Outcome {
    Outcome::Success {
        status: 200,
        request_id: Some(request_id.into()),
        body: json!({
            "requestId": request_id,
            "instanceId": instance,
            "instanceMetadataOptions": {"state": "pending", "httpPutResponseHopLimit": hop.to_string()},
        }),
    }
}

fn lightsail_success(op: &str, instance: &str, at: f64) -> Outcome {
    Outcome::Success {
        status: 200,
        request_id: None,
        body: json!({"operation": {"id": op, "resourceName": instance, "createdAt": at,
            "statusChangedAt": at, "status": "Started"}}),
    }
}

fn table(api: &str) -> Spec {
    spec::builtin_api(api).expect("tables").expect("table")
}

/// `o` normalized with the facts of the table its shape comes from.
fn norm(instance: &str, o: &Outcome) -> Normalized {
    let api = match o {
        Outcome::Success { body, .. } if body.get("operation").is_some() => "aws-lightsail",
        _ => "aws-ec2",
    };
    Normalizer::with_instances(&table(api).volatile, [instance]).outcome(o)
}

proptest! {
    #[test]
    fn same_input_same_output(rid in "[a-f0-9-]{8,36}", hop in 1u32..64) {
        let o = ec2_success(&rid, "i-0123456789abcdef0", hop);
        prop_assert_eq!(norm("i-0123456789abcdef0", &o), norm("i-0123456789abcdef0", &o));
    }

    #[test]
    fn request_and_instance_ids_do_not_matter(
        a in "[A-Za-z0-9-]{6,40}", b in "[A-Za-z0-9-]{6,40}",
        ia in "i-[0-9a-f]{17}", ib in "i-[0-9a-f]{17}", hop in 1u32..64,
    ) {
        prop_assert_eq!(
            norm(&ia, &ec2_success(&a, &ia, hop)),
            norm(&ib, &ec2_success(&b, &ib, hop))
        );
    }

    #[test]
    fn operation_ids_and_timestamps_do_not_matter(
        a in "[a-f0-9-]{36}", b in "[a-f0-9-]{36}", ta in 1.0e9f64..2.0e9, tb in 1.0e9f64..2.0e9,
    ) {
        prop_assert_eq!(
            norm("web-1", &lightsail_success(&a, "web-1", ta)),
            norm("nordic-1", &lightsail_success(&b, "nordic-1", tb))
        );
    }

    #[test]
    fn normalizing_twice_changes_nothing(rid in "[a-z0-9]{4,20}", hop in 1u32..64) {
        let once = norm("i-0123456789abcdef0", &ec2_success(&rid, "i-0123456789abcdef0", hop));
        let Normalized::Success { status, request_id, body } = once.clone() else {
            unreachable!()
        };
        let ec2 = table("aws-ec2");
        let again = Normalizer::new(&ec2.volatile).outcome(&Outcome::Success { status, request_id, body });
        prop_assert_eq!(once, again);
    }

    #[test]
    fn different_answers_stay_different(h1 in 1u32..64, h2 in 1u32..64) {
        prop_assume!(h1 != h2);
        prop_assert_ne!(
            norm("i-0123456789abcdef0", &ec2_success("r", "i-0123456789abcdef0", h1)),
            norm("i-0123456789abcdef0", &ec2_success("r", "i-0123456789abcdef0", h2))
        );
    }
}

#[test]
fn the_same_request_id_gets_the_same_number() {
    let n = norm(
        "i-0123456789abcdef0",
        &ec2_success("R", "i-0123456789abcdef0", 2),
    );
    let v = serde_json::to_value(&n).unwrap();
    assert_eq!(v["request_id"], "<request-id:1>");
    assert_eq!(v["body"]["requestId"], "<request-id:1>");
    assert_eq!(v["body"]["instanceId"], "<instance-id:1>");
    let l = serde_json::to_value(norm("web-1", &lightsail_success("op", "web-1", 1.7e9))).unwrap();
    assert_eq!(l["body"]["operation"]["createdAt"], "<timestamp:1>");
    assert_eq!(l["body"]["operation"]["statusChangedAt"], "<timestamp:1>");
    assert_eq!(l["body"]["operation"]["id"], "<operation-id:1>");
    assert_eq!(l["body"]["operation"]["resourceName"], "<instance-id:1>");
}

fn case(n: usize, instance: &str, outcome: Outcome, verdict: Verdict) -> CaseResult {
    CaseResult {
        id: format!("aws-ec2/coverage/{n:04}"),
        api: "aws-ec2".into(),
        phase: "coverage".into(),
        rule: "HttpTokens.values".into(),
        title: format!("InstanceId = valid {instance:?} #{n}"),
        operation: "ModifyInstanceMetadataOptions".into(),
        request: vec![RawParam::text("InstanceId", instance)],
        auth: Auth::Valid,
        expected: Vec::new(),
        ambiguities: Vec::new(),
        actual: Actual::Outcome { outcome },
        verdict,
        findings: Vec::new(),
        citation: Vec::new(),
        exchanges: Vec::new(),
        notes: Vec::new(),
        duration_ms: 0.0,
    }
}

fn error(code: &str, instance: &str) -> Outcome {
    Outcome::Error {
        status: 400,
        code: code.into(),
        message: format!("The instance ID '{instance}' is bad"),
        request_id: Some(format!("req-{code}")),
    }
}

#[test]
fn recordings_line_up_across_targets_and_diffs_read_well() {
    let a = "i-0123456789abcdef0";
    let b = "i-57988da148d0bed56";
    let rec_a = Recording::from_cases(
        &table("aws-ec2"),
        "aws",
        a,
        &[
            case(1, a, ec2_success("x1", a, 1), Verdict::Pass),
            case(2, a, error("InvalidInstanceID.Malformed", a), Verdict::Pass),
        ],
    );
    let rec_b = Recording::from_cases(
        &table("aws-ec2"),
        "moto",
        b,
        &[
            case(1, b, ec2_success("y1", b, 1), Verdict::Pass),
            case(2, b, error("InvalidInstanceID.NotFound", b), Verdict::Pass),
        ],
    );
    // Titles and requests are normalized, so the cases match by id and title.
    assert_eq!(rec_a.cases[0].title, rec_b.cases[0].title);
    assert_eq!(rec_a.cases[0].request, rec_b.cases[0].request);
    let d = recording::compare(&rec_a, &rec_b);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].id, "aws-ec2/coverage/0002");
    let diff = d[0].diff("aws (recorded)", "moto");
    assert!(diff.starts_with("--- aws (recorded)\n+++ moto\n"), "{diff}");
    assert!(
        diff.contains("-  \"code\": \"InvalidInstanceID.Malformed\","),
        "{diff}"
    );
    assert!(
        diff.contains("+  \"code\": \"InvalidInstanceID.NotFound\","),
        "{diff}"
    );
    assert!(diff.contains("<instance-id:1>"), "{diff}");
    assert!(!diff.contains(a) && !diff.contains(b), "{diff}");

    // Write, read back, compare with itself: no difference.
    let dir = tempfile::tempdir().unwrap();
    let path = recording::write(dir.path(), &rec_a).unwrap();
    assert!(path.ends_with("aws-ec2.json"));
    let back = recording::read_dir(dir.path()).unwrap();
    assert_eq!(back, vec![rec_a.clone()]);
    assert!(recording::compare(&back[0], &rec_a).is_empty());
    // Not a recording: named file, both formats.
    std::fs::write(dir.path().join("x.json"), r#"{"format":"nope"}"#).unwrap();
    let err = recording::read(&dir.path().join("x.json"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("x.json") && err.contains("imds-conform.recording/1"),
        "{err}"
    );
}

#[test]
fn the_baseline_fails_only_on_a_change() {
    let a = "i-0123456789abcdef0";
    let reference = Recording::from_cases(
        &table("aws-ec2"),
        "aws",
        a,
        &[
            case(1, a, error("A", a), Verdict::Pass),
            case(2, a, error("B", a), Verdict::Pass),
            case(3, a, error("C", a), Verdict::Pass),
        ],
    );
    let target = |codes: [&str; 3]| {
        Recording::from_cases(
            &table("aws-ec2"),
            "moto",
            a,
            &[
                case(1, a, error(codes[0], a), Verdict::Pass),
                case(2, a, error(codes[1], a), Verdict::Pass),
                case(3, a, error(codes[2], a), Verdict::Pass),
            ],
        )
    };
    let entries =
        |codes| baseline::from_divergences(&recording::compare(&reference, &target(codes)));
    let known = Baseline::new("moto", "divergence", entries(["A", "X", "C"]));
    assert_eq!(known.entries.len(), 1);
    // The same divergence: unchanged.
    assert!(baseline::check(&known, &entries(["A", "X", "C"])).unchanged());
    // A new one, and the known one answering differently now.
    let c = baseline::check(&known, &entries(["A", "Y", "Z"]));
    assert_eq!(c.new.len(), 2);
    assert_eq!(c.gone.len(), 1);
    let text = baseline::describe(&c);
    assert!(text.contains("NEW   aws-ec2/coverage/0003"), "{text}");
    assert!(text.contains("GONE  aws-ec2/coverage/0002"), "{text}");
    // It went away.
    let c = baseline::check(&known, &entries(["A", "B", "C"]));
    assert_eq!((c.new.len(), c.gone.len()), (0, 1));

    // Round trip.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("b/moto.json");
    baseline::write(&p, &known).unwrap();
    assert_eq!(baseline::read(&p).unwrap(), known);
}

#[test]
fn failure_fingerprints_ignore_ids() {
    let report = |instance: &str, rid: &str| {
        let mut o = error("X", instance);
        if let Outcome::Error { request_id, .. } = &mut o {
            *request_id = Some(rid.into());
        }
        imds_conform::report::RunReport::new(
            imds_conform::report::RunMeta {
                tool_version: "0".into(),
                api: "aws-ec2".into(),
                target: "moto".into(),
                endpoint: "e".into(),
                region: "r".into(),
                instance: instance.into(),
                seed: 1,
                started_at: String::new(),
                finished_at: String::new(),
                signing: None,
            },
            vec![
                case(1, instance, o, Verdict::Fail { reason: "r".into() }),
                case(2, instance, error("Y", instance), Verdict::Pass),
            ],
        )
    };
    let specs = spec::builtin().expect("tables");
    let a = baseline::from_failures(&report("i-0123456789abcdef0", "r1"), &specs);
    let b = baseline::from_failures(&report("i-57988da148d0bed56", "r2"), &specs);
    assert_eq!(a.len(), 1);
    assert_eq!(a, b);
    assert_eq!(normalize::fingerprint(&1), normalize::fingerprint(&1));
}

/// A recording made by an older version may hold what a target echoed of its
/// secrets: read back, it is redacted, and lines up with a fresh recording of the
/// same answers (which is redacted when made).
#[test]
fn an_older_recording_is_read_back_redacted() {
    let a = "i-0123456789abcdef0";
    let echo =
        "The canonical string should have been 'POST\n/\n\nx-amz-security-token:SECRET-TOKEN-77\n'";
    let answer = Outcome::Error {
        status: 403,
        code: "SignatureDoesNotMatch".into(),
        message: echo.into(),
        request_id: None,
    };
    let cases = [case(1, a, answer, Verdict::Pass)];
    let fresh = Recording::from_cases(&table("aws-ec2"), "aws", a, &cases);
    assert!(!recording::to_json(&fresh).contains("SECRET-TOKEN-77"));
    // As an older version wrote it: the message as sent.
    let mut old = fresh.clone();
    if let Normalized::Error { message, .. } = &mut old.cases[0].outcome {
        *message = echo.into();
    } else {
        panic!("{:?}", old.cases[0].outcome);
    }
    let dir = tempfile::tempdir().unwrap();
    let raw = serde_json::to_string_pretty(&old).unwrap();
    assert!(raw.contains("SECRET-TOKEN-77"));
    std::fs::write(dir.path().join("aws-ec2.json"), raw).unwrap();
    let back = recording::read_dir(dir.path()).unwrap();
    assert!(!format!("{back:?}").contains("SECRET-TOKEN-77"), "{back:?}");
    assert!(recording::compare(&back[0], &fresh).is_empty());
}
