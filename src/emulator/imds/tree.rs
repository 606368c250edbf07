//! The metadata tree an instance serves: a small, realistic set of items built
//! from the instance as stored (id, type, region, zone, tags), per cloud.
//!
//! AWS (EC2 and Lightsail): `meta-data/` with `ami-id`, `instance-id`,
//! `instance-type`, `local-ipv4`, `local-hostname`, `placement/…`,
//! `iam/security-credentials/ROLE` (fake credentials) and, with instance tags on,
//! `tags/instance/KEY`; `dynamic/instance-identity/document`. Alibaba ECS: its
//! equivalents (`image-id`, `private-ipv4`, `region-id`, `zone-id`,
//! `ram/security-credentials/ROLE`, `tags/instance/KEY`). A directory lists its
//! children one a line (sub-directories with a trailing `/`); `None` is a 404.
//!
//! The credentials are fakes, shaped like the real ones, and say which way they were
//! fetched: the docs give IMDSv1 and IMDSv2 requests different role credentials.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::Flavor;

/// The role whose credentials the instance serves.
pub const ROLE: &str = "imds-conform-role";

/// What the tree is built from.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub flavor: Flavor,
    /// The id the API names the instance by (a Lightsail name for Lightsail).
    pub id: &'a str,
    pub region: &'a str,
    pub zone: &'a str,
    pub instance_type: &'a str,
    pub tags: &'a BTreeMap<String, String>,
    pub tags_enabled: bool,
    /// The request carried a valid session token (IMDSv2).
    pub with_token: bool,
    /// RFC 3339 timestamps for the credentials.
    pub now_rfc3339: String,
    pub expires_rfc3339: String,
}

/// Tag keys the metadata service can serve (`.`/`..`/`_index` and anything outside
/// `[0-9a-zA-Z-_+=,.@:]{1,255}` are left out, as the EC2 docs say).
fn servable_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 255
        && !matches!(k, "." | ".." | "_index")
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_+=,.@:".contains(c))
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// The EC2-style id of the instance inside it (Lightsail instances are EC2
/// instances underneath; their metadata shows an `i-…` id, not the name).
pub fn inner_id(flavor: Flavor, id: &str) -> String {
    match flavor {
        Flavor::Lightsail => format!("i-{}", &hex::encode(digest(id))[..17]),
        Flavor::Ec2 | Flavor::Aliyun => id.to_string(),
    }
}

fn private_ipv4(id: &str) -> String {
    let d = digest(id);
    format!("172.31.{}.{}", d[0], d[1].max(4))
}

fn listing(items: &[&str]) -> String {
    items.join("\n")
}

/// The text at `path` (relative to the service root, no leading `/`), or `None`.
pub fn item(f: &Facts<'_>, path: &str) -> Option<String> {
    let path = path.trim_start_matches('/');
    match path {
        "" => return Some("latest".into()),
        "latest" | "latest/" => return Some(listing(&["dynamic", "meta-data"])),
        _ => {}
    }
    let rest = path.strip_prefix("latest/")?;
    if let Some(tag_path) = rest.strip_prefix("meta-data/tags/") {
        return tags(f, tag_path);
    }
    match f.flavor {
        Flavor::Ec2 | Flavor::Lightsail => aws(f, rest),
        Flavor::Aliyun => aliyun(f, rest),
    }
}

fn tags(f: &Facts<'_>, path: &str) -> Option<String> {
    if !f.tags_enabled {
        return None;
    }
    let keys: Vec<&str> = f
        .tags
        .keys()
        .map(String::as_str)
        .filter(|k| servable_key(k))
        .collect();
    match path.trim_end_matches('/') {
        "" => Some(listing(&["instance"])),
        "instance" => Some(listing(&keys)),
        other => {
            let key = other.strip_prefix("instance/")?;
            keys.contains(&key).then(|| f.tags[key].clone())
        }
    }
}

/// The `meta-data/` listing: `entries`, then `tags/` while the instance's tags
/// are served.
fn root_listing(f: &Facts<'_>, entries: &[&str]) -> String {
    let mut all = entries.to_vec();
    if f.tags_enabled {
        all.push("tags/");
    }
    listing(&all)
}

fn aws(f: &Facts<'_>, rest: &str) -> Option<String> {
    let id = inner_id(f.flavor, f.id);
    let ip = private_ipv4(f.id);
    let hostname = format!("ip-{}.ec2.internal", ip.replace('.', "-"));
    let root = [
        "ami-id",
        "hostname",
        "iam/",
        "instance-id",
        "instance-type",
        "local-hostname",
        "local-ipv4",
        "placement/",
    ];
    Some(match rest.trim_end_matches('/') {
        "meta-data" => root_listing(f, &root),
        "meta-data/ami-id" => format!("ami-{}", &hex::encode(digest(f.region))[..17]),
        "meta-data/instance-id" => id,
        "meta-data/instance-type" => f.instance_type.to_string(),
        "meta-data/local-ipv4" => ip,
        "meta-data/hostname" | "meta-data/local-hostname" => hostname,
        "meta-data/placement" => listing(&["availability-zone", "region"]),
        "meta-data/placement/region" => f.region.to_string(),
        "meta-data/placement/availability-zone" => f.zone.to_string(),
        "meta-data/iam" => listing(&["info", "security-credentials/"]),
        "meta-data/iam/info" => serde_json::json!({
            "Code": "Success",
            "LastUpdated": f.now_rfc3339,
            "InstanceProfileArn": format!("arn:aws:iam::123456789012:instance-profile/{ROLE}"),
            "InstanceProfileId": "AIPAIMDSCONFORMFAKE00",
        })
        .to_string(),
        "meta-data/iam/security-credentials" => ROLE.to_string(),
        "meta-data/iam/security-credentials/imds-conform-role" => aws_credentials(f),
        "dynamic" => listing(&["instance-identity/"]),
        "dynamic/instance-identity" => listing(&["document"]),
        "dynamic/instance-identity/document" => serde_json::json!({
            "accountId": "123456789012",
            "architecture": "x86_64",
            "availabilityZone": f.zone,
            "imageId": format!("ami-{}", &hex::encode(digest(f.region))[..17]),
            "instanceId": inner_id(f.flavor, f.id),
            "instanceType": f.instance_type,
            "privateIp": private_ipv4(f.id),
            "region": f.region,
            "version": "2017-09-30",
        })
        .to_string(),
        _ => return None,
    })
}

