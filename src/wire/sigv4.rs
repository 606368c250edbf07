//! AWS Signature Version 4: signing (client side) and verifying (emulator side).
//!
//! Signing delegates to the `aws-sigv4` crate so requests are signed exactly as the
//! AWS SDKs sign them. Verifying is written here by hand (the crate has no verifier):
//! it rebuilds the canonical request from what arrived, derives the signing key
//! through the HMAC chain and compares signatures in constant time. Both the
//! `Authorization` header form and the presigned query form (`X-Amz-Signature`) are
//! accepted. Secrets are only touched through [`Secret::expose`] and never appear in
//! an error.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{sign as aws_sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{AuthError, Credentials, EncodeError, Endpoint, HttpRequest, Secret, VerifiedAuth};

/// The SigV4 algorithm name, the first word of its `Authorization` header.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// AWS refuses presigned URLs that claim to live longer than seven days.
const MAX_PRESIGNED_SECS: u64 = 7 * 24 * 3600;

/// The RFC 3986 unreserved set, which SigV4 leaves unescaped.
const SIGV4_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Sign `req` in place with header-based SigV4: adds `X-Amz-Date`, `Authorization`
/// and, with a session token, `X-Amz-Security-Token`.
pub fn sign(
    req: &mut HttpRequest,
    ep: &Endpoint,
    creds: &Credentials,
    time: SystemTime,
) -> Result<(), EncodeError> {
    let identity = aws_credential_types::Credentials::new(
        creds.access_key_id.clone(),
        creds.secret.expose().to_string(),
        creds.session_token.as_ref().map(|t| t.expose().to_string()),
        None,
        "imds-conform",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&ep.region)
        .name(&ep.signing_name)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| EncodeError::Invalid(format!("signing parameters: {e}")))?
        .into();
    let uri = format!("{}{}", ep.url, req.path_and_query);
    let signable = SignableRequest::new(
        &req.method,
        uri,
        req.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(&req.body),
    )
    .map_err(|e| EncodeError::Invalid(format!("cannot sign request: {e}")))?;
    let (instructions, _signature) = aws_sign(signable, &params)
        .map_err(|e| EncodeError::Invalid(format!("cannot sign request: {e}")))?
        .into_parts();
    for (name, value) in instructions.headers() {
        req.set_header(name, value);
    }
    Ok(())
}

/// The signature claim of a request, from the header or the query string.
struct Claim {
    access_key_id: String,
    date: String,
    region: String,
    service: String,
    signed_headers: String,
    signature: String,
    amz_date: String,
    /// Presigned URLs carry their own lifetime.
    expires: Option<u64>,
    presigned: bool,
}

/// Server side: check the SigV4 signature of `req`.
///
/// `secret_for` maps an access key id to its secret; `now` and `max_skew` bound the
/// request time (for presigned requests, `X-Amz-Expires` bounds it too).
pub fn verify(
    req: &HttpRequest,
    secret_for: &dyn Fn(&str) -> Option<Secret>,
    now: SystemTime,
    max_skew: Duration,
) -> Result<VerifiedAuth, AuthError> {
    verify_with(req, secret_for, now, max_skew, None)
}

/// [`verify`], deriving the signing key through `keys` (a server verifying many
/// requests of the same keys and day: the HMAC chain is most of a verification).
pub fn verify_with(
    req: &HttpRequest,
    secret_for: &dyn Fn(&str) -> Option<Secret>,
    now: SystemTime,
    max_skew: Duration,
    keys: Option<&KeyCache>,
) -> Result<VerifiedAuth, AuthError> {
    let claim = read_claim(req)?;
    let secret = secret_for(&claim.access_key_id).ok_or(AuthError::UnknownAccessKey)?;
    check_time(&claim, now, max_skew)?;
    let payload_hash = payload_hash(req)?;
    let canonical = canonical_request(req, &claim, &payload_hash)?;
    let scope = format!(
        "{}/{}/{}/aws4_request",
        claim.date, claim.region, claim.service
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{scope}\n{}",
        claim.amz_date,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = match keys {
        Some(cache) => cache.key(&secret, &claim),
        None => signing_key(&secret, &claim.date, &claim.region, &claim.service),
    };
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    let given = claim.signature.to_ascii_lowercase();
    if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
        Ok(VerifiedAuth {
            access_key_id: claim.access_key_id,
            region: claim.region,
            service: claim.service,
        })
    } else {
        Err(AuthError::SignatureMismatch)
    }
}

