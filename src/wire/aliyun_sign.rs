//! Alibaba Cloud request signing, both directions: signature V1 (HMAC-SHA1 over the
//! sorted parameters, RPC style) and V3 (`ACS3-HMAC-SHA256` in the `Authorization`
//! header), plus the server-side [`verify`] the emulator uses and a bounded
//! [`NonceCache`] for replay protection.
//!
//! The pure pieces (`v1_*`, `v3_*`) are public so the published test vectors can be
//! checked against them directly. Secrets are only ever touched through
//! [`Secret::expose`] at the point of use and never enter an error message.
//!
//! Canonical ordering, decided here and used by both signer and verifier: parameters
//! are sorted by name, then by value, comparing the *decoded* UTF-8 bytes (that is,
//! code-point order). Duplicate names therefore sort deterministically.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::aliyun_rpc::{parse_params, percent_encode, request_params};
use super::{AuthError, Credentials, EncodeError, HttpRequest, Secret, VerifiedAuth};

/// `Timestamp` / `x-acs-date` format: ISO 8601 in UTC, second precision.
pub const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";
/// The V3 algorithm name, also the `Authorization` scheme.
pub const V3_ALGORITHM: &str = "ACS3-HMAC-SHA256";

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

fn format_time(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(time)
        .format(TIME_FORMAT)
        .to_string()
}

fn parse_time(s: &str) -> Option<SystemTime> {
    chrono::NaiveDateTime::parse_from_str(s, TIME_FORMAT)
        .ok()
        .map(|t| SystemTime::from(t.and_utc()))
}

/// Parameters sorted by name, then value (see the module doc).
fn sorted(params: &[(String, String)]) -> Vec<&(String, String)> {
    let mut v: Vec<_> = params.iter().collect();
    v.sort_by(|a, b| (a.0.as_bytes(), a.1.as_bytes()).cmp(&(b.0.as_bytes(), b.1.as_bytes())));
    v
}

