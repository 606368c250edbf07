//! Alibaba RPC wire and signing: the published vectors, sign/verify and
//! encode/decode round trips as properties, and hostile input.

use std::time::{Duration, SystemTime};

use imds_conform::wire::aliyun_rpc::{
    self, decode_request, decode_response, encode_answer, encode_params, encode_request,
    parse_params, request_params, Method, COMMON_PARAMS,
};
use imds_conform::wire::aliyun_sign::{
    self, sign_v1, sign_v3, v1_signature, v1_string_to_sign, v3_authorization,
    v3_canonical_request, v3_signature, v3_string_to_sign, verify, NonceCache,
};
use imds_conform::wire::{
    Answer, AuthError, Call, Credentials, DecodeError, Endpoint, HttpRequest, HttpResponse,
    Outcome, RawParam, Secret, MAX_BODY_BYTES,
};
use proptest::prelude::*;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn endpoint(format: &str) -> Endpoint {
    Endpoint {
        url: "https://ecs.aliyuncs.com".into(),
        region: "cn-hangzhou".into(),
        api_version: "2014-05-26".into(),
        signing_name: String::new(),
        target_prefix: String::new(),
        format: format.into(),
    }
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// 2016-02-23T12:46:24Z, the docs vector's timestamp.
const DOCS_TIME: u64 = 1_456_231_584;
const SKEW: Duration = Duration::from_secs(15 * 60);
const AK: &str = "LTAI-test-key";
const SECRET: &str = "s3cr3t-Value/+=";

fn secret_for(ak: &str) -> Option<Secret> {
    (ak == AK).then(|| Secret::new(SECRET))
}

fn creds(with_token: bool) -> Credentials {
    let c = Credentials::new(AK, SECRET);
    if with_token {
        c.with_session_token("sts-token-value")
    } else {
        c
    }
}

fn always_fresh(_: &str) -> bool {
    true
}

fn check(req: &HttpRequest, now: SystemTime) -> Result<(), AuthError> {
    verify(req, &secret_for, now, SKEW, &mut always_fresh).map(|a| {
        assert_eq!(a.access_key_id, AK);
        assert!(a.region.is_empty() && a.service.is_empty());
    })
}

fn signature_param(req: &HttpRequest) -> String {
    request_params(req)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == "Signature")
        .map(|(_, v)| v)
        .expect("signed request has a Signature")
}

/// Rewrite the value of the first parameter named `name` (query first, then body).
fn change_param(req: &mut HttpRequest, name: &str, f: impl Fn(&str) -> String) {
    let path = req.path().to_string();
    let mut query = parse_params(req.query()).unwrap();
    if let Some(p) = query.iter_mut().find(|(k, _)| k == name) {
        p.1 = f(&p.1);
        req.path_and_query = format!("{path}?{}", encode_params(&query));
        return;
    }
    let mut body = parse_params(std::str::from_utf8(&req.body).unwrap()).unwrap();
    let p = body
        .iter_mut()
        .find(|(k, _)| k == name)
        .expect("param present");
    p.1 = f(&p.1);
    req.body = encode_params(&body).into_bytes();
}

/// A different character at `i`, from the same alphabet.
fn flip_char(s: &str, i: usize, alphabet: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let i = i % chars.len();
    let replacement = alphabet.chars().find(|c| *c != chars[i]).unwrap();
    chars[i] = replacement;
    chars.into_iter().collect()
}

// ---------------------------------------------------------------------------
// Published vectors
// ---------------------------------------------------------------------------