fn read_claim(req: &HttpRequest) -> Result<Claim, AuthError> {
    if let Some(auth) = req.header("Authorization") {
        return header_claim(req, auth);
    }
    let query = query_pairs(req.query());
    if query
        .iter()
        .any(|(k, _)| k == "X-Amz-Signature" || k == "X-Amz-Algorithm")
    {
        return query_claim(&query);
    }
    Err(AuthError::Missing)
}

fn header_claim(req: &HttpRequest, auth: &str) -> Result<Claim, AuthError> {
    let rest = auth
        .trim()
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| AuthError::Malformed("unsupported algorithm".into()))?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| AuthError::Malformed("Authorization field without '='".into()))?;
        match k {
            "Credential" => credential = Some(v.to_string()),
            "SignedHeaders" => signed_headers = Some(v.to_string()),
            "Signature" => signature = Some(v.to_string()),
            _ => return Err(AuthError::Malformed(format!("unknown field {k:?}"))),
        }
    }
    let amz_date = req
        .header("X-Amz-Date")
        .ok_or_else(|| AuthError::Malformed("missing X-Amz-Date".into()))?;
    build_claim(
        credential,
        signed_headers,
        signature,
        amz_date.trim(),
        None,
        false,
    )
}

fn query_claim(query: &[(String, String)]) -> Result<Claim, AuthError> {
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if get("X-Amz-Algorithm").as_deref() != Some(ALGORITHM) {
        return Err(AuthError::Malformed("unsupported algorithm".into()));
    }
    let amz_date =
        get("X-Amz-Date").ok_or_else(|| AuthError::Malformed("missing X-Amz-Date".into()))?;
    let expires = match get("X-Amz-Expires") {
        Some(e) => Some(
            e.parse::<u64>()
                .ok()
                .filter(|secs| *secs <= MAX_PRESIGNED_SECS)
                .ok_or_else(|| AuthError::Malformed("bad X-Amz-Expires".into()))?,
        ),
        None => None,
    };
    build_claim(
        get("X-Amz-Credential"),
        get("X-Amz-SignedHeaders"),
        get("X-Amz-Signature"),
        &amz_date,
        expires,
        true,
    )
}

fn build_claim(
    credential: Option<String>,
    signed_headers: Option<String>,
    signature: Option<String>,
    amz_date: &str,
    expires: Option<u64>,
    presigned: bool,
) -> Result<Claim, AuthError> {
    let missing = |what: &str| AuthError::Malformed(format!("missing {what}"));
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed_headers = signed_headers.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    // AKID/date/region/service/aws4_request; split from the right so the scope is
    // exact and anything before it is the key id.
    let mut parts = credential.rsplitn(5, '/');
    let terminator = parts.next().unwrap_or_default();
    let service = parts.next().unwrap_or_default().to_string();
    let region = parts.next().unwrap_or_default().to_string();
    let date = parts.next().unwrap_or_default().to_string();
    let access_key_id = parts.next().unwrap_or_default().to_string();
    if terminator != "aws4_request" || access_key_id.is_empty() || service.is_empty() {
        return Err(AuthError::Malformed("bad credential scope".into()));
    }
    if !amz_date.starts_with(&date) || date.len() != 8 {
        return Err(AuthError::Malformed(
            "credential date differs from X-Amz-Date".into(),
        ));
    }
    if signed_headers.is_empty() || signature.is_empty() {
        return Err(AuthError::Malformed(
            "empty SignedHeaders or Signature".into(),
        ));
    }
    Ok(Claim {
        access_key_id,
        date,
        region,
        service,
        signed_headers,
        signature,
        amz_date: amz_date.to_string(),
        expires,
        presigned,
    })
}