fn canonical_query<'a>(params: impl IntoIterator<Item = &'a (String, String)>) -> String {
    params
        .into_iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Append parameters to the request's query string.
fn append_query(req: &mut HttpRequest, params: &[(String, String)]) {
    let extra = canonical_query(params);
    if !req.path_and_query.contains('?') {
        req.path_and_query.push('?');
    } else if !req.path_and_query.ends_with('?') && !req.path_and_query.ends_with('&') {
        req.path_and_query.push('&');
    }
    req.path_and_query.push_str(&extra);
}

fn pair(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

fn params_for_signing(req: &HttpRequest) -> Result<Vec<(String, String)>, EncodeError> {
    request_params(req).map_err(|e| EncodeError::Invalid(e.to_string()))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn check_skew(signed_at: SystemTime, now: SystemTime, max_skew: Duration) -> Result<(), AuthError> {
    let skew = now
        .duration_since(signed_at)
        .or_else(|_| signed_at.duration_since(now))
        .unwrap_or(Duration::MAX);
    if skew > max_skew {
        Err(AuthError::Expired)
    } else {
        Ok(())
    }
}

/// The one value of `name`; absent or repeated is malformed (a repeated signature
/// parameter would make "which one counts" ambiguous).
fn single<'a>(params: &'a [(String, String)], name: &str) -> Result<&'a str, AuthError> {
    let mut values = params
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    match (values.next(), values.next()) {
        (Some(v), None) => Ok(v),
        (None, _) => Err(AuthError::Malformed(format!("missing {name}"))),
        (Some(_), Some(_)) => Err(AuthError::Malformed(format!("{name} given more than once"))),
    }
}

// ---------------------------------------------------------------------------
// Signature V1
// ---------------------------------------------------------------------------

/// `METHOD&%2F&` + percentEncode(canonical query). `params` are the decoded request
/// parameters (query and form body); any `Signature` among them is left out.
pub fn v1_string_to_sign(method: &str, params: &[(String, String)]) -> String {
    let signed: Vec<_> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .cloned()
        .collect();
    let query = canonical_query(sorted(&signed));
    format!("{method}&%2F&{}", percent_encode(&query))
}

/// Base64(HMAC-SHA1(secret + `&`, string_to_sign)).
pub fn v1_signature(secret: &str, string_to_sign: &str) -> String {
    let key = format!("{secret}&");
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key.as_bytes())
        .expect("HMAC-SHA1 takes keys of any length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Sign with V1: append `AccessKeyId`, `SignatureMethod`, `SignatureVersion`,
/// `SignatureNonce`, `Timestamp`, `SecurityToken` (with a session token) and then
/// `Signature` to the query. Form-body parameters take part in the signature too.
pub fn sign_v1(
    req: &mut HttpRequest,
    creds: &Credentials,
    time: SystemTime,
    nonce: &str,
) -> Result<(), EncodeError> {
    let existing = params_for_signing(req)?;
    if existing.iter().any(|(k, _)| k == "Signature") {
        return Err(EncodeError::Invalid(
            "request already carries a Signature".into(),
        ));
    }
    let mut added = vec![
        pair("AccessKeyId", creds.access_key_id.as_str()),
        pair("SignatureMethod", "HMAC-SHA1"),
        pair("SignatureVersion", "1.0"),
        pair("SignatureNonce", nonce),
        pair("Timestamp", format_time(time)),
    ];
    if let Some(token) = &creds.session_token {
        added.push(pair("SecurityToken", token.expose()));
    }
    let all: Vec<_> = existing.into_iter().chain(added.iter().cloned()).collect();
    let string_to_sign = v1_string_to_sign(&req.method, &all);
    added.push(pair(
        "Signature",
        v1_signature(creds.secret.expose(), &string_to_sign),
    ));
    append_query(req, &added);
    Ok(())
}

fn verify_v1(
    req: &HttpRequest,
    params: &[(String, String)],
    checks: Checks<'_>,
) -> Result<VerifiedAuth, AuthError> {
    let signature = single(params, "Signature")?;
    let access_key_id = single(params, "AccessKeyId")?;
    if single(params, "SignatureMethod")? != "HMAC-SHA1" {
        return Err(AuthError::Malformed(
            "SignatureMethod must be HMAC-SHA1".into(),
        ));
    }
    if single(params, "SignatureVersion")? != "1.0" {
        return Err(AuthError::Malformed("SignatureVersion must be 1.0".into()));
    }
    let nonce = single(params, "SignatureNonce")?;
    let signed_at = parse_time(single(params, "Timestamp")?)
        .ok_or_else(|| AuthError::Malformed(format!("Timestamp is not {TIME_FORMAT}")))?;
    let secret = checks.secret(access_key_id, signed_at)?;
    let expected = v1_signature(secret.expose(), &v1_string_to_sign(&req.method, params));
    checks.accept(constant_time_eq(&expected, signature), nonce, access_key_id)
}

/// What a request's signature is checked against: the keys' secrets, the clock
/// and the nonces seen; shared by both signature versions.
struct Checks<'a> {
    secret_for: &'a dyn Fn(&str) -> Option<Secret>,
    now: SystemTime,
    max_skew: Duration,
    nonce_is_fresh: &'a mut dyn FnMut(&str) -> bool,
}

impl Checks<'_> {
    /// The secret of `access_key_id`, once the request's time is within the skew.
    fn secret(&self, access_key_id: &str, signed_at: SystemTime) -> Result<Secret, AuthError> {
        let secret = (self.secret_for)(access_key_id).ok_or(AuthError::UnknownAccessKey)?;
        check_skew(signed_at, self.now, self.max_skew)?;
        Ok(secret)
    }

    /// Accepted when the signature `matches` and only then, so that a forged
    /// request cannot burn a legitimate client's nonce, when the nonce is fresh.
    fn accept(
        self,
        matches: bool,
        nonce: &str,
        access_key_id: &str,
    ) -> Result<VerifiedAuth, AuthError> {
        if !matches {
            return Err(AuthError::SignatureMismatch);
        }
        if !(self.nonce_is_fresh)(nonce) {
            return Err(AuthError::NonceReused);
        }
        Ok(VerifiedAuth {
            access_key_id: access_key_id.to_string(),
            region: String::new(),
            service: String::new(),
        })
    }
}

