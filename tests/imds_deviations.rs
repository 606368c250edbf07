//! The data plane's verdicts, both ways: a proxy in front of the emulator's
//! metadata service departs from the docs in one way at a time, and the phase
//! fails exactly the rule that departure breaks (each "pass" survives a service
//! that deviates); a service that answers by another consistent reading of an
//! ambiguity (Alibaba's turned-off endpoint refusing rather than silent; a refusal
//! whose status the table leaves inexact) is not failed.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use imds_conform::emulator::imds as em_imds;
use imds_conform::runner::data_plane::{self, ImdsEndpoints};
use imds_conform::runner::RunConfig;
use imds_conform::verdict::{CaseResult, Verdict};

mod common;
mod imds_common;
use imds_common::imds_of;

/// One way to depart from the docs (or to read them otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deviation {
    /// A turned-off service still answers GETs (403 → 200).
    OffAnswersGets,
    /// The token answer does not echo the TTL header.
    NoTtlEcho,
    /// Any TTL is taken (a bad or missing one is sent on as 60; a valid one as is).
    AnyTtl,
    /// X-Forwarded-For is ignored (stripped).
    ForwardedIgnored,
    /// Any token is taken (replaced by a fresh one).
    AnyToken,
    /// Tag items are never served.
    NoTags,
    /// An absent item answers 200.
    MissingAnswered,
    /// A tokenless GET refused gets 403, not 401.
    Refuses403,
    /// The item is not served but redirected (307) to where it is: a client
    /// that follows judges another answer than the service's (and carries the
    /// token header to wherever the redirect points).
    RedirectsItem,
    /// Not a departure: while the service is turned off, its IPv6 endpoint is
    /// not there (a refusal is cut off without an answer).
    SilentWhenRefused,
    /// The token answer ends with a newline: no client can send it back as a
    /// header value.
    TokenNewline,
    /// Where the service does not answer, the proxy does (200): an IPv6
    /// endpoint that answers while disabled.
    AnswersForSilence,
    /// Not a departure: the instance has no tags (an empty listing, no values).
    Untagged,
    /// Not a departure on Alibaba (its refusal's status is inexact): a tokenless
    /// GET refused gets 401, not 403.
    Refuses401,
    /// A service that does not answer answers 403 instead.
    SilenceRefused,
}

struct Proxy {
    real: String,
    how: Deviation,
    ttl: &'static str,
    token: &'static str,
}

async fn fresh_token(p: &Proxy, client: &reqwest::Client) -> Option<String> {
    let r = client
        .put(format!("{}/latest/api/token", p.real))
        .header(p.ttl, "60")
        .send()
        .await
        .ok()?;
    if r.status() == 200 {
        r.text().await.ok()
    } else {
        None
    }
}

fn valid_ttl(v: &axum::http::HeaderValue) -> bool {
    v.to_str()
        .ok()
        .and_then(|t| t.parse::<u32>().ok())
        .is_some_and(|t| (1..=21600).contains(&t))
}

