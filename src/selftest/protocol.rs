//! The server side of the wire for a model target, by the table's protocol and
//! signing scheme: decode a request, check its signature, encode an answer. The
//! same `wire` modules the engine uses from the client side; the only place in
//! this room that dispatches on a protocol.

use std::time::{Duration, SystemTime};

use crate::oracle::Auth;
use crate::wire::{
    aliyun_rpc, aliyun_sign, aws_json, ec2_query, sigv4, Answer, AuthError, DecodeError,
    HttpRequest, HttpResponse, Incoming, Protocol, Secret, SigningScheme,
};

pub use crate::wire::aliyun_sign::NonceCache;

/// The allowed clock skew of a signed request.
const MAX_SKEW: Duration = Duration::from_secs(300);

/// The protocol carries integers and booleans as JSON literals (not as text).
pub fn json_literals(protocol: Protocol) -> bool {
    protocol == Protocol::AwsJson11
}

/// Decode a request of `protocol`.
pub fn decode(protocol: Protocol, req: &HttpRequest) -> Result<Incoming, DecodeError> {
    match protocol {
        Protocol::Ec2Query => ec2_query::decode_request(req),
        Protocol::AwsJson11 => aws_json::decode_request(req),
        Protocol::AliyunRpc => aliyun_rpc::decode_request(req),
    }
}

/// Encode `answer` to `operation` as `protocol` does. `format` is the answer format
/// a protocol that lets the caller choose was asked for (`JSON`, `XML`).
pub fn encode(
    protocol: Protocol,
    operation: &str,
    api_version: &str,
    format: &str,
    answer: &Answer,
) -> HttpResponse {
    match protocol {
        Protocol::Ec2Query => ec2_query::encode_answer(operation, api_version, answer),
        Protocol::AwsJson11 => aws_json::encode_answer(answer),
        Protocol::AliyunRpc => aliyun_rpc::encode_answer(operation, format, answer),
    }
}

/// The answer format asked for in the request's protocol parameters (`Format`).
pub fn format(incoming: &Incoming) -> String {
    incoming
        .protocol_params
        .iter()
        .find(|(k, _)| k == "Format")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "JSON".into())
}

/// Check the signature of `req`; the result as the oracle names it. `fresh` says
/// whether a nonce is new (and remembers it).
pub fn verify(
    scheme: SigningScheme,
    req: &HttpRequest,
    secret_for: &dyn Fn(&str) -> Option<Secret>,
    now: SystemTime,
    fresh: &mut dyn FnMut(&str) -> bool,
) -> Auth {
    let checked = match scheme {
        SigningScheme::Sigv4 => sigv4::verify(req, secret_for, now, MAX_SKEW).map(|_| ()),
        SigningScheme::AliyunV1 | SigningScheme::AliyunV3 => {
            aliyun_sign::verify(req, secret_for, now, MAX_SKEW, fresh).map(|_| ())
        }
    };
    match checked {
        Ok(()) => Auth::Valid,
        Err(AuthError::Missing) => Auth::Unsigned,
        Err(AuthError::Malformed(_) | AuthError::SignatureMismatch) => Auth::BadSignature,
        Err(AuthError::UnknownAccessKey) => Auth::UnknownAccessKey,
        Err(AuthError::Expired) => Auth::Expired,
        Err(AuthError::NonceReused) => Auth::NonceReused,
    }
}
