//! Report renderings: JSON round trip and read errors, JUnit structure, Markdown
//! order, reproducers, no secret in any written artifact, and file-name stems.

use std::collections::BTreeMap;
use std::path::Path;

use imds_conform::oracle::{Acceptable, AnswerShape, Auth, Expected, ReadingLabel};
use imds_conform::report::console::{failure_lines, summary_table};
use imds_conform::report::json::{read, to_json};
use imds_conform::report::junit::to_junit;
use imds_conform::report::markdown::to_markdown;
use imds_conform::report::repro::{case_stems, curl, file_stem, raw_http};
use imds_conform::report::{
    combine, write_all, write_run, ReportError, RunMeta, RunReport, REPORT_FORMAT,
};
use imds_conform::spec::{Citation, Status, StatusClass, Strength};
use imds_conform::verdict::{Actual, CaseResult, Exchange, Verdict};
use imds_conform::wire::{HttpRequest, HttpResponse, Outcome, RawParam};
use proptest::prelude::*;
use quick_xml::events::Event;
use serde_json::json;

const AWS_SECRET_SIG: &str = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef";
const ALI_SIG: &str = "QmFkU2lnbmF0dXJlVmFsdWU9PQ";
const ALI_KEY: &str = "LTAI5tVeryPrivateKeyId";
const SECRETS: &[&str] = &[
    "SECRET-TOKEN-123",
    "deadbeef",
    "AKIDEXAMPLE",
    ALI_SIG,
    ALI_KEY,
    "ALI-SEC-TOKEN-9",
];

/// Every one of `wants` is in `text`.
fn has_all(text: &str, wants: &[&str]) {
    for w in wants {
        assert!(text.contains(w), "missing {w:?} in\n{text}");
    }
}

/// None of `unwanted` is in `text`.
fn has_none(text: &str, unwanted: &[&str]) {
    for u in unwanted {
        assert!(!text.contains(u), "{u:?} in\n{text}");
    }
}

fn meta(api: &str) -> RunMeta {
    RunMeta {
        tool_version: "0.1.0".into(),
        api: api.into(),
        target: "emulator".into(),
        endpoint: "http://127.0.0.1:8080".into(),
        region: "us-east-1".into(),
        instance: "i-0123456789abcdef0".into(),
        seed: 42,
        started_at: "2025-01-02T03:04:05Z".into(),
        finished_at: "2025-01-02T03:04:17.500Z".into(),
        signing: imds_conform::spec::builtin_api(api)
            .ok()
            .flatten()
            .map(|s| imds_conform::report::SigningMeta::of(&s.api)),
    }
}

fn cite(quote: &str) -> Citation {
    Citation {
        doc: Some("002_ec2_modify.txt".into()),
        quote: Some(quote.into()),
        reference: None,
        key: None,
        note: None,
        strength: Strength::Documented,
    }
}

fn error_outcome(code: &str, status: u16, readings: Vec<ReadingLabel>) -> Acceptable {
    Acceptable {
        expected: Expected::Error {
            code: Some(code.into()),
            likely: None,
            status: Status::Exact(status),
            message: None,
        },
        rule: "HttpPutResponseHopLimit.range".into(),
        strength: Strength::Documented,
        cite: vec![cite("Possible values: Integers from 1 to 64")],
        readings,
    }
}

fn success_outcome(options: &[(&str, &str)], readings: Vec<ReadingLabel>) -> Acceptable {
    Acceptable {
        expected: Expected::Success {
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            states: vec!["pending".into()],
            shape: AnswerShape {
                options_path: Some("InstanceMetadataOptions".into()),
                state_field: Some("State".into()),
                fields: BTreeMap::new(),
            },
            targets_instance: true,
        },
        rule: "HttpTokens.values".into(),
        strength: Strength::Model,
        cite: vec![cite("HttpTokens: optional | required")],
        readings,
    }
}