// ---------------------------------------------------------------------------
// Signature V3 (ACS3-HMAC-SHA256)
// ---------------------------------------------------------------------------

/// A V3 canonical request and the `SignedHeaders` list it implies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Canonical {
    /// The canonical request.
    pub request: String,
    /// The `SignedHeaders` list.
    pub signed_headers: String,
}

/// Sorted `k=v` query, both sides percent-encoded; an empty value gives `k=`.
pub fn v3_canonical_query(query: &[(String, String)]) -> String {
    canonical_query(sorted(query))
}

/// Canonical headers (`name:value\n`, names lower-cased and sorted) and the signed
/// headers list. Headers whose names differ only in case are one header: their
/// trimmed values are sorted and joined by `,` (as darabonba-openapi-util does, which
/// the published vector relies on).
pub fn v3_canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut grouped: Vec<(String, Vec<&str>)> = Vec::new();
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        match grouped.iter_mut().find(|(n, _)| *n == lower) {
            Some((_, values)) => values.push(value.trim()),
            None => grouped.push((lower, vec![value.trim()])),
        }
    }
    grouped.sort_by(|a, b| a.0.cmp(&b.0));
    let mut canonical = String::new();
    for (name, values) in &mut grouped {
        values.sort_unstable();
        canonical.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let signed = grouped
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (canonical, signed)
}

/// `method \n path \n canonical query \n canonical headers \n signed headers \n
/// hashed payload`. `headers` are exactly the headers to sign.
pub fn v3_canonical_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    hashed_payload: &str,
) -> V3Canonical {
    let (canonical_headers, signed_headers) = v3_canonical_headers(headers);
    let request = format!(
        "{method}\n{path}\n{}\n{canonical_headers}\n{signed_headers}\n{hashed_payload}",
        v3_canonical_query(query)
    );
    V3Canonical {
        request,
        signed_headers,
    }
}

/// `ACS3-HMAC-SHA256\n` + hex(SHA-256(canonical request)).
pub fn v3_string_to_sign(canonical_request: &str) -> String {
    format!(
        "{V3_ALGORITHM}\n{}",
        hex_sha256(canonical_request.as_bytes())
    )
}

/// hex(HMAC-SHA256(secret, string_to_sign)).
pub fn v3_signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA256 takes keys of any length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `Authorization` header value.
pub fn v3_authorization(access_key_id: &str, signed_headers: &str, signature: &str) -> String {
    format!("{V3_ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}")
}

/// Lower-case hex SHA-256, the `x-acs-content-sha256` and hashed-payload value.
pub fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The headers V3 signs: `host`, `content-type` and every `x-acs-*`.
fn is_v3_signed_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "host" || lower == "content-type" || lower.starts_with("x-acs-")
}

fn canonical_path(req: &HttpRequest) -> &str {
    match req.path() {
        "" => "/",
        p => p,
    }
}