#[test]
fn v1_ecs_docs_describe_regions_vector() {
    let params = pairs(&[
        ("Action", "DescribeRegions"),
        ("Version", "2014-05-26"),
        ("Format", "XML"),
        ("AccessKeyId", "testid"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
        ("Timestamp", "2016-02-23T12:46:24Z"),
    ]);
    let sts = v1_string_to_sign("GET", &params);
    assert!(sts.starts_with("GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions"));
    assert_eq!(
        v1_signature("testsecret", &sts),
        "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    );
}

#[test]
fn v1_docs_vector_through_encode_and_sign() {
    let mut req =
        encode_request(&endpoint("XML"), &Call::new("DescribeRegions"), Method::Get).unwrap();
    let creds = Credentials::new("testid", "testsecret");
    sign_v1(
        &mut req,
        &creds,
        at(DOCS_TIME),
        "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    )
    .unwrap();
    assert_eq!(signature_param(&req), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
    // The signature travels percent-encoded.
    assert!(req
        .query()
        .ends_with("Signature=OLeaidS1JvxuMvnyHOwuJ%2BuX5qY%3D"));
}

/// darabonba-openapi-util `getRPCSignature({query: test, body: test}, GET, secret)`:
/// two parameters literally named `query` and `body`, nothing else.
#[test]
fn v1_sdk_vector() {
    let params = pairs(&[("query", "test"), ("body", "test")]);
    let sts = v1_string_to_sign("GET", &params);
    assert_eq!(sts, "GET&%2F&body%3Dtest%26query%3Dtest");
    assert_eq!(v1_signature("secret", &sts), "XlUyV4sXjOuX5FnjUz9IF9tm5rU=");
}

/// darabonba-openapi-util `getAuthorization`: path `/`, empty value as `empty=`,
/// `x-acs-test` and `x-acs-TEST` merged into one header `x-acs-test:http,https`.
#[test]
fn v3_darabonba_vector() {
    let query = pairs(&[("test", "ok"), ("empty", "")]);
    let headers = pairs(&[("x-acs-test", "http"), ("x-acs-TEST", "https")]);
    let payload = "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23";
    let canonical = v3_canonical_request("GET", "/", &query, &headers, payload);
    assert_eq!(
        canonical.request,
        format!("GET\n/\nempty=&test=ok\nx-acs-test:http,https\n\nx-acs-test\n{payload}")
    );
    let signature = v3_signature("secret", &v3_string_to_sign(&canonical.request));
    assert_eq!(
        v3_authorization("acesskey", &canonical.signed_headers, &signature),
        "ACS3-HMAC-SHA256 Credential=acesskey,SignedHeaders=x-acs-test,\
         Signature=d16b30a7699ae9e43875b13195b2f81bcc3ed10c14a9b5eb780e51619aa50be1"
    );
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

fn reserved(name: &str) -> bool {
    name == "Action" || name == "Version" || COMMON_PARAMS.contains(&name)
}

fn name_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z][A-Za-z0-9.]{0,10}",
        "[A-Za-z0-9 é中&=%+._~*/-]{1,8}",
        Just("RegionId".to_string()),
    ]
    .prop_filter("common parameter names belong to the protocol", |n| {
        !reserved(n)
    })
}

fn value_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9-]{1,12}",
        prop::collection::vec(any::<char>(), 0..12).prop_map(|v| v.into_iter().collect()),
    ]
}

/// Arbitrary call parameters, sometimes with a duplicated name.
fn params_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        prop::collection::vec((name_strategy(), value_strategy()), 0..6),
        any::<bool>(),
        value_strategy(),
    )
        .prop_map(|(mut params, dup, dup_value)| {
            if let (true, Some(first)) = (dup, params.first().cloned()) {
                params.push((first.0, dup_value));
            }
            params
        })
}

fn call_of(operation: &str, params: &[(String, String)]) -> Call {
    Call {
        operation: operation.to_string(),
        params: params
            .iter()
            .map(|(k, v)| RawParam::text(k.clone(), v.clone()))
            .collect(),
    }
}

fn method_strategy() -> impl Strategy<Value = Method> {
    prop_oneof![Just(Method::Get), Just(Method::Post)]
}

#[derive(Debug, Clone, Copy)]
enum Scheme {
    V1,
    V3,
}

fn scheme_strategy() -> impl Strategy<Value = Scheme> {
    prop_oneof![Just(Scheme::V1), Just(Scheme::V3)]
}

fn signed(
    scheme: Scheme,
    method: Method,
    params: &[(String, String)],
    token: bool,
    time: SystemTime,
    nonce: &str,
) -> HttpRequest {
    let call = call_of("ModifyInstanceMetadataOptions", params);
    let mut req = encode_request(&endpoint("JSON"), &call, method).unwrap();
    let creds = creds(token);
    match scheme {
        Scheme::V1 => sign_v1(&mut req, &creds, time, nonce).unwrap(),
        Scheme::V3 => sign_v3(&mut req, &creds, time, nonce).unwrap(),
    }
    req
}