fn check_time(claim: &Claim, now: SystemTime, max_skew: Duration) -> Result<(), AuthError> {
    let signed_at = NaiveDateTime::parse_from_str(&claim.amz_date, DATE_FORMAT)
        .map_err(|_| AuthError::Malformed("bad X-Amz-Date".into()))?
        .and_utc();
    let now: DateTime<Utc> = now.into();
    let skew = chrono::Duration::from_std(max_skew).unwrap_or(chrono::Duration::MAX);
    // Signed too far in the future, or (header form) too long ago.
    if signed_at - now > skew {
        return Err(AuthError::Expired);
    }
    let lifetime = match claim.expires {
        Some(secs) => i64::try_from(secs)
            .ok()
            .and_then(chrono::Duration::try_seconds)
            .unwrap_or(chrono::Duration::MAX),
        None => skew,
    };
    if now - signed_at > lifetime {
        return Err(AuthError::Expired);
    }
    Ok(())
}

/// The hash of the body. A client may send it as `x-amz-content-sha256`; when it
/// does, it must be the real hash, or a body could be swapped under a valid signature.
fn payload_hash(req: &HttpRequest) -> Result<String, AuthError> {
    let actual = hex::encode(Sha256::digest(&req.body));
    match req.header("x-amz-content-sha256") {
        Some(claimed) if !claimed.trim().eq_ignore_ascii_case(&actual) => {
            Err(AuthError::SignatureMismatch)
        }
        _ => Ok(actual),
    }
}

fn canonical_request(
    req: &HttpRequest,
    claim: &Claim,
    payload_hash: &str,
) -> Result<String, AuthError> {
    let mut out = String::new();
    out.push_str(&req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.path()));
    out.push('\n');
    out.push_str(&canonical_query(req.query(), claim.presigned));
    out.push('\n');
    for name in claim.signed_headers.split(';') {
        let value = canonical_header_value(req, name).ok_or(AuthError::SignatureMismatch)?;
        out.push_str(&name.to_ascii_lowercase());
        out.push(':');
        out.push_str(&value);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&claim.signed_headers);
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

/// Normalized (RFC 3986 dot segments removed, empty segments dropped) and encoded
/// once more, as every AWS service but S3 expects: the path as sent is already
/// percent-encoded, and the canonical form encodes it again.
pub fn canonical_uri(path: &str) -> String {
    let normalized = normalize_path(path);
    normalized
        .split('/')
        .map(|seg| utf8_percent_encode(seg, SIGV4_ESCAPE).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = format!("/{}", segments.join("/"));
    let trailing = ["/", "/.", "/..", "/./", "/../"]
        .iter()
        .any(|s| path.ends_with(s));
    if trailing && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// Query parameters decoded and re-encoded with the unreserved set, sorted by name
/// then value; a presigned request's own signature is left out.
fn canonical_query(query: &str, presigned: bool) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(query)
        .into_iter()
        .filter(|(k, _)| !(presigned && k == "X-Amz-Signature"))
        .map(|(k, v)| {
            (
                utf8_percent_encode(&k, SIGV4_ESCAPE).to_string(),
                utf8_percent_encode(&v, SIGV4_ESCAPE).to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Decoded query pairs. Only `%XX` is decoded (a `+` stays a plus), matching how the
/// signer treats the query; invalid UTF-8 is kept lossily, which can only make the
/// signature fail, never pass wrongly.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|seg| {
            let (k, v) = seg.split_once('=').unwrap_or((seg, ""));
            (
                percent_decode_str(k).decode_utf8_lossy().into_owned(),
                percent_decode_str(v).decode_utf8_lossy().into_owned(),
            )
        })
        .collect()
}

/// All values of header `name`, each trimmed with inner whitespace runs collapsed
/// (this also unfolds obsolete multi-line headers), joined by `,` in arrival order.
fn canonical_header_value(req: &HttpRequest, name: &str) -> Option<String> {
    let values: Vec<String> = req
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    if values.is_empty() {
        None
    } else {
        Some(values.join(","))
    }
}

type HmacSha256 = Hmac<Sha256>;

/// Signing keys derived so far, by (access key id, date, region, service), each
/// with the secret it was derived from (a changed secret derives again). Bounded:
/// past [`KeyCache::CAPACITY`] entries it starts over, so claims naming ever new
/// regions or services cannot grow it. Only keys of known access keys enter it.
#[derive(Default)]
pub struct KeyCache {
    keys: std::sync::Mutex<std::collections::HashMap<KeyScope, (Secret, Vec<u8>)>>,
}

/// (access key id, date, region, service).
type KeyScope = [String; 4];

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyCache")
    }
}

