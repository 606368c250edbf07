//! EC2 Query protocol, both directions.
//!
//! Client side: a [`Call`] becomes a form-encoded `POST /` (`Action`, `Version`, then
//! the parameters exactly as generated), and an XML answer becomes an [`Outcome`].
//! Server side (the emulator): a form body or query string becomes an [`Incoming`],
//! and an [`Answer`] becomes the XML EC2 would send.
//!
//! Success answers look like
//! `<{Op}Response xmlns="http://ec2.amazonaws.com/doc/{version}/"><requestId>…`, errors
//! like `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors>
//! <RequestID>…</RequestID></Response>` (note the capital `ID`).

use percent_encoding::{percent_decode, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

use super::tree::{parse_xml, write_xml};
use super::{
    check_size, Answer, Call, DecodeError, EncodeError, Endpoint, HttpRequest, HttpResponse,
    Incoming, Outcome, RawParam, RawValue,
};

/// RFC 3986 unreserved characters stay as they are; everything else is escaped, so a
/// space travels as `%20` (never `+`) and unicode as its UTF-8 bytes.
const QUERY_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
const XML_CONTENT_TYPE: &str = "text/xml;charset=UTF-8";

/// Query parameters with this prefix belong to SigV4 query authentication, not to
/// the call.
const SIGV4_QUERY_PREFIX: &str = "X-Amz-";

/// Percent-encode one query component with the RFC 3986 unreserved set.
pub fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, QUERY_ESCAPE).to_string()
}

/// Build the unsigned form POST for `call`.
pub fn encode_request(ep: &Endpoint, call: &Call) -> Result<HttpRequest, EncodeError> {
    if call.operation.is_empty() {
        return Err(EncodeError::Invalid("empty operation name".into()));
    }
    let mut body = format!(
        "Action={}&Version={}",
        encode_component(&call.operation),
        encode_component(&ep.api_version)
    );
    for p in &call.params {
        body.push('&');
        body.push_str(&encode_component(&p.name));
        body.push('=');
        body.push_str(&encode_component(p.value.as_query_text()));
    }
    Ok(HttpRequest::post_root(
        ep,
        FORM_CONTENT_TYPE,
        body.into_bytes(),
    ))
}

/// Split a form body or query string into decoded `(name, value)` pairs, in order.
///
/// Written by hand instead of `form_urlencoded::parse` because that one replaces
/// invalid UTF-8 silently; a conformance tool must refuse it instead.
pub fn parse_form(s: &str) -> Result<Vec<(String, String)>, DecodeError> {
    super::split_pairs(s, decode_component)
}

fn decode_component(s: &str) -> Result<String, DecodeError> {
    // Form encoding allows `+` for a space; a literal plus arrives as `%2B`.
    let spaced = s.replace('+', " ");
    percent_decode(spaced.as_bytes())
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| DecodeError::Request("parameter is not valid UTF-8".into()))
}

/// Server side: read the parameters of an EC2 Query request (query string first,
/// then the form body), in order, duplicates kept.
pub fn decode_request(req: &HttpRequest) -> Result<Incoming, DecodeError> {
    check_size(&req.body)?;
    let body = std::str::from_utf8(&req.body).map_err(|_| DecodeError::Utf8)?;
    let mut pairs = parse_form(req.query())?;
    pairs.extend(parse_form(body)?);

    let mut operation = None;
    let mut version = None;
    let mut params = Vec::new();
    let mut protocol_params = Vec::new();
    for (name, value) in pairs {
        // Only the first Action/Version is the protocol's; a later one is a parameter
        // the client sent on purpose (and round-trips as such).
        if name == "Action" && operation.is_none() {
            operation = Some(value);
        } else if name == "Version" && version.is_none() {
            version = Some(value);
        } else if name.starts_with(SIGV4_QUERY_PREFIX) {
            protocol_params.push((name, value));
        } else {
            params.push(RawParam {
                name,
                value: RawValue::Text(value),
            });
        }
    }
    let operation = operation.ok_or_else(|| DecodeError::Request("missing Action".into()))?;
    Ok(Incoming {
        call: Call { operation, params },
        version,
        protocol_params,
    })
}

/// Client side: turn an EC2 answer into an [`Outcome`].
pub fn decode_response(resp: &HttpResponse) -> Result<Outcome, DecodeError> {
    check_size(&resp.body)?;
    let text = std::str::from_utf8(&resp.body).map_err(|_| DecodeError::Utf8)?;
    if (200..300).contains(&resp.status) {
        decode_success(resp.status, text)
    } else {
        decode_error(resp.status, text)
    }
}

