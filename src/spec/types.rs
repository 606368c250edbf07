//! The typed form of a spec table (`specs/*.toml`). Every fact carries citations;
//! the loader (`load.rs`) checks that it does and that the table is coherent.
//!
//! The same types serialize to the stable `spec show --json` format (see README).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use toml::Spanned;

use crate::wire::credentials::EnvNames;
use crate::wire::{Protocol, SigningScheme};

/// How strongly a fact is established (docs/architecture.md, "Never guess").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    /// A seed doc (or an official doc page named in SPEC-FACTS.md) says it.
    Documented,
    /// A machine-readable model in ../shared/reference says it.
    Model,
    /// Protocol convention or analogy; nothing states it for this operation.
    Inferred,
    /// Recorded from a real target (a public issue thread, a capture).
    Observed,
}

impl std::fmt::Display for Strength {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Strength::Documented => "documented",
            Strength::Model => "model",
            Strength::Inferred => "inferred",
            Strength::Observed => "observed",
        })
    }
}

impl Strength {
    /// Rank for "the weakest fact decides": documented is strongest.
    pub fn weakness(self) -> u8 {
        match self {
            Strength::Documented => 0,
            Strength::Model => 1,
            Strength::Observed => 2,
            Strength::Inferred => 3,
        }
    }
}

/// Where a fact comes from (its texts shared: a citation is cloned into every
/// outcome it backs). `doc` + `quote` for a document (a seed file name, or
/// `SPEC-FACTS.md`); `reference` + `key` for a machine model in ../shared/reference
/// (the key is a dotted path into its JSON, `*` matching any member); `reference` +
/// `quote` for a text extract there (`imds-data-plane.md`); `note` says
/// in words what an inferred or observed fact rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Citation {
    /// A seed file name, or `SPEC-FACTS.md`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<Arc<str>>,
    /// The exact phrase in `doc` (checked by `spec check`, whitespace-normalized).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<Arc<str>>,
    /// A machine model in ../shared/reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Arc<str>>,
    /// A dotted key into `reference`'s JSON (`*` matches any member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Arc<str>>,
    /// What an inferred or observed fact rests on, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Arc<str>>,
    /// How strongly the source establishes the fact.
    pub strength: Strength,
}

impl Citation {
    /// One line for reports: `002_db9….txt: "quote"` or `ec2_modify_shapes.json#Key`.
    pub fn short(&self) -> String {
        let mut parts = Vec::new();
        if let (Some(doc), Some(quote)) = (&self.doc, &self.quote) {
            parts.push(format!("{doc}: \"{quote}\""));
        } else if let Some(doc) = &self.doc {
            parts.push(doc.to_string());
        }
        if let Some(reference) = &self.reference {
            match (&self.key, &self.quote) {
                (Some(key), _) => parts.push(format!("{reference}#{key}")),
                (None, Some(quote)) => parts.push(format!("{reference}: \"{quote}\"")),
                (None, None) => parts.push(reference.to_string()),
            }
        }
        if let Some(note) = &self.note {
            parts.push(note.to_string());
        }
        format!("[{}] {}", self.strength, parts.join("; "))
    }
}

/// Citations keyed by the name of the fact they support (`type`, `values`, …).
pub type Cites = BTreeMap<String, Vec<Citation>>;

/// The whole table for one API operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Identity, protocol, signing, credentials and endpoints.
    pub api: Api,
    /// The request parameters (`[[param]]`), with their places in the file.
    #[serde(rename(deserialize = "param", serialize = "params"), default)]
    pub params: Vec<Spanned<Param>>,
    /// What the protocol does with unknown, duplicated, empty and null parameters.
    #[serde(default)]
    pub conventions: Conventions,
    /// The modify answer's shape.
    pub response: Response,
    /// The operation that reads the options back.
    pub readback: Readback,
    /// The pending → applied machine, where changes settle.
    #[serde(default)]
    pub state_machine: Option<StateMachine>,
    /// The documented errors (`[[error]]`).
    #[serde(rename(deserialize = "error", serialize = "errors"), default)]
    pub errors: Vec<Spanned<ErrorEntry>>,
    /// Where the docs disagree (`[[ambiguity]]`), every reading kept.
    #[serde(rename(deserialize = "ambiguity", serialize = "ambiguities"), default)]
    pub ambiguities: Vec<Spanned<Ambiguity>>,
    /// What changes from call to call in the answers (for normalization).
    #[serde(default)]
    pub volatile: Volatile,
    /// What the options do inside the instance (see `data_plane.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_plane: Option<super::data_plane::DataPlane>,
}

