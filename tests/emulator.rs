//! The reference emulator, per API: modify then read back (pending → applied),
//! omitted-parameter semantics, DryRun, every documented error with its status, an
//! error changes nothing, authentication failures, garbage and oversize bodies,
//! concurrent modifies, and the HTTP server (port 0, 413, slow client, shutdown).
//!
//! Requests are built and signed with the project's own wire modules, the way the
//! test engine sends them; `tests/real_clients.rs` does the same with the real SDKs.
// Cleared by the helper reworking this file's set-up (issue 12): two `_` arms over
// `Outcome` and one long scenario.
#![allow(clippy::match_wildcard_for_single_variants, clippy::too_many_lines)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use imds_conform::emulator::{self, Emulator, EmulatorConfig, Fixtures};
use imds_conform::wire::aliyun_rpc::{self, Method};
use imds_conform::wire::{
    aliyun_sign, aws_json, ec2_query, sigv4, Call, Credentials, Endpoint, HttpRequest,
    HttpResponse, Outcome, RawParam, MAX_BODY_BYTES,
};
use proptest::prelude::*;
use serde_json::Value;

// ---------------------------------------------------------------------------
// Helpers

// The default fixtures' keys.
use emulator::fixtures::{
    DEFAULT_ALIYUN_ACCESS_KEY_ID as ALI_KEY, DEFAULT_ALIYUN_SECRET as ALI_SECRET,
    DEFAULT_AWS_ACCESS_KEY_ID as AWS_KEY, DEFAULT_AWS_SECRET as AWS_SECRET,
};
const EC2_ID: &str = "i-0123456789abcdef0";
const EC2_STOPPED: &str = "i-0123456789abcdef2";
const ALI_ID: &str = "i-bp67acfmxaz1234abcd";
const DELAY: Duration = Duration::from_secs(2);

fn t0() -> SystemTime {
    SystemTime::now()
}

/// A fresh emulator (default fixtures, `DELAY`) and the time the test runs at.
fn setup() -> (Emulator, SystemTime) {
    (emu(), t0())
}

/// Send every case (through each way `send` has), check its error status and code
/// (and the message when one is given), then check that none of them changed the
/// instance that `read` shows.
#[track_caller]
fn errors_change_nothing(
    cases: &[(Call, u16, &str, Option<&str>)],
    send: impl Fn(&Call) -> Vec<Outcome>,
    read: impl Fn() -> Value,
) {
    let before = read();
    for (call, status, code, message) in cases {
        for out in send(call) {
            let got = assert_error(&out, *status, code);
            if let Some(m) = message {
                assert_eq!(&got, m, "{call:?}");
            }
            assert!(out.request_id().is_some_and(|r| !r.is_empty()), "{call:?}");
        }
    }
    assert_eq!(read(), before, "an error changed the instance");
}

fn emu() -> Emulator {
    Emulator::new(EmulatorConfig {
        apply_delay: DELAY,
        ..EmulatorConfig::default()
    })
}

fn aws_ep(region: &str, service: &str) -> Endpoint {
    Endpoint {
        url: "http://127.0.0.1:1".into(),
        region: region.into(),
        api_version: if service == "ec2" {
            "2016-11-15"
        } else {
            "2016-11-28"
        }
        .into(),
        signing_name: service.into(),
        target_prefix: "Lightsail_20161128".into(),
        format: String::new(),
    }
}

fn ali_ep(format: &str) -> Endpoint {
    Endpoint {
        url: "http://127.0.0.1:1".into(),
        region: "cn-hangzhou".into(),
        api_version: "2014-05-26".into(),
        signing_name: String::new(),
        target_prefix: String::new(),
        format: format.into(),
    }
}

fn nonce() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "nonce-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn ec2_request(call: &Call, region: &str, secret: &str, signed_at: SystemTime) -> HttpRequest {
    let ep = aws_ep(region, "ec2");
    let mut req = ec2_query::encode_request(&ep, call).unwrap();
    sigv4::sign(&mut req, &ep, &Credentials::new(AWS_KEY, secret), signed_at).unwrap();
    req
}

fn ec2_at(em: &Emulator, call: &Call, now: SystemTime) -> Outcome {
    let resp = em.handle(&ec2_request(call, "us-east-1", AWS_SECRET, now), now);
    ec2_query::decode_response(&resp).unwrap()
}

fn ls_request(call: &Call, region: &str, secret: &str, signed_at: SystemTime) -> HttpRequest {
    let ep = aws_ep(region, "lightsail");
    let mut req = aws_json::encode_request(&ep, call).unwrap();
    sigv4::sign(&mut req, &ep, &Credentials::new(AWS_KEY, secret), signed_at).unwrap();
    req
}

fn ls_at(em: &Emulator, call: &Call, region: &str, now: SystemTime) -> Outcome {
    let resp = em.handle(&ls_request(call, region, AWS_SECRET, now), now);
    aws_json::decode_response(&resp).unwrap()
}

#[derive(Clone, Copy)]
enum Sig {
    V1Get,
    V1Post,
    V3,
}

fn ali_request(
    call: &Call,
    format: &str,
    sig: Sig,
    key: &str,
    secret: &str,
    at: SystemTime,
    nonce: &str,
) -> HttpRequest {
    let ep = ali_ep(format);
    let creds = Credentials::new(key, secret);
    match sig {
        Sig::V1Get | Sig::V1Post => {
            let m = if matches!(sig, Sig::V1Get) {
                Method::Get
            } else {
                Method::Post
            };
            let mut req = aliyun_rpc::encode_request(&ep, call, m).unwrap();
            aliyun_sign::sign_v1(&mut req, &creds, at, nonce).unwrap();
            req
        }
        Sig::V3 => {
            let mut req = aliyun_rpc::encode_request(&ep, call, Method::Post).unwrap();
            aliyun_sign::sign_v3(&mut req, &creds, at, nonce).unwrap();
            req
        }
    }
}

fn ali_at(em: &Emulator, call: &Call, sig: Sig, now: SystemTime) -> Outcome {
    let req = ali_request(call, "JSON", sig, ALI_KEY, ALI_SECRET, now, &nonce());
    aliyun_rpc::decode_response(&em.handle(&req, now)).unwrap()
}

