//! Redaction: secrets never reach a report, a snapshot or a reproducer. Signatures
//! and session tokens are replaced; access key ids keep only a short prefix.
#![warn(missing_docs)]

use crate::wire::credentials::{self, SECRET_HEADERS};

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

/// Redact a form body; any other body is returned as is.
pub fn form_or_text(body: &str) -> String {
    if body.contains('=') && !body.trim_start().starts_with(['{', '<']) {
        pairs(body)
    } else {
        body.to_string()
    }
}

fn pairs(q: &str) -> String {
    credentials::mask_secret_params(q, REDACTED)
}

/// Redact the values of secret parameters (`Name=value`, or a header's
/// `name: value`) anywhere in free text, such as an error message that echoes a
/// query, a header or a string-to-sign; text that is percent-encoded once
/// (`SecurityToken%3D…`) is decoded first.
pub fn text(s: &str) -> String {
    static NAME: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    // A name and its separator; the value is what follows, up to a delimiter.
    let name = NAME.get_or_init(|| {
        regex::Regex::new(r"([A-Za-z0-9_.%-]+)(?:=|: ?)").expect("a valid pattern")
    });
    let encoded = s.contains("%3D") || s.contains("%3d");
    let decoded = if encoded {
        percent_encoding::percent_decode_str(s).decode_utf8_lossy()
    } else {
        std::borrow::Cow::Borrowed(s)
    };
    let mut out = String::with_capacity(decoded.len());
    let mut done = 0;
    for c in name.captures_iter(&decoded) {
        let whole = c.get(0).expect("group 0");
        if whole.start() < done || !is_secret_param(&c[1]) {
            continue;
        }
        let value_end = decoded[whole.end()..]
            .find(|ch: char| ch.is_whitespace() || "&,;\"'<>".contains(ch))
            .map_or(decoded.len(), |i| whole.end() + i);
        out.push_str(&decoded[done..whole.end()]);
        out.push_str(REDACTED);
        done = value_end;
    }
    out.push_str(&decoded[done..]);
    out
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
}
