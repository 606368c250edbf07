//! A judged case, as reports and snapshots consume it: the request as sent (secrets
//! redacted), what was acceptable, what came back, the verdict and its citations.
#![warn(missing_docs)]

use serde::{Deserialize, Serialize};

use crate::oracle::{Acceptable, Auth};
use crate::wire::{HttpRequest, HttpResponse, Outcome, RawParam};

use super::redact;
use super::Verdict;

/// One case, judged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    /// Stable id within a run: `aws-ec2/coverage/0042`.
    pub id: String,
    /// The API id.
    pub api: String,
    /// `coverage`, `random`, `auth`, `sequence`.
    pub phase: String,
    /// The rule the case checks (`HttpPutResponseHopLimit.range`).
    pub rule: String,
    /// What the case is, in words (`HttpPutResponseHopLimit = 65`).
    pub title: String,
    /// The operation called.
    pub operation: String,
    /// The parameters as sent, in order (secret-bearing values redacted).
    pub request: Vec<RawParam>,
    /// How the request was signed.
    pub auth: Auth,
    /// The oracle's acceptable outcomes.
    pub expected: Vec<Acceptable>,
    /// The ambiguities the call touches.
    pub ambiguities: Vec<String>,
    /// What the target answered.
    pub actual: Actual,
    /// The judgement.
    pub verdict: Verdict,
    /// Why a failing case fails, in a form that groups into departures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<super::Finding>,
    /// The citations of the rule, one line each.
    pub citation: Vec<String>,
    /// The raw exchange(s), redacted: the modify call first, then any read-back.
    pub exchanges: Vec<Exchange>,
    /// What else the runner saw (read-back results, retries…).
    pub notes: Vec<String>,
    /// Time taken, in milliseconds.
    pub duration_ms: f64,
}

/// What the target answered, normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Actual {
    /// A decoded answer.
    Outcome {
        /// The answer.
        outcome: Outcome,
    },
    /// An answer the protocol cannot decode (an HTML error page…): judged on its
    /// status, and a departure of its own.
    Undecodable {
        /// The HTTP status.
        status: u16,
        /// Why it does not decode.
        reason: String,
    },
    /// Nothing came back (transport failure, timeout): the suite's trouble.
    Unjudgeable {
        /// Why.
        reason: String,
    },
}

/// One HTTP exchange as text, secrets redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The endpoint URL the request went to (no path).
    pub endpoint: String,
    /// The request as sent, redacted.
    pub request: RecordedRequest,
    /// The answer; `None` when the request failed before one came back.
    pub response: Option<RecordedResponse>,
}

/// A request as sent, redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// `GET`, `POST`…
    pub method: String,
    /// Path and query, exactly as sent (secrets redacted).
    pub path_and_query: String,
    /// Headers as sent (secrets redacted).
    pub headers: Vec<(String, String)>,
    /// The body as text (secrets redacted).
    pub body: String,
}

/// An answer as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedResponse {
    /// The HTTP status.
    pub status: u16,
    /// Headers as received (secrets redacted).
    pub headers: Vec<(String, String)>,
    /// The body as text (secrets it echoes redacted: [`redact::text`]).
    pub body: String,
}

impl Exchange {
    /// Record an exchange, redacting every secret-bearing header and parameter,
    /// and every secret the answer echoes.
    pub fn record(endpoint: &str, req: &HttpRequest, resp: Option<&HttpResponse>) -> Self {
        let mut ex = Self::unredacted(endpoint, req, resp);
        redact::exchange(&mut ex);
        ex
    }

    /// An exchange as it went, secrets and all: only for a case record that
    /// [`redact::case`] goes over before anyone sees it (most are dropped unread,
    /// with their passing case).
    pub(crate) fn unredacted(
        endpoint: &str,
        req: &HttpRequest,
        resp: Option<&HttpResponse>,
    ) -> Self {
        Exchange {
            endpoint: endpoint.to_string(),
            request: RecordedRequest {
                method: req.method.clone(),
                path_and_query: req.path_and_query.clone(),
                headers: req.headers.clone(),
                body: String::from_utf8_lossy(&req.body).into_owned(),
            },
            response: resp.map(|r| RecordedResponse {
                status: r.status,
                headers: r.headers.clone(),
                body: kept_body(&r.body),
            }),
        }
    }
}