fn decode_success(status: u16, text: &str) -> Result<Outcome, DecodeError> {
    // Some operations answer 200 with no body at all.
    if text.trim().is_empty() {
        return Ok(Outcome::Success {
            status,
            request_id: None,
            body: Value::Object(Map::new()),
        });
    }
    let (_root, tree) = parse_xml(text)?;
    let request_id = text_member(&tree, &["requestId", "RequestId"]);
    let body = match tree {
        // `<FooResponse/>`: an empty answer is an empty object, not an empty string.
        Value::String(s) if s.is_empty() => Value::Object(Map::new()),
        other => other,
    };
    Ok(Outcome::Success {
        status,
        request_id,
        body,
    })
}

fn decode_error(status: u16, text: &str) -> Result<Outcome, DecodeError> {
    let (root, tree) = parse_xml(text)?;
    let error = match root.as_str() {
        // `<Response><Errors><Error>…` (EC2) — several errors: take the first.
        "Response" => first(first(tree.get("Errors"))?.get("Error")),
        // `<ErrorResponse><Error>…` (the Query protocol used by other services).
        "ErrorResponse" => first(tree.get("Error")),
        // A bare `<Error>` root.
        "Error" => Ok(&tree),
        other => Err(DecodeError::Shape(format!(
            "unexpected error root <{other}>"
        ))),
    }?;
    let code = text_member(error, &["Code"])
        .filter(|c| !c.is_empty())
        .ok_or_else(|| DecodeError::Shape("error without <Code>".into()))?;
    let message = text_member(error, &["Message"]).unwrap_or_default();
    let request_id = text_member(&tree, &["RequestID", "RequestId", "requestId"])
        .or_else(|| text_member(error, &["RequestID", "RequestId", "requestId"]));
    Ok(Outcome::Error {
        status,
        code,
        message,
        request_id,
    })
}

/// The element itself, or the first of a repeated element / list.
fn first(v: Option<&Value>) -> Result<&Value, DecodeError> {
    match v {
        Some(Value::Array(items)) => items
            .first()
            .ok_or_else(|| DecodeError::Shape("empty error list".into())),
        Some(v) => Ok(v),
        None => Err(DecodeError::Shape("no <Error> element".into())),
    }
}

/// The text of the first of `names` that is a leaf member of `v`.
fn text_member(v: &Value, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| v.get(n).and_then(Value::as_str).map(str::to_string))
}

/// Server side: the exact answer EC2 would send for `answer`.
pub fn encode_answer(operation: &str, api_version: &str, answer: &Answer) -> HttpResponse {
    match answer {
        Answer::Success { request_id, body } => {
            let xmlns = format!("http://ec2.amazonaws.com/doc/{api_version}/");
            let mut members = Map::new();
            members.insert("requestId".into(), Value::String(request_id.clone()));
            // The emulator always answers an object; anything else has no members
            // to write, so only the request id goes out.
            if let Value::Object(map) = body {
                for (k, v) in map {
                    if k != "requestId" {
                        members.insert(k.clone(), v.clone());
                    }
                }
            }
            let xml = write_xml(
                &format!("{operation}Response"),
                Some(&xmlns),
                &Value::Object(members),
            );
            xml_response(200, xml)
        }
        Answer::Error {
            status,
            code,
            message,
            request_id,
        } => {
            let xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{}</RequestID></Response>",
                escape(code),
                escape(message),
                escape(request_id)
            );
            xml_response(*status, xml)
        }
    }
}

fn xml_response(status: u16, xml: String) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("Content-Type".into(), XML_CONTENT_TYPE.into())],
        body: xml.into_bytes(),
    }
}

fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What encoding an EC2 request reads of its endpoint: the host and the version.
    fn ep() -> Endpoint {
        Endpoint {
            url: "https://ec2.us-east-1.amazonaws.com".into(),
            api_version: "2016-11-15".into(),
            ..Endpoint::default()
        }
    }

    #[test]
    fn body_keeps_order_duplicates_and_encodes_strictly() {
        let call = Call::new("ModifyInstanceMetadataOptions")
            .with("InstanceId", "i-1")
            .with("HttpTokens", "a b+c/ü~")
            .with("InstanceId", "");
        let req = encode_request(&ep(), &call).unwrap();
        assert_eq!(
            String::from_utf8(req.body).unwrap(),
            "Action=ModifyInstanceMetadataOptions&Version=2016-11-15&InstanceId=i-1\
             &HttpTokens=a%20b%2Bc%2F%C3%BC~&InstanceId="
        );
        assert_eq!(req.headers[0].1, "ec2.us-east-1.amazonaws.com");
    }

    #[test]
    fn error_shapes_are_tolerated() {
        let body = r#"<ErrorResponse xmlns="http://x/"><Error><Type>Sender</Type><Message>m</Message><Code>C</Code></Error><RequestId>r</RequestId></ErrorResponse>"#;
        let resp = HttpResponse {
            status: 400,
            headers: vec![],
            body: body.into(),
        };
        let out = decode_response(&resp).unwrap();
        assert_eq!(
            out,
            Outcome::Error {
                status: 400,
                code: "C".into(),
                message: "m".into(),
                request_id: Some("r".into())
            }
        );
    }
}