fn label(a: &str, r: &str) -> ReadingLabel {
    ReadingLabel {
        ambiguity: a.into(),
        reading: r.into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn case(
    id: &str,
    api: &str,
    rule: &str,
    title: &str,
    request: Vec<RawParam>,
    expected: Vec<Acceptable>,
    actual: Actual,
    verdict: Verdict,
    exchanges: Vec<Exchange>,
) -> CaseResult {
    CaseResult {
        id: id.into(),
        api: api.into(),
        phase: "coverage".into(),
        rule: rule.into(),
        title: title.into(),
        operation: "ModifyInstanceMetadataOptions".into(),
        request,
        auth: Auth::Valid,
        ambiguities: expected
            .iter()
            .flat_map(|a| a.readings.iter().map(|r| r.ambiguity.clone()))
            .fold(Vec::new(), |mut v, a| {
                if !v.contains(&a) {
                    v.push(a);
                }
                v
            }),
        citation: expected
            .iter()
            .flat_map(|a| a.cite.iter().map(|c| c.short()))
            .collect(),
        expected,
        actual,
        verdict,
        findings: Vec::new(),
        exchanges,
        notes: vec![],
        duration_ms: 12.5,
    }
}

fn aws_exchange() -> Exchange {
    let req = HttpRequest {
        method: "POST".into(),
        path_and_query: "/".into(),
        headers: vec![
            ("Host".into(), "127.0.0.1:8080".into()),
            (
                "Content-Type".into(),
                "application/x-www-form-urlencoded; charset=utf-8".into(),
            ),
            ("X-Amz-Date".into(), "20250102T030405Z".into()),
            ("X-Amz-Security-Token".into(), "SECRET-TOKEN-123".into()),
            (
                "Authorization".into(),
                format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250102/us-east-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature={AWS_SECRET_SIG}"),
            ),
        ],
        body: b"Action=ModifyInstanceMetadataOptions&Version=2016-11-15&InstanceId=i-0123456789abcdef0&HttpPutResponseHopLimit=65".to_vec(),
    };
    let resp = HttpResponse {
        status: 200,
        headers: vec![("Content-Type".into(), "text/xml".into())],
        body: b"<ModifyInstanceMetadataOptionsResponse><requestId>r-1</requestId><return>true</return></ModifyInstanceMetadataOptionsResponse>".to_vec(),
    };
    Exchange::record("http://127.0.0.1:8080", &req, Some(&resp))
}

fn aliyun_exchange() -> Exchange {
    let req = HttpRequest {
        method: "POST".into(),
        path_and_query: format!(
            "/?Action=ModifyInstanceMetadataOptions&Version=2014-05-26&Format=JSON&AccessKeyId={ALI_KEY}&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&SignatureNonce=n-1&Timestamp=2025-01-02T03%3A04%3A05Z&SecurityToken=ALI-SEC-TOKEN-9&Signature={ALI_SIG}"
        ),
        headers: vec![
            ("Host".into(), "127.0.0.1:8080".into()),
            (
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
        ],
        body: b"RegionId=cn-hangzhou&InstanceId=i-bp1&HttpTokens=optionalish".to_vec(),
    };
    let resp = HttpResponse {
        status: 400,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: br#"{"RequestId":"R-2","Code":"InternalError","Message":"oops"}"#.to_vec(),
    };
    Exchange::record("http://127.0.0.1:8080", &req, Some(&resp))
}

/// A failing AWS case recorded with secrets in it.
fn ec2_fail() -> CaseResult {
    case(
        "aws-ec2/coverage/0003",
        "aws-ec2",
        "HttpPutResponseHopLimit.range",
        "HttpPutResponseHopLimit = 65 <b>&</b>",
        vec![
            RawParam::text("InstanceId", "i-0123456789abcdef0"),
            RawParam::text("HttpPutResponseHopLimit", "65"),
            RawParam::text("X-Amz-Security-Token", "SECRET-TOKEN-123"),
        ],
        vec![
            error_outcome("InvalidParameterValue", 400, vec![]),
            Acceptable {
                expected: Expected::Error {
                    code: None,
                    likely: Some("InvalidParameterValue".into()),
                    status: Status::Class(StatusClass::Client),
                    message: Some("bad \"hop\" limit".into()),
                },
                rule: "HttpPutResponseHopLimit.range".into(),
                strength: Strength::Inferred,
                cite: vec![],
                readings: vec![],
            },
        ],
        Actual::Outcome {
            outcome: Outcome::Success {
                status: 200,
                request_id: Some("r-1".into()),
                body: json!({"return": "true"}),
            },
        },
        Verdict::Fail {
            reason: "success (200), expected error InvalidParameterValue (400)".into(),
        },
        vec![aws_exchange()],
    )
}

/// pass, pass-under-reading, fail (AWS, recorded with secrets), error.
fn ec2_report() -> RunReport {
    let pass = case(
        "aws-ec2/coverage/0001",
        "aws-ec2",
        "HttpTokens.values",
        "HttpTokens = required",
        vec![
            RawParam::text("InstanceId", "i-0123456789abcdef0"),
            RawParam::text("HttpTokens", "required"),
        ],
        vec![success_outcome(&[("http_tokens", "required")], vec![])],
        Actual::Outcome {
            outcome: Outcome::Success {
                status: 200,
                request_id: Some("r-0".into()),
                body: json!({"return": "true"}),
            },
        },
        Verdict::Pass,
        vec![],
    );
    let under = case(
        "aws-ec2/coverage/0002",
        "aws-ec2",
        "HttpEndpoint.disabled_with_tokens",
        "HttpEndpoint = disabled, HttpTokens = required",
        vec![
            RawParam::text("InstanceId", "i-0123456789abcdef0"),
            RawParam::text("HttpEndpoint", "disabled"),
        ],
        vec![
            success_outcome(
                &[("http_endpoint", "disabled")],
                vec![label("endpoint-disabled-tokens", "accepted")],
            ),
            error_outcome(
                "InvalidParameterCombination",
                400,
                vec![label("endpoint-disabled-tokens", "refused")],
            ),
        ],
        Actual::Outcome {
            outcome: Outcome::Success {
                status: 200,
                request_id: None,
                body: json!({}),
            },
        },
        Verdict::PassUnderReading {
            readings: vec![label("endpoint-disabled-tokens", "accepted")],
            combinations: vec![vec![label("endpoint-disabled-tokens", "accepted")]],
        },
        vec![],
    );
    let fail = ec2_fail();
    let error = case(
        "aws-ec2/random/0004",
        "aws-ec2",
        "HttpTokens.values",
        "HttpTokens = \u{0}nul",
        vec![RawParam::json("HttpTokens", "null")],
        vec![error_outcome("InvalidParameterValue", 400, vec![])],
        Actual::Unjudgeable {
            reason: "connection reset by peer".into(),
        },
        Verdict::Error {
            reason: "connection reset by peer".into(),
        },
        vec![],
    );
    RunReport::new(meta("aws-ec2"), vec![pass, under, fail, error])
}

fn aliyun_report() -> RunReport {
    let fail = case(
        "aliyun-ecs/coverage/0001",
        "aliyun-ecs",
        "HttpTokens.values",
        "HttpTokens = optionalish",
        vec![
            RawParam::text("RegionId", "cn-hangzhou"),
            RawParam::text("InstanceId", "i-bp1"),
            RawParam::text("HttpTokens", "optionalish"),
            RawParam::text("Signature", ALI_SIG),
            RawParam::text("AccessKeyId", ALI_KEY),
        ],
        vec![error_outcome("InvalidHttpTokens.Malformed", 400, vec![])],
        Actual::Outcome {
            outcome: Outcome::Error {
                status: 400,
                code: "InternalError".into(),
                message: "oops".into(),
                request_id: Some("R-2".into()),
            },
        },
        Verdict::Fail {
            reason: "code InternalError, expected InvalidHttpTokens.Malformed".into(),
        },
        vec![aliyun_exchange()],
    );
    let mut m = meta("aliyun-ecs");
    m.region = "cn-hangzhou".into();
    RunReport::new(m, vec![fail])
}

fn assert_no_secret(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} contains secret {s:?}:\n{text}");
    }
}

// ---------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------

#[test]
fn json_round_trip_keeps_key_fields() {
    let report = ec2_report();
    let text = to_json(&report);
    assert_no_secret("report.json", &text);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    std::fs::write(&path, &text).unwrap();
    let back = read(&path).unwrap();
    assert_eq!(back.format, REPORT_FORMAT);
    assert_eq!(back.meta.api, "aws-ec2");
    assert_eq!(back.meta.seed, 42);
    assert_eq!(back.summary, report.summary);
    assert_eq!(back.cases.len(), report.cases.len());
    for (a, b) in back.cases.iter().zip(&report.cases) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.rule, b.rule);
        assert_eq!(a.verdict, b.verdict);
        assert_eq!(a.actual, b.actual);
        assert_eq!(a.expected, b.expected);
        assert_eq!(a.exchanges, b.exchanges);
    }
    // The parameter named like a secret is redacted in the JSON, not kept.
    assert!(back.cases[2]
        .request
        .iter()
        .any(|p| p.name == "X-Amz-Security-Token" && p.value.as_query_text() == "<redacted>"));
    // Stable: rendering the read-back report gives the same text.
    assert_eq!(to_json(&back), text);
}

#[test]
fn json_field_order_is_stable() {
    let text = to_json(&ec2_report());
    let order = [
        "\n  \"format\"",
        "\n  \"meta\"",
        "\n  \"summary\"",
        "\n  \"departures\"",
        "\n  \"readings\"",
        "\n  \"cases\"",
    ];
    let pos: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
    let case_keys = [
        "\"id\"",
        "\"api\"",
        "\"phase\"",
        "\"rule\"",
        "\"title\"",
        "\"operation\"",
        "\"request\"",
        "\"auth\"",
        "\"expected\"",
        "\"ambiguities\"",
        "\"actual\"",
        "\"verdict\"",
        "\"citation\"",
        "\"exchanges\"",
        "\"notes\"",
        "\"duration_ms\"",
    ];
    let first_case = &text[text.find("\n  \"cases\"").unwrap()..];
    let pos: Vec<usize> = case_keys
        .iter()
        .map(|k| first_case.find(k).unwrap())
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
}