#[track_caller]
fn assert_error(out: &Outcome, status: u16, code: &str) -> String {
    match out {
        Outcome::Error {
            status: s,
            code: c,
            message,
            ..
        } => {
            assert_eq!((*s, c.as_str()), (status, code), "message: {message}");
            message.clone()
        }
        other => panic!("expected {status} {code}, got {other:?}"),
    }
}

#[track_caller]
fn success(out: Outcome) -> Value {
    match out {
        Outcome::Success { body, .. } => body,
        other => panic!("expected success, got {other:?}"),
    }
}

fn modify(id: &str) -> Call {
    Call::new("ModifyInstanceMetadataOptions").with("InstanceId", id)
}

fn ec2_options(em: &Emulator, id: &str, now: SystemTime) -> Value {
    let body = success(ec2_at(
        em,
        &Call::new("DescribeInstances").with("InstanceId.1", id),
        now,
    ));
    body["reservationSet"][0]["instancesSet"][0]["metadataOptions"].clone()
}

fn ls_options(em: &Emulator, name: &str, region: &str, now: SystemTime) -> Value {
    let call = Call::new("GetInstance").with("instanceName", name);
    success(ls_at(em, &call, region, now))["instance"]["metadataOptions"].clone()
}

fn ali_options(em: &Emulator, id: &str, now: SystemTime) -> Value {
    let call = Call::new("DescribeInstances")
        .with("RegionId", "cn-hangzhou")
        .with("InstanceIds", format!("[\"{id}\"]"));
    let body = success(ali_at(em, &call, Sig::V1Get, now));
    assert_eq!(body["TotalCount"], 1);
    body["Instances"]["Instance"][0]["MetadataOptions"].clone()
}

// ---------------------------------------------------------------------------
// EC2

#[test]
fn ec2_modify_is_pending_then_applied() {
    let (em, now) = setup();
    let body = success(ec2_at(
        &em,
        &modify(EC2_ID)
            .with("HttpTokens", "required")
            .with("HttpPutResponseHopLimit", "3"),
        now,
    ));
    assert_eq!(body["instanceId"], EC2_ID);
    let o = &body["instanceMetadataOptions"];
    assert_eq!(o["state"], "pending");
    assert_eq!(o["httpTokens"], "required");
    assert_eq!(o["httpPutResponseHopLimit"], "3");
    assert_eq!(o["httpEndpoint"], "enabled");
    assert_eq!(o["httpProtocolIpv6"], "disabled");
    assert_eq!(o["instanceMetadataTags"], "disabled");
    let later = now + Duration::from_secs(1);
    assert_eq!(ec2_options(&em, EC2_ID, later)["state"], "pending");
    let applied = ec2_options(&em, EC2_ID, now + DELAY);
    assert_eq!(applied["state"], "applied");
    assert_eq!(applied["httpTokens"], "required");
    assert_eq!(applied["httpPutResponseHopLimit"], "3");
}

#[test]
fn ec2_describe_shapes_and_filters() {
    let (em, now) = setup();
    let all = success(ec2_at(&em, &Call::new("DescribeInstances"), now));
    let reservations = all["reservationSet"].as_array().unwrap();
    assert_eq!(reservations.len(), 3, "us-east-1 only: {all}");
    let i = &reservations[0]["instancesSet"][0];
    assert_eq!(i["instanceState"]["name"], "running");
    assert_eq!(i["instanceState"]["code"], "16");
    assert_eq!(i["placement"]["availabilityZone"], "us-east-1a");
    assert_eq!(i["metadataOptions"]["state"], "applied");
    let stopped = success(ec2_at(
        &em,
        &Call::new("DescribeInstances")
            .with("Filter.1.Name", "instance-state-name")
            .with("Filter.1.Value.1", "stopped"),
        now,
    ));
    assert_eq!(
        stopped["reservationSet"][0]["instancesSet"][0]["instanceId"],
        EC2_STOPPED
    );
    assert_eq!(stopped["reservationSet"].as_array().unwrap().len(), 1);
    // Another region's instance is not visible here.
    let out = ec2_at(
        &em,
        &Call::new("DescribeInstances").with("InstanceId.1", "i-0fedcba9876543210"),
        now,
    );
    assert_error(&out, 400, "InvalidInstanceID.NotFound");
    let out = ec2_at(
        &em,
        &Call::new("DescribeInstances")
            .with("InstanceId.1", EC2_ID)
            .with("InstanceId.2", "i-00000000"),
        now,
    );
    assert_eq!(
        assert_error(&out, 400, "InvalidInstanceID.NotFound"),
        "The instance ID 'i-00000000' does not exist"
    );
}

#[test]
fn ec2_omitted_parameters_keep_the_current_state() {
    let (em, now) = setup();
    success(ec2_at(
        &em,
        &modify(EC2_ID)
            .with("HttpTokens", "required")
            .with("HttpPutResponseHopLimit", "5")
            .with("InstanceMetadataTags", "enabled")
            .with("HttpProtocolIpv6", "enabled"),
        now,
    ));
    let body = success(ec2_at(
        &em,
        &modify(EC2_ID).with("HttpEndpoint", "disabled"),
        now,
    ));
    let o = &body["instanceMetadataOptions"];
    assert_eq!(o["httpEndpoint"], "disabled");
    assert_eq!(o["httpTokens"], "required");
    assert_eq!(o["httpPutResponseHopLimit"], "5");
    assert_eq!(o["instanceMetadataTags"], "enabled");
    assert_eq!(o["httpProtocolIpv6"], "enabled");
    // A modify with nothing but the id changes nothing but the state.
    let o = success(ec2_at(&em, &modify(EC2_ID), now))["instanceMetadataOptions"].clone();
    assert_eq!(o["httpEndpoint"], "disabled");
    assert_eq!(o["state"], "pending");
}

#[test]
fn ec2_dry_run_changes_nothing() {
    let (em, now) = setup();
    let before = ec2_options(&em, EC2_ID, now);
    let out = ec2_at(
        &em,
        &modify(EC2_ID)
            .with("HttpTokens", "required")
            .with("DryRun", "true"),
        now,
    );
    let msg = assert_error(&out, 412, "DryRunOperation");
    assert_eq!(msg, "Request would have succeeded, but DryRun flag is set.");
    assert_eq!(ec2_options(&em, EC2_ID, now), before);
    // DryRun=false is an ordinary call.
    success(ec2_at(&em, &modify(EC2_ID).with("DryRun", "false"), now));
}

