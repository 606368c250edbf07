//! Framing: fuzz input bytes as an HTTP message — a first line (`METHOD
//! path-and-query`, or a status), `Name: value` header lines, a blank line, the
//! body — and back.

use crate::wire::{HttpRequest, HttpResponse};

fn split_head(data: &[u8]) -> (&[u8], &[u8]) {
    for (sep, len) in [(&b"\r\n\r\n"[..], 4), (&b"\n\n"[..], 2)] {
        if let Some(at) = data.windows(len).position(|w| w == sep) {
            return (&data[..at], &data[at + len..]);
        }
    }
    (data, &[])
}

fn head_lines(head: &[u8]) -> (String, Vec<(String, String)>) {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (first, headers)
}

/// `METHOD path-and-query`, header lines, a blank line, the body.
pub fn request_from_bytes(data: &[u8]) -> HttpRequest {
    let (head, body) = split_head(data);
    let (first, headers) = head_lines(head);
    let (method, path) = first.split_once(' ').unwrap_or((first.as_str(), "/"));
    HttpRequest {
        method: method.to_string(),
        path_and_query: path.to_string(),
        headers,
        body: body.to_vec(),
    }
}

/// The framing [`request_from_bytes`] reads.
pub fn request_to_bytes(req: &HttpRequest) -> Vec<u8> {
    let mut out = format!("{} {}\n", req.method, req.path_and_query).into_bytes();
    for (k, v) in &req.headers {
        out.extend_from_slice(format!("{k}: {v}\n").as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(&req.body);
    out
}

/// `status`, header lines, a blank line, the body. A first line that is not a
/// number reads as 200.
pub fn response_from_bytes(data: &[u8]) -> HttpResponse {
    let (head, body) = split_head(data);
    let (first, headers) = head_lines(head);
    HttpResponse {
        status: first.trim().parse().unwrap_or(200),
        headers,
        body: body.to_vec(),
    }
}

/// The framing [`response_from_bytes`] reads.
pub fn response_to_bytes(resp: &HttpResponse) -> Vec<u8> {
    let mut out = format!("{}\n", resp.status).into_bytes();
    for (k, v) in &resp.headers {
        out.extend_from_slice(format!("{k}: {v}\n").as_bytes());
    }
    out.push(b'\n');
    out.extend_from_slice(&resp.body);
    out
}

/// The framed answer, and the whole input as the body of a success and of an error.
pub(super) fn responses(data: &[u8]) -> [HttpResponse; 3] {
    let bare = |status| HttpResponse {
        status,
        headers: Vec::new(),
        body: data.to_vec(),
    };
    [response_from_bytes(data), bare(200), bare(400)]
}
