//! Fuzzing support: the logic of every `cargo fuzz` target (see `fuzz/`), kept here
//! so that plain `cargo test` runs it too (regressions, seeds, a seeded differential).
//!
//! Byte-level targets frame their input as an HTTP message ([`request_from_bytes`],
//! [`response_from_bytes`]): a first line, `Name: value` header lines, a blank line,
//! the body. Seeds are real messages in that framing ([`seeds`]), so the fuzzer
//! starts from signed requests and well-formed answers.
//!
//! The differential target ([`differential`]) runs a [`Scenario`] — a sequence of
//! calls — against a fresh in-process emulator and checks every answer against the
//! oracle, the same way the runner does (judge, then read back). A disagreement is a
//! [`Finding`] in one of the two.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::emulator::{default_fixtures, Emulator, EmulatorConfig, Route};
use crate::generate::{Builder, Subject};
use crate::oracle::{self, Expectation, Instance, World};
use crate::runner::{observe_in, readback_agrees, readback_call, Observed};
use crate::spec::{self, Role, Spec};
use crate::target::Signing;
use crate::verdict;
use crate::wire::{
    aliyun_rpc, aliyun_sign, aws_json, client, ec2_query, sigv4, tree, Call, Credentials, Endpoint,
    HttpRequest, HttpResponse, Outcome, Protocol, RawParam, RawValue, Secret,
};

/// The fuzz targets, by name (each is `fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: &[&str] = &[
    "ec2_response",
    "aws_json_response",
    "aliyun_response_json",
    "aliyun_response_xml",
    "ec2_request",
    "aws_json_request",
    "aliyun_request",
    "sigv4_verify",
    "aliyun_verify",
    "emulator_handle",
    "differential",
];

/// The API ids the differential target picks from.
pub const APIS: [&str; 3] = ["aws-ec2", "aws-lightsail", "aliyun-ecs"];

/// The clock of every fuzz input: 2026-01-01T00:00:00Z. Seeds are signed at this
/// time and verifiers check against it, so fuzzing is reproducible.
pub fn epoch() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

/// Run the target `name` on `data`. Panics on a finding (that is the fuzzer's
/// signal); `false` when there is no such target.
pub fn run_target(name: &str, data: &[u8]) -> bool {
    match name {
        "ec2_response" => ec2_response(data),
        "aws_json_response" => aws_json_response(data),
        "aliyun_response_json" | "aliyun_response_xml" => aliyun_response(data),
        "ec2_request" => ec2_request(data),
        "aws_json_request" => aws_json_request(data),
        "aliyun_request" => aliyun_request(data),
        "sigv4_verify" => sigv4_verify(data),
        "aliyun_verify" => aliyun_verify(data),
        "emulator_handle" => emulator_handle(data),
        "differential" => {
            if let Err(f) = differential(&Scenario::from_bytes(data)) {
                panic!("{f}");
            }
        }
        _ => return false,
    }
    true
}

// ---------------------------------------------------------------------------
// Framing
// ---------------------------------------------------------------------------

fn split_head(data: &[u8]) -> (&[u8], &[u8]) {
    for (sep, len) in [(&b"\r\n\r\n"[..], 4), (&b"\n\n"[..], 2)] {
        if let Some(at) = data.windows(len).position(|w| w == sep) {
            return (&data[..at], &data[at + len..]);
        }
    }
    (data, &[])
}

fn head_lines(head: &[u8]) -> (String, Vec<(String, String)>) {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (first, headers)
}

/// `METHOD path-and-query`, header lines, a blank line, the body.
pub fn request_from_bytes(data: &[u8]) -> HttpRequest {
    let (head, body) = split_head(data);
    let (first, headers) = head_lines(head);
    let (method, path) = first.split_once(' ').unwrap_or((first.as_str(), "/"));
    HttpRequest {
        method: method.to_string(),
        path_and_query: path.to_string(),
        headers,
        body: body.to_vec(),
    }
}

