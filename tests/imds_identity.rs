//! The data plane checks that a metadata endpoint is the instance's own: `--imds
//! A=URL` given instance B's metadata service (whose "as found" answers are alike)
//! is an error of the run naming both, before anything is changed; the right
//! binding passes. Where the table says the metadata cannot name the instance
//! (Lightsail: its instance-id is an EC2 id, not the instance's name), or the
//! endpoint never says whose it is, the run says it could not check — never a
//! silent pass.

use std::time::Duration;

use imds_conform::emulator::imds as em_imds;
use imds_conform::runner::data_plane::{self, ImdsEndpoints};
use imds_conform::runner::{Event, RunConfig};
use imds_conform::verdict::{CaseResult, Verdict};

mod common;
mod imds_common;
use imds_common::imds_of;

fn only(glob: &str) -> globset::GlobSet {
    globset::GlobSetBuilder::new()
        .add(globset::Glob::new(glob).expect("glob"))
        .build()
        .expect("globset")
}

/// The phase's cases and notes.
async fn phase(cfg: &RunConfig, bindings: &[(&str, String)]) -> (Vec<CaseResult>, Vec<String>) {
    let mut endpoints = ImdsEndpoints::default();
    for (id, url) in bindings {
        endpoints.add(&format!("{id}={url}")).unwrap();
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cases = data_plane::run(cfg, &endpoints, &tx).await.expect("runs");
    drop(tx);
    let mut notes = Vec::new();
    while let Some(e) = rx.recv().await {
        if let Event::Note { message, .. } = e {
            notes.push(message);
        }
    }
    (cases, notes)
}

fn identity_errors(cases: &[CaseResult]) -> Vec<&CaseResult> {
    cases
        .iter()
        .filter(|c| c.rule == "data_plane.identity")
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn another_instance_s_endpoint_is_an_error_and_the_instance_s_own_passes() {
    let run = common::emulator_run("aws-ec2", Duration::from_millis(20), 1).await;
    let id = run.cfg.instances[0].clone();
    let other = "i-0123456789abcdef1";
    assert_ne!(id, other);
    let (mine, theirs) = (
        imds_of(&run.server, &id).await,
        imds_of(&run.server, other).await,
    );
    let cfg = RunConfig {
        only: Some(only("data_plane.tokens-*")),
        ..run.cfg.clone()
    };

    // Swapped: A's binding is B's service.
    let (cases, _) = phase(&cfg, &[(&id, theirs.urls()[0].clone())]).await;
    let errors = identity_errors(&cases);
    assert_eq!(errors.len(), 1, "{cases:#?}");
    assert_eq!(
        cases.len(),
        1,
        "no probe of a misbound instance: {cases:#?}"
    );
    let Verdict::Error { reason } = &errors[0].verdict else {
        panic!("{:?}", errors[0].verdict)
    };
    assert!(
        reason.contains(&format!("is not {id}'s metadata service"))
            && reason.contains(&format!("{other:?}"))
            && reason.contains(&theirs.urls()[0]),
        "{reason}"
    );

    // The reproducer is the reading of the item there, its token redacted.
    let read = &errors[0].exchanges;
    assert!(
        read.iter().any(|e| e.request.method == "GET"
            && e.endpoint == theirs.urls()[0]
            && e.request.path_and_query == "/latest/meta-data/instance-id"
            && e.response.as_ref().is_some_and(|r| r.body == other)),
        "{read:#?}"
    );
    assert!(read
        .iter()
        .flat_map(|e| &e.request.headers)
        .filter(|(k, _)| k == "X-aws-ec2-metadata-token")
        .all(|(_, v)| v == "<redacted>"));

    // The instance's own service: no identity error, and its probes pass.
    let (cases, notes) = phase(&cfg, &[(&id, mine.urls()[0].clone())]).await;
    assert!(identity_errors(&cases).is_empty(), "{cases:#?}");
    assert!(cases.len() >= 2, "{cases:#?}");
    assert!(cases.iter().all(|c| c.verdict.is_pass()), "{cases:#?}");
    assert!(!notes.iter().any(|n| n.contains("check that")), "{notes:?}");
}

/// A swapped pair is caught for Alibaba too (its own token headers).
#[tokio::test(flavor = "multi_thread")]
async fn a_swapped_alibaba_endpoint_is_an_error() {
    let run = common::emulator_run("aliyun-ecs", Duration::from_millis(20), 1).await;
    let id = run.cfg.instances[0].clone();
    let other = "i-bp67acfmxaz1234abce";
    assert_ne!(id, other);
    // Tokens required on the other instance: the check takes a token first.
    imds_common::modify(
        &run.server.url(),
        "aliyun-ecs",
        other,
        &[("HttpTokens", "required")],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let theirs = imds_of(&run.server, other).await;
    let cfg = RunConfig {
        only: Some(only("data_plane.tokens-*")),
        ..run.cfg.clone()
    };
    let (cases, _) = phase(&cfg, &[(&id, theirs.urls()[0].clone())]).await;
    assert_eq!(identity_errors(&cases).len(), 1, "{cases:#?}");
    assert_eq!(cases.len(), 1, "{cases:#?}");
}

/// Lightsail's metadata names the EC2 instance underneath, not the Lightsail
/// instance: the table says so, and the run notes that it cannot check.
#[tokio::test(flavor = "multi_thread")]
async fn where_the_metadata_cannot_name_the_instance_the_run_says_so() {
    let run = common::emulator_run("aws-lightsail", Duration::from_millis(20), 1).await;
    let id = run.cfg.instances[0].clone();
    let mine = imds_of(&run.server, &id).await;
    let cfg = RunConfig {
        only: Some(only("data_plane.tokens-optional.*")),
        ..run.cfg.clone()
    };
    let (cases, notes) = phase(&cfg, &[(&id, mine.urls()[0].clone())]).await;
    assert!(identity_errors(&cases).is_empty(), "{cases:#?}");
    assert!(
        notes.iter().any(|n| n.contains(&id)
            && n.contains("cannot check that the metadata endpoint is this instance's")),
        "{notes:?}"
    );
}

/// An endpoint that never says whose it is (another instance's, turned off) is
/// noted as unchecked: the failures it causes are not presented as checked.
#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_that_never_names_its_instance_is_noted() {
    let run = common::emulator_run("aws-ec2", Duration::from_millis(20), 1).await;
    let id = run.cfg.instances[0].clone();
    let other = "i-0123456789abcdef1";
    imds_common::modify(
        &run.server.url(),
        "aws-ec2",
        other,
        &[("HttpEndpoint", "disabled")],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let theirs = imds_of(&run.server, other).await;
    let cfg = RunConfig {
        only: Some(only("data_plane.tokens-optional.*")),
        ..run.cfg.clone()
    };
    let url = theirs.urls()[0].clone();
    let (_, notes) = phase(&cfg, &[(&id, url.clone())]).await;
    assert!(
        notes.iter().any(|n| n.contains(&format!(
            "could not check that {url} is this instance's metadata service"
        )) && n.contains("answered 403")),
        "{notes:?}"
    );
}

/// The foreign-token probe's other instance is checked too: `--imds B=URL` where
/// URL is the instance's own service (here by another name) would hand it its
/// own token, and the service's acceptance would read as a departure.
#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_bound_to_another_instance_gives_no_foreign_token() {
    let run = common::emulator_run("aws-ec2", Duration::from_millis(20), 1).await;
    let id = run.cfg.instances[0].clone();
    let other = "i-0123456789abcdef1";
    let mine = imds_of(&run.server, &id).await;
    let own = mine.urls()[0].clone();
    let own_by_name = own.replace("127.0.0.1", "localhost");
    let cfg = RunConfig {
        only: Some(only("data_plane.token.invalid")),
        ..run.cfg.clone()
    };
    let (cases, notes) = phase(&cfg, &[(&id, own), (other, own_by_name.clone())]).await;
    assert!(cases.iter().all(|c| c.verdict.is_pass()), "{cases:#?}");
    assert!(
        !cases
            .iter()
            .any(|c| c.title.contains("another instance's token")),
        "{cases:#?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("another instance's token skipped")
                && n.contains(&format!("{own_by_name} (bound to {other}) names {id:?}"))),
        "{notes:?}"
    );
}

/// Given only an instance's IPv6 endpoint (which answers only with the IPv6
/// endpoint enabled), the phase does not send every probe there to fail for no
/// answer: it says it needs the IPv4 one.
#[tokio::test(flavor = "multi_thread")]
async fn an_ipv6_endpoint_alone_is_not_probed_as_the_main_one() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    }
    let run = common::emulator_run("aws-ec2", Duration::from_millis(20), 1).await;
    let id = run.cfg.instances[0].clone();
    let em = run.server.emulator();
    let v6 = em_imds::start_imds(
        em,
        em.find_instance(&id).unwrap(),
        &["[::1]:0".parse().unwrap()],
    )
    .await
    .unwrap();
    let cfg = RunConfig {
        only: Some(only("data_plane.tokens-*")),
        ..run.cfg.clone()
    };
    let (cases, notes) = phase(&cfg, &[(&id, v6.urls()[0].clone())]).await;
    assert!(cases.is_empty(), "{cases:#?}");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("only an IPv6 metadata endpoint") && n.contains("skipped")),
        "{notes:?}"
    );
}