impl KeyCache {
    pub const CAPACITY: usize = 64;

    fn key(&self, secret: &Secret, claim: &Claim) -> Vec<u8> {
        let id = [
            claim.access_key_id.clone(),
            claim.date.clone(),
            claim.region.clone(),
            claim.service.clone(),
        ];
        // A poisoned lock only means another thread panicked mid-insert: the map
        // is still a valid map.
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((s, key)) = keys.get(&id) {
            if s.expose() == secret.expose() {
                return key.clone();
            }
        }
        let key = signing_key(secret, &claim.date, &claim.region, &claim.service);
        if keys.len() >= Self::CAPACITY {
            keys.clear();
        }
        keys.insert(id, (secret.clone(), key.clone()));
        key
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn signing_key(secret: &Secret, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(
        format!("AWS4{}", secret.expose()).as_bytes(),
        date.as_bytes(),
    );
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalize_like_the_test_suite() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("//example//"), "/example/");
        assert_eq!(canonical_uri("/example/.."), "/");
        assert_eq!(canonical_uri("/./example"), "/example");
        assert_eq!(canonical_uri("/example space/"), "/example%20space/");
        assert_eq!(canonical_uri("/a%3Ab"), "/a%253Ab");
    }

    #[test]
    fn query_is_sorted_and_reencoded() {
        assert_eq!(
            canonical_query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1", false),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
        );
        assert_eq!(canonical_query("a&b=", false), "a=&b=");
    }

    fn claim(region: &str) -> Claim {
        Claim {
            access_key_id: "AKID".into(),
            date: "20261129".into(),
            region: region.into(),
            service: "ec2".into(),
            signed_headers: "host".into(),
            signature: String::new(),
            amz_date: "20261129T000000Z".into(),
            expires: None,
            presigned: false,
        }
    }

    #[test]
    fn cached_keys_are_the_derived_ones_and_follow_the_secret() {
        let cache = KeyCache::default();
        let (one, two) = (Secret::new("secret-one"), Secret::new("secret-two"));
        let c = claim("us-east-1");
        let derived = signing_key(&one, "20261129", "us-east-1", "ec2");
        assert_eq!(cache.key(&one, &c), derived);
        assert_eq!(cache.key(&one, &c), derived, "from the cache");
        let other = signing_key(&two, "20261129", "us-east-1", "ec2");
        assert_ne!(derived, other);
        assert_eq!(cache.key(&two, &c), other, "a changed secret derives again");
        assert_eq!(
            cache.key(&one, &claim("eu-west-1")),
            signing_key(&one, "20261129", "eu-west-1", "ec2")
        );
    }

    #[test]
    fn the_key_cache_stays_bounded() {
        let cache = KeyCache::default();
        let secret = Secret::new("s");
        for i in 0..(3 * KeyCache::CAPACITY) {
            cache.key(&secret, &claim(&format!("region-{i}")));
            let len = cache.keys.lock().map(|k| k.len()).unwrap_or(usize::MAX);
            assert!(len <= KeyCache::CAPACITY, "{len} keys kept");
        }
    }
}
