//! Normalization: an outcome in a stable, redacted form that two targets (or two
//! runs against one target) can be compared in.
//!
//! What changes from call to call — request ids, operation ids, timestamps,
//! instance ids and names — is replaced by a numbered placeholder
//! (`<request-id:1>`, `<operation-id:1>`, `<timestamp:1>`, `<instance-id:1>`). Which
//! answer members hold such identities, and how an instance id looks in free text,
//! are facts of the API's spec table (`[volatile]`); ISO 8601 times are recognized
//! by their shape. The number is given by first appearance within one
//! [`Normalizer`], so an identity that recurs (the instance named in the request and
//! in the answer, one request id in the header and the body) gets the same
//! placeholder every time. Status, error code and message are kept (instance ids
//! inside a message are replaced too). Nothing here does I/O; the result is
//! deterministic in its input.
#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::record::Actual;
use crate::spec::Volatile;
use crate::wire::{Outcome, RawParam, RawValue};

/// An outcome, normalized: what snapshots, recordings and baselines hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Normalized {
    /// A 2xx answer; `body` with identities replaced by placeholders.
    Success {
        /// The HTTP status.
        status: u16,
        /// The request id's placeholder, if the answer has one.
        request_id: Option<String>,
        /// The answer's members, identities replaced, members sorted.
        body: Value,
    },
    /// A non-2xx answer: status, code and message as sent (instance ids replaced).
    Error {
        /// The HTTP status.
        status: u16,
        /// The error code as sent.
        code: String,
        /// The message as sent, instance ids replaced.
        message: String,
        /// The request id's placeholder, if the answer has one.
        request_id: Option<String>,
    },
    /// An answer the protocol cannot decode: its status, and why.
    Undecodable {
        /// The HTTP status.
        status: u16,
        /// Why, instance ids replaced.
        reason: String,
    },
    /// Nothing judgeable came back.
    Unjudgeable {
        /// Why, instance ids replaced.
        reason: String,
    },
}

/// The kinds of identity that get placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdKind {
    /// A request id.
    RequestId,
    /// The id of an operation the call started.
    OperationId,
    /// A time.
    Timestamp,
    /// An instance id or name.
    Instance,
}

impl IdKind {
    /// The placeholder's label (`request-id`…).
    pub fn label(self) -> &'static str {
        match self {
            IdKind::RequestId => "request-id",
            IdKind::OperationId => "operation-id",
            IdKind::Timestamp => "timestamp",
            IdKind::Instance => "instance-id",
        }
    }
}

/// Numbers identities by first appearance, as an API's `[volatile]` facts say.
/// Use one per snapshot (one case).
#[derive(Debug, Clone)]
pub struct Normalizer<'r> {
    rules: &'r Volatile,
    seen: BTreeMap<IdKind, Vec<String>>,
}

fn iso_timestamp() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
            .expect("valid regex")
    })
}

/// The kind of identity a member named `key` holds, by the table's lists.
fn key_kind(rules: &Volatile, key: &str) -> Option<IdKind> {
    let lists = [
        (IdKind::RequestId, &rules.request_id),
        (IdKind::OperationId, &rules.operation_id),
        (IdKind::Timestamp, &rules.timestamp),
        (IdKind::Instance, &rules.instance),
    ];
    lists
        .into_iter()
        .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(key)))
        .map(|(kind, _)| kind)
}

impl<'r> Normalizer<'r> {
    /// A normalizer for an API whose table states `rules`.
    pub fn new(rules: &'r Volatile) -> Self {
        Normalizer {
            rules,
            seen: BTreeMap::new(),
        }
    }

