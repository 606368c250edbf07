//! Reaching a target: encode, sign (or deliberately mis-sign), pace, send over HTTP,
//! retry throttling with back-off, and decode. Knows protocols only through
//! `wire::client`; knows nothing of any API's parameters.

mod direct;
mod signed;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::spec::{Condition, Spec};
use crate::wire::credentials::EnvNames;
use crate::wire::{
    client, Call, Credentials, DecodeError, EncodeError, Endpoint, HttpRequest, HttpResponse,
    Outcome, Protocol, SigningScheme, MAX_BODY_BYTES,
};

/// The CLI's largest `--concurrency` (how many of the embedded emulator's running
/// instances a run works on at once). A target handle, shared by the workers of one
/// thread (one per instance), keeps as many idle connections: a run with up to this
/// many instances per thread never reconnects between requests; one with more
/// (`--instance` is not capped) reconnects for the excess, slower and nothing worse.
pub const MAX_CONCURRENCY: u32 = 64;

/// Calls of one operation in a row still throttled after their last retry before
/// a target is given up on ([`Target::send`]). Calls of other operations between
/// them (a read-back after each modify) do not break the row.
pub const THROTTLED_CALLS_IN_A_ROW: u32 = 3;

/// Per operation, its calls in a row still throttled after their last retry.
#[derive(Default)]
struct ThrottledInARow {
    /// Whether any operation has a count (most runs never see one: no lock then).
    any: std::sync::atomic::AtomicBool,
    counts: std::sync::Mutex<std::collections::HashMap<String, u32>>,
}

impl ThrottledInARow {
    /// Count a call of `operation` (`throttled`: still throttled after its last
    /// retry; otherwise its count starts again). The count when it reaches
    /// [`THROTTLED_CALLS_IN_A_ROW`], which then starts again too.
    fn count(&self, operation: &str, throttled: bool) -> Option<u32> {
        use std::sync::atomic::Ordering;
        if !throttled && !self.any.load(Ordering::Relaxed) {
            return None;
        }
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let reached = if throttled {
            let n = counts.entry(operation.to_string()).or_insert(0);
            *n += 1;
            (*n >= THROTTLED_CALLS_IN_A_ROW).then_some(*n)
        } else {
            None
        };
        if !throttled || reached.is_some() {
            counts.remove(operation);
        }
        self.any.store(!counts.is_empty(), Ordering::Relaxed);
        reached
    }
}

/// How a request is signed. All but `Valid` must be refused by a conforming target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signing {
    /// Signed correctly.
    Valid,
    /// Not signed at all.
    Unsigned,
    /// Signed, then one character of the signature changed.
    CorruptSignature,
    /// Signed with the right key id and a wrong secret.
    WrongSecret,
    /// Signed with a key id the target does not know.
    UnknownKey,
    /// Signed with a timestamp an hour in the past.
    Expired,
}

impl Signing {
    /// The oracle's view of this signing.
    pub fn auth(self) -> crate::oracle::Auth {
        use crate::oracle::Auth;
        match self {
            Signing::Valid => Auth::Valid,
            Signing::Unsigned => Auth::Unsigned,
            Signing::CorruptSignature | Signing::WrongSecret => Auth::BadSignature,
            Signing::UnknownKey => Auth::UnknownAccessKey,
            Signing::Expired => Auth::Expired,
        }
    }
}

/// Where and how to reach one API's target.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    /// The endpoint and what signing needs of it.
    pub endpoint: Endpoint,
    /// The wire protocol.
    pub protocol: Protocol,
    /// The signing scheme.
    pub signing: SigningScheme,
    /// The credentials to sign with (none: only unsigned requests).
    pub credentials: Option<Credentials>,
    /// Where credentials come from (named in the error when there are none).
    pub credential_names: EnvNames,
    /// Requests per second (none: as fast as answers come).
    pub rate: Option<f64>,
    /// How long one request may take.
    pub timeout: Duration,
    /// Retries of a throttled request.
    pub retries: u32,
    /// Error codes that mean "slow down" (from the spec's `throttled` errors).
    pub throttle_codes: Vec<String>,
    /// How requests travel.
    pub transport: Transport,
}

