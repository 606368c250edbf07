//! The emulator's starting world: which instances exist for each API and which
//! credentials it accepts. [`default_fixtures`] is what `imds-conform serve` and the
//! test engine use unless a TOML fixtures file replaces it (see docs/emulator.md).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::store::{Instance, MetadataOptions, RunState};

/// The default AWS access key id the emulator accepts (the SigV4 test-suite key).
pub const DEFAULT_AWS_ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
/// Its secret: a well-known fake, printed by `serve` on purpose.
pub const DEFAULT_AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// The default Alibaba Cloud access key id (the one in Alibaba's signature docs).
pub const DEFAULT_ALIYUN_ACCESS_KEY_ID: &str = "testid";
/// Its secret.
pub const DEFAULT_ALIYUN_SECRET: &str = "testsecret";

/// One accepted access key. Its `Debug` hides the secret (`serve` prints the
/// emulator's fake secrets on purpose, field by field).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPair {
    pub access_key_id: String,
    pub secret: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &format_args!("***"))
            .finish()
    }
}

/// Accepted access keys, per cloud. A cloud left out of a fixtures file keeps
/// its default key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialFixtures {
    #[serde(default = "default_aws_keys")]
    pub aws: Vec<KeyPair>,
    #[serde(default = "default_aliyun_keys")]
    pub aliyun: Vec<KeyPair>,
}

fn default_aws_keys() -> Vec<KeyPair> {
    vec![KeyPair {
        access_key_id: DEFAULT_AWS_ACCESS_KEY_ID.into(),
        secret: DEFAULT_AWS_SECRET.into(),
    }]
}

fn default_aliyun_keys() -> Vec<KeyPair> {
    vec![KeyPair {
        access_key_id: DEFAULT_ALIYUN_ACCESS_KEY_ID.into(),
        secret: DEFAULT_ALIYUN_SECRET.into(),
    }]
}

impl Default for CredentialFixtures {
    fn default() -> Self {
        CredentialFixtures {
            aws: default_aws_keys(),
            aliyun: default_aliyun_keys(),
        }
    }
}

fn default_tokens() -> String {
    "optional".into()
}
fn enabled() -> String {
    "enabled".into()
}
fn disabled() -> String {
    "disabled".into()
}
fn one() -> i64 {
    1
}
fn running() -> String {
    "running".into()
}

/// One instance of the starting world. `id` is the instance id (EC2, Alibaba) or
/// the instance name (Lightsail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceFixture {
    pub id: String,
    pub region: String,
    /// Availability zone; defaults to the region + `a`.
    #[serde(default)]
    pub zone: Option<String>,
    /// `running` or `stopped`.
    #[serde(default = "running")]
    pub state: String,
    #[serde(default)]
    pub instance_type: Option<String>,
    #[serde(default = "default_tokens")]
    pub http_tokens: String,
    #[serde(default = "enabled")]
    pub http_endpoint: String,
    #[serde(default = "one")]
    pub http_put_response_hop_limit: i64,
    #[serde(default = "disabled")]
    pub http_protocol_ipv6: String,
    #[serde(default = "disabled")]
    pub instance_metadata_tags: String,
    /// The instance's tags (key → value), which its metadata service shows when
    /// instance tags are enabled in its metadata options.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl InstanceFixture {
    pub fn new(id: &str, region: &str, state: &str) -> Self {
        InstanceFixture {
            id: id.into(),
            region: region.into(),
            zone: None,
            state: state.into(),
            instance_type: None,
            http_tokens: default_tokens(),
            http_endpoint: enabled(),
            http_put_response_hop_limit: 1,
            http_protocol_ipv6: disabled(),
            instance_metadata_tags: disabled(),
            tags: BTreeMap::from([
                ("Name".to_string(), id.to_string()),
                ("Environment".to_string(), "conformance".to_string()),
            ]),
        }
    }

    pub fn is_running(&self) -> bool {
        self.state == "running"
    }

    pub(crate) fn to_instance(&self, default_type: &str, zone_suffix: &str) -> Instance {
        Instance::new(
            self.id.clone(),
            self.region.clone(),
            self.zone
                .clone()
                .unwrap_or_else(|| format!("{}{}", self.region, zone_suffix)),
            self.instance_type
                .clone()
                .unwrap_or_else(|| default_type.to_string()),
            if self.is_running() {
                RunState::Running
            } else {
                RunState::Stopped
            },
            MetadataOptions {
                http_tokens: self.http_tokens.clone(),
                http_endpoint: self.http_endpoint.clone(),
                hop_limit: self.http_put_response_hop_limit,
                http_protocol_ipv6: self.http_protocol_ipv6.clone(),
                instance_metadata_tags: self.instance_metadata_tags.clone(),
            },
            // A fixed creation time keeps answers reproducible: 2024-01-01T00:00:00Z.
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200),
        )
    }
}

