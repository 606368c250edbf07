//! A hostile metadata service: the data-plane phase bound to a raw HTTP server on
//! 127.0.0.1 that answers with endless bodies, endless headers, one byte a
//! second, silence, a 1xx storm, tokens no client can send back, redirect loops
//! or answers that echo the token it issued. The phase never panics, ends every
//! probe (each request has its own deadline), keeps only a bounded piece of any
//! answer, and never shows the issued token in a case or a note.

use std::time::{Duration, Instant};

use imds_conform::runner::data_plane::{self, ImdsEndpoints};
use imds_conform::runner::{Event, RunConfig};
use imds_conform::verdict::CaseResult;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;

/// How the service misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hostile {
    /// The token answer claims 4 GiB and sends them.
    HugeToken,
    /// The token answer is chunked and never ends.
    EndlessChunkedToken,
    /// The instance-id (and every GET) is an endless body.
    HugeId,
    /// Every answer's headers never end.
    EndlessHeaders,
    /// Every answer comes one byte a second, forever.
    Slowloris,
    /// Every request is read and never answered.
    Silent,
    /// Informational (1xx) answers, without end.
    InformationalStorm,
    /// Every GET redirects to itself.
    RedirectLoop,
    /// The token holds control characters, a header injection and invalid UTF-8.
    ControlToken,
    /// The token is a megabyte long.
    MegabyteToken,
    /// Every answer echoes the issued token: in the TTL header, another header,
    /// the body of a refusal, the instance-id.
    EchoesToken,
    /// The instance-id is the token: the endpoint names another instance.
    EchoesTokenAsId,
}

/// The token [`Hostile::EchoesToken`] issues: it must never be shown.
const SECRET: &str = "AQAEAHostileSecretTokenDoNotShow0123456789abcdefghij==";

/// The request head: method, path and headers (lowercased names).
struct Head {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

async fn read_head(s: &mut TcpStream) -> Option<Head> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut byte).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&byte[..n]);
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Head {
        method,
        path,
        headers,
    })
}

/// Write `chunk` again and again, `total` bytes at most, until the client goes.
async fn flood(s: &mut TcpStream, chunk: &[u8], total: u64) {
    let mut sent = 0u64;
    while sent < total {
        if s.write_all(chunk).await.is_err() {
            return;
        }
        sent += chunk.len() as u64;
    }
}