/// How requests reach a target. Both ways send the same request line, headers and
/// body, hand back the same answer, bounded the same way, and neither follows a
/// redirect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// A keep-alive connection of each worker's own for `http://` endpoints on this
    /// machine when no proxy variable is set (the emulator, local peers: the fast
    /// path); reqwest for the rest.
    #[default]
    Auto,
    /// reqwest always: its connection pool, TLS and proxies from the environment.
    Pooled,
}

impl TargetConfig {
    /// A configuration for `spec` at `url` in `region`.
    pub fn for_spec(
        spec: &Spec,
        url: &str,
        region: &str,
        credentials: Option<Credentials>,
    ) -> Self {
        TargetConfig {
            endpoint: Endpoint {
                url: url.trim_end_matches('/').to_string(),
                region: region.to_string(),
                api_version: spec.api.api_version.clone(),
                signing_name: spec.api.signing_name.clone(),
                target_prefix: spec.api.target_prefix.clone(),
                format: "JSON".into(),
            },
            protocol: spec.api.protocol,
            signing: spec.api.signing,
            credentials,
            credential_names: spec.api.credentials.clone(),
            rate: None,
            timeout: Duration::from_secs(30),
            retries: 5,
            throttle_codes: spec
                .errors_for(Condition::Throttled)
                .map(|e| e.code.clone())
                .collect(),
            transport: Transport::Auto,
        }
    }
}

/// Credentials from the environment variables the spec's table names.
pub fn credentials_from_env(spec: &Spec) -> Option<Credentials> {
    Credentials::from_env(&spec.api.credentials)
}

/// Why a target could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The endpoint did not answer.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The endpoint (never a URL with a signature or a password in it).
        url: String,
        /// Why, with the causes.
        reason: String,
    },
    /// The call cannot be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// No credentials: the variables to set.
    #[error("no credentials: set {0}")]
    NoCredentials(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// One request as sent and its answer.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The request as sent (signed).
    pub request: HttpRequest,
    /// The answer.
    pub response: HttpResponse,
    /// The answer decoded, or why it does not decode.
    pub outcome: Result<Outcome, DecodeError>,
    /// Sends including throttling retries.
    pub attempts: u32,
    /// Time from the first send to the last answer.
    pub elapsed: Duration,
}

/// A target: sends calls and decodes answers, paced.
pub struct Target {
    cfg: TargetConfig,
    client: reqwest::Client,
    /// The connection of this handle's own, when the endpoint takes one.
    direct: Option<direct::Direct>,
    /// The endpoint's `/`, parsed once: most requests go there.
    root: Option<reqwest::Url>,
    next_slot: Arc<Mutex<Instant>>,
    /// Calls of an operation in a row, across the handles of one target, still
    /// throttled after their last retry.
    throttled_in_a_row: Arc<ThrottledInARow>,
    /// What this handle signed this second, where a scheme signs alike requests
    /// alike within a second.
    signed: signed::Signed,
}

impl Target {
    /// A target for `cfg`.
    pub fn new(cfg: TargetConfig) -> Result<Self, TargetError> {
        Ok(Target {
            client: http_client(&cfg)?,
            direct: match cfg.transport {
                Transport::Auto => direct::Direct::for_url(&cfg.endpoint.url),
                Transport::Pooled => None,
            },
            root: reqwest::Url::parse(&format!("{}/", cfg.endpoint.url)).ok(),
            cfg,
            next_slot: Arc::new(Mutex::new(Instant::now())),
            throttled_in_a_row: Arc::default(),
            signed: signed::Signed::default(),
        })
    }

