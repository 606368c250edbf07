//! Wire protocols, both directions, and request signing.
//!
//! One module per protocol (`ec2_query`, `aws_json`, `aliyun_rpc`) turns a [`Call`]
//! into an [`HttpRequest`] and an [`HttpResponse`] into an [`Outcome`] (client side),
//! and an incoming [`HttpRequest`] into a [`Call`] and an [`Answer`] into an
//! [`HttpResponse`] (server side, for the emulator). Signing lives in `sigv4` and
//! `aliyun_sign`. Nothing here knows an API's parameters: the operation name, API
//! version, signing name and target prefix arrive in a [`Endpoint`] built from the
//! spec table. Everything is pure: time and nonces are passed in.

pub mod aliyun_rpc;
pub mod aliyun_sign;
pub mod aws_json;
pub mod client;
pub mod credentials;
pub mod ec2_query;
pub mod sigv4;
pub mod tree;

pub use credentials::{Credentials, Secret};

use serde::{Deserialize, Serialize};

/// Largest response or request body any decoder accepts; larger bodies are refused
/// before parsing so a hostile peer cannot make us allocate without bound.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Most values (XML elements; JSON objects, arrays, strings, numbers…) a decoded
/// answer may hold; one holding more is refused. A real answer holds a few hundred
/// (a read-back of one instance); without a bound a hostile 1 MiB answer of 250 000
/// empty elements decoded to a tree some twenty times its size, kept with every
/// failing case (12 GB of memory over one coverage phase).
pub const MAX_NODES: usize = 10_000;

/// `Err` when `v` holds more than [`MAX_NODES`] values (itself included).
pub fn check_nodes(v: &serde_json::Value) -> Result<(), DecodeError> {
    let mut seen = 0usize;
    let mut pending = vec![v];
    while let Some(v) = pending.pop() {
        seen += 1;
        if seen > MAX_NODES {
            return Err(DecodeError::Shape(format!(
                "more than {MAX_NODES} values in the answer"
            )));
        }
        match v {
            serde_json::Value::Array(items) => pending.extend(items),
            serde_json::Value::Object(members) => pending.extend(members.values()),
            _ => {}
        }
    }
    Ok(())
}

/// The wire protocols imds-conform speaks. The spec table names one per API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// EC2 Query: form-encoded POST, XML answers.
    Ec2Query,
    /// AWS JSON 1.1 with `X-Amz-Target`.
    #[serde(rename = "aws-json-1.1")]
    AwsJson11,
    /// Alibaba Cloud RPC style: query parameters, JSON or XML answers.
    AliyunRpc,
}

impl Protocol {
    /// Does the request body carry typed values (a JSON document), so that a
    /// number, a boolean or `null` differs from the same text in a string? Query
    /// protocols carry every value as text.
    pub fn typed_values(self) -> bool {
        match self {
            Protocol::AwsJson11 => true,
            Protocol::Ec2Query | Protocol::AliyunRpc => false,
        }
    }

    /// The protocol's answers as a person names them (`EC2 Query XML`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Ec2Query => "EC2 Query XML",
            Protocol::AwsJson11 => "AWS JSON 1.1",
            Protocol::AliyunRpc => "Alibaba RPC JSON/XML",
        }
    }

    /// Where the protocol's answer format is stated, as a citation line.
    pub fn source(self) -> &'static str {
        match self {
            Protocol::Ec2Query => "[documented] SPEC-FACTS.md: \"Errors: HTTP 4xx, body `<Response><Errors><Error><Code>C</Code><Message>M</Message></Error></Errors><RequestID>R</RequestID></Response>`\"",
            Protocol::AwsJson11 => "[documented] SPEC-FACTS.md: \"Errors: body `{\"__type\": \"...\", \"code\": ..., \"docs\": ..., \"message\": ..., \"tip\": ...}`\"",
            Protocol::AliyunRpc => "[documented] SPEC-FACTS.md: \"Errors: `{\"RequestId\",\"HostId\",\"Code\",\"Message\"}` (+ `Recommend` on newer gateways; key order not stable) or `<Error>…</Error>`\"",
        }
    }
}