/// Read `name` holding `text` (absent: no such file) in a fresh folder; the error,
/// which must name the file.
fn read_error(name: &str, text: Option<&str>) -> ReportError {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    if let Some(text) = text {
        std::fs::write(&path, text).unwrap();
    }
    let err = read(&path).unwrap_err();
    assert!(err.to_string().contains(name), "{err}");
    err
}

#[test]
fn read_missing_file_names_it() {
    let err = read_error("nope.json", None);
    assert!(matches!(err, ReportError::Missing { .. }), "{err:?}");
}

#[test]
fn read_not_json_names_the_file() {
    let err = read_error("garbage.json", Some("this is not json"));
    assert!(matches!(err, ReportError::NotJson { .. }), "{err:?}");
}

#[test]
fn read_wrong_format_names_file_and_formats() {
    let text = to_json(&ec2_report()).replace(REPORT_FORMAT, "imds-conform.report/0");
    let err = read_error("old.json", Some(&text));
    assert!(matches!(err, ReportError::WrongFormat { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("imds-conform.report/0"), "{msg}");
    assert!(msg.contains(REPORT_FORMAT), "{msg}");

    let err = read_error("other.json", Some(r#"{"hello": 1}"#));
    assert!(matches!(err, ReportError::WrongFormat { found: None, .. }));

    let broken = format!(r#"{{"format": "{REPORT_FORMAT}", "meta": 3}}"#);
    let err = read_error("broken.json", Some(&broken));
    assert!(matches!(err, ReportError::Invalid { .. }), "{err:?}");
}

#[test]
fn read_ignores_unknown_fields_within_format_1() {
    // Additive changes within /1: an older reader accepts a newer report.
    let mut v: serde_json::Value = serde_json::from_str(&to_json(&ec2_report())).unwrap();
    v["added_later"] = json!({"x": 1});
    v["cases"][0]["added_later"] = json!(true);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    std::fs::write(&path, v.to_string()).unwrap();
    assert_eq!(read(&path).unwrap().cases.len(), 4);
}

// ---------------------------------------------------------------------------
// JUnit
// ---------------------------------------------------------------------------

struct Suite {
    name: String,
    tests: usize,
    failures: usize,
    errors: usize,
    cases: usize,
    failure_elems: usize,
    error_elems: usize,
    system_out: usize,
}

fn attr(e: &quick_xml::events::BytesStart, name: &str) -> Option<String> {
    e.attributes()
        .map(|a| a.unwrap())
        .find(|a| a.key.as_ref() == name.as_bytes())
        .map(|a| a.unescape_value().unwrap().into_owned())
}

fn parse_junit(xml: &str) -> (Vec<Suite>, Vec<String>) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut suites: Vec<Suite> = Vec::new();
    let mut case_names = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                match name.as_str() {
                    "testsuite" => suites.push(Suite {
                        name: attr(&e, "name").unwrap(),
                        tests: attr(&e, "tests").unwrap().parse().unwrap(),
                        failures: attr(&e, "failures").unwrap().parse().unwrap(),
                        errors: attr(&e, "errors").unwrap().parse().unwrap(),
                        cases: 0,
                        failure_elems: 0,
                        error_elems: 0,
                        system_out: 0,
                    }),
                    "testcase" => {
                        let s = suites.last_mut().unwrap();
                        s.cases += 1;
                        let class = attr(&e, "classname").unwrap();
                        assert!(
                            s.name.replacen(": ", ".", 1) == class,
                            "{class} in {}",
                            s.name
                        );
                        assert!(attr(&e, "time").unwrap().parse::<f64>().is_ok());
                        case_names.push(attr(&e, "name").unwrap());
                    }
                    "failure" => {
                        assert!(attr(&e, "message").is_some());
                        suites.last_mut().unwrap().failure_elems += 1;
                    }
                    "error" => suites.last_mut().unwrap().error_elems += 1,
                    "system-out" => suites.last_mut().unwrap().system_out += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    (suites, case_names)
}

#[test]
fn junit_has_one_suite_per_rule_with_right_counts() {
    let report = ec2_report();
    let xml = to_junit(&report);
    assert_no_secret("junit.xml", &xml);
    let (suites, names) = parse_junit(&xml);
    let names_of: Vec<&str> = suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names_of,
        [
            "aws-ec2: departures",
            "aws-ec2: readings",
            "aws-ec2: HttpTokens.values",
            "aws-ec2: HttpEndpoint.disabled_with_tokens",
            "aws-ec2: HttpPutResponseHopLimit.range"
        ]
    );
    // One failing testcase per departure, its cases listed.
    let departures = &suites[0];
    assert_eq!((departures.tests, departures.failures), (1, 1));
    assert!(xml.contains("aws-ec2/coverage/0003"), "{xml}");
    // One testcase per ambiguity touched, passing: read consistently.
    let readings = &suites[1];
    assert_eq!(
        (readings.tests, readings.failures, readings.system_out),
        (1, 0, 1)
    );
    let suites = &suites[2..];
    let tokens = &suites[0];
    assert_eq!(
        (tokens.tests, tokens.failures, tokens.errors, tokens.cases),
        (2, 0, 1, 2)
    );
    assert_eq!(tokens.error_elems, 1);
    let under = &suites[1];
    assert_eq!((under.tests, under.failures, under.errors), (1, 0, 0));
    assert_eq!(under.system_out, 1);
    assert!(xml.contains("endpoint-disabled-tokens=accepted"));
    let hop = &suites[2];
    assert_eq!((hop.tests, hop.failures, hop.errors), (1, 1, 0));
    assert_eq!(hop.failure_elems, 1);
    // Names are "{id} {title}", escaped and unescaped faithfully.
    assert!(
        names.contains(&"aws-ec2/coverage/0003 HttpPutResponseHopLimit = 65 <b>&</b>".to_string())
    );
    // A NUL cannot be carried by XML; it is spelled out.
    assert!(names.iter().any(|n| n.contains("\\u{0}nul")), "{names:?}");
    // The failure body has expected outcomes, actual and citation.
    assert!(xml.contains("error InvalidParameterValue (400)"));
    assert!(xml.contains("actual: success (200)"));
    assert!(xml.contains("Integers from 1 to 64"));
}

#[test]
fn junit_top_level_counts() {
    let xml = to_junit(&ec2_report());
    let mut reader = quick_xml::Reader::from_str(&xml);
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) if e.name().as_ref() == b"testsuites" => {
                // Four cases, one departure and one reading testcase.
                assert_eq!(attr(&e, "tests").as_deref(), Some("6"));
                assert_eq!(attr(&e, "failures").as_deref(), Some("2"));
                assert_eq!(attr(&e, "errors").as_deref(), Some("1"));
                return;
            }
            Event::Eof => panic!("no testsuites"),
            _ => {}
        }
    }
}

/// An ambiguity read inconsistently fails the run (exit 1): JUnit says so too, as a
/// failing testcase beside the consistent readings' passing ones.
#[test]
fn junit_fails_an_inconsistent_reading() {
    use imds_conform::verdict::readings::{AmbiguityReading, Witness};
    let reading = |ambiguity: &str, status: &str, witnesses: Vec<Witness>| AmbiguityReading {
        api: "aws-ec2".into(),
        ambiguity: ambiguity.into(),
        status: status.into(),
        readings: vec!["keep".into()],
        witnesses,
    };
    let witness = |case: &str, under: &str| Witness {
        case: case.into(),
        title: "HttpTokens missing".into(),
        passes_under: vec![under.into()],
    };
    let report = ec2_report().with_readings(vec![
        reading("ec2-http-tokens-omitted", "consistent", Vec::new()),
        reading(
            "ec2-metadata-tags-omitted",
            "inconsistent",
            vec![
                witness("aws-ec2/coverage/0010", "ec2-metadata-tags-omitted=keep"),
                witness(
                    "aws-ec2/random/0003",
                    "ec2-metadata-tags-omitted=reset-disabled",
                ),
            ],
        ),
    ]);
    assert!(!report.conforms());
    let xml = to_junit(&report);
    let (suites, names) = parse_junit(&xml);
    let readings = suites
        .iter()
        .find(|s| s.name == "aws-ec2: readings")
        .expect("a readings suite");
    assert_eq!(
        (readings.tests, readings.failures, readings.cases),
        (2, 1, 2)
    );
    assert_eq!((readings.failure_elems, readings.system_out), (1, 1));
    assert!(names.contains(&"ec2-metadata-tags-omitted".to_string()));
    assert!(
        xml.contains("aws-ec2/random/0003 passes only under"),
        "{xml}"
    );
    assert!(xml.contains("implements: keep"), "{xml}");
    // The top level counts them: four cases, one departure and these two readings;
    // two failures as before and the inconsistent reading.
    let mut reader = quick_xml::Reader::from_str(&xml);
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) if e.name().as_ref() == b"testsuites" => {
                assert_eq!(attr(&e, "tests").as_deref(), Some("7"));
                assert_eq!(attr(&e, "failures").as_deref(), Some("3"));
                return;
            }
            Event::Eof => panic!("no testsuites"),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------

#[test]
fn markdown_lists_failing_rules_first() {
    let md = to_markdown(&ec2_report());
    assert_no_secret("report.md", &md);
    let table = &md[md.find("## By rule").unwrap()..md.find("## Failures").unwrap()];
    let hop = table.find("HttpPutResponseHopLimit.range").unwrap();
    let tokens = table.find("HttpTokens.values").unwrap(); // has an error: failing
    let endpoint = table.find("HttpEndpoint.disabled_with_tokens").unwrap();
    assert!(tokens < endpoint, "{table}");
    assert!(hop < endpoint, "{table}");
}

#[test]
fn markdown_has_meta_failures_and_readings() {
    let md = to_markdown(&ec2_report());
    for want in [
        "aws-ec2",
        "emulator",
        "http://127.0.0.1:8080",
        "us-east-1",
        "i-0123456789abcdef0",
        "42",
        "2025-01-02T03:04:05Z",
        "12.5 s",
        "**Verdict: 1 DEPARTURE, 1 ERROR**",
        "## Departures",
        "`aws-ec2/D01`",
        "## Failures",
        "repro/aws-ec2_coverage_0003.sh",
        "repro/aws-ec2_coverage_0003.http",
        "repro/aws-ec2_random_0004.sh",
        "`HttpPutResponseHopLimit=\"65\"`",
        "`error InvalidParameterValue (400) [documented] (HttpPutResponseHopLimit.range)`",
        "Integers from 1 to 64",
        "## Readings",
        "| `aws-ec2` | `endpoint-disabled-tokens` | `accepted` |",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }
    // HTML from case text is escaped; control characters are spelled out.
    assert!(!md.contains("<b>"), "{md}");
    assert!(!md.contains('\0'), "{md}");
    assert!(md.contains("HttpTokens = \\\\u{0}nul"), "{md}");
    // Passing cases are not listed as failures.
    let failures = &md[md.find("## Failures").unwrap()..];
    assert!(!failures.contains("aws-ec2/coverage/0001"));
}

// ---------------------------------------------------------------------------
// Reproducers
// ---------------------------------------------------------------------------

#[test]
fn curl_for_aws_fail_signs_with_env_credentials() {
    let report = ec2_report();
    let fail = &report.cases[2];
    let c = curl(fail, &report.meta);
    assert_no_secret("curl", &c);
    has_all(
        &c,
        &[
            "--aws-sigv4 \"aws:amz:us-east-1:ec2\"",
            "$AWS_SECRET_ACCESS_KEY",
            "$AWS_ACCESS_KEY_ID",
            "x-amz-security-token: $AWS_SESSION_TOKEN",
            "--request 'POST'",
            "Content-Type: application/x-www-form-urlencoded",
            "HttpPutResponseHopLimit=65",
            "'http://127.0.0.1:8080/'",
        ],
    );
    has_none(&c, &["Authorization", "X-Amz-Date"]);
}

#[test]
fn curl_for_lightsail_uses_its_service() {
    // The signing name comes from the run's signing facts (the table's), not
    // from the API id.
    let mut report = ec2_report();
    report.meta = meta("aws-lightsail");
    let mut fail = report.cases[2].clone();
    fail.api = "aws-lightsail".into();
    let c = curl(&fail, &report.meta);
    assert!(c.contains("aws:amz:us-east-1:lightsail"), "{c}");
    if let Some(s) = &mut report.meta.signing {
        s.name = "other-service".into();
    }
    let c = curl(&fail, &report.meta);
    assert!(c.contains("aws:amz:us-east-1:other-service"), "{c}");
}

#[test]
fn curl_uses_the_tables_credential_variables_and_refuses_odd_ones() {
    let mut report = ec2_report();
    let fail = report.cases[2].clone();
    if let Some(s) = &mut report.meta.signing {
        s.credentials.access_key_id = "MY_KEY".into();
        s.credentials.secret = "MY_SECRET".into();
        s.credentials.session_token = None;
    }
    let c = curl(&fail, &report.meta);
    assert!(c.contains("--user \"$MY_KEY:$MY_SECRET\""), "{c}");
    assert!(!c.contains("session token") && !c.contains("\"$@\""), "{c}");
    // A name the shell would do more than expand is never written: the request
    // goes unsigned, with the replay command.
    if let Some(s) = &mut report.meta.signing {
        s.credentials.secret = "X$(touch pwned)".into();
    }
    let c = curl(&fail, &report.meta);
    assert!(!c.contains("pwned") && !c.contains("--user"), "{c}");
    assert!(c.contains("imds-conform replay"), "{c}");
    // Without signing facts (an older report), nothing is signed either.
    report.meta.signing = None;
    let c = curl(&fail, &report.meta);
    assert!(!c.contains("--user"), "{c}");
}

#[test]
fn curl_for_alibaba_is_unsigned_and_points_to_replay() {
    let report = aliyun_report();
    let c = curl(&report.cases[0], &report.meta);
    assert_no_secret("curl", &c);
    has_all(
        &c,
        &[
            "imds-conform replay",
            "'aliyun-ecs/coverage/0001'",
            "Action=ModifyInstanceMetadataOptions",
            "HttpTokens=optionalish",
        ],
    );
    has_none(
        &c,
        &["--aws-sigv4", "Signature=", "AccessKeyId=", "<redacted>"],
    );
}

#[test]
fn raw_http_has_request_and_response() {
    let report = ec2_report();
    let h = raw_http(&report.cases[2]);
    assert_no_secret("raw http", &h);
    has_all(
        &h,
        &[
            "POST / HTTP/1.1\n",
            "Host: 127.0.0.1:8080\n",
            "SignedHeaders=content-type;host;x-amz-date",
            "HTTP/1.1 200 OK\n",
            "<return>true</return>",
        ],
    );
}

#[test]
fn curl_scripts_are_valid_shell() {
    // `sh -n` parses without running; skip quietly where there is no sh.
    let dir = tempfile::tempdir().unwrap();
    // A hostile case: quotes, substitutions and newlines in every text field.
    let mut hostile = ec2_report();
    hostile.meta.region = "us-east-1\"$(touch pwned)`x`".into();
    hostile.meta.target = "t\n$(touch pwned)".into();
    for c in &mut hostile.cases {
        c.id = format!("{}'\n$(touch pwned)", c.id);
        c.title = "a\nb'c\"d$(touch pwned)".into();
        for ex in &mut c.exchanges {
            ex.request.body.push_str("&X='\n$(touch pwned)`");
        }
    }
    hostile.meta.api = "aws-ec2-hostile".into();
    let written = write_run(dir.path(), &[ec2_report(), aliyun_report(), hostile]).unwrap();
    for f in written
        .files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "sh"))
    {
        match std::process::Command::new("sh").arg("-n").arg(f).output() {
            Ok(out) => assert!(
                out.status.success(),
                "{}: {}\n{}",
                f.display(),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(f).unwrap()
            ),
            Err(_) => return,
        }
    }
    // Running the hostile scripts (with a stand-in curl) executes nothing from the data.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let bin = tempfile::tempdir().unwrap();
        let fake = bin.path().join("curl");
        std::fs::write(&fake, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cwd = tempfile::tempdir().unwrap();
        let path = format!("{}:/usr/bin:/bin", bin.path().display());
        for f in written.files.iter().filter(|f| {
            f.to_string_lossy().contains("hostile") && f.extension().is_some_and(|e| e == "sh")
        }) {
            let out = std::process::Command::new("sh")
                .arg(f)
                .current_dir(cwd.path())
                .env("PATH", &path)
                .output()
                .unwrap();
            let _ = out;
            assert!(
                !cwd.path().join("pwned").exists(),
                "{} ran injected code",
                f.display()
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

fn all_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn write_all_writes_every_artifact_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let report = ec2_report();
    let written = write_all(dir.path(), &report).unwrap();
    let on_disk = all_files(dir.path());
    assert_eq!(on_disk.len(), written.files.len());
    for name in [
        "report.json",
        "junit.xml",
        "report.md",
        "repro/aws-ec2_coverage_0003.sh",
        "repro/aws-ec2_coverage_0003.http",
        "repro/aws-ec2_random_0004.sh",
        "repro/aws-ec2_random_0004.http",
    ] {
        assert!(
            written.files.contains(&dir.path().join(name)),
            "{name} not written: {:?}",
            written.files
        );
    }
    for f in &on_disk {
        let text = std::fs::read_to_string(f).unwrap();
        assert_no_secret(&f.display().to_string(), &text);
    }
    let sh = std::fs::read_to_string(dir.path().join("repro/aws-ec2_coverage_0003.sh")).unwrap();
    assert!(sh.starts_with("#!/bin/sh\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("repro/aws-ec2_coverage_0003.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "{mode:o}");
    }
    // The written report.json reads back.
    assert_eq!(
        read(&dir.path().join("report.json")).unwrap().cases.len(),
        4
    );
}

/// An endpoint given with userinfo (`http://user:password@host`) is named
/// without it in every file: report.json's meta, report.md, the reproducers.
#[test]
fn an_endpoint_s_userinfo_reaches_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = ec2_report();
    report.meta.endpoint = "http://admin:hunter2-pass@127.0.0.1:4566/".into();
    write_all(dir.path(), &report).unwrap();
    let mut named = 0;
    for f in all_files(dir.path()) {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(!text.contains("hunter2-pass"), "{}: {text}", f.display());
        assert!(!text.contains("admin:"), "{}", f.display());
        named += usize::from(text.contains("127.0.0.1:4566"));
    }
    // Still named, host and port: report.json, report.md and the reproducers.
    assert!(named >= 3, "the endpoint is named in {named} files");
}

#[test]
fn write_all_alibaba_has_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), &aliyun_report()).unwrap();
    for f in all_files(dir.path()) {
        let text = std::fs::read_to_string(&f).unwrap();
        assert_no_secret(&f.display().to_string(), &text);
    }
}

