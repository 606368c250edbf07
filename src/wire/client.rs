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

/// Whether `scheme`'s signature depends on the request and the second it is made
/// in, and on nothing else (no nonce): two alike requests signed in the same second
/// by the same credentials carry the same signature. SigV4's time is `X-Amz-Date`, to
/// the second; the Alibaba schemes sign a fresh nonce each time.
pub fn signs_alike_within_a_second(scheme: SigningScheme) -> bool {
    match scheme {
        SigningScheme::Sigv4 => true,
        SigningScheme::AliyunV1 | SigningScheme::AliyunV3 => false,
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

/// Headers a signer computes or that carry credentials, over every scheme
/// (lower-case): a reproducer leaves them out and lets its tool add its own.
pub const SIGNING_HEADERS: &[&str] = &[
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "x-acs-signature",
    "x-acs-security-token",
];

/// How `curl` signs a request of some scheme, for reproducers: the option and its
/// value, and the header a session token travels in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurlSigning {
    /// The curl option, e.g. `--aws-sigv4`.
    pub option: &'static str,
    /// Its value: provider, region and signing name.
    pub value: String,
    /// The header carrying a session token, when the credentials have one.
    pub token_header: &'static str,
}

impl SigningScheme {
    /// How curl signs this scheme for `signing_name` in `region`; `None` when curl
    /// cannot produce its signatures.
    pub fn curl(self, signing_name: &str, region: &str) -> Option<CurlSigning> {
        match self {
            SigningScheme::Sigv4 => Some(CurlSigning {
                option: "--aws-sigv4",
                value: format!("aws:amz:{region}:{signing_name}"),
                token_header: "x-amz-security-token",
            }),
            SigningScheme::AliyunV1 | SigningScheme::AliyunV3 => None,
        }
    }

    /// The scheme in words, for reproducers and messages.
    pub fn title(self) -> &'static str {
        match self {
            SigningScheme::Sigv4 => "AWS Signature Version 4",
            SigningScheme::AliyunV1 | SigningScheme::AliyunV3 => {
                "Alibaba Cloud signatures (V1 query signatures, V3 ACS3-HMAC-SHA256)"
            }
        }
    }

    /// The scheme an `Authorization` header value was signed with, by its first
    /// word; `None` for a scheme that signs elsewhere or an unknown word.
    pub fn of_authorization(value: &str) -> Option<SigningScheme> {
        match value.split_whitespace().next()? {
            sigv4::ALGORITHM => Some(SigningScheme::Sigv4),
            aliyun_sign::V3_ALGORITHM => Some(SigningScheme::AliyunV3),
            _ => None,
        }
    }
}