#[test]
fn ec2_every_error_with_status_and_changes_nothing() {
    let (em, now) = setup();
    let cases: Vec<(Call, u16, &str, Option<&str>)> = vec![
        (Call::new("ModifyInstanceMetadataOptions").with("HttpTokens", "required"), 400, "MissingParameter",
            Some("The request must contain the parameter InstanceId")),
        (modify(EC2_ID).with("HttpEndpoint", ""), 400, "InvalidParameterValue",
            Some("A value of '' is not valid for HttpEndpoint. Specify either 'disabled' or 'enabled' and try again.")),
        (modify(EC2_ID).with("HttpTokens", "REQUIRED"), 400, "InvalidParameterValue", None),
        (modify(EC2_ID).with("HttpProtocolIpv6", "on"), 400, "InvalidParameterValue", None),
        (modify(EC2_ID).with("InstanceMetadataTags", "yes"), 400, "InvalidParameterValue", None),
        (modify(EC2_ID).with("HttpPutResponseHopLimit", "0"), 400, "InvalidParameterValue", None),
        (modify(EC2_ID).with("HttpPutResponseHopLimit", "65"), 400, "InvalidParameterValue", None),
        (modify(EC2_ID).with("HttpPutResponseHopLimit", "two"), 400, "InvalidParameterValue", None),
        (modify(EC2_ID).with("DryRun", "maybe"), 400, "InvalidParameterValue", None),
        (modify(EC2_ID).with("HttpTokens", "required").with("Bogus", "1"), 400, "UnknownParameter",
            Some("The parameter Bogus is not recognized")),
        (modify("instance-1").with("HttpTokens", "required"), 400, "InvalidInstanceID.Malformed",
            Some("Invalid id: \"instance-1\"")),
        (modify("i-0123456789abcdef9").with("HttpTokens", "required"), 400, "InvalidInstanceID.NotFound",
            Some("The instance ID 'i-0123456789abcdef9' does not exist")),
        (Call::new("TerminateEverything"), 400, "InvalidAction",
            Some("The action TerminateEverything is not valid for this web service.")),
    ];
    errors_change_nothing(
        &cases,
        |call| vec![ec2_at(&em, call, now)],
        || ec2_options(&em, EC2_ID, now),
    );
}

#[test]
fn ec2_authentication_failures() {
    let (em, now) = setup();
    let call = modify(EC2_ID).with("HttpTokens", "required");
    let before = ec2_options(&em, EC2_ID, now);
    let decode = |req: HttpRequest| ec2_query::decode_response(&em.handle(&req, now)).unwrap();

    let out = decode(ec2_request(&call, "us-east-1", "not-the-secret", now));
    assert_error(&out, 403, "SignatureDoesNotMatch");

    let ep = aws_ep("us-east-1", "ec2");
    let mut req = ec2_query::encode_request(&ep, &call).unwrap();
    sigv4::sign(
        &mut req,
        &ep,
        &Credentials::new("AKIDUNKNOWN", AWS_SECRET),
        now,
    )
    .unwrap();
    assert_error(&decode(req), 401, "AuthFailure");

    let stale = now - Duration::from_secs(20 * 60);
    assert_error(
        &decode(ec2_request(&call, "us-east-1", AWS_SECRET, stale)),
        400,
        "RequestExpired",
    );

    let unsigned = ec2_query::encode_request(&ep, &call).unwrap();
    assert_error(&decode(unsigned), 401, "MissingAuthenticationToken");

    // Signed for Lightsail, sent as EC2 Query.
    let ls_ep = aws_ep("us-east-1", "lightsail");
    let mut req = ec2_query::encode_request(&ep, &call).unwrap();
    sigv4::sign(
        &mut req,
        &ls_ep,
        &Credentials::new(AWS_KEY, AWS_SECRET),
        now,
    )
    .unwrap();
    assert_error(&decode(req), 403, "SignatureDoesNotMatch");

    // A body tampered with after signing.
    let mut req = ec2_request(&call, "us-east-1", AWS_SECRET, now);
    req.body = String::from_utf8(req.body)
        .unwrap()
        .replace("required", "optional")
        .into_bytes();
    assert_error(&decode(req), 403, "SignatureDoesNotMatch");

    assert_eq!(ec2_options(&em, EC2_ID, now), before);
}

#[test]
fn ec2_stopped_instance_applies_when_started() {
    let (em, now) = setup();
    let body = success(ec2_at(
        &em,
        &modify(EC2_STOPPED).with("HttpTokens", "required"),
        now,
    ));
    assert_eq!(body["instanceMetadataOptions"]["state"], "pending");
    let much_later = now + Duration::from_secs(60);
    assert_eq!(
        ec2_options(&em, EC2_STOPPED, much_later)["state"],
        "pending"
    );
    let started = success(ec2_at(
        &em,
        &Call::new("StartInstances").with("InstanceId.1", EC2_STOPPED),
        much_later,
    ));
    assert_eq!(
        started["instancesSet"][0]["previousState"]["name"],
        "stopped"
    );
    assert_eq!(
        ec2_options(&em, EC2_STOPPED, much_later)["state"],
        "pending"
    );
    assert_eq!(
        ec2_options(&em, EC2_STOPPED, much_later + DELAY)["state"],
        "applied"
    );
    success(ec2_at(
        &em,
        &Call::new("StopInstances").with("InstanceId.1", EC2_STOPPED),
        much_later + DELAY,
    ));
}

// ---------------------------------------------------------------------------
// Lightsail

