//! The reference emulator: a local fake of EC2 `ModifyInstanceMetadataOptions`,
//! Lightsail `UpdateInstanceMetadataOptions` and Alibaba ECS
//! `ModifyInstanceMetadataOptions` (plus the read-back calls), on one port.
//!
//! It is an independent reading of the docs, written per API as plain code
//! ([`ec2`], [`lightsail`], [`aliyun`]); it never looks at the spec tables or the
//! oracle. The `wire` modules are used from the server side: decode the request,
//! verify its signature, run the API logic against the [`store`], encode the answer.
//!
//! [`Emulator::handle`] does all of that without a network (the fuzzers and benches
//! call it directly); [`start`] serves it over HTTP (see [`server`]).

pub mod aliyun;
pub mod auth;
pub mod conn;
pub mod ec2;
pub mod fixtures;
pub mod imds;
pub mod lightsail;
pub mod limits;
pub mod route;
pub mod server;
pub mod store;
pub mod threads;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::wire::{
    aliyun_rpc, aliyun_sign, aws_json, ec2_query, sigv4, Answer, AuthError, DecodeError,
    HttpRequest, HttpResponse, Secret, VerifiedAuth, MAX_BODY_BYTES,
};

pub use fixtures::{default_fixtures, Fixtures, FixturesError, InstanceFixture, KeyPair};
pub use route::Route;
pub use server::{start, EmulatorError, RunningEmulator};
pub use store::{ChangeState, MetadataOptions, RunState};

/// How the emulator runs.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Where `start` listens; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Instances and accepted credentials.
    pub fixtures: Fixtures,
    /// How long a change on a running instance stays `pending`.
    pub apply_delay: Duration,
    /// Allowed clock skew of a SigV4 request (AWS allows 5 minutes).
    pub max_skew: Duration,
    /// Allowed age of an Alibaba `Timestamp` / `x-acs-date` (the gateway allows 15 minutes).
    pub aliyun_max_skew: Duration,
    /// Time allowed to receive a request body (slow clients get a 408).
    pub request_timeout: Duration,
    /// Time allowed to receive a request's headers; also how long an idle
    /// keep-alive connection is kept.
    pub header_timeout: Duration,
    /// Time a write to a client may stay blocked (a client that sends and never
    /// reads) before its connection is closed.
    pub write_timeout: Duration,
    /// Connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Live Alibaba nonces remembered at most; past it, new signed requests are
    /// answered with `Throttling` until the oldest expire.
    pub nonce_capacity: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            fixtures: default_fixtures(),
            apply_delay: Duration::from_secs(2),
            max_skew: Duration::from_secs(5 * 60),
            aliyun_max_skew: Duration::from_secs(15 * 60),
            request_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            max_connections: 1024,
            nonce_capacity: aliyun_sign::DEFAULT_NONCE_CAPACITY,
        }
    }
}

/// What an API call sees besides its parameters.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The caller's region: SigV4 credential scope for AWS; unused for Alibaba
    /// (which names it in `RegionId`).
    pub region: String,
    pub now: SystemTime,
    pub apply_delay: Duration,
    pub request_id: String,
    /// The API version the caller asked for, where the protocol carries one.
    pub version: Option<String>,
}

impl Ctx {
    /// An error answer to this request.
    pub fn error(&self, status: u16, code: &str, message: impl Into<String>) -> Answer {
        error_answer(status, code, message, self.request_id.clone())
    }

    /// A success answer to this request.
    pub fn success(&self, body: serde_json::Value) -> Answer {
        Answer::Success {
            request_id: self.request_id.clone(),
            body,
        }
    }
}

struct Inner {
    config: EmulatorConfig,
    ec2: store::Store,
    lightsail: store::Store,
    aliyun: store::Store,
    nonces: Mutex<aliyun_sign::NonceCache>,
    /// SigV4 signing keys derived so far (the HMAC chain was most of a request's
    /// cost under load).
    sigv4_keys: sigv4::KeyCache,
}

/// The emulator's core: store plus configuration. Cheap to clone (an `Arc` inside);
/// every clone shares the same instances.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("listen", &self.inner.config.listen)
            .field("apply_delay", &self.inner.config.apply_delay)
            .finish_non_exhaustive()
    }
}

fn secret_in(keys: &[KeyPair], id: &str) -> Option<Secret> {
    keys.iter()
        .find(|k| k.access_key_id == id)
        .map(|k| Secret::new(k.secret.clone()))
}

/// `t` in UTC, written with the `chrono` `format` the protocol uses.
fn utc(t: SystemTime, format: &str) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format(format)
        .to_string()
}

fn aws_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn aliyun_request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_ascii_uppercase()
}

