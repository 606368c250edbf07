//! Alibaba Cloud RPC style (ECS `2014-05-26` and friends), both directions.
//!
//! Client side: [`encode_request`] turns a [`Call`] into an unsigned GET or POST
//! (sign it with `aliyun_sign`), [`decode_response`] turns a JSON or XML answer into an
//! [`Outcome`]. Server side (the emulator): [`decode_request`] splits an incoming
//! request into the call and the protocol's common parameters, [`encode_answer`]
//! writes the answer the way the Alibaba gateway does.
//!
//! Parameters are kept as an ordered list everywhere: duplicates, empty values and
//! unicode travel exactly as generated, because the suite must be able to send them.

use serde_json::{Map, Value};

use super::{
    check_size, tree, Answer, Call, DecodeError, EncodeError, Endpoint, HttpRequest, HttpResponse,
    Incoming, Outcome, RawParam, RawValue,
};

/// How an RPC call travels: everything in the query, or the call's parameters in a
/// form body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Parameters in the query string.
    Get,
    /// Parameters in a form body.
    Post,
}

impl Method {
    /// The HTTP method.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Content type of a form body.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// The common parameters (besides `Action` and `Version`) that belong to the
/// protocol, not to the call.
pub const COMMON_PARAMS: [&str; 9] = [
    "Format",
    "AccessKeyId",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "SignatureType",
    "Timestamp",
    "Signature",
    "SecurityToken",
];

/// Host of the error answers the emulator writes, as the ECS gateway names itself.
const HOST_ID: &str = "ecs.aliyuncs.com";

// ---------------------------------------------------------------------------
// Percent-encoding
// ---------------------------------------------------------------------------

/// Alibaba's percent-encoding: `A-Za-z0-9-_.~` stay, every other UTF-8 byte becomes
/// `%XX` (upper-case hex). So space is `%20`, `*` is `%2A`, `~` is kept — unlike
/// `application/x-www-form-urlencoded`, which is why the signature needs its own.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0x0f));
        }
    }
    out
}

fn hex_digit(n: u8) -> char {
    char::from(b"0123456789ABCDEF"[usize::from(n & 0x0f)])
}

