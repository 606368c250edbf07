//! Reproducers for a failing case: a curl command (`repro/<stem>.sh`) and the
//! recorded exchange as raw HTTP (`repro/<stem>.http`).
//!
//! Nothing secret is written: the exchange was redacted by the recorder (and is
//! redacted again here), and credentials appear only as environment-variable
//! references (`$AWS_ACCESS_KEY_ID`…) that the shell expands when the script runs.

use std::collections::HashSet;

mod imds;

use super::text;
use super::RunMeta;
use crate::oracle::Auth;
use crate::verdict::redact;
use crate::verdict::{CaseResult, Exchange};

/// Longest stem, in bytes (all stems are ASCII); leaves room for a `-N` suffix
/// and an extension within common 255-byte name limits.
const MAX_STEM: usize = 120;

/// A file-name-safe stem for a case id: ASCII letters, digits, `-`, `_` and single
/// dots are kept, `/` becomes `_`, anything else `-`; never empty, never starting
/// with `.`, never containing `..`. `aws-ec2/coverage/0042` → `aws-ec2_coverage_0042`.
///
/// Different ids can map to one stem; [`case_stems`] disambiguates within a report.
pub fn file_stem(case_id: &str) -> String {
    let mut out = String::new();
    for c in case_id.chars() {
        let mapped = match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' => c,
            '/' => '_',
            '.' if !out.is_empty() && !out.ends_with('.') => '.',
            _ => '-',
        };
        if out.len() >= MAX_STEM {
            break;
        }
        out.push(mapped);
    }
    if out.ends_with('.') {
        // `x.` + `.sh` would put `..` in the file name.
        out.pop();
        out.push('-');
    }
    if out.is_empty() {
        out.push_str("case");
    }
    out
}

/// The stem of every case, in order, distinct even on case-insensitive file
/// systems: a stem already taken gets `-2`, `-3`… Deterministic for a given list.
pub fn case_stems(cases: &[CaseResult]) -> Vec<String> {
    unique_names(cases.iter().map(|c| file_stem(&c.id)))
}

/// Make names distinct (ignoring ASCII case) by suffixing `-2`, `-3`…
pub(crate) fn unique_names(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut taken: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for base in names {
        let mut name = base.clone();
        let mut n = 1;
        while taken.contains(&name.to_ascii_lowercase()) {
            n += 1;
            name = format!("{base}-{n}");
        }
        taken.insert(name.to_ascii_lowercase());
        out.push(name);
    }
    out
}

/// The SigV4 signing name of an AWS API id. The recorded Authorization header has
/// its credential scope redacted, so the service comes from the API id: the two
/// built-in AWS APIs by name (their spec tables' `signing_name`), any other
/// `aws-<service>` by dropping the prefix.
fn sigv4_service(api: &str) -> &str {
    match api {
        "aws-ec2" => "ec2",
        "aws-lightsail" => "lightsail",
        other => other.strip_prefix("aws-").unwrap_or(other),
    }
}

/// Headers curl must not be given: it computes them itself (host, length, the
/// SigV4 date and signature) or they carry credentials (taken from the environment).
const DROP_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "x-acs-signature",
    "x-acs-security-token",
    "user-agent",
    "connection",
    "accept-encoding",
];