/// The framing [`request_from_bytes`] reads.
pub fn request_to_bytes(req: &HttpRequest) -> Vec<u8> {
    let mut out = format!("{} {}\n", req.method, req.path_and_query).into_bytes();
    for (k, v) in &req.headers {
        out.extend_from_slice(format!("{k}: {v}\n").as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(&req.body);
    out
}

/// `status`, header lines, a blank line, the body. A first line that is not a
/// number reads as 200.
pub fn response_from_bytes(data: &[u8]) -> HttpResponse {
    let (head, body) = split_head(data);
    let (first, headers) = head_lines(head);
    HttpResponse {
        status: first.trim().parse().unwrap_or(200),
        headers,
        body: body.to_vec(),
    }
}

/// The framing [`response_from_bytes`] reads.
pub fn response_to_bytes(resp: &HttpResponse) -> Vec<u8> {
    let mut out = format!("{}\n", resp.status).into_bytes();
    for (k, v) in &resp.headers {
        out.extend_from_slice(format!("{k}: {v}\n").as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(&resp.body);
    out
}

/// The framed answer, and the whole input as the body of a success and of an error.
fn responses(data: &[u8]) -> [HttpResponse; 3] {
    let bare = |status| HttpResponse {
        status,
        headers: Vec::new(),
        body: data.to_vec(),
    };
    [response_from_bytes(data), bare(200), bare(400)]
}

// ---------------------------------------------------------------------------
// Decoder targets: never panic; what decodes is well-formed.
// ---------------------------------------------------------------------------

/// EC2 Query answers (XML) and the XML tree parser.
pub fn ec2_response(data: &[u8]) {
    for r in responses(data) {
        if let Ok(Outcome::Error { code, .. }) = ec2_query::decode_response(&r) {
            assert!(!code.is_empty(), "EC2 error decoded with an empty code");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tree::parse_xml(text);
    }
}

/// AWS JSON 1.1 answers and errors (`__type`, `X-Amzn-ErrorType`, `code`).
pub fn aws_json_response(data: &[u8]) {
    for r in responses(data) {
        if let Ok(Outcome::Error { code, .. }) = aws_json::decode_response(&r) {
            assert!(
                !code.is_empty(),
                "AWS JSON error decoded with an empty code"
            );
        }
    }
}

/// Alibaba RPC answers, JSON or XML (the body is sniffed).
pub fn aliyun_response(data: &[u8]) {
    for r in responses(data) {
        let _ = aliyun_rpc::decode_response(&r);
    }
}

/// EC2 Query requests: form body, query string, headers; and routing.
pub fn ec2_request(data: &[u8]) {
    let req = request_from_bytes(data);
    let _ = crate::emulator::route::route(&req);
    let _ = ec2_query::decode_request(&req);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(pairs) = ec2_query::parse_form(text) {
            // What parses, re-encoded, parses to the same pairs.
            let again: Vec<String> = pairs
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        ec2_query::encode_component(k),
                        ec2_query::encode_component(v)
                    )
                })
                .collect();
            let reparsed = ec2_query::parse_form(&again.join("&")).expect("re-encoded form parses");
            let kept: Vec<_> = pairs
                .into_iter()
                .filter(|(k, v)| !(k.is_empty() && v.is_empty()))
                .collect();
            let reparsed: Vec<_> = reparsed
                .into_iter()
                .filter(|(k, v)| !(k.is_empty() && v.is_empty()))
                .collect();
            assert_eq!(kept, reparsed, "form pairs change through encode + parse");
        }
    }
}

/// AWS JSON requests: `X-Amz-Target` and the JSON body's members.
pub fn aws_json_request(data: &[u8]) {
    let req = request_from_bytes(data);
    let _ = aws_json::decode_request(&req);
    let _ = aws_json::decode_request(&HttpRequest {
        method: "POST".into(),
        path_and_query: "/".into(),
        headers: vec![(
            "X-Amz-Target".into(),
            "Lightsail_20161128.GetInstance".into(),
        )],
        body: data.to_vec(),
    });
    // Whatever serde_json reads as an object, the member scanner reads too, with
    // the same member names.
    if let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice::<serde_json::Value>(data) {
        let params = aws_json::parse_params(data)
            .unwrap_or_else(|e| panic!("serde_json reads an object, parse_params refuses it: {e}"));
        for p in &params {
            assert!(
                obj.contains_key(&p.name),
                "member {:?} not in the object",
                p.name
            );
        }
        for k in obj.keys() {
            assert!(params.iter().any(|p| &p.name == k), "member {k:?} lost");
        }
    } else {
        let _ = aws_json::parse_params(data);
    }
}

/// Alibaba RPC requests: query string, form body.
pub fn aliyun_request(data: &[u8]) {
    let req = request_from_bytes(data);
    let _ = aliyun_rpc::decode_request(&req);
    let _ = aliyun_rpc::request_params(&req);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(pairs) = aliyun_rpc::parse_params(text) {
            let again = aliyun_rpc::encode_params(&pairs);
            let reparsed = aliyun_rpc::parse_params(&again)
                .unwrap_or_else(|e| panic!("re-encoded query {again:?} does not parse: {e}"));
            let kept: Vec<_> = pairs
                .into_iter()
                .filter(|(k, v)| !(k.is_empty() && v.is_empty()))
                .collect();
            let reparsed: Vec<_> = reparsed
                .into_iter()
                .filter(|(k, v)| !(k.is_empty() && v.is_empty()))
                .collect();
            assert_eq!(kept, reparsed, "query pairs change through encode + parse");
        }
    }
}