fn error_answer(status: u16, code: &str, message: impl Into<String>, request_id: String) -> Answer {
    Answer::Error {
        status,
        code: code.to_string(),
        message: message.into(),
        request_id,
    }
}

/// A plain-text answer for requests that speak none of the three protocols.
pub fn plain(status: u16, text: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
        body: text.as_bytes().to_vec(),
    }
}

/// The code the emulator answers a body over [`MAX_BODY_BYTES`] with, in each
/// protocol's error shape. UNDOCUMENTED: the real services' answer is not
/// documented (front ends usually answer 413 before the service sees the request).
pub const TOO_LARGE_CODE: &str = "RequestEntityTooLarge";

/// The code of the answer to a request with more than [`limits::MAX_PARAMS`]
/// parameters (status 400). UNDOCUMENTED, as [`TOO_LARGE_CODE`].
pub const TOO_MANY_PARAMS_CODE: &str = "TooManyParameters";

/// The code of the answer to a method other than POST and GET (status 405).
pub const METHOD_NOT_ALLOWED_CODE: &str = "MethodNotAllowed";

/// Alibaba's throttling answer, given when the nonce cache is full of live nonces.
const THROTTLED: (u16, &str, &str) = (
    400,
    "Throttling",
    "Request was denied due to request throttling.",
);

