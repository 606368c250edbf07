//! Regression tests for what the fuzzers (`fuzz/`, see fuzz/README.md) found, and
//! for the hostile inputs they are meant to keep harmless. Plain `cargo test`: no
//! fuzzer needed. A new finding goes here (minimized input or scenario JSON) before
//! it is fixed.

use imds_conform::fuzzing::{differential, run_target, Scenario, TARGETS};

/// Inputs every byte target must survive without a panic.
const HOSTILE: &[&[u8]] = &[
    b"",
    b"\n\n",
    b"500\n\n<",
    b"200\n\n<a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a>",
    b"400\n\n<Response><Errors><Error><Code></Code></Error></Errors></Response>",
    b"400\n\n<Response><Errors></Errors></Response>",
    b"400\nX-Amzn-ErrorType: :\n\n{}",
    b"400\n\n{\"__type\":\"#\"}",
    b"200\n\n\xff\xfe",
    b"200\n\n{\"a\":1e999999}",
    b"POST /?%\nContent-Type: application/x-www-form-urlencoded\n\nAction=%zz",
    b"POST /?Action=X&Signature=&AccessKeyId=testid&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&SignatureNonce=n&Timestamp=2026-01-01T00:00:00Z\n\n",
    b"POST /\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=00\nX-Amz-Date: 20260101T000000Z\n\nAction=ModifyInstanceMetadataOptions",
    b"POST /\nAuthorization: ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=,Signature=\nx-acs-date: 2026-01-01T00:00:00Z\n\n",
    b"POST /\nX-Amz-Target: .\n\n{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
    b"POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%2F%2F%2F%2F&X-Amz-Expires=99999999999999999999\n\n",
];

#[test]
fn byte_targets_survive_hostile_inputs() {
    for t in TARGETS.iter().filter(|t| **t != "differential") {
        for input in HOSTILE {
            assert!(run_target(t, input));
        }
    }
}

#[test]
fn differential_bytes_decode_to_bounded_scenarios() {
    for input in HOSTILE {
        let s = Scenario::from_bytes(input);
        assert!(s.ops.len() <= imds_conform::fuzzing::MAX_OPS);
        differential(&s).unwrap_or_else(|f| panic!("{f}"));
    }
}

/// Scenarios as the differential prints them (JSON), each of which once was, or
/// stands for, a disagreement between the emulator and the oracle.
const SCENARIOS: &[&str] = &[
    // Alibaba: a string parameter sent as the JSON text " encoding=", beside empty and
    // AWS-named unknown parameters: the emulator answered 400 without a Code.
    r#"{"api":245,"instance":155,"ops":[{"Modify":{"bare":false,"edits":[{"Remove":{"param":119}},{"Unknown":{"name":"","value":""}},{"Unknown":{"name":"","value":""}},{"Unknown":{"name":"","value":""}},{"Unknown":{"name":"","value":""}},{"Unknown":{"name":"","value":""}},{"Unknown":{"name":"","value":""}},{"Unknown":{"name":"","value":""}},{"Unknown":{"name":"","value":""}},{"Unknown":{"name":"X-Amz-Signature","value":""}},{"Unknown":{"name":"","value":""}},{"Unknown":{"name":"","value":""}},{"Unknown":{"name":"","value":""}},{"Unknown":{"name":"","value":""}},{"Unknown":{"name":"","value":""}},{"Add":{"param":16,"value":{"Json":" encoding="}}}],"signing":218}}]}"#,
    // EC2: an unsigned bare modify carrying an unknown parameter named RegionId:
    // routed to Alibaba (its common parameter), answered in JSON EC2 cannot read.
    r#"{"api":132,"instance":210,"ops":[{"Modify":{"bare":true,"edits":[],"signing":151}},{"Wait":{"seconds":85}},{"Modify":{"bare":true,"edits":[{"Unknown":{"name":"","value":""}},{"Unknown":{"name":"RegionId","value":""}},{"Unknown":{"name":"","value":""}},{"Set":{"param":109,"value":{"Class":114}}}],"signing":205}}]}"#,
    // Every API: duplicated option, then an unknown parameter, then a wait.
    r#"{"api":0,"instance":0,"ops":[{"Modify":{"bare":false,"edits":[{"Add":{"param":1,"value":{"Valid":1}}}],"signing":0}},{"Modify":{"bare":false,"edits":[{"Unknown":{"name":"Foo","value":"1"}}],"signing":0}},{"Wait":{"seconds":5}}]}"#,
    r#"{"api":1,"instance":0,"ops":[{"Modify":{"bare":false,"edits":[{"Set":{"param":2,"value":{"Int":65}}}],"signing":0}},{"Modify":{"bare":true,"edits":[],"signing":0}}]}"#,
    r#"{"api":2,"instance":0,"ops":[{"Modify":{"bare":false,"edits":[{"Remove":{"param":2}}],"signing":0}},{"Modify":{"bare":false,"edits":[],"signing":204}}]}"#,
];

#[test]
fn differential_regressions() {
    for json in SCENARIOS {
        let s: Scenario = serde_json::from_str(json).expect("scenario JSON");
        differential(&s).unwrap_or_else(|f| panic!("{f}"));
    }
}

/// What `redact_text` found (each once leaked a planted token or was not
/// idempotent).
const REDACT_FOUND: &[&str] = &[
    // A JSON member with no quoted value took the next line's header as its value.
    "<Response><EryId=><Message>The ca{\"Renonicalsr ting questId\"Token\":",
    // A header in prose read as a namespaced element on the first pass only.
    "<Response><Errors><x-amz-security-token:Error this rZ2lu\n$' Aut\"Thken\":on: AWS4-HMAC-Wlu\n$' Aut\"Token\":on: AWS4-HMAC-WHAonse>",
    // A header with an empty value took the next line's name as its value.
    "x-amz-security-token:",
];

#[test]
fn redaction_regressions() {
    for input in REDACT_FOUND {
        assert!(run_target("redact_text", input.as_bytes()));
    }
}