    /// A normalizer that already knows these instances, numbered 1, 2… in order
    /// (so the instance under test is `<instance-id:1>` whatever it is called).
    pub fn with_instances<'a>(rules: &'r Volatile, ids: impl IntoIterator<Item = &'a str>) -> Self {
        let mut n = Self::new(rules);
        for id in ids {
            n.placeholder(IdKind::Instance, id);
        }
        n
    }

    /// Does `s` as a whole look like an instance id? It must match the table's
    /// `instance_pattern` and hold a digit (a word is not an id).
    fn looks_like_instance(&self, s: &str) -> bool {
        self.rules.instance_regex.as_ref().is_some_and(|re| {
            re.find(s)
                .is_some_and(|m| m.start() == 0 && m.end() == s.len())
        }) && s.bytes().any(|b| b.is_ascii_digit())
    }

    /// The placeholder of `original`, numbering it if it is new.
    pub fn placeholder(&mut self, kind: IdKind, original: &str) -> String {
        // A placeholder normalizes to itself.
        if original.starts_with('<') && original.ends_with('>') && original.contains(':') {
            return original.to_string();
        }
        let list = self.seen.entry(kind).or_default();
        let n = match list.iter().position(|s| s == original) {
            Some(i) => i + 1,
            None => {
                list.push(original.to_string());
                list.len()
            }
        };
        format!("<{}:{n}>", kind.label())
    }

    fn known_instances(&self) -> Vec<String> {
        let mut ids = self
            .seen
            .get(&IdKind::Instance)
            .cloned()
            .unwrap_or_default();
        // Longest first, so an id that contains another is replaced whole.
        ids.sort_by_key(|s| std::cmp::Reverse(s.len()));
        ids
    }

    fn is_known_instance(&self, s: &str) -> bool {
        self.seen
            .get(&IdKind::Instance)
            .is_some_and(|l| l.iter().any(|x| x == s))
    }

    /// Free text (an error message): instance ids replaced, the rest kept.
    pub fn text(&mut self, s: &str) -> String {
        // Tokens that look like instance ids get numbered in order of appearance.
        let tokens: Vec<String> = match &self.rules.instance_regex {
            Some(re) => re
                .find_iter(s)
                .map(|m| m.as_str().to_string())
                .filter(|t| self.looks_like_instance(t))
                .collect(),
            None => Vec::new(),
        };
        for t in &tokens {
            self.placeholder(IdKind::Instance, t);
        }
        let mut out = s.to_string();
        for id in self.known_instances() {
            if id.is_empty() || id.starts_with('<') {
                continue;
            }
            let ph = self.placeholder(IdKind::Instance, &id);
            out = replace_word(&out, &id, &ph);
        }
        out
    }

    /// A scalar string under `key` (if any).
    fn string(&mut self, key: Option<&str>, s: &str) -> String {
        if let Some(kind) = key.and_then(|k| key_kind(self.rules, k)) {
            if !s.is_empty() {
                return self.placeholder(kind, s);
            }
        }
        if self.is_known_instance(s) || self.looks_like_instance(s) {
            return self.placeholder(IdKind::Instance, s);
        }
        if iso_timestamp().is_match(s) {
            return self.placeholder(IdKind::Timestamp, s);
        }
        self.text(s)
    }

    /// A JSON tree with identities replaced and object members sorted by name.
    pub fn value(&mut self, key: Option<&str>, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.string(key, s)),
            Value::Number(n)
                if key.and_then(|k| key_kind(self.rules, k)) == Some(IdKind::Timestamp) =>
            {
                Value::String(self.placeholder(IdKind::Timestamp, &n.to_string()))
            }
            Value::Array(items) => Value::Array(items.iter().map(|i| self.value(key, i)).collect()),
            // Members sorted by name: member order carries no meaning in these
            // answers (XML elements or JSON members), so it makes no difference.
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), self.value(Some(k), &m[k])))
                        .collect(),
                )
            }
            other => other.clone(),
        }
    }

    /// A decoded answer, normalized.
    pub fn outcome(&mut self, o: &Outcome) -> Normalized {
        let request_id = o
            .request_id()
            .map(|r| self.placeholder(IdKind::RequestId, r));
        match o {
            Outcome::Success { status, body, .. } => Normalized::Success {
                status: *status,
                request_id,
                body: self.value(None, body),
            },
            Outcome::Error {
                status,
                code,
                message,
                ..
            } => Normalized::Error {
                status: *status,
                code: code.clone(),
                message: self.text(message),
                request_id,
            },
        }
    }

    /// What a case got, normalized.
    pub fn actual(&mut self, a: &Actual) -> Normalized {
        match a {
            Actual::Outcome { outcome } => self.outcome(outcome),
            Actual::Undecodable { status, reason } => Normalized::Undecodable {
                status: *status,
                reason: self.text(reason),
            },
            Actual::Unjudgeable { reason } => Normalized::Unjudgeable {
                reason: self.text(reason),
            },
        }
    }

    /// Request parameters with instance ids replaced (order and duplicates kept).
    pub fn params(&mut self, params: &[RawParam]) -> Vec<RawParam> {
        params
            .iter()
            .map(|p| {
                let s = p.value.as_query_text();
                let replaced = if self.is_known_instance(s) || self.looks_like_instance(s) {
                    self.placeholder(IdKind::Instance, s)
                } else {
                    s.to_string()
                };
                RawParam {
                    name: p.name.clone(),
                    value: match &p.value {
                        RawValue::Text(_) => RawValue::Text(replaced),
                        RawValue::Json(_) => RawValue::Json(replaced),
                    },
                }
            })
            .collect()
    }
}