fn aws_credentials(f: &Facts<'_>) -> String {
    // Fakes: shaped like STS credentials, marked with the IMDS version used.
    let version = if f.with_token { "V2" } else { "V1" };
    serde_json::json!({
        "Code": "Success",
        "LastUpdated": f.now_rfc3339,
        "Type": "AWS-HMAC",
        "AccessKeyId": format!("ASIAIMDSCONFORM{version}FAKE"),
        "SecretAccessKey": format!("imds-conform-fake-secret-{version}-not-a-real-key"),
        "Token": format!("imds-conform-fake-session-token-{version}"),
        "Expiration": f.expires_rfc3339,
    })
    .to_string()
}

fn aliyun(f: &Facts<'_>, rest: &str) -> Option<String> {
    let root = [
        "hostname",
        "image-id",
        "instance/",
        "instance-id",
        "private-ipv4",
        "ram/",
        "region-id",
        "zone-id",
    ];
    Some(match rest.trim_end_matches('/') {
        "meta-data" => root_listing(f, &root),
        "meta-data/instance-id" => f.id.to_string(),
        "meta-data/image-id" => "aliyun_3_x64_20G_alibase_20240101.vhd".to_string(),
        "meta-data/hostname" => format!("iZ{}Z", f.id.trim_start_matches("i-")),
        "meta-data/private-ipv4" => private_ipv4(f.id),
        "meta-data/region-id" => f.region.to_string(),
        "meta-data/zone-id" => f.zone.to_string(),
        "meta-data/instance" => listing(&["instance-type"]),
        "meta-data/instance/instance-type" => f.instance_type.to_string(),
        "meta-data/ram" => listing(&["security-credentials/"]),
        "meta-data/ram/security-credentials" => ROLE.to_string(),
        "meta-data/ram/security-credentials/imds-conform-role" => serde_json::json!({
            "Code": "Success",
            "LastUpdated": f.now_rfc3339,
            "AccessKeyId": "STS.IMDSCONFORMFAKE",
            "AccessKeySecret": "imds-conform-fake-secret-not-a-real-key",
            "SecurityToken": "imds-conform-fake-security-token",
            "Expiration": f.expires_rfc3339,
        })
        .to_string(),
        "dynamic" => listing(&["instance-identity/"]),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(flavor: Flavor, tags: &'a BTreeMap<String, String>, on: bool) -> Facts<'a> {
        Facts {
            flavor,
            id: "web-1",
            region: "us-east-1",
            zone: "us-east-1a",
            instance_type: "nano_3_0",
            tags,
            tags_enabled: on,
            with_token: true,
            now_rfc3339: "2026-01-01T00:00:00Z".into(),
            expires_rfc3339: "2026-01-01T06:00:00Z".into(),
        }
    }

    #[test]
    fn tags_follow_the_option_and_skip_unservable_keys() {
        let tags = BTreeMap::from([
            ("Name".to_string(), "web".to_string()),
            ("bad key".to_string(), "x".to_string()),
        ]);
        let on = facts(Flavor::Ec2, &tags, true);
        assert_eq!(
            item(&on, "latest/meta-data/tags/instance").as_deref(),
            Some("Name")
        );
        assert_eq!(
            item(&on, "latest/meta-data/tags/instance/Name").as_deref(),
            Some("web")
        );
        assert_eq!(item(&on, "latest/meta-data/tags/instance/bad key"), None);
        let off = facts(Flavor::Ec2, &tags, false);
        assert_eq!(item(&off, "latest/meta-data/tags/instance"), None);
        assert!(!item(&off, "latest/meta-data/").unwrap().contains("tags/"));
    }

    #[test]
    fn lightsail_shows_an_ec2_id_and_aliyun_its_own_items() {
        let tags = BTreeMap::new();
        let ls = facts(Flavor::Lightsail, &tags, false);
        let id = item(&ls, "latest/meta-data/instance-id").unwrap();
        assert!(id.starts_with("i-") && id.len() == 19, "{id}");
        let ali = facts(Flavor::Aliyun, &tags, false);
        assert_eq!(
            item(&ali, "latest/meta-data/region-id").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(item(&ali, "latest/meta-data/placement/region"), None);
        assert_eq!(item(&ls, "latest/meta-data/nothing-here"), None);
    }
}
