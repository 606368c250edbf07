//! `spec check` against the real sources, and the `spec` commands' contracts.

use common::{bin, cli, exits_with};
use imds_conform::spec::{self, check};

mod common;

/// What every `spec check` here reads.
const SOURCES: [&str; 2] = ["seeds", "reference"];

#[test]
fn the_builtin_tables_agree_with_their_sources() {
    let Some(sources) = common::shared_sources(&SOURCES) else {
        return;
    };
    let report = check::check(&spec::builtin().expect("tables load"), &sources);
    let failures: Vec<String> = report
        .failures()
        .map(|f| format!("{} {}: {}", f.api, f.subject, f.detail))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        report.count(|k| *k == check::FindingKind::Ok) > 250,
        "too few checks ran"
    );
    // Member names and enum values were compared against the models, not just quotes.
    assert!(report
        .findings
        .iter()
        .any(|f| f.subject.starts_with("request members") && f.api == "aws-ec2"));
    assert!(report
        .findings
        .iter()
        .any(|f| f.subject.contains("values vs ec2_modify_shapes.json")));
}

#[test]
fn a_misquoted_or_disagreeing_table_fails_the_check() {
    let Some(sources) = common::shared_sources(&SOURCES) else {
        return;
    };
    let text = include_str!("../specs/aws-ec2.toml")
        .replace(
            "Possible values: Integers from 1 to 64\"",
            "Possible values: Integers from 1 to 99\"",
        )
        .replacen(
            "values = [\"optional\", \"required\"]",
            "values = [\"optional\", \"required\", \"maybe\"]",
            1,
        );
    let bad = spec::load_str("aws-ec2.toml", &text).expect("still a valid table");
    let report = check::check(&[bad], &sources);
    let failures: Vec<String> = report.failures().map(|f| f.detail.clone()).collect();
    assert!(
        failures.iter().any(|d| d.contains("Integers from 1 to 99")),
        "{failures:?}"
    );
    assert!(failures.iter().any(|d| d.contains("maybe")), "{failures:?}");
}

#[test]
fn spec_check_command_passes_and_refuses_missing_folders() {
    if let Some(shared) = common::shared(&SOURCES) {
        let out = bin()
            .args(["spec", "check", "--docs"])
            .arg(shared.join("seeds"))
            .arg("--reference")
            .arg(shared.join("reference"))
            .output()
            .expect("runs");
        exits_with(&out, 0);
        assert!(String::from_utf8_lossy(&out.stdout).contains("0 failures"));
    }
    let out = cli(&["spec", "check", "--docs", "/nonexistent/seeds"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/seeds"), "{err}");
}

#[test]
fn spec_show_carries_the_hop_limit_ambiguity_with_both_readings() {
    let out = cli(&["spec", "show", "aliyun-ecs"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let at = text
        .find("aliyun-hop-limit-range")
        .expect("the ambiguity is shown");
    let section = &text[at..];
    for needle in [
        "reading 1-to-64",
        "The value must be in the range of 1 to 64.",
        "reading 2-to-63",
        "more than 1 and less than 64 is reasonable.",
        "000_cbf2e7d6708dea27.txt",
    ] {
        assert!(
            section.contains(needle),
            "{needle:?} missing from:\n{section}"
        );
    }
}

#[test]
fn spec_show_json_is_the_documented_format() {
    let out = cli(&["spec", "show", "aws-lightsail", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["format"], "imds-conform.spec/1");
    assert_eq!(v["spec"]["api"]["id"], "aws-lightsail");
    assert!(v["spec"]["params"].as_array().is_some_and(|p| p
        .iter()
        .any(|p| p["name"] == "instanceName" && p["type"] == "string")));
    assert!(v["spec"]["ambiguities"].as_array().is_some_and(|a| a
        .iter()
        .all(|a| a["readings"].as_array().is_some_and(|r| r.len() >= 2))));
    let unknown = cli(&["spec", "show", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn a_bad_flag_exits_2_with_a_message() {
    let out = cli(&["run", "--shard", "5/2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("K <= N"));
    let out = cli(&["run", "--endpoint", "http://127.0.0.1:9"]);
    assert_eq!(out.status.code(), Some(2));
}
