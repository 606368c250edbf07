//! Snapshots of the normalized outcome of every coverage-phase case, per API,
//! against the embedded emulator (target `emulator`), under
//! `snapshots/emulator/<api>/`. Request ids, operation ids, timestamps and instance
//! ids are numbered placeholders (`verdict::normalize`); each snapshot's metadata
//! (`info`) carries the case id, rule, title, verdict and the request as sent
//! (instance ids normalized too), so a reviewer sees what was asked.
//!
//! Accept changes with `cargo insta review` or `INSTA_UPDATE=always cargo test
//! --test snapshots`; CI runs `cargo insta test --check --unreferenced=reject
//! --test snapshots`.
use std::time::Duration;

use imds_conform::runner;
use imds_conform::spec::{self, Volatile};
use imds_conform::verdict::normalize;
use imds_conform::verdict::CaseResult;
use serde::Serialize;

mod common;

/// The coverage phase for one API against a fresh embedded emulator, one instance
/// (the first running one of the table's default region), so the case order and
/// the instance's history are the same on every run.
async fn coverage(api: &str) -> (String, Vec<CaseResult>) {
    let common::EmulatorRun { server, cfg } =
        common::emulator_run(api, Duration::from_millis(50), 1).await;
    let instance = cfg.instances[0].clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let results = runner::run_api(cfg, tx).await.expect("the run completes");
    drain.await.expect("drain");
    server.shutdown().await;
    (instance, results)
}

/// `0042-httptokens-valid-required`: the case's number and its (normalized)
/// title, file-safe.
fn snapshot_name(rules: &Volatile, instance: &str, case: &CaseResult) -> String {
    let seq = case.id.rsplit('/').next().unwrap_or("0");
    let mut slug = String::new();
    for c in normalize::title(rules, instance, &case.title).chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_matches('-').chars().take(60).collect();
    format!("{seq}-{}", slug.trim_end_matches('-'))
}

#[derive(Serialize)]
struct Info<'a> {
    case: &'a str,
    rule: &'a str,
    title: &'a str,
    verdict: &'a str,
    request: Vec<imds_conform::wire::RawParam>,
}

async fn snapshots_for(api: &str) {
    let (instance, cases) = coverage(api).await;
    assert!(
        cases.len() > 50,
        "{api}: only {} coverage cases",
        cases.len()
    );
    let spec = spec::builtin_api(api).expect("tables").expect("table");
    let rules = &spec.volatile;
    let mut names = std::collections::BTreeSet::new();
    for case in &cases {
        let (request, outcome) = normalize::case(rules, &instance, &case.request, &case.actual);
        let name = snapshot_name(rules, &instance, case);
        assert!(
            names.insert(name.clone()),
            "{api}: two snapshots named {name}"
        );
        let info = Info {
            case: &case.id,
            rule: &case.rule,
            title: &normalize::title(rules, &instance, &case.title),
            verdict: case.verdict.name(),
            request,
        };
        insta::with_settings!({
            snapshot_path => format!("../snapshots/emulator/{api}"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
            info => &info,
        }, {
            insta::assert_json_snapshot!(name, outcome);
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_ec2_coverage() {
    snapshots_for("aws-ec2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_lightsail_coverage() {
    snapshots_for("aws-lightsail").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliyun_ecs_coverage() {
    snapshots_for("aliyun-ecs").await;
}
