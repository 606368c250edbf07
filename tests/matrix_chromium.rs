//! The conformance matrix: built from two synthetic reports, written with
//! `imds-conform matrix`, and opened in real headless Chromium (Debian's
//! `chromium`, installed by scripts/test): a screenshot is taken and the rendered
//! DOM is checked cell by cell. Without Chromium the browser part prints a skip
//! line and passes; the structure checks run everywhere.
use std::path::{Path, PathBuf};
use std::process::Command;

use imds_conform::oracle::{Auth, ReadingLabel};
use imds_conform::report::matrix::{self, Cell, MatrixInput};
use imds_conform::report::{self, RunMeta, RunReport};
use imds_conform::verdict::{Actual, CaseResult, Verdict};
use imds_conform::wire::{Outcome, RawParam};

fn case(api: &str, n: usize, rule: &str, verdict: Verdict) -> CaseResult {
    CaseResult {
        id: format!("{api}/coverage/{n:04}"),
        api: api.into(),
        phase: "coverage".into(),
        rule: rule.into(),
        title: format!("{rule} case {n}"),
        operation: "ModifyInstanceMetadataOptions".into(),
        request: vec![RawParam::text("InstanceId", "i-0123456789abcdef0")],
        auth: Auth::Valid,
        expected: Vec::new(),
        ambiguities: Vec::new(),
        actual: Actual::Outcome {
            outcome: Outcome::Error {
                status: 400,
                code: "InvalidParameterValue".into(),
                message: "no".into(),
                request_id: Some("r-1".into()),
            },
        },
        verdict,
        citation: Vec::new(),
        exchanges: Vec::new(),
        notes: Vec::new(),
        duration_ms: 1.0,
    }
}

fn report(target: &str, cases: Vec<CaseResult>) -> RunReport {
    RunReport::new(
        RunMeta {
            tool_version: "0.1.0".into(),
            api: "aws-ec2".into(),
            target: target.into(),
            endpoint: "http://127.0.0.1:1".into(),
            region: "us-east-1".into(),
            instance: "i-0123456789abcdef0".into(),
            seed: 1,
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: "2026-01-01T00:00:01Z".into(),
            signing: None,
        },
        cases,
    )
}

fn reading() -> Verdict {
    let keep = ReadingLabel {
        ambiguity: "hop-limit-absent".into(),
        reading: "keep".into(),
    };
    Verdict::PassUnderReading {
        readings: vec![keep.clone()],
        combinations: vec![vec![keep]],
    }
}

fn fail() -> Verdict {
    Verdict::Fail {
        reason: "code InvalidParameterValue, expected <b>nothing</b>".into(),
    }
}

/// Two targets: the emulator conforms; "moto" fails the range rule.
fn two_reports(dir: &Path) -> (PathBuf, PathBuf) {
    let emulator = report(
        "emulator",
        vec![
            case("aws-ec2", 1, "HttpTokens.values", Verdict::Pass),
            case("aws-ec2", 2, "HttpPutResponseHopLimit.range", Verdict::Pass),
            case("aws-ec2", 3, "HttpPutResponseHopLimit.absent", reading()),
        ],
    );
    let moto = report(
        "moto",
        vec![
            case("aws-ec2", 1, "HttpTokens.values", Verdict::Pass),
            case("aws-ec2", 2, "HttpPutResponseHopLimit.range", fail()),
            case("aws-ec2", 3, "HttpPutResponseHopLimit.absent", reading()),
        ],
    );
    let e = dir.join("emulator");
    let m = dir.join("moto");
    report::write_run(&e, &[emulator]).expect("write");
    report::write_run(&m, &[moto]).expect("write");
    (e.join("report.json"), m.join("report.json"))
}