/// Where the metadata cannot name the instance (Lightsail), another binding
/// that is this instance's service shows the same item as this one's, and is
/// passed over for the foreign token all the same.
#[tokio::test(flavor = "multi_thread")]
async fn a_lightsail_binding_to_the_same_service_gives_no_foreign_token() {
    let run = common::emulator_run("aws-lightsail", Duration::from_millis(20), 1).await;
    let id = run.cfg.instances[0].clone();
    let other = "web-2";
    assert_ne!(id, other);
    let mine = imds_of(&run.server, &id).await;
    let own = mine.urls()[0].clone();
    let own_by_name = own.replace("127.0.0.1", "localhost");
    let cfg = RunConfig {
        only: Some(only("data_plane.token.invalid")),
        ..run.cfg.clone()
    };
    let (cases, notes) = phase(&cfg, &[(&id, own), (other, own_by_name.clone())]).await;
    assert!(cases.iter().all(|c| c.verdict.is_pass()), "{cases:#?}");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("another instance's token skipped")
                && n.contains(&format!("{own_by_name} (bound to {other})"))
                && n.contains("as this instance's does")),
        "{notes:?}"
    );
}

/// A proxy to `upstream` (a metadata service) that answers 404 to a GET of
/// `path` and passes everything else on: a service that will not say whose it is.
async fn not_saying(upstream: String, path: &'static str) -> String {
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let client = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (client, upstream) = (client.clone(), upstream.clone());
        async move {
            let (parts, body) = req.into_parts();
            if parts.method == axum::http::Method::GET && parts.uri.path() == path {
                return axum::http::StatusCode::NOT_FOUND.into_response();
            }
            let body = axum::body::to_bytes(body, 1 << 20)
                .await
                .unwrap_or_default();
            let target = format!(
                "{}{}",
                upstream.trim_end_matches('/'),
                parts.uri.path_and_query().map_or("/", |p| p.as_str())
            );
            let mut fwd = client.request(parts.method.clone(), target);
            for (k, v) in &parts.headers {
                if k != axum::http::header::HOST {
                    fwd = fwd.header(k, v);
                }
            }
            let Ok(resp) = fwd.body(body).send().await else {
                return axum::http::StatusCode::BAD_GATEWAY.into_response();
            };
            let mut out = axum::response::Response::builder().status(resp.status());
            for (k, v) in resp.headers() {
                out = out.header(k, v);
            }
            let bytes = resp.bytes().await.unwrap_or_default();
            out.body(axum::body::Body::from(bytes))
                .expect("response")
                .into_response()
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

/// The foreign-token probe does not use a token from an endpoint that will not
/// say which instance it is (here this instance's own service, behind a proxy
/// refusing its instance-id item): its acceptance of "another" token would be a
/// service accepting its own. The endpoint is passed over, with a note.
#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_that_will_not_say_whose_it_is_gives_no_foreign_token() {
    let run = common::emulator_run("aws-ec2", Duration::from_millis(20), 1).await;
    let id = run.cfg.instances[0].clone();
    let other = "i-0123456789abcdef1";
    let mine = imds_of(&run.server, &id).await;
    let own = mine.urls()[0].clone();
    let hidden = not_saying(own.clone(), "/latest/meta-data/instance-id").await;
    let cfg = RunConfig {
        only: Some(only("data_plane.token.invalid")),
        ..run.cfg.clone()
    };
    let (cases, notes) = phase(&cfg, &[(&id, own), (other, hidden.clone())]).await;
    assert!(cases.iter().all(|c| c.verdict.is_pass()), "{cases:#?}");
    assert!(
        !cases
            .iter()
            .any(|c| c.title.contains("another instance's token")),
        "{cases:#?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("another instance's token skipped")
                && n.contains(&format!(
                    "{hidden} (bound to {other}) did not say which instance it is (404)"
                ))),
        "{notes:?}"
    );
}