    /// The same target with an HTTP client (and connection pool) of its own, for
    /// the workers of one thread, which drive their requests on that thread's
    /// runtime: their connections then live there, and no answer has to wake
    /// another thread. The pacing stays shared: the rate is the target's.
    pub fn for_worker(&self) -> Result<Self, TargetError> {
        Ok(Target {
            client: http_client(&self.cfg)?,
            direct: self.direct.as_ref().map(direct::Direct::fresh),
            root: self.root.clone(),
            cfg: self.cfg.clone(),
            next_slot: Arc::clone(&self.next_slot),
            throttled_in_a_row: Arc::clone(&self.throttled_in_a_row),
            signed: signed::Signed::default(),
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &TargetConfig {
        &self.cfg
    }

    /// Encode and sign `call` as `signing` says, without sending it.
    pub fn prepare(&self, call: &Call, signing: Signing) -> Result<HttpRequest, TargetError> {
        let req = client::encode(self.cfg.protocol, &self.cfg.endpoint, call)?;
        if signing == Signing::Unsigned {
            return Ok(req);
        }
        let time = match signing {
            Signing::Expired => SystemTime::now() - Duration::from_secs(3600),
            _ => SystemTime::now(),
        };
        // Signed with the handle's own credentials and the time as it is, a request
        // alike to one signed this second carries the same signature.
        let second = (matches!(signing, Signing::Valid | Signing::CorruptSignature)
            && client::signs_alike_within_a_second(self.cfg.signing))
        .then(|| time.duration_since(SystemTime::UNIX_EPOCH).ok())
        .flatten()
        .map(|d| d.as_secs());
        let signed = match second {
            Some(second) => self
                .signed
                .get_or_sign(req, second, |req| self.sign(req, signing, time))?,
            None => self.sign(req, signing, time)?,
        };
        Ok(self.spoil(signed, signing))
    }

    /// `req` signed as `signing` says (its credentials), at `time`.
    fn sign(
        &self,
        mut req: HttpRequest,
        signing: Signing,
        time: SystemTime,
    ) -> Result<HttpRequest, TargetError> {
        let creds = self
            .cfg
            .credentials
            .clone()
            .ok_or_else(|| TargetError::NoCredentials(self.cfg.credential_names.required()))?;
        let creds = match signing {
            Signing::WrongSecret => Credentials::new(
                creds.access_key_id.clone(),
                format!("{}x", creds.secret.expose()),
            ),
            Signing::UnknownKey => {
                let mut c = creds.clone();
                c.access_key_id = "AKIAIMDSCONFORMUNKNOWN".into();
                c
            }
            _ => creds,
        };
        let nonce = uuid::Uuid::new_v4().to_string();
        client::sign(
            self.cfg.signing,
            &mut req,
            &self.cfg.endpoint,
            &creds,
            time,
            &nonce,
        )?;
        Ok(req)
    }

    /// `req` as `signing` sends it once signed: with one character of its
    /// signature changed for [`Signing::CorruptSignature`].
    fn spoil(&self, mut req: HttpRequest, signing: Signing) -> HttpRequest {
        if signing == Signing::CorruptSignature {
            client::corrupt_signature(self.cfg.signing, &mut req);
        }
        req
    }

    /// Send `call`, retrying throttling answers with exponential back-off (each
    /// retry is signed anew). A call still throttled after its last retry is
    /// answered as it was, unless it is the [`THROTTLED_CALLS_IN_A_ROW`]th such call
    /// of its operation in a row: the target then refuses the pace itself, and every later call
    /// would cost the whole back-off (some 13 s) for nothing, so the call fails
    /// as unreachable, saying so. The count starts again after that, so that the
    /// instances can still be put back.
    pub async fn send(&self, call: &Call, signing: Signing) -> Result<Sent, TargetError> {
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let request = self.prepare(call, signing)?;
            let response = self.send_raw(&request).await?;
            let outcome = client::decode(self.cfg.protocol, &response);
            let throttled = matches!(&outcome, Ok(Outcome::Error { code, .. }) if self.cfg.throttle_codes.contains(code));
            if throttled && attempts <= self.cfg.retries {
                let backoff = Duration::from_millis(200u64 << attempts.min(6)) + jitter();
                tokio::time::sleep(backoff).await;
                continue;
            }
            self.count_throttled(&call.operation, throttled, attempts)?;
            return Ok(Sent {
                request,
                response,
                outcome,
                attempts,
                elapsed: started.elapsed(),
            });
        }
    }

    /// Count a call of `operation` that ended throttled (or start its count
    /// again): `Err` for the [`THROTTLED_CALLS_IN_A_ROW`]th in a row.
    fn count_throttled(
        &self,
        operation: &str,
        throttled: bool,
        attempts: u32,
    ) -> Result<(), TargetError> {
        match self.throttled_in_a_row.count(operation, throttled) {
            Some(in_a_row) => Err(self.unreachable(format!(
                "throttled: {in_a_row} calls of {operation} in a row were refused as too \
                 many on each of their {attempts} sends; the target does not take this pace \
                 (a lower rate may help)"
            ))),
            None => Ok(()),
        }
    }

    /// Send a prepared request as is (replays, nonce reuse), paced.
    pub async fn send_raw(&self, req: &HttpRequest) -> Result<HttpResponse, TargetError> {
        self.pace().await;
        if let Some(direct) = &self.direct {
            return match tokio::time::timeout(self.cfg.timeout, direct.send(req)).await {
                Ok(Ok(response)) => Ok(response),
                Ok(Err(reason)) => Err(self.unreachable(reason)),
                Err(_) => Err(self.unreachable(self.timed_out())),
            };
        }
        // The URL can carry signatures and tokens (Alibaba GET): keep it out of errors.
        let unreachable = |e: reqwest::Error| {
            self.unreachable(if e.is_timeout() {
                self.timed_out()
            } else {
                error_chain(&e.without_url())
            })
        };
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|e| TargetError::Client(e.to_string()))?;
        let mut builder = match &self.root {
            Some(root) if req.path_and_query == "/" => self.client.request(method, root.clone()),
            _ => {
                let url = format!("{}{}", self.cfg.endpoint.url, req.path_and_query);
                self.client.request(method, &url)
            }
        };
        for (k, v) in &req.headers {
            if !k.eq_ignore_ascii_case("content-length") {
                builder = builder.header(k.as_str(), v.as_str());
            }
        }
        let mut resp = builder
            .body(req.body.clone())
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status().as_u16();
        let headers = crate::wire::header_pairs(resp.headers());
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
            if !take_bounded(&mut body, &chunk) {
                break;
            }
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    /// Why a request that ran out of time failed: the same words whichever way it
    /// went, and true of a peer that answers part of it (a byte at a time) too.
    fn timed_out(&self) -> String {
        format!(
            "no answer within {:?} (none, or not all of it)",
            self.cfg.timeout
        )
    }

    /// The endpoint did not answer, for `reason` (which never carries the URL). The
    /// URL is named without its userinfo (`user:password@`).
    fn unreachable(&self, reason: String) -> TargetError {
        let url = &self.cfg.endpoint.url;
        TargetError::Unreachable {
            url: crate::wire::credentials::mask_userinfo(url, "<redacted>")
                .unwrap_or_else(|| url.clone()),
            reason,
        }
    }

    async fn pace(&self) {
        let Some(rate) = self.cfg.rate.filter(|r| *r > 0.0) else {
            return;
        };
        let interval = Duration::from_secs_f64(1.0 / rate);
        let wait = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + interval;
            slot - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// The HTTP client for `cfg`. It never follows a redirect: a 3xx is the target's
/// answer, to be judged like any other, and an Alibaba GET would carry its signed
/// query to the new place. Its pool keeps what it needs: an idle connection per
/// worker on the thread, as each has one request in flight.
fn http_client(cfg: &TargetConfig) -> Result<reqwest::Client, TargetError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(cfg.timeout)
        .build()
        .map_err(|e| TargetError::Client(e.to_string()))
}

/// Add `chunk` to an answer's `body`, keeping at most one byte past
/// [`MAX_BODY_BYTES`] (the decoder refuses such a body; a hostile peer cannot make
/// us buffer more). False once the limit is passed: read no further.
fn take_bounded(body: &mut Vec<u8>, chunk: &[u8]) -> bool {
    let room = (MAX_BODY_BYTES + 1).saturating_sub(body.len());
    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    body.len() <= MAX_BODY_BYTES
}

fn jitter() -> Duration {
    Duration::from_millis(u64::from(uuid::Uuid::new_v4().as_bytes()[0]))
}

/// An error with its causes, for a message that names the real problem.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Is `url`'s host on this machine: 127.0.0.0/8, `::1` or `localhost`? Such
/// endpoints are emulators: unpaced by default, and changes settle in seconds.
pub fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// A target's default name in reports and matrices: the endpoint's host, with its
/// port when the URL gives one (`127.0.0.1:18080`), so that two targets on one
/// host (two emulators on loopback) are two columns of a matrix, not one. A URL
/// without a host is its own name.
pub fn default_name(url: &str) -> String {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return url.to_string();
    };
    match (parsed.host_str(), parsed.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) if !host.is_empty() => host.to_string(),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod default_name_tests {
    use super::default_name;

    #[test]
    fn the_host_and_the_port_when_there_is_one() {
        for (url, name) in [
            ("http://127.0.0.1:18080", "127.0.0.1:18080"),
            ("http://127.0.0.1:18110/", "127.0.0.1:18110"),
            (
                "https://ec2.us-east-1.amazonaws.com",
                "ec2.us-east-1.amazonaws.com",
            ),
            (
                "https://ecs.cn-hangzhou.aliyuncs.com:443/",
                "ecs.cn-hangzhou.aliyuncs.com",
            ),
            ("http://localhost:80", "localhost"),
            ("http://[::1]:8080/x", "[::1]:8080"),
            ("http://user@moto:5000", "moto:5000"),
        ] {
            assert_eq!(default_name(url), name, "{url}");
        }
    }
}

#[cfg(test)]
mod loopback_tests {
    use super::is_loopback;

    #[test]
    fn loopback_hosts() {
        for url in [
            "http://127.0.0.1:5000",
            "http://127.8.9.10/",
            "http://localhost:4566",
            "http://LOCALHOST",
            "http://[::1]:8080/x",
            "http://user@127.0.0.1:1",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in [
            "https://ec2.us-east-1.amazonaws.com",
            "http://128.0.0.1",
            "http://10.0.0.1:5000",
            "http://localhost.example.com",
            "http://[::2]:80",
            "http://127.0.0.1.nip.io",
        ] {
            assert!(!is_loopback(url), "{url}");
        }
    }
}

#[cfg(test)]
mod signing_memo_tests {
    use std::time::{Duration, SystemTime};

    use super::{Signing, Target, TargetConfig};
    use crate::wire::{sigv4, AuthError, Call, Credentials, Secret, SigningScheme};

    const KEY: &str = "AKIDMEMOTEST";
    const SECRET: &str = "memo-test-secret";

    fn verify(req: &crate::wire::HttpRequest) -> Result<(), AuthError> {
        let secret_for = |k: &str| (k == KEY).then(|| Secret::new(SECRET));
        sigv4::verify(
            req,
            &secret_for,
            SystemTime::now(),
            Duration::from_secs(300),
        )
        .map(|_| ())
    }

    /// Each signing, in turns within a second or two: the kept signature stands for
    /// a valid one only (a spoiled or differently signed request is never kept, nor
    /// handed out for another signing).
    #[test]
    fn only_a_valid_signature_is_kept_and_each_signing_gets_its_own() {
        let spec = crate::spec::builtin()
            .expect("built-in tables")
            .into_iter()
            .find(|s| s.api.signing == SigningScheme::Sigv4)
            .expect("a SigV4 table");
        let cfg = TargetConfig::for_spec(
            &spec,
            "http://127.0.0.1:9",
            "us-east-1",
            Some(Credentials::new(KEY, SECRET)),
        );
        let target = Target::new(cfg).expect("target");
        let call = Call::new(spec.api.operation.clone()).with("Some", "value");
        let prepare = |signing| target.prepare(&call, signing).expect("prepares");
        for _ in 0..2 {
            assert_eq!(
                verify(&prepare(Signing::CorruptSignature)),
                Err(AuthError::SignatureMismatch)
            );
            assert_eq!(verify(&prepare(Signing::Valid)), Ok(()));
            assert_eq!(verify(&prepare(Signing::Valid)), Ok(()));
            assert_eq!(
                verify(&prepare(Signing::CorruptSignature)),
                Err(AuthError::SignatureMismatch)
            );
            assert_eq!(
                verify(&prepare(Signing::WrongSecret)),
                Err(AuthError::SignatureMismatch)
            );
            assert_eq!(
                verify(&prepare(Signing::UnknownKey)),
                Err(AuthError::UnknownAccessKey)
            );
            assert!(verify(&prepare(Signing::Expired)).is_err());
        }
    }
}