/// The signing schemes. The spec table names one per API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SigningScheme {
    /// AWS Signature Version 4 (header-based).
    Sigv4,
    /// Alibaba Cloud signature V1: HMAC-SHA1 over the sorted query.
    AliyunV1,
    /// Alibaba Cloud signature V3: ACS3-HMAC-SHA256 in the Authorization header.
    AliyunV3,
}

/// A raw parameter value, sent exactly as generated.
///
/// Query protocols send both kinds as text. AWS JSON sends `Text` as a JSON string
/// and `Json` verbatim (a number, `true`, `null`, an object…), which is how a
/// wrongly-typed value such as `"abc"` for an integer member is produced.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum RawValue {
    /// Sent as a string (query protocols: as is).
    Text(String),
    /// A raw JSON literal (number, `true`, `null`, object…), sent verbatim by JSON protocols and as text by query protocols.
    Json(String),
}

impl RawValue {
    /// A text value.
    pub fn text(s: impl Into<String>) -> Self {
        RawValue::Text(s.into())
    }

    /// The value as it travels in a query string or form body.
    pub fn as_query_text(&self) -> &str {
        match self {
            RawValue::Text(s) | RawValue::Json(s) => s,
        }
    }
}

/// One request parameter as generated: unknown, duplicated, empty and wrongly-typed
/// parameters are all representable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RawParam {
    /// The name, exactly as sent.
    pub name: String,
    /// The value, exactly as sent.
    pub value: RawValue,
}

impl RawParam {
    /// A parameter with a text value.
    pub fn text(name: impl Into<String>, value: impl Into<String>) -> Self {
        RawParam {
            name: name.into(),
            value: RawValue::Text(value.into()),
        }
    }
    /// A parameter with a raw JSON literal.
    pub fn json(name: impl Into<String>, literal: impl Into<String>) -> Self {
        RawParam {
            name: name.into(),
            value: RawValue::Json(literal.into()),
        }
    }
}

/// A call: an operation and its parameters, in order. Protocol-level parameters
/// (`Action`, `Version`, signatures…) are added by the encoder, not listed here.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Call {
    /// The operation (`ModifyInstanceMetadataOptions`).
    pub operation: String,
    /// The parameters, in order, duplicates kept.
    pub params: Vec<RawParam>,
}

impl Call {
    /// A call of `operation` without parameters.
    pub fn new(operation: impl Into<String>) -> Self {
        Call {
            operation: operation.into(),
            params: Vec::new(),
        }
    }

    /// This call with one more text parameter.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push(RawParam::text(name, value));
        self
    }

    /// All values given for `name`, in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a RawValue> + 'a {
        self.params
            .iter()
            .filter(move |p| p.name == name)
            .map(|p| &p.value)
    }

    /// The first value given for `name`.
    pub fn get(&self, name: &str) -> Option<&RawValue> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .map(|p| &p.value)
    }
}

/// Where and how to reach one API: everything a protocol module needs that is not
/// in the call. Built from the spec table's `[api]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// `http://127.0.0.1:8080` or `https://ec2.us-east-1.amazonaws.com`, no trailing `/`.
    pub url: String,
    /// The region requests are signed for (and Alibaba's `RegionId` default).
    pub region: String,
    /// The API version the protocol sends.
    pub api_version: String,
    /// SigV4 signing name (`ec2`, `lightsail`); unused by Alibaba.
    pub signing_name: String,
    /// AWS JSON target prefix (`Lightsail_20161128`); unused elsewhere.
    pub target_prefix: String,
    /// Alibaba `Format`: `JSON` or `XML`; unused elsewhere.
    pub format: String,
}

impl Endpoint {
    /// The `Host` header value for this endpoint: the URL's host and port, without
    /// its userinfo (`user:password@`, which is no part of a `Host` header and would
    /// carry a password onto the wire and into every recorded request).
    pub fn host(&self) -> &str {
        let rest = self
            .url
            .split_once("://")
            .map(|(_, r)| r)
            .unwrap_or(&self.url);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
        authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host)
    }
}