fn aws_secret(id: &str) -> Option<Secret> {
    let f = default_fixtures();
    f.credentials
        .aws
        .iter()
        .find(|k| k.access_key_id == id)
        .map(|k| Secret::new(k.secret.clone()))
}

fn aliyun_secret(id: &str) -> Option<Secret> {
    let f = default_fixtures();
    f.credentials
        .aliyun
        .iter()
        .find(|k| k.access_key_id == id)
        .map(|k| Secret::new(k.secret.clone()))
}

/// SigV4 verification of an arbitrary request (header and presigned forms).
pub fn sigv4_verify(data: &[u8]) {
    let req = request_from_bytes(data);
    let _ = sigv4::verify(&req, &aws_secret, epoch(), Duration::from_secs(300));
}

/// Alibaba V1 and V3 verification of an arbitrary request; a fresh nonce cache.
pub fn aliyun_verify(data: &[u8]) {
    let req = request_from_bytes(data);
    let mut seen: Vec<String> = Vec::new();
    let mut fresh = |n: &str| {
        if seen.iter().any(|s| s == n) {
            false
        } else {
            seen.push(n.to_string());
            true
        }
    };
    let first = aliyun_sign::verify(
        &req,
        &aliyun_secret,
        epoch(),
        Duration::from_secs(900),
        &mut fresh,
    );
    // A request that verified once is a replay the second time.
    if first.is_ok() {
        let second = aliyun_sign::verify(
            &req,
            &aliyun_secret,
            epoch(),
            Duration::from_secs(900),
            &mut fresh,
        );
        assert!(
            second.is_err(),
            "a verified request verified again (nonce not checked)"
        );
    }
}

/// The whole emulator on an arbitrary request: never panics, and every answer to a
/// request it routed decodes with that protocol's client decoder.
pub fn emulator_handle(data: &[u8]) {
    let req = request_from_bytes(data);
    let emu = Emulator::new(EmulatorConfig::default());
    let resp = emu.handle(&req, epoch());
    let protocol = match crate::emulator::route::route(&req) {
        Route::Ec2Query => Protocol::Ec2Query,
        Route::AwsJson => Protocol::AwsJson11,
        Route::AliyunRpc => Protocol::AliyunRpc,
        Route::Unknown => return,
    };
    if let Err(e) = client::decode(protocol, &resp) {
        panic!(
            "the emulator's answer does not decode as {protocol:?}: {e}\nanswer: {}",
            String::from_utf8_lossy(&response_to_bytes(&resp))
        );
    }
}

// ---------------------------------------------------------------------------
// Differential: emulator vs oracle
// ---------------------------------------------------------------------------

