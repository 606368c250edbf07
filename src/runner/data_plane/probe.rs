//! Sending one probe to a metadata service: the requests it takes (a token `PUT`
//! first where the probe needs a token), recorded as exchanges, and the answer
//! judged — the last request's, or the token request's when that one fails.
//! Connections are never reused, so one answer's fate (no answer, a TTL) cannot
//! leak into the next probe.

use std::time::{Duration, Instant};

use super::{exchange, Answered, Sent, Urls};
use crate::generate::data_plane::{valid_ttl, DataProbe};
use crate::oracle::data_plane::DataActual;
use crate::spec::{DataPlane, Probe};
use crate::verdict::Exchange;

/// How long a probe waits for an answer before it counts as none.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// A token value the service never issued.
const INVALID_TOKEN: &str = "imds-conform-invalid-token-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// A documentation address (RFC 5737), sent only as a header value.
const FORWARDED_FOR: &str = "192.0.2.1";

/// Sends probes for one table's metadata layout.
pub struct ProbeClient {
    http: reqwest::Client,
    dp: DataPlane,
    pause: Duration,
}

/// One HTTP answer (or none) with what to record.
struct Reply {
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: String,
    no_answer: Option<String>,
}

impl ProbeClient {
    pub fn new(dp: &DataPlane, pause: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(PROBE_TIMEOUT)
            .pool_max_idle_per_host(0)
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build the metadata client: {e}"))?;
        Ok(ProbeClient {
            http,
            dp: dp.clone(),
            pause,
        })
    }