/// The starting world. A fixtures file is this struct in TOML; any section left out
/// keeps its default (see docs/emulator.md for an example).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    #[serde(default)]
    pub credentials: CredentialFixtures,
    #[serde(default = "default_ec2")]
    pub ec2: Vec<InstanceFixture>,
    #[serde(default = "default_lightsail")]
    pub lightsail: Vec<InstanceFixture>,
    #[serde(default = "default_aliyun")]
    pub aliyun: Vec<InstanceFixture>,
}

impl Fixtures {
    /// The instances and accepted credentials of the emulated API whose spec table
    /// has this id (`aws-ec2`, `aws-lightsail`, `aliyun-ecs`).
    pub fn for_api(&self, api: &str) -> Option<(&[InstanceFixture], &[KeyPair])> {
        match api {
            "aws-ec2" => Some((&self.ec2, &self.credentials.aws)),
            "aws-lightsail" => Some((&self.lightsail, &self.credentials.aws)),
            "aliyun-ecs" => Some((&self.aliyun, &self.credentials.aliyun)),
            _ => None,
        }
    }
}

impl Default for Fixtures {
    fn default() -> Self {
        default_fixtures()
    }
}

fn default_ec2() -> Vec<InstanceFixture> {
    vec![
        InstanceFixture::new("i-0123456789abcdef0", "us-east-1", "running"),
        InstanceFixture::new("i-0123456789abcdef1", "us-east-1", "running"),
        InstanceFixture::new("i-0123456789abcdef2", "us-east-1", "stopped"),
        InstanceFixture::new("i-0fedcba9876543210", "eu-west-1", "running"),
    ]
}

fn default_lightsail() -> Vec<InstanceFixture> {
    vec![
        InstanceFixture::new("web-1", "us-east-1", "running"),
        InstanceFixture::new("web-2", "us-east-1", "running"),
        InstanceFixture::new("db-1", "us-east-1", "stopped"),
        InstanceFixture::new("nordic-1", "eu-north-1", "running"),
    ]
}

fn default_aliyun() -> Vec<InstanceFixture> {
    vec![
        InstanceFixture::new("i-bp67acfmxaz1234abcd", "cn-hangzhou", "running"),
        InstanceFixture::new("i-bp67acfmxaz1234abce", "cn-hangzhou", "running"),
        InstanceFixture::new("i-bp67acfmxaz1234abcf", "cn-hangzhou", "stopped"),
        InstanceFixture::new("i-uf6f5o7b9ca1234abcd", "cn-shanghai", "running"),
    ]
}

/// The built-in world: EC2 instances in `us-east-1` (and one in `eu-west-1`),
/// Lightsail instances in `us-east-1` (and one in `eu-north-1`, the only region with
/// `httpProtocolIpv6`), Alibaba ECS instances in `cn-hangzhou` (and one in
/// `cn-shanghai`); running and stopped ones; every option at its usual default
/// (tokens optional, hop limit 1, endpoint enabled, IPv6 and tags disabled, applied).
pub fn default_fixtures() -> Fixtures {
    Fixtures {
        credentials: CredentialFixtures::default(),
        ec2: default_ec2(),
        lightsail: default_lightsail(),
        aliyun: default_aliyun(),
    }
}

/// Why a fixtures file was refused.
#[derive(Debug, thiserror::Error)]
pub enum FixturesError {
    #[error("cannot read fixtures file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("fixtures file {path}: {message}")]
    Parse { path: String, message: String },
    /// `line` is where the entry (or its field) is, when known.
    #[error("fixtures file {path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: String,
        line: Option<usize>,
        message: String,
    },
}

/// What [`Fixtures::validate`] refuses, and where: `section` (`credentials`,
/// `ec2`…), the entry's index in it, the field.
struct Problem {
    section: &'static str,
    index: Option<usize>,
    field: &'static str,
    message: String,
}

type SpannedTable = toml::Spanned<BTreeMap<String, toml::Spanned<toml::Value>>>;

/// The file again, only for where its entries are (a fixtures file that parsed
/// parses as this too).
#[derive(Deserialize)]
struct Places {
    #[serde(default)]
    credentials: BTreeMap<String, toml::Spanned<Vec<toml::Spanned<toml::Value>>>>,
    #[serde(default)]
    ec2: Vec<SpannedTable>,
    #[serde(default)]
    lightsail: Vec<SpannedTable>,
    #[serde(default)]
    aliyun: Vec<SpannedTable>,
}