#[test]
fn write_run_combines_and_splits_by_api() {
    let dir = tempfile::tempdir().unwrap();
    let reports = [ec2_report(), aliyun_report()];
    let written = write_run(dir.path(), &reports).unwrap();
    for f in all_files(dir.path()) {
        let text = std::fs::read_to_string(&f).unwrap();
        assert_no_secret(&f.display().to_string(), &text);
    }
    let combined = read(&dir.path().join("report.json")).unwrap();
    assert_eq!(combined.meta.api, "all");
    assert_eq!(combined.cases.len(), 5);
    assert_eq!(combined.summary.fail, 2);
    assert_eq!(combined.meta.region, "us-east-1,cn-hangzhou");
    for sub in ["aws-ec2", "aliyun-ecs"] {
        let r = read(&dir.path().join(sub).join("report.json")).unwrap();
        assert_eq!(r.meta.api, sub);
        assert!(dir.path().join(sub).join("junit.xml").exists());
        assert!(dir.path().join(sub).join("report.md").exists());
    }
    assert!(dir
        .path()
        .join("aliyun-ecs/repro/aliyun-ecs_coverage_0001.sh")
        .exists());
    let index = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(index.contains("(aws-ec2/report.md)"), "{index}");
    assert!(index.contains("(aliyun-ecs/report.md)"), "{index}");
    let (suites, _) = parse_junit(&std::fs::read_to_string(dir.path().join("junit.xml")).unwrap());
    assert!(suites
        .iter()
        .any(|s| s.name == "aliyun-ecs: HttpTokens.values"));
    assert!(suites
        .iter()
        .any(|s| s.name == "aws-ec2: HttpTokens.values"));
    assert!(written.files.len() > 10);

    // One API against two targets: distinct subfolders.
    let mut other = ec2_report();
    other.meta.target = "moto".into();
    let dir2 = tempfile::tempdir().unwrap();
    write_run(dir2.path(), &[ec2_report(), other]).unwrap();
    assert!(dir2.path().join("aws-ec2-emulator/report.json").exists());
    assert!(dir2.path().join("aws-ec2-moto/report.json").exists());
    let combined = read(&dir2.path().join("report.json")).unwrap();
    assert_eq!(combined.meta.api, "aws-ec2");
    assert_eq!(combined.meta.target, "emulator,moto");
}

