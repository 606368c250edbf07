//! Sending one probe to a metadata service: the requests it takes (a token `PUT`
//! first where the probe needs a token), recorded as exchanges, and the answer
//! judged — the last request's, or the token request's when that one fails.
//! Connections are never reused, so one answer's fate (no answer, a TTL) cannot
//! leak into the next probe; redirects are not followed.

use std::time::{Duration, Instant};

use super::{exchange, Answered, Sent, Urls};
use crate::generate::data_plane::{valid_ttl, DataProbe};
use crate::oracle::data_plane::DataActual;
use crate::spec::{DataPlane, Probe};
use crate::verdict::Exchange;

/// The most of an answer's body a probe keeps.
const MAX_BODY: usize = 4096;

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
    /// The tokens the services issued so far: a hostile service may echo one
    /// anywhere (a header, a refusal's body, the item), and none may be shown.
    issued: Secrets,
}

/// Tokens to hide wherever a recorded answer shows them.
#[derive(Default)]
pub(super) struct Secrets(std::sync::Mutex<Vec<String>>);

/// A token shorter than this is not hidden by its value: so short a value is
/// too common in an answer ("200", a word) to be told from one.
const MIN_SECRET: usize = 8;

/// The most tokens remembered (the oldest are forgotten first): each is looked
/// for in every recorded answer. A phase's probes take fewer.
const MAX_SECRETS: usize = 512;

impl Secrets {
    /// Remember a token (as sent, and trimmed as an echo may show it).
    fn add(&self, token: &str) {
        let mut all = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for t in [token, token.trim()] {
            if t.len() >= MIN_SECRET && !all.iter().any(|s| s == t) {
                if all.len() >= MAX_SECRETS {
                    all.remove(0);
                }
                all.push(t.to_string());
            }
        }
    }

    /// `s` with every remembered token replaced by `<redacted>`, and, where `s`
    /// was cut at [`MAX_BODY`], a token's beginning it ends with.
    pub(super) fn hide(&self, s: &str) -> String {
        let all = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let redacted = crate::verdict::redact::REDACTED;
        let mut out = s.to_string();
        // Longest first: a token inside another is hidden with it.
        let mut by_length: Vec<&String> = all.iter().collect();
        by_length.sort_by_key(|t| std::cmp::Reverse(t.len()));
        for t in by_length {
            if out.contains(t.as_str()) {
                out = out.replace(t.as_str(), redacted);
            }
            if s.len() >= MAX_BODY {
                let k = prefix_at_end(t.as_bytes(), out.as_bytes());
                if k >= MIN_SECRET && t.is_char_boundary(k) {
                    out.truncate(out.len() - k);
                    out.push_str(redacted);
                }
            }
        }
        out
    }

    fn hide_pairs(&self, pairs: &[(String, String)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), self.hide(v)))
            .collect()
    }
}

/// The length of the longest beginning of `t` that `s` ends with (Knuth–Morris–
/// Pratt: linear, whatever a hostile service makes the two of).
fn prefix_at_end(t: &[u8], s: &[u8]) -> usize {
    if t.is_empty() {
        return 0;
    }
    // fail[i]: the longest proper border of t[..=i].
    let mut fail = vec![0usize; t.len()];
    let mut k = 0;
    for i in 1..t.len() {
        while k > 0 && t[i] != t[k] {
            k = fail[k - 1];
        }
        if t[i] == t[k] {
            k += 1;
        }
        fail[i] = k;
    }
    let mut k = 0;
    for &b in s {
        if k == t.len() {
            k = fail[k - 1];
        }
        while k > 0 && b != t[k] {
            k = fail[k - 1];
        }
        if b == t[k] {
            k += 1;
        }
    }
    k
}

/// The request whose answer a probe is judged by.
struct Judged {
    method: &'static str,
    path: String,
    reply: Reply,
    /// The TTL header it carried, if any.
    sent_ttl: Option<String>,
}

/// One HTTP answer (or none) with what to record.
struct Reply {
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: String,
    no_answer: Option<String>,
    /// The body was longer than [`MAX_BODY`] and is cut there.
    cut: bool,
}

