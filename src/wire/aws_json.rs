//! AWS JSON 1.1 protocol, both directions.
//!
//! Client side: a [`Call`] becomes `POST /` with `X-Amz-Target: {prefix}.{operation}`
//! and a JSON object body written by hand, so parameter order, duplicated keys and
//! wrongly-typed literals reach the target exactly as generated. A JSON answer
//! becomes an [`Outcome`]; the error name comes from `X-Amzn-Errortype`, else
//! `__type`, else `code`, with any `namespace#` prefix and `:uri` suffix removed.
//! Server side (the emulator): the reverse, keeping duplicated members in order.

use std::fmt;

use serde::de::{Deserializer as _, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::{
    check_size, Answer, Call, DecodeError, EncodeError, Endpoint, HttpRequest, HttpResponse,
    Incoming, Outcome, RawParam, RawValue,
};

const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Build the unsigned JSON 1.1 request for `call`.
pub fn encode_request(ep: &Endpoint, call: &Call) -> Result<HttpRequest, EncodeError> {
    if call.operation.is_empty() {
        return Err(EncodeError::Invalid("empty operation name".into()));
    }
    Ok(HttpRequest {
        method: "POST".into(),
        path_and_query: "/".into(),
        headers: vec![
            ("Host".into(), ep.host().to_string()),
            ("Content-Type".into(), JSON_CONTENT_TYPE.into()),
            (
                "X-Amz-Target".into(),
                format!("{}.{}", ep.target_prefix, call.operation),
            ),
        ],
        body: write_object(&call.params).into_bytes(),
    })
}

/// The call's parameters as one JSON object, members in order, duplicates kept.
fn write_object(params: &[RawParam]) -> String {
    let mut out = String::from("{");
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&json_string(&p.name));
        out.push(':');
        match &p.value {
            RawValue::Text(s) => out.push_str(&json_string(s)),
            // Verbatim on purpose: this is how a wrongly-typed value is sent.
            RawValue::Json(lit) => out.push_str(lit),
        }
    }
    out.push('}');
    out
}

fn json_string(s: &str) -> String {
    // Serializing a `&str` cannot fail; the fallback only keeps this panic-free.
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

/// Server side: operation from `X-Amz-Target`, parameters from the body's members.
pub fn decode_request(req: &HttpRequest) -> Result<Incoming, DecodeError> {
    check_size(&req.body)?;
    let target = req
        .header("X-Amz-Target")
        .ok_or_else(|| DecodeError::Request("missing X-Amz-Target".into()))?;
    let (prefix, operation) = target
        .trim()
        .rsplit_once('.')
        .filter(|(_, op)| !op.is_empty())
        .ok_or_else(|| DecodeError::Request(format!("malformed X-Amz-Target {target:?}")))?;
    let members = parse_members(&req.body)?;
    let params = members
        .into_iter()
        .map(|(name, value)| RawParam {
            name,
            value: match value {
                Value::String(s) => RawValue::Text(s),
                other => RawValue::Json(other.to_string()),
            },
        })
        .collect();
    Ok(Incoming {
        call: Call {
            operation: operation.to_string(),
            params,
        },
        version: Some(prefix.to_string()),
        protocol_params: Vec::new(),
    })
}

/// The top-level members of a JSON object body, in document order, duplicates kept.
/// An empty body counts as `{}`.
pub fn parse_members(body: &[u8]) -> Result<Vec<(String, Value)>, DecodeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let members = de
        .deserialize_any(MembersVisitor)
        .map_err(|e| DecodeError::Json(e.to_string()))?;
    de.end().map_err(|e| DecodeError::Json(e.to_string()))?;
    Ok(members)
}

/// Collects an object's members as pairs; `serde_json::Value` would merge duplicates.
struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Vec<(String, Value)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            out.push((k, v));
        }
        Ok(out)
    }
}

/// Client side: turn a JSON 1.1 answer into an [`Outcome`].
pub fn decode_response(resp: &HttpResponse) -> Result<Outcome, DecodeError> {
    check_size(&resp.body)?;
    let request_id = resp.header("x-amzn-requestid").map(str::to_string);
    let body = parse_body(&resp.body)?;
    if (200..300).contains(&resp.status) {
        if !body.is_object() {
            return Err(DecodeError::Shape("success body is not a JSON object".into()));
        }
        return Ok(Outcome::Success {
            status: resp.status,
            request_id,
            body,
        });
    }
    let obj = body
        .as_object()
        .ok_or_else(|| DecodeError::Shape("error body is not a JSON object".into()))?;
    let code = [
        resp.header("X-Amzn-Errortype"),
        string_member(obj, "__type"),
        string_member(obj, "code"),
    ]
    .into_iter()
    .flatten()
    .map(sanitize_error_code)
    .find(|c| !c.is_empty())
    .ok_or_else(|| DecodeError::Shape("error without a type".into()))?;
    let message = string_member(obj, "message")
        .or_else(|| string_member(obj, "Message"))
        .unwrap_or_default()
        .to_string();
    Ok(Outcome::Error {
        status: resp.status,
        code,
        message,
        request_id,
    })
}

fn parse_body(body: &[u8]) -> Result<Value, DecodeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body).map_err(|e| DecodeError::Json(e.to_string()))
}

fn string_member<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    obj.get(name).and_then(Value::as_str)
}

/// `aws.protocoltests.restjson#FooError:http://internal…` → `FooError`.
pub fn sanitize_error_code(raw: &str) -> String {
    let no_uri = raw.split(':').next().unwrap_or(raw);
    let name = no_uri.rsplit('#').next().unwrap_or(no_uri);
    name.trim().to_string()
}

/// Server side: the exact answer a JSON 1.1 service would send for `answer`.
pub fn encode_answer(answer: &Answer) -> HttpResponse {
    match answer {
        Answer::Success { request_id, body } => HttpResponse {
            status: 200,
            headers: vec![
                ("Content-Type".into(), JSON_CONTENT_TYPE.into()),
                ("x-amzn-RequestId".into(), request_id.clone()),
            ],
            body: body.to_string().into_bytes(),
        },
        Answer::Error {
            status,
            code,
            message,
            request_id,
        } => {
            // Lightsail errors carry a `code` member as well as `__type`.
            let body = serde_json::json!({"__type": code, "code": code, "message": message});
            HttpResponse {
                status: *status,
                headers: vec![
                    ("Content-Type".into(), JSON_CONTENT_TYPE.into()),
                    ("x-amzn-RequestId".into(), request_id.clone()),
                    ("X-Amzn-Errortype".into(), code.clone()),
                ],
                body: body.to_string().into_bytes(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_literals_survive() {
        let members = parse_members(br#"{"a":"x","a":1,"b":{"c":[true,null]}}"#).unwrap();
        assert_eq!(members.len(), 3);
        assert_eq!(members[1].1, serde_json::json!(1));
        assert!(parse_members(b"[1]").is_err());
        assert!(parse_members(b"{} {}").is_err());
    }

    #[test]
    fn error_names_are_sanitized() {
        assert_eq!(
            sanitize_error_code("aws.protocoltests.restjson#FooError:http://internal.amazon.com/x/"),
            "FooError"
        );
        assert_eq!(sanitize_error_code("FooError"), "FooError");
    }
}
