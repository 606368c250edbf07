//! The conformance matrix, from realistic reports: three targets (`emulator`,
//! `moto 5.2.5`, `LocalStack 4.14.0`), three APIs, several departures and an
//! inconsistent reading. The model and both renderings are checked everywhere;
//! the page is then opened in real headless Chromium (Debian's `chromium`,
//! installed by scripts/test) at 1400 px: a screenshot is kept as a CI artifact
//! (`target/ci-report/matrix-chromium.png`), and a copy of the page with a
//! measuring script appended (the published page has none) is dumped after layout
//! to check the cells, the chart, the readings table and that nothing overflows
//! the window. Without Chromium the browser part prints `skipped: …` and passes.

use std::path::{Path, PathBuf};
use std::process::Command;

use imds_conform::oracle::{Auth, ReadingLabel};
use imds_conform::report::matrix::{self, Cell, MatrixInput, ReadingCell};
use imds_conform::report::{self, RunMeta, RunReport};
use imds_conform::verdict::{Actual, CaseResult, Finding, FindingKind, Verdict};
use imds_conform::wire::{Outcome, RawParam};

const EC2: &str = "aws-ec2";
const LIGHTSAIL: &str = "aws-lightsail";
const ALIYUN: &str = "aliyun-ecs";
const MOTO: &str = "moto 5.2.5";
const LOCALSTACK: &str = "LocalStack 4.14.0";
/// A rule name no browser can break at a space: it must wrap, not widen the page.
const LONG_RULE: &str =
    "pairwise.HttpEndpoint+HttpTokens+HttpPutResponseHopLimit+InstanceMetadataTags+HttpProtocolIpv6";

fn case(api: &str, n: usize, rule: &str, request: &[(&str, &str)], verdict: Verdict) -> CaseResult {
    CaseResult {
        id: format!("{api}/coverage/{n:04}"),
        api: api.into(),
        phase: "coverage".into(),
        rule: rule.into(),
        title: format!("{rule} case {n}"),
        operation: "ModifyInstanceMetadataOptions".into(),
        request: std::iter::once(("InstanceId", "i-0123456789abcdef0"))
            .chain(request.iter().copied())
            .map(|(k, v)| RawParam::text(k, v))
            .collect(),
        auth: Auth::Valid,
        expected: Vec::new(),
        ambiguities: Vec::new(),
        actual: Actual::Outcome {
            outcome: Outcome::Success {
                status: 200,
                request_id: Some("r-1".into()),
                body: serde_json::json!({}),
            },
        },
        verdict,
        findings: Vec::new(),
        citation: vec!["[documented] 002.txt: \"Possible values: Integers from 1 to 64\"".into()],
        exchanges: Vec::new(),
        notes: Vec::new(),
        duration_ms: 1.0,
    }
}

fn label(ambiguity: &str, reading: &str) -> ReadingLabel {
    ReadingLabel {
        ambiguity: ambiguity.into(),
        reading: reading.into(),
    }
}

/// Passes under any of these readings (each a combination of one).
fn under(ambiguity: &str, readings: &[&str]) -> Verdict {
    let labels: Vec<ReadingLabel> = readings.iter().map(|r| label(ambiguity, r)).collect();
    Verdict::PassUnderReading {
        combinations: labels.iter().map(|l| vec![l.clone()]).collect(),
        readings: labels,
    }
}

/// A failing case with one finding.
fn failing(mut c: CaseResult, kind: FindingKind, expected: &str, got: &str) -> CaseResult {
    // A refusal's answer is an error, not the success `case` starts with: the calls
    // a target took are told by their answers.
    if matches!(kind, FindingKind::RefusedValid | FindingKind::WrongError) {
        let mut words = got.splitn(2, ' ');
        let status = words.next().and_then(|s| s.parse().ok()).unwrap_or(500);
        c.actual = Actual::Outcome {
            outcome: Outcome::Error {
                status,
                code: words.next().unwrap_or("InternalError").to_string(),
                message: String::new(),
                request_id: None,
            },
        };
    }
    c.verdict = Verdict::Fail {
        reason: format!("{got}, expected {expected}"),
    };
    c.findings = vec![Finding {
        kind,
        rule: c.rule.clone(),
        expected: expected.into(),
        got: got.into(),
        field: None,
        detail: format!("{got} where the docs say {expected}"),
        cite: c.citation.clone(),
    }];
    c
}

fn with_ambiguity(mut c: CaseResult, ambiguity: &str) -> CaseResult {
    c.ambiguities = vec![ambiguity.into()];
    c
}

fn report(target: &str, api: &str, cases: Vec<CaseResult>) -> RunReport {
    RunReport::new(
        RunMeta {
            tool_version: "0.1.0".into(),
            api: api.into(),
            target: target.into(),
            endpoint: "http://127.0.0.1:1".into(),
            region: "us-east-1".into(),
            instance: "i-0123456789abcdef0".into(),
            seed: 1,
            started_at: "2026-11-29T16:31:17Z".into(),
            finished_at: "2026-11-29T16:31:22Z".into(),
            signing: None,
        },
        cases,
    )
}