fn change_signature(req: &mut HttpRequest, scheme: Scheme, i: usize) {
    match scheme {
        Scheme::V1 => {
            let b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            change_param(req, "Signature", |s| {
                let body = s.trim_end_matches('=');
                let flipped = flip_char(body, i, b64);
                format!("{flipped}{}", &s[body.len()..])
            });
        }
        Scheme::V3 => {
            let auth = req.header("authorization").unwrap().to_string();
            let (head, sig) = auth.rsplit_once("Signature=").unwrap();
            let sig = flip_char(sig, i, "0123456789abcdef");
            req.set_header("Authorization", format!("{head}Signature={sig}"));
        }
    }
}

// ---------------------------------------------------------------------------
// Sign / verify properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn what_we_sign_verifies(
        scheme in scheme_strategy(),
        method in method_strategy(),
        params in params_strategy(),
        token in any::<bool>(),
        nonce in "[a-f0-9-]{1,36}",
        drift in -600i64..600,
    ) {
        let t = at(DOCS_TIME);
        let req = signed(scheme, method, &params, token, t, &nonce);
        let now = if drift >= 0 {
            t + Duration::from_secs(drift.unsigned_abs())
        } else {
            t - Duration::from_secs(drift.unsigned_abs())
        };
        prop_assert_eq!(check(&req, now), Ok(()));
        // And the server side still sees the exact call.
        let incoming = decode_request(&req).unwrap();
        prop_assert_eq!(incoming.call, call_of("ModifyInstanceMetadataOptions", &params));
    }

    #[test]
    fn tampering_is_rejected(
        scheme in scheme_strategy(),
        method in method_strategy(),
        params in params_strategy(),
        token in any::<bool>(),
        i in any::<usize>(),
    ) {
        let t = at(DOCS_TIME);
        let req = signed(scheme, method, &params, token, t, "n-1");

        let mut bad_sig = req.clone();
        change_signature(&mut bad_sig, scheme, i);
        prop_assert_eq!(check(&bad_sig, t), Err(AuthError::SignatureMismatch));

        let wrong_secret = |ak: &str| (ak == AK).then(|| Secret::new("not-the-secret"));
        prop_assert_eq!(
            verify(&req, &wrong_secret, t, SKEW, &mut always_fresh),
            Err(AuthError::SignatureMismatch)
        );

        let target = params.first().map(|p| p.0.clone()).unwrap_or_else(|| "Action".into());
        let mut changed = req.clone();
        change_param(&mut changed, &target, |v| format!("{v}x"));
        prop_assert_eq!(check(&changed, t), Err(AuthError::SignatureMismatch));
    }

    #[test]
    fn replay_and_old_requests_are_rejected(
        scheme in scheme_strategy(),
        method in method_strategy(),
        params in params_strategy(),
    ) {
        let t = at(DOCS_TIME);
        let req = signed(scheme, method, &params, false, t, "nonce-42");
        let mut cache = NonceCache::for_skew(SKEW);
        let mut fresh = |n: &str| cache.check_and_insert(n, t);
        prop_assert!(verify(&req, &secret_for, t, SKEW, &mut fresh).is_ok());
        prop_assert_eq!(
            verify(&req, &secret_for, t, SKEW, &mut fresh),
            Err(AuthError::NonceReused)
        );

        let old = signed(scheme, method, &params, false, t - Duration::from_secs(3600), "n-old");
        prop_assert_eq!(check(&old, t), Err(AuthError::Expired));
        let future = signed(scheme, method, &params, false, t + Duration::from_secs(3600), "n-f");
        prop_assert_eq!(check(&future, t), Err(AuthError::Expired));
    }
}

