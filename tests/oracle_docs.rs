//! The oracle on the docs' own examples: seed 002's two EC2 examples (with their
//! sample answers), seed 000's sample request, and every row of the error tables in
//! seeds 000 and 001.
use imds_conform::oracle::{self, Auth, Expected, Instance, Options, World};
use imds_conform::spec::{self, Spec, Status};
use imds_conform::verdict::{self, Verdict};
use imds_conform::wire::{ec2_query, Call, HttpResponse, Outcome};

fn spec(id: &str) -> Spec {
    spec::builtin_api(id)
        .expect("tables load")
        .expect("table exists")
}

fn options(pairs: &[(&str, &str)]) -> Options {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ec2_world(tokens: &str, endpoint: &str) -> World {
    World {
        region: "us-east-1".into(),
        instance: Instance {
            id: "i-1234567890abcdef0".into(),
            state: "running".into(),
            options: options(&[
                ("http_tokens", tokens),
                ("hop_limit", "1"),
                ("http_endpoint", endpoint),
                ("http_protocol_ipv6", "disabled"),
                ("instance_metadata_tags", "disabled"),
            ]),
        },
    }
}

/// The sample response of seed 002, example N, as an HTTP answer.
fn seed_002_sample(endpoint: &str) -> Outcome {
    let body = format!(
        r#"<ModifyInstanceMetadataOptions xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
<requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
<instanceId>i-1234567890abcdef0</instanceId>
<MetadataOptions>
<state>pending</state>
<HttpTokens>required</HttpTokens>
<HttpPutResponseHopLimit>1</HttpPutResponseHopLimit>
<HttpEndpoint>{endpoint}</HttpEndpoint>
</MetadataOptions>
</ModifyInstanceMetadataOptions>"#
    );
    ec2_query::decode_response(&HttpResponse {
        status: 200,
        headers: vec![],
        body: body.into_bytes(),
    })
    .expect("the doc sample decodes")
}

fn readings(v: &Verdict) -> Vec<String> {
    match v {
        Verdict::PassUnderReading { readings, .. } => {
            readings.iter().map(|r| r.to_string()).collect()
        }
        other => panic!("expected a pass under a reading, got {other:?}"),
    }
}

#[test]
fn seed_002_example_1_turn_on_token_requirement() {
    let spec = spec("aws-ec2");
    let world = ec2_world("optional", "enabled");
    let call = Call::new("ModifyInstanceMetadataOptions")
        .with("InstanceId", "i-1234567890abcdef0")
        .with("HttpTokens", "required");
    let exp = oracle::expect(&spec, &world, &call, Auth::Valid);
    // Success only, with tokens required, everything else kept, state pending.
    assert!(!exp.allows_error(), "{exp:#?}");
    for a in &exp.outcomes {
        let Expected::Success {
            options, states, ..
        } = &a.expected
        else {
            unreachable!()
        };
        assert_eq!(options["http_tokens"], "required");
        assert_eq!(options["http_endpoint"], "enabled");
        assert_eq!(options["hop_limit"], "1");
        assert_eq!(states, &["pending"]);
    }
    // The doc's sample answer uses the sample's element names: it passes under
    // that reading of the response-element ambiguity, and only under it.
    let v = verdict::judge(&spec, &exp, &seed_002_sample("enabled"), &world.instance.id);
    assert_eq!(readings(&v), ["ec2-response-element=doc-sample"]);
}

#[test]
fn seed_002_example_2_turn_off_access() {
    let spec = spec("aws-ec2");
    // After example 1: tokens are required.
    let world = ec2_world("required", "enabled");
    let call = Call::new("ModifyInstanceMetadataOptions")
        .with("InstanceId", "i-1234567890abcdef0")
        .with("HttpEndpoint", "disabled");
    let exp = oracle::expect(&spec, &world, &call, Auth::Valid);
    assert!(exp
        .ambiguities
        .contains(&"ec2-http-tokens-omitted".to_string()));
    // The sample keeps tokens required: consistent with "keep" and with
    // "reset-required", not with "reset-optional".
    let v = verdict::judge(
        &spec,
        &exp,
        &seed_002_sample("disabled"),
        &world.instance.id,
    );
    let r = readings(&v);
    assert!(
        r.contains(&"ec2-response-element=doc-sample".to_string()),
        "{r:?}"
    );
    assert!(
        r.contains(&"ec2-http-tokens-omitted=keep".to_string()),
        "{r:?}"
    );
    assert!(
        r.contains(&"ec2-http-tokens-omitted=reset-required".to_string()),
        "{r:?}"
    );
    assert!(
        !r.contains(&"ec2-http-tokens-omitted=reset-optional".to_string()),
        "{r:?}"
    );
}

fn aliyun_world() -> World {
    World {
        region: "cn-hangzhou".into(),
        instance: Instance {
            id: "i-bp67acfmxaz****".into(),
            state: "running".into(),
            options: options(&[
                ("http_tokens", "optional"),
                ("hop_limit", "1"),
                ("http_endpoint", "enabled"),
                ("instance_metadata_tags", "disabled"),
            ]),
        },
    }
}

fn aliyun_call(extra: &[(&str, &str)]) -> Call {
    let mut call = Call::new("ModifyInstanceMetadataOptions").with("RegionId", "cn-hangzhou");
    for (k, v) in extra {
        call = call.with(*k, *v);
    }
    call
}

#[test]
fn seed_000_sample_request_succeeds() {
    let spec = spec("aliyun-ecs");
    let world = aliyun_world();
    let call = aliyun_call(&[
        ("InstanceId", "i-bp67acfmxaz****"),
        ("HttpEndpoint", "enabled"),
        ("HttpTokens", "required"),
    ]);
    let exp = oracle::expect(&spec, &world, &call, Auth::Valid);
    assert!(!exp.allows_error(), "{exp:#?}");
    let Expected::Success { options, .. } = &exp.outcomes[0].expected else {
        unreachable!()
    };
    assert_eq!(options["http_tokens"], "required");
    // The sample success answer (JSON) passes.
    let sample = Outcome::Success {
        status: 200,
        request_id: Some("473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E".into()),
        body: serde_json::json!({"RequestId": "473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E"}),
    };
    assert_eq!(
        verdict::judge(&spec, &exp, &sample, &world.instance.id),
        Verdict::Pass
    );
}

/// (error table row) → a call that triggers it.
type ErrorRow = (&'static str, u16, Vec<(&'static str, &'static str)>);

fn error_rows() -> Vec<ErrorRow> {
    vec![
        (
            "InvalidHttpEndpoint.NotSupported",
            400,
            vec![("InstanceId", "i-bp67acfmxaz****"), ("HttpEndpoint", "on")],
        ),
        (
            "InvalidHttpTokens.NotSupported",
            400,
            vec![
                ("InstanceId", "i-bp67acfmxaz****"),
                ("HttpEndpoint", "enabled"),
                ("HttpTokens", "v2"),
            ],
        ),
        (
            "InvalidHttpPutResponseHopLimit.NotSupported",
            400,
            vec![
                ("InstanceId", "i-bp67acfmxaz****"),
                ("HttpEndpoint", "enabled"),
                ("HttpPutResponseHopLimit", "65"),
            ],
        ),
        (
            "InvalidInstanceMetadataTags.NotSupported",
            400,
            vec![
                ("InstanceId", "i-bp67acfmxaz****"),
                ("HttpEndpoint", "enabled"),
                ("InstanceMetadataTags", "on"),
            ],
        ),
        (
            "InvalidInstanceId.NotFound",
            404,
            vec![
                ("InstanceId", "i-bp1nonexistent0000"),
                ("HttpEndpoint", "enabled"),
            ],
        ),
    ]
}

#[test]
fn every_row_of_the_aliyun_error_tables() {
    let spec = spec("aliyun-ecs");
    let world = aliyun_world();
    for (code, status, params) in error_rows() {
        // The row is in the table with its status and message…
        let entry = spec
            .error(code)
            .unwrap_or_else(|| panic!("{code} missing from the table"));
        assert_eq!(entry.status, Status::Exact(status), "{code}");
        let exp = oracle::expect(&spec, &world, &aliyun_call(&params), Auth::Valid);
        // …the oracle expects exactly that code and status under the "listed" reading…
        let exact = exp.outcomes.iter().any(|a| {
            matches!(&a.expected, Expected::Error { code: Some(c), status: s, .. } if c == code && *s == Status::Exact(status))
                && a.readings.iter().any(|r| r.ambiguity == "aliyun-error-codes-deleted" && r.reading == "listed")
        });
        assert!(exact, "{code}: {exp:#?}");
        // …and the documented answer is judged a pass.
        let answer = Outcome::Error {
            status,
            code: code.into(),
            message: entry.message.clone().unwrap_or_default(),
            request_id: Some("R".into()),
        };
        let v = verdict::judge(&spec, &exp, &answer, &world.instance.id);
        assert!(v.is_pass(), "{code}: {v:?}");
        // A success is not.
        let ok = Outcome::Success {
            status: 200,
            request_id: None,
            body: serde_json::json!({}),
        };
        let v = verdict::judge(&spec, &exp, &ok, &world.instance.id);
        // (The hop limit and InstanceMetadataTags are in preview: under the
        // "ignored" reading a success passes.)
        if code.starts_with("InvalidInstanceMetadataTags") || code.starts_with("InvalidHttpPut") {
            assert_eq!(readings(&v), ["aliyun-preview-parameters=ignored"]);
        } else {
            assert!(!v.is_pass(), "{code}: {v:?}");
        }
    }
}

#[test]
fn hop_limit_one_follows_the_range_ambiguity() {
    let spec = spec("aliyun-ecs");
    let world = aliyun_world();
    let call = aliyun_call(&[
        ("InstanceId", "i-bp67acfmxaz****"),
        ("HttpEndpoint", "enabled"),
        ("HttpPutResponseHopLimit", "1"),
    ]);
    let exp = oracle::expect(&spec, &world, &call, Auth::Valid);
    let ok = Outcome::Success {
        status: 200,
        request_id: None,
        body: serde_json::json!({}),
    };
    let Verdict::PassUnderReading { combinations, .. } =
        verdict::judge(&spec, &exp, &ok, &world.instance.id)
    else {
        panic!("expected a pass under readings");
    };
    let has = |c: &Vec<oracle::ReadingLabel>, s: &str| c.iter().any(|l| l.to_string() == s);
    // With the parameter available, 1 passes only under the 1-to-64 reading.
    assert!(
        combinations
            .iter()
            .any(|c| has(c, "aliyun-hop-limit-range=1-to-64")
                && has(c, "aliyun-preview-parameters=available")),
        "{combinations:?}"
    );
    assert!(
        !combinations
            .iter()
            .any(|c| has(c, "aliyun-hop-limit-range=2-to-63")
                && has(c, "aliyun-preview-parameters=available")),
        "{combinations:?}"
    );
}

#[test]
fn ec2_dry_run_and_missing_instance() {
    let spec = spec("aws-ec2");
    let world = ec2_world("optional", "enabled");
    let dry = Call::new("ModifyInstanceMetadataOptions")
        .with("InstanceId", "i-1234567890abcdef0")
        .with("DryRun", "true");
    let exp = oracle::expect(&spec, &world, &dry, Auth::Valid);
    assert!(exp.outcomes.iter().all(|a| matches!(&a.expected,
        Expected::Error { code: Some(c), status: Status::Exact(412), .. } if c == "DryRunOperation")), "{exp:#?}");
    let missing = Call::new("ModifyInstanceMetadataOptions").with("HttpTokens", "required");
    let exp = oracle::expect(&spec, &world, &missing, Auth::Valid);
    assert!(
        exp.outcomes.iter().all(|a| matches!(&a.expected,
        Expected::Error { code: Some(c), .. } if c == "MissingParameter")),
        "{exp:#?}"
    );
    // Several invalid parameters: any of their errors.
    let several = Call::new("ModifyInstanceMetadataOptions")
        .with("InstanceId", "nope")
        .with("Bogus", "1");
    let exp = oracle::expect(&spec, &world, &several, Auth::Valid);
    let codes: Vec<_> = exp
        .outcomes
        .iter()
        .filter_map(|a| match &a.expected {
            Expected::Error { likely, .. } => likely.clone(),
            Expected::Success { .. } => None,
        })
        .collect();
    assert!(
        codes.contains(&"InvalidInstanceID.Malformed".to_string()),
        "{codes:?}"
    );
    assert!(codes.contains(&"UnknownParameter".to_string()), "{codes:?}");
}

#[test]
fn ec2_undocumented_code_is_any_400_labelled_inferred() {
    let spec = spec("aws-ec2");
    let world = ec2_world("optional", "enabled");
    let call = Call::new("ModifyInstanceMetadataOptions")
        .with("InstanceId", "i-1234567890abcdef0")
        .with("HttpTokens", "Required");
    let exp = oracle::expect(&spec, &world, &call, Auth::Valid);
    // One outcome per reading of the omitted-InstanceMetadataTags ambiguity, both the same error.
    assert_eq!(exp.ambiguities, ["ec2-metadata-tags-omitted"]);
    assert_eq!(exp.outcomes.len(), 2, "{exp:#?}");
    for a in &exp.outcomes {
        assert_eq!(a.strength, spec::Strength::Inferred);
        assert!(
            matches!(&a.expected, Expected::Error { code: None, status: Status::Exact(400), likely: Some(l), .. } if l == "InvalidParameterValue")
        );
        assert_eq!(a.rule, "HttpTokens.values");
    }
}

/// The citations of a reading's ambiguity, as report lines.
fn reading_cites(spec: &Spec, ambiguity: &str) -> Vec<String> {
    spec.ambiguities
        .iter()
        .map(|a| a.get_ref())
        .filter(|a| a.id == ambiguity)
        .flat_map(|a| a.readings.iter())
        .flat_map(|r| r.cite.iter())
        .map(|c| c.short())
        .collect()
}

/// An outcome cites the readings it rests on, not every reading the call
/// touches: seed 002 leaves an omitted HttpTokens open (keep or reset), so a
/// call sending a bad HttpTokens value touches that ambiguity, but its refusal
/// does not rest on it; a call leaving HttpTokens out succeeds with the
/// options the reading says, and cites it.
#[test]
fn an_outcome_cites_only_the_readings_it_rests_on() {
    let spec = spec("aws-ec2");
    let world = ec2_world("optional", "enabled");
    let omitted = reading_cites(&spec, "ec2-http-tokens-omitted");
    assert!(!omitted.is_empty());
    let bad = Call::new("ModifyInstanceMetadataOptions")
        .with("InstanceId", "i-1234567890abcdef0")
        .with("HttpTokens", "bogus")
        .with("HttpEndpoint", "enabled");
    let exp = oracle::expect(&spec, &world, &bad, Auth::Valid);
    let refusal = exp
        .outcomes
        .iter()
        .find(|a| a.rule == "HttpTokens.values")
        .expect("the value is refused");
    let cited: Vec<String> = refusal.cite.iter().map(|c| c.short()).collect();
    assert!(
        cited.iter().all(|c| !omitted.contains(c)),
        "the refusal cites the omitted-HttpTokens readings: {cited:#?}"
    );
    assert!(
        cited.iter().any(|c| c.contains("optional | required")),
        "{cited:#?}"
    );
    let left_out = Call::new("ModifyInstanceMetadataOptions")
        .with("InstanceId", "i-1234567890abcdef0")
        .with("HttpEndpoint", "disabled");
    let exp = oracle::expect(&spec, &world, &left_out, Auth::Valid);
    for a in &exp.outcomes {
        let cited: Vec<String> = a.cite.iter().map(|c| c.short()).collect();
        assert!(
            cited.iter().any(|c| omitted.contains(c)),
            "{:?} does not cite its reading: {cited:#?}",
            a.readings
        );
    }
}
