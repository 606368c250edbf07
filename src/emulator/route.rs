//! Telling the three protocols apart on one port.
//!
//! Rules, first match wins:
//! 1. an `X-Amz-Target` header → AWS JSON 1.1 (Lightsail);
//! 2. an `Authorization: ACS3-…` header, or an `x-acs-action` /
//!    `x-acs-signature-nonce` header → Alibaba RPC (signature V3);
//! 3. an `Authorization: AWS4-…` header, or `X-Amz-Algorithm` / `X-Amz-Signature` in
//!    the query → EC2 Query;
//! 4. any Alibaba common parameter (`SignatureMethod`, `SignatureNonce`,
//!    `SignatureVersion`, `AccessKeyId`, `Timestamp`, `Format`) or `RegionId` in the
//!    query or form body → Alibaba RPC (signature V1, or unsigned);
//! 5. an `Action` parameter → EC2 Query (unsigned: answered with EC2's
//!    missing-authentication error);
//! 6. anything else → a plain `400 Bad Request`.
//!
//! No EC2 parameter is named like an Alibaba marker, and the AWS SDKs never send
//! `x-acs-*` headers, so real clients always land on their own protocol.

use crate::wire::{aliyun_rpc, HttpRequest, MAX_BODY_BYTES};

/// Which protocol a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Ec2Query,
    AwsJson,
    AliyunRpc,
    Unknown,
}

const ALIYUN_MARKERS: [&str; 7] = [
    "SignatureMethod",
    "SignatureNonce",
    "SignatureVersion",
    "AccessKeyId",
    "Timestamp",
    "Format",
    "RegionId",
];

/// Parameter names of the query and (for form bodies) the body, leniently: a
/// parameter whose encoding is broken is skipped, the decoder reports it later.
/// A body over the size limit is not read (the request is refused by size anyway).
fn param_names(req: &HttpRequest) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        for seg in s.split('&').filter(|s| !s.is_empty()) {
            let k = seg.split_once('=').map(|(k, _)| k).unwrap_or(seg);
            if let Ok(k) = percent_encoding::percent_decode_str(k).decode_utf8() {
                names.push(k.into_owned());
            }
        }
    };
    add(req.query());
    if aliyun_rpc::has_form_body(req) && req.body.len() <= MAX_BODY_BYTES {
        if let Ok(body) = std::str::from_utf8(&req.body) {
            add(body);
        }
    }
    names
}

/// Decide which protocol `req` speaks (see the module docs for the rules).
pub fn route(req: &HttpRequest) -> Route {
    if req.header("X-Amz-Target").is_some() {
        return Route::AwsJson;
    }
    let auth = req.header("Authorization").unwrap_or("").trim_start();
    if auth.starts_with("ACS3-")
        || req.header("x-acs-action").is_some()
        || req.header("x-acs-signature-nonce").is_some()
    {
        return Route::AliyunRpc;
    }
    let names = param_names(req);
    if auth.starts_with("AWS4-")
        || names
            .iter()
            .any(|n| n == "X-Amz-Algorithm" || n == "X-Amz-Signature")
    {
        return Route::Ec2Query;
    }
    if names.iter().any(|n| ALIYUN_MARKERS.contains(&n.as_str())) {
        return Route::AliyunRpc;
    }
    if names.iter().any(|n| n == "Action") {
        return Route::Ec2Query;
    }
    Route::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], pq: &str, body: &str) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            path_and_query: pq.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

    #[test]
    fn rules() {
        assert_eq!(
            route(&req(
                &[("X-Amz-Target", "Lightsail_20161128.GetInstance")],
                "/",
                "{}"
            )),
            Route::AwsJson
        );
        assert_eq!(
            route(&req(
                &[("Authorization", "ACS3-HMAC-SHA256 Credential=x")],
                "/?RegionId=a",
                ""
            )),
            Route::AliyunRpc
        );
        assert_eq!(
            route(&req(
                &[FORM, ("Authorization", "AWS4-HMAC-SHA256 Credential=x")],
                "/",
                "Action=X"
            )),
            Route::Ec2Query
        );
        assert_eq!(
            route(&req(&[], "/?Action=X&SignatureNonce=1&AccessKeyId=k", "")),
            Route::AliyunRpc
        );
        assert_eq!(
            route(&req(
                &[FORM],
                "/",
                "Action=DescribeInstances&RegionId=cn-hangzhou"
            )),
            Route::AliyunRpc
        );
        assert_eq!(
            route(&req(&[FORM], "/", "Action=DescribeInstances")),
            Route::Ec2Query
        );
        assert_eq!(route(&req(&[], "/", "\u{0}garbage")), Route::Unknown);
        assert_eq!(route(&req(&[], "/?%zz", "")), Route::Unknown);
    }
}