fn answer(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// One connection of the hostile service of `instance`.
async fn serve_one(mut s: TcpStream, how: Hostile, instance: String) {
    let Some(head) = read_head(&mut s).await else {
        return;
    };
    if endless(&mut s, how, head.method == "PUT").await {
        return;
    }
    let out = canned(how, &head, &instance);
    let _ = s.write_all(&out).await;
    let _ = s.shutdown().await;
}

/// The answers that never end (or come too slowly to): whether `how` has one.
async fn endless(s: &mut TcpStream, how: Hostile, put: bool) -> bool {
    let big = vec![b'A'; 64 * 1024];
    match how {
        Hostile::HugeToken if put => {
            let h = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", 4u64 << 30);
            let _ = s.write_all(h.as_bytes()).await;
            flood(s, &big, 4 << 30).await;
        }
        Hostile::EndlessChunkedToken if put => {
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await;
            let mut chunk = format!("{:x}\r\n", big.len()).into_bytes();
            chunk.extend_from_slice(&big);
            chunk.extend_from_slice(b"\r\n");
            flood(s, &chunk, 4 << 30).await;
        }
        Hostile::HugeId if !put => {
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4294967296\r\n\r\n")
                .await;
            flood(s, &big, 4 << 30).await;
        }
        Hostile::EndlessHeaders => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\n").await;
            flood(
                s,
                b"X-Hostile: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
                1 << 30,
            )
            .await;
        }
        Hostile::Slowloris => {
            for b in b"HTTP/1.1 200 OK\r\nX-Slow: "
                .iter()
                .chain([b'a'; 600].iter())
            {
                if s.write_all(&[*b]).await.is_err() {
                    return true;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Hostile::Silent => {
            let mut sink = [0u8; 1024];
            while matches!(s.read(&mut sink).await, Ok(n) if n > 0) {}
        }
        Hostile::InformationalStorm => {
            flood(s, b"HTTP/1.1 102 Processing\r\n\r\n", 1 << 30).await;
        }
        _ => return false,
    }
    true
}

/// The whole answer to `head` under `how`.
fn canned(how: Hostile, head: &Head, instance: &str) -> Vec<u8> {
    let put = head.method == "PUT";
    let ttl = "X-aws-ec2-metadata-token-ttl-seconds";
    let ttl_sent = head
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(ttl))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    match how {
        Hostile::RedirectLoop if !put => {
            answer("307 Temporary Redirect", &[("Location", &head.path)], b"")
        }
        Hostile::ControlToken if put => answer(
            "200 OK",
            &[(ttl, &ttl_sent)],
            b"tok\r\nX-Injected: 1\r\n\x00\x1b[31m\xff\xfe",
        ),
        // (No token it could have issued is shorter than a megabyte.)
        Hostile::MegabyteToken
            if head
                .headers
                .iter()
                .any(|(k, _)| k == "x-aws-ec2-metadata-token") =>
        {
            answer("401 Unauthorized", &[], b"")
        }
        Hostile::MegabyteToken if put => answer("200 OK", &[(ttl, &ttl_sent)], &[b't'; 1 << 20]),
        Hostile::EchoesToken if put => answer(
            "200 OK",
            &[(ttl, SECRET), ("X-Echo", SECRET)],
            SECRET.as_bytes(),
        ),
        Hostile::EchoesToken if head.path.ends_with("/instance-id") => {
            answer("200 OK", &[("X-Echo", SECRET)], instance.as_bytes())
        }
        Hostile::EchoesToken | Hostile::EchoesTokenAsId if head.path.contains("/tags/") => {
            // Cut (at the 4 KiB the suite keeps) inside the token.
            let mut body = vec![b'x'; 4096 - 20];
            body.extend_from_slice(SECRET.as_bytes());
            answer("404 Not Found", &[], &body)
        }
        Hostile::EchoesTokenAsId if put => answer("200 OK", &[(ttl, &ttl_sent)], SECRET.as_bytes()),
        Hostile::EchoesTokenAsId => answer("200 OK", &[], SECRET.as_bytes()),
        Hostile::EchoesToken => {
            let body = format!("unknown item; your token was {SECRET}\n");
            answer(
                "404 Not Found",
                &[("X-Echo", SECRET), ("Location", &format!("/?t={SECRET}"))],
                body.as_bytes(),
            )
        }
        _ if put => answer("200 OK", &[(ttl, &ttl_sent)], b"hostile-token"),
        _ => answer("200 OK", &[], instance.as_bytes()),
    }
}

/// A hostile metadata service of `instance` on 127.0.0.1: its base URL.
async fn hostile(how: Hostile, instance: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let instance = instance.to_string();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(serve_one(s, how, instance.clone()));
        }
    });
    url
}

fn only(glob: &str) -> globset::GlobSet {
    globset::GlobSetBuilder::new()
        .add(globset::Glob::new(glob).expect("glob"))
        .build()
        .expect("globset")
}