/// Identity, protocol, signing and endpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    /// `aws-ec2`, `aws-lightsail`, `aliyun-ecs`: the name used on the command line.
    pub id: String,
    /// A title for people.
    pub title: String,
    /// The cloud the API belongs to (`aws`, `alibaba`…), for people.
    pub cloud: String,
    /// The operation's name on the wire (`ModifyInstanceMetadataOptions`).
    pub operation: String,
    /// The wire protocol.
    pub protocol: Protocol,
    /// The API version the protocol sends.
    pub api_version: String,
    /// How requests are signed.
    pub signing: SigningScheme,
    /// SigV4 signing name; empty for Alibaba.
    #[serde(default)]
    pub signing_name: String,
    /// The environment variables holding the credentials for this API.
    pub credentials: EnvNames,
    /// AWS JSON `X-Amz-Target` prefix; empty elsewhere.
    #[serde(default)]
    pub target_prefix: String,
    /// Endpoint URL with `{region}` to fill in.
    pub endpoint: String,
    /// Endpoint overrides for named regions (a cloud's global endpoint).
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    /// The region used when none is given.
    pub default_region: String,
    /// Regions the docs name for this operation (empty: any).
    #[serde(default)]
    pub regions: Vec<String>,
    /// Facts → their citations.
    pub cite: Cites,
}

/// What a parameter is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Sets one of the instance's metadata options (`option` names which).
    Option,
    /// Names the instance to change.
    Target,
    /// Names the region (Alibaba `RegionId`).
    Region,
    /// Asks for a permission check only.
    DryRun,
}

/// A parameter's type on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    /// Free text (ids, names).
    String,
    /// One of `values`.
    Enum,
    /// A 32-bit integer.
    Integer,
    /// `true` or `false` (as spelled in `values`).
    Boolean,
}

/// What an omitted parameter does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Absent {
    /// The option keeps its current value.
    Keep,
    /// The option is reset to the parameter's `default`.
    Default,
    /// The call fails with the `missing-parameter` error.
    Error,
    /// Nothing to keep or reset (the parameter sets no option).
    Nothing,
}

/// An inclusive integer range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// The smallest valid value.
    pub min: i64,
    /// The largest valid value.
    pub max: i64,
}

impl Range {
    /// Is `v` within the range?
    pub fn contains(&self, v: i64) -> bool {
        self.min <= v && v <= self.max
    }
}

/// The error a parameter's invalid value gets: an error `code` from the table, and
/// whether that exact code is established (`exact = false`: the docs name none, so
/// any code with the error's status is acceptable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRef {
    /// The error's `code` in the table's `[[error]]` list.
    pub error: String,
    /// `false`: the code is not established; any code with the error's status is acceptable.
    #[serde(default = "yes")]
    pub exact: bool,
}

fn yes() -> bool {
    true
}