#[test]
fn cells_say_pass_fail_and_reading() {
    let r1 = report(
        "emulator",
        vec![
            case("aws-ec2", 1, "A", Verdict::Pass),
            case("aws-ec2", 2, "B", reading()),
        ],
    );
    let r2 = report(
        "moto",
        vec![
            case("aws-ec2", 1, "A", fail()),
            case("aws-ec2", 2, "A", fail()),
        ],
    );
    let m = matrix::build(&[
        MatrixInput {
            report: r1,
            repro_dirs: vec![],
        },
        MatrixInput {
            report: r2,
            repro_dirs: vec![("aws-ec2".into(), "../moto/aws-ec2/repro".into())],
        },
    ]);
    assert_eq!(m.targets, ["emulator", "moto"]);
    assert_eq!(m.rows.len(), 2);
    assert!(matches!(m.rows[0].cells[0], Cell::Pass { cases: 1 }));
    match &m.rows[0].cells[1] {
        Cell::Fail {
            failing: 2,
            first,
            repro: Some(link),
            ..
        } => {
            assert_eq!(first, "aws-ec2/coverage/0001");
            assert_eq!(link, "../moto/aws-ec2/repro/aws-ec2_coverage_0001.sh");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(m.rows[1].cells[0].label(), "keep");
    assert_eq!(m.rows[1].cells[1], Cell::None);
    let md = matrix::to_markdown(&m);
    assert!(
        md.contains("[**fail (2)**](../moto/aws-ec2/repro/aws-ec2_coverage_0001.sh)"),
        "{md}"
    );
    let html = matrix::to_html(&m);
    assert!(!html.contains("<script"), "no script");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resource"
    );
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
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn matrix_page_renders_in_headless_chromium() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (e, m) = two_reports(tmp.path());
    let out = tmp.path().join("matrix");
    let status = Command::new(env!("CARGO_BIN_EXE_imds-conform"))
        .arg("matrix")
        .arg(&e)
        .arg(&m)
        .arg("--out")
        .arg(&out)
        .status()
        .expect("run imds-conform matrix");
    assert!(status.success());
    let html_path = out.join("matrix.html");
    let html = std::fs::read_to_string(&html_path).expect("matrix.html");
    let md = std::fs::read_to_string(out.join("matrix.md")).expect("matrix.md");
    // The failing cell links to a reproducer that exists, relative to the page.
    let link = "../moto/aws-ec2/repro/aws-ec2_coverage_0002.sh";
    assert!(html.contains(link), "{html}");
    assert!(out.join(link).is_file(), "the linked reproducer exists");
    assert!(md.contains(link), "{md}");

    let Some(bin) = chromium() else {
        println!("skipped: chromium not installed (scripts/test installs it)");
        return;
    };
    let url = format!(
        "file://{}",
        std::fs::canonicalize(&html_path).unwrap().display()
    );
    let png = tmp.path().join("m.png");
    let shot = chromium_cmd(&bin, &tmp.path().join("profile1"))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,800")
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        shot.status.success(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let size = std::fs::metadata(&png).expect("screenshot written").len();
    assert!(size > 5_000, "screenshot only {size} bytes");
    if let Ok(keep) = std::env::var("IMDS_MATRIX_SCREENSHOT") {
        let _ = std::fs::copy(&png, keep);
    }

    let dom = chromium_cmd(&bin, &tmp.path().join("profile2"))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    let row = |rule: &str| -> String {
        let start = dom
            .find(&format!("data-rule=\"{rule}\""))
            .unwrap_or_else(|| panic!("row {rule} rendered: {dom}"));
        let end = dom[start..].find("</tr>").expect("row ends") + start;
        dom[start..end].to_string()
    };
    let range = row("HttpPutResponseHopLimit.range");
    assert!(
        range.contains("class=\"pass\" data-target=\"emulator\""),
        "{range}"
    );
    assert!(
        range.contains("class=\"fail\" data-target=\"moto\""),
        "{range}"
    );
    assert!(range.contains(&format!("href=\"{link}\"")), "{range}");
    assert!(range.contains(">fail (1)</a>"), "{range}");
    let tokens = row("HttpTokens.values");
    assert_eq!(tokens.matches("class=\"pass\"").count(), 2, "{tokens}");
    let absent = row("HttpPutResponseHopLimit.absent");
    assert_eq!(absent.matches("class=\"reading\"").count(), 2, "{absent}");
    assert!(absent.contains("hop-limit-absent=keep"), "{absent}");
    assert!(absent.contains(">keep</td>"), "{absent}");
}
