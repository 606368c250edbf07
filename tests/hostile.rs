//! Hostile clients, on 127.0.0.1 only, with bounded loops (issue 16): a nonce flood
//! must not reopen a replay window, huge nonces and hostile 1 MiB bodies must not
//! grow the server's memory, many filters must not cost quadratic time, a malformed
//! chunked body is a 400, a client that never reads is disconnected, and the client
//! side never follows a redirect.
//!
//! Memory is read from the `/proc/PID/status` of a spawned `imds-conform serve`
//! (`VmRSS`, `VmHWM`), printed, and compared with generous bounds.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use imds_conform::emulator::{self, Emulator, EmulatorConfig, InstanceFixture};
use imds_conform::target::{Target, TargetConfig};
use imds_conform::wire::aliyun_rpc::{self, Method};
use imds_conform::wire::{
    aliyun_sign, ec2_query, sigv4, Call, Credentials, Endpoint, HttpRequest, Outcome,
};

const AWS_KEY: &str = "AKIDEXAMPLE";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const ALI_KEY: &str = "testid";
const ALI_SECRET: &str = "testsecret";
const ALI_ID: &str = "i-bp67acfmxaz1234abcd";

// ---------------------------------------------------------------------------
// A served emulator in a child process, and raw HTTP/1.1 over TCP

struct Served {
    child: Child,
    addr: String,
}

