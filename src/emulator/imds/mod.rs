//! The emulator's instance metadata service (IMDS): one listener (or two: an IPv4
//! and an IPv6 endpoint) per instance, answering from the instance's *applied*
//! options in the emulator's store, so a change made through the control plane
//! takes effect here once it is `applied` — not while it is `pending`.
//!
//! Written per cloud as plain code, like the rest of the emulator (it never reads
//! the spec tables): [`answer`] decides, [`tree`] holds the items, [`tokens`] the
//! per-instance session tokens, [`listen`] serves HTTP/1.1 and sets the IP TTL of
//! token answers to the instance's hop limit.

pub mod answer;
pub mod listen;
pub mod tokens;
pub mod tree;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::SystemTime;

use super::store::{InstanceView, Store};
use super::{Emulator, InstanceFixture};

pub use listen::{start_imds, RunningImds};

/// Which cloud's metadata service an instance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flavor {
    Ec2,
    /// Lightsail instances run EC2's metadata service.
    Lightsail,
    Aliyun,
}

/// The header names of a metadata service.
#[derive(Debug, Clone, Copy)]
pub struct Headers {
    /// The token request's TTL header.
    pub ttl: &'static str,
    /// The header carrying a token.
    pub token: &'static str,
}

impl Flavor {
    pub const ALL: [Flavor; 3] = [Flavor::Ec2, Flavor::Lightsail, Flavor::Aliyun];

    pub fn headers(self) -> Headers {
        match self {
            Flavor::Ec2 | Flavor::Lightsail => Headers {
                ttl: "X-aws-ec2-metadata-token-ttl-seconds",
                token: "X-aws-ec2-metadata-token",
            },
            Flavor::Aliyun => Headers {
                ttl: "X-aliyun-ecs-metadata-token-ttl-seconds",
                token: "X-aliyun-ecs-metadata-token",
            },
        }
    }

    /// The id of the API whose instances these are (as the spec tables name it).
    pub fn api_id(self) -> &'static str {
        match self {
            Flavor::Ec2 => "aws-ec2",
            Flavor::Lightsail => "aws-lightsail",
            Flavor::Aliyun => "aliyun-ecs",
        }
    }

    fn from_api_id(id: &str) -> Option<Flavor> {
        Flavor::ALL.into_iter().find(|f| f.api_id() == id)
    }
}

/// One emulated instance, by API, region and id (name for Lightsail).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceRef {
    pub flavor: Flavor,
    pub region: String,
    pub id: String,
}

impl std::fmt::Display for InstanceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.flavor.api_id(), self.id)
    }
}

/// Why a metadata listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ImdsError {
    #[error("no emulated instance is named {0:?}")]
    NoSuchInstance(String),
    #[error("{name:?} names instances of several APIs ({apis}); write API:{name}")]
    Ambiguous { name: String, apis: String },
    #[error("{0:?} is not INSTANCE=HOST:PORT (e.g. i-0123456789abcdef0=127.0.0.1:8081)")]
    BadBinding(String),
    #[error("cannot listen on {addr} for {instance}: {source}")]
    Bind {
        instance: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Parse `INSTANCE=HOST:PORT` (`INSTANCE` may be `API:ID`; IPv6 as `[::1]:PORT`).
pub fn parse_binding(text: &str) -> Result<(String, SocketAddr), ImdsError> {
    let bad = || ImdsError::BadBinding(text.to_string());
    let (name, addr) = text.rsplit_once('=').ok_or_else(bad)?;
    let addr: SocketAddr = addr.trim().parse().map_err(|_| bad())?;
    if name.trim().is_empty() {
        return Err(bad());
    }
    Ok((name.trim().to_string(), addr))
}

impl Emulator {
    fn imds_store(&self, flavor: Flavor) -> &Store {
        match flavor {
            Flavor::Ec2 => &self.inner.ec2,
            Flavor::Lightsail => &self.inner.lightsail,
            Flavor::Aliyun => &self.inner.aliyun,
        }
    }

    fn fixtures_of(&self, flavor: Flavor) -> &[InstanceFixture] {
        let f = &self.inner.config.fixtures;
        match flavor {
            Flavor::Ec2 => &f.ec2,
            Flavor::Lightsail => &f.lightsail,
            Flavor::Aliyun => &f.aliyun,
        }
    }

    /// Every emulated instance, API by API.
    pub fn instance_refs(&self) -> Vec<InstanceRef> {
        Flavor::ALL
            .into_iter()
            .flat_map(|flavor| {
                self.fixtures_of(flavor).iter().map(move |i| InstanceRef {
                    flavor,
                    region: i.region.clone(),
                    id: i.id.clone(),
                })
            })
            .collect()
    }

    /// The instance `name` names: `ID`, or `API:ID` (`aws-ec2:i-…`) when an id is
    /// used by several APIs.
    pub fn find_instance(&self, name: &str) -> Result<InstanceRef, ImdsError> {
        let (api, id) = match name.split_once(':') {
            Some((api, id)) if Flavor::from_api_id(api).is_some() => (Flavor::from_api_id(api), id),
            _ => (None, name),
        };
        let found: Vec<InstanceRef> = self
            .instance_refs()
            .into_iter()
            .filter(|r| r.id == id && api.is_none_or(|a| a == r.flavor))
            .collect();
        match found.as_slice() {
            [] => Err(ImdsError::NoSuchInstance(name.to_string())),
            [one] => Ok(one.clone()),
            many => Err(ImdsError::Ambiguous {
                name: name.to_string(),
                apis: many
                    .iter()
                    .map(|r| r.flavor.api_id())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// The instance as stored now (`None` once it is gone).
    pub fn imds_view(&self, r: &InstanceRef, now: SystemTime) -> Option<InstanceView> {
        self.imds_store(r.flavor).get(&r.region, &r.id, now)
    }

    /// The instance's tags (from the fixtures; no API changes them).
    pub fn instance_tags(&self, r: &InstanceRef) -> BTreeMap<String, String> {
        self.fixtures_of(r.flavor)
            .iter()
            .find(|i| i.id == r.id && i.region == r.region)
            .map(|i| i.tags.clone())
            .unwrap_or_default()
    }
}