#[test]
fn a_forged_request_does_not_burn_the_nonce() {
    let t = at(DOCS_TIME);
    for scheme in [Scheme::V1, Scheme::V3] {
        let req = signed(
            scheme,
            Method::Get,
            &pairs(&[("RegionId", "cn")]),
            false,
            t,
            "n-7",
        );
        let mut forged = req.clone();
        change_param(&mut forged, "RegionId", |_| "us".into());
        let mut cache = NonceCache::for_skew(SKEW);
        let mut fresh = |n: &str| cache.check_and_insert(n, t);
        let forged_result = verify(&forged, &secret_for, t, SKEW, &mut fresh);
        assert_eq!(forged_result, Err(AuthError::SignatureMismatch));
        assert!(verify(&req, &secret_for, t, SKEW, &mut fresh).is_ok());
    }
}

#[test]
fn verify_reports_why() {
    let t = at(DOCS_TIME);
    let unsigned = encode_request(&endpoint("JSON"), &Call::new("X"), Method::Get).unwrap();
    assert_eq!(check(&unsigned, t), Err(AuthError::Missing));

    let mut other_scheme = unsigned.clone();
    other_scheme.set_header("Authorization", "Bearer abc");
    assert!(matches!(
        check(&other_scheme, t),
        Err(AuthError::Malformed(_))
    ));

    for scheme in [Scheme::V1, Scheme::V3] {
        let req = signed(scheme, Method::Post, &[], false, t, "n");
        let nobody = |_: &str| None;
        assert_eq!(
            verify(&req, &nobody, t, SKEW, &mut always_fresh),
            Err(AuthError::UnknownAccessKey)
        );
    }

    let mut bad_time = signed(Scheme::V1, Method::Get, &[], false, t, "n");
    change_param(&mut bad_time, "Timestamp", |_| "yesterday".into());
    assert!(matches!(check(&bad_time, t), Err(AuthError::Malformed(_))));

    let mut twice = signed(Scheme::V1, Method::Get, &[], false, t, "n");
    twice.path_and_query.push_str("&Signature=abc");
    assert!(matches!(check(&twice, t), Err(AuthError::Malformed(_))));

    let mut v3 = signed(Scheme::V3, Method::Get, &[], false, t, "n");
    v3.set_header("Authorization", "ACS3-HMAC-SHA256 Credential=x");
    assert!(matches!(check(&v3, t), Err(AuthError::Malformed(_))));

    let mut v3_body = signed(
        Scheme::V3,
        Method::Post,
        &pairs(&[("A", "1")]),
        false,
        t,
        "n",
    );
    v3_body.body = b"A=2".to_vec();
    assert_eq!(check(&v3_body, t), Err(AuthError::SignatureMismatch));
}

#[test]
fn signing_twice_is_refused() {
    let t = at(DOCS_TIME);
    let mut req = signed(Scheme::V1, Method::Get, &[], false, t, "n");
    assert!(sign_v1(&mut req, &creds(false), t, "m").is_err());
    let mut req = signed(Scheme::V3, Method::Get, &[], false, t, "n");
    assert!(sign_v3(&mut req, &creds(false), t, "m").is_err());
}

#[test]
fn v3_headers_are_set() {
    let t = at(DOCS_TIME);
    let req = signed(
        Scheme::V3,
        Method::Post,
        &pairs(&[("A", "1")]),
        true,
        t,
        "n-3",
    );
    assert_eq!(
        req.header("x-acs-action"),
        Some("ModifyInstanceMetadataOptions")
    );
    assert_eq!(req.header("x-acs-version"), Some("2014-05-26"));
    assert_eq!(req.header("x-acs-date"), Some("2016-02-23T12:46:24Z"));
    assert_eq!(req.header("x-acs-signature-nonce"), Some("n-3"));
    assert_eq!(req.header("x-acs-security-token"), Some("sts-token-value"));
    assert_eq!(
        req.header("x-acs-content-sha256"),
        Some(aliyun_sign::hex_sha256(b"A=1").as_str())
    );
    let auth = req.header("authorization").unwrap();
    assert!(auth.starts_with(&format!("ACS3-HMAC-SHA256 Credential={AK},SignedHeaders=")));
    assert!(auth.contains("content-type;host;x-acs-action;"));
}

