//! AWS JSON 1.1 protocol, both directions.
//!
//! Client side: a [`Call`] becomes `POST /` with `X-Amz-Target: {prefix}.{operation}`
//! and a JSON object body written by hand, so parameter order, duplicated keys and
//! wrongly-typed literals reach the target exactly as generated. A JSON answer
//! becomes an [`Outcome`]; the error name comes from `X-Amzn-Errortype`, else
//! `__type`, else `code`, with any `namespace#` prefix and `:uri` suffix removed.
//! Server side (the emulator): the reverse, keeping duplicated members in order.

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
    let mut req = HttpRequest::post_root(
        ep,
        JSON_CONTENT_TYPE,
        write_object(&call.params).into_bytes(),
    );
    req.headers.push((
        "X-Amz-Target".into(),
        format!("{}.{}", ep.target_prefix, call.operation),
    ));
    Ok(req)
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
    let params = parse_params(&req.body)?;
    Ok(Incoming {
        call: Call {
            operation: operation.to_string(),
            params,
        },
        version: Some(prefix.to_string()),
        protocol_params: Vec::new(),
    })
}

/// The top-level members of a JSON object body as parameters, in document order,
/// duplicates kept. An empty body counts as `{}`.
///
/// `serde_json::Value` would merge duplicated keys and re-print numbers (changing
/// the digits of some floats), so the top level is scanned here and each member
/// value is parsed on its own; numbers keep their exact source text, nested arrays
/// and objects are re-printed compactly.
pub fn parse_params(body: &[u8]) -> Result<Vec<RawParam>, DecodeError> {
    let mut s = Scanner { bytes: body, at: 0 };
    s.skip_ws();
    if s.at_end() {
        return Ok(Vec::new());
    }
    s.expect(b'{')?;
    let mut out = Vec::new();
    s.skip_ws();
    if !s.eat(b'}') {
        loop {
            s.skip_ws();
            let (name, _) = s.value::<String>()?;
            s.skip_ws();
            s.expect(b':')?;
            s.skip_ws();
            let (value, raw) = s.value::<Value>()?;
            out.push(RawParam {
                name,
                value: raw_value(value, raw),
            });
            s.skip_ws();
            if s.eat(b',') {
                continue;
            }
            s.expect(b'}')?;
            break;
        }
    }
    s.skip_ws();
    if !s.at_end() {
        return Err(DecodeError::Json(
            "trailing characters after the object".into(),
        ));
    }
    Ok(out)
}

fn raw_value(value: Value, raw: &[u8]) -> RawValue {
    match value {
        Value::String(s) => RawValue::Text(s),
        // A number's source text is ASCII; the fallback cannot really happen.
        Value::Number(n) => RawValue::Json(
            std::str::from_utf8(raw)
                .map(str::to_string)
                .unwrap_or_else(|_| n.to_string()),
        ),
        other => RawValue::Json(other.to_string()),
    }
}

/// A cursor over the top level of a JSON document.
struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn at_end(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn skip_ws(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), DecodeError> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(DecodeError::Json(format!(
                "expected '{}' at byte {}",
                char::from(byte),
                self.at
            )))
        }
    }

    /// Parse one JSON value here; return it and its exact source bytes.
    fn value<T: serde::de::DeserializeOwned>(&mut self) -> Result<(T, &'a [u8]), DecodeError> {
        let rest = &self.bytes[self.at..];
        let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<T>();
        match stream.next() {
            Some(Ok(v)) => {
                let len = stream.byte_offset();
                self.at += len;
                Ok((v, &rest[..len]))
            }
            Some(Err(e)) => Err(DecodeError::Json(e.to_string())),
            None => Err(DecodeError::Json("unexpected end of input".into())),
        }
    }
}

/// Client side: turn a JSON 1.1 answer into an [`Outcome`].
pub fn decode_response(resp: &HttpResponse) -> Result<Outcome, DecodeError> {
    check_size(&resp.body)?;
    let request_id = resp.header("x-amzn-requestid").map(str::to_string);
    let body = parse_body(&resp.body)?;
    super::check_nodes(&body)?;
    if (200..300).contains(&resp.status) {
        if !body.is_object() {
            return Err(DecodeError::Shape(
                "success body is not a JSON object".into(),
            ));
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
    let (body, error_type) = match answer {
        Answer::Success { body, .. } => (body.to_string(), None),
        // Lightsail errors carry a `code` member as well as `__type`.
        Answer::Error { code, message, .. } => (
            serde_json::json!({"__type": code, "code": code, "message": message}).to_string(),
            Some(code),
        ),
    };
    let mut headers = vec![
        ("Content-Type".into(), JSON_CONTENT_TYPE.into()),
        ("x-amzn-RequestId".into(), answer.request_id().to_string()),
    ];
    if let Some(code) = error_type {
        headers.push(("X-Amzn-Errortype".into(), code.clone()));
    }
    HttpResponse {
        status: answer.status(),
        headers,
        body: body.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_literals_survive() {
        let params = parse_params(br#" { "a" : "x","a":1.40e2 ,"b":{"c":[true, null]}} "#).unwrap();
        assert_eq!(
            params,
            vec![
                RawParam::text("a", "x"),
                RawParam::json("a", "1.40e2"),
                RawParam::json("b", r#"{"c":[true,null]}"#),
            ]
        );
        for bad in [
            &b"[1]"[..],
            b"{} {}",
            b"{,}",
            b"{\"a\":1,}",
            b"{\"a\" 1}",
            b"{1:2}",
        ] {
            assert!(
                parse_params(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(parse_params(b" ").unwrap().is_empty());
        assert!(parse_params(b"{ }").unwrap().is_empty());
    }

    #[test]
    fn error_names_are_sanitized() {
        assert_eq!(
            sanitize_error_code(
                "aws.protocoltests.restjson#FooError:http://internal.amazon.com/x/"
            ),
            "FooError"
        );
        assert_eq!(sanitize_error_code("FooError"), "FooError");
    }
}
