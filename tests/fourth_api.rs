//! The claim of the house plan, proved: an API the code has never heard of runs
//! through the coverage phase, the oracle, the verdicts and every report with no
//! code of its own. Acme Cloud's `SetVmMetadataOptions` is invented: its table is
//! `tests/fixtures/specs/acme-vm.toml` (EC2 Query protocol, SigV4 with the signing
//! name `acme`, its own credential variables, id pattern and volatile members), and
//! its service is the small server below, written the way a service would be
//! (it verifies SigV4 and keeps two VMs' options), using only the library's public
//! wire modules.
//!
//! A strict server conforms; a quirky one (it accepts hop limits up to 64) must be
//! caught, with reproducers that sign as the table says.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use imds_conform::generate::Phase;
use imds_conform::report::console::{self, Progress};
use imds_conform::report::matrix::{self, Cell, MatrixInput};
use imds_conform::report::recording::Recording;
use imds_conform::report::{self, RunMeta, RunReport, SigningMeta};
use imds_conform::report::{baseline, markdown};
use imds_conform::runner::{self, RunConfig};
use imds_conform::spec::{self, Spec};
use imds_conform::target::{Target, TargetConfig};
use imds_conform::verdict::normalize::Normalized;
use imds_conform::verdict::{CaseResult, Verdict};
use imds_conform::wire::{
    ec2_query, sigv4, Answer, AuthError, Call, Credentials, HttpRequest, HttpResponse, Secret,
};
use serde_json::json;

const KEY_ID: &str = "AKIDACMETEST";
const SECRET: &str = "acme-test-secret";
const VMS: [&str; 2] = ["vm-0001", "vm-0002"];
const PARAMS: [&str; 3] = ["VmId", "HttpTokens", "HopLimit"];

fn table() -> Spec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/specs/acme-vm.toml");
    spec::load_file(&path).unwrap_or_else(|e| panic!("the synthetic table loads: {e}"))
}

// ---------------------------------------------------------------------------
// The service: Acme's VMs
// ---------------------------------------------------------------------------

struct Acme {
    vms: Mutex<BTreeMap<String, (String, String)>>,
    /// The highest hop limit accepted: 8 conforms, more does not.
    max_hop: i64,
    requests: AtomicU64,
}

impl Acme {
    fn new(max_hop: i64) -> Self {
        let vms = VMS
            .iter()
            .map(|id| (id.to_string(), ("optional".to_string(), "1".to_string())))
            .collect();
        Acme {
            vms: Mutex::new(vms),
            max_hop,
            requests: AtomicU64::new(0),
        }
    }

    fn answer(&self, req: &HttpRequest) -> HttpResponse {
        let request_id = format!("acme-{}", self.requests.fetch_add(1, Ordering::SeqCst));
        let fail = |status: u16, code: &str, message: String| {
            ec2_query::encode_answer(
                "",
                "",
                &Answer::Error {
                    status,
                    code: code.into(),
                    message,
                    request_id: request_id.clone(),
                },
            )
        };
        let secret_for = |id: &str| (id == KEY_ID).then(|| Secret::new(SECRET));
        let verified = sigv4::verify(
            req,
            &secret_for,
            SystemTime::now(),
            Duration::from_secs(300),
        );
        if let Err(e) = verified {
            let (status, code) = match e {
                AuthError::Missing => (401, "MissingAuthenticationToken"),
                AuthError::UnknownAccessKey => (403, "UnknownAccessKey"),
                AuthError::Expired => (403, "RequestExpired"),
                _ => (403, "SignatureDoesNotMatch"),
            };
            return fail(status, code, e.to_string());
        }
        let call = match ec2_query::decode_request(req) {
            Ok(incoming) => incoming.call,
            Err(e) => return fail(400, "InvalidParameterValue", e.to_string()),
        };
        let result = match call.operation.as_str() {
            "DescribeVm" => self.describe(&call),
            "SetVmMetadataOptions" => self.set(&call),
            other => Err((400, "InvalidAction", format!("no action {other}"))),
        };
        match result {
            Ok(body) => ec2_query::encode_answer(
                &call.operation,
                "2025-01-01",
                &Answer::Success { request_id, body },
            ),
            Err((status, code, message)) => fail(status, code, message),
        }
    }

    fn vm_json(id: &str, (tokens, hop): &(String, String)) -> serde_json::Value {
        json!({"vmId": id, "options": {"httpTokens": tokens, "hopLimit": hop}})
    }

