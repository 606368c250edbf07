//! The `[data_plane]` section of the spec tables: the real tables load and say what
//! the issue says they must; a spoiled section is refused naming file, line and
//! field; `spec check` verifies `{ reference, quote }` citations against the text
//! of the reference extract.

use imds_conform::spec::{self, check, Citation, Probe, Status, Strength};

mod common;
mod spoil;
use spoil::{line_of, reject, replace_once, EC2};

fn table(id: &str) -> spec::Spec {
    spec::builtin_api(id)
        .expect("tables load")
        .expect("table exists")
}

#[test]
fn every_builtin_table_has_a_data_plane_and_lightsail_uses_the_aws_layout() {
    let ec2 = table("aws-ec2");
    let lightsail = table("aws-lightsail");
    let aliyun = table("aliyun-ecs");
    let (e, l, a) = (
        ec2.data_plane.as_ref().expect("ec2 data plane"),
        lightsail.data_plane.as_ref().expect("lightsail data plane"),
        aliyun.data_plane.as_ref().expect("aliyun data plane"),
    );
    assert_eq!(e.address_v4, "169.254.169.254");
    assert_eq!(e.address_v6.as_deref(), Some("fd00:ec2::254"));
    assert_eq!((e.ttl_range.min, e.ttl_range.max), (1, 21600));
    assert_eq!(e.token_header, "X-aws-ec2-metadata-token");
    assert_eq!(e.ttl_header, "X-aws-ec2-metadata-token-ttl-seconds");
    for (x, y) in [
        (&e.address_v4, &l.address_v4),
        (&e.token_path, &l.token_path),
        (&e.ttl_header, &l.ttl_header),
        (&e.token_header, &l.token_header),
    ] {
        assert_eq!(x, y, "Lightsail instances run EC2's metadata service");
    }
    assert_eq!(a.address_v4, "100.100.100.200");
    assert_eq!(a.token_header, "X-aliyun-ecs-metadata-token");
    assert_eq!(a.ttl_header, "X-aliyun-ecs-metadata-token-ttl-seconds");
    // Lightsail has no instance-tags option, so no tag rules.
    assert!(!l.probes_named().contains(&Probe::Tags));
    assert!(e.probes_named().contains(&Probe::Tags));
}

#[test]
fn the_statuses_per_condition_are_the_documented_ones() {
    let ec2 = table("aws-ec2");
    let e = ec2.data_plane.as_ref().unwrap();
    let status = |id: &str| {
        let r = e.rule(id).unwrap_or_else(|| panic!("rule {id}"));
        (r.answer[0].status, r.answer[0].exact)
    };
    assert_eq!(
        status("tokens-required.no-token"),
        (Some(Status::Exact(401)), true)
    );
    assert_eq!(status("token.invalid"), (Some(Status::Exact(401)), true));
    assert_eq!(status("token.bad-ttl"), (Some(Status::Exact(400)), true));
    assert_eq!(
        status("token.forwarded-for"),
        (Some(Status::Exact(403)), false)
    );
    assert_eq!(
        status("token.versioned-path"),
        (Some(Status::Exact(403)), true)
    );
    assert_eq!(
        status("endpoint-disabled"),
        (Some(Status::Exact(403)), true)
    );
    assert_eq!(status("tags-disabled"), (Some(Status::Exact(404)), true));
    let required = e.rule("tokens-required.no-token").unwrap();
    assert_eq!(
        required.when.get("http_tokens").map(String::as_str),
        Some("required")
    );
    assert!(e.rule("token.issued").unwrap().answer[0].echo_ttl);
    assert!(e.rule("ipv6-disabled").unwrap().answer[0].no_answer);

    let aliyun = table("aliyun-ecs");
    let a = aliyun.data_plane.as_ref().unwrap();
    let r = a.rule("tokens-required.no-token").unwrap();
    assert_eq!(
        (r.answer[0].status, r.answer[0].exact),
        (Some(Status::Exact(403)), false)
    );
    // Both readings of a turned-off endpoint, each tied to the ambiguity.
    let off = a.rule("endpoint-disabled").unwrap();
    let readings: Vec<_> = off
        .answer
        .iter()
        .filter_map(|x| x.reading_parts())
        .collect();
    assert_eq!(
        readings,
        [
            ("aliyun-imds-endpoint-disabled", "unreachable"),
            ("aliyun-imds-endpoint-disabled", "refused")
        ]
    );
    assert!(aliyun.ambiguity("aliyun-imds-endpoint-disabled").is_some());
}

#[test]
fn a_rule_on_an_option_no_parameter_sets() {
    let text = replace_once(
        "when = { http_tokens = \"required\" }",
        "when = { http_tokenz = \"required\" }",
    );
    let e = reject(&text);
    assert_eq!(
        (e.file.as_str(), e.field.as_str()),
        ("bad.toml", "when"),
        "{e}"
    );
    assert!(e.message.contains("\"http_tokenz\""), "{e}");
    assert_eq!(e.line, line_of(&text, "http_tokenz"), "{e}");
}

