//! The `[data_plane]` section of a spec table: how the instance metadata service
//! (IMDS) answers inside the instance, and what each option value does there.
//!
//! The section holds the layout (addresses, the token PUT, its headers and TTL
//! range, the paths probed) and a list of rules. A rule says: under these *applied*
//! option values (`when`, keyed by the option names the parameter rows use), a probe
//! of this kind gets one of these answers. Rules are read in table order and the
//! first that matches a probe decides (so "the endpoint is off" comes before "tokens
//! are required"). Where the sources allow more than one answer, each is labelled
//! with the reading of an `[[ambiguity]]` it holds under.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use toml::Spanned;

use super::types::{Citation, Cites, Range, Status};

/// The metadata service of one API's instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataPlane {
    /// The service's IPv4 address inside the instance.
    pub address_v4: String,
    /// Its IPv6 address, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_v6: Option<String>,
    /// Path of the session-token request (`PUT`).
    pub token_path: String,
    /// Header of the token request that carries the TTL in seconds.
    pub ttl_header: String,
    /// The TTLs the service accepts.
    pub ttl_range: Range,
    /// Header that carries a token on a metadata request.
    pub token_header: String,
    /// A version-specific token path the service refuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versioned_token_path: Option<String>,
    /// A metadata item every instance has (the probes read it).
    pub item_path: String,
    /// Whether the item's text is the id the API names the instance by: `true`
    /// lets the run check that a metadata endpoint is the instance's own (and
    /// `run --self` find its instance); `false` says the table knows it is not
    /// (the run notes that it cannot check). Absent: not known, as `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_is_instance_id: Option<bool>,
    /// The tag-key listing (values at `tags_path/KEY`), where tags are exposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_path: Option<String>,
    /// Content type of a metadata answer.
    pub content_type: String,
    /// The option whose value is the IP TTL of token answers (not probed by the
    /// suite: see `tests/imds_hop_limit.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop_limit_option: Option<String>,
    #[serde(rename(deserialize = "rule", serialize = "rules"), default)]
    pub rules: Vec<Spanned<DataRule>>,
    pub cite: Cites,
}

/// What a probe gets under some applied options.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataRule {
    /// `tokens-required.no-token`; reports show `data_plane.<id>`.
    pub id: String,
    /// Applied option values under which the rule holds (empty: always).
    #[serde(default)]
    pub when: BTreeMap<String, String>,
    /// The probes it decides (`any`: every probe).
    pub probes: Vec<Probe>,
    /// Every acceptable answer.
    pub answer: Vec<DataAnswer>,
    pub cite: Vec<Citation>,
}

/// A kind of metadata request the suite sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Probe {
    /// Matches every probe (in a rule only).
    Any,
    /// `GET` the item without a token.
    Get,
    /// `GET` the item with a fresh token.
    GetWithToken,
    /// The token `PUT` with a valid TTL.
    PutToken,
    /// The token `PUT` with a TTL outside the range, not a number, or missing.
    PutTokenBadTtl,
    /// The token `PUT` carrying `X-Forwarded-For`.
    PutTokenForwarded,
    /// The token `PUT` to the version-specific path.
    PutTokenVersioned,
    /// `GET` the item with a token the service never issued.
    GetInvalidToken,
    /// `GET` the item with a token another instance issued.
    GetForeignToken,
    /// `GET` the item with a token whose TTL has run out.
    GetExpiredToken,
    /// `GET` an item that does not exist.
    GetMissing,
    /// `GET` the tag-key listing (with a token).
    Tags,
    /// `GET` one tag's value (with a token).
    TagValue,
    /// Token `PUT` and `GET` of the item over the IPv6 address.
    Ipv6,
}

impl Probe {
    /// Every concrete probe (not `any`), in the order the suite sends them.
    pub const ALL: [Probe; 13] = [
        Probe::Get,
        Probe::GetWithToken,
        Probe::PutToken,
        Probe::PutTokenBadTtl,
        Probe::PutTokenForwarded,
        Probe::PutTokenVersioned,
        Probe::GetInvalidToken,
        Probe::GetForeignToken,
        Probe::GetExpiredToken,
        Probe::GetMissing,
        Probe::Tags,
        Probe::TagValue,
        Probe::Ipv6,
    ];

    /// The serde name (`get-with-token`).
    pub fn name(self) -> &'static str {
        match self {
            Probe::Any => "any",
            Probe::Get => "get",
            Probe::GetWithToken => "get-with-token",
            Probe::PutToken => "put-token",
            Probe::PutTokenBadTtl => "put-token-bad-ttl",
            Probe::PutTokenForwarded => "put-token-forwarded",
            Probe::PutTokenVersioned => "put-token-versioned",
            Probe::GetInvalidToken => "get-invalid-token",
            Probe::GetForeignToken => "get-foreign-token",
            Probe::GetExpiredToken => "get-expired-token",
            Probe::GetMissing => "get-missing",
            Probe::Tags => "tags",
            Probe::TagValue => "tag-value",
            Probe::Ipv6 => "ipv6",
        }
    }
}

/// One acceptable answer: an HTTP status, or no answer at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataAnswer {
    /// The status (absent with `no_answer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// `false`: the status is the likely one, not established; any client error
    /// (4xx) is acceptable.
    #[serde(default = "yes")]
    pub exact: bool,
    /// The service does not answer (connection refused, closed or timed out).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_answer: bool,
    /// The token answer echoes the TTL header.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub echo_ttl: bool,
    /// `AMBIGUITY=READING`: the reading this answer holds under (none: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<String>,
}

fn yes() -> bool {
    true
}

impl DataAnswer {
    /// The `(ambiguity, reading)` this answer is labelled with.
    pub fn reading_parts(&self) -> Option<(&str, &str)> {
        self.reading.as_deref().and_then(|r| r.split_once('='))
    }
}

impl DataPlane {
    /// The facts the section states, by the names its `cite` table must use.
    pub fn stated_facts(&self) -> Vec<&'static str> {
        let mut facts = vec![
            "address_v4",
            "token_path",
            "ttl_header",
            "ttl_range",
            "token_header",
            "item_path",
            "content_type",
        ];
        let optional = [
            ("address_v6", self.address_v6.is_some()),
            ("versioned_token_path", self.versioned_token_path.is_some()),
            ("item_is_instance_id", self.item_is_instance_id.is_some()),
            ("tags_path", self.tags_path.is_some()),
            ("hop_limit_option", self.hop_limit_option.is_some()),
        ];
        facts.extend(optional.iter().filter(|(_, set)| *set).map(|(f, _)| *f));
        facts
    }

    pub fn rule(&self, id: &str) -> Option<&DataRule> {
        self.rules.iter().map(|r| r.get_ref()).find(|r| r.id == id)
    }

    /// Every probe kind some rule decides (`any` counts for none by itself).
    pub fn probes_named(&self) -> Vec<Probe> {
        Probe::ALL
            .into_iter()
            .filter(|p| self.rules.iter().any(|r| r.get_ref().probes.contains(p)))
            .collect()
    }
}