#[test]
fn lightsail_update_is_pending_then_applied() {
    let (em, now) = setup();
    let call = Call::new("UpdateInstanceMetadataOptions")
        .with("instanceName", "web-1")
        .with("httpTokens", "required")
        .with("httpEndpoint", "enabled");
    let body = success(ls_at(&em, &call, "us-east-1", now));
    let op = &body["operation"];
    assert_eq!(op["resourceName"], "web-1");
    assert_eq!(op["resourceType"], "Instance");
    assert_eq!(op["operationType"], "UpdateInstanceMetadataOptions");
    assert_eq!(op["location"]["regionName"], "us-east-1");
    assert!(op["id"].as_str().is_some_and(|id| id.len() == 36));
    assert!(op["createdAt"].is_number() && op["statusChangedAt"].is_number());
    assert!(op["isTerminal"].is_boolean());
    let o = ls_options(&em, "web-1", "us-east-1", now);
    assert_eq!(o["state"], "pending");
    assert_eq!(o["httpTokens"], "required");
    assert_eq!(o["httpPutResponseHopLimit"], 1);
    assert_eq!(
        ls_options(&em, "web-1", "us-east-1", now + DELAY)["state"],
        "applied"
    );
    let all = success(ls_at(&em, &Call::new("GetInstances"), "us-east-1", now));
    assert_eq!(all["instances"].as_array().unwrap().len(), 3);
    assert_eq!(all["instances"][0]["state"]["name"], "stopped"); // db-1 sorts first
}

#[test]
fn lightsail_omitted_members_keep_the_current_state() {
    let (em, now) = setup();
    let set = Call::new("UpdateInstanceMetadataOptions")
        .with("instanceName", "web-2")
        .with("httpTokens", "required")
        .params
        .into_iter()
        .chain([RawParam::json("httpPutResponseHopLimit", "7")])
        .collect::<Vec<_>>();
    success(ls_at(
        &em,
        &Call {
            operation: "UpdateInstanceMetadataOptions".into(),
            params: set,
        },
        "us-east-1",
        now,
    ));
    let only_endpoint = Call::new("UpdateInstanceMetadataOptions")
        .with("instanceName", "web-2")
        .with("httpEndpoint", "disabled");
    success(ls_at(&em, &only_endpoint, "us-east-1", now));
    let o = ls_options(&em, "web-2", "us-east-1", now);
    assert_eq!(o["httpTokens"], "required");
    assert_eq!(o["httpPutResponseHopLimit"], 7);
    assert_eq!(o["httpEndpoint"], "disabled");
    // JSON null is an absent member.
    let mut call = Call::new("UpdateInstanceMetadataOptions").with("instanceName", "web-2");
    call.params.push(RawParam::json("httpTokens", "null"));
    success(ls_at(&em, &call, "us-east-1", now));
    assert_eq!(
        ls_options(&em, "web-2", "us-east-1", now)["httpTokens"],
        "required"
    );
}

#[test]
fn lightsail_every_error_with_status_and_changes_nothing() {
    let (em, now) = setup();
    let upd = || Call::new("UpdateInstanceMetadataOptions");
    let with_json = |c: Call, name: &str, lit: &str| {
        let mut c = c;
        c.params.push(RawParam::json(name, lit));
        c
    };
    let cases: Vec<(Call, u16, &str)> = vec![
        (
            upd().with("httpTokens", "required"),
            400,
            "InvalidInputException",
        ),
        (
            upd().with("instanceName", "-web"),
            400,
            "InvalidInputException",
        ),
        (
            upd()
                .with("instanceName", "web-1")
                .with("httpTokens", "sometimes"),
            400,
            "InvalidInputException",
        ),
        (
            upd().with("instanceName", "web-1").with("httpEndpoint", ""),
            400,
            "InvalidInputException",
        ),
        (
            with_json(
                upd().with("instanceName", "web-1"),
                "httpPutResponseHopLimit",
                "0",
            ),
            400,
            "InvalidInputException",
        ),
        (
            with_json(
                upd().with("instanceName", "web-1"),
                "httpPutResponseHopLimit",
                "65",
            ),
            400,
            "InvalidInputException",
        ),
        (
            upd()
                .with("instanceName", "web-1")
                .with("httpPutResponseHopLimit", "2"),
            400,
            "SerializationException",
        ),
        (
            with_json(upd().with("instanceName", "web-1"), "httpTokens", "true"),
            400,
            "SerializationException",
        ),
        (
            with_json(upd(), "instanceName", "{}"),
            400,
            "SerializationException",
        ),
        (
            upd()
                .with("instanceName", "web-1")
                .with("httpProtocolIpv6", "enabled"),
            400,
            "InvalidInputException",
        ),
        (
            upd()
                .with("instanceName", "web-9")
                .with("httpTokens", "required"),
            404,
            "NotFoundException",
        ),
        (
            Call::new("GetInstance").with("instanceName", "web-9"),
            404,
            "NotFoundException",
        ),
        (
            Call::new("DeleteEverything"),
            400,
            "UnknownOperationException",
        ),
    ];
    let cases: Vec<_> = cases
        .into_iter()
        .map(|(call, status, code)| (call, status, code, None))
        .collect();
    errors_change_nothing(
        &cases,
        |call| vec![ls_at(&em, call, "us-east-1", now)],
        || ls_options(&em, "web-1", "us-east-1", now),
    );
    // The instance in another region is not visible from us-east-1.
    let other = Call::new("GetInstance").with("instanceName", "nordic-1");
    assert_error(
        &ls_at(&em, &other, "us-east-1", now),
        404,
        "NotFoundException",
    );
    // A wrong target prefix is an unknown operation.
    let mut req = ls_request(&Call::new("GetInstances"), "us-east-1", AWS_SECRET, now);
    req.set_header("X-Amz-Target", "DynamoDB_20120810.GetInstances");
    let ep = aws_ep("us-east-1", "lightsail");
    req.headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
    sigv4::sign(&mut req, &ep, &Credentials::new(AWS_KEY, AWS_SECRET), now).unwrap();
    assert_error(
        &aws_json::decode_response(&em.handle(&req, now)).unwrap(),
        400,
        "UnknownOperationException",
    );
    // Malformed JSON.
    let mut req = ls_request(&Call::new("GetInstances"), "us-east-1", AWS_SECRET, now);
    req.headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
    req.body = b"{\"instanceName\": ".to_vec();
    sigv4::sign(&mut req, &ep, &Credentials::new(AWS_KEY, AWS_SECRET), now).unwrap();
    assert_error(
        &aws_json::decode_response(&em.handle(&req, now)).unwrap(),
        400,
        "SerializationException",
    );
}