#[test]
fn combine_takes_time_extremes() {
    let mut a = ec2_report();
    let mut b = aliyun_report();
    a.meta.started_at = "2025-01-02T03:00:00Z".into();
    a.meta.finished_at = "2025-01-02T03:10:00Z".into();
    b.meta.started_at = "2025-01-02T02:00:00Z".into();
    b.meta.finished_at = "2025-01-02T02:30:00Z".into();
    let c = combine(&[a, b]);
    assert_eq!(c.meta.started_at, "2025-01-02T02:00:00Z");
    assert_eq!(c.meta.finished_at, "2025-01-02T03:10:00Z");
}

// ---------------------------------------------------------------------------
// Console
// ---------------------------------------------------------------------------

#[test]
fn console_table_and_failure_lines() {
    let t = summary_table(&[ec2_report(), aliyun_report()]);
    let lines: Vec<&str> = t.lines().collect();
    assert!(lines[0].starts_with("API"), "{t}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("aws-ec2") && l.ends_with("1 DEPARTURE, 1 ERROR")),
        "{t}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("aliyun-ecs") && l.ends_with("1 DEPARTURE")),
        "{t}"
    );
    let total = lines.last().unwrap();
    assert!(
        total.starts_with("TOTAL") && total.ends_with("2 DEPARTURES, 1 ERROR"),
        "{t}"
    );
    // Fixed width: the CASES column ends at the same place on every data row.
    let header_end = lines[0].find("CASES").unwrap() + "CASES".len();
    for l in lines.iter().filter(|l| !l.starts_with('-')).skip(1) {
        assert!(l.as_bytes()[header_end - 1].is_ascii_digit(), "{l:?}\n{t}");
    }
    let f = failure_lines(&ec2_report(), 1);
    assert_eq!(f.lines().count(), 2, "{f}");
    assert!(
        f.starts_with("FAIL  aws-ec2/coverage/0003  HttpPutResponseHopLimit.range  success (200)"),
        "{f}"
    );
    assert!(f.contains("1 more"), "{f}");
    let f = failure_lines(&ec2_report(), 10);
    assert!(
        f.contains("ERROR aws-ec2/random/0004  HttpTokens.values  connection reset"),
        "{f}"
    );
    let ok = RunReport::new(meta("aws-ec2"), vec![ec2_report().cases[0].clone()]);
    assert!(summary_table(&[ok])
        .lines()
        .last()
        .unwrap()
        .ends_with("CONFORMS"));
}