/// An HTTP request as bytes and strings, independent of any HTTP library. Its
/// `Debug` hides signatures, tokens and key ids, so a request can be logged.
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct HttpRequest {
    /// `GET`, `POST`…
    pub method: String,
    /// Path plus `?query` if any, exactly as sent (already percent-encoded).
    pub path_and_query: String,
    /// Header names as sent; lookups are case-insensitive.
    pub headers: Vec<(String, String)>,
    /// The body, exactly as sent.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A `POST /` to `ep`'s host carrying `body` as `content_type`, as the AWS
    /// protocols send every call.
    pub fn post_root(ep: &Endpoint, content_type: &str, body: Vec<u8>) -> Self {
        HttpRequest {
            method: "POST".into(),
            path_and_query: "/".into(),
            headers: vec![
                ("Host".into(), ep.host().to_string()),
                ("Content-Type".into(), content_type.into()),
            ],
            body,
        }
    }

    /// The request of an `http` library (axum, hyper) with this body: method,
    /// path and query as sent (`/` when the URI has none), headers in order.
    pub fn from_parts(parts: &http::request::Parts, body: Vec<u8>) -> Self {
        HttpRequest {
            method: parts.method.as_str().to_string(),
            path_and_query: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".into(), |pq| pq.as_str().to_string()),
            headers: header_pairs(&parts.headers),
            body,
        }
    }
}

/// Headers as text pairs, in order (values that are not UTF-8 made readable,
/// not dropped).
pub fn header_pairs(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hide = |pairs: &str| credentials::mask_secret_params(pairs, "***");
        let path = match self.path_and_query.split_once('?') {
            Some((p, q)) => format!("{p}?{}", hide(q)),
            None => self.path_and_query.clone(),
        };
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let secret = credentials::SECRET_HEADERS.contains(&k.to_ascii_lowercase().as_str());
                (k.as_str(), if secret { "***" } else { v.as_str() })
            })
            .collect();
        let body = String::from_utf8_lossy(&self.body);
        let body = if body.contains('=') && !body.trim_start().starts_with(['{', '<']) {
            hide(&body)
        } else {
            body.into_owned()
        };
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("path_and_query", &path)
            .field("headers", &headers)
            .field("body", &body)
            .finish()
    }
}

/// An HTTP response as bytes and strings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// Header names as received; lookups are case-insensitive.
    pub headers: Vec<(String, String)>,
    /// The body, exactly as received.
    pub body: Vec<u8>,
}

fn header_lookup<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl HttpRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_lookup(&self.headers, name)
    }
    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.path_and_query
            .split_once('?')
            .map(|(p, _)| p)
            .unwrap_or(&self.path_and_query)
    }
    /// The query string, without `?` (empty when there is none).
    pub fn query(&self) -> &str {
        self.path_and_query
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or("")
    }
    /// Replace (or add) a header, keeping the position of the first one.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value));
    }
}

impl HttpResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_lookup(&self.headers, name)
    }
}

/// What a target answered, normalized across protocols.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Outcome {
    /// A 2xx answer. `body` is the answer as a tree (see [`tree`]): XML elements become
    /// object members, repeated elements and `item`/`member` lists become arrays, text
    /// stays text; JSON stays as it was. The root element (XML) is dropped.
    Success {
        /// The HTTP status (2xx).
        status: u16,
        /// The request id the answer carries, if any.
        request_id: Option<String>,
        /// The answer's members as a JSON tree (XML answers converted).
        body: serde_json::Value,
    },
    /// A non-2xx answer with the protocol's error code.
    Error {
        /// The HTTP status.
        status: u16,
        /// The error code.
        code: String,
        /// The error message (may be empty).
        message: String,
        /// The request id the answer carries, if any.
        request_id: Option<String>,
    },
}

impl Outcome {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Outcome::Success { status, .. } | Outcome::Error { status, .. } => *status,
        }
    }
    /// The request id the answer carries, if any.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Outcome::Success { request_id, .. } | Outcome::Error { request_id, .. } => {
                request_id.as_deref()
            }
        }
    }
}