#[test]
fn lightsail_ipv6_only_in_eu_north_1() {
    let (em, now) = setup();
    let call = Call::new("UpdateInstanceMetadataOptions")
        .with("instanceName", "nordic-1")
        .with("httpProtocolIpv6", "enabled");
    success(ls_at(&em, &call, "eu-north-1", now));
    assert_eq!(
        ls_options(&em, "nordic-1", "eu-north-1", now)["httpProtocolIpv6"],
        "enabled"
    );
    // Elsewhere the parameter is not available, whatever its value (seed 004).
    for value in ["enabled", "disabled"] {
        let call = Call::new("UpdateInstanceMetadataOptions")
            .with("instanceName", "web-1")
            .with("httpProtocolIpv6", value);
        assert_error(
            &ls_at(&em, &call, "us-east-1", now),
            400,
            "InvalidInputException",
        );
    }
}

#[test]
fn lightsail_authentication_failures() {
    let (em, now) = setup();
    let call = Call::new("GetInstance").with("instanceName", "web-1");
    let decode = |req: HttpRequest| aws_json::decode_response(&em.handle(&req, now)).unwrap();
    assert_error(
        &decode(ls_request(&call, "us-east-1", "wrong", now)),
        400,
        "InvalidSignatureException",
    );
    let ep = aws_ep("us-east-1", "lightsail");
    let mut req = aws_json::encode_request(&ep, &call).unwrap();
    sigv4::sign(
        &mut req,
        &ep,
        &Credentials::new("AKIDUNKNOWN", AWS_SECRET),
        now,
    )
    .unwrap();
    assert_error(&decode(req), 400, "UnrecognizedClientException");
    let unsigned = aws_json::encode_request(&ep, &call).unwrap();
    assert_error(
        &decode(unsigned),
        400,
        "MissingAuthenticationTokenException",
    );
    let stale = now - Duration::from_secs(20 * 60);
    let msg = assert_error(
        &decode(ls_request(&call, "us-east-1", AWS_SECRET, stale)),
        400,
        "InvalidSignatureException",
    );
    assert!(msg.starts_with("Signature expired"), "{msg}");
    let mut req = aws_json::encode_request(&ep, &call).unwrap();
    sigv4::sign(
        &mut req,
        &aws_ep("us-east-1", "ec2"),
        &Credentials::new(AWS_KEY, AWS_SECRET),
        now,
    )
    .unwrap();
    assert_error(&decode(req), 400, "InvalidSignatureException");
}

// ---------------------------------------------------------------------------
// Alibaba ECS

fn ali_modify() -> Call {
    Call::new("ModifyInstanceMetadataOptions")
        .with("RegionId", "cn-hangzhou")
        .with("InstanceId", ALI_ID)
}

#[test]
fn aliyun_modify_then_describe_with_every_signature_style() {
    for sig in [Sig::V1Get, Sig::V1Post, Sig::V3] {
        let em = emu();
        let now = t0();
        let body = success(ali_at(
            &em,
            &ali_modify()
                .with("HttpEndpoint", "enabled")
                .with("HttpTokens", "required")
                .with("HttpPutResponseHopLimit", "4")
                .with("InstanceMetadataTags", "enabled"),
            sig,
            now,
        ));
        assert!(
            body["RequestId"].as_str().is_some_and(|r| !r.is_empty()),
            "{body}"
        );
        let o = ali_options(&em, ALI_ID, now);
        assert_eq!(o["HttpTokens"], "required");
        assert_eq!(o["HttpEndpoint"], "enabled");
        assert_eq!(o["HttpPutResponseHopLimit"], 4);
        assert_eq!(o["InstanceMetadataTags"], "enabled");
    }
}

#[test]
fn aliyun_xml_format_and_describe_shape() {
    let (em, now) = setup();
    let req = ali_request(
        &ali_modify().with("HttpEndpoint", "enabled"),
        "XML",
        Sig::V1Get,
        ALI_KEY,
        ALI_SECRET,
        now,
        &nonce(),
    );
    let resp = em.handle(&req, now);
    assert_eq!(resp.status, 200);
    let text = String::from_utf8(resp.body.clone()).unwrap();
    assert!(
        text.contains("<ModifyInstanceMetadataOptionsResponse>") && text.contains("<RequestId>"),
        "{text}"
    );
    let describe = Call::new("DescribeInstances")
        .with("RegionId", "cn-hangzhou")
        .with("PageSize", "2");
    let body = success(ali_at(&em, &describe, Sig::V1Get, now));
    assert_eq!(body["TotalCount"], 3);
    assert_eq!(body["PageSize"], 2);
    assert_eq!(body["PageNumber"], 1);
    let page = body["Instances"]["Instance"].as_array().unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["Status"], "Running");
    assert_eq!(page[0]["RegionId"], "cn-hangzhou");
    let page2 = success(ali_at(
        &em,
        &describe.clone().with("PageNumber", "2"),
        Sig::V1Get,
        now,
    ));
    assert_eq!(page2["Instances"]["Instance"][0]["Status"], "Stopped");
}

#[test]
fn aliyun_omitted_parameters_keep_the_current_state() {
    let (em, now) = setup();
    success(ali_at(
        &em,
        &ali_modify()
            .with("HttpEndpoint", "enabled")
            .with("HttpTokens", "required")
            .with("HttpPutResponseHopLimit", "9"),
        Sig::V1Get,
        now,
    ));
    success(ali_at(
        &em,
        &ali_modify().with("HttpEndpoint", "disabled"),
        Sig::V1Get,
        now,
    ));
    let o = ali_options(&em, ALI_ID, now);
    assert_eq!(o["HttpTokens"], "required");
    assert_eq!(o["HttpPutResponseHopLimit"], 9);
    assert_eq!(o["HttpEndpoint"], "disabled");
}