/// `k=v&k=v…`, each side percent-encoded, in the given order.
pub fn encode_params(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Parse a query string or form body into ordered `(name, value)` pairs.
///
/// Strict on purpose: a `%` not followed by two hex digits, or bytes that do not
/// decode to UTF-8, are a malformed request rather than something to guess about.
/// `+` is a space (form encoding; our encoder never emits a bare `+`). A segment
/// without `=` is a parameter with an empty value; empty segments are skipped.
pub fn parse_params(s: &str) -> Result<Vec<(String, String)>, DecodeError> {
    super::split_pairs(s, percent_decode)
}

fn percent_decode(s: &str) -> Result<String, DecodeError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|b| hex_value(*b));
                let lo = bytes.get(i + 2).and_then(|b| hex_value(*b));
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push((h << 4) | l),
                    _ => return Err(DecodeError::Request("malformed percent-encoding".into())),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map_err(|_| DecodeError::Request("percent-decoded parameter is not UTF-8".into()))
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Whether a request carries a form body (its parameters count as request parameters
/// for decoding and for the V1 signature).
pub fn has_form_body(req: &HttpRequest) -> bool {
    req.header("content-type")
        .map(|ct| {
            ct.trim()
                .to_ascii_lowercase()
                .starts_with(FORM_CONTENT_TYPE)
        })
        .unwrap_or(false)
}

/// Every request parameter: the query's first, then a form body's, in order.
pub fn request_params(req: &HttpRequest) -> Result<Vec<(String, String)>, DecodeError> {
    let mut params = parse_params(req.query())?;
    if has_form_body(req) {
        check_size(&req.body)?;
        let body = std::str::from_utf8(&req.body).map_err(|_| DecodeError::Utf8)?;
        params.extend(parse_params(body)?);
    }
    Ok(params)
}

// ---------------------------------------------------------------------------
// Client side
// ---------------------------------------------------------------------------

/// Build the unsigned request for `call`. `Action`, `Version` and `Format` go first
/// (always in the query), then the call's parameters in order: in the query for GET,
/// in a form body for POST. An empty `api_version` or `format` is left out, so a
/// case can omit them on purpose.
pub fn encode_request(
    ep: &Endpoint,
    call: &Call,
    method: Method,
) -> Result<HttpRequest, EncodeError> {
    let common = common_params(ep, call);
    let call_params: Vec<(String, String)> = call
        .params
        .iter()
        .map(|p| (p.name.clone(), p.value.as_query_text().to_string()))
        .collect();
    let mut headers = vec![("Host".to_string(), ep.host().to_string())];
    let (query, body) = match method {
        Method::Get => {
            let all: Vec<_> = common.into_iter().chain(call_params).collect();
            (encode_params(&all), Vec::new())
        }
        Method::Post => {
            headers.push(("Content-Type".to_string(), FORM_CONTENT_TYPE.to_string()));
            (
                encode_params(&common),
                encode_params(&call_params).into_bytes(),
            )
        }
    };
    Ok(HttpRequest {
        method: method.as_str().to_string(),
        path_and_query: format!("/?{query}"),
        headers,
        body,
    })
}

fn common_params(ep: &Endpoint, call: &Call) -> Vec<(String, String)> {
    let mut common = vec![("Action".to_string(), call.operation.clone())];
    if !ep.api_version.is_empty() {
        common.push(("Version".to_string(), ep.api_version.clone()));
    }
    if !ep.format.is_empty() {
        common.push(("Format".to_string(), ep.format.clone()));
    }
    common
}

/// Read an answer. The body is sniffed (a first non-space `<` means XML) because the
/// Content-Type header is not trusted. The status alone decides success or error.
/// A success body is the whole answer object (JSON as sent, XML as a tree without its
/// root element), `RequestId` member included.
pub fn decode_response(resp: &HttpResponse) -> Result<Outcome, DecodeError> {
    check_size(&resp.body)?;
    let text = std::str::from_utf8(&resp.body).map_err(|_| DecodeError::Utf8)?;
    let tree = parse_body(text)?;
    if (200..300).contains(&resp.status) {
        Ok(Outcome::Success {
            status: resp.status,
            request_id: string_member(&tree, "RequestId"),
            body: tree,
        })
    } else {
        decode_error(resp.status, &tree)
    }
}

fn parse_body(text: &str) -> Result<Value, DecodeError> {
    if text.trim_start().starts_with('<') {
        let (_root, tree) = tree::parse_xml(text)?;
        // `<XResponse/>` parses to an empty leaf; an answer is always an object.
        match tree {
            Value::String(s) if s.is_empty() => Ok(Value::Object(Map::new())),
            Value::Object(_) => Ok(tree),
            _ => Err(DecodeError::Shape(
                "XML root holds text, not elements".into(),
            )),
        }
    } else {
        let v: Value = serde_json::from_str(text).map_err(|e| DecodeError::Json(e.to_string()))?;
        super::check_nodes(&v)?;
        if v.is_object() {
            Ok(v)
        } else {
            Err(DecodeError::Shape("JSON answer is not an object".into()))
        }
    }
}

fn decode_error(status: u16, tree: &Value) -> Result<Outcome, DecodeError> {
    let code = string_member(tree, "Code")
        .ok_or_else(|| DecodeError::Shape(format!("HTTP {status} answer without a Code")))?;
    Ok(Outcome::Error {
        status,
        code,
        message: string_member(tree, "Message").unwrap_or_default(),
        request_id: string_member(tree, "RequestId"),
    })
}

/// A member as text: strings as they are, numbers and booleans printed (a gateway
/// may send a numeric `Code`), anything else is absent.
fn string_member(tree: &Value, name: &str) -> Option<String> {
    match tree.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Server side
// ---------------------------------------------------------------------------

/// Split an incoming request into the call and the protocol parameters.
///
/// The first `Action` names the operation and the first `Version` the version; every
/// `Action`, `Version` and common parameter (see [`COMMON_PARAMS`]) is also listed in
/// `protocol_params` in arrival order, so nothing a client sent is lost. Everything
/// else, `RegionId` included, is a call parameter. Without an `Action` parameter,
/// the `x-acs-action` / `x-acs-version` headers of a V3-signed request name them.
pub fn decode_request(req: &HttpRequest) -> Result<Incoming, DecodeError> {
    let params = request_params(req)?;
    let mut operation = None;
    let mut version = None;
    let mut call_params = Vec::new();
    let mut protocol_params = Vec::new();
    for (name, value) in params {
        match name.as_str() {
            "Action" => {
                operation.get_or_insert_with(|| value.clone());
                protocol_params.push((name, value));
            }
            "Version" => {
                version.get_or_insert_with(|| value.clone());
                protocol_params.push((name, value));
            }
            n if COMMON_PARAMS.contains(&n) => protocol_params.push((name, value)),
            _ => call_params.push(RawParam {
                name,
                value: RawValue::Text(value),
            }),
        }
    }
    // V3-signed requests (the SDKs' default) name the action and version in headers.
    let operation = operation
        .or_else(|| req.header("x-acs-action").map(str::to_string))
        .ok_or_else(|| DecodeError::Request("missing parameter Action".into()))?;
    let version = version.or_else(|| req.header("x-acs-version").map(str::to_string));
    Ok(Incoming {
        call: Call {
            operation,
            params: call_params,
        },
        version,
        protocol_params,
    })
}

/// Write the answer as the Alibaba gateway would: XML when `format` is `XML` (any
/// case), JSON otherwise.
pub fn encode_answer(operation: &str, format: &str, answer: &Answer) -> HttpResponse {
    let xml = format.eq_ignore_ascii_case("XML");
    let (status, request_id, root, tree) = match answer {
        Answer::Success { request_id, body } => (
            200,
            request_id,
            format!("{operation}Response"),
            success_tree(request_id, body),
        ),
        Answer::Error {
            status,
            code,
            message,
            request_id,
        } => (
            *status,
            request_id,
            "Error".to_string(),
            error_tree(code, message, request_id),
        ),
    };
    let (content_type, body) = if xml {
        (
            "text/xml;charset=utf-8",
            tree::write_xml_with(&root, None, &tree, tree::Lists::Repeated),
        )
    } else {
        ("application/json;charset=utf-8", tree.to_string())
    };
    HttpResponse {
        status,
        headers: vec![
            ("Content-Type".to_string(), content_type.to_string()),
            ("x-acs-request-id".to_string(), request_id.clone()),
        ],
        body: body.into_bytes(),
    }
}

/// `RequestId` first, then the body's members in order. A body member named
/// `RequestId` is dropped (the answer's own id wins); a non-object body is carried
/// as `Data` so it is not silently lost.
fn success_tree(request_id: &str, body: &Value) -> Value {
    let mut map = Map::new();
    map.insert("RequestId".into(), Value::String(request_id.to_string()));
    match body {
        Value::Object(members) => {
            for (k, v) in members.iter().filter(|(k, _)| k.as_str() != "RequestId") {
                map.insert(k.clone(), v.clone());
            }
        }
        Value::Null => {}
        other => {
            map.insert("Data".into(), other.clone());
        }
    }
    Value::Object(map)
}

fn error_tree(code: &str, message: &str, request_id: &str) -> Value {
    let recommend = format!(
        "https://api.aliyun.com/troubleshoot?q={}&product=Ecs&requestId={}",
        percent_encode(code),
        percent_encode(request_id)
    );
    let mut map = Map::new();
    map.insert("RequestId".into(), Value::String(request_id.to_string()));
    map.insert("HostId".into(), Value::String(HOST_ID.to_string()));
    map.insert("Code".into(), Value::String(code.to_string()));
    map.insert("Message".into(), Value::String(message.to_string()));
    map.insert("Recommend".into(), Value::String(recommend));
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_follows_alibaba_rules() {
        assert_eq!(percent_encode("a b*c~d+e/é"), "a%20b%2Ac~d%2Be%2F%C3%A9");
        assert_eq!(percent_encode("-_.~AZaz09"), "-_.~AZaz09");
    }

    #[test]
    fn parse_params_is_strict_about_escapes() {
        assert!(parse_params("a=%2").is_err());
        assert!(parse_params("a=%zz").is_err());
        assert!(parse_params("a=%FF").is_err(), "not UTF-8");
        let p = parse_params("a=1&&b&c=x+y&a=").unwrap();
        let expect = [("a", "1"), ("b", ""), ("c", "x y"), ("a", "")];
        let expect: Vec<_> = expect
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(p, expect);
    }
}