    fn describe(&self, call: &Call) -> Result<serde_json::Value, (u16, &'static str, String)> {
        let id = one(call, "VmId")?.ok_or((400, "MissingParameter", "VmId".to_string()))?;
        let vms = self.vms.lock().expect("lock");
        let vm = vms.get(id).ok_or_else(|| not_found(id))?;
        Ok(json!({ "vm": Self::vm_json(id, vm) }))
    }

    fn set(&self, call: &Call) -> Result<serde_json::Value, (u16, &'static str, String)> {
        if let Some(p) = call
            .params
            .iter()
            .find(|p| !PARAMS.contains(&p.name.as_str()))
        {
            return Err((400, "UnknownParameter", format!("no parameter {}", p.name)));
        }
        let id = one(call, "VmId")?.ok_or((400, "MissingParameter", "VmId".to_string()))?;
        let shaped =
            id.len() == 7 && id.starts_with("vm-") && id[3..].bytes().all(|b| b.is_ascii_digit());
        if !shaped {
            return Err((
                400,
                "InvalidVmId.Malformed",
                format!("Invalid id: \"{id}\""),
            ));
        }
        let tokens = match one(call, "HttpTokens")? {
            Some(v @ ("optional" | "required")) => Some(v.to_string()),
            Some(v) => return Err(invalid("HttpTokens", v)),
            None => None,
        };
        let hop = match one(call, "HopLimit")? {
            Some(v) => match integer(v).filter(|n| (1..=self.max_hop).contains(n)) {
                Some(n) => Some(n.to_string()),
                None => return Err(invalid("HopLimit", v)),
            },
            None => None,
        };
        let mut vms = self.vms.lock().expect("lock");
        let vm = vms.get_mut(id).ok_or_else(|| not_found(id))?;
        if let Some(t) = tokens {
            vm.0 = t;
        }
        if let Some(h) = hop {
            vm.1 = h;
        }
        Ok(Self::vm_json(id, vm))
    }
}

/// The one value of `name`; a parameter given twice is an error.
fn one<'a>(call: &'a Call, name: &'a str) -> Result<Option<&'a str>, (u16, &'static str, String)> {
    let mut values = call.values(name);
    let first = values.next().map(|v| v.as_query_text());
    if values.next().is_some() {
        return Err((400, "DuplicateParameter", format!("{name} given twice")));
    }
    Ok(first)
}

/// A 32-bit integer with an optional sign.
fn integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = text.trim_start_matches('+').parse().ok()?;
    i32::try_from(n).ok().map(i64::from)
}

fn invalid(name: &str, value: &str) -> (u16, &'static str, String) {
    (
        400,
        "InvalidParameterValue",
        format!("{value:?} is not a valid {name}"),
    )
}

fn not_found(id: &str) -> (u16, &'static str, String) {
    (
        400,
        "InvalidVmId.NotFound",
        format!("The VM '{id}' does not exist"),
    )
}

async fn serve(State(acme): State<Arc<Acme>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let req = HttpRequest::from_parts(&parts, body);
    let resp = acme.answer(&req);
    let mut builder = Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    builder.body(Body::from(resp.body)).expect("a response")
}