/// The peak resident memory of this process, in KiB.
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The phase against the hostile service (rules `glob` only): its cases, its
/// notes and how long it took.
async fn phase(how: Hostile, glob: &str) -> (Vec<CaseResult>, Vec<String>, Duration) {
    let run = common::emulator_run("aws-ec2", Duration::from_millis(20), 1).await;
    let id = run.cfg.instances[0].clone();
    let url = hostile(how, &id).await;
    let mut endpoints = ImdsEndpoints::default();
    endpoints.add(&format!("{id}={url}")).unwrap();
    let cfg = RunConfig {
        only: Some(only(glob)),
        ..run.cfg.clone()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let started = Instant::now();
    let cases = data_plane::run(&cfg, &endpoints, &tx).await.expect("runs");
    let took = started.elapsed();
    drop(tx);
    let mut notes = Vec::new();
    while let Some(e) = rx.recv().await {
        if let Event::Note { message, .. } = e {
            notes.push(message);
        }
    }
    (cases, notes, took)
}

/// Every hostile answer ends each probe with a case (or a note), bounded in
/// time, memory and size: no probe waits on the service for more than a few
/// seconds a request, however long it talks.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_answers_end_every_probe_within_bounds() {
    let all = [
        Hostile::HugeToken,
        Hostile::EndlessChunkedToken,
        Hostile::HugeId,
        Hostile::EndlessHeaders,
        Hostile::Slowloris,
        Hostile::Silent,
        Hostile::InformationalStorm,
        Hostile::RedirectLoop,
        Hostile::ControlToken,
        Hostile::MegabyteToken,
    ];
    // All at once: the slow ones wait out their deadlines side by side.
    let runs = futures::future::join_all(
        all.iter()
            .map(|how| async move { (*how, phase(*how, "data_plane.token.issued").await) }),
    )
    .await;
    for (how, (cases, notes, took)) in runs {
        eprintln!("{how:?}: {} cases in {took:?}", cases.len());
        for c in &cases {
            eprintln!("  {}: {:?}", c.title, c.verdict);
        }
        assert!(
            !cases.is_empty() || !notes.is_empty(),
            "{how:?}: nothing said"
        );
        // 3 s a request, a handful of requests: minutes would mean a hang.
        assert!(took < Duration::from_secs(240), "{how:?}: {took:?}");
        for c in &cases {
            let shown = serde_json::to_string(c).unwrap();
            assert!(shown.len() < 256 * 1024, "{how:?}: {} bytes", shown.len());
        }
    }
    // The services offered gigabytes; the suite keeps a few KiB of each answer.
    assert!(peak_kib() < 1 << 20, "peak {} KiB", peak_kib());
}

/// A service that echoes the token it issued (in the TTL header it answers with,
/// in other headers, in a refusal's body, in a redirect) gets its answers
/// recorded, and the token is shown nowhere: not in a case, a reason, a
/// reproducer's exchange or a note.
#[tokio::test(flavor = "multi_thread")]
async fn a_service_echoing_its_token_does_not_get_it_shown() {
    let (cases, notes, _) = phase(Hostile::EchoesToken, "data_plane.*").await;
    assert!(cases.len() > 5, "{cases:#?}");
    // The echoes were recorded (redacted), not dropped.
    let shown = serde_json::to_string(&cases).unwrap();
    assert!(shown.contains("your token was <redacted>"), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!shown.contains(&SECRET[..20]), "{shown}");
    for n in &notes {
        assert!(!n.contains(&SECRET[..20]), "{n}");
    }
}

/// A service whose instance-id is the token it issued names another instance:
/// the identity error says so without showing the token.
#[tokio::test(flavor = "multi_thread")]
async fn an_instance_id_echoing_the_token_is_not_shown_in_the_identity_error() {
    let (cases, notes, _) = phase(Hostile::EchoesTokenAsId, "data_plane.*").await;
    assert_eq!(cases.len(), 1, "{cases:#?}");
    assert_eq!(cases[0].rule, "data_plane.identity");
    let shown = serde_json::to_string(&cases).unwrap();
    assert!(shown.contains("is not i-"), "{shown}");
    assert!(!shown.contains(&SECRET[..20]), "{shown}");
    for n in &notes {
        assert!(!n.contains(&SECRET[..20]), "{n}");
    }
}

/// An answer whose headers never end is an answer the client cannot read, and
/// the probe says so: not "the connection closed without an answer".
#[tokio::test(flavor = "multi_thread")]
async fn endless_headers_are_named_as_such() {
    let (cases, _, _) = phase(Hostile::EndlessHeaders, "data_plane.token.issued").await;
    assert!(!cases.is_empty());
    for c in &cases {
        let shown = format!("{:?}", c.verdict);
        assert!(shown.contains("head is too large"), "{}: {shown}", c.title);
    }
}

/// A token longer than the suite keeps of an answer is not sent back cut (the
/// service would refuse it as a wrong token, and the probe would blame the
/// service for that): the probe says the token was too long.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_too_long_to_keep_is_not_sent_back_cut() {
    let (cases, _, _) = phase(Hostile::MegabyteToken, "data_plane.token.valid").await;
    assert!(!cases.is_empty());
    for c in &cases {
        let shown = format!("{:?}", c.verdict);
        assert!(
            shown.contains("token answer is longer than"),
            "{}: {shown}",
            c.title
        );
    }
}