/// Sign with V3: set the `x-acs-*` headers (action and version from the `Action` and
/// `Version` parameters when present), then `Authorization`. The body is covered
/// through its SHA-256, so form-body parameters are not in the canonical query.
pub fn sign_v3(
    req: &mut HttpRequest,
    creds: &Credentials,
    time: SystemTime,
    nonce: &str,
) -> Result<(), EncodeError> {
    if req.header("authorization").is_some() {
        return Err(EncodeError::Invalid(
            "request already carries an Authorization header".into(),
        ));
    }
    let params = params_for_signing(req)?;
    let first = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if let Some(action) = first("Action") {
        req.set_header("x-acs-action", action);
    }
    if let Some(version) = first("Version") {
        req.set_header("x-acs-version", version);
    }
    req.set_header("x-acs-date", format_time(time));
    req.set_header("x-acs-signature-nonce", nonce);
    let payload_hash = hex_sha256(&req.body);
    req.set_header("x-acs-content-sha256", payload_hash.clone());
    if let Some(token) = &creds.session_token {
        req.set_header("x-acs-security-token", token.expose());
    }
    let query = parse_params(req.query()).map_err(|e| EncodeError::Invalid(e.to_string()))?;
    let canonical = v3_canonical_of(req, &query, is_v3_signed_header, &payload_hash);
    let signature = v3_signature(
        creds.secret.expose(),
        &v3_string_to_sign(&canonical.request),
    );
    let auth = v3_authorization(&creds.access_key_id, &canonical.signed_headers, &signature);
    req.set_header("Authorization", auth);
    Ok(())
}

/// The parts of a V3 `Authorization` header.
struct V3Auth<'a> {
    access_key_id: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse_v3_authorization(value: &str) -> Result<V3Auth<'_>, AuthError> {
    let rest = value
        .strip_prefix(V3_ALGORITHM)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| AuthError::Malformed("unsupported Authorization scheme".into()))?;
    let (mut ak, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| AuthError::Malformed("Authorization part without '='".into()))?;
        let slot = match k {
            "Credential" => &mut ak,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut sig,
            _ => return Err(AuthError::Malformed("unknown Authorization part".into())),
        };
        if slot.replace(v).is_some() {
            return Err(AuthError::Malformed(
                "Authorization part given twice".into(),
            ));
        }
    }
    match (ak, signed, sig) {
        (Some(access_key_id), Some(signed_headers), Some(signature)) => Ok(V3Auth {
            access_key_id,
            signed_headers,
            signature,
        }),
        _ => Err(AuthError::Malformed(
            "Authorization needs Credential, SignedHeaders and Signature".into(),
        )),
    }
}

/// The one value of header `name`; absent or repeated is malformed.
fn single_header<'a>(req: &'a HttpRequest, name: &str) -> Result<&'a str, AuthError> {
    let mut values = req
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str());
    match (values.next(), values.next()) {
        (Some(v), None) => Ok(v),
        (None, _) => Err(AuthError::Malformed(format!("missing {name}"))),
        (Some(_), Some(_)) => Err(AuthError::Malformed(format!("{name} given more than once"))),
    }
}

/// The V3 canonical request of `req`, over its headers whose names `signed` keeps.
fn v3_canonical_of(
    req: &HttpRequest,
    query: &[(String, String)],
    signed: impl Fn(&str) -> bool,
    payload_hash: &str,
) -> V3Canonical {
    let headers: Vec<_> = req
        .headers
        .iter()
        .filter(|(n, _)| signed(n))
        .cloned()
        .collect();
    v3_canonical_request(
        &req.method,
        canonical_path(req),
        query,
        &headers,
        payload_hash,
    )
}

fn verify_v3(
    req: &HttpRequest,
    authorization: &str,
    checks: Checks<'_>,
) -> Result<VerifiedAuth, AuthError> {
    let auth = parse_v3_authorization(authorization)?;
    let signed: Vec<&str> = auth.signed_headers.split(';').collect();
    // The date and the nonce drive the replay checks, so they must be signed.
    for required in ["x-acs-date", "x-acs-signature-nonce"] {
        if !signed.contains(&required) {
            return Err(AuthError::Malformed(format!(
                "{required} is not a signed header"
            )));
        }
    }
    let signed_at = parse_time(single_header(req, "x-acs-date")?)
        .ok_or_else(|| AuthError::Malformed(format!("x-acs-date is not {TIME_FORMAT}")))?;
    let nonce = single_header(req, "x-acs-signature-nonce")?;
    let secret = checks.secret(auth.access_key_id, signed_at)?;
    let query = parse_params(req.query()).map_err(|e| AuthError::Malformed(e.to_string()))?;
    let canonical = v3_canonical_of(
        req,
        &query,
        |n| signed.contains(&n.to_ascii_lowercase().as_str()),
        &hex_sha256(&req.body),
    );
    // A header listed as signed but absent makes the lists differ: no match.
    let expected = v3_signature(secret.expose(), &v3_string_to_sign(&canonical.request));
    let lists_match = canonical.signed_headers == auth.signed_headers;
    let matches = constant_time_eq(&expected, auth.signature) && lists_match;
    checks.accept(matches, nonce, auth.access_key_id)
}