// ---------------------------------------------------------------------------
// File stems
// ---------------------------------------------------------------------------

#[test]
fn file_stem_examples() {
    assert_eq!(file_stem("aws-ec2/coverage/0042"), "aws-ec2_coverage_0042");
    assert_eq!(file_stem(""), "case");
    assert_eq!(file_stem("../../etc/passwd"), "-._.-_etc_passwd");
    assert!(!file_stem("a..b").contains(".."));
    assert!(!file_stem("x.").ends_with('.'));
}

fn with_ids(ids: &[String]) -> Vec<CaseResult> {
    let base = ec2_report().cases[0].clone();
    ids.iter()
        .map(|id| {
            let mut c = base.clone();
            c.id = id.clone();
            c
        })
        .collect()
}

proptest! {
    #[test]
    fn file_stems_are_safe(id in any::<String>()) {
        let s = file_stem(&id);
        prop_assert!(!s.is_empty());
        prop_assert!(!s.contains('/'));
        prop_assert!(!s.contains('\\'));
        prop_assert!(!s.contains(".."));
        prop_assert!(!s.contains('\0'));
        prop_assert!(!s.starts_with('.'));
        prop_assert!(!s.ends_with('.'));
        prop_assert!(s.len() <= 120);
        prop_assert!(s.is_ascii());
    }

    #[test]
    fn case_stems_never_collide(
        ids in proptest::collection::hash_set(
            prop_oneof!["[a-zA-Z/._-]{0,6}", any::<String>(), "[aA]{130,140}"], 0..30)
    ) {
        let ids: Vec<String> = ids.into_iter().collect();
        let stems = case_stems(&with_ids(&ids));
        prop_assert_eq!(stems.len(), ids.len());
        let mut lower: Vec<String> = stems.iter().map(|s| s.to_ascii_lowercase()).collect();
        lower.sort();
        lower.dedup();
        prop_assert_eq!(lower.len(), ids.len(), "stems collide: {:?}", stems);
        for s in &stems {
            prop_assert!(!s.contains('/') && !s.contains("..") && !s.is_empty());
        }
    }
}

/// Writes a sample run to `$IMDS_REPORT_SAMPLE` (for docs/report-format.md).
#[test]
fn sample_for_docs() {
    if let Ok(dir) = std::env::var("IMDS_REPORT_SAMPLE") {
        write_run(Path::new(&dir), &[ec2_report(), aliyun_report()]).unwrap();
    }
}

// ---------------------------------------------------------------------------
// Console progress reporter
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_progress_reporter_counts_verdicts_and_writes_notes() {
    use imds_conform::report::console::Progress;
    use imds_conform::runner::Event as RunEvent;
    let report = ec2_report();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tx.send(RunEvent::ApiStarted {
        api: "aws-ec2".into(),
        planned: report.cases.len(),
    })
    .unwrap();
    for c in &report.cases {
        tx.send(RunEvent::CaseFinished(Box::new(c.clone())))
            .unwrap();
    }
    tx.send(RunEvent::Note {
        api: "aws-ec2".into(),
        message: "instance restored".into(),
    })
    .unwrap();
    let reading = imds_conform::AmbiguityReading {
        api: "aws-ec2".into(),
        ambiguity: "hop-limit-upper-bound".into(),
        status: "consistent".into(),
        readings: vec!["64".into()],
        witnesses: Vec::new(),
    };
    tx.send(RunEvent::ApiFinished {
        api: "aws-ec2".into(),
        readings: vec![reading.clone()],
    })
    .unwrap();
    drop(tx);
    let mut notes: Vec<u8> = Vec::new();
    let mut progress = Progress::new(indicatif::ProgressDrawTarget::hidden(), &mut notes);
    progress.consume(rx).await;
    let counted = progress.finish();
    // The readings the runner folded reach the report through the reporter.
    assert_eq!(counted.readings.len(), 1);
    assert_eq!(counted.readings["aws-ec2"], vec![reading]);
    // The counts are the report's own summary, recounted from the events.
    assert_eq!(counted.summaries.len(), 1);
    let s = &counted.summaries["aws-ec2"];
    assert_eq!(
        (s.total, s.pass, s.pass_under_reading, s.fail, s.error),
        (
            report.summary.total,
            report.summary.pass,
            report.summary.pass_under_reading,
            report.summary.fail,
            report.summary.error
        )
    );
    assert!(s.fail + s.error > 0, "the fixture has failures");
    // A hidden bar (not a terminal) sends notes to the writer.
    assert_eq!(
        String::from_utf8(notes).unwrap(),
        "aws-ec2: instance restored\n"
    );
}

