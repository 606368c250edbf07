//! Redaction: secrets never reach a report, a snapshot or a reproducer. Signatures
//! and session tokens are replaced; access key ids keep only a short prefix.
#![warn(missing_docs)]

use crate::wire::credentials::{
    self, DOCUMENT_SECRETS, SECRET_HEADERS, SECRET_PARAMS, SECRET_WORDS, WHOLE_LINE_SECRETS,
};

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// An access key id shortened to its first four characters.
pub fn access_key(id: &str) -> String {
    let keep: String = id.chars().take(4).collect();
    format!("{keep}…")
}

/// Headers with secrets redacted: `Authorization` keeps its scheme and signed-header list, secret-bearing headers become [`REDACTED`].
pub fn headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            if lower == "authorization" {
                (k.clone(), authorization(v))
            } else if SECRET_HEADERS.contains(&lower.as_str()) {
                (k.clone(), REDACTED.to_string())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

/// Keep the scheme and the signed-header list; drop the credential and signature.
fn authorization(v: &str) -> String {
    let scheme = v.split_whitespace().next().unwrap_or("");
    let signed = v
        .split([',', ' '])
        .find(|p| p.trim().starts_with("SignedHeaders="))
        .map(|p| format!(", {}", p.trim()))
        .unwrap_or_default();
    format!("{scheme} Credential={REDACTED}{signed}, Signature={REDACTED}")
}

/// Redact secret parameters in a query string (`a=1&Signature=…`).
pub fn query(path_and_query: &str) -> String {
    match path_and_query.split_once('?') {
        Some((path, q)) => format!("{path}?{}", pairs(q)),
        None => path_and_query.to_string(),
    }
}

/// Redact a form body's secret parameters; any other body goes through [`text`].
pub fn form_or_text(body: &str) -> String {
    if body.contains('=') && !body.trim_start().starts_with(['{', '<']) {
        pairs(body)
    } else {
        text(body)
    }
}

fn pairs(q: &str) -> String {
    credentials::mask_secret_params(q, REDACTED)
}

/// Redact the values of secrets anywhere in free text, such as an error message or
/// an answer's body that echoes a query, a header or a string-to-sign: a secret
/// parameter's `Name=value`, a secret header's `name: value` (an `Authorization`
/// header to the end of its line), an AWS credential scope (`Credential=…`), also
/// after a JSON escape (`\nx-amz-…`, `\u0026X-Amz-…`) or inside escaped quotes, a
/// JSON `"Name": "value"` and an XML `<Name>value</Name>`, where a credential
/// document's members count too (`Token`, `SecretAccessKey`…), and the userinfo of
/// a URL (`http://user:password@host` shows as `http://<redacted>@host`). Text that shows a
/// secret only percent-encoded (`SecurityToken%3D…`, `SecurityToken%253D…`) comes
/// back decoded as far as the secret showed, and redacted; text with no secret
/// comes back exactly as it was. Redacting redacted text changes nothing.
pub fn text(s: &str) -> String {
    if !may_hold_secret(s) {
        return s.to_string();
    }
    // As written, then percent-decoded again and again until nothing changes: each
    // view that shows a secret the earlier ones did not is redacted, and shown from
    // then on. (Each decoding that changes something shortens the text.)
    let mut shown = one_pass(s);
    let mut view = shown.clone().unwrap_or_else(|| s.to_string());
    while view.contains('%') {
        let next = percent_encoding::percent_decode_str(&view)
            .decode_utf8_lossy()
            .into_owned();
        if next == view {
            break;
        }
        view = next;
        if let Some(out) = one_pass(&view) {
            view = out.clone();
            shown = Some(out);
        }
    }
    shown.unwrap_or_else(|| s.to_string())
}

/// `s` with the value of every secret it shows redacted, and the userinfo of every
/// URL (`http://user:password@host`); `None` when it shows none.
fn one_pass(s: &str) -> Option<String> {
    match credentials::mask_userinfo(s, REDACTED) {
        Some(masked) => Some(named_values(&masked).unwrap_or(masked)),
        None => named_values(s),
    }
}

/// `s` with the value of every secret name it shows redacted; `None` when it shows
/// none.
fn named_values(s: &str) -> Option<String> {
    static NAME: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    // A name and its separator; the value is what follows, up to a delimiter.
    // Groups: 1 an XML element's name (its namespace prefix dropped), 2 its
    // attributes; 3 a JSON member's name (quoted; a quoted value may start on the
    // next line, another one may not); 4 a name in text (`Name=value`, `name: value`, on one line). Either
    // name may follow a JSON escape (`\n`, `\u0026`).
    let name = NAME.get_or_init(|| {
        regex::Regex::new(concat!(
            r#"<(?:[A-Za-z0-9_.-]+:)?([A-Za-z0-9_.-]+)(\s[^<>]*)?>"#,
            r#"|(?:\\[nrt]|\\u[0-9a-fA-F]{4})?\\?"([A-Za-z0-9_.%-]+)\\?"\s*:(?:\s*\[?\s*\\?["']|[ \t]*)"#,
            r#"|(?:\\[nrt]|\\u[0-9a-fA-F]{4})?([A-Za-z0-9_.%-]+)[ \t]*[=:][ \t]*["']?"#,
        ))
        .expect("a valid pattern")
    });
    let mut out = String::with_capacity(s.len());
    let mut done = 0;
    let mut found = false;
    // Each search starts where the last secret's value ended, or right after the
    // last name that was no secret (its separator may open the next name).
    let mut at = 0;
    while let Some(c) = name.captures_at(s, at) {
        let whole = c.get(0).expect("group 0");
        let (xml, quoted, named) = match (c.get(1), c.get(3), c.get(4)) {
            (Some(n), ..) => (true, false, n),
            (None, Some(n), _) => (false, true, n),
            (None, None, Some(n)) => (false, false, n),
            (None, None, None) => break,
        };
        let secret =
            is_secret_name(named.as_str()) || (xml || quoted) && is_document_secret(named.as_str());
        let rest = &s[whole.end()..];
        if !secret || rest.starts_with(REDACTED) {
            // Past this name; an element that is no secret is read again as text
            // from its `<` on (`<x-amz-security-token:Error …>` reads as a
            // namespaced element, and as a header).
            at = if xml { whole.start() + 1 } else { named.end() };
            continue;
        }
        let end = if xml {
            match rest.strip_prefix("<![CDATA[") {
                Some(data) => data.find("]]>").map(|i| i + "<![CDATA[]]>".len()),
                None => rest.find('<'),
            }
        } else if WHOLE_LINE_SECRETS
            .iter()
            .any(|h| h.eq_ignore_ascii_case(named.as_str()))
        {
            // Scheme, credential, signed headers and signature: the whole line, or
            // up to the end of the signature, the value's last part, where it has
            // one (what an answer echoes after it on that line is not hidden).
            let line = value_end(rest, |ch| "\r\n\"<".contains(ch));
            signature_end(&rest[..line.unwrap_or(rest.len())]).or(line)
        } else {
            value_end(rest, |ch| ch.is_whitespace() || "&,;\"'<>".contains(ch))
        };
        if end == Some(0) || rest.is_empty() {
            // Nothing to hide (`x-amz-security-token:` and the line ends).
            at = named.end();
            continue;
        }
        match c.get(2) {
            // An element's attributes are text too (the search goes on past them).
            Some(attrs) => {
                out.push_str(&s[done..attrs.start()]);
                out.push_str(
                    &named_values(attrs.as_str()).unwrap_or_else(|| attrs.as_str().into()),
                );
                out.push_str(&s[attrs.end()..whole.end()]);
            }
            None => out.push_str(&s[done..whole.end()]),
        }
        out.push_str(REDACTED);
        done = end.map_or(s.len(), |i| whole.end() + i);
        at = done;
        found = true;
    }
    if !found {
        return None;
    }
    out.push_str(&s[done..]);
    Some(out)
}

/// Where the value of the last `Signature=` in `value` (an `Authorization` header's
/// value, on one line) ends: `None` when it has none or runs to the end.
fn signature_end(value: &str) -> Option<usize> {
    let lower = value.to_ascii_lowercase();
    let at = lower
        .match_indices("signature=")
        .map(|(i, _)| i)
        .filter(|&i| {
            !lower[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
        })
        .last()?;
    // Spaces after the `=` are not the end of the value ("Signature= abc…").
    let after = &value[at + "signature=".len()..];
    let start = value.len() - after.trim_start().len();
    match value_end(&value[start..], |ch| {
        ch.is_whitespace() || "&,;\"'<>|".contains(ch)
    }) {
        // Nothing after it: the value may be anywhere on the line, hide all of it.
        Some(0) => None,
        end => end.map(|i| start + i),
    }
}

/// Where a value that starts `rest` ends: at a delimiter, or at a backslash (a JSON
/// escape: `\n`, `\"`) other than an escaped slash (`\/`, as some encoders write
/// one inside a token).
fn value_end(rest: &str, delimiter: impl Fn(char) -> bool) -> Option<usize> {
    let mut chars = rest.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        if ch == '\\' {
            if chars.peek().is_some_and(|(_, next)| *next == '/') {
                chars.next();
                continue;
            }
            return Some(i);
        }
        if delimiter(ch) {
            return Some(i);
        }
    }
    None
}

/// A case's record with every secret it could carry redacted: its request's secret
/// parameters, its exchanges (query, headers, bodies both ways), and the target's
/// words wherever the record repeats them (the answer's message and members, the
/// reasons, notes and findings). What a case shows is built from the target's
/// answers, and a target may echo what it was sent.
pub fn case(case: &mut super::CaseResult) {
    params(&mut case.request);
    case.exchanges.iter_mut().for_each(exchange);
    match &mut case.actual {
        super::Actual::Outcome { outcome } => match outcome {
            crate::wire::Outcome::Error { message, .. } => in_place(message),
            crate::wire::Outcome::Success { body, .. } => tree(body),
        },
        super::Actual::Undecodable { reason, .. } | super::Actual::Unjudgeable { reason } => {
            in_place(reason);
        }
    }
    match &mut case.verdict {
        super::Verdict::Fail { reason } | super::Verdict::Error { reason } => in_place(reason),
        super::Verdict::Pass | super::Verdict::PassUnderReading { .. } => {}
    }
    case.notes.iter_mut().for_each(in_place);
    for f in &mut case.findings {
        in_place(&mut f.got);
        in_place(&mut f.detail);
    }
}

/// An exchange with its secrets redacted: the endpoint's userinfo (a URL's
/// `user:password@`), the request's query, headers and body, the answer's headers
/// and whatever its body echoes.
pub fn exchange(ex: &mut super::Exchange) {
    in_place(&mut ex.endpoint);
    ex.request.path_and_query = query(&ex.request.path_and_query);
    ex.request.headers = headers(&ex.request.headers);
    ex.request.body = form_or_text(&ex.request.body);
    if let Some(resp) = &mut ex.response {
        resp.headers = headers(&resp.headers);
        resp.body = text(&resp.body);
    }
}

/// A call's parameters with every secret parameter's value redacted.
pub fn params(ps: &mut [crate::wire::RawParam]) {
    for p in ps {
        if is_secret_param(&p.name) {
            p.value = crate::wire::RawValue::Text(REDACTED.to_string());
        }
    }
}

/// A normalized outcome (a recording's) with what the target echoed redacted, as
/// [`case`] redacts the outcome it comes from.
pub fn normalized(n: &mut super::normalize::Normalized) {
    use super::normalize::Normalized;
    match n {
        Normalized::Success { body, .. } => tree(body),
        Normalized::Error { message, .. } => in_place(message),
        Normalized::Undecodable { reason, .. } | Normalized::Unjudgeable { reason } => {
            in_place(reason);
        }
    }
}

/// [`text`] in place (and nothing allocated when there is nothing to look at).
pub fn in_place(s: &mut String) {
    if may_hold_secret(s) {
        *s = text(s);
    }
}

/// Whether `s` could hold a secret: it shows one of the secret names (a credential
/// document's as a whole word: `httpTokens` is not `Token`), a percent sign that
/// could hide one, or a URL with userinfo (`://…@`). Answers' bodies and members go
/// through here case after case; most have none.
fn may_hold_secret(s: &str) -> bool {
    if s.contains("://") && s.contains('@') {
        return true;
    }
    static MAYBE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    MAYBE
        .get_or_init(|| {
            let names = SECRET_PARAMS
                .iter()
                .chain(SECRET_HEADERS)
                .chain(SECRET_WORDS)
                .map(|n| regex::escape(n));
            let words = DOCUMENT_SECRETS
                .iter()
                .map(|n| format!(r"\b{}\b", regex::escape(n)));
            let all: Vec<String> = names.chain(words).chain(["%".to_string()]).collect();
            regex::Regex::new(&format!("(?i){}", all.join("|"))).expect("a valid pattern")
        })
        .is_match(s)
}

/// A decoded answer's members: a secret's member is replaced, text is redacted.
fn tree(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(members) => {
            for (k, v) in members.iter_mut() {
                if (is_secret_name(k) || is_document_secret(k)) && !v.is_null() {
                    *v = serde_json::Value::String(REDACTED.to_string());
                } else {
                    tree(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(tree),
        serde_json::Value::String(s) => in_place(s),
        _ => {}
    }
}

/// A secret parameter's or a secret header's name, or a secret word.
fn is_secret_name(name: &str) -> bool {
    is_secret_param(name)
        || SECRET_HEADERS
            .iter()
            .chain(SECRET_WORDS)
            .any(|h| h.eq_ignore_ascii_case(name))
}

fn is_document_secret(name: &str) -> bool {
    DOCUMENT_SECRETS
        .iter()
        .any(|d| d.eq_ignore_ascii_case(name))
}

/// Is `name` a parameter whose value must never be shown? Case-insensitive and
/// percent-decoded (`signature`, `%53ignature`).
pub fn is_secret_param(name: &str) -> bool {
    credentials::is_secret_param(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_tokens_and_keys_are_removed() {
        let h = headers(&[
            ("Authorization".into(), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcdef".into()),
            ("X-Amz-Security-Token".into(), "tok".into()),
            ("Host".into(), "h".into()),
        ]);
        let shown = format!("{h:?}");
        for secret in ["AKIDEXAMPLE", "abcdef", "tok"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("SignedHeaders=host;x-amz-date"), "{shown}");
        let q = query("/?Action=X&AccessKeyId=testid&Signature=s%3D&SecurityToken=t&RegionId=cn");
        assert_eq!(q, "/?Action=X&AccessKeyId=<redacted>&Signature=<redacted>&SecurityToken=<redacted>&RegionId=cn");
    }

    #[test]
    fn secrets_in_free_text_are_removed_also_percent_encoded() {
        // An error message echoing the server's string-to-sign (encoded once).
        let msg = "SignatureDoesNotMatch: server string to sign is:POST&%2F&AccessKeyId%3DLTAIkey%26SecurityToken%3Dsts-tok%26SignatureNonce%3Dn1";
        let shown = text(msg);
        assert!(!shown.contains("sts-tok"), "{shown}");
        assert!(shown.contains("SignatureNonce=n1"), "{shown}");
        let plain = text(
            "cannot read i-1 back: 403 x-amz-security-token=tok Signature=abc, Action=Describe",
        );
        assert!(!plain.contains("tok ") && !plain.contains("abc"), "{plain}");
        assert!(plain.contains("Action=Describe"), "{plain}");
        let header = text(
            "403: x-amz-security-token: tok2 was refused; cannot reach http://127.0.0.1:9: refused",
        );
        assert!(!header.contains("tok2"), "{header}");
        assert!(header.contains("http://127.0.0.1:9: refused"), "{header}");
        assert_eq!(text("nothing to hide here"), "nothing to hide here");
        // Alibaba's headers; text with no secret stays as it was, encoded or not.
        let acs = text("x-acs-security-token:t3\nx-acs-signature: s3\nx-acs-date:d");
        assert_eq!(
            acs,
            "x-acs-security-token:<redacted>\nx-acs-signature: <redacted>\nx-acs-date:d"
        );
        let encoded = "POST&%2F&Action%3DDescribe%26Token-Count%3D3";
        assert_eq!(text(encoded), encoded);
    }

    #[test]
    fn secret_parameters_in_any_case_or_encoding_are_removed() {
        let q = query("/?Action=X&signature=s1&%53ignature=s2&x-amz-signature=s3&SECURITYTOKEN=t&accesskeyid=k");
        for secret in ["s1", "s2", "s3", "=t", "=k"] {
            assert!(!q.contains(secret), "{secret} in {q}");
        }
        assert!(q.starts_with("/?Action=X&"), "{q}");
        let body = form_or_text("RegionId=cn&%53ecurity%54oken=tok&Signature=sig");
        assert_eq!(
            body,
            "RegionId=cn&%53ecurity%54oken=<redacted>&Signature=<redacted>"
        );
        assert!(is_secret_param("x-amz-credential"));
    }

    #[test]
    fn secrets_in_answers_bodies_are_removed() {
        // A JSON-protocol signature error quoting the canonical request: the
        // newlines are escapes inside a JSON string.
        let json = r#"{"__type":"InvalidSignatureException","message":"The canonical string for this request should have been 'POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:127.0.0.1\nx-amz-security-token:IQoJb3JpZ2luX2VjEX\n'"}"#;
        let shown = text(json);
        assert!(!shown.contains("IQoJ"), "{shown}");
        assert!(shown.contains("\\nhost:127.0.0.1\\n"), "{shown}");
        // Quoted values, XML with attributes, a credential document.
        for (raw, secret) in [
            ("x-amz-security-token='TOK1' was refused", "TOK1"),
            (r#"<Token xmlns="urn:x">TOK2</Token>"#, "TOK2"),
            ("{\"Token\":\n  \"TOK3\"}", "TOK3"),
            (r#"{"SessionToken": "TOK4", "Expiration": "soon"}"#, "TOK4"),
            // JSON escapes before a name, JSON inside a JSON string, a list of
            // values, an escaped slash inside the value.
            (r#"{"message":"query: a=1\u0026X-Amz-Security-Token=TOK5"}"#, "TOK5"),
            (r#"{"message":"{\"Token\":\"TOK6\"}"}"#, "TOK6"),
            (r#"{"Token":["TOK7"]}"#, "TOK7"),
            (r#"{"Token":"IQo\/TOK8"}"#, "TOK8"),
            // An Authorization header quoted without its name; a namespaced
            // element, CDATA, attributes; spaces around `=`; an encoded space.
            ("in Authorization header: 'AWS4-HMAC-SHA256 Credential=AKIDTOK9/20250102/us-east-1/ec2/aws4_request, Signature=x'", "AKIDTOK9"),
            ("<sts:SessionToken>TOK10</sts:SessionToken>", "TOK10"),
            ("<Token><![CDATA[TOK11]]></Token>", "TOK11"),
            (r#"<Token note="Signature=TOK12">x</Token>"#, "TOK12"),
            ("Signature = TOK13", "TOK13"),
            ("a%20Signature=TOK14", "TOK14"),
            ("SecurityToken%3Da SecurityToken%25253DTOK15", "TOK15"),
            // An empty value does not swallow the next line's name.
            ("x-amz-security-token:\nx-amz-security-token: TOK16", "TOK16"),
            ("{\"Token\":\nx-amz-security-token: TOK17", "TOK17"),
            ("<x-amz-security-token:TOK18 a>", "TOK18"),
        ] {
            let shown = text(raw);
            assert!(!shown.contains(secret), "{raw} -> {shown}");
        }
        // A credential document's names are words too: only their JSON and XML
        // forms are secrets.
        let words = "invalid token: the TTL is out of range";
        assert_eq!(text(words), words);
        // Nothing to hide: an empty value stays empty.
        assert_eq!(text("Signature=&Action=X"), "Signature=&Action=X");
        // A secret shown as written is redacted where it is; the rest stays encoded.
        let mixed = "Signature=abc&Path=%2Fa%3Db";
        assert_eq!(text(mixed), "Signature=<redacted>&Path=%2Fa%3Db");
    }

    #[test]
    fn a_url_s_userinfo_is_removed_from_text_and_from_an_exchange_s_endpoint() {
        let shown = text("cannot reach http://zqxuser:ZQXPASS@127.0.0.1:9: connection refused");
        assert_eq!(
            shown,
            "cannot reach http://<redacted>@127.0.0.1:9: connection refused"
        );
        assert_eq!(text(&shown), shown);
        // Percent-encoded in a query that echoes it, and with other secrets.
        let echoed = text("redirect=http%3A%2F%2Fu%3AZQXPASS2%40h%2F&Signature=ZQXSIG");
        assert!(
            !echoed.contains("ZQXPASS2") && !echoed.contains("ZQXSIG"),
            "{echoed}"
        );
        let req = crate::wire::HttpRequest {
            method: "POST".into(),
            path_and_query: "/".into(),
            headers: vec![("Host".into(), "127.0.0.1:9".into())],
            body: b"Action=X".to_vec(),
        };
        let ex = super::super::Exchange::record("http://u:ZQXPASS3@127.0.0.1:9", &req, None);
        assert_eq!(ex.endpoint, "http://<redacted>@127.0.0.1:9");
        // A URL without userinfo, and an `@` elsewhere, stay as they are.
        for plain in [
            "http://127.0.0.1:9/a@b",
            "ask admin@example.com at http://h",
        ] {
            assert_eq!(text(plain), plain);
        }
    }

    #[test]
    fn an_authorization_header_echoed_in_a_line_hides_itself_and_no_more() {
        let echoed = "got POST / authorization: AWS4-HMAC-SHA256 Credential=AKIDZQX/20261201/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=ZQXSIG | x-amz-date: 20261201T025820Z | x-amz-security-token: ZQXTOK | body Action=ModifyInstanceMetadataOptions&InstanceId=i-1";
        assert_eq!(
            text(echoed),
            "got POST / authorization: <redacted> | x-amz-date: 20261201T025820Z | x-amz-security-token: <redacted> | body Action=ModifyInstanceMetadataOptions&InstanceId=i-1"
        );
        // Alibaba's V3 header; one without a signature still hides its whole line.
        assert_eq!(
            text("Authorization: ACS3-HMAC-SHA256 Credential=LTAIZQX,SignedHeaders=host,Signature=ab12 x-acs-date: d"),
            "Authorization: <redacted> x-acs-date: d"
        );
        assert_eq!(
            text("authorization: Bearer ZQXBEARER and more\nnext line"),
            "authorization: <redacted>\nnext line"
        );
        // Spaces after "Signature=" are not its end; an empty one hides the line.
        for spaced in [
            "authorization: AWS4-HMAC-SHA256 Credential=AKIDZQX/x, SignedHeaders=host, Signature= ZQXSIG2 | x",
            "authorization: AWS4-HMAC-SHA256 Credential=AKIDZQX/x, Signature=, ZQXSIG3",
        ] {
            let shown = text(spaced);
            assert!(!shown.contains("ZQXSIG"), "{shown}");
        }
    }

    /// A metadata service's session token, echoed by a service under test in an
    /// answer's header or body, is redacted; the TTL header beside it is not.
    #[test]
    fn a_metadata_service_token_echoed_in_an_answer_is_removed() {
        let shown = headers(&[
            ("X-aws-ec2-metadata-token".into(), "ZQXIMDS1".into()),
            ("x-aliyun-ecs-metadata-token".into(), "ZQXIMDS2".into()),
            (
                "X-aws-ec2-metadata-token-ttl-seconds".into(),
                "21600".into(),
            ),
        ]);
        assert_eq!(
            shown,
            [
                ("X-aws-ec2-metadata-token".to_string(), REDACTED.to_string()),
                ("x-aliyun-ecs-metadata-token".into(), REDACTED.into()),
                (
                    "X-aws-ec2-metadata-token-ttl-seconds".into(),
                    "21600".into()
                ),
            ]
        );
        assert_eq!(
            text("401: X-aws-ec2-metadata-token: ZQXIMDS3 is expired\nX-aws-ec2-metadata-token-ttl-seconds: 60"),
            "401: X-aws-ec2-metadata-token: <redacted> is expired\nX-aws-ec2-metadata-token-ttl-seconds: 60"
        );
    }

    /// What services say about tokens and signatures, with no secret in it, stays
    /// as it is: it is the evidence of a departure.
    #[test]
    fn messages_about_tokens_and_signatures_are_not_redacted() {
        for message in [
            "Token: expired",
            "<Message>Token: expired</Message>",
            r#"{"__type":"ExpiredTokenException","message":"Token: expired"}"#,
            "The security token included in the request is expired",
            "Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z (20260101T001000Z - 5 min.)",
            "Specified signature is not matched with our calculation.",
            "The request signature we calculated does not match the signature you provided.",
            "Specified AccessKeyId is not found.",
            "invalid SessionToken: expired",
        ] {
            assert_eq!(text(message), message);
        }
    }

    proptest::proptest! {
        /// Redacting redacted text changes nothing (records are scrubbed again
        /// each time a report is written).
        #[test]
        fn redaction_is_idempotent(parts in proptest::collection::vec(proptest::sample::select(vec![
            "Signature=", "SecurityToken%3D", "SecurityToken%253D", "x-amz-security-token:",
            "Authorization: AWS4 Credential=a/b, Signature=c", "\"Token\": \"", "<Token>", "</Token>",
            "\\n", "\n", " ", "&", "=", ":", "%", "%25", "abc", "<redacted>", "'", "\"", "token",
            "é", "httpTokens", "<Token a=\"Signature=x\">", "<ns:Token>", "<![CDATA[", "]]>",
            "\\u0026", "\\\"", "[", "\\/", "%20", "%2525", "Credential=", " = ",
            "http://", "u:p@", "@", "%40", "%3A%2F%2F",
        ]), 0..12)) {
            let s: String = parts.concat();
            let once = text(&s);
            proptest::prop_assert_eq!(text(&once), once.clone(), "from {:?}", s);
        }
    }
}