/// A sequence of calls against one instance of one API.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub struct Scenario {
    /// Index into [`APIS`] (modulo).
    pub api: u8,
    /// Index into the API's fixture instances (modulo).
    pub instance: u8,
    pub ops: Vec<Op>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum Op {
    /// A modify call: the baseline call (target, region, required parameters)
    /// unless `bare`, then the edits in order. `signing` below 200 signs validly;
    /// above, it picks one of the bad signings.
    Modify {
        bare: bool,
        edits: Vec<Edit>,
        signing: u8,
    },
    /// Let time pass, so a pending change applies.
    Wait { seconds: u8 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum Edit {
    /// Replace every occurrence of parameter row `param` (modulo) with one value.
    Set { param: u8, value: Val },
    /// Add one more occurrence of row `param` (a duplicate when it is there).
    Add { param: u8, value: Val },
    /// Remove row `param`.
    Remove { param: u8 },
    /// A parameter the table does not know.
    Unknown { name: String, value: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum Val {
    /// The n-th valid value of the row (modulo).
    Valid(u8),
    /// The n-th class of the row (modulo): boundaries, wrong types, case variants,
    /// absent and malformed ids, JSON literals of the wrong type…
    Class(u8),
    Int(i64),
    Text(String),
    /// A raw JSON literal (AWS JSON); sent as text by the query protocols.
    Json(String),
}

/// Most operations one scenario runs, and most edits per call.
pub const MAX_OPS: usize = 24;
pub const MAX_EDITS: usize = 12;

impl Scenario {
    /// Build a scenario from raw bytes without `arbitrary` (a small hand-rolled
    /// reading), for `cargo test` and for seeds. The fuzz target uses `arbitrary`.
    pub fn from_bytes(data: &[u8]) -> Scenario {
        let mut r = Reader { data, at: 0 };
        let api = r.byte();
        let instance = r.byte();
        let mut ops = Vec::new();
        while !r.done() && ops.len() < MAX_OPS {
            ops.push(match r.byte() % 8 {
                0 => Op::Wait { seconds: r.byte() },
                _ => {
                    let bare = r.byte() % 8 == 0;
                    let signing = r.byte();
                    let n = (r.byte() % 5) as usize;
                    let edits = (0..n).map(|_| r.edit()).collect();
                    Op::Modify {
                        bare,
                        edits,
                        signing,
                    }
                }
            });
        }
        Scenario { api, instance, ops }
    }

    /// A random scenario (for tests and seeds).
    pub fn random(rng: &mut impl rand::Rng, ops: usize) -> Scenario {
        let bytes: Vec<u8> = (0..ops * 8).map(|_| rng.gen()).collect();
        let mut s = Scenario::from_bytes(&bytes);
        s.ops.truncate(ops);
        s
    }
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn done(&self) -> bool {
        self.at >= self.data.len()
    }
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
    fn text(&mut self) -> String {
        let n = (self.byte() % 8) as usize;
        const ALPHABET: &[u8] = b"aeHT0129-_. %\"{}[]\\";
        (0..n)
            .map(|_| ALPHABET[self.byte() as usize % ALPHABET.len()] as char)
            .collect()
    }
    fn val(&mut self) -> Val {
        match self.byte() % 6 {
            0 | 1 => Val::Valid(self.byte()),
            2 | 3 => Val::Class(self.byte()),
            4 => Val::Int(i64::from(self.byte() as i8) * i64::from(self.byte())),
            _ => Val::Text(self.text()),
        }
    }
    fn edit(&mut self) -> Edit {
        match self.byte() % 8 {
            0..=3 => Edit::Set {
                param: self.byte(),
                value: self.val(),
            },
            4 | 5 => Edit::Add {
                param: self.byte(),
                value: self.val(),
            },
            6 => Edit::Remove { param: self.byte() },
            _ => Edit::Unknown {
                name: self.text(),
                value: self.text(),
            },
        }
    }
}

/// A disagreement between the emulator and the oracle (or an answer that cannot
/// be judged). Its `Display` gives everything needed for a regression test.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub reason: String,
    pub api: String,
    pub instance: String,
    /// Index of the op in `scenario.ops`.
    pub step: usize,
    pub scenario: Scenario,
    pub call: Option<Call>,
    pub signing: Signing,
    pub options_before: oracle::Options,
    pub expectation: Option<Expectation>,
    pub answer: Option<String>,
    pub outcome: Option<Outcome>,
    pub readback: Option<oracle::Options>,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "differential finding on {} {} at op {}: {}",
            self.api, self.instance, self.step, self.reason
        )?;
        let mut scenario = self.scenario.clone();
        scenario.ops.truncate(self.step + 1);
        writeln!(
            f,
            "scenario (JSON, for tests/fuzz_regressions.rs): {}",
            serde_json::to_string(&scenario).unwrap_or_default()
        )?;
        writeln!(
            f,
            "{}",
            serde_json::to_string_pretty(self).unwrap_or_default()
        )
    }
}

/// One run's world: the emulator, the spec, the instance and the oracle's view.
struct Run {
    spec: Spec,
    emu: Emulator,
    ep: Endpoint,
    creds: Credentials,
    subject: Subject,
    known: Vec<String>,
    world: World,
    now: SystemTime,
    nonce: u64,
}

fn specs() -> &'static [Spec] {
    static SPECS: std::sync::OnceLock<Vec<Spec>> = std::sync::OnceLock::new();
    SPECS.get_or_init(|| spec::builtin().expect("the built-in spec tables load"))
}