/// A run that stopped early (an error, or Ctrl-C) is no verdict on the target,
/// whatever its cases show: every rendering says INCOMPLETE and why, the JSON
/// keeps the reason, JUnit has an errored `run` testcase, the matrix marks the
/// score, and combining keeps it. A finished run's JSON has no such key.
#[test]
fn an_incomplete_run_says_so_everywhere_and_never_conforms() {
    use imds_conform::report::matrix::{self, MatrixInput};
    let why = "stopped by an error: cannot reach http://127.0.0.1:9: connection refused";
    let finished = ec2_report();
    assert!(!to_json(&finished).contains("incomplete"));

    // Even a report of passing cases only does not conform once incomplete.
    let mut passing = ec2_report();
    passing.cases.retain(|c| c.verdict == Verdict::Pass);
    passing.departures.clear();
    passing.readings.clear();
    passing.summary = imds_conform::verdict::Summary::of(&passing.cases);
    assert!(passing.conforms(), "the passing cases alone conform");
    let passing = passing.stopped_early("interrupted");
    assert!(!passing.conforms());
    assert!(to_markdown(&passing).contains("**Verdict: INCOMPLETE**"));

    let r = ec2_report().stopped_early(why);
    assert!(!r.conforms());
    let md = to_markdown(&r);
    has_all(
        &md,
        &[
            "**Verdict: 1 DEPARTURE, 1 ERROR, INCOMPLETE**",
            "**Incomplete:** stopped by an error: cannot reach",
            "covers only the cases judged before it",
        ],
    );
    let back: RunReport = serde_json::from_str(&to_json(&r)).expect("round trip");
    assert_eq!(back.incomplete.as_deref(), Some(why));
    assert!(summary_table(std::slice::from_ref(&r)).contains("INCOMPLETE"));

    let xml = to_junit(&r);
    has_all(
        &xml,
        &[
            "<testsuite name=\"aws-ec2: run\" tests=\"1\" failures=\"0\" errors=\"1\"",
            "name=\"the run finished\"",
            "type=\"incomplete\"",
        ],
    );
    let mut reader = quick_xml::Reader::from_str(&xml);
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) if e.name().as_ref() == b"testsuites" => {
                // As in junit_top_level_counts, plus the errored run testcase.
                assert_eq!(attr(&e, "tests").as_deref(), Some("7"));
                assert_eq!(attr(&e, "errors").as_deref(), Some("2"));
                break;
            }
            Event::Eof => panic!("no testsuites"),
            _ => {}
        }
    }

    let both = combine(&[r.clone(), aliyun_report()]);
    assert!(!both.conforms());
    assert_eq!(
        both.incomplete.as_deref(),
        Some(&*format!("aws-ec2: {why}"))
    );

    let m = matrix::build(&[MatrixInput {
        report: r,
        repro_dirs: Vec::new(),
    }]);
    let score = m.targets[0].scores[0].expect("an aws-ec2 score");
    assert!(score.incomplete && !score.clean());
    assert!(matrix::scores_markdown(&m).contains("INCOMPLETE (the run stopped early)"));
    assert!(matrix::to_html(&m).contains("<b>INCOMPLETE</b>"));
}

/// The line of `index` starting with `start`.
fn index_row(index: &str, start: &str) -> String {
    index
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start} in\n{index}"))
        .to_string()
}

/// The index page of a run names an incomplete API's verdict, and the total's.
#[test]
fn the_run_index_says_which_api_is_incomplete() {
    let r = ec2_report().stopped_early("interrupted");
    let index = imds_conform::report::markdown::run_index(
        &[r, aliyun_report()],
        &["aws-ec2".into(), "aliyun-ecs".into()],
    );
    let row = |start: &str| index_row(&index, start);
    assert!(row("| `aws-ec2`").contains("INCOMPLETE"), "{index}");
    assert!(!row("| `aliyun-ecs`").contains("INCOMPLETE"), "{index}");
    assert!(row("| **Total**").contains("INCOMPLETE"), "{index}");
    assert!(row("**Verdict:").contains("INCOMPLETE"), "{index}");
}

/// Each row of the index page says what that report's own summary says: the
/// passing cases a run does not keep still count, departures are named as such,
/// and inconsistent readings keep a report whose cases all pass from conforming.
/// (Rebuilt from the kept cases, a row read "CONFORMS" beside a total of
/// "2 INCONSISTENT READINGS", and "173 FAILURES" for 15 departures.)
#[test]
fn the_run_index_rows_say_what_each_report_says() {
    let mut kept_failing_only = aliyun_report();
    kept_failing_only.summary.total += 5;
    kept_failing_only.summary.pass += 5;
    let inconsistent = ec2_report().with_readings(vec![imds_conform::verdict::AmbiguityReading {
        api: "aws-ec2".into(),
        ambiguity: "ec2-http-tokens-omitted".into(),
        status: "inconsistent".into(),
        readings: Vec::new(),
        witnesses: Vec::new(),
    }]);
    let reports = [inconsistent, kept_failing_only];
    let index = imds_conform::report::markdown::run_index(
        &reports,
        &["aws-ec2".into(), "aliyun-ecs".into()],
    );
    let row = |start: &str| index_row(&index, start);
    for r in &reports {
        let line = row(&format!("| `{}`", r.meta.api));
        let verdict = imds_conform::report::text::report_verdict(r);
        assert!(
            line.contains(&format!("| {verdict} |")),
            "{line}\n{verdict}"
        );
        assert!(
            line.contains(&format!("| {} |", r.summary.total)),
            "{line}: total {}",
            r.summary.total
        );
    }
    assert!(!row("| `aws-ec2`").contains("CONFORMS"), "{index}");
    assert!(row("| `aliyun-ecs`").contains("DEPARTURE"), "{index}");
}

/// `departures` lists the ambiguities read inconsistently after the table: a
/// report that fails only on them printed "0 departure(s)" and nothing else.
#[test]
fn the_departures_listing_names_inconsistent_readings() {
    let consistent = ec2_report();
    assert_eq!(
        imds_conform::report::markdown::inconsistent_list(&consistent),
        ""
    );
    let r = ec2_report().with_readings(vec![imds_conform::verdict::AmbiguityReading {
        api: "aws-ec2".into(),
        ambiguity: "ec2-http-tokens-omitted".into(),
        status: "inconsistent".into(),
        readings: Vec::new(),
        witnesses: vec![imds_conform::verdict::readings::Witness {
            case: "aws-ec2/coverage/0004".into(),
            title: "HttpTokens missing".into(),
            passes_under: vec!["ec2-http-tokens-omitted=keep".into()],
        }],
    }]);
    let listed = imds_conform::report::markdown::inconsistent_list(&r);
    assert!(
        listed.contains("1 ambiguity(ies) read inconsistently"),
        "{listed}"
    );
    assert!(
        listed.contains("`ec2-http-tokens-omitted`")
            && listed.contains("aws-ec2/coverage/0004")
            && listed.contains("ec2-http-tokens-omitted=keep"),
        "{listed}"
    );
}