/// One request parameter of the operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    /// The wire name, exactly as sent.
    pub name: String,
    /// What the parameter is for.
    pub role: Role,
    /// For `role = "option"`: the option this parameter sets. Option names are
    /// shared across APIs (`http_tokens`, `http_endpoint`, `hop_limit`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    /// Its type on the wire.
    #[serde(rename = "type")]
    pub kind: ParamType,
    /// Whether a call must carry it.
    pub required: bool,
    /// Valid values of an enum (or boolean) parameter, exactly as spelled on the wire.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// An example of a malformed value (a target id of the wrong shape), sent by the
    /// coverage phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malformed: Option<String>,
    /// Valid range of an integer parameter; absent: any integer the type can carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    /// A pattern a string value must match (for ids and names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// `pattern`, compiled once by the loader and shared by every copy of the row
    /// (a cloned `Regex` would start with an empty match cache).
    #[serde(skip)]
    pub pattern_regex: Option<std::sync::Arc<regex::Regex>>,
    /// What an omitted value does.
    pub absent: Absent,
    /// The value an omitted option resets to (with `absent = "default"`), or the
    /// value the docs call the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The error an invalid value gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid: Option<ErrorRef>,
    /// Regions where the parameter is available (empty: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// Facts → their citations. Every fact given above must have an entry.
    pub cite: Cites,
}

impl Param {
    /// The facts this row states, by the names its `cite` table must use.
    pub fn stated_facts(&self) -> Vec<&'static str> {
        let mut facts = vec!["type", "required", "absent"];
        if !self.values.is_empty() {
            facts.push("values");
        }
        if self.range.is_some() {
            facts.push("range");
        }
        if self.pattern.is_some() {
            facts.push("pattern");
        }
        if self.malformed.is_some() {
            facts.push("malformed");
        }
        if self.default.is_some() {
            facts.push("default");
        }
        if self.invalid.is_some() {
            facts.push("invalid");
        }
        if !self.regions.is_empty() {
            facts.push("regions");
        }
        facts
    }
}

/// What the protocol does with requests the parameter table does not cover.
/// Each entry lists every acceptable behaviour (more than one where undocumented).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conventions {
    /// A parameter the operation does not have.
    #[serde(default)]
    pub unknown_parameter: Vec<Handling>,
    /// The same parameter given twice.
    #[serde(default)]
    pub duplicate_parameter: Vec<Handling>,
    /// An empty value (`X=`) for an optional parameter.
    #[serde(default)]
    pub empty_value: Vec<Handling>,
    /// A JSON `null` member (JSON protocols).
    #[serde(default)]
    pub null_value: Vec<Handling>,
    /// Facts → their citations.
    #[serde(default)]
    pub cite: Cites,
}

/// One way a protocol may handle an unusual parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Handling {
    /// The call fails with the matching error class (`unknown-parameter`, …, or
    /// `invalid-value` for empty values).
    Error,
    /// The parameter is ignored.
    Ignore,
    /// The first of the duplicates counts.
    FirstWins,
    /// The last of the duplicates counts.
    LastWins,
    /// An empty value counts as omitted.
    AsAbsent,
}

/// The modify operation's success answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// Path (dotted) to the options object in the answer; absent when the answer
    /// carries no options (Lightsail, Alibaba).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options_path: Option<String>,
    /// Member under `options_path` holding the change's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_field: Option<String>,
    /// Option name → member name under `options_path`.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Path → fixed value every success answer has (e.g. an operation type).
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
    /// Facts → their citations.
    pub cite: Cites,
}

/// What changes from call to call in the answers, so that normalization (snapshots,
/// recordings, baselines) can replace it with numbered placeholders: answer members
/// by the kind of identity they hold (names compared case-insensitively, at any
/// depth), and how an instance id looks inside free text such as error messages.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volatile {
    /// Members holding a request id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_id: Vec<String>,
    /// Members holding the id of an asynchronous operation the call started.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operation_id: Vec<String>,
    /// Members holding a time (epoch seconds or ISO 8601).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timestamp: Vec<String>,
    /// Members naming the instance (its id or name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instance: Vec<String>,
    /// An instance id as it stands in free text (unanchored regular expression);
    /// absent: only the instances the run knows are recognized in text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_pattern: Option<String>,
    /// `instance_pattern` as a whole word, compiled once by the loader.
    #[serde(skip)]
    pub instance_regex: Option<regex::Regex>,
    /// Facts → their citations.
    #[serde(default)]
    pub cite: Cites,
}