#[test]
fn aliyun_every_documented_error_exactly_and_changes_nothing() {
    let (em, now) = setup();
    let cases: Vec<(Call, u16, &str, &str)> = vec![
        (ali_modify().with("HttpEndpoint", "on"), 400, "InvalidHttpEndpoint.NotSupported",
            "The specified HttpEndpoint not supported, you can use enabled(default) or disabled."),
        (ali_modify().with("HttpEndpoint", "enabled").with("HttpTokens", "always"), 400, "InvalidHttpTokens.NotSupported",
            "The specified HttpTokens not supported, you can use optional(default) or required."),
        (ali_modify().with("HttpEndpoint", "enabled").with("HttpPutResponseHopLimit", "0"), 400,
            "InvalidHttpPutResponseHopLimit.NotSupported",
            "The specified HttpPutResponseHopLimit not supported, more than 1 and less than 64 is reasonable."),
        (ali_modify().with("HttpEndpoint", "enabled").with("HttpPutResponseHopLimit", "65"), 400,
            "InvalidHttpPutResponseHopLimit.NotSupported",
            "The specified HttpPutResponseHopLimit not supported, more than 1 and less than 64 is reasonable."),
        (ali_modify().with("HttpEndpoint", "enabled").with("InstanceMetadataTags", "maybe"), 400,
            "InvalidInstanceMetadataTags.NotSupported", "The specified InstanceMetadataTags not supported."),
        (Call::new("ModifyInstanceMetadataOptions").with("RegionId", "cn-hangzhou").with("InstanceId", "i-bp67acfmxaz0000none")
            .with("HttpEndpoint", "enabled"), 404, "InvalidInstanceId.NotFound", "The specified InstanceId is not found."),
        (Call::new("ModifyInstanceMetadataOptions").with("InstanceId", ALI_ID).with("HttpEndpoint", "enabled"), 400,
            "MissingParameter", "The input parameter \"RegionId\" that is mandatory for processing this request is not supplied."),
        (ali_modify().with("HttpTokens", "required"), 400, "MissingParameter",
            "The input parameter \"HttpEndpoint\" that is mandatory for processing this request is not supplied."),
        (ali_modify().with("HttpEndpoint", "enabled").with("HttpPutResponseHopLimit", "x"), 400, "InvalidParameter",
            "The specified parameter \"HttpPutResponseHopLimit\" is not valid."),
        (Call::new("ModifyInstanceMetadataOptions").with("RegionId", "xx-nowhere-1").with("InstanceId", ALI_ID)
            .with("HttpEndpoint", "enabled"), 404, "InvalidRegionId.NotFound", "The specified RegionId does not exist."),
        (Call::new("RebootEverything").with("RegionId", "cn-hangzhou"), 404, "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method."),
    ];
    let cases: Vec<_> = cases
        .into_iter()
        .map(|(call, status, code, message)| (call, status, code, Some(message)))
        .collect();
    errors_change_nothing(
        &cases,
        |call| {
            [Sig::V1Get, Sig::V3]
                .map(|sig| ali_at(&em, call, sig, now))
                .to_vec()
        },
        || ali_options(&em, ALI_ID, now),
    );
}

#[test]
fn aliyun_authentication_failures() {
    let (em, now) = setup();
    let call = ali_modify().with("HttpEndpoint", "disabled");
    let before = ali_options(&em, ALI_ID, now);
    let send = |req: HttpRequest| aliyun_rpc::decode_response(&em.handle(&req, now)).unwrap();
    for sig in [Sig::V1Get, Sig::V1Post, Sig::V3] {
        let wrong = ali_request(&call, "JSON", sig, ALI_KEY, "not-the-secret", now, &nonce());
        assert_error(&send(wrong), 400, "SignatureDoesNotMatch");
        let unknown = ali_request(&call, "JSON", sig, "nobody", ALI_SECRET, now, &nonce());
        assert_error(&send(unknown), 404, "InvalidAccessKeyId.NotFound");
        let stale = ali_request(
            &call,
            "JSON",
            sig,
            ALI_KEY,
            ALI_SECRET,
            now - Duration::from_secs(3600),
            &nonce(),
        );
        assert_error(&send(stale), 400, "InvalidTimeStamp.Expired");
        let n = nonce();
        let first = ali_request(
            &Call::new("DescribeInstances").with("RegionId", "cn-hangzhou"),
            "JSON",
            sig,
            ALI_KEY,
            ALI_SECRET,
            now,
            &n,
        );
        success(send(first.clone()));
        assert_error(&send(first), 400, "SignatureNonceUsed");
    }
    let unsigned = aliyun_rpc::encode_request(&ali_ep("JSON"), &call, Method::Get).unwrap();
    assert_error(&send(unsigned), 400, "MissingParameter");
    assert_eq!(ali_options(&em, ALI_ID, now), before);
}

// ---------------------------------------------------------------------------
// Robustness

#[test]
fn oversize_bodies_get_413_in_each_protocol_shape() {
    let (em, now) = setup();
    let big = vec![b'a'; MAX_BODY_BYTES + 1];
    let mut ec2 = ec2_request(&modify(EC2_ID), "us-east-1", AWS_SECRET, now);
    ec2.body = big.clone();
    let out = ec2_query::decode_response(&em.handle(&ec2, now)).unwrap();
    assert_error(&out, 413, emulator::TOO_LARGE_CODE);
    let mut ls = ls_request(&Call::new("GetInstances"), "us-east-1", AWS_SECRET, now);
    ls.body = big.clone();
    assert_error(
        &aws_json::decode_response(&em.handle(&ls, now)).unwrap(),
        413,
        emulator::TOO_LARGE_CODE,
    );
    let mut ali = ali_request(
        &ali_modify(),
        "JSON",
        Sig::V3,
        ALI_KEY,
        ALI_SECRET,
        now,
        &nonce(),
    );
    ali.body = big.clone();
    assert_error(
        &aliyun_rpc::decode_response(&em.handle(&ali, now)).unwrap(),
        413,
        emulator::TOO_LARGE_CODE,
    );
    let plain = HttpRequest {
        method: "POST".into(),
        path_and_query: "/".into(),
        headers: vec![],
        body: big,
    };
    assert_eq!(em.handle(&plain, now).status, 413);
}