// ---------------------------------------------------------------------------
// Verification (server side)
// ---------------------------------------------------------------------------

/// Check a request's signature. V3 when the `Authorization` header starts with
/// `ACS3-HMAC-SHA256`, V1 when a `Signature` parameter is present.
///
/// Order of checks: format, access key, time skew, signature (constant time), and
/// only then the nonce, so a forged request cannot burn a legitimate client's nonce.
pub fn verify(
    req: &HttpRequest,
    secret_for: &dyn Fn(&str) -> Option<Secret>,
    now: SystemTime,
    max_skew: Duration,
    nonce_is_fresh: &mut dyn FnMut(&str) -> bool,
) -> Result<VerifiedAuth, AuthError> {
    let checks = Checks {
        secret_for,
        now,
        max_skew,
        nonce_is_fresh,
    };
    let authorization = req.header("authorization");
    if let Some(value) = authorization.filter(|v| v.starts_with(V3_ALGORITHM)) {
        return verify_v3(req, value, checks);
    }
    let params = request_params(req).map_err(|e| AuthError::Malformed(e.to_string()))?;
    if params.iter().any(|(k, _)| k == "Signature") {
        return verify_v1(req, &params, checks);
    }
    match authorization {
        Some(_) => Err(AuthError::Malformed(
            "unsupported Authorization scheme".into(),
        )),
        None => Err(AuthError::Missing),
    }
}

// ---------------------------------------------------------------------------
// Nonce cache
// ---------------------------------------------------------------------------

/// What [`NonceCache::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    /// Not seen within the window; now remembered.
    Fresh,
    /// Seen within the window: a replay.
    Reused,
    /// Not seen, but the cache is full of nonces that are all still live: it can
    /// neither remember this one nor forget another, so the request must be refused
    /// (the caller answers with its throttling error).
    Full,
}

/// A time-bounded, size-bounded set of seen nonces for replay protection.
///
/// A nonce is remembered for at least `window` after it was first seen; a request
/// older than the skew is refused as expired anyway, so `window` = 2 × max skew (a
/// timestamp can be off in either direction) covers every request that could still
/// verify. A live nonce is never forgotten: when `max_entries` live nonces are held,
/// new ones are refused ([`NonceCheck::Full`]) until the oldest expire.
///
/// Memory does not depend on the nonces' length: each is kept as a 64-bit keyed
/// hash (SipHash with a per-cache random key, so no one can aim for a collision; an
/// accidental one among a million entries has odds of about 1 in 10^13), in
/// buckets of `window / 30` by arrival time; a bucket is dropped whole, its memory
/// freed, once all its nonces are older than the window.
///
/// ```
/// use std::sync::Mutex;
/// use std::time::{Duration, SystemTime};
/// use imds_conform::wire::aliyun_sign::NonceCache;
///
/// let skew = Duration::from_secs(900);
/// let cache = Mutex::new(NonceCache::for_skew(skew));
/// let now = SystemTime::now();
/// // Inside a request handler: pass this as `nonce_is_fresh` to `verify`.
/// let mut fresh = |n: &str| cache.lock().map(|mut c| c.check_and_insert(n, now)).unwrap_or(false);
/// assert!(fresh("n-1"));
/// assert!(!fresh("n-1"));
/// ```
#[derive(Debug, Clone)]
pub struct NonceCache {
    window: Duration,
    max_entries: usize,
    /// Width of one bucket, in seconds (at least 1).
    bucket_secs: u64,
    key: std::collections::hash_map::RandomState,
    /// (bucket number = arrival second / `bucket_secs`, hashed nonces), oldest first.
    buckets: VecDeque<(u64, HashSet<u64, BuildHasherDefault<PreHashed>>)>,
    len: usize,
}