#[test]
fn v1_adds_the_documented_parameters() {
    let t = at(DOCS_TIME);
    let req = signed(Scheme::V1, Method::Get, &[], true, t, "n-9");
    let names: Vec<String> = request_params(&req)
        .unwrap()
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(
        names,
        [
            "Action",
            "Version",
            "Format",
            "AccessKeyId",
            "SignatureMethod",
            "SignatureVersion",
            "SignatureNonce",
            "Timestamp",
            "SecurityToken",
            "Signature"
        ]
    );
}

#[test]
fn secrets_never_print() {
    let t = at(DOCS_TIME);
    for scheme in [Scheme::V1, Scheme::V3] {
        for method in [Method::Get, Method::Post] {
            let req = signed(scheme, method, &pairs(&[("A", "1")]), true, t, "n");
            let shown = format!("{req:?} {:?} {}", creds(true), creds(true).secret);
            assert!(!shown.contains(SECRET), "{shown}");
            let mut bad = req.clone();
            change_param(&mut bad, "Action", |_| "Y".into());
            let wrong = |_: &str| Some(Secret::new("other-secret"));
            for err in [
                check(&bad, t).unwrap_err(),
                verify(&req, &wrong, t, SKEW, &mut always_fresh).unwrap_err(),
            ] {
                let shown = format!("{err} {err:?}");
                assert!(!shown.contains(SECRET) && !shown.contains("other-secret"));
            }
        }
    }
    let mut signed_twice = signed(Scheme::V1, Method::Get, &[], true, t, "n");
    let err = sign_v1(&mut signed_twice, &creds(true), t, "n").unwrap_err();
    assert!(!format!("{err} {err:?}").contains(SECRET));
}

// ---------------------------------------------------------------------------
// Request round trips
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_then_decode_request_is_identity(
        operation in "[A-Za-z]{1,30}",
        method in method_strategy(),
        params in params_strategy(),
    ) {
        let call = call_of(&operation, &params);
        let req = encode_request(&endpoint("XML"), &call, method).unwrap();
        prop_assert_eq!(req.header("host"), Some("ecs.aliyuncs.com"));
        let incoming = decode_request(&req).unwrap();
        prop_assert_eq!(incoming.call, call);
        prop_assert_eq!(incoming.version.as_deref(), Some("2014-05-26"));
        prop_assert!(incoming.protocol_params.contains(&("Format".into(), "XML".into())));
    }

    #[test]
    fn decode_request_never_panics(query in any::<String>(), body in any::<Vec<u8>>()) {
        let req = HttpRequest {
            method: "POST".into(),
            path_and_query: format!("/?{query}"),
            headers: vec![("Content-Type".into(), aliyun_rpc::FORM_CONTENT_TYPE.into())],
            body,
        };
        let _ = decode_request(&req);
        let _ = verify(&req, &secret_for, at(DOCS_TIME), SKEW, &mut always_fresh);
    }
}

#[test]
fn encoding_details() {
    let call = Call::new("Op").with("A b", "x*y~z").with("RegionId", "");
    let get = encode_request(&endpoint("JSON"), &call, Method::Get).unwrap();
    assert_eq!(get.method, "GET");
    assert_eq!(
        get.path_and_query,
        "/?Action=Op&Version=2014-05-26&Format=JSON&A%20b=x%2Ay~z&RegionId="
    );
    let post = encode_request(&endpoint("JSON"), &call, Method::Post).unwrap();
    assert_eq!(post.method, "POST");
    assert_eq!(
        post.path_and_query,
        "/?Action=Op&Version=2014-05-26&Format=JSON"
    );
    assert_eq!(
        post.header("content-type"),
        Some(aliyun_rpc::FORM_CONTENT_TYPE)
    );
    assert_eq!(post.body, b"A%20b=x%2Ay~z&RegionId=");
}