/// How much of an answer's body an exchange keeps: every documented answer is a
/// few kilobytes, and a hostile target's megabyte answers, kept with each failing
/// case, grew the suite by megabytes a case.
pub const KEPT_BODY: usize = 64 * 1024;

/// An answer's body as text, at most [`KEPT_BODY`] bytes of it: cut at the last
/// delimiter before the limit (so a secret the redaction would hide is not cut in
/// half and shown in part), and said so.
fn kept_body(body: &[u8]) -> String {
    if body.len() <= KEPT_BODY {
        return String::from_utf8_lossy(body).into_owned();
    }
    let head = &body[..KEPT_BODY];
    let cut = head
        .iter()
        .rposition(|b| b.is_ascii_whitespace() || b"<>&\"',;".contains(b))
        .filter(|&i| i + 4096 >= KEPT_BODY)
        .map_or(KEPT_BODY, |i| i + 1);
    let mut text = String::from_utf8_lossy(&body[..cut]).into_owned();
    text.push_str(&format!("\n[{} bytes more, not kept]", body.len() - cut));
    text
}

/// Counts by verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Every case counted.
    pub total: usize,
    /// Cases that passed.
    pub pass: usize,
    /// Cases that passed under a reading of an ambiguity.
    pub pass_under_reading: usize,
    /// Cases that failed.
    pub fail: usize,
    /// Cases that could not be judged.
    pub error: usize,
    /// Distinct departures among the failures.
    #[serde(default)]
    pub departures: usize,
    /// Ambiguities whose readings the target's answers contradict.
    #[serde(default)]
    pub inconsistent_readings: usize,
}

impl Summary {
    /// Count one more verdict.
    pub fn add(&mut self, v: &Verdict) {
        self.total += 1;
        match v {
            Verdict::Pass => self.pass += 1,
            Verdict::PassUnderReading { .. } => self.pass_under_reading += 1,
            Verdict::Fail { .. } => self.fail += 1,
            Verdict::Error { .. } => self.error += 1,
        }
    }
    /// The counts over `cases`.
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a CaseResult>) -> Self {
        let mut s = Summary::default();
        for c in cases {
            s.add(&c.verdict);
        }
        s
    }
    /// Some case judged, no failure and no error (a summary of no case is no
    /// verdict: it does not conform).
    pub fn conforms(&self) -> bool {
        self.total > 0 && self.fail == 0 && self.error == 0 && self.inconsistent_readings == 0
    }

    /// Add another run's counts (not its departures or readings).
    pub fn merge(&mut self, other: &Summary) {
        self.total += other.total;
        self.pass += other.pass;
        self.pass_under_reading += other.pass_under_reading;
        self.fail += other.fail;
        self.error += other.error;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: Vec<u8>) -> HttpResponse {
        HttpResponse {
            status: 500,
            headers: Vec::new(),
            body,
        }
    }

    fn request() -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            path_and_query: "/".into(),
            headers: Vec::new(),
            body: b"Action=X".to_vec(),
        }
    }

    /// A megabyte answer is kept as its first 64 KiB and a line saying how much
    /// was left; a documented answer's size is kept whole.
    #[test]
    fn a_huge_answer_is_kept_in_part_and_said_so() {
        let big = "<a>x</a>".repeat(200_000).into_bytes();
        let ex = Exchange::unredacted("http://t", &request(), Some(&answer(big.clone())));
        let body = ex.response.expect("an answer").body;
        assert!(body.len() < KEPT_BODY + 64, "{}", body.len());
        let kept = body.split("\n[").next().expect("the part kept").len();
        assert!(
            body.ends_with(&format!("[{} bytes more, not kept]", big.len() - kept)),
            "{}",
            &body[body.len() - 60..]
        );
        // Cut at a delimiter, not inside an element's text.
        assert!(body[..kept].ends_with('>'), "{}", &body[kept - 20..kept]);
        let small = "<Response/>".as_bytes().to_vec();
        let ex = Exchange::unredacted("http://t", &request(), Some(&answer(small)));
        assert_eq!(ex.response.expect("an answer").body, "<Response/>");
    }
}