impl Run {
    fn new(api: &str, instance: u8) -> Option<Run> {
        let spec = specs().iter().find(|s| s.api.id == api)?.clone();
        let config = EmulatorConfig {
            apply_delay: Duration::from_millis(1500),
            ..EmulatorConfig::default()
        };
        let (instances, keys) = config.fixtures.for_api(api)?;
        let fixture = instances.get(instance as usize % instances.len())?.clone();
        let key = keys.first()?.clone();
        let known: Vec<String> = instances.iter().map(|i| i.id.clone()).collect();
        let emu = Emulator::new(config);
        let ep = Endpoint {
            url: spec.endpoint_for(&fixture.region),
            region: fixture.region.clone(),
            api_version: spec.api.api_version.clone(),
            signing_name: spec.api.signing_name.clone(),
            target_prefix: spec.api.target_prefix.clone(),
            format: "JSON".into(),
        };
        let subject = Subject::new(&spec, &fixture.id, &fixture.region, &known);
        Some(Run {
            world: World {
                region: fixture.region.clone(),
                instance: Instance {
                    id: fixture.id.clone(),
                    state: fixture.state.clone(),
                    options: oracle::Options::new(),
                },
            },
            creds: Credentials::new(key.access_key_id, key.secret),
            spec,
            emu,
            ep,
            subject,
            known,
            now: epoch(),
            nonce: 0,
        })
    }

    fn send(&mut self, call: &Call, signing: Signing) -> Result<HttpResponse, String> {
        let mut req =
            client::encode(self.spec.api.protocol, &self.ep, call).map_err(|e| e.to_string())?;
        if signing != Signing::Unsigned {
            let mut creds = self.creds.clone();
            match signing {
                Signing::WrongSecret => {
                    creds = Credentials::new(
                        creds.access_key_id.clone(),
                        format!("{}x", creds.secret.expose()),
                    )
                }
                Signing::UnknownKey => creds.access_key_id = "AKIAIMDSCONFORMUNKNOWN".into(),
                _ => {}
            }
            let time = match signing {
                Signing::Expired => self.now - Duration::from_secs(3600),
                _ => self.now,
            };
            self.nonce += 1;
            let nonce = format!("fuzz-nonce-{}", self.nonce);
            client::sign(
                self.spec.api.signing,
                &mut req,
                &self.ep,
                &creds,
                time,
                &nonce,
            )
            .map_err(|e| e.to_string())?;
            if signing == Signing::CorruptSignature {
                client::corrupt_signature(self.spec.api.signing, &mut req);
            }
        }
        Ok(self.emu.handle(&req, self.now))
    }

    fn read_back(&mut self) -> Result<Observed, String> {
        let call = readback_call(&self.spec, &self.world.region, &self.world.instance.id);
        let resp = self.send(&call, Signing::Valid)?;
        match client::decode(self.spec.api.protocol, &resp) {
            Ok(Outcome::Success { body, .. }) => {
                observe_in(&self.spec, &self.world.instance.id, &body)
                    .ok_or_else(|| "the read-back answer has no such instance".to_string())
            }
            Ok(o) => Err(format!("the read-back was refused: {o:?}")),
            Err(e) => Err(format!("the read-back answer does not decode: {e}")),
        }
    }

    /// The call an op describes.
    fn call(&self, bare: bool, edits: &[Edit]) -> Call {
        let b = Builder::new(&self.spec, &self.subject);
        let rows: Vec<&spec::Param> = self.spec.params.iter().map(|p| p.get_ref()).collect();
        let mut params = if bare { Vec::new() } else { b.base() };
        for e in edits.iter().take(MAX_EDITS) {
            match e {
                Edit::Set { param, value } | Edit::Add { param, value } => {
                    let Some(row) = rows.get(*param as usize % rows.len().max(1)) else {
                        continue;
                    };
                    let v = self.value(&b, row, value);
                    let p = RawParam {
                        name: row.name.clone(),
                        value: v,
                    };
                    if matches!(e, Edit::Set { .. }) {
                        match params.iter().position(|q| q.name == row.name) {
                            Some(at) => {
                                params.retain(|q| q.name != row.name);
                                params.insert(at.min(params.len()), p);
                            }
                            None => params.push(p),
                        }
                    } else {
                        params.push(p);
                    }
                }
                Edit::Remove { param } => {
                    if let Some(row) = rows.get(*param as usize % rows.len().max(1)) {
                        params.retain(|q| q.name != row.name);
                    }
                }
                Edit::Unknown { name, value } => params.push(RawParam::text(name, value)),
            }
        }
        b.call(params)
    }

    fn value(&self, b: &Builder, row: &spec::Param, v: &Val) -> RawValue {
        let json = self.spec.api.protocol == Protocol::AwsJson11;
        match v {
            Val::Valid(n) => {
                let valid = b.valid_values(row);
                match valid.get(*n as usize % valid.len().max(1)) {
                    Some(s) => b.value(row, s),
                    None => RawValue::text(""),
                }
            }
            Val::Class(n) => {
                let classes = b.classes(row);
                match classes.get(*n as usize % classes.len().max(1)) {
                    Some((_, v, _)) => v.clone(),
                    None => RawValue::text(""),
                }
            }
            Val::Int(i) => b.value(row, &i.to_string()),
            Val::Text(s) => RawValue::Text(s.clone()),
            Val::Json(s) if json => RawValue::Json(s.clone()),
            Val::Json(s) => RawValue::Text(s.clone()),
        }
    }

