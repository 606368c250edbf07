//! The redaction target: a target's answer is text the suite does not control, and
//! every report shows it through [`redact::text`]. Whatever the text, redacting it
//! must not panic, must be idempotent (reports are redacted again on every write
//! and read), and must still hide a session token planted on a line after it.

use crate::verdict::redact;

/// The token planted after the input: it must never show.
const PLANTED: &str = "FUZZ-PLANTED-TOKEN-7f3a";

/// Panics on a finding: not idempotent, or the planted token shows.
pub fn redact_text(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let once = redact::text(&s);
    assert_eq!(redact::text(&once), once, "not idempotent on {s:?}");
    if holds_planted(&s) {
        // The fuzzer learns the constant: an input that shows it itself (as
        // written or percent-encoded) cannot tell whether the planted one showed.
        return;
    }
    let planted = format!("{s}\nx-amz-security-token: {PLANTED}\n");
    let shown = redact::text(&planted);
    assert!(
        !shown.contains(PLANTED),
        "a token on the line after {s:?} shows: {shown:?}"
    );
}

/// Whether `s`, percent-decoded as far as it goes, holds the planted token.
fn holds_planted(s: &str) -> bool {
    let mut view = s.to_string();
    loop {
        if view.contains(PLANTED) {
            return true;
        }
        let next = percent_encoding::percent_decode_str(&view)
            .decode_utf8_lossy()
            .into_owned();
        if next == view {
            return false;
        }
        view = next;
    }
}

/// Seeds: answers that echo what was signed, as the services write them.
pub const SEEDS: &[&str] = &[
    "<Response><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The canonical string for this request should have been 'POST\n/\n\nhost:ec2.amazonaws.com\nx-amz-security-token:IQoJb3JpZ2lu\n' Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, Signature=ab</Message></Error></Errors></Response>",
    r#"{"__type":"InvalidSignatureException","message":"The canonical string for this request should have been 'POST\n/\n\nx-amz-security-token:IQoJ\u0026a=b\n'"}"#,
    r#"{"RequestId":"R","Code":"IncompleteSignature","Message":"server string to sign is:POST&%2F&AccessKeyId%3DLTAI%26SecurityToken%3Dsts%253Dx"}"#,
    r#"{"Code":"Success","AccessKeyId":"ASIA","SecretAccessKey":"s","Token":"IQo\/J","Expiration":"2026-01-01T00:00:00Z"}"#,
    "<AssumeRoleResult><Credentials><sts:SessionToken><![CDATA[t]]></sts:SessionToken><Token a=\"Signature=x\">y</Token></Credentials></AssumeRoleResult>",
    // An endpoint's userinfo, as written, encoded, and one URL inside another's
    // authority; an Authorization header echoed on one line with what followed it.
    "cannot reach http://u:p@127.0.0.1:9/: refused; redirect=http%3A%2F%2Fu%3Ap%40h%2F <@://u:p@://u:p@",
    "got POST / authorization: AWS4-HMAC-SHA256 Credential=AKID/x, Signature=ab | x-amz-date: d | body Action=X",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_holding_the_planted_token_is_not_judged_on_it() {
        assert!(holds_planted(&format!("a {PLANTED} b")));
        assert!(holds_planted("FUZZ-PLANTED-TOKEN%2D7f3a"));
        redact_text(format!("x {PLANTED}").as_bytes());
        assert!(!holds_planted("x-amz-security-token: y"));
    }

    #[test]
    fn the_seeds_pass() {
        for s in SEEDS {
            redact_text(s.as_bytes());
        }
    }
}
