//! Telling the three protocols apart on one port.
//!
//! Rules, first match wins:
//! 1. an `X-Amz-Target` header → AWS JSON 1.1 (Lightsail);
//! 2. an `Authorization: ACS3-…` header, or an `x-acs-action` /
//!    `x-acs-signature-nonce` header → Alibaba RPC (signature V3);
//! 3. an `Authorization: AWS4-…` header → EC2 Query; else Alibaba's signature V1
//!    parameters (`SignatureMethod`, `SignatureNonce`, `SignatureVersion`), which no
//!    EC2 request carries → Alibaba RPC, whatever else its parameters are named;
//!    else `X-Amz-Algorithm` / `X-Amz-Signature` in the query → EC2 Query;
//! 4. `Action` with EC2's API version (`Version=2016-11-15`, which no Alibaba
//!    request carries) → EC2 Query, whatever else its parameters are named (an
//!    unsigned EC2 call with a parameter named `RegionId`);
//!    else any Alibaba common parameter (`SignatureMethod`, `SignatureNonce`,
//!    `SignatureVersion`, `AccessKeyId`, `Timestamp`, `Format`) or `RegionId` in the
//!    query or form body → Alibaba RPC (signature V1, or unsigned);
//! 5. an `Action` parameter → EC2 Query (unsigned: answered with EC2's
//!    missing-authentication error);
//! 6. anything else → a plain `400 Bad Request`.
//!
//! No EC2 parameter is named like an Alibaba marker, and the AWS SDKs never send
//! `x-acs-*` headers, so real clients always land on their own protocol.

use super::limits;
use crate::wire::HttpRequest;

/// Which protocol a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Ec2Query,
    AwsJson,
    AliyunRpc,
    Unknown,
}

/// Alibaba's common parameters; the first three are its signature V1's alone.
const ALIYUN_MARKERS: [&str; 7] = [
    "SignatureMethod",
    "SignatureNonce",
    "SignatureVersion",
    "AccessKeyId",
    "Timestamp",
    "Format",
    "RegionId",
];

/// Which markers the parameter names carry: (`X-Amz-Algorithm`/`X-Amz-Signature`,
/// an Alibaba marker, `Action`, an Alibaba signature V1 parameter). One pass over the query and a form body, comparing
/// decoded names without building any string; a name whose encoding is broken
/// matches nothing (the decoder reports it later). A body over the size limit is
/// not read (the request is refused by size anyway).
fn markers(req: &HttpRequest) -> (bool, bool, bool, bool, bool) {
    let (mut presigned, mut aliyun, mut action, mut signed_v1) = (false, false, false, false);
    let mut ec2_version = false;
    for (name, value) in limits::params(req) {
        ec2_version |= limits::name_is(name, "Version") && value == EC2_VERSION;
        presigned |=
            limits::name_is(name, "X-Amz-Algorithm") || limits::name_is(name, "X-Amz-Signature");
        aliyun |= ALIYUN_MARKERS.iter().any(|m| limits::name_is(name, m));
        signed_v1 |= ALIYUN_MARKERS[..3].iter().any(|m| limits::name_is(name, m));
        action |= limits::name_is(name, "Action");
    }
    (presigned, aliyun, action, signed_v1, ec2_version)
}

/// EC2's API version, as every EC2 Query request names it.
const EC2_VERSION: &str = "2016-11-15";

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
    if auth.starts_with("AWS4-") {
        return Route::Ec2Query;
    }
    match markers(req) {
        (_, _, _, true, _) => Route::AliyunRpc,
        (true, _, _, _, _) => Route::Ec2Query,
        (_, _, true, _, true) => Route::Ec2Query,
        (_, true, _, _, _) => Route::AliyunRpc,
        (_, _, true, _, _) => Route::Ec2Query,
        _ => Route::Unknown,
    }
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

    /// An unsigned EC2 call (Action, EC2's Version) with a parameter named like an
    /// Alibaba common parameter is EC2's: the differential fuzzer sent one and got
    /// Alibaba's JSON, which EC2's decoder cannot read.
    #[test]
    fn an_ec2_call_with_an_alibaba_named_parameter_is_ec2_s() {
        assert_eq!(
            route(&req(
                &[FORM],
                "/",
                "Action=ModifyInstanceMetadataOptions&Version=2016-11-15&RegionId="
            )),
            Route::Ec2Query
        );
        // Alibaba's own calls name their version, not EC2's.
        assert_eq!(
            route(&req(
                &[],
                "/?Action=ModifyInstanceMetadataOptions&Version=2014-05-26&RegionId=cn-hangzhou",
                ""
            )),
            Route::AliyunRpc
        );
    }

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

    /// An Alibaba call signed with signature V1 stays Alibaba's though one of its
    /// parameters is named like an EC2 presigned query's (the differential fuzzer
    /// sent `X-Amz-Signature` among unknown parameters and got EC2's XML answer).
    #[test]
    fn a_signature_v1_call_with_an_aws_named_parameter_is_alibaba_s() {
        assert_eq!(
            route(&req(
                &[],
                "/?Action=ModifyInstanceMetadataOptions&SignatureNonce=n&X-Amz-Signature=",
                ""
            )),
            Route::AliyunRpc
        );
        assert_eq!(
            route(&req(
                &[],
                "/?Action=X&X-Amz-Algorithm=A&X-Amz-Signature=s&RegionId=r",
                ""
            )),
            Route::Ec2Query
        );
    }
}