    /// Does the call name another instance of the fixtures? The oracle's world
    /// holds one instance, so such calls cannot be judged.
    fn names_other_instance(&self, call: &Call) -> bool {
        let Some(target) = self.spec.param_with_role(Role::Target) else {
            return false;
        };
        call.values(&target.name).any(|v| {
            let t = v.as_query_text().trim_matches('"');
            self.known
                .iter()
                .any(|k| k != &self.world.instance.id && k.eq_ignore_ascii_case(t))
        })
    }
}

fn signing_of(b: u8) -> Signing {
    if b < 200 {
        return Signing::Valid;
    }
    match (b - 200) % 5 {
        0 => Signing::Unsigned,
        1 => Signing::CorruptSignature,
        2 => Signing::WrongSecret,
        3 => Signing::UnknownKey,
        _ => Signing::Expired,
    }
}

/// Run `scenario` against a fresh emulator, judging every answer against the
/// oracle and reading the instance back after each call.
pub fn differential(scenario: &Scenario) -> Result<(), Box<Finding>> {
    let api = APIS[scenario.api as usize % APIS.len()];
    let Some(mut run) = Run::new(api, scenario.instance) else {
        return Ok(());
    };
    let finding = |run: &Run, step: usize, reason: String| {
        Box::new(Finding {
            reason,
            api: api.to_string(),
            instance: run.world.instance.id.clone(),
            step,
            scenario: scenario.clone(),
            call: None,
            signing: Signing::Valid,
            options_before: run.world.instance.options.clone(),
            expectation: None,
            answer: None,
            outcome: None,
            readback: None,
        })
    };
    let first = run
        .read_back()
        .map_err(|r| finding(&run, 0, format!("initial read-back: {r}")))?;
    run.world.instance.options = first.options;
    if let Some(s) = first.run_state {
        run.world.instance.state = s;
    }
    let field_names: Vec<String> = run.spec.readback.fields.keys().cloned().collect();
    let fields: Vec<&String> = field_names.iter().collect();
    for (step, op) in scenario.ops.iter().enumerate().take(MAX_OPS) {
        let (bare, edits, signing) = match op {
            Op::Wait { seconds } => {
                run.now += Duration::from_secs(u64::from(*seconds));
                continue;
            }
            Op::Modify {
                bare,
                edits,
                signing,
            } => (*bare, edits, signing_of(*signing)),
        };
        let call = run.call(bare, edits);
        if run.names_other_instance(&call) {
            continue;
        }
        let expectation = oracle::expect(&run.spec, &run.world, &call, signing.auth());
        let resp = match run.send(&call, signing) {
            Ok(r) => r,
            // Calls the client cannot encode (names a protocol cannot carry) are not
            // the emulator's business.
            Err(_) => continue,
        };
        let mut f = finding(&run, step, String::new());
        f.call = Some(call.clone());
        f.signing = signing;
        f.expectation = Some(expectation.clone());
        f.answer = Some(String::from_utf8_lossy(&response_to_bytes(&resp)).into_owned());
        let outcome = match client::decode(run.spec.api.protocol, &resp) {
            Ok(o) => o,
            Err(e) => {
                f.reason = format!("the emulator's answer does not decode: {e}");
                return Err(f);
            }
        };
        f.outcome = Some(outcome.clone());
        let before = run.world.instance.options.clone();
        let observed = match run.read_back() {
            Ok(o) => o,
            Err(r) => {
                f.reason = format!("read-back after the call: {r}");
                return Err(f);
            }
        };
        f.readback = Some(observed.options.clone());
        let instance = run.world.instance.id.clone();
        let verdict = verdict::judge_with(&run.spec, &expectation, &outcome, &instance, |a| {
            readback_agrees(a, &before, &observed.options, &fields)
        });
        if !verdict.is_pass() {
            f.reason = format!("{verdict:?}");
            return Err(f);
        }
        run.world.instance.options = observed.options;
        if let Some(s) = observed.run_state {
            run.world.instance.state = s;
        }
        run.now += Duration::from_secs(1);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------

/// Seed inputs for `target`: the emulator's own answers to the coverage-phase calls
/// and those calls as signed requests, plus, under `shared` (`../shared`) when
/// given and present, the protocol test vectors of `reference/` and the sample
/// answers of the seed docs in `seeds/`.
pub fn seeds(target: &str, shared: Option<&std::path::Path>) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let apis_for = |t: &str| -> Vec<(&'static str, &'static str)> {
        match t {
            "ec2_response" | "ec2_request" => vec![("aws-ec2", "JSON")],
            "aws_json_response" | "aws_json_request" => vec![("aws-lightsail", "JSON")],
            "aliyun_response_json" => vec![("aliyun-ecs", "JSON")],
            "aliyun_response_xml" => vec![("aliyun-ecs", "XML")],
            "aliyun_request" | "aliyun_verify" => {
                vec![("aliyun-ecs", "JSON"), ("aliyun-ecs", "XML")]
            }
            "sigv4_verify" => vec![("aws-ec2", "JSON"), ("aws-lightsail", "JSON")],
            "emulator_handle" => vec![
                ("aws-ec2", "JSON"),
                ("aws-lightsail", "JSON"),
                ("aliyun-ecs", "JSON"),
                ("aliyun-ecs", "XML"),
            ],
            _ => Vec::new(),
        }
    };
    let responses = target.ends_with("_response") || target.starts_with("aliyun_response");
    for (api, format) in apis_for(target) {
        let Some(mut run) = Run::new(api, 0) else {
            continue;
        };
        run.ep.format = format.into();
        let mut calls: Vec<Call> = crate::generate::coverage(&run.spec, &run.subject)
            .into_iter()
            .map(|c| c.call)
            .collect();
        calls.push(readback_call(
            &run.spec,
            &run.world.region,
            &run.world.instance.id,
        ));
        for call in calls {
            let Ok(mut req) = client::encode(run.spec.api.protocol, &run.ep, &call) else {
                continue;
            };
            run.nonce += 1;
            let nonce = format!("seed-nonce-{}", run.nonce);
            if client::sign(
                run.spec.api.signing,
                &mut req,
                &run.ep,
                &run.creds,
                run.now,
                &nonce,
            )
            .is_err()
            {
                continue;
            }
            if responses {
                let resp = run.emu.handle(&req, run.now);
                out.push(response_to_bytes(&resp));
            } else {
                out.push(request_to_bytes(&req));
            }
        }
        // One POST form request for the Alibaba request decoders.
        if run.spec.api.protocol == Protocol::AliyunRpc && !responses {
            let call = crate::generate::Builder::new(&run.spec, &run.subject)
                .call(crate::generate::Builder::new(&run.spec, &run.subject).base());
            if let Ok(mut req) =
                aliyun_rpc::encode_request(&run.ep, &call, aliyun_rpc::Method::Post)
            {
                let _ = aliyun_sign::sign_v1(&mut req, &run.creds, run.now, "seed-post");
                out.push(request_to_bytes(&req));
            }
            if let Ok(mut req) = client::encode(run.spec.api.protocol, &run.ep, &call) {
                let _ = aliyun_sign::sign_v3(&mut req, &run.creds, run.now, "seed-v3");
                out.push(request_to_bytes(&req));
            }
        }
    }
    if target == "differential" {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for i in 0..24 {
            let n = 64 + (i % 4) * 128;
            out.push((0..n).map(|_| rng.gen()).collect());
        }
    }
    if let Some(dir) = shared {
        out.extend(reference_seeds(target, &dir.join("reference")));
        out.extend(doc_seeds(target, &dir.join("seeds")));
    }
    out.sort();
    out.dedup();
    out
}

/// The sample answers of the seed docs (`../shared/seeds`): XML samples (a run of
/// lines from `<Name` to `</Name>`) and JSON samples (a fenced block holding an
/// object), as 200 answers, for the response targets that read that format.
pub fn doc_seeds(target: &str, dir: &std::path::Path) -> Vec<Vec<u8>> {
    let want_xml = matches!(target, "ec2_response" | "aliyun_response_xml");
    let want_json = matches!(target, "aws_json_response" | "aliyun_response_json");
    if !want_xml && !want_json {
        return Vec::new();
    }
    let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    names.sort();
    let mut bodies: Vec<String> = Vec::new();
    for path in names {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i].trim();
            if want_xml && line.starts_with('<') && !line.starts_with("</") {
                let name: String = line[1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let close = format!("</{name}>");
                if let Some(end) = (i..lines.len()).find(|j| lines[*j].trim() == close) {
                    if !name.is_empty() && end > i {
                        bodies.push(lines[i..=end].join("\n"));
                        i = end + 1;
                        continue;
                    }
                }
            }
            if want_json && line == "{" {
                if let Some(end) = (i..lines.len()).find(|j| lines[*j].trim() == "}") {
                    let block = lines[i..=end].join("\n");
                    if serde_json::from_str::<serde_json::Value>(&block).is_ok() {
                        bodies.push(block);
                    }
                    i = end + 1;
                    continue;
                }
            }
            i += 1;
        }
    }
    bodies
        .into_iter()
        .map(|b| {
            response_to_bytes(&HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: b.into_bytes(),
            })
        })
        .collect()
}