#[test]
fn decode_request_errors_and_common_params() {
    let req = |q: &str| HttpRequest {
        method: "GET".into(),
        path_and_query: format!("/?{q}"),
        ..Default::default()
    };
    assert!(matches!(
        decode_request(&req("RegionId=cn")),
        Err(DecodeError::Request(_))
    ));
    assert!(matches!(
        decode_request(&req("Action=X&A=%G1")),
        Err(DecodeError::Request(_))
    ));
    let incoming = decode_request(&req(
        "Action=Op&AccessKeyId=k&RegionId=cn&Signature=s&SecurityToken=t&SignatureType=&X=1",
    ))
    .unwrap();
    assert_eq!(
        incoming.call,
        Call::new("Op").with("RegionId", "cn").with("X", "1")
    );
    assert_eq!(incoming.version, None);
    let names: Vec<&str> = incoming
        .protocol_params
        .iter()
        .map(|p| p.0.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Action",
            "AccessKeyId",
            "Signature",
            "SecurityToken",
            "SignatureType"
        ]
    );
    // A body without the form content type is not read.
    let mut post = req("Action=Op");
    post.method = "POST".into();
    post.body = b"A=1".to_vec();
    assert!(decode_request(&post).unwrap().call.params.is_empty());
}

// ---------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------

fn xml_name() -> impl Strategy<Value = String> {
    "[A-Z][A-Za-z0-9]{0,8}".prop_filter("RequestId is the answer's own", |n| n != "RequestId")
}

fn xml_text() -> impl Strategy<Value = String> {
    // XML leaves come back trimmed, so generate them trimmed.
    "[A-Za-z0-9 &<>\"'é中.-]{0,12}".prop_map(|s| s.trim().to_string())
}

fn body_strategy() -> impl Strategy<Value = Value> {
    prop::collection::vec((xml_name(), xml_text()), 0..5).prop_map(|members| {
        Value::Object(
            members
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    })
}

fn format_strategy() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("JSON"), Just("XML"), Just("xml"), Just("")]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn success_answers_round_trip(
        format in format_strategy(),
        request_id in "[A-F0-9-]{1,36}",
        body in body_strategy(),
    ) {
        let answer = Answer::Success { request_id: request_id.clone(), body: body.clone() };
        let resp = encode_answer("ModifyInstanceMetadataOptions", format, &answer);
        let xml = format.eq_ignore_ascii_case("xml");
        let ct = resp.header("content-type").unwrap();
        prop_assert_eq!(ct.starts_with("text/xml"), xml);
        let outcome = decode_response(&resp).unwrap();
        let mut expected = serde_json::Map::new();
        expected.insert("RequestId".into(), Value::String(request_id.clone()));
        expected.extend(body.as_object().unwrap().clone());
        prop_assert_eq!(outcome, Outcome::Success {
            status: 200,
            request_id: Some(request_id),
            body: Value::Object(expected),
        });
    }

    #[test]
    fn error_answers_round_trip(
        format in format_strategy(),
        status in 300u16..600,
        code in "[A-Za-z][A-Za-z.]{0,30}",
        message in xml_text(),
        request_id in "[A-F0-9-]{1,36}",
    ) {
        let answer = Answer::Error {
            status, code: code.clone(), message: message.clone(), request_id: request_id.clone(),
        };
        let resp = encode_answer("ModifyInstanceMetadataOptions", format, &answer);
        prop_assert_eq!(resp.status, status);
        prop_assert_eq!(decode_response(&resp).unwrap(), Outcome::Error {
            status, code, message, request_id: Some(request_id),
        });
    }

    #[test]
    fn arbitrary_bodies_never_panic(status in any::<u16>(), body in any::<Vec<u8>>()) {
        let _ = decode_response(&HttpResponse { status, headers: vec![], body });
    }

    #[test]
    fn arbitrary_text_bodies_never_panic(status in 100u16..600, body in "[<>a-zA-Z\"{}:,/ ]{0,64}") {
        let _ = decode_response(&HttpResponse { status, headers: vec![], body: body.into_bytes() });
    }
}