/// Quote for POSIX sh: single quotes, `'` as `'\''`.
fn sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Quote for POSIX sh with double quotes (`$`, `` ` ``, `"` and `\` escaped).
fn dq(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if matches!(c, '$' | '`' | '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Keep `# ` comment lines on one line.
fn comment(s: &str) -> String {
    text::one_line(s)
}

fn api_of<'a>(case: &'a CaseResult, meta: &'a RunMeta) -> &'a str {
    if case.api.is_empty() {
        &meta.api
    } else {
        &case.api
    }
}

fn is_aws(case: &CaseResult, meta: &RunMeta) -> bool {
    let scheme = case
        .exchanges
        .first()
        .and_then(|ex| {
            ex.request
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        })
        .and_then(|(_, v)| v.split_whitespace().next());
    scheme == Some("AWS4-HMAC-SHA256") || api_of(case, meta).starts_with("aws-")
}

/// The replay command for a case, for scripts living in `<report dir>/repro/`;
/// on one line, as it is only ever written inside a `#` comment.
fn replay_line(case: &CaseResult) -> String {
    comment(&format!(
        "imds-conform replay \"$(dirname \"$0\")/..\" {}",
        sh(&case.id)
    ))
}

/// A curl command (with a comment header, no `#!` line) that re-sends the case's
/// first recorded request. AWS requests are signed by curl (`--aws-sigv4`) with
/// credentials from `$AWS_ACCESS_KEY_ID`/`$AWS_SECRET_ACCESS_KEY` and, when set,
/// `$AWS_SESSION_TOKEN`; Alibaba requests cannot be signed by curl and are written
/// unsigned, with the `imds-conform replay` command that re-signs them.
pub fn curl(case: &CaseResult, meta: &RunMeta) -> String {
    if case.phase == "data-plane" {
        return imds::curl(case, meta);
    }
    let mut out = head(case);
    out.push_str(&format!(
        "# target {} ({}), region {}, instance {}\n",
        comment(&meta.target),
        comment(&meta.endpoint),
        comment(&meta.region),
        comment(&meta.instance)
    ));
    out.push_str("# Secrets are never stored here; credentials are read from the environment.\n");
    let Some(ex) = case.exchanges.first() else {
        out.push_str("# No HTTP exchange was recorded for this case.\n");
        out.push_str(&format!(
            "# Parameters: {}\n",
            comment(&text::params(&case.request))
        ));
        out.push_str(&format!("# To run it again: {}\n", replay_line(case)));
        out.push_str("exit 1\n");
        return out;
    };
    let mut ex = ex.clone();
    ex.request.path_and_query = redact::query(&ex.request.path_and_query);
    ex.request.headers = redact::headers(&ex.request.headers);
    ex.request.body = redact::form_or_text(&ex.request.body);

    let aws = is_aws(case, meta);
    let mut args: Vec<String> = Vec::new();
    if aws {
        let service = sigv4_service(api_of(case, meta));
        match case.auth {
            Auth::Valid => {}
            Auth::Unsigned => {
                out.push_str("# The case sent this request unsigned; so does this command.\n")
            }
            other => out.push_str(&format!(
                "# The case sent this request with a deliberately broken signature ({}); curl\n\
                 # signs it correctly. To send it exactly as the case did, run:\n#   {}\n",
                text::auth(other),
                replay_line(case)
            )),
        }
        if case.auth != Auth::Unsigned {
            out.push_str(
                "# Optional: with temporary credentials, the session token header is added\n\
                 # when AWS_SESSION_TOKEN is set (remove this line to never send it).\n",
            );
            out.push_str(
                "if [ -n \"${AWS_SESSION_TOKEN:-}\" ]; then set -- -H \"x-amz-security-token: $AWS_SESSION_TOKEN\"; else set --; fi\n",
            );
            args.push(format!(
                "--aws-sigv4 {}",
                dq(&format!("aws:amz:{}:{service}", meta.region))
            ));
            args.push("--user \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\"".to_string());
        }
    } else {
        let cloud = if api_of(case, meta).starts_with("aliyun-") {
            "Alibaba Cloud signatures (V1 query signatures, V3 ACS3-HMAC-SHA256)"
        } else {
            "This API's signatures"
        };
        out.push_str(&format!(
            "# {cloud}\n\
             # cannot be produced by curl. This is the request as sent, without its\n\
             # signature and credential parameters: the target will refuse it as unsigned.\n\
             # To re-send it signed (credentials from the environment), run:\n#   {}\n",
            replay_line(case)
        ));
    }
    // Redacted signature/credential parameters cannot be re-sent as `<redacted>`:
    // drop them (curl signs AWS requests in headers; Alibaba ones go unsigned).
    ex.request.path_and_query = strip_redacted_query(&ex.request.path_and_query);
    if looks_form(&ex.request.body) {
        ex.request.body = strip_redacted_pairs(&ex.request.body);
    }
    args.push(format!("--request {}", sh(&ex.request.method)));
    for (k, v) in &ex.request.headers {
        if DROP_HEADERS.contains(&k.to_ascii_lowercase().as_str()) {
            continue;
        }
        args.push(format!("-H {}", sh(&format!("{k}: {v}"))));
    }
    let nul_body = ex.request.body.contains('\0');
    if !ex.request.body.is_empty() {
        if nul_body {
            args.push("--data-binary @-".to_string());
        } else {
            args.push(format!("--data-raw {}", sh(&ex.request.body)));
        }
    }
    let url = format!(
        "{}{}",
        ex.endpoint.trim_end_matches('/'),
        ex.request.path_and_query
    );
    args.push(sh(&url));
    if aws && case.auth != Auth::Unsigned {
        args.push("\"$@\"".to_string());
    }
    if nul_body {
        // A NUL cannot travel in an argument: feed the body through printf.
        out.push_str(&format!(
            "printf '%b' {} |\n",
            sh(&octal_escape(&ex.request.body))
        ));
    }
    out.push_str("curl --silent --show-error --include");
    for a in args {
        out.push_str(" \\\n  ");
        out.push_str(&a);
    }
    out.push('\n');
    out
}

/// The first comment lines of a reproducer: the case, its title, rule and verdict.
fn head(case: &CaseResult) -> String {
    let mut out = format!("# imds-conform reproducer: {}\n", comment(&case.id));
    out.push_str(&format!("# {}\n", comment(&case.title)));
    out.push_str(&format!(
        "# rule {} — verdict {}{}\n",
        comment(&case.rule),
        case.verdict.name(),
        text::reason(&case.verdict)
            .map(|r| format!(": {}", comment(r)))
            .unwrap_or_default()
    ));
    out
}

/// A complete `#!/bin/sh` script around [`curl`].
pub fn script(case: &CaseResult, meta: &RunMeta) -> String {
    format!("#!/bin/sh\n{}", curl(case, meta))
}

fn looks_form(body: &str) -> bool {
    body.contains('=') && !body.trim_start().starts_with(['{', '<'])
}

fn is_redacted_pair(pair: &str) -> bool {
    pair.split_once('=')
        .is_some_and(|(_, v)| v == redact::REDACTED)
}

fn strip_redacted_pairs(q: &str) -> String {
    q.split('&')
        .filter(|p| !is_redacted_pair(p))
        .collect::<Vec<_>>()
        .join("&")
}

fn strip_redacted_query(path_and_query: &str) -> String {
    match path_and_query.split_once('?') {
        Some((path, q)) => format!("{path}?{}", strip_redacted_pairs(q)),
        None => path_and_query.to_string(),
    }
}

/// printf `%b` text: printable ASCII as is (backslash doubled), the rest as `\0ooo`.
fn octal_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\0{b:03o}")),
        }
    }
    out
}