impl Places {
    /// The 1-based line of the problem's field (else of its entry) in `text`.
    fn line(&self, text: &str, p: &Problem) -> Option<usize> {
        let offset = if p.section == "credentials" {
            let keys = self.credentials.get(p.field)?;
            p.index
                .and_then(|i| keys.get_ref().get(i))
                .map_or(keys.span().start, |k| k.span().start)
        } else {
            let entry = match p.section {
                "ec2" => &self.ec2,
                "lightsail" => &self.lightsail,
                _ => &self.aliyun,
            }
            .get(p.index?)?;
            entry
                .get_ref()
                .get(p.field)
                .map_or(entry.span().start, |v| v.span().start)
        };
        let offset = offset.min(text.len());
        Some(text[..offset].bytes().filter(|b| *b == b'\n').count() + 1)
    }
}

impl Fixtures {
    /// Parse fixtures from TOML text; `origin` names the source in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Fixtures, FixturesError> {
        let f: Fixtures = toml::from_str(text).map_err(|e| FixturesError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        f.validate().map_err(|p| FixturesError::Invalid {
            path: origin.to_string(),
            line: toml::from_str::<Places>(text)
                .ok()
                .and_then(|places| places.line(text, &p)),
            message: p.message,
        })?;
        Ok(f)
    }