/// Replace `from` where it stands as a whole token (not inside a longer word).
fn replace_word(s: &str, from: &str, to: &str) -> String {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(from) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + from.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(is_word) || after.is_some_and(is_word) {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = &rest[i + from.len()..];
    }
    out.push_str(rest);
    out
}

/// Normalize one case's request and answer with one numbering: the instance under
/// test first (`<instance-id:1>`), then whatever the request and answer name.
pub fn case(
    rules: &Volatile,
    instance: &str,
    params: &[RawParam],
    actual: &Actual,
) -> (Vec<RawParam>, Normalized) {
    let mut n = Normalizer::with_instances(rules, [instance].into_iter().filter(|s| !s.is_empty()));
    let params = n.params(params);
    let outcome = n.actual(actual);
    (params, outcome)
}

/// A case title with the instance ids in it replaced, numbered as in [`case`]
/// (titles name the instance under test: `InstanceId = valid "i-0123…"`).
pub fn title(rules: &Volatile, instance: &str, title: &str) -> String {
    let mut n = Normalizer::with_instances(rules, [instance].into_iter().filter(|s| !s.is_empty()));
    n.text(title)
}

/// A short, stable fingerprint of any serializable value (16 hex digits of the
/// SHA-256 of its compact JSON).
pub fn fingerprint(v: &impl Serialize) -> String {
    let json = serde_json::to_string(v).unwrap_or_default();
    let digest = Sha256::digest(json.as_bytes());
    hex::encode(&digest[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> Volatile {
        let pattern = "i-[0-9a-f]{17}";
        Volatile {
            request_id: vec!["requestId".into()],
            operation_id: vec!["id".into()],
            timestamp: vec!["createdAt".into(), "statusChangedAt".into()],
            instance: vec!["instanceId".into()],
            instance_pattern: Some(pattern.into()),
            instance_regex: Volatile::compile_instance_pattern(pattern).ok(),
            ..Volatile::default()
        }
    }

    #[test]
    fn identities_line_up() {
        let rules = rules();
        let mut n = Normalizer::with_instances(&rules, ["i-0123456789abcdef0"]);
        let o = Outcome::Success {
            status: 200,
            request_id: Some("r-1".into()),
            body: json!({"requestId": "r-1", "instanceId": "i-0123456789abcdef0",
                "operation": {"id": "op-9", "createdAt": 1700000000.5, "statusChangedAt": "2024-01-01T00:00:00Z"}}),
        };
        let got = serde_json::to_value(n.outcome(&o)).unwrap();
        assert_eq!(
            got,
            json!({"kind": "success", "status": 200, "request_id": "<request-id:1>",
                "body": {"instanceId": "<instance-id:1>",
                    "operation": {"createdAt": "<timestamp:1>", "id": "<operation-id:1>", "statusChangedAt": "<timestamp:2>"},
                    "requestId": "<request-id:1>"}})
        );
    }

    #[test]
    fn messages_keep_words_and_replace_ids() {
        let rules = rules();
        let mut n = Normalizer::with_instances(&rules, ["web-1"]);
        assert_eq!(
            n.text(
                "The instance ID 'i-00000000000000000' does not exist; web-1 is fine, web-10 not"
            ),
            "The instance ID '<instance-id:2>' does not exist; <instance-id:1> is fine, web-10 not"
        );
        assert_eq!(n.text("multi-parameter values"), "multi-parameter values");
    }

    #[test]
    fn only_the_tables_members_and_pattern_count() {
        let rules = rules();
        let none = Volatile::default();
        let body = json!({"requestId": "r-1", "RequestID": "r-2", "token": "t", "note": "i-0123456789abcdef0"});
        let mut with = Normalizer::new(&rules);
        assert_eq!(
            with.value(None, &body),
            json!({"RequestID": "<request-id:1>", "note": "<instance-id:1>", "requestId": "<request-id:2>", "token": "t"})
        );
        // Without facts only ISO times are recognized; ids stay as sent.
        let mut without = Normalizer::new(&none);
        let body = json!({"requestId": "r-1", "at": "2024-01-01T00:00:00Z", "note": "i-0123456789abcdef0"});
        assert_eq!(
            without.value(None, &body),
            json!({"at": "<timestamp:1>", "note": "i-0123456789abcdef0", "requestId": "r-1"})
        );
        // A word that matches the shape but has no digit is not an id.
        let words = Volatile {
            instance_regex: Volatile::compile_instance_pattern("i-[a-z]+").ok(),
            ..Volatile::default()
        };
        assert_eq!(Normalizer::new(&words).text("i-deadbeef"), "i-deadbeef");
    }
}