/// The nonces' keys are already keyed SipHash values: the sets use them as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Live nonces the emulator remembers at most (about 20 bytes each).
pub const DEFAULT_NONCE_CAPACITY: usize = 1_000_000;

impl NonceCache {
    /// A cache remembering nonces for `window`, holding at most `max_entries`.
    pub fn new(window: Duration, max_entries: usize) -> Self {
        NonceCache {
            window,
            max_entries: max_entries.max(1),
            bucket_secs: (window.as_secs() / 30).max(1),
            key: Default::default(),
            buckets: VecDeque::new(),
            len: 0,
        }
    }

    /// A cache sized for `verify` with this `max_skew`.
    pub fn for_skew(max_skew: Duration) -> Self {
        Self::new(max_skew.saturating_mul(2), DEFAULT_NONCE_CAPACITY)
    }

    /// `true` (and remember it) when `nonce` has not been seen within the window
    /// and there is room for it; see [`check`](Self::check) for which it was.
    pub fn check_and_insert(&mut self, nonce: &str, now: SystemTime) -> bool {
        self.check(nonce, now) == NonceCheck::Fresh
    }

    /// Look `nonce` up and remember it when it is fresh and there is room.
    pub fn check(&mut self, nonce: &str, now: SystemTime) -> NonceCheck {
        let secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.evict_expired(secs);
        let hash = self.key.hash_one(nonce);
        if self.buckets.iter().any(|(_, set)| set.contains(&hash)) {
            return NonceCheck::Reused;
        }
        if self.len >= self.max_entries {
            return NonceCheck::Full;
        }
        let bucket = secs / self.bucket_secs;
        match self.buckets.back_mut() {
            Some((b, set)) if *b >= bucket => {
                set.insert(hash);
            }
            _ => {
                let mut set = HashSet::default();
                set.insert(hash);
                self.buckets.push_back((bucket, set));
            }
        }
        self.len += 1;
        NonceCheck::Fresh
    }

    /// How many nonces are remembered.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Is no nonce remembered?
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drop the buckets whose every nonce arrived more than `window` ago.
    fn evict_expired(&mut self, now_secs: u64) {
        let window = self.window.as_secs();
        while let Some((bucket, set)) = self.buckets.front() {
            let newest_arrival = (bucket + 1) * self.bucket_secs;
            if newest_arrival.saturating_add(window) >= now_secs {
                break;
            }
            self.len -= set.len();
            self.buckets.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_cache_forgets_after_the_window_and_never_forgets_a_live_nonce() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_020);
        let secs = Duration::from_secs;
        let mut c = NonceCache::new(secs(60), 3);
        assert!(c.check_and_insert("a", t0));
        assert!(!c.check_and_insert("a", t0 + secs(30)));
        assert!(c.check_and_insert("a", t0 + secs(63)));
        assert_eq!(c.check("b", t0 + secs(63)), NonceCheck::Fresh);
        assert_eq!(c.check("c", t0 + secs(63)), NonceCheck::Fresh);
        // Full of live nonces: refuse rather than forget one.
        assert_eq!(c.check("d", t0 + secs(64)), NonceCheck::Full);
        assert_eq!(c.check("a", t0 + secs(64)), NonceCheck::Reused);
        assert_eq!(c.len(), 3);
        // Once they are older than the window, room again.
        assert_eq!(c.check("d", t0 + secs(130)), NonceCheck::Fresh);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn time_round_trips() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_456_231_584);
        assert_eq!(format_time(t), "2016-02-23T12:46:24Z");
        assert_eq!(parse_time("2016-02-23T12:46:24Z"), Some(t));
        assert_eq!(parse_time("2016-02-23 12:46:24"), None);
    }
}
