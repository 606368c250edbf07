//! The two ways a request reaches a target (`target::Transport`): a worker's own
//! connection to a local `http://` endpoint, and reqwest for the rest. Each hostile
//! or awkward peer here is met by both, which must behave alike: bounded answers,
//! timeouts, garbage, peers that close connections, keep-alive; and a whole run
//! against the emulator gives the same verdicts either way.
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imds_conform::generate::Phase;
use imds_conform::runner::{self, RunConfig};
use imds_conform::spec::builtin_api;
use imds_conform::target::{Target, TargetConfig, TargetError, Transport};
use imds_conform::wire::{HttpRequest, MAX_BODY_BYTES};

const BOTH: [Transport; 2] = [Transport::Auto, Transport::Pooled];

/// A peer on a port of its own: `conn` handles each accepted connection on a thread
/// of its own. Its URL and how many connections it accepted.
fn peer(conn: fn(TcpStream)) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || conn(stream));
        }
    });
    (url, accepted)
}

/// Read one request's head and its `Content-Length` body; false at the end of the
/// connection.
fn read_request(reader: &mut BufReader<TcpStream>) -> bool {
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).is_ok()
}

fn target(url: &str, transport: Transport, timeout: Duration) -> Target {
    let spec = builtin_api("aws-ec2").expect("tables").expect("table");
    let mut cfg = TargetConfig::for_spec(&spec, url, "us-east-1", None);
    cfg.transport = transport;
    cfg.timeout = timeout;
    Target::new(cfg).expect("client")
}

fn request(url: &str) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path_and_query: "/".into(),
        headers: vec![
            ("Host".into(), url.trim_start_matches("http://").into()),
            ("Content-Type".into(), "text/plain".into()),
        ],
        body: b"Action=Probe".to_vec(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn an_endless_answer_is_cut_one_byte_past_the_limit_and_the_next_request_works() {
    fn endless(stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut stream = stream;
        while read_request(&mut reader) {
            if stream
                .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .is_err()
            {
                return;
            }
            let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "a".repeat(64 * 1024));
            while stream.write_all(chunk.as_bytes()).is_ok() {}
        }
    }
    let (url, accepted) = peer(endless);
    let rt = runtime();
    for transport in BOTH {
        let before = accepted.load(Ordering::SeqCst);
        let target = target(&url, transport, Duration::from_secs(20));
        for _ in 0..2 {
            let resp = rt
                .block_on(target.send_raw(&request(&url)))
                .unwrap_or_else(|e| panic!("{transport:?}: {e}"));
            assert_eq!(resp.status, 200, "{transport:?}");
            assert_eq!(resp.body.len(), MAX_BODY_BYTES + 1, "{transport:?}");
        }
        // The cut answer's connection is not used again.
        assert_eq!(
            accepted.load(Ordering::SeqCst) - before,
            2,
            "{transport:?}: connections for two cut answers"
        );
    }
}

#[test]
fn a_silent_peer_is_unreachable_after_the_timeout() {
    fn silent(stream: TcpStream) {
        let mut reader = BufReader::new(stream);
        read_request(&mut reader);
        std::thread::sleep(Duration::from_secs(30));
    }
    let (url, _) = peer(silent);
    let rt = runtime();
    for transport in BOTH {
        let target = target(&url, transport, Duration::from_millis(300));
        let started = Instant::now();
        let err = rt
            .block_on(target.send_raw(&request(&url)))
            .expect_err("no answer");
        assert!(
            matches!(err, TargetError::Unreachable { .. }),
            "{transport:?}: {err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{transport:?}: waited {:?}",
            started.elapsed()
        );
    }
}

