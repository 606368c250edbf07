//! Credentials from the standard environment variables, with secrets that never
//! print: `Debug` and `Display` of a [`Secret`] show `***`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Headers whose values carry a signature or a token (lower-case): a request's,
/// and the session tokens of the metadata services (the tables' `[data_plane]
/// token_header`), which a service under test may echo in an answer's headers.
pub const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "x-amz-security-token",
    "x-acs-security-token",
    "x-acs-signature",
    "x-aws-ec2-metadata-token",
    "x-aliyun-ecs-metadata-token",
];

/// Query/form parameters whose values carry a signature, a token or a key id.
pub const SECRET_PARAMS: &[&str] = &[
    "Signature",
    "SecurityToken",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "X-Amz-Credential",
    "AccessKeyId",
];

/// Names whose value is secret wherever text shows them (`Name=value`), though no
/// request carries them as a parameter: an AWS credential scope (`Credential=AKID…`,
/// quoted from an `Authorization` header).
pub const SECRET_WORDS: &[&str] = &["Credential"];

/// What a credential document holds (an instance role's credentials, an STS or
/// Alibaba answer): secret as a JSON member or an XML element, not as a word in
/// free text ("invalid token: …").
pub const DOCUMENT_SECRETS: &[&str] = &[
    "Token",
    "SessionToken",
    "SecretAccessKey",
    "AccessKeySecret",
];

/// Secret headers whose value runs to the end of their line (scheme, credential,
/// signed headers, signature).
pub const WHOLE_LINE_SECRETS: &[&str] = &["authorization"];

/// Whether a query or form parameter name is one of [`SECRET_PARAMS`], compared the
/// way a server could read it: percent-decoded (`%53ignature`) and ignoring ASCII
/// case (`signature`). A name whose encoding is broken is compared as written.
pub fn is_secret_param(name: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
    SECRET_PARAMS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name) || p.eq_ignore_ascii_case(decoded.trim()))
}

/// A query string or form body with the value of every secret parameter
/// ([`is_secret_param`]) replaced by `mask`.
pub fn mask_secret_params(pairs: &str, mask: &str) -> String {
    pairs
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_param(k) => format!("{k}={mask}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `text` with the userinfo of every URL it shows (`http://user:password@host`,
/// which reqwest sends as Basic authentication) replaced by `mask`; `None` when it
/// shows none. The userinfo runs from `://` to the last `@` before the authority
/// ends (at `/`, `?`, `#`, a space, a quote, `<`, `>` or a backslash), as a URL
/// parser reads it: a password may hold an `@`. The user goes too (a token is
/// often sent as the user alone). A masked URL is not masked again.
pub fn mask_userinfo(text: &str, mask: &str) -> Option<String> {
    let mut out = String::new();
    let mut done = 0;
    let mut from = 0;
    while let Some(i) = text[from..].find("://") {
        let start = from + i + "://".len();
        let authority_len = text[start..]
            .find(|c: char| c.is_whitespace() || "/?#\"'<>\\".contains(c))
            .unwrap_or(text.len() - start);
        let authority = &text[start..start + authority_len];
        // (A `://` inside a masked userinfo cannot be: the authority ends at `/`.)
        if let Some(at) = authority.rfind('@').filter(|&at| at > 0 && start >= done) {
            out.push_str(&text[done..start]);
            out.push_str(mask);
            done = start + at;
        }
        // The next URL may start inside this one's authority, which ends at its
        // `/` (`http://a@://b:c@h`): look again right after this `://`.
        from = start;
    }
    if done == 0 {
        return None;
    }
    out.push_str(&text[done..]);
    Some(out)
}

/// A secret string (secret access key, session token). Its `Debug` and `Display`
/// are redacted so it cannot reach a log, a report or an error message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself; call only where it is used to sign or verify.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// An access key pair, optionally with a session (STS) token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id (not secret; shown shortened in reports).
    pub access_key_id: String,
    /// The secret access key.
    pub secret: Secret,
    /// The session (STS) token, if any.
    pub session_token: Option<Secret>,
}

/// Which environment variables hold an API's credentials (a spec-table fact:
/// `[api] credentials`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvNames {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret: String,
    /// The session (STS) token, where the cloud has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
}

impl EnvNames {
    /// The variables that must be set, for an error message: `A and B`.
    pub fn required(&self) -> String {
        format!("{} and {}", self.access_key_id, self.secret)
    }

    /// Every name given, the session token's last.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        [&self.access_key_id, &self.secret]
            .into_iter()
            .chain(&self.session_token)
    }
}

