//! Reproducers for a failing case: a curl command (`repro/<stem>.sh`) and the
//! recorded exchange as raw HTTP (`repro/<stem>.http`).
//!
//! Nothing secret is written: the exchange was redacted by the recorder (and is
//! redacted again here), and credentials appear only as references to the
//! environment variables the API's table names, which the shell expands when the
//! script runs. How a scheme is signed by curl comes from `wire`.

use std::collections::HashSet;

mod imds;

use super::text;
use super::RunMeta;
use crate::oracle::Auth;
use crate::verdict::redact;
use crate::verdict::{CaseResult, Exchange};
use crate::wire::client::{CurlSigning, SIGNING_HEADERS};
use crate::wire::credentials::{is_variable_name, EnvNames};
use crate::wire::SigningScheme;

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

/// Headers curl must not be given: it computes them itself (host, length, the
/// signature and the headers signing adds) or they carry credentials (taken from
/// the environment).
fn dropped_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "host",
        "content-length",
        "authorization",
        "user-agent",
        "connection",
        "accept-encoding",
    ]
    .contains(&lower.as_str())
        || SIGNING_HEADERS.contains(&lower.as_str())
}

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

/// The scheme the case's first request was signed with: the run's, else the one
/// its recorded `Authorization` header names.
fn scheme_of(case: &CaseResult, meta: &RunMeta) -> Option<SigningScheme> {
    meta.signing.as_ref().map(|s| s.scheme).or_else(|| {
        case.exchanges
            .first()?
            .request
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| SigningScheme::of_authorization(v))
    })
}

/// How curl signs the case's request: the run's scheme when curl can produce it
/// and the credential variables are plain names.
fn curl_signing(meta: &RunMeta) -> Option<(CurlSigning, &EnvNames)> {
    let signing = meta.signing.as_ref()?;
    let env = &signing.credentials;
    // Only plain names are written for the shell to expand.
    let names_ok = env.names().all(|n| is_variable_name(n));
    let curl = signing.scheme.curl(&signing.name, &meta.region)?;
    names_ok.then_some((curl, env))
}

/// The replay command for a case, for scripts living in `<report dir>/repro/`;
/// on one line, as it is only ever written inside a `#` comment.
fn replay_line(case: &CaseResult) -> String {
    comment(&format!(
        "imds-conform replay \"$(dirname \"$0\")/..\" {}",
        sh(&case.id)
    ))
}

/// The comment lines that open every API reproducer.
fn header(case: &CaseResult, meta: &RunMeta) -> String {
    let mut out = head(case);
    out.push_str(&format!(
        "# target {} ({}), region {}, instance {}\n",
        comment(&meta.target),
        comment(&meta.endpoint),
        comment(&meta.region),
        comment(&meta.instance)
    ));
    out.push_str("# Secrets are never stored here; credentials are read from the environment.\n");
    out
}

/// Comment and shell lines for a request curl signs; returns curl's signing
/// arguments and whether `"$@"` (the optional session-token header) follows.
fn signed_prelude(
    out: &mut String,
    case: &CaseResult,
    curl: &CurlSigning,
    env: &EnvNames,
) -> (Vec<String>, bool) {
    match case.auth {
        Auth::Valid => {}
        Auth::Unsigned => {
            out.push_str("# The case sent this request unsigned; so does this command.\n");
            return (Vec::new(), false);
        }
        other => out.push_str(&format!(
            "# The case sent this request with a deliberately broken signature ({}); curl\n\
             # signs it correctly. To send it exactly as the case did, run:\n#   {}\n",
            text::auth(other),
            replay_line(case)
        )),
    }
    let token = env.session_token.as_deref();
    if let Some(token) = token {
        out.push_str(&format!(
            "# Optional: with temporary credentials, the session token header is added\n\
             # when {token} is set (remove this line to never send it).\n"
        ));
        out.push_str(&format!(
            "if [ -n \"${{{token}:-}}\" ]; then set -- -H \"{}: ${token}\"; else set --; fi\n",
            curl.token_header
        ));
    }
    let args = vec![
        format!("{} {}", curl.option, dq(&curl.value)),
        format!("--user \"${}:${}\"", env.access_key_id, env.secret),
    ];
    (args, token.is_some())
}

/// The comment for a request curl cannot sign: it is written unsigned.
fn unsigned_note(case: &CaseResult, meta: &RunMeta) -> String {
    // A scheme curl could sign, left unsigned, lacks the run's signing facts.
    let scheme = match scheme_of(case, meta) {
        Some(s) if s.curl("", "").is_none() => s.title(),
        _ => "This API's signatures",
    };
    format!(
        "# {scheme}\n\
         # cannot be produced by curl. This is the request as sent, without its\n\
         # signature and credential parameters: the target will refuse it as unsigned.\n\
         # To re-send it signed (credentials from the environment), run:\n#   {}\n",
        replay_line(case)
    )
}

/// The case's first recorded request, redacted, with the redacted signature and
/// credential parameters dropped (they cannot be re-sent as `<redacted>`).
fn resendable(ex: &Exchange) -> Exchange {
    let mut ex = ex.clone();
    ex.request.path_and_query = strip_redacted_query(&redact::query(&ex.request.path_and_query));
    ex.request.headers = redact::headers(&ex.request.headers);
    ex.request.body = redact::form_or_text(&ex.request.body);
    if looks_form(&ex.request.body) {
        ex.request.body = strip_redacted_pairs(&ex.request.body);
    }
    ex
}

/// curl's arguments for the request itself: method, headers, body, URL. The
/// second value: the body holds a NUL and must be piped in.
fn request_args(ex: &Exchange) -> (Vec<String>, bool) {
    let mut args = vec![format!("--request {}", sh(&ex.request.method))];
    for (k, v) in &ex.request.headers {
        if !dropped_header(k) {
            args.push(format!("-H {}", sh(&format!("{k}: {v}"))));
        }
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
    (args, nul_body)
}

/// A curl command (with a comment header, no `#!` line) that re-sends the case's
/// first recorded request. Where curl can sign the run's scheme (SigV4), it does,
/// with credentials from the environment variables the run's table names (the
/// session token only when set); other schemes cannot be signed by curl and are
/// written unsigned, with the `imds-conform replay` command that re-signs them.
///
/// A data-plane case gets the metadata-service requests it sent instead.
pub fn curl(case: &CaseResult, meta: &RunMeta) -> String {
    if case.phase == "data-plane" {
        return imds::curl(case, meta);
    }
    let mut out = header(case, meta);
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
    let (mut args, token_args) = match curl_signing(meta) {
        Some((curl, env)) => signed_prelude(&mut out, case, &curl, env),
        None => {
            out.push_str(&unsigned_note(case, meta));
            (Vec::new(), false)
        }
    };
    let ex = resendable(ex);
    let (request, nul_body) = request_args(&ex);
    args.extend(request);
    if token_args {
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