/// Peers that keep sending and never finish an answer within the timeout: one byte
/// of its head at a time, one byte of its body at a time, or informational (1xx)
/// answers without end. Each costs the timeout and no more, and the reason is the
/// same whichever way the request went (reqwest's was its own "operation timed
/// out" chain).
#[test]
fn a_trickling_or_endlessly_informational_peer_costs_the_timeout() {
    fn trickle(mut stream: TcpStream, bytes: &[u8]) {
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        read_request(&mut reader);
        for b in bytes {
            if stream.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    fn slow_head(stream: TcpStream) {
        trickle(stream, &b"HTTP/1.1 200 OK\r\n".repeat(400));
    }
    fn slow_body(stream: TcpStream) {
        let mut answer = b"HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n".to_vec();
        answer.extend([b'a'; 400]);
        trickle(stream, &answer);
    }
    fn informational(mut stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        read_request(&mut reader);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20)
            && stream
                .write_all(&b"HTTP/1.1 102 Processing\r\n\r\n".repeat(64))
                .is_ok()
        {}
    }
    let rt = runtime();
    for (peer_fn, what) in [
        (slow_head as fn(TcpStream), "a head one byte at a time"),
        (slow_body, "a body one byte at a time"),
        (informational, "1xx answers without end"),
    ] {
        let (url, _) = peer(peer_fn);
        for transport in BOTH {
            let target = target(&url, transport, Duration::from_millis(1500));
            let started = Instant::now();
            let err = rt
                .block_on(target.send_raw(&request(&url)))
                .expect_err(what);
            let TargetError::Unreachable { reason, .. } = &err else {
                panic!("{what}, {transport:?}: {err}");
            };
            assert!(
                reason.contains("no answer within 1.5s (none, or not all of it)"),
                "{what}, {transport:?}: {reason}"
            );
            // The timeout, not the peer's 20 s: generous for a loaded machine.
            assert!(
                started.elapsed() < Duration::from_secs(12),
                "{what}, {transport:?}: waited {:?}",
                started.elapsed()
            );
        }
    }
}

#[test]
fn garbage_and_a_dropped_connection_are_unreachable_with_a_reason() {
    fn garbage(mut stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        read_request(&mut reader);
        let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\r\n");
    }
    fn dropped(stream: TcpStream) {
        let mut reader = BufReader::new(stream);
        read_request(&mut reader);
    }
    let rt = runtime();
    for (peer_fn, what) in [(garbage as fn(TcpStream), "garbage"), (dropped, "dropped")] {
        let (url, _) = peer(peer_fn);
        for transport in BOTH {
            let target = target(&url, transport, Duration::from_secs(5));
            let err = rt
                .block_on(target.send_raw(&request(&url)))
                .expect_err(what);
            let TargetError::Unreachable { url: named, reason } = &err else {
                panic!("{what}, {transport:?}: {err}");
            };
            assert_eq!(named, &url, "{what}, {transport:?}");
            assert!(!reason.is_empty(), "{what}, {transport:?}");
        }
    }
}

/// An endpoint given with a password in its URL (`http://user:password@host`) is
/// named without it when it cannot be reached: the message reaches the console
/// and the reports.
#[test]
fn an_unreachable_endpoint_is_named_without_its_userinfo() {
    fn dropped(stream: TcpStream) {
        let mut reader = BufReader::new(stream);
        read_request(&mut reader);
    }
    let (url, _) = peer(dropped);
    let with_password = url.replacen("http://", "http://zqxuser:ZQXURLPASSWORD@", 1);
    let rt = runtime();
    for transport in BOTH {
        let target = target(&with_password, transport, Duration::from_secs(5));
        let err = rt
            .block_on(target.send_raw(&request(&url)))
            .expect_err("dropped");
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains("ZQXURLPASSWORD") && !shown.contains("zqxuser"),
            "{transport:?}: {shown}"
        );
        let TargetError::Unreachable { url: named, .. } = &err else {
            panic!("{transport:?}: {err}");
        };
        assert_eq!(
            named,
            &url.replacen("http://", "http://<redacted>@", 1),
            "{transport:?}"
        );
    }
}