    pub fn load(path: &Path) -> Result<Fixtures, FixturesError> {
        let text = std::fs::read_to_string(path).map_err(|source| FixturesError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    fn validate(&self) -> Result<(), Problem> {
        self.validate_credentials()?;
        for (name, list) in [
            ("ec2", &self.ec2),
            ("lightsail", &self.lightsail),
            ("aliyun", &self.aliyun),
        ] {
            let mut seen = std::collections::HashSet::new();
            for (n, i) in list.iter().enumerate() {
                if !seen.insert((&i.region, &i.id)) {
                    return Err(Problem {
                        section: name,
                        index: Some(n),
                        field: "id",
                        message: format!(
                            "[[{name}]] #{} ({}): duplicate id in region {}",
                            n + 1,
                            i.id,
                            i.region
                        ),
                    });
                }
                validate_instance(name, n, i)?;
            }
        }
        Ok(())
    }

    fn validate_credentials(&self) -> Result<(), Problem> {
        for (cloud, keys, default) in [
            ("aws", &self.credentials.aws, DEFAULT_AWS_ACCESS_KEY_ID),
            (
                "aliyun",
                &self.credentials.aliyun,
                DEFAULT_ALIYUN_ACCESS_KEY_ID,
            ),
        ] {
            let problem = |index, message| Problem {
                section: "credentials",
                index,
                field: cloud,
                message,
            };
            if keys.is_empty() {
                return Err(problem(None, format!(
                    "[credentials] {cloud} = []: the emulator would accept no {cloud} key and refuse every call; \
                     list at least one key, or leave {cloud} out to keep the default ({default})"
                )));
            }
            if let Some(n) = keys
                .iter()
                .position(|k| k.access_key_id.is_empty() || k.secret.is_empty())
            {
                return Err(problem(
                    Some(n),
                    format!(
                        "[credentials] {cloud} #{}: access_key_id and secret must not be empty",
                        n + 1
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The `n`th instance (from 0) of section `name`, checked on its own.
fn validate_instance(name: &'static str, n: usize, i: &InstanceFixture) -> Result<(), Problem> {
    let at = format!("[[{name}]] #{} ({})", n + 1, i.id);
    let problem = |field, message| Problem {
        section: name,
        index: Some(n),
        field,
        message,
    };
    if i.id.is_empty() || i.region.is_empty() {
        return Err(problem(
            if i.id.is_empty() { "id" } else { "region" },
            format!("{at}: id and region must not be empty"),
        ));
    }
    if let Some(why) = refused_id(name, &i.id) {
        return Err(problem("id", format!("{at}: id {:?} {why}", i.id)));
    }
    if let Some(why) = unknown_region(name, &i.region) {
        return Err(problem(
            "region",
            format!("{at}: region {:?} {why}", i.region),
        ));
    }
    if i.state != "running" && i.state != "stopped" {
        return Err(problem(
            "state",
            format!("{at}: state must be running or stopped"),
        ));
    }
    for (field, v, allowed) in [
        ("http_tokens", &i.http_tokens, ["optional", "required"]),
        ("http_endpoint", &i.http_endpoint, ["enabled", "disabled"]),
        (
            "http_protocol_ipv6",
            &i.http_protocol_ipv6,
            ["enabled", "disabled"],
        ),
        (
            "instance_metadata_tags",
            &i.instance_metadata_tags,
            ["enabled", "disabled"],
        ),
    ] {
        if !allowed.contains(&v.as_str()) {
            return Err(problem(
                field,
                format!("{at}: {field} must be {} or {}", allowed[0], allowed[1]),
            ));
        }
    }
    if !(1..=64).contains(&i.http_put_response_hop_limit) {
        return Err(problem(
            "http_put_response_hop_limit",
            format!("{at}: http_put_response_hop_limit must be 1..=64"),
        ));
    }
    Ok(())
}

/// Why the emulator's own API would refuse `id` as an instance of section
/// `name`, if it would: the rule is the API's own (`ec2::is_instance_id`,
/// `lightsail::is_resource_name`). Alibaba's API takes any id (an unknown one is
/// `InvalidInstanceId.NotFound`), so any non-empty id will do there.
fn refused_id(name: &str, id: &str) -> Option<&'static str> {
    match name {
        "ec2" if !super::ec2::is_instance_id(id) => Some(
            "is not an EC2 instance id (`i-` and 8 or 17 lower-case hex digits): \
             the emulator's API would refuse it (InvalidInstanceID.Malformed)",
        ),
        "lightsail" if !super::lightsail::is_resource_name(id) => Some(
            "is not a Lightsail instance name (`\\w[\\w\\-]*\\w`): \
             the emulator's API would refuse it (InvalidInputException)",
        ),
        _ => None,
    }
}

/// Why `region` is not one the emulator knows for section `name`, if it is not.
/// Only Alibaba's API has a list (`aliyun::KNOWN_REGIONS`: it answers
/// `InvalidRegionId.NotFound` for any other); an AWS call's region is its
/// signature's credential scope, any name.
fn unknown_region(name: &str, region: &str) -> Option<String> {
    let known = super::aliyun::KNOWN_REGIONS;
    (name == "aliyun" && !known.contains(&region)).then(|| {
        format!(
            "is not an ECS region the emulator knows; it knows {}",
            known.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_secret() {
        let config = crate::emulator::EmulatorConfig::default();
        let shown = format!("{config:?} {:?}", config.fixtures.credentials.aws[0]);
        for secret in [DEFAULT_AWS_SECRET, DEFAULT_ALIYUN_SECRET] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains(DEFAULT_AWS_ACCESS_KEY_ID), "{shown}");
    }

    #[test]
    fn defaults_are_valid_and_round_trip_through_toml() {
        let f = default_fixtures();
        assert!(f.validate().is_ok());
        let text = toml::to_string(&f).unwrap();
        assert_eq!(Fixtures::from_toml(&text, "x").unwrap(), f);
    }

    #[test]
    fn a_partial_file_keeps_the_other_defaults() {
        let f = Fixtures::from_toml(
            "[[ec2]]\nid = \"i-0aaaaaaaaaaaaaaaa\"\nregion = \"us-west-2\"\nhttp_tokens = \"required\"\n",
            "x",
        )
        .unwrap();
        assert_eq!(f.ec2.len(), 1);
        assert_eq!(f.ec2[0].http_tokens, "required");
        assert_eq!(f.lightsail, default_lightsail());
        assert_eq!(f.credentials, CredentialFixtures::default());
    }

    /// A credentials entry left out keeps its default key (only `aws` given kept
    /// Alibaba's `testid` no longer); an empty list (no key at all) is refused.
    #[test]
    fn a_credentials_entry_left_out_keeps_its_default_and_none_is_refused() {
        let f = Fixtures::from_toml(
            "[credentials]\naws = [{ access_key_id = \"AKIDLOCAL\", secret = \"s\" }]\n",
            "x",
        )
        .unwrap();
        assert_eq!(f.credentials.aws[0].access_key_id, "AKIDLOCAL");
        assert_eq!(f.credentials.aliyun, CredentialFixtures::default().aliyun);
        let f = Fixtures::from_toml("[credentials]\n", "x").unwrap();
        assert_eq!(f.credentials, CredentialFixtures::default());
        for (text, cloud) in [
            ("[credentials]\naws = []\n", "aws"),
            ("[credentials]\naliyun = []\n", "aliyun"),
        ] {
            let e = Fixtures::from_toml(text, "f.toml").unwrap_err().to_string();
            assert!(
                e.contains("f.toml")
                    && e.contains(&format!("[credentials] {cloud} = []"))
                    && e.contains("accept no"),
                "{e}"
            );
        }
        let e = Fixtures::from_toml(
            "[credentials]\naws = [{ access_key_id = \"\", secret = \"s\" }]\n",
            "f.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("[credentials] aws #1: access_key_id and secret"),
            "{e}"
        );
    }

    /// An instance the emulator's own API would refuse (a malformed EC2 id, a
    /// Lightsail name off its pattern) or an Alibaba region it does not know is
    /// refused when the file is read, naming the entry.
    #[test]
    fn ids_and_regions_the_api_would_refuse_are_refused() {
        for (text, says) in [
            (
                "[[ec2]]\nid = \"not-an-ec2-id\"\nregion = \"us-east-1\"\n",
                "[[ec2]] #1 (not-an-ec2-id): id \"not-an-ec2-id\" is not an EC2 instance id",
            ),
            (
                "[[ec2]]\nid = \"i-0AAAAAAAAAAAAAAAA\"\nregion = \"us-east-1\"\n",
                "(InvalidInstanceID.Malformed)",
            ),
            (
                "[[lightsail]]\nid = \"-box\"\nregion = \"us-east-1\"\n",
                "[[lightsail]] #1 (-box): id \"-box\" is not a Lightsail instance name",
            ),
            (
                "[[aliyun]]\nid = \"i-bp1aaaaaaaaaaaaaaaa\"\nregion = \"mars-1\"\n",
                "[[aliyun]] #1 (i-bp1aaaaaaaaaaaaaaaa): region \"mars-1\" is not an ECS region \
                 the emulator knows; it knows cn-qingdao, cn-beijing,",
            ),
        ] {
            let e = Fixtures::from_toml(text, "f.toml").unwrap_err().to_string();
            assert!(e.contains("f.toml") && e.contains(says), "{e}");
        }
        // What the API takes is taken: 8-digit EC2 ids, any Alibaba id, any AWS
        // region (the signature's scope).
        let f = Fixtures::from_toml(
            "[[ec2]]\nid = \"i-0123abcd\"\nregion = \"ap-east-9\"\n\
             [[lightsail]]\nid = \"my_box-2\"\nregion = \"us-east-1\"\n\
             [[aliyun]]\nid = \"anything\"\nregion = \"cn-beijing\"\n",
            "x",
        )
        .unwrap();
        assert_eq!(f.ec2[0].id, "i-0123abcd");
    }

    /// A refused entry is named with its line: the field's when the file sets
    /// it, else the entry's; as an inline table or an array-of-tables entry.
    #[test]
    fn a_refused_entry_is_named_with_its_line() {
        let text = "[credentials]\n\
            aliyun = [\n  { access_key_id = \"a\", secret = \"b\" },\n  { access_key_id = \"\", secret = \"b\" },\n]\n";
        let e = Fixtures::from_toml(text, "f.toml").unwrap_err().to_string();
        assert!(
            e.starts_with("fixtures file f.toml:4: [credentials] aliyun #2"),
            "{e}"
        );
        let e = Fixtures::from_toml("\n[credentials]\naws = []\n", "f.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("fixtures file f.toml:3: [credentials] aws = []"),
            "{e}"
        );
        let text = "[[ec2]]\nid = \"i-0123456789abcdef0\"\nregion = \"us-east-1\"\n\n\
            [[ec2]]\nregion = \"us-east-1\"\n\nid = \"i-0aaaaaaaaaaaaaaaa\"\nstate = \"gone\"\n";
        let e = Fixtures::from_toml(text, "f.toml").unwrap_err().to_string();
        assert!(e.starts_with("fixtures file f.toml:9: [[ec2]] #2 "), "{e}");
        let text = "lightsail = [\n  { id = \"a\", region = \"us-east-1\" },\n]\n";
        let e = Fixtures::from_toml(text, "f.toml").unwrap_err().to_string();
        assert!(
            e.starts_with("fixtures file f.toml:2: [[lightsail]] #1 (a): id"),
            "{e}"
        );
    }

    #[test]
    fn bad_files_name_the_problem() {
        let e = Fixtures::from_toml(
            "[[ec2]]\nid = \"i-0aaaaaaaaaaaaaaaa\"\nregion = \"r\"\nstate = \"gone\"\n",
            "f.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("f.toml") && e.contains("state"), "{e}");
        let e = Fixtures::from_toml("bogus = 1", "f.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("f.toml"), "{e}");
    }
}
