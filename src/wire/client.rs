//! Client-side dispatch by protocol and signing scheme: encode a call, sign it,
//! decode the answer. The engine calls these; it never names a protocol module.

use std::time::SystemTime;

use super::{
    aliyun_rpc, aliyun_sign, aws_json, ec2_query, sigv4, Call, Credentials, DecodeError,
    EncodeError, Endpoint, HttpRequest, HttpResponse, Outcome, Protocol, SigningScheme,
};

/// Encode `call` for `protocol` (Alibaba RPC as a GET, as the docs' samples are).
pub fn encode(protocol: Protocol, ep: &Endpoint, call: &Call) -> Result<HttpRequest, EncodeError> {
    match protocol {
        Protocol::Ec2Query => ec2_query::encode_request(ep, call),
        Protocol::AwsJson11 => aws_json::encode_request(ep, call),
        Protocol::AliyunRpc => aliyun_rpc::encode_request(ep, call, aliyun_rpc::Method::Get),
    }
}

/// Sign `req` in place. `nonce` is used by the Alibaba schemes only.
pub fn sign(
    scheme: SigningScheme,
    req: &mut HttpRequest,
    ep: &Endpoint,
    creds: &Credentials,
    time: SystemTime,
    nonce: &str,
) -> Result<(), EncodeError> {
    match scheme {
        SigningScheme::Sigv4 => sigv4::sign(req, ep, creds, time),
        SigningScheme::AliyunV1 => aliyun_sign::sign_v1(req, creds, time, nonce),
        SigningScheme::AliyunV3 => aliyun_sign::sign_v3(req, creds, time, nonce),
    }
}

/// Decode an answer of `protocol`.
pub fn decode(protocol: Protocol, resp: &HttpResponse) -> Result<Outcome, DecodeError> {
    match protocol {
        Protocol::Ec2Query => ec2_query::decode_response(resp),
        Protocol::AwsJson11 => aws_json::decode_response(resp),
        Protocol::AliyunRpc => aliyun_rpc::decode_response(resp),
    }
}

/// Where the signature sits, so a test can spoil exactly one character of it.
pub fn corrupt_signature(scheme: SigningScheme, req: &mut HttpRequest) -> bool {
    fn flip(c: char) -> char {
        match c {
            'a' => 'b',
            'A' => 'B',
            '0' => '1',
            _ => 'a',
        }
    }
    match scheme {
        SigningScheme::Sigv4 | SigningScheme::AliyunV3 => {
            let Some(auth) = req.header("Authorization").map(str::to_string) else {
                return false;
            };
            let Some(at) = auth.rfind("Signature=") else {
                return false;
            };
            let i = at + "Signature=".len();
            let mut chars: Vec<char> = auth.chars().collect();
            let Some(c) = chars.get_mut(i) else {
                return false;
            };
            *c = flip(*c);
            req.set_header("Authorization", chars.into_iter().collect::<String>());
            true
        }
        SigningScheme::AliyunV1 => {
            let Some(at) = req.path_and_query.find("Signature=") else {
                return false;
            };
            let i = at + "Signature=".len();
            let mut bytes = req.path_and_query.clone().into_bytes();
            let Some(b) = bytes.get_mut(i) else {
                return false;
            };
            *b = flip(*b as char) as u8;
            match String::from_utf8(bytes) {
                Ok(s) => {
                    req.path_and_query = s;
                    true
                }
                Err(_) => false,
            }
        }
    }
}