/// Every recorded exchange of the case as raw HTTP/1.1 text (request, then
/// response), each preceded by a `###` separator line naming it. Line ends are LF.
/// The exchanges are already redacted by the recorder and are redacted again here.
pub fn raw_http(case: &CaseResult) -> String {
    let mut out = String::new();
    if case.exchanges.is_empty() {
        out.push_str(&format!(
            "### {}: no HTTP exchange was recorded\n",
            comment(&case.id)
        ));
        return out;
    }
    let n = case.exchanges.len();
    for (i, ex) in case.exchanges.iter().enumerate() {
        write_exchange(&mut out, case, ex, i + 1, n);
    }
    out
}

fn write_exchange(out: &mut String, case: &CaseResult, ex: &Exchange, i: usize, n: usize) {
    let path_and_query = redact::query(&ex.request.path_and_query);
    let headers = redact::headers(&ex.request.headers);
    let body = redact::form_or_text(&ex.request.body);
    out.push_str(&format!(
        "### {} — request {i} of {n} to {}\n",
        comment(&case.id),
        comment(&ex.endpoint)
    ));
    out.push_str(&format!(
        "{} {} HTTP/1.1\n",
        ex.request.method,
        if path_and_query.is_empty() {
            "/"
        } else {
            &path_and_query
        }
    ));
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        let host = ex
            .endpoint
            .split_once("://")
            .map(|(_, r)| r)
            .unwrap_or(&ex.endpoint);
        out.push_str(&format!(
            "Host: {}\n",
            host.split('/').next().unwrap_or(host)
        ));
    }
    for (k, v) in &headers {
        out.push_str(&format!("{k}: {v}\n"));
    }
    out.push('\n');
    if !body.is_empty() {
        out.push_str(&body);
        out.push_str("\n\n");
    }
    out.push_str(&format!("### response {i} of {n}\n"));
    match &ex.response {
        None => out.push_str("(no response: the request failed before an answer came back)\n\n"),
        Some(resp) => {
            out.push_str(&format!(
                "HTTP/1.1 {} {}\n",
                resp.status,
                reason_phrase(resp.status)
            ));
            for (k, v) in &redact::headers(&resp.headers) {
                out.push_str(&format!("{k}: {v}\n"));
            }
            out.push('\n');
            if !resp.body.is_empty() {
                out.push_str(&resp.body);
                out.push('\n');
            }
            out.push('\n');
        }
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}