impl Served {
    fn start() -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_imds-conform"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            // The binary's allocator (mimalloc) keeps freed memory for reuse for
            // 10 ms, then hands it back when the thread next allocates: an idle
            // emulator's RSS would keep what its last requests freed. Handing it
            // back at once makes the RSS what the emulator holds.
            .env("MIMALLOC_PURGE_DELAY", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("imds-conform serve starts");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let addr = loop {
            line.clear();
            if out.read_line(&mut line).unwrap_or(0) == 0 {
                panic!("serve exited before printing its address");
            }
            if let Some(at) = line.find("http://") {
                break line[at + 7..].trim().to_string();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Served { child, addr }
    }

    /// A field of `/proc/PID/status` in kB (`VmRSS`, `VmHWM`).
    fn kb(&self, field: &str) -> u64 {
        proc_status_kb(self.child.id(), field)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Wait until the child's RSS settles (allocator trimming, thread exits).
fn settled_rss(served: &Served) -> u64 {
    let mut last = served.kb("VmRSS");
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        let now = served.kb("VmRSS");
        if now.abs_diff(last) < 256 {
            return now;
        }
        last = now;
    }
    last
}

/// `req` as HTTP/1.1 bytes (with `Content-Length`).
fn wire_bytes(req: &HttpRequest, host: &str) -> Vec<u8> {
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.path_and_query);
    if req.header("host").is_none() {
        head.push_str(&format!("Host: {host}\r\n"));
    }
    for (k, v) in &req.headers {
        if !k.eq_ignore_ascii_case("content-length") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", req.body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&req.body);
    bytes
}

/// Read one response: (status, body).
fn read_response(stream: &mut BufReader<TcpStream>) -> (u16, String) {
    let mut line = String::new();
    stream.read_line(&mut line).expect("status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut length = 0;
    loop {
        line.clear();
        stream.read_line(&mut line).expect("header line");
        if line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().expect("content-length");
            }
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).expect("body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Send raw bytes on a fresh connection and read one response.
fn raw_exchange(addr: &str, bytes: &[u8]) -> (u16, String) {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    (&stream).write_all(bytes).expect("send");
    read_response(&mut BufReader::new(stream))
}

// ---------------------------------------------------------------------------
// Signed requests

/// The endpoint the suite itself would use for `api` (from its spec table).
fn endpoint(api: &str, region: &str) -> Endpoint {
    let spec = imds_conform::spec::builtin_api(api).unwrap().unwrap();
    TargetConfig::for_spec(&spec, "http://127.0.0.1:1", region, None).endpoint
}

fn ali_signed(call: &Call, at: SystemTime, nonce: &str) -> HttpRequest {
    let mut req =
        aliyun_rpc::encode_request(&endpoint("aliyun-ecs", "cn-hangzhou"), call, Method::Get)
            .unwrap();
    aliyun_sign::sign_v1(&mut req, &Credentials::new(ALI_KEY, ALI_SECRET), at, nonce).unwrap();
    req
}

/// The parameters of an Alibaba `DescribeInstances`, V1 signature parameters
/// included (not the signature itself).
fn ali_form_params(nonce: &str) -> Vec<(String, String)> {
    let timestamp = chrono::Utc::now()
        .format(aliyun_sign::TIME_FORMAT)
        .to_string();
    [
        ("Action", "DescribeInstances"),
        ("Version", "2014-05-26"),
        ("RegionId", "cn-hangzhou"),
        ("Format", "JSON"),
        ("AccessKeyId", ALI_KEY),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", nonce),
        ("Timestamp", timestamp.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A POST with every parameter, the signature included, in the form body (so a
/// huge nonce does not hit the request-line limit).
fn form_post(params: &[(String, String)]) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path_and_query: "/".into(),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: aliyun_rpc::encode_params(params).into_bytes(),
    }
}

/// A V1-signed Alibaba POST with this nonce.
fn ali_form_signed(nonce: &str) -> HttpRequest {
    let mut params = ali_form_params(nonce);
    let signature =
        aliyun_sign::v1_signature(ALI_SECRET, &aliyun_sign::v1_string_to_sign("POST", &params));
    params.push(("Signature".into(), signature));
    form_post(&params)
}

/// V1-signed Alibaba POSTs whose nonces are `pad` followed by a distinct suffix
/// of letters: the HMAC state after the shared part is computed once and cloned, so
/// hundreds of near-megabyte nonces are signed in the time of one.
fn ali_form_signed_padded(pad: &str, suffixes: &[String]) -> Vec<HttpRequest> {
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    let marker = "NONCEMARKER";
    let template = ali_form_params(marker);
    let sts = aliyun_sign::v1_string_to_sign("POST", &template);
    let (before, after) = sts
        .split_once(marker)
        .expect("the nonce is in the string to sign");
    let mut shared =
        Hmac::<sha1::Sha1>::new_from_slice(format!("{ALI_SECRET}&").as_bytes()).unwrap();
    shared.update(before.as_bytes());
    shared.update(pad.as_bytes());
    suffixes
        .iter()
        .map(|suffix| {
            assert!(suffix.bytes().all(|b| b.is_ascii_alphanumeric()));
            let mut mac = shared.clone();
            mac.update(suffix.as_bytes());
            mac.update(after.as_bytes());
            let signature =
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
            let mut params = template.clone();
            for (k, v) in params.iter_mut() {
                if k == "SignatureNonce" {
                    *v = format!("{pad}{suffix}");
                }
            }
            params.push(("Signature".into(), signature));
            form_post(&params)
        })
        .collect()
}

fn ec2_signed(body: String, at: SystemTime) -> HttpRequest {
    let ep = endpoint("aws-ec2", "us-east-1");
    let mut req = ec2_query::encode_request(&ep, &Call::new("DescribeInstances")).unwrap();
    req.body = body.into_bytes();
    sigv4::sign(&mut req, &ep, &Credentials::new(AWS_KEY, AWS_SECRET), at).unwrap();
    req
}

fn code_of(resp_body: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(resp_body).unwrap_or_default();
    let json_code = ["Code", "code"].iter().find_map(|k| json[*k].as_str());
    json_code.map(str::to_string).unwrap_or_else(|| {
        resp_body
            .split("<Code>")
            .nth(1)
            .and_then(|r| r.split("</Code>").next())
            .unwrap_or("")
            .to_string()
    })
}

// ---------------------------------------------------------------------------
// Item 1: a nonce flood does not reopen the replay window

#[test]
fn a_nonce_flood_is_throttled_and_never_reopens_a_replay() {
    let capacity = 300;
    let em = Emulator::new(EmulatorConfig {
        nonce_capacity: capacity,
        ..EmulatorConfig::default()
    });
    let now = SystemTime::now();
    let decode = |req: &HttpRequest, at| aliyun_rpc::decode_response(&em.handle(req, at)).unwrap();
    let victim = ali_signed(
        &Call::new("ModifyInstanceMetadataOptions")
            .with("RegionId", "cn-hangzhou")
            .with("InstanceId", ALI_ID)
            .with("HttpEndpoint", "enabled")
            .with("HttpTokens", "required"),
        now,
        "victim-nonce",
    );
    assert!(matches!(decode(&victim, now), Outcome::Success { .. }));
    let describe = Call::new("DescribeInstances").with("RegionId", "cn-hangzhou");
    let (mut accepted, mut throttled) = (0, 0);
    for i in 0..capacity + 50 {
        match decode(&ali_signed(&describe, now, &format!("flood-{i}")), now) {
            Outcome::Success { .. } => accepted += 1,
            Outcome::Error {
                status: 400, code, ..
            } if code == "Throttling" => throttled += 1,
            other @ Outcome::Error { .. } => panic!("flood request {i}: {other:?}"),
        }
    }
    println!("flood: {accepted} accepted, {throttled} throttled (capacity {capacity})");
    assert_eq!((accepted, throttled), (capacity - 1, 51));
    match decode(&victim, now) {
        Outcome::Error { code, .. } => assert_eq!(code, "SignatureNonceUsed"),
        other @ Outcome::Success { .. } => {
            panic!("the replay after the flood was accepted: {other:?}")
        }
    }
    // Once the nonces are older than the window (2 × 15 min), there is room again.
    let later = now + Duration::from_secs(31 * 60);
    let fresh = ali_signed(&describe, later, "after-the-window");
    assert!(matches!(decode(&fresh, later), Outcome::Success { .. }));
}

// ---------------------------------------------------------------------------
// Items 1 and 2: nonce length cap, and memory under huge nonces

#[test]
fn huge_nonces_are_refused_and_memory_stays_flat() {
    let served = Served::start();
    let (status, body) = raw_exchange(
        &served.addr,
        &wire_bytes(&ali_form_signed(&"n".repeat(255)), "h"),
    );
    assert_eq!(status, 200, "a 255-byte nonce is accepted: {body}");
    let (status, body) = raw_exchange(
        &served.addr,
        &wire_bytes(&ali_form_signed(&"m".repeat(256)), "h"),
    );
    assert_eq!(
        (status, code_of(&body).as_str()),
        (400, "InvalidParameter"),
        "{body}"
    );

    // The padded signing is right: a short padded nonce is accepted.
    let check = ali_form_signed_padded("pad", &["ok".to_string()]);
    let (status, body) = raw_exchange(&served.addr, &wire_bytes(&check[0], "h"));
    assert_eq!(status, 200, "{body}");

    let suffixes: Vec<String> = (0..300).map(|i| format!("n{i:04}")).collect();
    let requests = ali_form_signed_padded(&"x".repeat(900 * 1024), &suffixes);
    let idle = settled_rss(&served);
    let stream = TcpStream::connect(&served.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut send = |requests: &[HttpRequest], first: usize| {
        for (i, req) in requests.iter().enumerate() {
            (&stream).write_all(&wire_bytes(req, "h")).unwrap();
            let (status, body) = read_response(&mut reader);
            assert_eq!(
                (status, code_of(&body).as_str()),
                (400, "InvalidParameter"),
                "request {}",
                first + i
            );
        }
    };
    // Read twice, each against 16 MB: after the first 30 nonces (kept, they would
    // be 27 MB) and after the other 270 (237 MB), from the first reading. Not once
    // from idle: what the allocator has not yet handed back of the last requests'
    // buffers varies by several megabytes from one settled reading to the next
    // (`Served::start`), and one bound over the whole run would leave that 2 MB.
    let (first, rest) = requests.split_at(30);
    send(first, 0);
    let warm = settled_rss(&served);
    send(rest, first.len());
    let after = settled_rss(&served);
    println!("300 × 900 KB nonces: RSS idle {idle} kB, after 30 {warm} kB, after 300 {after} kB");
    assert!(
        warm < idle + 16 * 1024,
        "RSS grew from {idle} kB to {warm} kB over the first 30 huge nonces"
    );
    assert!(
        after < warm + 16 * 1024,
        "RSS grew from {warm} kB to {after} kB over 270 more huge nonces"
    );
}

// ---------------------------------------------------------------------------
// Item 3: hostile 1 MiB bodies before authentication

fn hostile_bodies() -> Vec<Vec<u8>> {
    let tiny = |prefix: &str| {
        let mut b = prefix.to_string();
        while b.len() + 2 <= 1024 * 1024 {
            b.push_str("&a");
        }
        b
    };
    let form = |body: String, extra: &str| {
        format!(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    let mut json = String::from("{\"a\":1");
    while json.len() + 7 < 1024 * 1024 {
        json.push_str(",\"a\":1");
    }
    json.push('}');
    vec![
        form(tiny("RegionId=cn-hangzhou"), ""),
        form(tiny("Action=DescribeInstances"), ""),
        form(json, "X-Amz-Target: Lightsail_20161128.GetInstances\r\n"),
    ]
}

/// A body announced over the limit by a client that waits for `100 Continue` is
/// refused at once: the emulator never asks for the body it refuses (a `100
/// Continue` would make the client upload megabytes only to read a 413). One sent
/// a little over the limit without waiting gets its 413 too, not a reset.
#[test]
fn an_oversize_body_is_refused_without_asking_for_it() {
    let served = Served::start();
    let head = |extra: &str, length: usize| {
        format!(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             {extra}Content-Length: {length}\r\n\r\n"
        )
    };
    let waiting = head("Expect: 100-continue\r\n", 2 * 1024 * 1024);
    let (status, body) = raw_exchange(&served.addr, waiting.as_bytes());
    assert_eq!(status, 413, "{body}");
    let length = 1024 * 1024 + 100;
    let mut whole = head("", length).into_bytes();
    whole.resize(whole.len() + length, b'a');
    for _ in 0..5 {
        let (status, body) = raw_exchange(&served.addr, &whole);
        assert_eq!(status, 413, "{body}");
    }
}

#[test]
fn fifty_concurrent_hostile_megabyte_bodies_stay_bounded() {
    let served = Arc::new(Served::start());
    let idle = settled_rss(&served);
    let bodies = Arc::new(hostile_bodies());
    for (kind, _) in bodies.iter().enumerate() {
        let threads: Vec<_> = (0..50)
            .map(|_| {
                let (served, bodies) = (served.clone(), bodies.clone());
                std::thread::spawn(move || raw_exchange(&served.addr, &bodies[kind]))
            })
            .collect();
        for t in threads {
            let (status, body) = t.join().unwrap();
            assert_eq!(status, 400, "hostile body {kind}: {body}");
            assert_eq!(code_of(&body), "TooManyParameters", "{body}");
        }
    }
    let peak = served.kb("VmHWM");
    let after = settled_rss(&served);
    println!(
        "3 × 50 concurrent 1 MiB bodies: RSS idle {idle} kB, peak {peak} kB, after {after} kB"
    );
    assert!(peak < 256 * 1024, "peak RSS {peak} kB");
    assert!(
        after < idle + 64 * 1024,
        "RSS stays at {after} kB (idle {idle} kB)"
    );
}

// ---------------------------------------------------------------------------
// Item 4: filters

#[test]
fn many_filters_are_refused_fast_and_the_cap_is_ec2s() {
    let em = Emulator::new(EmulatorConfig::default());
    let now = SystemTime::now();
    let answer = |body: String| {
        let req = ec2_signed(body, now);
        let started = Instant::now();
        let out = ec2_query::decode_response(&em.handle(&req, now)).unwrap();
        (out, started.elapsed())
    };
    let filters = |n: usize, values: usize| {
        let mut b = String::from("Action=DescribeInstances&Version=2016-11-15");
        for i in 1..=n {
            b.push_str(&format!("&Filter.{i}.Name=instance-id"));
            for j in 1..=values {
                b.push_str(&format!(
                    "&Filter.{i}.Value.{j}=i-0123456789abcdef{}",
                    j % 2
                ));
            }
        }
        b
    };
    let (out, took) = answer(filters(15_000, 0));
    println!("15 000 filters: {took:?}");
    assert!(
        matches!(&out, Outcome::Error { status: 400, .. }),
        "{out:?}"
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
    for (n, values) in [(201, 0), (2, 101), (1000, 0)] {
        match answer(filters(n, values)).0 {
            Outcome::Error {
                status: 400, code, ..
            } => assert_eq!(code, "FilterLimitExceeded"),
            other => panic!("{n} filters × {values} values: {other:?}"),
        }
    }
    let (out, took) = answer(filters(1, 200));
    println!("one filter with 200 values: {took:?}");
    match out {
        Outcome::Success { body, .. } => {
            assert_eq!(
                body["reservationSet"].as_array().map(Vec::len),
                Some(2),
                "{body}"
            );
        }
        other @ Outcome::Error { .. } => panic!("200 filter values: {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Item 5: malformed chunked bodies

#[test]
fn malformed_chunked_bodies_answer_400() {
    let served = Served::start();
    for body in [
        "zz\r\nAction=X\r\n0\r\n\r\n",
        "8\r\nAction=XYZ0\r\n\r\n",
        "5\r\nAction\r\n0\r\n\r\n",
    ] {
        let request = format!(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
        );
        let (status, text) = raw_exchange(&served.addr, request.as_bytes());
        assert_eq!(status, 400, "{body:?}: {text}");
    }
    // A well-formed chunked body is read as usual.
    let (status, text) = raw_exchange(
        &served.addr,
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nAction=X\r\n0\r\n\r\n",
    );
    assert_eq!(status, 401, "{text}");
}

// ---------------------------------------------------------------------------
// Item 6: a client that pipelines and never reads

#[test]
fn a_client_that_never_reads_is_disconnected() {
    // 200 instances make every DescribeInstances answer about 0.7 MB, so a few
    // unread answers fill the socket buffers.
    let mut fixtures = emulator::default_fixtures();
    let template = fixtures.ec2[0].clone();
    fixtures.ec2.extend((0..200).map(|n| InstanceFixture {
        id: format!("i-1{n:016x}"),
        ..template.clone()
    }));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let running = rt
        .block_on(emulator::start(EmulatorConfig {
            fixtures,
            write_timeout: Duration::from_secs(1),
            ..EmulatorConfig::default()
        }))
        .unwrap();
    let addr = running.addr().to_string();
    let one = wire_bytes(
        &ec2_signed(
            "Action=DescribeInstances&Version=2016-11-15".into(),
            SystemTime::now(),
        ),
        "h",
    );
    let answer_len = {
        let (status, body) = raw_exchange(&addr, &one);
        assert_eq!(status, 200, "{body}");
        body.len()
    };
    // 100 pipelined requests (about 70 MB of answers), never read: the server's
    // send buffer (4 MB at most) fills after a few answers.
    let requests = 100;
    // A fixed receive buffer (no autotuning, which on loopback would take up to
    // 32 MB), as a client that never reads has.
    let stream = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(64 * 1024).unwrap();
        socket
            .connect(addr.parse().unwrap())
            .await
            .unwrap()
            .into_std()
            .unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    for _ in 0..requests {
        (&stream)
            .write_all(&one)
            .expect("100 requests fit the socket buffers");
    }
    std::thread::sleep(Duration::from_secs(6));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (mut received, mut buf) = (0usize, vec![0u8; 1 << 16]);
    let closed = loop {
        match (&stream).read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => received += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    println!(
        "{requests} pipelined requests of {answer_len}-byte answers, unread for 6 s; then \
         read {received} bytes; closed: {closed}"
    );
    assert!(closed, "the server kept a client that does not read");
    assert!(
        received < requests * answer_len,
        "every request was answered: the connection was not cut"
    );
    rt.block_on(running.shutdown());
}

// ---------------------------------------------------------------------------
// Item 7: the client side never follows a redirect

#[test]
fn a_redirect_is_an_answer_not_a_detour() {
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let redirector = TcpListener::bind("127.0.0.1:0").unwrap();
    let location = format!("http://{}/stolen", elsewhere.local_addr().unwrap());
    let url = format!("http://{}", redirector.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in redirector.incoming().take(1) {
            let mut stream = stream.unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    let spec = imds_conform::spec::builtin_api("aliyun-ecs")
        .unwrap()
        .unwrap();
    let target = Target::new(TargetConfig::for_spec(
        &spec,
        &url,
        "cn-hangzhou",
        Some(Credentials::new(ALI_KEY, ALI_SECRET)),
    ))
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let call = Call::new("DescribeInstances").with("RegionId", "cn-hangzhou");
    let sent = rt
        .block_on(target.send(&call, imds_conform::target::Signing::Valid))
        .unwrap();
    assert_eq!(sent.response.status, 302);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        elsewhere.accept().is_err(),
        "the signed request was sent on to the redirect's location"
    );
}