/// The EC2 cases every target runs, as a conforming target answers them.
fn ec2_cases() -> Vec<CaseResult> {
    vec![
        with_ambiguity(
            case(
                EC2,
                1,
                "baseline",
                // With the hop limit: moto's story below answers 500 whenever it is
                // omitted, so a call taken without it would belie that.
                &[("HttpPutResponseHopLimit", "1")],
                under("ec2-response-element", &["model", "doc-sample"]),
            ),
            "ec2-response-element",
        ),
        case(
            EC2,
            2,
            "HttpPutResponseHopLimit.range",
            &[("HttpPutResponseHopLimit", "0")],
            Verdict::Pass,
        ),
        case(
            EC2,
            3,
            "HttpPutResponseHopLimit.range",
            &[("HttpPutResponseHopLimit", "65")],
            Verdict::Pass,
        ),
        case(
            EC2,
            4,
            "HttpPutResponseHopLimit.absent",
            &[("DryRun", "false"), ("HttpTokens", "required")],
            Verdict::Pass,
        ),
        case(
            EC2,
            5,
            "HttpTokens.absent",
            &[("DryRun", "false"), ("HttpEndpoint", "enabled")],
            Verdict::Pass,
        ),
        case(
            EC2,
            6,
            "HttpTokens.absent",
            &[("DryRun", "false"), ("HttpEndpoint", "disabled")],
            Verdict::Pass,
        ),
        case(
            EC2,
            7,
            "DryRun",
            &[("DryRun", "true"), ("HttpPutResponseHopLimit", "2")],
            Verdict::Pass,
        ),
        case(
            EC2,
            8,
            LONG_RULE,
            &[("HttpTokens", "optional"), ("HttpPutResponseHopLimit", "3")],
            Verdict::Pass,
        ),
    ]
    .into_iter()
    .map(|c| {
        if c.rule == "HttpTokens.absent" {
            CaseResult {
                verdict: under("ec2-http-tokens-omitted", &["keep"]),
                ..with_ambiguity(c, "ec2-http-tokens-omitted")
            }
        } else {
            c
        }
    })
    .collect()
}

/// Case 2 of `api`: hop limit 64 accepted, a pass under `reading` of `ambiguity`.
fn in_range(api: &str, param: &str, ambiguity: &str, reading: &str) -> CaseResult {
    let rule = format!("{param}.range");
    let c = case(
        api,
        2,
        &rule,
        &[(param, "64")],
        under(ambiguity, &[reading]),
    );
    with_ambiguity(c, ambiguity)
}

/// The emulator conforms on every API: one report per API, as `run` writes them.
fn emulator() -> Vec<RunReport> {
    let mut cases = ec2_cases();
    cases.push(case(LIGHTSAIL, 1, "baseline", &[], Verdict::Pass));
    cases.push(in_range(
        LIGHTSAIL,
        "httpPutResponseHopLimit",
        "lightsail-hop-limit-range",
        "ec2-range",
    ));
    cases.push(case(
        ALIYUN,
        1,
        "baseline",
        &[("RegionId", "cn-hangzhou")],
        Verdict::Pass,
    ));
    cases.push(in_range(
        ALIYUN,
        "HttpPutResponseHopLimit",
        "aliyun-hop-limit-range",
        "1-to-64",
    ));
    [EC2, LIGHTSAIL, ALIYUN]
        .into_iter()
        .map(|api| {
            let of_api = cases.iter().filter(|c| c.api == api).cloned().collect();
            report("emulator", api, of_api)
        })
        .collect()
}

/// The finding's rule is not the case's (a state-machine fact shows in cases of
/// any rule).
fn on_rule(mut c: CaseResult, rule: &str) -> CaseResult {
    for f in &mut c.findings {
        f.rule = rule.into();
    }
    c
}

/// moto: the hop limit's range unchecked, DryRun applied, a 500 whenever the hop
/// limit is omitted (EC2); Lightsail run as a second report of the same target.
fn moto() -> (RunReport, RunReport) {
    let ec2 = ec2_cases()
        .into_iter()
        .map(|c| match (c.rule.as_str(), c.id.as_str()) {
            ("HttpPutResponseHopLimit.range", _) => failing(
                c,
                FindingKind::AcceptedInvalid,
                "400 InvalidParameterValue",
                "200 success",
            ),
            ("DryRun", _) => failing(
                c,
                FindingKind::AcceptedInvalid,
                "412 DryRunOperation",
                "200 success",
            ),
            (_, id) if id.ends_with("0004") || id.ends_with("0005") || id.ends_with("0006") => {
                failing(c, FindingKind::RefusedValid, "success", "500 (HTML page)")
            }
            _ => c,
        })
        .collect();
    let lightsail = vec![
        case(LIGHTSAIL, 1, "baseline", &[], Verdict::Pass),
        failing(
            case(
                LIGHTSAIL,
                2,
                "httpPutResponseHopLimit.range",
                &[("httpPutResponseHopLimit", "65")],
                Verdict::Pass,
            ),
            FindingKind::AcceptedInvalid,
            "400 InvalidInputException",
            "200 success",
        ),
    ];
    (report(MOTO, EC2, ec2), report(MOTO, LIGHTSAIL, lightsail))
}