impl Emulator {
    pub fn new(config: EmulatorConfig) -> Self {
        let f = &config.fixtures;
        let ec2 = store::Store::new(f.ec2.iter().map(|i| i.to_instance("t3.micro", "a")));
        let lightsail =
            store::Store::new(f.lightsail.iter().map(|i| i.to_instance("nano_3_0", "a")));
        let aliyun =
            store::Store::new(f.aliyun.iter().map(|i| i.to_instance("ecs.g7.large", "-h")));
        let nonces = Mutex::new(aliyun_sign::NonceCache::new(
            config.aliyun_max_skew.saturating_mul(2),
            config.nonce_capacity,
        ));
        Emulator {
            inner: Arc::new(Inner {
                config,
                ec2,
                lightsail,
                aliyun,
                nonces,
                sigv4_keys: sigv4::KeyCache::default(),
            }),
        }
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    fn ctx(
        &self,
        region: String,
        now: SystemTime,
        request_id: String,
        version: Option<String>,
    ) -> Ctx {
        Ctx {
            region,
            now,
            apply_delay: self.inner.config.apply_delay,
            request_id,
            version,
        }
    }

    /// Answer one request: route it, verify its signature, run the API, encode the
    /// answer. Never panics, never touches the network; `now` is the server's clock.
    pub fn handle(&self, req: &HttpRequest, now: SystemTime) -> HttpResponse {
        let route = route::route(req);
        if req.body.len() > MAX_BODY_BYTES {
            return self.too_large(route, req);
        }
        if req.method != "POST" && req.method != "GET" {
            // UNDOCUMENTED: the services' front ends answer other methods (TRACE,
            // PUT, …) with 405; the code is the emulator's.
            let message = format!("The method {} is not allowed; use POST or GET.", req.method);
            let mut resp = self.refuse(route, req, 405, METHOD_NOT_ALLOWED_CODE, &message);
            resp.headers.push(("Allow".into(), "GET, POST".into()));
            return resp;
        }
        match limits::check(req, route == Route::AwsJson) {
            Ok(()) => {}
            Err(limits::Refusal::TooLarge) => return self.too_large(route, req),
            Err(limits::Refusal::TooManyParameters(_)) => return self.too_many_params(route, req),
        }
        match route {
            Route::Ec2Query => self.handle_ec2(req, now),
            Route::AwsJson => self.handle_lightsail(req, now),
            Route::AliyunRpc => self.handle_aliyun(req, now),
            Route::Unknown => plain(
                400,
                "Bad Request: not an EC2 Query, AWS JSON 1.1 (X-Amz-Target) or Alibaba RPC request\n",
            ),
        }
    }

    /// The answer to a request whose body is over [`MAX_BODY_BYTES`], in the shape
    /// of the protocol its headers and query name. `req.body` may be empty or cut.
    pub fn too_large(&self, route: Route, req: &HttpRequest) -> HttpResponse {
        if route == Route::Unknown {
            return plain(413, "Payload Too Large\n");
        }
        let message = format!("Request body is larger than the {MAX_BODY_BYTES}-byte limit.");
        self.refuse(route, req, 413, TOO_LARGE_CODE, &message)
    }

    /// The answer to a request with more than [`limits::MAX_PARAMS`] parameters, in
    /// the shape of its protocol. `req.body` may be cut (the server stops reading
    /// such a body early).
    pub fn too_many_params(&self, route: Route, req: &HttpRequest) -> HttpResponse {
        let message = format!(
            "The request has more than the {} parameters allowed.",
            limits::MAX_PARAMS
        );
        self.refuse(route, req, 400, TOO_MANY_PARAMS_CODE, &message)
    }

    /// An error answer in the shape of `route`'s protocol, before the request was
    /// decoded (plain text when no protocol was recognised).
    pub fn refuse(
        &self,
        route: Route,
        req: &HttpRequest,
        status: u16,
        code: &str,
        message: &str,
    ) -> HttpResponse {
        let error = |request_id| error_answer(status, code, message, request_id);
        match route {
            Route::Ec2Query => {
                ec2_query::encode_answer("", ec2::API_VERSION, &error(aws_request_id()))
            }
            Route::AwsJson => aws_json::encode_answer(&error(aws_request_id())),
            Route::AliyunRpc => {
                aliyun_rpc::encode_answer("", &aliyun_format(req), &error(aliyun_request_id()))
            }
            Route::Unknown => plain(status, &format!("{message}\n")),
        }
    }

    fn handle_ec2(&self, req: &HttpRequest, now: SystemTime) -> HttpResponse {
        let rid = aws_request_id();
        let fail = |(status, code, message): auth::AuthAnswer, rid: String| {
            ec2_query::encode_answer(
                "",
                ec2::API_VERSION,
                &error_answer(status, code, message, rid),
            )
        };
        let verified = match self.verify_sigv4(req, now) {
            Ok(v) => v,
            Err(e) => return fail(auth::ec2(&e), rid),
        };
        if verified.service != "ec2" {
            return fail(auth::ec2_wrong_service(), rid);
        }
        let decoded = query_decoded(
            ec2_query::decode_request(req),
            (
                "MissingAction",
                "The request must contain the parameter Action",
            ),
            // UNDOCUMENTED: the AWS Query protocols' code for an unparseable body.
            (
                "MalformedQueryString",
                "The query string contains a syntax error",
            ),
        );
        let incoming = match decoded {
            Ok(i) => i,
            Err(answer) => return fail(answer, rid),
        };
        let ctx = self.ctx(verified.region, now, rid, incoming.version.clone());
        let answer = ec2::handle(&self.inner.ec2, &ctx, &incoming.call);
        ec2_query::encode_answer(&incoming.call.operation, ec2::API_VERSION, &answer)
    }

    /// The request's SigV4 signature checked against the fixtures' AWS keys.
    fn verify_sigv4(&self, req: &HttpRequest, now: SystemTime) -> Result<VerifiedAuth, AuthError> {
        let keys = &self.inner.config.fixtures.credentials.aws;
        sigv4::verify_with(
            req,
            &|id| secret_in(keys, id),
            now,
            self.inner.config.max_skew,
            Some(&self.inner.sigv4_keys),
        )
    }

    fn handle_lightsail(&self, req: &HttpRequest, now: SystemTime) -> HttpResponse {
        let rid = aws_request_id();
        let fail = |(status, code, message): auth::AuthAnswer, rid: String| {
            aws_json::encode_answer(&error_answer(status, code, message, rid))
        };
        let verified = match self.verify_sigv4(req, now) {
            Ok(v) => v,
            Err(e) => return fail(auth::aws_json(&e, req.header("X-Amz-Date"), now), rid),
        };
        if verified.service != "lightsail" {
            return fail(auth::aws_json_wrong_service(), rid);
        }
        let incoming = match aws_json::decode_request(req) {
            Ok(i) => i,
            Err(DecodeError::Request(_)) => {
                return fail((400, "UnknownOperationException", String::new()), rid)
            }
            Err(e) => return fail((400, "SerializationException", e.to_string()), rid),
        };
        if incoming.version.as_deref() != Some(lightsail::TARGET_PREFIX) {
            return fail((400, "UnknownOperationException", String::new()), rid);
        }
        let ctx = self.ctx(verified.region, now, rid, incoming.version.clone());
        aws_json::encode_answer(&lightsail::handle(
            &self.inner.lightsail,
            &ctx,
            &incoming.call,
        ))
    }

    fn handle_aliyun(&self, req: &HttpRequest, now: SystemTime) -> HttpResponse {
        let rid = aliyun_request_id();
        let format = aliyun_format(req);
        let fail = |(status, code, message): auth::AuthAnswer, rid: String| {
            aliyun_rpc::encode_answer("", &format, &error_answer(status, code, message, rid))
        };
        if nonce_len(req) > limits::MAX_NONCE_LEN {
            // UNDOCUMENTED: the gateway's answer for an over-long nonce.
            return fail(
                (
                    400,
                    "InvalidParameter",
                    "The specified parameter \"SignatureNonce\" is not valid.".into(),
                ),
                rid,
            );
        }
        let keys = &self.inner.config.fixtures.credentials.aliyun;
        let mut full = false;
        let mut nonce_is_fresh = |nonce: &str| {
            let check = self
                .inner
                .nonces
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .check(nonce, now);
            full = check == aliyun_sign::NonceCheck::Full;
            check == aliyun_sign::NonceCheck::Fresh
        };
        let verified = aliyun_sign::verify(
            req,
            &|id| secret_in(keys, id),
            now,
            self.inner.config.aliyun_max_skew,
            &mut nonce_is_fresh,
        );
        match verified {
            Ok(_) => {}
            Err(_) if full => {
                let (status, code, message) = THROTTLED;
                return fail((status, code, message.into()), rid);
            }
            Err(e) => return fail(auth::aliyun(&e), rid),
        }
        // Signature V3 carries the action and version in `x-acs-action` /
        // `x-acs-version` headers instead of parameters; the decoder reads
        // parameters, so they are added to the query of a copy (after the signature
        // was checked on the original).
        let v3_req;
        let req = match (req.header("x-acs-action"), req.header("x-acs-version")) {
            (Some(action), version) if !has_param(req, "Action") => {
                let mut extra = format!("Action={}", aliyun_rpc::percent_encode(action));
                if let Some(v) = version.filter(|_| !has_param(req, "Version")) {
                    extra.push_str(&format!("&Version={}", aliyun_rpc::percent_encode(v)));
                }
                let mut copy = req.clone();
                copy.path_and_query = if req.query().is_empty() {
                    format!("{}?{extra}", req.path())
                } else {
                    format!("{}?{}&{extra}", req.path(), req.query())
                };
                v3_req = copy;
                &v3_req
            }
            _ => req,
        };
        let decoded = query_decoded(
            aliyun_rpc::decode_request(req),
            (
                "MissingParameter",
                "The input parameter \"Action\" that is mandatory for processing this request is not supplied.",
            ),
            // UNDOCUMENTED: code for undecodable parameters.
            ("InvalidParameter", "The request parameters are not valid"),
        );
        let incoming = match decoded {
            Ok(i) => i,
            Err(answer) => return fail(answer, rid),
        };
        let ctx = self.ctx(String::new(), now, rid, incoming.version.clone());
        let answer = aliyun::handle(&self.inner.aliyun, &ctx, &incoming.call);
        aliyun_rpc::encode_answer(&incoming.call.operation, &format, &answer)
    }
}

/// A Query-style request's decoded call, or the 400 answer for one that could not
/// be decoded: `missing_action` (code, message) when the action is absent,
/// `undecodable` (code, message to which the decoder's reason is added) otherwise.
fn query_decoded<T>(
    decoded: Result<T, DecodeError>,
    missing_action: (&'static str, &str),
    undecodable: (&'static str, &str),
) -> Result<T, auth::AuthAnswer> {
    match decoded {
        Ok(incoming) => Ok(incoming),
        Err(DecodeError::Request(m)) if m.contains("Action") => {
            Err((400, missing_action.0, missing_action.1.to_owned()))
        }
        Err(e) => Err((400, undecodable.0, format!("{}: {e}", undecodable.1))),
    }
}

/// Decoded length of the request's Alibaba nonce (`SignatureNonce`, or the V3
/// `x-acs-signature-nonce` header), the longest when given more than once.
fn nonce_len(req: &HttpRequest) -> usize {
    let header = req.header("x-acs-signature-nonce").map_or(0, str::len);
    limits::params(req)
        .filter(|(k, _)| limits::name_is(k, "SignatureNonce"))
        .map(|(_, v)| limits::decoded_len(v))
        .fold(header, usize::max)
}

fn has_param(req: &HttpRequest, name: &str) -> bool {
    aliyun_rpc::request_params(req)
        .map(|ps| ps.iter().any(|(k, _)| k == name))
        .unwrap_or(false)
}

/// `Format` of an Alibaba request (`JSON` when absent or unreadable). A request
/// within the limits is parsed strictly (a query with a broken encoding anywhere
/// names no format); one beyond them is only scanned, without allocating.
fn aliyun_format(req: &HttpRequest) -> String {
    if limits::check(req, false).is_err() {
        return limits::first_value(req, "Format").unwrap_or_else(|| "JSON".into());
    }
    let from_params =
        |ps: Vec<(String, String)>| ps.into_iter().find(|(k, _)| k == "Format").map(|(_, v)| v);
    let query = aliyun_rpc::parse_params(req.query())
        .ok()
        .and_then(from_params);
    let body = if aliyun_rpc::has_form_body(req) && req.body.len() <= MAX_BODY_BYTES {
        std::str::from_utf8(&req.body)
            .ok()
            .and_then(|b| aliyun_rpc::parse_params(b).ok())
            .and_then(from_params)
    } else {
        None
    };
    query.or(body).unwrap_or_else(|| "JSON".into())
}