impl Volatile {
    /// The facts this section states, by the names its `cite` table must use.
    pub fn stated_facts(&self) -> Vec<&'static str> {
        let lists = [
            ("request_id", &self.request_id),
            ("operation_id", &self.operation_id),
            ("timestamp", &self.timestamp),
            ("instance", &self.instance),
        ];
        let mut facts: Vec<&'static str> = lists
            .iter()
            .filter(|(_, l)| !l.is_empty())
            .map(|(name, _)| *name)
            .collect();
        if self.instance_pattern.is_some() {
            facts.push("instance_pattern");
        }
        facts
    }

    /// The whole-word regular expression for `instance_pattern`.
    pub fn compile_instance_pattern(pattern: &str) -> Result<regex::Regex, regex::Error> {
        regex::Regex::new(&format!(r"\b(?:{pattern})\b"))
    }
}

/// The operation that reads the options back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Readback {
    /// The read-back operation's name.
    pub operation: String,
    /// Parameters, with `{instance}` and `{region}` filled in. A value starting with
    /// `json:` is sent as a raw JSON literal.
    pub params: BTreeMap<String, String>,
    /// Path to the instance object(s); `*` steps into every element of a list.
    pub instances_path: String,
    /// Member of an instance object holding its id or name.
    pub id_field: String,
    /// Path from the instance object to its options object.
    pub options_path: String,
    /// Member of the options object holding the change's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_field: Option<String>,
    /// Path from the instance object to its run state (`running`, `stopped`;
    /// compared case-insensitively).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_state_path: Option<String>,
    /// Option name → member name under `options_path`.
    pub fields: BTreeMap<String, String>,
    /// Facts → their citations.
    pub cite: Cites,
}

/// The pending → applied machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateMachine {
    /// Every state a change can be in.
    pub states: Vec<String>,
    /// The state every change reaches in the end.
    pub settles_to: String,
    /// The state(s) a modify answers, by the instance's own state.
    #[serde(rename = "on_modify", default)]
    pub on_modify: Vec<StateRule>,
    /// Facts → their citations.
    pub cite: Cites,
}

/// The state(s) a modify answers with, by the instance's own state.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateRule {
    /// `running` or `stopped`.
    pub instance_state: String,
    /// Acceptable states in the answer (more than one where undocumented).
    pub answer: Vec<String>,
    /// Where the rule comes from.
    pub cite: Vec<Citation>,
}

/// When an error is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// A parameter's value is invalid (parameters may name their own error).
    InvalidValue,
    /// A required parameter is missing.
    MissingParameter,
    /// A parameter the operation does not have.
    UnknownParameter,
    /// The same parameter given twice.
    DuplicateParameter,
    /// The target id does not have the documented shape.
    MalformedId,
    /// The target does not exist.
    NotFound,
    /// A parameter is used where it is not available (region, instance type).
    Unsupported,
    /// DryRun with permission.
    DryRun,
    /// DryRun (or the call) without permission.
    Unauthorized,
    /// The request is not signed.
    Unsigned,
    /// The signature does not match.
    BadSignature,
    /// The access key id is unknown.
    UnknownAccessKey,
    /// The request time is too far from the server's.
    Expired,
    /// An Alibaba signature nonce was used before.
    NonceReused,
    /// Too many requests: slow down.
    Throttled,
    /// Anything else the docs list (server errors, account setup…).
    Other,
}

/// An HTTP status: exact, or a class when no doc confirms the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Status {
    /// This exact status.
    Exact(u16),
    /// `"4xx"` or `"5xx"`.
    Class(StatusClass),
}

/// A class of HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusClass {
    /// Any 4xx.
    #[serde(rename = "4xx")]
    Client,
    /// Any 5xx.
    #[serde(rename = "5xx")]
    Server,
}