/// Start an Acme server on a free loopback port; its URL.
async fn start(max_hop: i64) -> String {
    let app = axum::Router::new()
        .fallback(serve)
        .with_state(Arc::new(Acme::new(max_hop)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

// ---------------------------------------------------------------------------
// The suite against it
// ---------------------------------------------------------------------------

/// The coverage phase against `url`, the events consumed by the console reporter;
/// the report of the run (named `target`).
async fn coverage(spec: &Arc<Spec>, url: &str, target: &str) -> RunReport {
    let region = spec.api.default_region.clone();
    let creds = Credentials::new(KEY_ID, SECRET);
    let client = Target::new(TargetConfig::for_spec(spec, url, &region, Some(creds)))
        .expect("an HTTP client");
    let cfg = RunConfig {
        spec: spec.clone(),
        target: Arc::new(client),
        instances: vec![VMS[0].to_string()],
        region: region.clone(),
        known_ids: VMS.iter().map(|s| s.to_string()).collect(),
        seed: 1,
        random_cases: 0,
        only: None,
        shard: None,
        settle_timeout: Duration::from_secs(5),
        settle_poll: Duration::from_millis(10),
        dry_run_first: false,
        phases: vec![Phase::Coverage],
        cancel: runner::cancel_flag(),
        keep_passing: true,
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut notes: Vec<u8> = Vec::new();
    let mut progress = Progress::new(indicatif::ProgressDrawTarget::hidden(), &mut notes);
    let (cases, ()) = tokio::join!(runner::run_api(cfg, tx), progress.consume(rx));
    let mut counted = progress.finish();
    let cases = cases.expect("the run completes");
    assert_eq!(
        counted.summaries.get("acme-vm").map(|s| s.total),
        Some(cases.len()),
        "the reporter saw every case"
    );
    let meta = RunMeta {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        api: spec.api.id.clone(),
        target: target.into(),
        endpoint: url.into(),
        region,
        instance: VMS[0].into(),
        seed: 1,
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: "2026-01-01T00:00:01Z".into(),
        signing: Some(SigningMeta::of(&spec.api)),
    };
    // The readings the runner folded from every case, as `run` reports them.
    let readings = counted.readings.remove("acme-vm").unwrap_or_default();
    RunReport::new(meta, cases).with_readings(readings)
}

fn failing(report: &RunReport) -> Vec<&CaseResult> {
    report
        .cases
        .iter()
        .filter(|c| !c.verdict.is_pass())
        .collect()
}

fn describe(cases: &[&CaseResult]) -> String {
    cases
        .iter()
        .map(|c| format!("{} {} [{}]: {:?}", c.id, c.title, c.rule, c.verdict))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invented_api_runs_through_the_whole_suite() {
    let spec = Arc::new(table());
    let strict = coverage(&spec, &start(8).await, "acme-strict").await;

    // The coverage phase came from the table alone: every parameter, its classes,
    // the malformed example, the conventions, the pairs.
    let rules: Vec<&str> = strict.cases.iter().map(|c| c.rule.as_str()).collect();
    for want in [
        "baseline",
        "VmId.pattern",
        "VmId.absent",
        "HttpTokens.values",
        "HopLimit.range",
        "conventions.unknown_parameter",
        "conventions.duplicate_parameter",
        "pairwise.HttpTokens+HopLimit",
    ] {
        assert!(rules.contains(&want), "no {want} case in {rules:?}");
    }
    assert!(
        strict
            .cases
            .iter()
            .any(|c| c.title == "VmId = malformed id \"vm-12x!\""),
        "the table's malformed example is sent"
    );
    assert!(strict.cases.len() > 80, "{} cases", strict.cases.len());

    // The oracle, reading the table, finds the strict server conforming.
    let bad = failing(&strict);
    assert!(
        bad.is_empty(),
        "the strict server fails:\n{}",
        describe(&bad)
    );
    assert!(strict.summary.conforms());
    // The table's ambiguity: the strict server keeps an omitted option, and the
    // run says so, one reading in every call.
    let reading = strict
        .readings
        .iter()
        .find(|r| r.ambiguity == "acme-http-tokens-omitted")
        .expect("the ambiguity's reading is reported");
    assert!(reading.is_consistent(), "{reading:?}");
    assert_eq!(reading.readings, ["keep"], "{reading:?}");
    assert!(strict.departures.is_empty(), "{:?}", strict.departures);

    // Normalization follows the table's [volatile] facts: the VM under test is
    // <instance-id:1>, another VM id in a message (by the table's pattern) gets
    // the next number, request ids are placeholders.
    let rec = Recording::from_cases(&spec, "acme-strict", VMS[0], &strict.cases);
    let absent = rec
        .cases
        .iter()
        .find(|c| c.title == "VmId = absent instance")
        .expect("an absent-instance case");
    match &absent.outcome {
        Normalized::Error {
            code,
            message,
            request_id,
            ..
        } => {
            assert_eq!(code, "InvalidVmId.NotFound");
            assert_eq!(message, "The VM '<instance-id:2>' does not exist");
            assert_eq!(request_id.as_deref(), Some("<request-id:1>"));
        }
        other => panic!("{other:?}"),
    }
    let baseline = rec.cases.first().expect("the baseline case");
    let body = serde_json::to_value(&baseline.outcome).expect("json");
    assert_eq!(body["body"]["vmId"], "<instance-id:1>", "{body}");
    assert_eq!(body["body"]["requestId"], "<request-id:1>", "{body}");

    // The reports: written, read back, no reproducers for a conforming target.
    let dir = tempfile::tempdir().expect("a temp dir");
    let written = report::write_all(dir.path(), &strict).expect("reports are written");
    let back = report::json::read(&dir.path().join("report.json")).expect("report.json reads");
    assert_eq!(back.summary, strict.summary);
    assert!(!written
        .files
        .iter()
        .any(|f| f.starts_with(dir.path().join("repro"))));
    assert_eq!(back.readings, strict.readings);
    let md = std::fs::read_to_string(dir.path().join("report.md")).expect("report.md");
    assert!(
        md.contains("acme-vm") && md.contains("HopLimit.range"),
        "{md}"
    );
    assert!(md.contains("acme-http-tokens-omitted"), "{md}");
    let console = console::reading_lines(&strict);
    assert!(
        console.contains("acme-http-tokens-omitted") && console.contains("keep"),
        "{console}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quirky_implementation_of_it_is_caught_and_reproduced() {
    let spec = Arc::new(table());
    let quirky = coverage(&spec, &start(64).await, "acme-quirky").await;
    let bad = failing(&quirky);
    // Hop limits 9 to 64 are accepted: exactly the range cases above 8 fail.
    assert!(!bad.is_empty(), "the quirk went unnoticed");
    for c in &bad {
        assert!(
            c.rule.starts_with("HopLimit.range") || c.rule.starts_with("pairwise."),
            "{}",
            describe(&bad)
        );
        assert!(
            matches!(c.verdict, Verdict::Fail { .. }),
            "{}",
            describe(&bad)
        );
    }
    assert!(bad.iter().any(|c| c.title == "HopLimit = integer 64"));
    assert!(!bad.iter().any(|c| c.title == "HopLimit = integer 65"));

    // The failing cases group into departures by cause: the widened range is one,
    // named by its rule, with its count and smallest case; a baseline of them, and
    // the console and README renderings, carry it.
    let range = quirky
        .departures
        .iter()
        .find(|d| d.rule == "HopLimit.range")
        .unwrap_or_else(|| panic!("no HopLimit.range departure: {:?}", quirky.departures));
    assert_eq!(range.api, "acme-vm");
    assert!(range.count >= 1 && range.count <= bad.len(), "{range:?}");
    assert!(!quirky.conforms());
    let entries = baseline::from_departures(&quirky, std::slice::from_ref(&*spec));
    assert!(
        entries.iter().any(|e| e.rule == "HopLimit.range"),
        "{entries:?}"
    );
    let lines = console::departure_lines(&quirky, 30);
    assert!(lines.contains("HopLimit.range"), "{lines}");
    let table = markdown::departure_table(&quirky, "repro/");
    assert!(
        table.contains("HopLimit.range") && table.contains(&range.reproducer),
        "{table}"
    );

    // Reproducers sign as the table says: SigV4 with the signing name acme, the
    // credentials from the table's variables, no session token (it names none).
    let dir = tempfile::tempdir().expect("a temp dir");
    let written = report::write_all(dir.path(), &quirky).expect("reports are written");
    let scripts: Vec<_> = written
        .files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "sh"))
        .collect();
    assert_eq!(scripts.len(), bad.len());
    let sh = std::fs::read_to_string(scripts[0]).expect("a reproducer");
    assert!(
        sh.contains("--aws-sigv4 \"aws:amz:acme-west-1:acme\""),
        "{sh}"
    );
    assert!(
        sh.contains("--user \"$ACME_ACCESS_KEY_ID:$ACME_SECRET_ACCESS_KEY\""),
        "{sh}"
    );
    assert!(
        !sh.contains("SESSION_TOKEN") && !sh.contains(SECRET),
        "{sh}"
    );
    assert!(sh.contains("Action=SetVmMetadataOptions"), "{sh}");

    // One matrix over both targets: the range rule passes on one, fails on the other.
    let strict = coverage(&spec, &start(8).await, "acme-strict").await;
    let m = matrix::build(&[
        MatrixInput {
            report: strict,
            repro_dirs: Vec::new(),
        },
        MatrixInput {
            report: quirky,
            repro_dirs: Vec::new(),
        },
    ]);
    let labels: Vec<&str> = m.targets.iter().map(|t| t.label.as_str()).collect();
    assert_eq!(labels, ["acme-strict", "acme-quirky"]);
    // The quirky target's departures are listed under it, the strict one has none.
    assert!(m.targets[0].departures.is_empty(), "{:?}", m.targets[0]);
    assert!(
        m.targets[1]
            .departures
            .iter()
            .any(|d| d.rule == "HopLimit.range"),
        "{:?}",
        m.targets[1]
    );
    let row = m
        .rows
        .iter()
        .find(|r| r.api == "acme-vm" && r.rule == "HopLimit.range")
        .expect("a HopLimit.range row");
    assert!(matches!(row.cells[0], Cell::Pass { .. }), "{:?}", row.cells);
    assert!(matches!(row.cells[1], Cell::Fail { .. }), "{:?}", row.cells);
}
