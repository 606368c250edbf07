//! The data-plane phase's plan, from a table's `[data_plane]`: the option states
//! to reach (one per option value a rule is about, each the instance's own options
//! with that one value changed) and, under a state's applied options, the probes
//! some rule decides — with the concrete requests (TTLs, headers) they send.
//! Nothing here knows a cloud: paths and headers come from the table.

use crate::oracle::Options;
use crate::spec::{DataPlane, Probe, Spec};

/// One state of the instance's options to probe under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataState {
    /// `http_tokens=required`, or `as found` for the instance's own options.
    pub title: String,
    /// The options the instance is brought to.
    pub options: Options,
}

/// One request (or short sequence) the suite sends to the metadata service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataProbe {
    pub probe: Probe,
    /// The TTL header's value on a token request (`None`: the header is left out).
    pub ttl: Option<String>,
    /// What it is, in words.
    pub title: String,
}

/// The state the instance is in, then one state per option value that a rule's
/// `when` names and the instance does not already have, where a parameter can set
/// it in `region` (the docs restrict some to named regions: elsewhere the change
/// is refused, so the state cannot be reached).
pub fn states(dp: &DataPlane, spec: &Spec, base: &Options, region: &str) -> Vec<DataState> {
    let mut out = vec![DataState {
        title: "as found".into(),
        options: base.clone(),
    }];
    let settable = |o: &str| {
        spec.params.iter().map(|p| p.get_ref()).any(|p| {
            p.option.as_deref() == Some(o)
                && (p.regions.is_empty() || p.regions.iter().any(|r| r == region))
        })
    };
    for rule in dp.rules.iter().map(|r| r.get_ref()) {
        for (option, value) in &rule.when {
            if !settable(option) || base.get(option) == Some(value) {
                continue;
            }
            let mut options = base.clone();
            options.insert(option.clone(), value.clone());
            if out.iter().all(|s| s.options != options) {
                out.push(DataState {
                    title: format!("{option}={value}"),
                    options,
                });
            }
        }
    }
    out
}

/// A TTL the service accepts (60 s, or the range's bound nearest to it).
pub fn valid_ttl(dp: &DataPlane) -> i64 {
    60.clamp(dp.ttl_range.min.max(1), dp.ttl_range.max.max(1))
}

/// The probes to send under `applied`: every probe kind some rule decides there,
/// bad TTLs as four requests (below, above, not a number, missing). `with_expired`
/// adds the expired-token probe (it waits out a TTL, so once per instance).
pub fn probes(dp: &DataPlane, applied: &Options, with_expired: bool) -> Vec<DataProbe> {
    let ttl = valid_ttl(dp).to_string();
    let item = &dp.item_path;
    let tags = dp.tags_path.as_deref().unwrap_or("");
    let mut out = Vec::new();
    for probe in Probe::ALL {
        if probe == Probe::GetExpiredToken && !with_expired {
            continue;
        }
        if crate::oracle::data_plane::expect(dp, applied, probe).is_none() {
            continue;
        }
        let one = |ttl: Option<String>, title: String| DataProbe { probe, ttl, title };
        match probe {
            Probe::PutTokenBadTtl => {
                let (min, max) = (dp.ttl_range.min, dp.ttl_range.max);
                for bad in [(min - 1).to_string(), (max + 1).to_string(), "abc".into()] {
                    out.push(one(
                        Some(bad.clone()),
                        format!("PUT {} with {}: {bad}", dp.token_path, dp.ttl_header),
                    ));
                }
                out.push(one(
                    None,
                    format!("PUT {} without {}", dp.token_path, dp.ttl_header),
                ));
            }
            _ => out.push(one(Some(ttl.clone()), title(dp, probe, item, tags))),
        }
    }
    out
}

fn title(dp: &DataPlane, probe: Probe, item: &str, tags: &str) -> String {
    let put = &dp.token_path;
    match probe {
        Probe::Get => format!("GET {item} without a token"),
        Probe::GetWithToken => format!("GET {item} with a token from PUT {put}"),
        Probe::PutToken => format!("PUT {put} with a valid TTL"),
        Probe::PutTokenForwarded => format!("PUT {put} with X-Forwarded-For"),
        Probe::PutTokenVersioned => format!(
            "PUT {} (version-specific path)",
            dp.versioned_token_path.as_deref().unwrap_or(put)
        ),
        Probe::GetInvalidToken => format!("GET {item} with a token never issued"),
        Probe::GetForeignToken => format!("GET {item} with another instance's token"),
        Probe::GetExpiredToken => format!("GET {item} with an expired token"),
        Probe::GetMissing => format!("GET {item}-imds-conform-absent (no such item)"),
        Probe::Tags => format!("GET {tags} (tag keys) with a token"),
        Probe::TagValue => format!("GET {tags}/KEY (a tag's value) with a token"),
        Probe::Ipv6 => format!(
            "GET {item} over IPv6 [{}] with a token",
            dp.address_v6.as_deref().unwrap_or("")
        ),
        Probe::Any | Probe::PutTokenBadTtl => format!("{} probe", probe.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::states;
    use crate::oracle::Options;

    /// Lightsail's httpProtocolIpv6 is documented for eu-north-1 only: elsewhere
    /// the data plane does not plan the state it would set (the change is refused).
    #[test]
    fn a_state_only_some_regions_can_set_is_planned_there_only() {
        let spec = crate::spec::builtin_api("aws-lightsail")
            .expect("tables load")
            .expect("the table");
        let dp = spec.data_plane.as_ref().expect("a data plane");
        let base: Options = [
            ("http_tokens", "optional"),
            ("http_endpoint", "enabled"),
            ("hop_limit", "1"),
            ("http_protocol_ipv6", "disabled"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let ipv6 = |region: &str| {
            states(dp, &spec, &base, region)
                .iter()
                .any(|s| s.options.get("http_protocol_ipv6").map(String::as_str) == Some("enabled"))
        };
        assert!(ipv6("eu-north-1"));
        assert!(!ipv6("us-east-1"));
        // The other states are planned in both.
        assert_eq!(
            states(dp, &spec, &base, "eu-north-1").len(),
            states(dp, &spec, &base, "us-east-1").len() + 1
        );
    }
}