    async fn request(
        &self,
        base: &str,
        method: &str,
        path: &str,
        headers: Vec<(String, String)>,
        log: &mut Vec<Exchange>,
    ) -> Reply {
        let is_token = method == "PUT";
        let mut req = self.http.request(
            method.parse().unwrap_or(reqwest::Method::GET),
            format!("{base}{path}"),
        );
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let reply = match req.send().await {
            Err(e) => Reply {
                status: None,
                headers: Vec::new(),
                body: String::new(),
                no_answer: Some(why(&e)),
            },
            Ok(resp) => {
                let status = resp.status().as_u16();
                let hs: Vec<(String, String)> = resp
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.to_string(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                match resp.text().await {
                    Ok(body) => Reply {
                        status: Some(status),
                        headers: hs,
                        body: body.chars().take(4096).collect(),
                        no_answer: None,
                    },
                    Err(e) => Reply {
                        status: None,
                        headers: Vec::new(),
                        body: String::new(),
                        no_answer: Some(why(&e)),
                    },
                }
            }
        };
        log.push(exchange(
            base,
            method,
            path,
            &headers,
            &self.dp.token_header,
            reply.status.map(|status| Answered {
                status,
                headers: reply.headers.clone(),
                body: reply.body.clone(),
                token: is_token,
            }),
        ));
        reply
    }

    async fn put_token(&self, base: &str, ttl: i64, log: &mut Vec<Exchange>) -> Reply {
        let headers = vec![(self.dp.ttl_header.clone(), ttl.to_string())];
        self.request(base, "PUT", &self.dp.token_path, headers, log)
            .await
    }

    fn with_token(&self, token: &str) -> Vec<(String, String)> {
        vec![(self.dp.token_header.clone(), token.to_string())]
    }

    /// Send `p`. `Err` says why it could not be sent (no IPv6 endpoint, no other
    /// instance for a foreign token…): the probe is skipped, not judged.
    pub(super) async fn send(&self, p: &DataProbe, urls: &Urls) -> Result<Sent, String> {
        let started = Instant::now();
        let dp = &self.dp;
        let mut log = Vec::new();
        let ttl = valid_ttl(dp);
        let base = match p.probe {
            Probe::Ipv6 => urls
                .v6
                .clone()
                .ok_or("no IPv6 metadata endpoint given (--imds INSTANCE=http://[ADDR]:PORT)")?,
            _ => urls.main.clone(),
        };
        let item = dp.item_path.clone();
        let tags = dp.tags_path.clone().unwrap_or_default();
        let (method, path, reply, sent_ttl) = match p.probe {
            Probe::Get => (
                "GET",
                item.clone(),
                self.request(&base, "GET", &item, Vec::new(), &mut log)
                    .await,
                None,
            ),
            Probe::PutToken
            | Probe::PutTokenBadTtl
            | Probe::PutTokenForwarded
            | Probe::PutTokenVersioned => {
                let mut headers = Vec::new();
                if let Some(t) = &p.ttl {
                    headers.push((dp.ttl_header.clone(), t.clone()));
                }
                if p.probe == Probe::PutTokenForwarded {
                    headers.push(("X-Forwarded-For".into(), FORWARDED_FOR.into()));
                }
                let path = match p.probe {
                    Probe::PutTokenVersioned => dp.versioned_token_path.clone().unwrap_or_default(),
                    _ => dp.token_path.clone(),
                };
                let r = self.request(&base, "PUT", &path, headers, &mut log).await;
                ("PUT", path, r, p.ttl.clone())
            }
            Probe::GetInvalidToken => {
                let r = self
                    .request(
                        &base,
                        "GET",
                        &item,
                        self.with_token(INVALID_TOKEN),
                        &mut log,
                    )
                    .await;
                ("GET", item.clone(), r, None)
            }
            Probe::GetForeignToken => {
                let mut token = None;
                // Only the attempt that issued the token is recorded.
                for other in &urls.foreign {
                    let mut attempt = Vec::new();
                    let t = self.put_token(other, ttl, &mut attempt).await;
                    if t.status == Some(200) {
                        log.extend(attempt);
                        token = Some(t.body);
                        break;
                    }
                }
                let Some(token) = token else {
                    return Err("no other instance of this API issued a token (give --imds for another instance)".into());
                };
                let r = self
                    .request(&base, "GET", &item, self.with_token(&token), &mut log)
                    .await;
                ("GET", item.clone(), r, None)
            }
            Probe::GetExpiredToken => {
                let short = dp.ttl_range.min.max(1);
                let t = self.put_token(&base, short, &mut log).await;
                if t.status != Some(200) {
                    ("PUT", dp.token_path.clone(), t, Some(short.to_string()))
                } else {
                    tokio::time::sleep(
                        Duration::from_secs(short as u64) + Duration::from_millis(600),
                    )
                    .await;
                    let r = self
                        .request(&base, "GET", &item, self.with_token(&t.body), &mut log)
                        .await;
                    ("GET", item.clone(), r, None)
                }
            }
            Probe::GetMissing => {
                let path = format!("{item}-imds-conform-absent");
                let t = self.put_token(&base, ttl, &mut log).await;
                let headers = if t.status == Some(200) {
                    self.with_token(&t.body)
                } else {
                    Vec::new()
                };
                let r = self.request(&base, "GET", &path, headers, &mut log).await;
                ("GET", path, r, None)
            }
            Probe::GetWithToken | Probe::Tags | Probe::TagValue | Probe::Ipv6 => {
                let t = self.put_token(&base, ttl, &mut log).await;
                if t.status != Some(200) {
                    ("PUT", dp.token_path.clone(), t, Some(ttl.to_string()))
                } else {
                    let mut path = match p.probe {
                        Probe::Tags | Probe::TagValue => tags.clone(),
                        _ => item.clone(),
                    };
                    if p.probe == Probe::TagValue {
                        let listing = self
                            .request(&base, "GET", &tags, self.with_token(&t.body), &mut log)
                            .await;
                        let key = listing
                            .body
                            .lines()
                            .next()
                            .filter(|k| listing.status == Some(200) && !k.is_empty())
                            .unwrap_or("Name")
                            .to_string();
                        path = format!("{tags}/{key}");
                    }
                    let r = self
                        .request(&base, "GET", &path, self.with_token(&t.body), &mut log)
                        .await;
                    ("GET", path, r, None)
                }
            }
            Probe::Any => return Err("`any` is not a probe".into()),
        };
        tokio::time::sleep(self.pause.min(Duration::from_millis(50))).await;
        let is_token_answer = method == "PUT";
        let actual = match (reply.status, reply.no_answer) {
            (Some(status), _) => DataActual::Answer {
                status,
                echoed_ttl: reply
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&dp.ttl_header))
                    .map(|(_, v)| v.clone()),
                sent_ttl,
            },
            (None, reason) => DataActual::NoAnswer {
                reason: reason.unwrap_or_else(|| "no answer".into()),
            },
        };
        Ok(Sent {
            actual,
            request_line: format!("{method} {path}"),
            body: if is_token_answer && reply.status == Some(200) {
                crate::verdict::redact::REDACTED.to_string()
            } else {
                reply.body
            },
            exchanges: log,
            elapsed: started.elapsed(),
        })
    }
}

fn why(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("no answer within {PROBE_TIMEOUT:?}")
    } else if e.is_connect() {
        "connection refused".into()
    } else {
        "the connection closed without an answer".into()
    }
}

/// The id of the instance whose metadata service is at `url` (for `run --self`):
/// a token first (so a service with tokens required answers too), then the item.
/// `Err` says what went wrong; the table must say the item is the instance's id.
pub async fn discover_instance_id(dp: &DataPlane, url: &str) -> Result<String, String> {
    if !dp.item_is_instance_id {
        return Err(
            "this API's metadata does not name the instance as the API does; give --instance"
                .into(),
        );
    }
    let client = ProbeClient::new(dp, Duration::ZERO)?;
    let base = url.trim_end_matches('/');
    let mut log = Vec::new();
    let t = client.put_token(base, valid_ttl(dp), &mut log).await;
    let headers = match t.status {
        Some(200) => client.with_token(&t.body),
        _ => Vec::new(),
    };
    let r = client
        .request(base, "GET", &dp.item_path, headers, &mut log)
        .await;
    match (r.status, r.no_answer) {
        (Some(200), _) if !r.body.trim().is_empty() => Ok(r.body.trim().to_string()),
        (Some(s), _) => Err(format!("{base}{} answered {s}", dp.item_path)),
        (None, reason) => Err(format!(
            "no metadata service at {base}: {}",
            reason.unwrap_or_default()
        )),
    }
}