impl Status {
    /// Does the HTTP `status` satisfy this one?
    pub fn matches(&self, status: u16) -> bool {
        match self {
            Status::Exact(s) => *s == status,
            Status::Class(StatusClass::Client) => (400..500).contains(&status),
            Status::Class(StatusClass::Server) => (500..600).contains(&status),
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Exact(s) => write!(f, "{s}"),
            Status::Class(StatusClass::Client) => f.write_str("4xx"),
            Status::Class(StatusClass::Server) => f.write_str("5xx"),
        }
    }
}

/// One documented (or protocol-common) error.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorEntry {
    /// The error code as the target sends it.
    pub code: String,
    /// Its HTTP status (exact, or a class).
    pub status: Status,
    /// The message the docs give, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The condition it answers.
    pub when: Condition,
    /// `false`: the docs do not establish that the service uses this code for this
    /// condition (it is the likely one); any code with the status is acceptable.
    #[serde(default = "yes")]
    pub exact: bool,
    /// The condition in the docs' words.
    pub description: String,
    /// Where the error comes from.
    pub cite: Vec<Citation>,
}

/// A place where the docs disagree or are silent in a way that matters. The table
/// keeps every reading; the oracle answers once per reading.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ambiguity {
    /// A stable id (`ec2-hop-limit-range`).
    pub id: String,
    /// What the docs disagree about.
    pub summary: String,
    /// Every reading (two or more).
    #[serde(rename(deserialize = "reading", serialize = "readings"))]
    pub readings: Vec<Reading>,
}

/// One reading of an ambiguity, and how the table reads under it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reading {
    /// A stable id (`keep`, `reset`…).
    pub id: String,
    /// What this reading says.
    pub summary: String,
    /// The sources that support this reading.
    pub cite: Vec<Citation>,
    /// Patches to the table that hold under this reading (none: the table as is).
    #[serde(default)]
    pub set: Vec<Patch>,
}

/// A change to one parameter row, one error entry, or the response shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    /// The parameter row the patch changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// The error entry the patch changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `true`: the patch is to the modify answer's shape.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub response: bool,
    // -- parameter overrides
    /// Replaces the valid range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    /// Replaces the valid values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// `true`: no range at all (any integer).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unbounded: bool,
    /// Replaces whether the parameter is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Replaces what an omitted value does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent: Option<Absent>,
    /// Replaces the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The parameter is not accepted at all: any value gets this error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<ErrorRef>,
    /// Replaces the regions where the parameter is available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<String>>,
    /// `true`: the parameter is accepted and has no effect.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignored: bool,
    // -- error overrides
    /// `false`: the error's code is not established; any code with a client status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<bool>,
    // -- response overrides
    /// Replaces where the answer keeps the options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options_path: Option<String>,
    /// Replaces the option → member map of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
}

impl Spec {
    /// The parameter row with this wire name.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params
            .iter()
            .map(|p| p.get_ref())
            .find(|p| p.name == name)
    }

    /// The first parameter row with this role.
    pub fn param_with_role(&self, role: Role) -> Option<&Param> {
        self.params
            .iter()
            .map(|p| p.get_ref())
            .find(|p| p.role == role)
    }

    /// The error entries for a condition, in table order.
    pub fn errors_for(&self, when: Condition) -> impl Iterator<Item = &ErrorEntry> {
        self.errors
            .iter()
            .map(|e| e.get_ref())
            .filter(move |e| e.when == when)
    }

    /// The error entry with this code.
    pub fn error(&self, code: &str) -> Option<&ErrorEntry> {
        self.errors
            .iter()
            .map(|e| e.get_ref())
            .find(|e| e.code == code)
    }

    /// The ambiguity with this id.
    pub fn ambiguity(&self, id: &str) -> Option<&Ambiguity> {
        self.ambiguities
            .iter()
            .map(|a| a.get_ref())
            .find(|a| a.id == id)
    }

    /// The endpoint URL for `region`.
    pub fn endpoint_for(&self, region: &str) -> String {
        self.api
            .endpoints
            .get(region)
            .cloned()
            .unwrap_or_else(|| self.api.endpoint.replace("{region}", region))
    }
}