#[test]
fn garbage_gets_an_error_answer() {
    let (em, now) = setup();
    let garbage: &[u8] = b"\xff\xfe\x00<<>>&&==%%%zz";
    // Signed garbage, per protocol: the signature holds, the body does not parse.
    let ep = aws_ep("us-east-1", "ec2");
    let mut req = ec2_query::encode_request(&ep, &modify(EC2_ID)).unwrap();
    req.body = garbage.to_vec();
    sigv4::sign(&mut req, &ep, &Credentials::new(AWS_KEY, AWS_SECRET), now).unwrap();
    let resp = em.handle(&req, now);
    assert_eq!(resp.status, 400);
    assert!(ec2_query::decode_response(&resp).is_ok());
    let ep = aws_ep("us-east-1", "lightsail");
    let mut req = aws_json::encode_request(&ep, &Call::new("GetInstances")).unwrap();
    req.body = garbage.to_vec();
    sigv4::sign(&mut req, &ep, &Credentials::new(AWS_KEY, AWS_SECRET), now).unwrap();
    assert_error(
        &aws_json::decode_response(&em.handle(&req, now)).unwrap(),
        400,
        "SerializationException",
    );
    let unknown = HttpRequest {
        method: "GET".into(),
        path_and_query: "/".into(),
        headers: vec![],
        body: garbage.to_vec(),
    };
    assert_eq!(em.handle(&unknown, now).status, 400);
}

#[test]
fn methods_other_than_post_and_get_get_405_in_each_protocol_shape() {
    let (em, now) = setup();
    let mut ec2 = ec2_request(
        &modify(EC2_ID).with("HttpTokens", "required"),
        "us-east-1",
        AWS_SECRET,
        now,
    );
    let mut ls = ls_request(&Call::new("GetInstances"), "us-east-1", AWS_SECRET, now);
    let mut ali = ali_request(
        &ali_modify(),
        "JSON",
        Sig::V1Get,
        ALI_KEY,
        ALI_SECRET,
        now,
        &nonce(),
    );
    let before = ec2_options(&em, EC2_ID, now);
    for method in ["TRACE", "PUT", "DELETE", "OPTIONS"] {
        ec2.method = method.into();
        let resp = em.handle(&ec2, now);
        assert_eq!(resp.header("Allow"), Some("GET, POST"));
        assert_error(
            &ec2_query::decode_response(&resp).unwrap(),
            405,
            "MethodNotAllowed",
        );
        ls.method = method.into();
        let out = aws_json::decode_response(&em.handle(&ls, now)).unwrap();
        assert_error(&out, 405, "MethodNotAllowed");
        ali.method = method.into();
        let out = aliyun_rpc::decode_response(&em.handle(&ali, now)).unwrap();
        assert_error(&out, 405, "MethodNotAllowed");
        let plain = HttpRequest {
            method: method.into(),
            path_and_query: "/".into(),
            headers: vec![],
            body: Vec::new(),
        };
        assert_eq!(em.handle(&plain, now).status, 405);
    }
    assert_eq!(
        ec2_options(&em, EC2_ID, now),
        before,
        "a refused method changed the instance"
    );
}

fn header_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    let names = prop::sample::select(vec![
        "Content-Type",
        "Authorization",
        "X-Amz-Target",
        "X-Amz-Date",
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "Host",
        "X-Other",
    ]);
    let values = prop_oneof![
        Just("application/x-www-form-urlencoded".to_string()),
        Just("Lightsail_20161128.GetInstance".to_string()),
        Just("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=00".to_string()),
        Just("ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=x-acs-date,Signature=00".to_string()),
        ".{0,40}",
    ];
    prop::collection::vec((names.prop_map(str::to_string), values), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Arbitrary bytes and headers into `handle`: never a panic, always an error
    /// status (nothing unsigned can succeed), always a body.
    #[test]
    fn arbitrary_requests_never_panic(
        method in prop::sample::select(vec!["GET", "POST", "PUT", "\u{0}"]),
        path in prop_oneof![Just("/".to_string()), "/\\PC{0,60}", "/?[A-Za-z=&%0-9]{0,80}"],
        headers in header_strategy(),
        body in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let em = emu();
        let req = HttpRequest { method: method.into(), path_and_query: path, headers, body };
        let resp: HttpResponse = em.handle(&req, SystemTime::now());
        prop_assert!((400..600).contains(&resp.status), "status {}", resp.status);
        prop_assert!(!resp.body.is_empty());
    }

    /// Arbitrary parameters in correctly signed requests of each protocol.
    #[test]
    fn arbitrary_signed_parameters_never_panic(
        op in prop::sample::select(vec!["ModifyInstanceMetadataOptions", "DescribeInstances", "UpdateInstanceMetadataOptions", "GetInstance", "X"]),
        params in prop::collection::vec(("[A-Za-z.0-9]{1,12}", "\\PC{0,12}"), 0..6),
    ) {
        let em = emu();
        let now = SystemTime::now();
        let mut call = Call::new(op);
        for (k, v) in params { call.params.push(RawParam::text(k, v)); }
        for resp in [
            em.handle(&ec2_request(&call, "us-east-1", AWS_SECRET, now), now),
            em.handle(&ls_request(&call, "us-east-1", AWS_SECRET, now), now),
            em.handle(&ali_request(&call.clone().with("RegionId", "cn-hangzhou"), "JSON", Sig::V1Post, ALI_KEY, ALI_SECRET, now, &nonce()), now),
        ] {
            prop_assert!(resp.status == 200 || (400..500).contains(&resp.status), "status {}", resp.status);
        }
    }
}

// ---------------------------------------------------------------------------
// Concurrency