fn response(status: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn seed_samples_decode() {
    let xml = "<ModifyInstanceMetadataOptionsResponse>\n      \
               <RequestId>473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E</RequestId>\n\
               </ModifyInstanceMetadataOptionsResponse>";
    let json = "{\n    \"RequestId\":\"473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E\"\n}";
    for body in [xml, json] {
        let outcome = decode_response(&response(200, body)).unwrap();
        assert!(matches!(outcome, Outcome::Success { status: 200, .. }));
        assert_eq!(
            outcome.request_id(),
            Some("473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E")
        );
    }
}

#[test]
fn gateway_error_shapes_decode() {
    let json = r#"{"Recommend":"https://x","Message":"The specified InstanceId is not found.",
        "RequestId":"R-1","HostId":"ecs.aliyuncs.com","Code":"InvalidInstanceId.NotFound"}"#;
    let xml =
        "<?xml version='1.0' encoding='UTF-8'?><Error><Code>InvalidInstanceId.NotFound</Code>\
        <Unknown><Deep>x</Deep></Unknown><HostId>ecs.aliyuncs.com</HostId>\
        <Message>The specified InstanceId is not found.</Message><RequestId>R-1</RequestId>\
        <Recommend><![CDATA[https://x?a=1&b=2]]></Recommend></Error>";
    for body in [json, xml] {
        assert_eq!(
            decode_response(&response(404, body)).unwrap(),
            Outcome::Error {
                status: 404,
                code: "InvalidInstanceId.NotFound".into(),
                message: "The specified InstanceId is not found.".into(),
                request_id: Some("R-1".into()),
            }
        );
    }
}

#[test]
fn emulator_error_answer_has_the_gateway_members() {
    let answer = Answer::Error {
        status: 400,
        code: "InvalidHttpTokens.NotSupported".into(),
        message: "m".into(),
        request_id: "R-9".into(),
    };
    let resp = encode_answer("ModifyInstanceMetadataOptions", "JSON", &answer);
    let v: Value = serde_json::from_slice(&resp.body).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["RequestId", "HostId", "Code", "Message", "Recommend"]
    );
    assert_eq!(v["HostId"], "ecs.aliyuncs.com");
    assert_eq!(
        v["Recommend"],
        "https://api.aliyun.com/troubleshoot?q=InvalidHttpTokens.NotSupported&product=Ecs&requestId=R-9"
    );
    assert_eq!(
        resp.header("content-type"),
        Some("application/json;charset=utf-8")
    );
    let xml = encode_answer("ModifyInstanceMetadataOptions", "XML", &answer);
    let text = String::from_utf8(xml.body).unwrap();
    assert!(text.contains("<Error><RequestId>R-9</RequestId><HostId>ecs.aliyuncs.com</HostId>"));
    assert!(text.contains("<Recommend>"));
    let ok = Answer::Success {
        request_id: "R-1".into(),
        body: json!({}),
    };
    let xml = encode_answer("ModifyInstanceMetadataOptions", "XML", &ok);
    let text = String::from_utf8(xml.body).unwrap();
    assert!(text.contains(
        "<ModifyInstanceMetadataOptionsResponse><RequestId>R-1</RequestId></ModifyInstanceMetadataOptionsResponse>"
    ));
}

#[test]
fn hostile_bodies_are_errors() {
    let cases: [(u16, &[u8]); 10] = [
        (200, b""),
        (200, b"{\"RequestId\":"),
        (200, b"<ModifyInstanceMetadataOptionsResponse><RequestId>x"),
        (200, b"[1,2]"),
        (200, b"<a>text</a>"),
        (400, b"{\"Message\":\"no code\"}"),
        (400, b"<Error><Message>no code</Message></Error>"),
        (500, b"\xff\xfe<"),
        (200, b"null"),
        (503, b"<html><body>Service Unavailable"),
    ];
    for (status, body) in cases {
        let got = decode_response(&HttpResponse {
            status,
            headers: vec![],
            body: body.to_vec(),
        });
        assert!(
            got.is_err(),
            "{status} {:?} gave {got:?}",
            String::from_utf8_lossy(body)
        );
    }
    let mut big = b"{\"RequestId\":\"".to_vec();
    big.resize(MAX_BODY_BYTES + 1, b'a');
    assert!(matches!(
        decode_response(&HttpResponse {
            status: 200,
            headers: vec![],
            body: big
        }),
        Err(DecodeError::TooLarge { .. })
    ));
    let deep = "[".repeat(10_000);
    assert!(decode_response(&response(200, &deep)).is_err());
}
