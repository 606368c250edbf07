//! What one request may carry, checked before any decoding or authentication and
//! without allocating: a hostile request is refused for the price of one scan of its
//! bytes, not of a string per parameter.
//!
//! Also the allocation-free parameter scanner the router uses ([`params`],
//! [`name_is`]). docs/emulator.md lists every limit of the emulator in one table.

use crate::wire::{aliyun_rpc, HttpRequest, MAX_BODY_BYTES};

/// Most parameters one request may carry (query and body together; for a JSON body,
/// its values). A real call has a handful; EC2 `DescribeInstances` with 200 filter
/// values and 1000 instance ids stays under it.
pub const MAX_PARAMS: usize = 2000;

/// Most bytes of parameters (query string and body together, before decoding, so
/// the decoded text is at most as long).
pub const MAX_PARAM_BYTES: usize = MAX_BODY_BYTES;

/// Longest Alibaba `SignatureNonce` accepted (a UUID has 36 characters).
pub const MAX_NONCE_LEN: usize = 255;

/// Why a request was refused before it was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Query and body together are over [`MAX_PARAM_BYTES`].
    TooLarge,
    /// More than [`MAX_PARAMS`] parameters (the count found so far).
    TooManyParameters(usize),
}

/// Check `req` against the size and parameter-count limits. `json_body`: the body is
/// an AWS JSON document (its values count as parameters) rather than a form.
pub fn check(req: &HttpRequest, json_body: bool) -> Result<(), Refusal> {
    if req.query().len().saturating_add(req.body.len()) > MAX_PARAM_BYTES {
        return Err(Refusal::TooLarge);
    }
    let mut count = ParamCounter::form();
    count.feed(req.query().as_bytes());
    let mut body = if json_body {
        ParamCounter::json()
    } else {
        // Every query protocol's decoder reads a body as a form, whatever its type.
        ParamCounter::form()
    };
    body.feed(&req.body);
    let count = count.count() + body.count();
    if count > MAX_PARAMS {
        return Err(Refusal::TooManyParameters(count));
    }
    Ok(())
}

/// Counts parameters as bytes arrive, so a body can be refused before it is all
/// read: non-empty `&`-separated segments of a form, or, for a JSON text, an upper
/// bound of its values (commas outside strings, plus one), found without parsing.
#[derive(Debug, Clone)]
pub struct ParamCounter {
    json: bool,
    count: usize,
    /// Form: the next byte starts a segment. JSON: inside a string.
    state: bool,
    /// JSON: the previous byte was a backslash inside a string.
    escaped: bool,
}

impl ParamCounter {
    /// For a query string or form body.
    pub fn form() -> Self {
        ParamCounter {
            json: false,
            count: 0,
            state: true,
            escaped: false,
        }
    }

    /// For an AWS JSON body.
    pub fn json() -> Self {
        ParamCounter {
            json: true,
            count: 1,
            state: false,
            escaped: false,
        }
    }

    /// Count the parameters in the next bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if !self.json {
                if b == b'&' {
                    self.state = true;
                } else if self.state {
                    self.count += 1;
                    self.state = false;
                }
            } else if self.state {
                match b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.state = false,
                    _ => {}
                }
            } else if b == b'"' {
                self.state = true;
            } else if b == b',' {
                self.count += 1;
            }
        }
    }

    /// Parameters so far.
    pub fn count(&self) -> usize {
        self.count
    }
}

/// The non-empty `&`-separated segments of a query string or form, as (encoded
/// name, encoded value).
pub fn segments(s: &str) -> impl Iterator<Item = (&str, &str)> {
    s.split('&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| seg.split_once('=').unwrap_or((seg, "")))
}

/// The query's parameters, then a form body's (bodies over the size limit are not
/// read), still encoded.
pub fn params(req: &HttpRequest) -> impl Iterator<Item = (&str, &str)> {
    let body = if aliyun_rpc::has_form_body(req) && req.body.len() <= MAX_BODY_BYTES {
        std::str::from_utf8(&req.body).unwrap_or("")
    } else {
        ""
    };
    segments(req.query()).chain(segments(body))
}

/// Whether an encoded parameter name decodes to `name` (which has no space or `+`).
pub fn name_is(encoded: &str, name: &str) -> bool {
    if !encoded.as_bytes().contains(&b'%') {
        return encoded == name;
    }
    encoded.len() >= name.len() && percent_encoding::percent_decode_str(encoded).eq(name.bytes())
}

/// The first value of parameter `name` (query, then form body), decoded; `None`
/// when absent or when its encoding is broken.
pub fn first_value(req: &HttpRequest, name: &str) -> Option<String> {
    let (_, v) = params(req).find(|(k, _)| name_is(k, name))?;
    let spaced = v.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|v| v.into_owned())
}

/// Decoded length in bytes of an encoded value.
pub fn decoded_len(encoded: &str) -> usize {
    percent_encoding::percent_decode_str(encoded).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(query: &str, body: &str) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            path_and_query: format!("/?{query}"),
            headers: vec![(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn counts_query_and_body_parameters() {
        let at_limit = "&a".repeat(MAX_PARAMS - 1);
        assert_eq!(check(&req("b=1", &at_limit), false), Ok(()));
        assert_eq!(
            check(&req("b=1&c", &at_limit), false),
            Err(Refusal::TooManyParameters(MAX_PARAMS + 1))
        );
        let json = format!("{{\"a\":\"x,y,z\"{}}}", ",\"b\":1".repeat(MAX_PARAMS));
        assert_eq!(
            check(&req("", &json), true),
            Err(Refusal::TooManyParameters(MAX_PARAMS + 1))
        );
        assert_eq!(check(&req("", r#"{"a":"\",,,,"}"#), true), Ok(()));
        // Counting in pieces gives the same answer as counting at once.
        let mut pieces = ParamCounter::json();
        for piece in json.as_bytes().chunks(7) {
            pieces.feed(piece);
        }
        assert_eq!(pieces.count(), MAX_PARAMS + 1);
        let mut form = ParamCounter::form();
        form.feed(b"&&a=1&&b");
        form.feed(b"c&");
        assert_eq!(form.count(), 2);
        let big = "x".repeat(MAX_PARAM_BYTES);
        assert_eq!(check(&req("a=1", &big), false), Err(Refusal::TooLarge));
    }

    #[test]
    fn names_are_compared_decoded() {
        assert!(name_is("%53ignatureNonce", "SignatureNonce"));
        assert!(name_is("Action", "Action"));
        assert!(!name_is("Actio", "Action"));
        assert!(!name_is("action", "Action"));
        assert_eq!(decoded_len("a%20b"), 3);
    }
}