/// A portable environment variable name (`[A-Za-z_][A-Za-z0-9_]*`): one a shell
/// expands as `$NAME` and nothing more.
pub fn is_variable_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Credentials {
    /// A key pair without a session token.
    pub fn new(access_key_id: impl Into<String>, secret: impl Into<String>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret: Secret::new(secret),
            session_token: None,
        }
    }

    /// The same credentials with a session token.
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(Secret::new(token));
        self
    }

    /// Read credentials through `get` (normally `std::env::var`); `None` when the key
    /// id or the secret is missing or empty.
    pub fn from_lookup(names: &EnvNames, get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let id = get(&names.access_key_id).filter(|s| !s.is_empty())?;
        let secret = get(&names.secret).filter(|s| !s.is_empty())?;
        let token = names
            .session_token
            .as_deref()
            .and_then(&get)
            .filter(|s| !s.is_empty());
        Some(Credentials {
            access_key_id: id,
            secret: Secret::new(secret),
            session_token: token.map(Secret::new),
        })
    }

    /// Read credentials from the process environment.
    pub fn from_env(names: &EnvNames) -> Option<Self> {
        Self::from_lookup(names, |k| std::env::var(k).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let c = Credentials::new("AKID", "s3cr3t-value").with_session_token("tok-en-value");
        let shown = format!("{c:?} {} {}", c.secret, c.session_token.as_ref().unwrap());
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(!shown.contains("tok-en-value"), "{shown}");
        assert!(shown.contains("AKID"));
    }

    fn names(id: &str, secret: &str, token: &str) -> EnvNames {
        EnvNames {
            access_key_id: id.into(),
            secret: secret.into(),
            session_token: Some(token.into()),
        }
    }

    #[test]
    fn secret_parameters_are_found_in_any_case_and_encoding() {
        for name in [
            "Signature",
            "signature",
            "SIGNATURE",
            "%53ignature",
            "%73ignature",
            "Signatur%65",
            "x-amz-signature",
            "X-Amz-Security-Token",
            "securitytoken",
            "accesskeyid",
            "Access%4BeyId",
        ] {
            assert!(is_secret_param(name), "{name}");
        }
        for name in [
            "Action",
            "SignatureNonce",
            "SignatureMethod",
            "%zzSignature",
            "",
        ] {
            assert!(!is_secret_param(name), "{name}");
        }
        assert_eq!(
            mask_secret_params("A=1&%53ignature=abc&signature=def&B=2", "***"),
            "A=1&%53ignature=***&signature=***&B=2"
        );
    }

    #[test]
    fn the_userinfo_of_a_url_is_masked_password_and_user() {
        let m = |s: &str| mask_userinfo(s, "<m>");
        assert_eq!(
            m("cannot reach http://user:pw@127.0.0.1:5/x?a=b@c").as_deref(),
            Some("cannot reach http://<m>@127.0.0.1:5/x?a=b@c")
        );
        // A password with an `@` in it; a token as the user alone; two URLs.
        assert_eq!(
            m("https://u:p@ss@h https://tok@h2:1").as_deref(),
            Some("https://<m>@h https://<m>@h2:1")
        );
        assert_eq!(
            m("\"endpoint\": \"http://u:p@h\"").as_deref(),
            Some("\"endpoint\": \"http://<m>@h\"")
        );
        // A URL that starts inside another's authority (found by a fuzzing run:
        // its userinfo showed until the text was redacted a second time).
        assert_eq!(
            m("<@://u:p@://u:p@\\n").as_deref(),
            Some("<@://<m>@://<m>@\\n")
        );
        // Nothing to mask, and a masked URL is left as it is.
        for plain in [
            "http://127.0.0.1:5/a@b",
            "mail me@x",
            "http://@h",
            "a://",
            "http://<m>@h",
        ] {
            assert_eq!(m(plain), None, "{plain}");
        }
    }

    #[test]
    fn lookup_requires_key_and_secret() {
        let aws = names(
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        );
        let alibaba = names(
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "ALIBABA_CLOUD_SECURITY_TOKEN",
        );
        let env = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("AKID".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some(String::new()),
            _ => None,
        };
        assert!(Credentials::from_lookup(&aws, env).is_none());
        let env = |k: &str| match k {
            "ALIBABA_CLOUD_ACCESS_KEY_ID" => Some("id".to_string()),
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET" => Some("sec".to_string()),
            "ALIBABA_CLOUD_SECURITY_TOKEN" => Some("tok".to_string()),
            _ => None,
        };
        let c = Credentials::from_lookup(&alibaba, env).unwrap();
        assert_eq!(c.access_key_id, "id");
        assert_eq!(c.session_token.unwrap().expose(), "tok");
    }
}

#[cfg(test)]
mod request_debug_tests {
    use crate::wire::HttpRequest;

    #[test]
    fn a_signed_request_debugs_without_its_secrets() {
        let req = HttpRequest {
            method: "GET".into(),
            path_and_query: "/?Action=X&AccessKeyId=testid&SecurityToken=TOKEN123&Signature=SIG456"
                .into(),
            headers: vec![
                (
                    "Authorization".into(),
                    "AWS4-HMAC-SHA256 Credential=AKIDX/…, Signature=abc999".into(),
                ),
                ("X-Amz-Security-Token".into(), "TOKEN789".into()),
                ("Host".into(), "example".into()),
            ],
            body: b"SecurityToken=TOKENBODY&A=1".to_vec(),
        };
        let shown = format!("{req:?}");
        for secret in [
            "TOKEN123",
            "SIG456",
            "abc999",
            "TOKEN789",
            "TOKENBODY",
            "testid",
            "AKIDX",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("Action=X") && shown.contains("example") && shown.contains("A=1"),
            "{shown}"
        );
    }
}