impl ProbeClient {
    pub fn new(dp: &DataPlane, pause: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(PROBE_TIMEOUT)
            .pool_max_idle_per_host(0)
            .no_proxy()
            // A redirect is the service's answer: following it would judge
            // another's, and carry the token header there.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the metadata client: {e}"))?;
        Ok(ProbeClient {
            http,
            dp: dp.clone(),
            pause,
            issued: Secrets::default(),
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
                cut: false,
            },
            Ok(resp) => {
                let status = resp.status().as_u16();
                let hs = crate::wire::header_pairs(resp.headers());
                match read_bounded(resp).await {
                    Ok((body, cut)) => Reply {
                        status: Some(status),
                        headers: hs,
                        body,
                        no_answer: None,
                        cut,
                    },
                    Err(e) => Reply {
                        status: None,
                        headers: Vec::new(),
                        body: String::new(),
                        no_answer: Some(why(&e)),
                        cut: false,
                    },
                }
            }
        };
        if is_token && reply.status == Some(200) {
            self.issued.add(&reply.body);
        }
        log.push(exchange(
            base,
            method,
            path,
            &headers,
            &self.dp.token_header,
            reply.status.map(|status| Answered {
                status,
                headers: self.issued.hide_pairs(&reply.headers),
                body: self.issued.hide(&reply.body),
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
        let mut log = Vec::new();
        let base = match p.probe {
            Probe::Ipv6 => urls
                .v6
                .clone()
                .ok_or("no IPv6 metadata endpoint given (--imds INSTANCE=http://[ADDR]:PORT)")?,
            _ => urls.main.clone(),
        };
        let judged = self.requests(p, urls, &base, &mut log).await?;
        tokio::time::sleep(self.pause.min(Duration::from_millis(50))).await;
        let token_answer = judged.method == "PUT" && judged.reply.status == Some(200);
        let actual = match (judged.reply.status, judged.reply.no_answer) {
            (Some(status), _) => DataActual::Answer {
                status,
                echoed_ttl: judged
                    .reply
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&self.dp.ttl_header))
                    .map(|(_, v)| self.issued.hide(v)),
                sent_ttl: judged.sent_ttl,
            },
            (None, reason) => DataActual::NoAnswer {
                reason: reason.unwrap_or_else(|| "no answer".into()),
            },
        };
        Ok(Sent {
            actual,
            request_line: format!("{} {}", judged.method, judged.path),
            body: if token_answer {
                crate::verdict::redact::REDACTED.to_string()
            } else {
                self.issued.hide(&judged.reply.body)
            },
            exchanges: log,
            elapsed: started.elapsed(),
        })
    }

    /// The requests of one probe; the answer judged is the last one's, or a token
    /// request's that failed (the probe could not go on).
    async fn requests(
        &self,
        p: &DataProbe,
        urls: &Urls,
        base: &str,
        log: &mut Vec<Exchange>,
    ) -> Result<Judged, String> {
        let dp = &self.dp;
        let item = dp.item_path.clone();
        let get = |path: String, reply: Reply| Judged {
            method: "GET",
            path,
            reply,
            sent_ttl: None,
        };
        Ok(match p.probe {
            Probe::Get => get(
                item.clone(),
                self.request(base, "GET", &item, Vec::new(), log).await,
            ),
            Probe::PutToken
            | Probe::PutTokenBadTtl
            | Probe::PutTokenForwarded
            | Probe::PutTokenVersioned => self.token_request(p, base, log).await,
            Probe::GetInvalidToken => {
                let headers = self.with_token(INVALID_TOKEN);
                get(
                    item.clone(),
                    self.request(base, "GET", &item, headers, log).await,
                )
            }
            Probe::GetForeignToken => {
                let token = self.foreign_token(urls, log).await?;
                get(
                    item.clone(),
                    self.request(base, "GET", &item, self.with_token(&token), log)
                        .await,
                )
            }
            Probe::GetExpiredToken => {
                let short = dp.ttl_range.min.max(1);
                let token = match self.token(base, short, log).await {
                    Ok(t) => t,
                    Err(failed) => return Ok(failed),
                };
                // At least 1 (above): the conversion cannot fail.
                let secs = u64::try_from(short).unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(secs) + Duration::from_millis(600)).await;
                get(
                    item.clone(),
                    self.request(base, "GET", &item, self.with_token(&token), log)
                        .await,
                )
            }
            Probe::GetMissing => {
                let path = format!("{item}-imds-conform-absent");
                let headers = match self.token(base, valid_ttl(dp), log).await {
                    Ok(t) => self.with_token(&t),
                    Err(_) => Vec::new(),
                };
                get(
                    path.clone(),
                    self.request(base, "GET", &path, headers, log).await,
                )
            }
            Probe::GetWithToken | Probe::Tags | Probe::TagValue | Probe::Ipv6 => {
                let token = match self.token(base, valid_ttl(dp), log).await {
                    Ok(t) => t,
                    Err(failed) => return Ok(failed),
                };
                let path = self.path_with_token(p.probe, base, &token, log).await?;
                get(
                    path.clone(),
                    self.request(base, "GET", &path, self.with_token(&token), log)
                        .await,
                )
            }
            Probe::Any => return Err("`any` is not a probe".into()),
        })
    }

    /// A token from `base`, or the failed token request as the judged answer.
    async fn token(&self, base: &str, ttl: i64, log: &mut Vec<Exchange>) -> Result<String, Judged> {
        let mut t = self.put_token(base, ttl, log).await;
        if t.status == Some(200) && t.cut {
            // Sent back cut, it would be refused as a wrong token: the probe
            // cannot go on, and says why (as for a token no header can carry).
            t.status = None;
            t.no_answer = Some(format!(
                "the token answer is longer than {MAX_BODY} bytes: no token to send back"
            ));
        }
        if t.status == Some(200) {
            Ok(t.body)
        } else {
            Err(Judged {
                method: "PUT",
                path: self.dp.token_path.clone(),
                reply: t,
                sent_ttl: Some(ttl.to_string()),
            })
        }
    }

    /// The token requests that are themselves the probe.
    async fn token_request(&self, p: &DataProbe, base: &str, log: &mut Vec<Exchange>) -> Judged {
        let dp = &self.dp;
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
        let reply = self.request(base, "PUT", &path, headers, log).await;
        Judged {
            method: "PUT",
            path,
            reply,
            sent_ttl: p.ttl.clone(),
        }
    }

    /// A token from another instance of the API; only the attempt that issued it
    /// is recorded. An endpoint whose item shows it is not the instance it is
    /// bound to is passed over: its token may be this instance's own, and
    /// accepting it is no departure. Where the item names the instance, it must
    /// name the one bound; else it must differ from this endpoint's item.
    async fn foreign_token(&self, urls: &Urls, log: &mut Vec<Exchange>) -> Result<String, String> {
        let mut passed_over = Vec::new();
        let mut own: Option<Option<String>> = None;
        for (other_id, other) in &urls.foreign {
            let mut attempt = Vec::new();
            let t = self
                .put_token(other, valid_ttl(&self.dp), &mut attempt)
                .await;
            if t.status != Some(200) || t.cut {
                continue;
            }
            let item = &self.dp.item_path;
            let r = self
                .request(other, "GET", item, self.with_token(&t.body), &mut attempt)
                .await;
            let named = self.issued.hide(r.body.trim());
            let named = named.as_str();
            // A token from a service that may be this instance's own (under another
            // binding) proves nothing: where its identity cannot be established,
            // the endpoint is passed over, not used.
            if r.status != Some(200) {
                let answer = r.status.map_or("no answer".to_string(), |s| s.to_string());
                passed_over.push(format!(
                    "{other} (bound to {other_id}) did not say which instance it is ({answer})"
                ));
                continue;
            }
            if self.dp.item_is_instance_id == Some(true) {
                if named != other_id {
                    passed_over.push(format!("{other} (bound to {other_id}) names {named:?}"));
                    continue;
                }
            } else {
                if own.is_none() {
                    own = Some(self.read_item(&urls.main, &mut Vec::new()).await.ok());
                }
                match own.as_ref().and_then(|o| o.as_deref()) {
                    Some(mine) if mine == named => {
                        passed_over.push(format!(
                            "{other} (bound to {other_id}) names {named:?}, as this instance's does"
                        ));
                        continue;
                    }
                    None => {
                        passed_over.push(format!(
                            "{other} (bound to {other_id}): this instance's own item could not be \
                             read to tell the two apart"
                        ));
                        continue;
                    }
                    Some(_) => {}
                }
            }
            log.extend(attempt);
            return Ok(t.body);
        }
        let mut why =
            "no other instance of this API issued a token (give --imds for another instance)"
                .to_string();
        if !passed_over.is_empty() {
            why.push_str(&format!(
                "; passed over, as not the instance bound: {}",
                passed_over.join(", ")
            ));
        }
        Err(why)
    }

    /// The path a token-carrying probe reads: the item, the tag listing, or the
    /// first listed tag's value (`Name` when the listing is refused). `Err` when
    /// the listing is served but empty: the instance has no tag to read, and a
    /// key it does not have would be absent by right.
    async fn path_with_token(
        &self,
        probe: Probe,
        base: &str,
        token: &str,
        log: &mut Vec<Exchange>,
    ) -> Result<String, String> {
        let tags = self.dp.tags_path.clone().unwrap_or_default();
        Ok(match probe {
            Probe::Tags => tags,
            Probe::TagValue => {
                let listing = self
                    .request(base, "GET", &tags, self.with_token(token), log)
                    .await;
                let first = listing.body.lines().map(str::trim).find(|k| !k.is_empty());
                let key = match (listing.status, first) {
                    (Some(200), Some(k)) => k.to_string(),
                    (Some(200), None) => {
                        return Err(format!(
                            "{tags} lists no tag: the instance has none to read"
                        ))
                    }
                    _ => "Name".to_string(),
                };
                format!("{tags}/{key}")
            }
            _ => self.dp.item_path.clone(),
        })
    }
}

/// The answer's body, at most [`MAX_BODY`] bytes of it (a hostile service cannot
/// make the suite hold more), as text.
/// Also whether it was cut (there was more).
async fn read_bounded(mut resp: reqwest::Response) -> Result<(String, bool), reqwest::Error> {
    let mut bytes = Vec::new();
    let mut cut = false;
    while let Some(chunk) = resp.chunk().await? {
        let room = MAX_BODY.saturating_sub(bytes.len());
        cut = chunk.len() > room;
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if cut {
            break;
        }
    }
    Ok((String::from_utf8_lossy(&bytes).into_owned(), cut))
}

fn why(e: &reqwest::Error) -> String {
    if e.is_builder() {
        // Nothing was sent: a value from the service (a token) is no header value.
        format!("the request could not be sent: {e} (a token that is not a valid header value?)")
    } else if e.is_timeout() {
        format!("no answer within {PROBE_TIMEOUT:?}")
    } else if e.is_connect() {
        "connection refused".into()
    } else {
        // What the HTTP client made of the answer: cut off, or not one it
        // reads (a head past its limit, no HTTP at all).
        let hyper = std::iter::successors(Some(e as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
        .find_map(|e| e.downcast_ref::<hyper::Error>());
        match hyper {
            Some(h) if h.is_parse_too_large() => {
                "the answer's head is too large to read (endless headers?)".into()
            }
            Some(h) if h.is_parse() || h.is_parse_status() => {
                format!("the answer could not be read as HTTP: {h}")
            }
            _ if e.is_body() || e.is_decode() => {
                "the connection closed in the middle of the answer's body".into()
            }
            _ => "the connection closed without an answer".into(),
        }
    }
}

/// The id of the instance whose metadata service is at `url` (for `run --self`):
/// a token first (so a service with tokens required answers too), then the item.
/// `Err` says what went wrong; the table must say the item is the instance's id.
pub async fn discover_instance_id(dp: &DataPlane, url: &str) -> Result<String, String> {
    if dp.item_is_instance_id != Some(true) {
        return Err(
            "this API's metadata does not name the instance as the API does; give --instance"
                .into(),
        );
    }
    let client = ProbeClient::new(dp, Duration::ZERO)?;
    client
        .read_item(url.trim_end_matches('/'), &mut Vec::new())
        .await
}

impl ProbeClient {
    /// The item's text at `base` (trimmed): a token first where one is issued, so
    /// a service with tokens required answers too; the exchanges go to `log`.
    /// `Err` says why there is none.
    pub(super) async fn read_item(
        &self,
        base: &str,
        log: &mut Vec<Exchange>,
    ) -> Result<String, String> {
        let dp = &self.dp;
        let t = self.put_token(base, valid_ttl(dp), log).await;
        let headers = match t.status {
            Some(200) if !t.cut => self.with_token(&t.body),
            _ => Vec::new(),
        };
        let r = self.request(base, "GET", &dp.item_path, headers, log).await;
        match (r.status, r.no_answer) {
            // (An item that echoes a token shows it redacted.)
            (Some(200), _) if !r.body.trim().is_empty() => Ok(self.issued.hide(r.body.trim())),
            (Some(s), _) => Err(format!("{base}{} answered {s}", dp.item_path)),
            (None, reason) => Err(format!(
                "no metadata service at {base}: {}",
                reason.unwrap_or_default()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_cut_at_the_end_of_an_answer_is_found() {
        assert_eq!(prefix_at_end(b"abcdef", b"xxabc"), 3);
        assert_eq!(prefix_at_end(b"abcdef", b"xxabd"), 0);
        assert_eq!(prefix_at_end(b"aab", b"aaaa"), 2);
        assert_eq!(prefix_at_end(b"abab", b"xabab"), 4);
        assert_eq!(prefix_at_end(b"", b"abc"), 0);
        let secrets = Secrets::default();
        secrets.add("0123456789abcdef");
        let cut = format!("{}0123456789ab", "x".repeat(MAX_BODY - 12));
        let shown = secrets.hide(&cut);
        assert!(
            shown.ends_with("x<redacted>"),
            "{}",
            &shown[shown.len() - 20..]
        );
        assert_eq!(secrets.hide("a 0123456789abcdef b"), "a <redacted> b");
        assert_eq!(secrets.hide("0123456"), "0123456");
    }
}