/// Three writers on one instance, each changing its own option in sequence and
/// reading it back after each acknowledgement. With a lost update, one writer's
/// acknowledged value would be overwritten by another's stale copy.
#[test]
fn concurrent_modifies_never_lose_an_acknowledged_update() {
    let em = emu();
    let writers: Vec<std::thread::JoinHandle<()>> = (0..3)
        .map(|w| {
            let em = em.clone();
            std::thread::spawn(move || {
                for k in 1..=40i64 {
                    let now = SystemTime::now();
                    let (name, value) = match w {
                        0 => ("HttpPutResponseHopLimit", k.to_string()),
                        1 => (
                            "HttpTokens",
                            if k % 2 == 0 { "required" } else { "optional" }.to_string(),
                        ),
                        _ => (
                            "HttpEndpoint",
                            if k % 2 == 0 { "enabled" } else { "disabled" }.to_string(),
                        ),
                    };
                    let body = success(ec2_at(&em, &modify(EC2_ID).with(name, value.clone()), now));
                    let field = match w {
                        0 => "httpPutResponseHopLimit",
                        1 => "httpTokens",
                        _ => "httpEndpoint",
                    };
                    assert_eq!(
                        body["instanceMetadataOptions"][field],
                        value.as_str(),
                        "ack shows the value"
                    );
                    assert_eq!(
                        ec2_options(&em, EC2_ID, now)[field],
                        value.as_str(),
                        "acknowledged value visible"
                    );
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let o = ec2_options(&em, EC2_ID, SystemTime::now());
    assert_eq!(o["httpPutResponseHopLimit"], "40");
    assert_eq!(o["httpTokens"], "required");
    assert_eq!(o["httpEndpoint"], "enabled");
}

// ---------------------------------------------------------------------------
// The HTTP server

async fn send(client: &reqwest::Client, base: &str, req: &HttpRequest) -> HttpResponse {
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap();
    let mut b = client.request(method, format!("{base}{}", req.path_and_query));
    for (k, v) in &req.headers {
        if !k.eq_ignore_ascii_case("host") {
            b = b.header(k, v);
        }
    }
    let resp = b.body(req.body.clone()).send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: resp.bytes().await.unwrap().to_vec(),
    }
}

fn loopback_ep(url: &str, service: &str) -> Endpoint {
    Endpoint {
        url: url.into(),
        ..aws_ep("us-east-1", service)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_on_a_free_port_with_concurrent_clients_and_limits() {
    let running = emulator::start(EmulatorConfig {
        apply_delay: Duration::from_millis(50),
        request_timeout: Duration::from_millis(500),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    assert_ne!(running.addr().port(), 0);
    let base = running.url();
    let client = reqwest::Client::new();

    // Many tokio tasks modifying one instance's hop limit over HTTP: every answer
    // is a success and the final value is the last acknowledged one.
    let mut tasks = Vec::new();
    for k in 1..=32i64 {
        let (client, base) = (client.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let ep = loopback_ep(&base, "ec2");
            let call = modify(EC2_ID).with("HttpPutResponseHopLimit", k.to_string());
            let mut req = ec2_query::encode_request(&ep, &call).unwrap();
            sigv4::sign(
                &mut req,
                &ep,
                &Credentials::new(AWS_KEY, AWS_SECRET),
                SystemTime::now(),
            )
            .unwrap();
            let resp = send(&client, &base, &req).await;
            let acked_at = std::time::Instant::now();
            assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
            (k, acked_at)
        }));
    }
    let mut acks = Vec::new();
    for t in tasks {
        acks.push(t.await.unwrap());
    }
    let ep = loopback_ep(&base, "ec2");
    let mut req = ec2_query::encode_request(
        &ep,
        &Call::new("DescribeInstances").with("InstanceId.1", EC2_ID),
    )
    .unwrap();
    sigv4::sign(
        &mut req,
        &ep,
        &Credentials::new(AWS_KEY, AWS_SECRET),
        SystemTime::now(),
    )
    .unwrap();
    let body = success(ec2_query::decode_response(&send(&client, &base, &req).await).unwrap());
    let final_hop: i64 = body["reservationSet"][0]["instancesSet"][0]["metadataOptions"]
        ["httpPutResponseHopLimit"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(acks.iter().any(|(k, _)| *k == final_hop));
    // The store serializes modifies, so the emulator's own view is the truth;
    // check it agrees with what HTTP shows.
    let direct = ec2_options(running.emulator(), EC2_ID, SystemTime::now());
    assert_eq!(
        direct["httpPutResponseHopLimit"],
        final_hop.to_string().as_str()
    );

    // Oversize body over HTTP: 413.
    let big = HttpRequest {
        method: "POST".into(),
        path_and_query: "/".into(),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: vec![b'a'; MAX_BODY_BYTES + 10],
    };
    assert_eq!(send(&client, &base, &big).await.status, 413);

    // A slow client: headers, then only part of the announced body.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut sock = tokio::net::TcpStream::connect(running.addr())
        .await
        .unwrap();
    sock.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nAction=")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), sock.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "server did not answer a slow client");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");

    // Garbage over HTTP.
    let garbage = HttpRequest {
        method: "POST".into(),
        path_and_query: "/".into(),
        headers: vec![],
        body: vec![0xff; 64],
    };
    assert_eq!(send(&client, &base, &garbage).await.status, 400);

    running.shutdown().await;
    // After shutdown the port no longer answers.
    let gone = client
        .get(&base)
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(gone.is_err());
}

#[tokio::test]
async fn start_reports_a_busy_port() {
    let first = emulator::start(EmulatorConfig::default()).await.unwrap();
    let err = emulator::start(EmulatorConfig {
        listen: first.addr(),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains(&first.addr().to_string()), "{err}");
    first.shutdown().await;
}

#[test]
fn custom_fixtures_replace_instances_and_credentials() {
    let fixtures = Fixtures::from_toml(
        r#"
[credentials]
aws = [{ access_key_id = "AKIDOTHER", secret = "other-secret" }]

[[ec2]]
id = "i-0aaaaaaaaaaaaaaaa"
region = "us-east-1"
http_tokens = "required"
http_put_response_hop_limit = 2
"#,
        "inline",
    )
    .unwrap();
    let em = Emulator::new(EmulatorConfig {
        fixtures,
        ..EmulatorConfig::default()
    });
    let now = t0();
    // The default key is no longer accepted.
    assert_error(
        &ec2_at(&em, &Call::new("DescribeInstances"), now),
        401,
        "AuthFailure",
    );
    let ep = aws_ep("us-east-1", "ec2");
    let mut req = ec2_query::encode_request(&ep, &Call::new("DescribeInstances")).unwrap();
    sigv4::sign(
        &mut req,
        &ep,
        &Credentials::new("AKIDOTHER", "other-secret"),
        now,
    )
    .unwrap();
    let body = success(ec2_query::decode_response(&em.handle(&req, now)).unwrap());
    let i = &body["reservationSet"][0]["instancesSet"][0];
    assert_eq!(i["instanceId"], "i-0aaaaaaaaaaaaaaaa");
    assert_eq!(i["metadataOptions"]["httpTokens"], "required");
    assert_eq!(i["metadataOptions"]["httpPutResponseHopLimit"], "2");
    assert_eq!(body["reservationSet"].as_array().unwrap().len(), 1);
}