async fn deviate(State(p): State<Arc<Proxy>>, req: Request) -> Response {
    let client = reqwest::Client::new();
    let (parts, _) = req.into_parts();
    let path = parts.uri.path().to_string();
    let is_put = parts.method == "PUT";
    let mut fwd = client.request(parts.method.clone(), format!("{}{}", p.real, parts.uri));
    for (k, v) in &parts.headers {
        let name = k.as_str();
        let drop = name == "host"
            || (p.how == Deviation::ForwardedIgnored && name == "x-forwarded-for")
            || (p.how == Deviation::AnyTtl && name.eq_ignore_ascii_case(p.ttl) && !valid_ttl(v))
            || (p.how == Deviation::AnyToken && name.eq_ignore_ascii_case(p.token));
        if !drop {
            fwd = fwd.header(k, v);
        }
    }
    let ttl_ok = parts.headers.get(p.ttl).is_some_and(valid_ttl);
    if p.how == Deviation::AnyTtl && is_put && !ttl_ok {
        fwd = fwd.header(p.ttl, "60");
    }
    if p.how == Deviation::AnyToken && parts.headers.contains_key(p.token) {
        if let Some(t) = fresh_token(&p, &client).await {
            fwd = fwd.header(p.token, t);
        }
    }
    let (mut status, mut headers, mut body) = match fwd.send().await {
        Ok(r) => (
            r.status().as_u16(),
            r.headers().clone(),
            r.bytes().await.unwrap_or_default(),
        ),
        // (The proxy cannot stay silent: on Alibaba it refuses, the other reading.)
        Err(_)
            if matches!(
                p.how,
                Deviation::SilenceRefused | Deviation::Refuses401 | Deviation::SilentWhenRefused
            ) =>
        {
            (403, Default::default(), "Forbidden".into())
        }
        Err(_) if p.how == Deviation::AnswersForSilence => (200, Default::default(), "".into()),
        Err(_) => (502, Default::default(), "no answer".into()),
    };
    match p.how {
        Deviation::OffAnswersGets if !is_put && status == 403 => status = 200,
        Deviation::NoTtlEcho => {
            headers.remove(p.ttl);
        }
        Deviation::NoTags if path.contains("/tags/") => status = 404,
        Deviation::MissingAnswered if status == 404 && path.ends_with("-imds-conform-absent") => {
            status = 200;
        }
        Deviation::Refuses403
            if !is_put && status == 401 && !parts.headers.contains_key(p.token) =>
        {
            status = 403;
        }
        Deviation::RedirectsItem if !is_put && status == 200 && path.ends_with("/instance-id") => {
            status = 307;
            headers.insert("location", format!("{}{path}", p.real).parse().unwrap());
        }
        Deviation::TokenNewline if is_put && status == 200 => {
            let mut with = body.to_vec();
            with.push(b'\n');
            body = with.into();
        }
        Deviation::Untagged if status == 200 && path.ends_with("/tags/instance") => {
            body = Default::default();
        }
        Deviation::Untagged if status == 200 && path.contains("/tags/instance/") => {
            status = 404;
        }
        Deviation::Refuses401
            if !is_put && status == 403 && !parts.headers.contains_key(p.token) =>
        {
            status = 401;
        }
        _ => {}
    }
    if p.how == Deviation::SilentWhenRefused && status == 403 {
        // The status line goes out, then the connection drops: no answer.
        let cut = futures::stream::once(async {
            Err::<bytes::Bytes, std::io::Error>(std::io::Error::other("cut off"))
        });
        return Response::builder()
            .status(200)
            .body(Body::from_stream(cut))
            .unwrap();
    }
    let mut out = Response::builder().status(status);
    for (k, v) in &headers {
        // The body may have changed: its length is the server's to set.
        if k != "content-length" {
            out = out.header(k, v);
        }
    }
    out.body(Body::from(body)).unwrap()
}

async fn serve(p: Proxy) -> String {
    serve_on("127.0.0.1:0", p).await
}

async fn serve_on(addr: &str, p: Proxy) -> String {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .fallback(deviate)
        .with_state(Arc::new(p));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// The data-plane phase of `api`'s first instance behind the deviation (a
/// second instance's own service issues the foreign token).
async fn phase(api: &str, other: &str, how: Deviation) -> Vec<CaseResult> {
    phase_slow(api, other, how, Duration::from_millis(20)).await
}

/// [`phase`], changes taking `apply_delay` to reach the metadata service.
async fn phase_slow(
    api: &str,
    other: &str,
    how: Deviation,
    apply_delay: Duration,
) -> Vec<CaseResult> {
    let run = common::emulator_run(api, apply_delay, 1).await;
    let id = run.cfg.instances[0].clone();
    let dp = run.cfg.spec.data_plane.clone().expect("a data plane");
    let (mine, theirs) = (
        imds_of(&run.server, &id).await,
        imds_of(&run.server, other).await,
    );
    let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
    let proxy = serve(Proxy {
        real: mine.urls()[0].clone(),
        how,
        ttl: leak(&dp.ttl_header.to_ascii_lowercase()),
        token: leak(&dp.token_header.to_ascii_lowercase()),
    })
    .await;
    let mut endpoints = ImdsEndpoints::default();
    endpoints.add(&format!("{id}={proxy}")).unwrap();
    endpoints
        .add(&format!("{other}={}", theirs.urls()[0]))
        .unwrap();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let cfg = RunConfig { ..run.cfg.clone() };
    data_plane::run(&cfg, &endpoints, &tx).await.expect("runs")
}

fn failing(cases: &[CaseResult]) -> BTreeSet<String> {
    assert!(
        !cases
            .iter()
            .any(|c| matches!(c.verdict, Verdict::Error { .. })),
        "{cases:#?}"
    );
    cases
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Fail { .. }))
        .map(|c| c.rule.trim_start_matches("data_plane.").to_string())
        .collect()
}

async fn ec2_fails(how: Deviation) -> BTreeSet<String> {
    let cases = phase("aws-ec2", "i-0123456789abcdef1", how).await;
    assert!(cases.len() > 30, "{} cases", cases.len());
    failing(&cases)
}