/// Answers that echo what was signed, the way real services do in their
/// signature errors, or a credential document: none of it may reach a report,
/// whether the exchange was recorded by this run or read from an older report.
fn echoing_answers() -> Vec<(u16, &'static str)> {
    vec![
        // AWS: the canonical request, a header line per signed header, in XML.
        (403, "<Response><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The canonical string for this request should have been 'POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:127.0.0.1\nx-amz-security-token:SECRET-TOKEN-123\n' and Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250102/us-east-1/ec2/aws4_request, Signature=deadbeef01</Message></Error></Errors></Response>"),
        // Alibaba: the string to sign, percent-encoded once, in JSON.
        (400, r#"{"RequestId":"R-9","Code":"IncompleteSignature","Message":"Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId%3DLTAI5tVeryPrivateKeyId%26SecurityToken%3DALI-SEC-TOKEN-9%26SignatureNonce%3Dn-7"}"#),
        // A JSON protocol: the canonical request inside a JSON string, its newlines
        // escaped.
        (400, r#"{"__type":"InvalidSignatureException","message":"The canonical string for this request should have been 'POST\n/\n\nhost:127.0.0.1\nx-amz-security-token:SECRET-TOKEN-123\n'"}"#),
        // Twice encoded.
        (400, "bad request: SecurityToken%253DALI-SEC-TOKEN-9%2526Action%253DX"),
        // A credential document, as JSON and as XML.
        (200, r#"{"Code":"Success","AccessKeyId":"AKIDEXAMPLE","SecretAccessKey":"deadbeef02","Token":"SECRET-TOKEN-123"}"#),
        (200, "<Credentials><AccessKeyId>AKIDEXAMPLE</AccessKeyId><SessionToken>x</SessionToken><Token>SECRET-TOKEN-123</Token></Credentials>"),
    ]
}

#[test]
fn secrets_an_answer_echoes_never_reach_a_report() {
    let req = HttpRequest {
        method: "POST".into(),
        path_and_query: "/".into(),
        headers: vec![("Host".into(), "127.0.0.1:8080".into())],
        body: b"Action=ModifyInstanceMetadataOptions".to_vec(),
    };
    let mut recorded = Vec::new();
    let mut as_read = Vec::new();
    for (status, body) in echoing_answers() {
        let resp = HttpResponse {
            status,
            headers: vec![("x-amz-security-token".into(), "SECRET-TOKEN-123".into())],
            body: body.as_bytes().to_vec(),
        };
        let ex = Exchange::record("http://127.0.0.1:8080", &req, Some(&resp));
        let shown = ex.response.as_ref().unwrap();
        assert_no_secret("a recorded answer", &format!("{:?}", shown));
        recorded.push(ex.clone());
        // As an older report holds it: unredacted.
        let mut raw = ex;
        let r = raw.response.as_mut().unwrap();
        r.body = body.into();
        r.headers = resp.headers.clone();
        as_read.push(raw);
    }
    // What is not secret stays, decoded only where a secret was found.
    let kept: Vec<String> = recorded
        .iter()
        .map(|e| e.response.as_ref().unwrap().body.clone())
        .collect();
    assert!(
        kept[0].contains("<Code>SignatureDoesNotMatch</Code>"),
        "{}",
        kept[0]
    );
    assert!(kept[0].contains("host:127.0.0.1\n"), "{}", kept[0]);
    assert!(kept[1].contains("SignatureNonce=n-7"), "{}", kept[1]);
    assert!(kept[2].contains(r#"\nhost:127.0.0.1\n"#), "{}", kept[2]);
    assert!(kept[4].contains(r#""Code":"Success""#), "{}", kept[4]);
    let plain = "<Response><RequestId>r-1</RequestId><Token-Count>3%</Token-Count></Response>";
    let untouched = Exchange::record(
        "http://127.0.0.1:8080",
        &req,
        Some(&HttpResponse {
            status: 200,
            headers: vec![],
            body: plain.as_bytes().to_vec(),
        }),
    );
    assert_eq!(untouched.response.unwrap().body, plain);

    for exchanges in [recorded, as_read] {
        let fail = case(
            "aws-ec2/coverage/0009",
            "aws-ec2",
            "HttpTokens.values",
            "echoed secrets",
            vec![],
            vec![error_outcome("InvalidParameterValue", 400, vec![])],
            Actual::Outcome {
                outcome: Outcome::Error {
                    status: 403,
                    code: "SignatureDoesNotMatch".into(),
                    message: "see the exchange".into(),
                    request_id: None,
                },
            },
            Verdict::Fail {
                reason: "code SignatureDoesNotMatch, expected InvalidParameterValue".into(),
            },
            exchanges,
        );
        let dir = tempfile::tempdir().unwrap();
        write_all(dir.path(), &RunReport::new(meta("aws-ec2"), vec![fail])).unwrap();
        let files = all_files(dir.path());
        assert!(files.len() >= 4, "{files:?}");
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            assert_no_secret(&f.display().to_string(), &text);
        }
    }
}

/// A report written by an older version, secrets and all (the target's message
/// quoting a string to sign, in the case, its departure and the reason the run
/// stopped): every command reads it through `read`, which hands it back redacted.
#[test]
fn an_older_report_is_read_back_redacted() {
    let echo = "Specified signature is not matched. server string to sign is:POST&%2F&AccessKeyId%3DLTAI5tVeryPrivateKeyId%26SecurityToken%3DALI-SEC-TOKEN-9";
    let fail = case(
        "aliyun-ecs/coverage/0001",
        "aliyun-ecs",
        "HttpTokens.values",
        "HttpTokens = required",
        vec![],
        vec![error_outcome("InvalidParameter", 400, vec![])],
        Actual::Outcome {
            outcome: Outcome::Error {
                status: 400,
                code: "SignatureDoesNotMatch".into(),
                message: echo.into(),
                request_id: None,
            },
        },
        Verdict::Fail {
            reason: format!("code SignatureDoesNotMatch ({echo}), expected a success"),
        },
        vec![],
    );
    let report = RunReport::new(meta("aliyun-ecs"), vec![fail])
        .stopped_early(format!("stopped by an error: 403 {echo}"));
    let raw = serde_json::to_string_pretty(&report).unwrap();
    assert!(
        raw.contains("ALI-SEC-TOKEN-9"),
        "the test's report holds the secret"
    );
    assert!(!report.departures.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    std::fs::write(&path, raw).unwrap();
    let back = read(&path).unwrap();
    let shown = serde_json::to_string_pretty(&back).unwrap();
    assert_no_secret("the report as read", &shown);
    assert!(back
        .incomplete
        .as_deref()
        .unwrap()
        .starts_with("stopped by an error: 403"));
}