/// A peer that answers once per connection, without "Connection: close", and
/// closes it a moment later: the client learns of the close by itself.
fn answers_once(mut stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    if read_request(&mut reader) {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Four requests to an [`answers_once`] peer; between them the task waits (the
/// runtime runs) or, when `busy`, blocks its thread as a worker computing does.
fn four_requests_to_a_closing_peer(transport: Transport, busy: bool) {
    let (url, accepted) = peer(answers_once);
    let target = target(&url, transport, Duration::from_secs(5));
    runtime().block_on(async {
        for n in 0..4 {
            let resp = target
                .send_raw(&request(&url))
                .await
                .unwrap_or_else(|e| panic!("{transport:?}, busy {busy}, request {n}: {e}"));
            assert_eq!(resp.body, b"ok", "{transport:?}");
            if busy {
                // Blocks the thread: no task runs, nothing reads the close.
                std::thread::sleep(Duration::from_millis(100));
            } else {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    assert_eq!(accepted.load(Ordering::SeqCst), 4, "{transport:?}");
}

#[test]
fn a_peer_that_closes_after_each_answer_is_reconnected() {
    for transport in BOTH {
        four_requests_to_a_closing_peer(transport, false);
    }
}

/// The close arrives while the worker's thread computes its next case, so no task
/// has read it when the next request goes: the worker's own connection looks at
/// the socket first. reqwest's pool does not (the keep-alive race, "connection
/// closed before message completed"), hence `Auto` only.
#[test]
fn a_close_that_comes_while_the_worker_computes_is_seen_before_the_next_request() {
    four_requests_to_a_closing_peer(Transport::Auto, true);
}

/// A request written to a connection that the peer then closes without an
/// answer may have been acted on: it is never sent again (a second send would
/// replay its nonce, or change the instance twice). Only a request the
/// connection never took goes again, on a new one.
#[test]
fn a_written_request_is_never_sent_twice() {
    static RECEIVED: AtomicUsize = AtomicUsize::new(0);
    fn answers_then_drops(mut stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        if !read_request(&mut reader) {
            return;
        }
        RECEIVED.fetch_add(1, Ordering::SeqCst);
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        // The second request on the connection is read in full, then dropped.
        if read_request(&mut reader) {
            RECEIVED.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (url, accepted) = peer(answers_then_drops);
    for transport in BOTH {
        RECEIVED.store(0, Ordering::SeqCst);
        let before = accepted.load(Ordering::SeqCst);
        let target = target(&url, transport, Duration::from_secs(5));
        runtime().block_on(async {
            let first = target.send_raw(&request(&url)).await;
            assert_eq!(first.expect("first answered").body, b"ok", "{transport:?}");
            let second = target.send_raw(&request(&url)).await;
            assert!(
                matches!(second, Err(TargetError::Unreachable { .. })),
                "{transport:?}: {second:?}"
            );
        });
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            RECEIVED.load(Ordering::SeqCst),
            2,
            "{transport:?}: requests received"
        );
        // Both went on one connection: the second was written, then dropped.
        assert_eq!(accepted.load(Ordering::SeqCst) - before, 1, "{transport:?}");
    }
}

#[test]
fn keep_alive_answers_share_one_connection() {
    fn keep_alive(mut stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        while read_request(&mut reader) {
            if stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Peer: a\r\n\r\nhello")
                .is_err()
            {
                return;
            }
        }
    }
    let (url, accepted) = peer(keep_alive);
    let rt = runtime();
    for transport in BOTH {
        let before = accepted.load(Ordering::SeqCst);
        let target = target(&url, transport, Duration::from_secs(5));
        for _ in 0..20 {
            let resp = rt
                .block_on(target.send_raw(&request(&url)))
                .unwrap_or_else(|e| panic!("{transport:?}: {e}"));
            assert_eq!((resp.status, resp.body.as_slice()), (200, &b"hello"[..]));
            let peer_header = resp
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("x-peer"))
                .map(|(_, v)| v.as_str());
            assert_eq!(peer_header, Some("a"), "{transport:?}");
        }
        assert_eq!(accepted.load(Ordering::SeqCst) - before, 1, "{transport:?}");
    }
}

/// The workers of a thread share one target handle, each with a request in
/// flight: their connections are all kept, so rounds of concurrent requests open
/// as many connections as there are workers, once (not one per round, as when the
/// handle kept a single idle connection and dropped the others').
#[test]
fn concurrent_requests_on_one_handle_keep_their_connections() {
    fn keep_alive_slowly(mut stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        while read_request(&mut reader) {
            // Slow enough that the workers' requests overlap.
            std::thread::sleep(Duration::from_millis(5));
            if stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .is_err()
            {
                return;
            }
        }
    }
    const WORKERS: usize = 4;
    let (url, accepted) = peer(keep_alive_slowly);
    let target = target(&url, Transport::Auto, Duration::from_secs(5));
    let req = request(&url);
    runtime().block_on(async {
        for _ in 0..10 {
            let round = (0..WORKERS).map(|_| target.send_raw(&req));
            for answer in futures::future::join_all(round).await {
                assert_eq!(answer.expect("answered").body, b"ok");
            }
        }
    });
    assert_eq!(accepted.load(Ordering::SeqCst), WORKERS);
}

/// What a run found, case by case: its id and verdict.
async fn verdicts(cfg: RunConfig) -> Vec<(String, String)> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let cases = runner::run_api(cfg, tx).await.expect("the run");
    drain.await.expect("drain");
    cases
        .iter()
        .map(|c| (c.id.clone(), format!("{:?}", c.verdict)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_finds_the_same_either_way() {
    for api in ["aws-ec2", "aws-lightsail", "aliyun-ecs"] {
        let mut found = Vec::new();
        for transport in BOTH {
            // A fresh emulator each time: the same seed then meets the same state.
            let run = common::emulator_run(api, Duration::from_millis(5), 2).await;
            let mut target_cfg = run.cfg.target.config().clone();
            target_cfg.transport = transport;
            let cfg = RunConfig {
                target: Arc::new(Target::new(target_cfg).expect("client")),
                phases: vec![Phase::Coverage, Phase::Auth, Phase::Random],
                random_cases: 40,
                seed: 7,
                ..run.cfg
            };
            found.push(verdicts(cfg).await);
        }
        assert!(found[0].len() > 40, "{api}: {} cases", found[0].len());
        assert_eq!(found[0], found[1], "{api}: the two transports disagree");
    }
}
