//! Authentication errors the way each service answers them: a failed SigV4 or
//! Alibaba signature check ([`AuthError`]) becomes the protocol's own error code,
//! HTTP status and message.
//!
//! The codes come from the EC2 common-errors page, the AWS JSON (Coral) services'
//! usual answers and the Alibaba API error center; several statuses and every
//! message are not documented for these exact APIs and are marked `UNDOCUMENTED`.
//! docs/emulator.md lists them.

use std::time::{Duration, SystemTime};

use crate::wire::AuthError;

/// (status, code, message).
pub type AuthAnswer = (u16, &'static str, String);

const AWS_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// A malformed SigV4 signature, answered with `code` by both AWS protocols.
fn not_aws_standard(code: &'static str, why: &str) -> AuthAnswer {
    (
        400,
        code,
        format!("The request signature does not conform to AWS standards: {why}"),
    )
}

/// EC2 Query. UNDOCUMENTED statuses beyond SPEC-FACTS: `IncompleteSignature` 400.
pub fn ec2(e: &AuthError) -> AuthAnswer {
    match e {
        AuthError::Missing => (
            401,
            "MissingAuthenticationToken",
            "The request must contain either a valid (registered) AWS access key ID or X.509 certificate.".into(),
        ),
        AuthError::Malformed(why) => not_aws_standard("IncompleteSignature", why),
        AuthError::UnknownAccessKey => (
            401,
            "AuthFailure",
            "AWS was not able to validate the provided access credentials".into(),
        ),
        AuthError::SignatureMismatch | AuthError::NonceReused => {
            (403, "SignatureDoesNotMatch", AWS_MISMATCH.into())
        }
        AuthError::Expired => (400, "RequestExpired", "Request has expired.".into()),
    }
}

/// A request signed for another service.
pub fn ec2_wrong_service() -> AuthAnswer {
    (
        403,
        "SignatureDoesNotMatch",
        "Credential should be scoped to correct service: 'ec2'. ".into(),
    )
}

/// AWS JSON 1.1 (Lightsail): the Coral framework's exceptions, all 400.
/// `signed_at` is the request's `X-Amz-Date` for the expiry message.
pub fn aws_json(e: &AuthError, signed_at: Option<&str>, now: SystemTime) -> AuthAnswer {
    match e {
        AuthError::Missing => (
            400,
            "MissingAuthenticationTokenException",
            "Request is missing Authentication Token".into(),
        ),
        AuthError::Malformed(why) => not_aws_standard("IncompleteSignatureException", why),
        AuthError::UnknownAccessKey => (
            400,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.".into(),
        ),
        AuthError::SignatureMismatch | AuthError::NonceReused => {
            (400, "InvalidSignatureException", AWS_MISMATCH.into())
        }
        AuthError::Expired => {
            let fmt = |t: SystemTime| super::utc(t, "%Y%m%dT%H%M%SZ");
            let earliest = now
                .checked_sub(Duration::from_secs(300))
                .unwrap_or(SystemTime::UNIX_EPOCH);
            (
                400,
                "InvalidSignatureException",
                format!(
                    "Signature expired: {} is now earlier than {} ({} - 5 min.)",
                    signed_at.unwrap_or("(no date)"),
                    fmt(earliest),
                    fmt(now)
                ),
            )
        }
    }
}

pub fn aws_json_wrong_service() -> AuthAnswer {
    (
        400,
        "InvalidSignatureException",
        "Credential should be scoped to correct service: 'lightsail'. ".into(),
    )
}

/// Alibaba RPC gateway.
pub fn aliyun(e: &AuthError) -> AuthAnswer {
    match e {
        // UNDOCUMENTED: an unsigned request is answered as a missing AccessKeyId.
        AuthError::Missing => (
            400,
            "MissingParameter",
            "The input parameter \"AccessKeyId\" that is mandatory for processing this request is not supplied.".into(),
        ),
        // UNDOCUMENTED: malformed signature parameters/header.
        AuthError::Malformed(why) => (
            400,
            "IncompleteSignature",
            format!("The request signature does not conform to Aliyun standards. {why}"),
        ),
        AuthError::UnknownAccessKey => (
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.".into(),
        ),
        AuthError::SignatureMismatch => (
            400,
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation.".into(),
        ),
        AuthError::Expired => (
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.".into(),
        ),
        AuthError::NonceReused => (
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.".into(),
        ),
    }
}
