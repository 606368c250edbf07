//! One metadata request → one answer (or none), from the instance's *applied*
//! options. Pure: the clock, the instance and its token store are passed in; the
//! listener (`listen.rs`) does the I/O and sets the IP TTL the answer asks for.
//!
//! The emulator's reading of the docs (it never looks at the spec tables):
//! - a stopped instance, or the IPv6 endpoint with `http_protocol_ipv6` disabled,
//!   answers nothing;
//! - `http_endpoint` disabled: EC2/Lightsail answer 403 to everything ("403 -
//!   Forbidden – … the instance metadata service is turned off"); Alibaba's service
//!   "cannot be reached", so it answers nothing;
//! - token `PUT`: `X-Forwarded-For` → 403; a TTL missing, not a number or outside
//!   1–21600 → 400; a version-specific token path (`/2021-03-23/api/token`) → 403;
//!   else 200 with the token, the TTL header echoed, and the IP TTL set to the hop
//!   limit;
//! - `GET`/`HEAD` with a token: unknown, foreign or expired → 401 (Alibaba 403);
//!   without one while tokens are required → 401 (Alibaba 403);
//! - then the tree: `text/plain`, 404 for what is absent; other methods 405.

use std::time::{Duration, SystemTime};

use super::tokens::{TokenProblem, TokenStore};
use super::tree::{self, Facts};
use super::Flavor;
use crate::emulator::store::{InstanceView, RunState};
use crate::wire::HttpRequest;

/// The token TTLs the service accepts, in seconds.
pub const TTL_RANGE: std::ops::RangeInclusive<u64> = 1..=21600;

/// What the listener does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Close the connection without an answer.
    Silence,
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        /// IP TTL / IPv6 hop limit for this answer's packets (`None`: the default).
        ip_ttl: Option<u32>,
    },
}

fn text(status: u16, body: impl Into<String>) -> Reply {
    Reply::Answer {
        status,
        headers: vec![("Content-Type".into(), "text/plain".into())],
        body: body.into(),
        ip_ttl: None,
    }
}

/// Everything one request is answered from.
pub struct Request<'a> {
    pub req: &'a HttpRequest,
    pub flavor: Flavor,
    /// The instance as stored (its applied options decide), with its tags.
    pub view: &'a InstanceView,
    pub tags: &'a std::collections::BTreeMap<String, String>,
    pub tokens: &'a TokenStore,
    /// The request came in on the IPv6 endpoint.
    pub ipv6: bool,
    pub now: SystemTime,
}

/// Answer one metadata request.
pub fn answer(r: &Request<'_>) -> Reply {
    let options = r.view.applied_options();
    if r.view.run_state != RunState::Running {
        return Reply::Silence;
    }
    if r.ipv6 && options.http_protocol_ipv6 != "enabled" {
        return Reply::Silence;
    }
    if options.http_endpoint != "enabled" {
        return match r.flavor {
            Flavor::Aliyun => Reply::Silence,
            Flavor::Ec2 | Flavor::Lightsail => text(403, "Forbidden"),
        };
    }
    let path = r.req.path();
    match r.req.method.as_str() {
        "PUT" if path.ends_with("/api/token") => put_token(r, options.hop_limit),
        "GET" | "HEAD" => get(
            r,
            options.http_tokens == "required",
            &options.instance_metadata_tags,
        ),
        _ => {
            let mut reply = text(405, "Method Not Allowed");
            if let Reply::Answer { headers, .. } = &mut reply {
                headers.push(("Allow".into(), "GET, HEAD, PUT".into()));
            }
            reply
        }
    }
}

fn put_token(r: &Request<'_>, hop_limit: i64) -> Reply {
    let headers = r.flavor.headers();
    if r.req.header("X-Forwarded-For").is_some() {
        return text(403, "Forbidden");
    }
    if r.req.path() != "/latest/api/token" {
        return text(403, "Forbidden");
    }
    let ttl = r
        .req
        .header(headers.ttl)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|t| TTL_RANGE.contains(t));
    let Some(ttl) = ttl else {
        return text(400, "Missing or Invalid Parameters");
    };
    let token = r.tokens.issue(Duration::from_secs(ttl), r.now);
    Reply::Answer {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "text/plain".into()),
            (headers.ttl.to_string(), ttl.to_string()),
        ],
        body: token,
        ip_ttl: Some(hop_limit.clamp(1, 255) as u32),
    }
}

fn get(r: &Request<'_>, tokens_required: bool, tags: &str) -> Reply {
    let refused = match r.flavor {
        Flavor::Aliyun => (403, "Forbidden"),
        Flavor::Ec2 | Flavor::Lightsail => (401, "Unauthorized"),
    };
    let with_token = match r.req.header(r.flavor.headers().token) {
        Some(token) => match r.tokens.check(token.trim(), r.now) {
            Ok(()) => true,
            Err(TokenProblem::Unknown | TokenProblem::Expired) => {
                return text(refused.0, refused.1)
            }
        },
        None if tokens_required => return text(refused.0, refused.1),
        None => false,
    };
    let v = r.view;
    let facts = Facts {
        flavor: r.flavor,
        id: &v.id,
        region: &v.region,
        zone: &v.zone,
        instance_type: &v.instance_type,
        tags: r.tags,
        tags_enabled: tags == "enabled",
        with_token,
        now_rfc3339: rfc3339(r.now),
        expires_rfc3339: rfc3339(r.now + Duration::from_secs(6 * 3600)),
    };
    match tree::item(&facts, r.req.path()) {
        Some(body) => text(200, body),
        None => text(404, "Not Found"),
    }
}

fn rfc3339(t: SystemTime) -> String {
    crate::emulator::utc(t, "%Y-%m-%dT%H:%M:%SZ")
}