#[test]
fn a_rule_on_a_value_the_option_does_not_have() {
    let text = replace_once(
        "when = { http_tokens = \"required\" }",
        "when = { http_tokens = \"mandatory\" }",
    );
    let e = reject(&text);
    assert_eq!(e.field, "when", "{e}");
    assert!(e.message.contains("\"mandatory\""), "{e}");
    assert_eq!(e.line, line_of(&text, "mandatory"), "{e}");
}

#[test]
fn an_answer_with_neither_status_nor_no_answer() {
    let text = replace_once(
        "answer = [{ status = 400 }]",
        "answer = [{ echo_ttl = true }]",
    );
    let e = reject(&text);
    assert_eq!(e.field, "answer", "{e}");
    assert_eq!(e.line, line_of(&text, "answer = [{ echo_ttl"), "{e}");
}

#[test]
fn an_answer_naming_an_unknown_reading() {
    let text = replace_once(
        "answer = [{ status = 400 }]",
        "answer = [{ status = 400, reading = \"nope=never\" }]",
    );
    let e = reject(&text);
    assert_eq!(e.field, "reading", "{e}");
    assert!(e.message.contains("nope=never"), "{e}");
    assert_eq!(e.line, line_of(&text, "nope=never"), "{e}");
}

#[test]
fn a_stated_fact_without_a_source() {
    let from = "cite.token_header = [\n  { reference = \"imds-data-plane.md\", quote = \"header `X-aws-ec2-metadata-token: TOKEN` on `GET`/`HEAD`\", strength = \"documented\" },\n]\n";
    let text = replace_once(from, "");
    let e = reject(&text);
    assert_eq!(e.field, "cite.token_header", "{e}");
    assert!(e.message.contains("no source"), "{e}");
    assert_eq!(e.line, line_of(&text, "token_header = \"X-aws"), "{e}");
}

#[test]
fn a_bad_address_and_a_probe_the_layout_cannot_send() {
    let e = reject(&replace_once(
        "address_v4 = \"169.254.169.254\"",
        "address_v4 = \"169.254.169\"",
    ));
    assert_eq!(e.field, "address_v4", "{e}");
    let text = replace_once("tags_path = \"/latest/meta-data/tags/instance\"\n", "").replacen(
        "cite.tags_path = [\n",
        "cite.unused = [\n",
        1,
    );
    let errors = spec::load_str("bad.toml", &text).expect_err("rejected").0;
    assert!(
        errors
            .iter()
            .any(|e| e.field == "probes" && e.message.contains("tags_path")),
        "{errors:?}"
    );
}

#[test]
fn a_reference_citation_needs_a_key_or_a_quote() {
    let text = replace_once(
        "{ reference = \"imds-data-plane.md\", quote = \"Endpoint: `http://169.254.169.254`\", strength = \"documented\" }",
        "{ reference = \"imds-data-plane.md\", strength = \"documented\" }",
    );
    let e = reject(&text);
    assert_eq!(e.field, "cite.address_v4", "{e}");
    assert!(e.message.contains("key or the quote"), "{e}");
}

#[test]
fn a_reference_quote_reads_as_the_file_and_phrase() {
    let c = Citation {
        doc: None,
        quote: Some("Endpoint: `http://169.254.169.254`".into()),
        reference: Some("imds-data-plane.md".into()),
        key: None,
        note: None,
        strength: Strength::Documented,
    };
    assert_eq!(
        c.short(),
        "[documented] imds-data-plane.md: \"Endpoint: `http://169.254.169.254`\""
    );
}

#[test]
fn spec_check_verifies_reference_quotes_against_the_extract() {
    let needs = ["seeds", "reference/imds-data-plane.md"];
    let Some(sources) = common::shared_sources(&needs) else {
        return;
    };
    let report = check::check(&[table("aws-ec2")], &sources);
    assert_eq!(report.failures().count(), 0);
    assert!(report
        .findings
        .iter()
        .any(|f| f.subject.starts_with("data_plane rule")
            && f.detail == "quote found in imds-data-plane.md"));
    let misquoted = EC2.replacen("N from 1 to 21600 (", "N from 1 to 86400 (", 1);
    let bad = spec::load_str("aws-ec2.toml", &misquoted).expect("still a valid table");
    let report = check::check(&[bad], &sources);
    let failures: Vec<String> = report.failures().map(|f| f.detail.clone()).collect();
    assert!(
        failures
            .iter()
            .any(|d| d.contains("not in imds-data-plane.md") && d.contains("86400")),
        "{failures:?}"
    );
}

#[test]
fn spec_show_prints_the_data_plane_rules_with_their_sources() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_imds-conform"))
        .args(["spec", "show", "aws-ec2"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let at = text.find("Data plane").expect("a data-plane section");
    let section = &text[at..];
    for needle in [
        "http://169.254.169.254  http://[fd00:ec2::254]",
        "tokens-required.no-token: when http_tokens=required, get → 401",
        "token.issued: put-token → 200, TTL header echoed",
        "imds-data-plane.md: \"",
    ] {
        assert!(
            section.contains(needle),
            "{needle:?} missing from:\n{section}"
        );
    }
}