/// LocalStack: `state` always `applied`, and an omitted HttpTokens kept on one
/// call and reset on the next: an inconsistent reading.
fn localstack() -> RunReport {
    let cases = ec2_cases()
        .into_iter()
        .map(|c| match c.id.as_str() {
            "aws-ec2/coverage/0002" | "aws-ec2/coverage/0003" => failing(
                c,
                FindingKind::AcceptedInvalid,
                "400 InvalidParameterValue",
                "200 success",
            ),
            "aws-ec2/coverage/0006" => CaseResult {
                verdict: under("ec2-http-tokens-omitted", &["reset-optional"]),
                ..c
            },
            "aws-ec2/coverage/0001" | "aws-ec2/coverage/0007" => on_rule(
                failing(c, FindingKind::Answer, "pending", "applied"),
                "state_machine.on_modify",
            ),
            _ => c,
        })
        .collect();
    report(LOCALSTACK, EC2, cases)
}

fn input(report: RunReport, repro: &[(&str, &str)]) -> MatrixInput {
    MatrixInput {
        report,
        repro_dirs: repro
            .iter()
            .map(|(a, d)| (a.to_string(), d.to_string()))
            .collect(),
    }
}

fn built() -> matrix::Matrix {
    let (moto_ec2, moto_lightsail) = moto();
    let mut inputs: Vec<MatrixInput> = emulator().into_iter().map(|r| input(r, &[])).collect();
    inputs.extend([
        input(moto_ec2, &[(EC2, "../moto/aws-ec2/repro")]),
        input(
            moto_lightsail,
            &[(LIGHTSAIL, "../moto/aws-lightsail/repro")],
        ),
        input(localstack(), &[(EC2, "../localstack/aws-ec2/repro")]),
    ]);
    matrix::build(&inputs)
}

fn score(
    passed: usize,
    total: usize,
    departures: usize,
    inconsistent: usize,
) -> Option<matrix::Score> {
    Some(matrix::Score {
        passed,
        total,
        departures,
        inconsistent,
        incomplete: false,
    })
}

#[test]
fn targets_carry_name_version_and_a_score_per_api() {
    let m = built();
    let labels: Vec<&str> = m.targets.iter().map(|t| t.label.as_str()).collect();
    assert_eq!(labels, ["emulator", MOTO, LOCALSTACK]);
    assert_eq!(m.apis, [EC2, LIGHTSAIL, ALIYUN]);
    let [emu, moto, ls] = [&m.targets[0], &m.targets[1], &m.targets[2]];
    assert_eq!(
        (emu.name.as_str(), emu.version.as_deref()),
        ("emulator", None)
    );
    assert_eq!(
        (moto.name.as_str(), moto.version.as_deref()),
        ("moto", Some("5.2.5"))
    );
    assert_eq!(
        (ls.name.as_str(), ls.version.as_deref()),
        ("LocalStack", Some("4.14.0"))
    );
    assert_eq!(
        emu.scores,
        [score(8, 8, 0, 0), score(2, 2, 0, 0), score(2, 2, 0, 0)]
    );
    // moto's EC2: range (2 cases), DryRun (1) and the 500 when the hop limit is
    // omitted (3) are three departures; two of its reports fill one column.
    assert_eq!(moto.scores, [score(2, 8, 3, 0), score(1, 2, 1, 0), None]);
    assert_eq!(ls.scores, [score(4, 8, 2, 1), None, None]);
    assert_eq!(m.date, "2026-11-29");
    assert_eq!(m.tool_version, "0.1.0");
}

#[test]
fn departures_list_title_rule_count_and_reproducer_link() {
    let m = built();
    let moto = &m.targets[1];
    assert_eq!(moto.departures.len(), 4, "{:#?}", moto.departures);
    let omitted = moto
        .departures
        .iter()
        .find(|d| d.count == 3)
        .expect("the 500 departure");
    assert_eq!(
        omitted.rule, "HttpPutResponseHopLimit.absent",
        "{omitted:?}"
    );
    assert!(omitted.title.contains("500 (HTML page)"), "{omitted:?}");
    let range = moto
        .departures
        .iter()
        .find(|d| d.rule == "HttpPutResponseHopLimit.range")
        .expect("the range departure");
    assert_eq!(
        (range.count, range.reproducer.as_str()),
        (2, "aws-ec2/coverage/0002")
    );
    assert_eq!(
        range.repro.as_deref(),
        Some("../moto/aws-ec2/repro/aws-ec2_coverage_0002.sh")
    );
    let lightsail = moto
        .departures
        .iter()
        .find(|d| d.api == LIGHTSAIL)
        .expect("lightsail");
    assert_eq!(
        lightsail.repro.as_deref(),
        Some("../moto/aws-lightsail/repro/aws-lightsail_coverage_0002.sh")
    );
    let state = m.targets[2]
        .departures
        .iter()
        .find(|d| d.rule == "state_machine.on_modify")
        .expect("LocalStack's state departure");
    assert_eq!(state.count, 2);
    assert!(m.targets[0].departures.is_empty());
}