/// What the server side (the emulator) wants to answer; the protocol module turns it
/// into the protocol's exact response.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Success: `body` members in order (a JSON object; for XML protocols each member
    /// becomes an element, arrays become `<item>` lists).
    Success {
        /// The request id the answer carries.
        request_id: String,
        /// The answer's members.
        body: serde_json::Value,
    },
    /// An error answer.
    Error {
        /// The HTTP status.
        status: u16,
        /// The error code.
        code: String,
        /// The error message.
        message: String,
        /// The request id the answer carries.
        request_id: String,
    },
}

impl Answer {
    /// The HTTP status the answer is sent with.
    pub fn status(&self) -> u16 {
        match self {
            Answer::Success { .. } => 200,
            Answer::Error { status, .. } => *status,
        }
    }

    /// The request id the answer carries.
    pub fn request_id(&self) -> &str {
        match self {
            Answer::Success { request_id, .. } | Answer::Error { request_id, .. } => request_id,
        }
    }
}

/// A request decoded on the server side: the call, plus the protocol-level
/// parameters that are not part of it (`Action`, `Version`, `Format`, `AccessKeyId`,
/// `Signature`, `X-Amz-*`…), in the order they came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The call: the operation and its parameters.
    pub call: Call,
    /// The API version the client asked for, where the protocol carries one.
    pub version: Option<String>,
    /// Protocol-level parameters (`Action`, `Version`, signatures…), in order.
    pub protocol_params: Vec<(String, String)>,
}

/// Who signed a request that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAuth {
    /// The access key id that signed.
    pub access_key_id: String,
    /// SigV4 credential-scope region and service; empty for Alibaba.
    pub region: String,
    /// SigV4 credential-scope service; empty for Alibaba.
    pub service: String,
}

/// Why a body could not be decoded. Never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The body is over the size limit.
    #[error("body of {size} bytes is over the {limit}-byte limit")]
    TooLarge {
        /// The body's size in bytes.
        size: usize,
        /// The limit ([`MAX_BODY_BYTES`]).
        limit: usize,
    },
    /// The XML does not parse.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// The JSON does not parse.
    #[error("malformed JSON: {0}")]
    Json(String),
    /// The body is not UTF-8.
    #[error("body is not valid UTF-8")]
    Utf8,
    /// The answer parses but is not the protocol's shape.
    #[error("unexpected answer shape: {0}")]
    Shape(String),
    /// A request the server side cannot read.
    #[error("malformed request: {0}")]
    Request(String),
}

/// Why a request could not be encoded (for example a parameter name that cannot be
/// carried by the protocol).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Why, in words.
    #[error("cannot encode request: {0}")]
    Invalid(String),
}

/// Why a server-side signature check failed. Each maps to the protocol's own
/// authentication error in the emulator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No signature at all.
    #[error("the request is not signed")]
    Missing,
    /// A signature that cannot be read.
    #[error("the signature is malformed: {0}")]
    Malformed(String),
    /// The access key id is unknown.
    #[error("unknown access key id")]
    UnknownAccessKey,
    /// The signature does not match.
    #[error("the signature does not match")]
    SignatureMismatch,
    /// The request time is outside the allowed skew.
    #[error("the request timestamp is outside the allowed skew")]
    Expired,
    /// An Alibaba nonce was used before.
    #[error("the signature nonce was already used")]
    NonceReused,
}

/// Refuse bodies over [`MAX_BODY_BYTES`].
pub fn check_size(body: &[u8]) -> Result<(), DecodeError> {
    if body.len() > MAX_BODY_BYTES {
        Err(DecodeError::TooLarge {
            size: body.len(),
            limit: MAX_BODY_BYTES,
        })
    } else {
        Ok(())
    }
}

/// `s` (a form body or query string) split at `&` into `(name, value)` pairs, each
/// side decoded with the protocol's `decode`, in order: a segment without `=` is a
/// name with an empty value; empty segments are skipped.
fn split_pairs(
    s: &str,
    decode: fn(&str) -> Result<String, DecodeError>,
) -> Result<Vec<(String, String)>, DecodeError> {
    s.split('&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| {
            let (k, v) = seg.split_once('=').unwrap_or((seg, ""));
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}
