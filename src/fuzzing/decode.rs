//! The decoder targets: answers and requests of every protocol never panic the
//! decoders, and what decodes is well-formed (error codes are not empty, what
//! parses re-encodes to the same pairs or members).

use super::framing::{request_from_bytes, responses};
use crate::wire::{aliyun_rpc, aws_json, ec2_query, tree, HttpRequest, Outcome};

/// Pairs parsed, re-encoded and parsed again are the same (empty pairs aside).
fn assert_same_pairs(pairs: Vec<(String, String)>, reparsed: Vec<(String, String)>, what: &str) {
    let kept = |v: Vec<(String, String)>| -> Vec<(String, String)> {
        v.into_iter()
            .filter(|(k, v)| !(k.is_empty() && v.is_empty()))
            .collect()
    };
    assert_eq!(
        kept(pairs),
        kept(reparsed),
        "{what} pairs change through encode + parse"
    );
}

/// EC2 Query answers (XML) and the XML tree parser.
pub fn ec2_response(data: &[u8]) {
    for r in responses(data) {
        if let Ok(Outcome::Error { code, .. }) = ec2_query::decode_response(&r) {
            assert!(!code.is_empty(), "EC2 error decoded with an empty code");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tree::parse_xml(text);
    }
}

/// AWS JSON 1.1 answers and errors (`__type`, `X-Amzn-ErrorType`, `code`).
pub fn aws_json_response(data: &[u8]) {
    for r in responses(data) {
        if let Ok(Outcome::Error { code, .. }) = aws_json::decode_response(&r) {
            assert!(
                !code.is_empty(),
                "AWS JSON error decoded with an empty code"
            );
        }
    }
}

/// Alibaba RPC answers, JSON or XML (the body is sniffed).
pub fn aliyun_response(data: &[u8]) {
    for r in responses(data) {
        let _ = aliyun_rpc::decode_response(&r);
    }
}

/// EC2 Query requests: form body, query string, headers; and routing.
pub fn ec2_request(data: &[u8]) {
    let req = request_from_bytes(data);
    let _ = crate::emulator::route::route(&req);
    let _ = ec2_query::decode_request(&req);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(pairs) = ec2_query::parse_form(text) {
            // What parses, re-encoded, parses to the same pairs.
            let again: Vec<String> = pairs
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        ec2_query::encode_component(k),
                        ec2_query::encode_component(v)
                    )
                })
                .collect();
            let reparsed = ec2_query::parse_form(&again.join("&")).expect("re-encoded form parses");
            assert_same_pairs(pairs, reparsed, "form");
        }
    }
}

/// AWS JSON requests: `X-Amz-Target` and the JSON body's members.
pub fn aws_json_request(data: &[u8]) {
    let req = request_from_bytes(data);
    let _ = aws_json::decode_request(&req);
    let _ = aws_json::decode_request(&HttpRequest {
        method: "POST".into(),
        path_and_query: "/".into(),
        headers: vec![(
            "X-Amz-Target".into(),
            "Lightsail_20161128.GetInstance".into(),
        )],
        body: data.to_vec(),
    });
    // Whatever serde_json reads as an object, the member scanner reads too, with
    // the same member names.
    if let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice::<serde_json::Value>(data) {
        let params = aws_json::parse_params(data)
            .unwrap_or_else(|e| panic!("serde_json reads an object, parse_params refuses it: {e}"));
        for p in &params {
            assert!(
                obj.contains_key(&p.name),
                "member {:?} not in the object",
                p.name
            );
        }
        for k in obj.keys() {
            assert!(params.iter().any(|p| &p.name == k), "member {k:?} lost");
        }
    } else {
        let _ = aws_json::parse_params(data);
    }
}

/// Alibaba RPC requests: query string, form body.
pub fn aliyun_request(data: &[u8]) {
    let req = request_from_bytes(data);
    let _ = aliyun_rpc::decode_request(&req);
    let _ = aliyun_rpc::request_params(&req);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(pairs) = aliyun_rpc::parse_params(text) {
            let again = aliyun_rpc::encode_params(&pairs);
            let reparsed = aliyun_rpc::parse_params(&again)
                .unwrap_or_else(|e| panic!("re-encoded query {again:?} does not parse: {e}"));
            assert_same_pairs(pairs, reparsed, "query");
        }
    }
}