/// Answers and requests from the botocore protocol test vectors.
fn reference_seeds(target: &str, dir: &std::path::Path) -> Vec<Vec<u8>> {
    let file = match target {
        "ec2_response" => "botocore-protocols-output-ec2.json",
        "aws_json_response" => "botocore-protocols-output-json.json",
        "ec2_request" => "botocore-protocols-input-ec2.json",
        "aws_json_request" => "botocore-protocols-input-json.json",
        _ => return Vec::new(),
    };
    let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
        return Vec::new();
    };
    let Ok(serde_json::Value::Array(suites)) = serde_json::from_str::<serde_json::Value>(&text)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let str_map = |v: Option<&serde_json::Value>| -> Vec<(String, String)> {
        v.and_then(|h| h.as_object())
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    for suite in &suites {
        for case in suite
            .get("cases")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(r) = case.get("response") {
                out.push(response_to_bytes(&HttpResponse {
                    status: r.get("status_code").and_then(|s| s.as_u64()).unwrap_or(200) as u16,
                    headers: str_map(r.get("headers")),
                    body: r
                        .get("body")
                        .and_then(|b| b.as_str())
                        .unwrap_or_default()
                        .as_bytes()
                        .to_vec(),
                }));
            }
            if let Some(s) = case.get("serialized") {
                out.push(request_to_bytes(&HttpRequest {
                    method: s
                        .get("method")
                        .and_then(|m| m.as_str())
                        .unwrap_or("POST")
                        .to_string(),
                    path_and_query: s
                        .get("uri")
                        .and_then(|m| m.as_str())
                        .unwrap_or("/")
                        .to_string(),
                    headers: str_map(s.get("headers")),
                    body: s
                        .get("body")
                        .and_then(|b| b.as_str())
                        .unwrap_or_default()
                        .as_bytes()
                        .to_vec(),
                }));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn framing_round_trips() {
        let req = HttpRequest {
            method: "POST".into(),
            path_and_query: "/?a=b".into(),
            headers: vec![("Host".into(), "x".into())],
            body: b"Action=X\n\nrest".to_vec(),
        };
        assert_eq!(request_from_bytes(&request_to_bytes(&req)), req);
        let resp = HttpResponse {
            status: 403,
            headers: vec![("A".into(), "b".into())],
            body: b"<x/>".to_vec(),
        };
        assert_eq!(response_from_bytes(&response_to_bytes(&resp)), resp);
    }

    #[test]
    fn every_target_runs_on_its_seeds() {
        for t in TARGETS {
            let seeds = seeds(t, None);
            assert!(!seeds.is_empty(), "no seeds for {t}");
            for s in &seeds {
                assert!(run_target(t, s));
            }
        }
    }

    #[test]
    fn shared_seeds_when_present() {
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
        if !shared.join("seeds").is_dir() {
            eprintln!("skipped: {} is absent", shared.display());
            return;
        }
        for t in TARGETS {
            for s in seeds(t, Some(&shared)) {
                run_target(t, &s);
            }
        }
        let xml = doc_seeds("ec2_response", &shared.join("seeds"));
        assert!(!xml.is_empty(), "the seed docs' XML samples are found");
        for s in &xml {
            assert!(
                ec2_query::decode_response(&response_from_bytes(s)).is_ok(),
                "a doc sample decodes: {}",
                String::from_utf8_lossy(s)
            );
        }
        assert!(!doc_seeds("aliyun_response_json", &shared.join("seeds")).is_empty());
    }

    #[test]
    fn seeded_request_verifies() {
        for s in seeds("sigv4_verify", None) {
            let req = request_from_bytes(&s);
            sigv4::verify(&req, &aws_secret, epoch(), Duration::from_secs(300))
                .expect("a seed is validly signed");
        }
    }

    #[test]
    fn differential_agrees_on_random_scenarios() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(20261122);
        for _ in 0..30 {
            let s = Scenario::random(&mut rng, 12);
            if let Err(f) = differential(&s) {
                panic!("{f}");
            }
        }
    }
}