#[test]
fn readings_table_shows_each_targets_reading() {
    let m = built();
    let row = |api: &str, amb: &str| -> Vec<String> {
        m.readings
            .iter()
            .find(|r| r.api == api && r.ambiguity == amb)
            .unwrap_or_else(|| panic!("{api} {amb}: {:#?}", m.readings))
            .cells
            .iter()
            .map(|c| c.label())
            .collect()
    };
    // LocalStack's only case touching it fails: it tells no reading apart.
    assert_eq!(
        row(EC2, "ec2-response-element"),
        ["model | doc-sample", "model | doc-sample", "any"]
    );
    assert_eq!(
        row(EC2, "ec2-http-tokens-omitted"),
        ["keep", "any", "inconsistent"]
    );
    assert_eq!(
        row(LIGHTSAIL, "lightsail-hop-limit-range"),
        ["ec2-range", "—", "—"]
    );
    assert_eq!(row(ALIYUN, "aliyun-hop-limit-range"), ["1-to-64", "—", "—"]);
    let tokens = m
        .readings
        .iter()
        .find(|r| r.ambiguity == "ec2-http-tokens-omitted")
        .unwrap();
    match &tokens.cells[2] {
        ReadingCell::Inconsistent { witnesses } => {
            let all = witnesses.join("\n");
            assert!(
                all.contains("aws-ec2/coverage/0005") && all.contains("keep"),
                "{all}"
            );
            assert!(
                all.contains("aws-ec2/coverage/0006") && all.contains("reset-optional"),
                "{all}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rule_cells_say_pass_or_fail_only() {
    let m = built();
    let row = |rule: &str| m.rows.iter().find(|r| r.rule == rule).expect(rule);
    // Passing under a reading is a pass here: which reading is the Readings table's.
    let tokens = row("HttpTokens.absent");
    assert_eq!(tokens.cells[0], Cell::Pass { cases: 2 });
    assert!(matches!(tokens.cells[1], Cell::Fail { failing: 2, .. }));
    assert_eq!(tokens.cells[2], Cell::Pass { cases: 2 });
    match &row("HttpPutResponseHopLimit.range").cells[1] {
        Cell::Fail {
            cases: 2,
            failing: 2,
            first,
            repro: Some(link),
        } => {
            assert_eq!(first, "aws-ec2/coverage/0002");
            assert_eq!(link, "../moto/aws-ec2/repro/aws-ec2_coverage_0002.sh");
        }
        other => panic!("{other:?}"),
    }
    let baselines: Vec<&str> = m
        .rows
        .iter()
        .filter(|r| r.rule == "baseline")
        .map(|r| r.api.as_str())
        .collect();
    assert_eq!(
        baselines,
        [EC2, LIGHTSAIL, ALIYUN],
        "a row per API and rule"
    );
    for r in &m.rows {
        for c in &r.cells {
            let l = c.label();
            assert!(l == "pass" || l == "—" || l.starts_with("fail ("), "{l}");
        }
    }
}

#[test]
fn one_targets_reports_count_each_case_and_departure_once() {
    let (ec2, lightsail) = moto();
    let combined = report::combine(&[ec2.clone(), lightsail.clone()]);
    let m = matrix::build(&[input(combined, &[]), input(ec2, &[]), input(lightsail, &[])]);
    assert_eq!(m.targets.len(), 1);
    assert_eq!(m.targets[0].scores, [score(2, 8, 3, 0), score(1, 2, 1, 0)]);
    assert_eq!(m.targets[0].departures.len(), 4);
}

#[test]
fn runs_of_one_target_that_read_differently_are_inconsistent() {
    let mut keep = case(
        EC2,
        1,
        "HttpTokens.absent",
        &[],
        under("ec2-http-tokens-omitted", &["keep"]),
    );
    keep = with_ambiguity(keep, "ec2-http-tokens-omitted");
    let mut reset = keep.clone();
    reset.id = "aws-ec2/coverage/0002".into();
    reset.verdict = under("ec2-http-tokens-omitted", &["reset-optional"]);
    let m = matrix::build(&[
        input(report("peer", EC2, vec![keep]), &[]),
        input(report("peer", EC2, vec![reset]), &[]),
    ]);
    match &m.readings[0].cells[0] {
        ReadingCell::Inconsistent { witnesses } => {
            assert!(
                witnesses[0].contains("keep") && witnesses[1].contains("reset-optional"),
                "{witnesses:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(m.targets[0].scores[0], score(2, 2, 0, 1));
}

#[test]
fn versions_are_split_from_target_names() {
    for (label, name, version) in [
        ("moto 5.2.5", "moto", Some("5.2.5")),
        ("LocalStack 4.14.0", "LocalStack", Some("4.14.0")),
        ("fakecloud v0.3.1-rc1", "fakecloud", Some("v0.3.1-rc1")),
        ("emulator", "emulator", None),
        ("aws us-east-1", "aws us-east-1", None),
        ("10.0.0.1", "10.0.0.1", None),
        (" moto   5.2.5 ", "moto", Some("5.2.5")),
    ] {
        let (n, v) = matrix::split_version(label);
        assert_eq!((n.as_str(), v.as_deref()), (name, version), "{label}");
    }
}

#[test]
fn markdown_leads_with_scores_departures_and_readings() {
    let md = matrix::to_markdown(&built());
    let at = |needle: &str| {
        md.find(needle)
            .unwrap_or_else(|| panic!("{needle} in\n{md}"))
    };
    assert!(at("## Targets") < at("## Departures"));
    assert!(at("## Departures") < at("## Readings"));
    assert!(at("## Readings") < at("## Rules"));
    at("imds-conform 0.1.0 · runs finished by 2026-11-29 · 3 target(s) × 3 API(s)");
    at("| Target | Version | aws-ec2 | aws-lightsail | aliyun-ecs |");
    at("| moto | 5.2.5 | 2 / 8 cases pass · 3 departures | 1 / 2 cases pass · 1 departure | — |");
    at("| LocalStack | 4.14.0 | 4 / 8 cases pass · 2 departures · 1 inconsistent reading(s) | — | — |");
    at("### LocalStack 4.14.0 — 2 departure(s)");
    at("### emulator — 0 departure(s)\n\nNone: no case failed.");
    at("| 2 | [aws-ec2/coverage/0002](../moto/aws-ec2/repro/aws-ec2_coverage_0002.sh) |");
    at("| aws-ec2 | ec2-response-element | model \\| doc-sample |");
    at("**inconsistent**: aws-ec2/coverage/0005");
    at("[**fail (2)**](../moto/aws-ec2/repro/aws-ec2_coverage_0002.sh)");
    at("Rules per target (pass / fail): emulator: 10 / 0; moto 5.2.5: 3 / 5; LocalStack 4.14.0: 3 / 3.");
}

#[test]
fn hostile_names_stay_text() {
    let mut r = report("<img src=x onerror=alert(1)> | x 1.0", EC2, ec2_cases());
    r.cases[1] = failing(
        r.cases[1].clone(),
        FindingKind::AcceptedInvalid,
        "400",
        "200",
    );
    let m = matrix::build(&[input(r, &[(EC2, "javascript:alert(1)//")])]);
    let html = matrix::to_html(&m);
    let md = matrix::to_markdown(&m);
    assert!(!html.contains("<img") && html.contains("&lt;img"), "{html}");
    assert!(
        !html.contains("javascript:") && html.contains("javascript%3Aalert"),
        "{html}"
    );
    assert!(
        md.contains("\\<img src=x onerror=alert(1)\\> \\| x"),
        "{md}"
    );
    assert!(!md.contains("javascript:"), "{md}");
}

#[test]
fn the_page_is_self_contained_with_chart_and_tables() {
    let html = matrix::to_html(&built());
    for banned in [
        "<script", "http://", "https://", "<link", " src=", "@import", "url(",
    ] {
        assert!(!html.contains(banned), "{banned} in the page");
    }
    assert!(html.contains("<svg id=\"departures-chart\""));
    // One bar per target and API it ran: 3 + 2 + 1.
    assert_eq!(html.matches("<rect class=\"bar\"").count(), 6);
    assert!(html.contains("data-target=\"moto 5.2.5\" data-api=\"aws-ec2\" data-departures=\"3\""));
    for id in ["id=\"scores\"", "id=\"readings\"", "id=\"matrix\""] {
        assert_eq!(html.matches(id).count(), 1, "{id}");
    }
    assert_eq!(html.matches("<section class=\"departures\"").count(), 3);
}

fn chromium() -> Option<PathBuf> {
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(c).is_file() {
            return Some(c.into());
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("chromium"))
        .find(|p| p.is_file())
}

/// Headless Chromium at 1400 × 900, offline, with its own profile.
fn chromium_cmd(bin: &Path, profile: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--window-size=1400,900",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The three targets' runs written as `run --report` writes them, and the matrix
/// over their top-level reports built by the command, as `.ci/run` does.
fn write_matrix(dir: &Path) -> PathBuf {
    let (moto_ec2, moto_lightsail) = moto();
    report::write_run(&dir.join("emulator"), &emulator()).expect("write");
    report::write_run(&dir.join("moto"), &[moto_ec2, moto_lightsail]).expect("write");
    report::write_run(&dir.join("localstack"), &[localstack()]).expect("write");
    let out = dir.join("matrix");
    let status = Command::new(env!("CARGO_BIN_EXE_imds-conform"))
        .arg("matrix")
        .args(["emulator", "moto", "localstack"].map(|t| dir.join(t).join("report.json")))
        .arg("--out")
        .arg(&out)
        .status()
        .expect("run imds-conform matrix");
    assert!(status.success());
    out
}

/// What the appended script measured: `name=value` pairs from the dumped DOM.
fn probe_values(dom: &str) -> std::collections::BTreeMap<String, String> {
    let start = dom
        .find("data-probe-done")
        .unwrap_or_else(|| panic!("the probe ran: {dom}"));
    let tag_start = dom[..start].rfind('<').expect("tag");
    let tag_end = dom[start..].find('>').expect("tag end") + start;
    dom[tag_start..tag_end]
        .split(" data-probe-")
        .skip(1)
        .filter_map(|kv| {
            let (k, v) = kv.split_once("=\"")?;
            Some((
                k.to_string(),
                v.trim_end().trim_end_matches('"').replace("&quot;", "\""),
            ))
        })
        .collect()
}

/// Measures the laid-out page at the window's width: the page's and every
/// block's right edge, the first column's position, the long rule's wrapping and
/// every bar's width. Appended to a copy only; the published page has no script.
const PROBE: &str = r#"<script>
(() => {
  const b = document.body, d = document.documentElement;
  const set = (k, v) => b.setAttribute('data-probe-' + k, String(v));
  set('inner', innerWidth);
  set('scroll', d.scrollWidth);
  let right = 0;
  for (const e of document.querySelectorAll('body *')) {
    if (e.tagName === 'SCRIPT') continue;
    right = Math.max(right, Math.ceil(e.getBoundingClientRect().right));
  }
  set('right', right);
  set('sticky', getComputedStyle(document.querySelector('#matrix tbody th.key')).position);
  const h = r => document.querySelector('#matrix tr[data-rule="' + r + '"] th').getBoundingClientRect().height;
  set('long-rule-height', Math.round(h('LONG_RULE')));
  set('short-rule-height', Math.round(h('baseline')));
  set('bars', [...document.querySelectorAll('rect.bar')].map(r =>
    r.dataset.target + '/' + r.dataset.api + '=' + Math.round(r.getBoundingClientRect().width)).join(';'));
  set('done', 1);
})();
</script>"#;

#[test]
fn matrix_page_renders_in_headless_chromium() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = write_matrix(tmp.path());
    let html_path = out.join("matrix.html");
    let html = std::fs::read_to_string(&html_path).expect("matrix.html");
    let md = std::fs::read_to_string(out.join("matrix.md")).expect("matrix.md");
    // Departures and failing cells link to reproducers that exist, relative to the page.
    for link in [
        "../moto/aws-ec2/repro/aws-ec2_coverage_0002.sh",
        "../moto/aws-lightsail/repro/aws-lightsail_coverage_0002.sh",
        "../localstack/aws-ec2/repro/aws-ec2_coverage_0001.sh",
    ] {
        assert!(
            html.contains(&format!("href=\"{link}\"")),
            "{link} in the page"
        );
        assert!(md.contains(&format!("]({link})")), "{link} in matrix.md");
        assert!(out.join(link).is_file(), "{link} exists");
    }

    let Some(bin) = chromium() else {
        println!("skipped: chromium not installed (scripts/test installs it)");
        return;
    };
    screenshot(&bin, tmp.path(), &html_path);
    let probe = out.join("probe.html");
    std::fs::write(
        &probe,
        html.replace(
            "</body>",
            &format!("{}</body>", PROBE.replace("LONG_RULE", LONG_RULE)),
        ),
    )
    .expect("write probe");
    let dom = dump_dom(&bin, &tmp.path().join("profile-dom"), &probe);
    check_layout(&probe_values(&dom));
    check_cells(&dom);
}

/// A screenshot at 1400 × 900, kept as `target/ci-report/matrix-chromium.png`.
fn screenshot(bin: &Path, tmp: &Path, page: &Path) {
    let png = tmp.join("matrix.png");
    let shot = chromium_cmd(bin, &tmp.join("profile-shot"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(url(page))
        .output()
        .expect("chromium runs");
    assert!(
        shot.status.success(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let dim = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!((dim(16), dim(20)), (1400, 900), "the screenshot's size");
    // A blank 1400 × 900 page compresses to a few kB; tables, text and the chart don't.
    assert!(
        bytes.len() > 40_000,
        "screenshot only {} bytes",
        bytes.len()
    );
    let keep = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-report");
    if std::fs::create_dir_all(&keep).is_ok() {
        let _ = std::fs::write(keep.join("matrix-chromium.png"), &bytes);
    }
}

fn url(page: &Path) -> String {
    format!("file://{}", std::fs::canonicalize(page).unwrap().display())
}

fn dump_dom(bin: &Path, profile: &Path, page: &Path) -> String {
    let dom = chromium_cmd(bin, profile)
        .arg("--dump-dom")
        .arg(url(page))
        .output()
        .expect("chromium runs");
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

fn check_layout(p: &std::collections::BTreeMap<String, String>) {
    let num = |k: &str| -> i64 {
        p.get(k)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("probe {k}: {p:?}"))
    };
    assert_eq!(num("inner"), 1400, "laid out at 1400 px: {p:?}");
    assert!(num("scroll") <= 1400, "no horizontal scrolling: {p:?}");
    assert!(
        num("right") <= 1400,
        "nothing reaches past the window: {p:?}"
    );
    assert_eq!(p["sticky"], "sticky", "the first column is sticky");
    assert!(
        num("long-rule-height") > num("short-rule-height"),
        "the long rule name wraps: {p:?}"
    );
    let bars: std::collections::BTreeMap<&str, i64> = p["bars"]
        .split(';')
        .filter_map(|b| b.split_once('='))
        .map(|(k, v)| (k, v.parse().unwrap()))
        .collect();
    assert_eq!(bars.len(), 6, "a bar per target and API run: {bars:?}");
    assert_eq!(bars["emulator/aws-ec2"], 0, "{bars:?}");
    // moto 3 and LocalStack 2 departures on EC2, moto 1 on Lightsail.
    let (moto, ls, moto_ls) = (
        bars["moto 5.2.5/aws-ec2"],
        bars["LocalStack 4.14.0/aws-ec2"],
        bars["moto 5.2.5/aws-lightsail"],
    );
    assert!(moto > ls && ls > moto_ls && moto_ls > 0, "{bars:?}");
}

/// The rendered DOM, cell by cell.
fn check_cells(dom: &str) {
    let row = |attr: &str| -> String {
        let start = dom
            .find(attr)
            .unwrap_or_else(|| panic!("{attr} rendered: {dom}"));
        let end = dom[start..].find("</tr>").expect("row ends") + start;
        dom[start..end].to_string()
    };
    let range = row("data-rule=\"HttpPutResponseHopLimit.range\"");
    assert!(
        range.contains("class=\"pass\" data-target=\"emulator\""),
        "{range}"
    );
    assert!(
        range.contains("class=\"fail\" data-target=\"moto 5.2.5\""),
        "{range}"
    );
    assert!(
        range.contains("href=\"../moto/aws-ec2/repro/aws-ec2_coverage_0002.sh\">fail (2)</a>"),
        "{range}"
    );
    let tokens = row("data-rule=\"HttpTokens.absent\"");
    assert_eq!(tokens.matches("class=\"pass\"").count(), 2, "{tokens}");
    let reading = row("data-ambiguity=\"ec2-http-tokens-omitted\"");
    assert!(
        reading.contains("class=\"reading\" data-target=\"emulator\""),
        "{reading}"
    );
    assert!(reading.contains(">keep</td>"), "{reading}");
    let inconsistent = reading
        .split("<td ")
        .find(|c| c.contains("data-target=\"LocalStack 4.14.0\""))
        .expect("LocalStack's cell");
    assert!(
        inconsistent.starts_with("class=\"inconsistent\""),
        "{inconsistent}"
    );
    assert!(
        inconsistent.contains("aws-ec2/coverage/0005")
            && inconsistent.contains("aws-ec2/coverage/0006"),
        "the witnesses in the tooltip: {inconsistent}"
    );
    let score = row("<tr data-target=\"moto 5.2.5\">");
    assert!(
        score.contains(
            "data-api=\"aws-ec2\" data-passed=\"2\" data-total=\"8\" data-departures=\"3\""
        ),
        "{score}"
    );
    assert!(
        score.contains("<b>2 / 8</b> cases pass<br>3 departures"),
        "{score}"
    );
    let deps = dom
        .find("<section class=\"departures\" data-target=\"LocalStack 4.14.0\">")
        .map(|i| &dom[i..])
        .expect("LocalStack's departures");
    let deps = &deps[..deps.find("</section>").unwrap()];
    assert_eq!(deps.matches("<tr data-departure=").count(), 2, "{deps}");
    assert!(
        deps.contains("<code>state_machine.on_modify</code>"),
        "{deps}"
    );
}

/// `matrix --summary` prints what the README shows: the date, each target's version
/// and scores, the readings — and no links (reproducer paths mean nothing there).
#[test]
fn summary_prints_versions_scores_and_readings_without_links() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let (moto_ec2, moto_lightsail) = moto();
    report::write_run(&dir.join("emulator"), &emulator()).expect("write");
    report::write_run(&dir.join("moto"), &[moto_ec2, moto_lightsail]).expect("write");
    report::write_run(&dir.join("localstack"), &[localstack()]).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_imds-conform"))
        .arg("matrix")
        .arg("--summary")
        .args(["emulator", "moto", "localstack"].map(|t| dir.join(t)))
        .output()
        .expect("run imds-conform matrix --summary");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let first = text.lines().next().unwrap_or_default();
    assert!(first.contains("runs finished by 2026-11-29"), "{first}");
    assert!(
        text.contains("| moto | 5.2.5 | 2 / 8 cases pass · 3 departures |"),
        "{text}"
    );
    assert!(text.contains("| LocalStack | 4.14.0 |"), "{text}");
    assert!(
        text.contains("| aws-ec2 | ec2-http-tokens-omitted |"),
        "{text}"
    );
    assert!(!text.contains("]("), "no links: {text}");
    assert!(!dir.join("matrix.md").exists(), "--summary writes no file");
}

/// A refused valid call is named after the documented parameter its cases omit —
/// one sends it empty — not after a probe name (`ImdsConformUnknown`) that only a
/// few other cases send and these omit too.
#[test]
fn a_refusal_is_named_after_the_parameter_its_cases_omit_or_send_empty() {
    let refused =
        |c: CaseResult| failing(c, FindingKind::RefusedValid, "success", "500 InternalError");
    let cases = vec![
        case(
            EC2,
            1,
            "a",
            &[("HttpPutResponseHopLimit", "2")],
            Verdict::Pass,
        ),
        case(
            EC2,
            2,
            "b",
            &[("HttpPutResponseHopLimit", "3"), ("HttpTokens", "required")],
            Verdict::Pass,
        ),
        case(
            EC2,
            3,
            "c",
            &[
                ("HttpPutResponseHopLimit", "4"),
                ("ImdsConformUnknown", "1"),
            ],
            Verdict::Pass,
        ),
        refused(case(EC2, 4, "d", &[], Verdict::Pass)),
        refused(case(
            EC2,
            5,
            "e",
            &[("HttpTokens", "required")],
            Verdict::Pass,
        )),
        refused(case(
            EC2,
            6,
            "f",
            &[("HttpPutResponseHopLimit", "")],
            Verdict::Pass,
        )),
    ];
    let found = imds_conform::verdict::departures(&cases);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].rule, "HttpPutResponseHopLimit.absent");
    assert!(
        found[0]
            .title
            .contains("when HttpPutResponseHopLimit is omitted or empty where"),
        "{}",
        found[0].title
    );
    assert_eq!(found[0].count, 3);
    // Without the empty one it is just "omitted".
    let found = imds_conform::verdict::departures(&cases[..5]);
    assert!(
        found[0]
            .title
            .contains("when HttpPutResponseHopLimit is omitted where"),
        "{}",
        found[0].title
    );
}

/// A departure's reproducer shows it alone: of three cases whose read-back lacks
/// the same field, the smallest was also accepted unsigned, so the next smallest
/// is the reproducer (the unsigned one is the other departure's). When every case
/// shows something else too, the smallest is.
#[test]
fn a_departures_reproducer_is_the_smallest_case_that_shows_it_alone() {
    let lacks = |c: CaseResult| {
        let mut c = failing(
            c,
            FindingKind::Readback,
            "httpTokens",
            "the read-back lacks httpTokens",
        );
        // A read-back finding's rule is the read-back's, whatever the call's.
        c.findings[0].rule = "readback.fields".into();
        c
    };
    let mut unsigned = lacks(case(EC2, 1, "auth.unsigned", &[], Verdict::Pass));
    unsigned.findings.push(Finding {
        kind: FindingKind::AcceptedInvalid,
        rule: "auth.unsigned".into(),
        expected: "403 (any code)".into(),
        got: "200 success".into(),
        field: None,
        detail: "accepted (200 success) where the docs say 403".into(),
        cite: Vec::new(),
    });
    let cases = vec![
        lacks(case(
            EC2,
            3,
            "c",
            &[("HttpTokens", "required"), ("HttpEndpoint", "enabled")],
            Verdict::Pass,
        )),
        unsigned.clone(),
        lacks(case(
            EC2,
            2,
            "b",
            &[("HttpTokens", "optional")],
            Verdict::Pass,
        )),
    ];
    let found = imds_conform::verdict::departures(&cases);
    assert_eq!(found.len(), 2, "{found:#?}");
    let readback = found
        .iter()
        .find(|d| d.kind == FindingKind::Readback)
        .expect("the read-back departure");
    assert_eq!(readback.count, 3);
    assert_eq!(
        readback.reproducer, "aws-ec2/coverage/0002",
        "{readback:#?}"
    );
    assert!(
        readback.example.starts_with("b case 2:"),
        "{}",
        readback.example
    );
    let accepted = found
        .iter()
        .find(|d| d.kind == FindingKind::AcceptedInvalid)
        .expect("the unsigned departure");
    assert_eq!(accepted.reproducer, "aws-ec2/coverage/0001");
    // Only cases that show something else too: the smallest of them.
    let mut other = unsigned;
    other.id = "aws-ec2/coverage/0009".into();
    other.request.push(RawParam::text("HttpTokens", "required"));
    let found = imds_conform::verdict::departures(&[other, cases[1].clone()]);
    let readback = found
        .iter()
        .find(|d| d.kind == FindingKind::Readback)
        .expect("the read-back departure");
    assert_eq!(readback.reproducer, "aws-ec2/coverage/0001");
}