fn set(rules: &[&str]) -> BTreeSet<String> {
    rules.iter().map(|r| r.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_turned_off_service_that_answers_fails_endpoint_disabled() {
    assert_eq!(
        ec2_fails(Deviation::OffAnswersGets).await,
        set(&["endpoint-disabled"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_answer_without_the_ttl_echo_fails_token_issued() {
    assert_eq!(
        ec2_fails(Deviation::NoTtlEcho).await,
        set(&["token.issued"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_taking_any_ttl_fails_bad_ttl() {
    assert_eq!(ec2_fails(Deviation::AnyTtl).await, set(&["token.bad-ttl"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_ignoring_x_forwarded_for_fails_forwarded_for() {
    assert_eq!(
        ec2_fails(Deviation::ForwardedIgnored).await,
        set(&["token.forwarded-for"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_taking_any_token_fails_token_invalid() {
    assert_eq!(
        ec2_fails(Deviation::AnyToken).await,
        set(&["token.invalid"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_hiding_tags_fails_tags_enabled() {
    assert_eq!(ec2_fails(Deviation::NoTags).await, set(&["tags-enabled"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_answering_absent_items_fails_missing_item() {
    assert_eq!(
        ec2_fails(Deviation::MissingAnswered).await,
        set(&["missing-item"])
    );
}

/// A redirect is the service's answer, not the page it points to.
#[tokio::test(flavor = "multi_thread")]
async fn a_redirected_item_is_judged_as_the_redirect() {
    assert_eq!(
        ec2_fails(Deviation::RedirectsItem).await,
        set(&["tokens-optional.no-token", "token.valid"])
    );
}

/// A token no client can send back fails the probes that send it, and says why
/// (not "the connection closed": nothing was sent).
#[tokio::test(flavor = "multi_thread")]
async fn a_token_that_is_no_header_value_is_named_as_such() {
    let cases = phase("aws-ec2", "i-0123456789abcdef1", Deviation::TokenNewline).await;
    let failed = failing(&cases);
    assert!(failed.contains("token.valid"), "{failed:?}");
    for c in cases.iter().filter(|c| !c.verdict.is_pass()) {
        let Verdict::Fail { reason } = &c.verdict else {
            panic!("{:?}", c.verdict)
        };
        assert!(reason.contains("could not be sent"), "{}: {reason}", c.rule);
    }
}

/// EC2 documents 401 exactly: 403 to a tokenless GET is a departure.
#[tokio::test(flavor = "multi_thread")]
async fn ec2_refusing_a_tokenless_get_with_403_fails_tokens_required() {
    assert_eq!(
        ec2_fails(Deviation::Refuses403).await,
        set(&["tokens-required.no-token"])
    );
}

/// Alibaba's turned-off service refusing (403) instead of silent is the other
/// reading of its ambiguity: passed under that reading, not failed.
#[tokio::test(flavor = "multi_thread")]
async fn alibaba_refusing_when_turned_off_is_a_reading_not_a_failure() {
    let cases = phase(
        "aliyun-ecs",
        "i-bp67acfmxaz1234abce",
        Deviation::SilenceRefused,
    )
    .await;
    assert_eq!(failing(&cases), BTreeSet::new());
    let under: Vec<&CaseResult> = cases
        .iter()
        .filter(|c| c.rule == "data_plane.endpoint-disabled")
        .collect();
    assert!(!under.is_empty());
    for c in under {
        let Verdict::PassUnderReading { readings, .. } = &c.verdict else {
            panic!("{:?}", c.verdict)
        };
        assert_eq!(readings[0].reading, "refused", "{readings:?}");
    }
}

/// An instance without tags, its tags enabled: an empty listing and no value to
/// read. The tag-value probe has no key to ask for; it is skipped, not failed
/// on a key the instance does not have.
#[tokio::test(flavor = "multi_thread")]
async fn an_untagged_instance_is_not_failed() {
    assert_eq!(ec2_fails(Deviation::Untagged).await, BTreeSet::new());
}

/// Alibaba's refusal status is reported, not documented (the table's answer is
/// inexact): 401 instead of 403 is not failed.
#[tokio::test(flavor = "multi_thread")]
async fn alibaba_refusing_a_tokenless_get_with_401_is_not_failed() {
    let cases = phase("aliyun-ecs", "i-bp67acfmxaz1234abce", Deviation::Refuses401).await;
    assert!(cases
        .iter()
        .any(|c| c.rule == "data_plane.tokens-required.no-token"));
    assert_eq!(failing(&cases), BTreeSet::new());
}

/// A table without a change state (Alibaba) waits until the service shows the
/// change. A service refusing while turned off (the "refused" reading) answers a
/// tokenless GET as one with tokens required does: waiting on that GET after
/// turning it back on with tokens required ended at once, and the probes went
/// out while it was still off (token PUTs refused, failed as token.issued).
#[tokio::test(flavor = "multi_thread")]
async fn a_change_that_reaches_the_service_late_is_waited_for() {
    let cases = phase_slow(
        "aliyun-ecs",
        "i-bp67acfmxaz1234abce",
        Deviation::SilenceRefused,
        Duration::from_millis(1500),
    )
    .await;
    assert!(cases.iter().any(
        |c| c.rule == "data_plane.token.issued" && c.title.starts_with("http_tokens=required")
    ));
    assert_eq!(failing(&cases), BTreeSet::new());
}

/// With the service turned off, an IPv6 endpoint that is not there at all (no
/// answer) is the other reading of "applies only if you enabled the HTTP
/// metadata endpoint", beside a refusal like the IPv4 one's: not failed.
#[tokio::test(flavor = "multi_thread")]
async fn an_ipv6_endpoint_gone_while_turned_off_is_not_failed() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    }
    let run = common::emulator_run("aws-ec2", Duration::from_millis(20), 1).await;
    let id = run.cfg.instances[0].clone();
    let other = "i-0123456789abcdef1";
    let url = run.server.url();
    common_modify(&url, &id).await;
    let em = run.server.emulator();
    let addrs = ["127.0.0.1:0".parse().unwrap(), "[::1]:0".parse().unwrap()];
    let mine = em_imds::start_imds(em, em.find_instance(&id).unwrap(), &addrs)
        .await
        .unwrap();
    let theirs = imds_of(&run.server, other).await;
    let dp = run.cfg.spec.data_plane.clone().expect("a data plane");
    let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
    let v6 = serve_on(
        "[::1]:0",
        Proxy {
            real: mine.urls()[1].clone(),
            how: Deviation::SilentWhenRefused,
            ttl: leak(&dp.ttl_header.to_ascii_lowercase()),
            token: leak(&dp.token_header.to_ascii_lowercase()),
        },
    )
    .await;
    assert!(v6.starts_with("http://[::1]:"), "{v6}");
    let mut endpoints = ImdsEndpoints::default();
    for b in [
        format!("{id}={}", mine.urls()[0]),
        format!("{id}={v6}"),
        format!("{other}={}", theirs.urls()[0]),
    ] {
        endpoints.add(&b).unwrap();
    }
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let cases = data_plane::run(&run.cfg, &endpoints, &tx)
        .await
        .expect("runs");
    assert!(
        cases
            .iter()
            .any(|c| c.rule == "data_plane.ipv6-endpoint-disabled" && c.verdict.is_pass()),
        "{cases:#?}"
    );
    assert_eq!(failing(&cases), BTreeSet::new());
}

/// An IPv6 endpoint that answers while disabled fails ipv6-disabled, and only it.
#[tokio::test(flavor = "multi_thread")]
async fn an_ipv6_endpoint_answering_while_disabled_fails_ipv6_disabled() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    }
    let run = common::emulator_run("aws-ec2", Duration::from_millis(20), 1).await;
    let id = run.cfg.instances[0].clone();
    let other = "i-0123456789abcdef1";
    let em = run.server.emulator();
    let addrs = ["127.0.0.1:0".parse().unwrap(), "[::1]:0".parse().unwrap()];
    let mine = em_imds::start_imds(em, em.find_instance(&id).unwrap(), &addrs)
        .await
        .unwrap();
    let theirs = imds_of(&run.server, other).await;
    let dp = run.cfg.spec.data_plane.clone().expect("a data plane");
    let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
    let v6 = serve_on(
        "[::1]:0",
        Proxy {
            real: mine.urls()[1].clone(),
            how: Deviation::AnswersForSilence,
            ttl: leak(&dp.ttl_header.to_ascii_lowercase()),
            token: leak(&dp.token_header.to_ascii_lowercase()),
        },
    )
    .await;
    let mut endpoints = ImdsEndpoints::default();
    for b in [
        format!("{id}={}", mine.urls()[0]),
        format!("{id}={v6}"),
        format!("{other}={}", theirs.urls()[0]),
    ] {
        endpoints.add(&b).unwrap();
    }
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let cases = data_plane::run(&run.cfg, &endpoints, &tx)
        .await
        .expect("runs");
    assert!(
        cases
            .iter()
            .any(|c| c.rule == "data_plane.ipv6-enabled" && c.verdict.is_pass()),
        "{cases:#?}"
    );
    assert_eq!(failing(&cases), set(&["ipv6-disabled"]));
}

/// The instance's IPv6 endpoint enabled, through the emulator's API.
async fn common_modify(url: &str, id: &str) {
    imds_common::modify(url, "aws-ec2", id, &[("HttpProtocolIpv6", "enabled")]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
}
