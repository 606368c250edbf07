//! EC2 (API version 2016-11-15), written the way the service behaves: the
//! operations `ModifyInstanceMetadataOptions`, `DescribeInstances`, `StartInstances`
//! and `StopInstances`, with EC2's error codes and messages.
//!
//! Where the docs (seeds 002/003) and the common-errors page say nothing about an
//! exact answer, the choice made here is marked `UNDOCUMENTED:` and listed in
//! docs/emulator.md.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::store::{InstanceView, OptionsPatch, RunState, Store};
use super::Ctx;
use crate::wire::{Answer, Call};

/// The API version the emulator speaks.
pub const API_VERSION: &str = "2016-11-15";
/// The XML namespace of its answers.
pub const XMLNS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";
/// The account id shown as `ownerId`.
pub const OWNER_ID: &str = "123456789012";

/// Answer one EC2 call from an authenticated caller in `ctx.region`.
pub fn handle(store: &Store, ctx: &Ctx, call: &Call) -> Answer {
    match call.operation.as_str() {
        "ModifyInstanceMetadataOptions" => modify(store, ctx, call),
        "DescribeInstances" => describe(store, ctx, call),
        "StartInstances" => start_stop(store, ctx, call, RunState::Running),
        "StopInstances" => start_stop(store, ctx, call, RunState::Stopped),
        "" => ctx.error(
            400,
            "MissingAction",
            "The request must contain the parameter Action",
        ),
        other => ctx.error(
            400,
            "InvalidAction",
            format!("The action {other} is not valid for this web service."),
        ),
    }
}

/// `i-` followed by 8 or 17 lower-case hex digits.
pub fn is_instance_id(s: &str) -> bool {
    let Some(hex) = s.strip_prefix("i-") else {
        return false;
    };
    (hex.len() == 8 || hex.len() == 17)
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The first value of each parameter, after refusing names the operation does not
/// know. UNDOCUMENTED: a repeated parameter uses its first value.
fn text<'a>(call: &'a Call, name: &str) -> Option<&'a str> {
    call.get(name).map(|v| v.as_query_text())
}

fn unknown_parameter(ctx: &Ctx, call: &Call, known: impl Fn(&str) -> bool) -> Option<Answer> {
    call.params.iter().find(|p| !known(&p.name)).map(|p| {
        ctx.error(
            400,
            "UnknownParameter",
            format!("The parameter {} is not recognized", p.name),
        )
    })
}

fn enum_value(
    ctx: &Ctx,
    call: &Call,
    name: &str,
    allowed: [&str; 2],
) -> Result<Option<String>, Answer> {
    match text(call, name) {
        None => Ok(None),
        // UNDOCUMENTED: values are case-sensitive, as in the model's enums.
        Some(v) if allowed.contains(&v) => Ok(Some(v.to_string())),
        // Observed wording (hashicorp/terraform#28332, for HttpEndpoint); used for
        // every enum parameter.
        Some(v) => Err(ctx.error(400,
            "InvalidParameterValue",
            format!(
                "A value of '{v}' is not valid for {name}. Specify either '{}' or '{}' and try again.",
                allowed[0], allowed[1]
            ),
        )),
    }
}

fn dry_run(ctx: &Ctx, call: &Call) -> Result<bool, Answer> {
    match text(call, "DryRun") {
        None => Ok(false),
        // A Boolean's wire form is `true` or `false` (the model); anything else,
        // `True` included, is InvalidParameterValue (UNDOCUMENTED: the code).
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(v) => Err(ctx.error(
            400,
            "InvalidParameterValue",
            format!("Invalid value '{v}' for DryRun. Specify either 'true' or 'false'."),
        )),
    }
}

fn dry_run_answer(ctx: &Ctx) -> Answer {
    ctx.error(
        412,
        "DryRunOperation",
        "Request would have succeeded, but DryRun flag is set.",
    )
}

fn not_found(ctx: &Ctx, ids: &[&str]) -> Answer {
    let message = if ids.len() == 1 {
        format!("The instance ID '{}' does not exist", ids[0])
    } else {
        format!("The instance IDs '{}' do not exist", ids.join(", "))
    };
    ctx.error(400, "InvalidInstanceID.NotFound", message)
}

fn malformed(ctx: &Ctx, id: &str) -> Answer {
    ctx.error(
        400,
        "InvalidInstanceID.Malformed",
        format!("Invalid id: \"{id}\""),
    )
}

fn options_json(v: &InstanceView) -> Value {
    json!({
        "state": v.state.as_str(),
        "httpTokens": v.options.http_tokens,
        "httpPutResponseHopLimit": v.options.hop_limit,
        "httpEndpoint": v.options.http_endpoint,
        "httpProtocolIpv6": v.options.http_protocol_ipv6,
        "instanceMetadataTags": v.options.instance_metadata_tags,
    })
}

const MODIFY_PARAMS: [&str; 7] = [
    "InstanceId",
    "HttpTokens",
    "HttpPutResponseHopLimit",
    "HttpEndpoint",
    "DryRun",
    "HttpProtocolIpv6",
    "InstanceMetadataTags",
];

/// Checks run in this order (UNDOCUMENTED, the most plausible for a Query service):
/// unknown parameter, missing `InstanceId`, each value's syntax, the id's syntax,
/// the instance's existence, then DryRun. Any error changes nothing.
fn modify(store: &Store, ctx: &Ctx, call: &Call) -> Answer {
    if let Some(e) = unknown_parameter(ctx, call, |n| MODIFY_PARAMS.contains(&n)) {
        return e;
    }
    let Some(id) = text(call, "InstanceId") else {
        return ctx.error(
            400,
            "MissingParameter",
            "The request must contain the parameter InstanceId",
        );
    };
    let parsed = (|| {
        let patch = OptionsPatch {
            http_tokens: enum_value(ctx, call, "HttpTokens", ["optional", "required"])?,
            hop_limit: hop_limit(ctx, call)?,
            http_endpoint: enum_value(ctx, call, "HttpEndpoint", ["disabled", "enabled"])?,
            http_protocol_ipv6: enum_value(ctx, call, "HttpProtocolIpv6", ["disabled", "enabled"])?,
            instance_metadata_tags: enum_value(
                ctx,
                call,
                "InstanceMetadataTags",
                ["disabled", "enabled"],
            )?,
        };
        Ok::<_, Answer>((patch, dry_run(ctx, call)?))
    })();
    let (patch, dry) = match parsed {
        Ok(p) => p,
        Err(e) => return e,
    };
    if !is_instance_id(id) {
        return malformed(ctx, id);
    }
    if store.get(&ctx.region, id, ctx.now).is_none() {
        return not_found(ctx, &[id]);
    }
    if dry {
        return dry_run_answer(ctx);
    }
    // Omitted parameters keep the instance's current value: documented for
    // HttpEndpoint and HttpPutResponseHopLimit ("the existing state is maintained");
    // UNDOCUMENTED for HttpTokens, HttpProtocolIpv6 and InstanceMetadataTags, whose
    // docs give a "Default:" that describes new instances, not a reset on modify.
    match store.modify(&ctx.region, id, &patch, ctx.now, ctx.apply_delay) {
        Some(v) => {
            ctx.success(json!({"instanceId": id, "instanceMetadataOptions": options_json(&v)}))
        }
        None => not_found(ctx, &[id]),
    }
}

/// Hop limit: an integer from 1 to 64 (doc text; the model has no range).
/// UNDOCUMENTED: the code and message for a non-integer or out-of-range value.
fn hop_limit(ctx: &Ctx, call: &Call) -> Result<Option<i64>, Answer> {
    let Some(v) = text(call, "HttpPutResponseHopLimit") else {
        return Ok(None);
    };
    match v.parse::<i64>() {
        Ok(n) if (1..=64).contains(&n) => Ok(Some(n)),
        Ok(_) => Err(ctx.error(400,
            "InvalidParameterValue",
            format!(
                "The HttpPutResponseHopLimit value '{v}' is not valid. Specify an integer from 1 to 64 and try again."
            ),
        )),
        Err(_) => Err(ctx.error(400,
            "InvalidParameterValue",
            format!("Invalid value '{v}' for HttpPutResponseHopLimit. Specify an integer."),
        )),
    }
}

/// `Name.N` lists (`InstanceId.1`, `InstanceId.2`…), in N order.
/// For the calls on a list of instances: refuse a parameter `known` does not
/// allow, then read `DryRun` and the `InstanceId.N` list.
fn dry_run_and_ids<'a>(
    ctx: &Ctx,
    call: &'a Call,
    known: impl Fn(&str) -> bool,
) -> Result<(bool, Vec<&'a str>), Answer> {
    if let Some(e) = unknown_parameter(ctx, call, known) {
        return Err(e);
    }
    Ok((dry_run(ctx, call)?, indexed(call, "InstanceId")))
}

fn indexed<'a>(call: &'a Call, prefix: &str) -> Vec<&'a str> {
    let mut items: Vec<(u64, &str)> = call
        .params
        .iter()
        .filter_map(|p| {
            let n = p.name.strip_prefix(prefix)?.strip_prefix('.')?;
            Some((n.parse().ok()?, p.value.as_query_text()))
        })
        .collect();
    items.sort_by_key(|(n, _)| *n);
    items.into_iter().map(|(_, v)| v).collect()
}

fn is_indexed(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('.'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn is_filter_param(name: &str) -> bool {
    // Filter.N.Name, Filter.N.Value.M
    let Some(rest) = name.strip_prefix("Filter.") else {
        return false;
    };
    let Some((n, field)) = rest.split_once('.') else {
        return false;
    };
    n.parse::<u64>().is_ok() && (field == "Name" || is_indexed(field, "Value"))
}

fn run_state_json(r: RunState) -> Value {
    match r {
        RunState::Running => json!({"code": 16, "name": "running"}),
        RunState::Stopped => json!({"code": 80, "name": "stopped"}),
    }
}

fn instance_json(v: &InstanceView) -> Value {
    let launch = super::utc(v.created_at, "%Y-%m-%dT%H:%M:%S.000Z");
    json!({
        "instanceId": v.id,
        "imageId": "ami-0abcdef1234567890",
        "instanceState": run_state_json(v.run_state),
        "privateDnsName": "",
        "dnsName": "",
        "amiLaunchIndex": 0,
        "instanceType": v.instance_type,
        "launchTime": launch,
        "placement": {"availabilityZone": v.zone, "tenancy": "default"},
        "monitoring": {"state": "disabled"},
        "architecture": "x86_64",
        "rootDeviceType": "ebs",
        "rootDeviceName": "/dev/xvda",
        "virtualizationType": "hvm",
        "hypervisor": "nitro",
        "metadataOptions": options_json(v),
    })
}

/// Filters the emulator understands; UNDOCUMENTED subset: any other filter name is
/// refused with InvalidParameterValue rather than silently ignored.
fn filter_matches(name: &str, values: &[&str], v: &InstanceView) -> Option<bool> {
    let got: String = match name {
        "instance-id" => v.id.clone(),
        "instance-state-name" => run_state_json(v.run_state)["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        "availability-zone" => v.zone.clone(),
        "instance-type" => v.instance_type.clone(),
        "metadata-options.http-tokens" => v.options.http_tokens.clone(),
        "metadata-options.http-endpoint" => v.options.http_endpoint.clone(),
        _ => return None,
    };
    Some(values.contains(&got.as_str()))
}

/// Most filters, and most filter values in all, one `DescribeInstances` takes; the
/// longest filter value. Observed answers (FilterLimitExceeded 400, "The maximum
/// number of filter values specified on a single call is 200", "The maximum length
/// for a filter value is 255 characters"); UNDOCUMENTED: the same cap on the number
/// of filters.
pub const MAX_FILTER_VALUES: usize = 200;
/// See [`MAX_FILTER_VALUES`].
pub const MAX_FILTER_VALUE_LEN: usize = 255;

/// `Filter.N.Name` with `Filter.N.Value.M`, in N then M order, in one pass over the
/// parameters (the names were checked by `is_filter_param` already).
fn filters<'a>(ctx: &Ctx, call: &'a Call) -> Result<Vec<(&'a str, Vec<&'a str>)>, Answer> {
    type Parts<'a> = (Option<&'a str>, Vec<(u64, &'a str)>);
    let mut by_number: BTreeMap<u64, Parts<'a>> = BTreeMap::new();
    let mut values = 0usize;
    let limit = |message: &str| ctx.error(400, "FilterLimitExceeded", message);
    for p in &call.params {
        let Some((n, field)) = p
            .name
            .strip_prefix("Filter.")
            .and_then(|r| r.split_once('.'))
        else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        let text = p.value.as_query_text();
        let entry = by_number.entry(n).or_default();
        if field == "Name" {
            // UNDOCUMENTED: a repeated parameter uses its first value.
            entry.0.get_or_insert(text);
        } else if let Some(m) = field.strip_prefix("Value.").and_then(|m| m.parse().ok()) {
            values += 1;
            if text.len() > MAX_FILTER_VALUE_LEN {
                return Err(limit(
                    "The maximum length for a filter value is 255 characters",
                ));
            }
            entry.1.push((m, text));
        }
        if values > MAX_FILTER_VALUES || by_number.len() > MAX_FILTER_VALUES {
            return Err(limit(
                "The maximum number of filter values specified on a single call is 200",
            ));
        }
    }
    by_number
        .into_iter()
        .map(|(n, (name, mut vals))| {
            let Some(name) = name else {
                return Err(ctx.error(
                    400,
                    "MissingParameter",
                    format!("The request must contain the parameter Filter.{n}.Name"),
                ));
            };
            vals.sort_by_key(|(m, _)| *m);
            Ok((name, vals.into_iter().map(|(_, v)| v).collect()))
        })
        .collect()
}

fn describe(store: &Store, ctx: &Ctx, call: &Call) -> Answer {
    let known = |n: &str| {
        is_indexed(n, "InstanceId")
            || is_filter_param(n)
            || matches!(n, "MaxResults" | "NextToken" | "DryRun")
    };
    let (dry, ids) = match dry_run_and_ids(ctx, call, known) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if let Some(bad) = ids.iter().find(|id| !is_instance_id(id)) {
        return malformed(ctx, bad);
    }
    let filters = match filters(ctx, call) {
        Ok(f) => f,
        Err(e) => return e,
    };
    if dry {
        return dry_run_answer(ctx);
    }
    let all = store.list(&ctx.region, ctx.now);
    let missing: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| !all.iter().any(|v| v.id == *id))
        .collect();
    if !missing.is_empty() {
        return not_found(ctx, &missing);
    }
    let mut items = Vec::new();
    for v in &all {
        if !ids.is_empty() && !ids.contains(&v.id.as_str()) {
            continue;
        }
        let mut keep = true;
        for (name, values) in &filters {
            match filter_matches(name, values, v) {
                Some(m) => keep &= m,
                None => {
                    return ctx.error(
                        400,
                        "InvalidParameterValue",
                        format!("The filter '{name}' is invalid"),
                    )
                }
            }
        }
        if keep {
            // One reservation per instance, as when each was launched on its own.
            let mut r = Map::new();
            r.insert("reservationId".into(), json!(reservation_id(&v.id)));
            r.insert("ownerId".into(), json!(OWNER_ID));
            r.insert("groupSet".into(), json!([]));
            r.insert("instancesSet".into(), json!([instance_json(v)]));
            items.push(Value::Object(r));
        }
    }
    // UNDOCUMENTED: MaxResults/NextToken are accepted and everything fits one page.
    ctx.success(json!({"reservationSet": items}))
}

fn reservation_id(instance_id: &str) -> String {
    format!("r-{}", instance_id.trim_start_matches("i-"))
}

fn start_stop(store: &Store, ctx: &Ctx, call: &Call, to: RunState) -> Answer {
    let known = |n: &str| {
        is_indexed(n, "InstanceId")
            || n == "DryRun"
            || (to == RunState::Stopped && (n == "Force" || n == "Hibernate"))
            || (to == RunState::Running && n == "AdditionalInfo")
    };
    let (dry, ids) = match dry_run_and_ids(ctx, call, known) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if ids.is_empty() {
        return ctx.error(
            400,
            "MissingParameter",
            "The request must contain the parameter InstanceId",
        );
    }
    if let Some(bad) = ids.iter().find(|id| !is_instance_id(id)) {
        return malformed(ctx, bad);
    }
    let missing: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| store.get(&ctx.region, id, ctx.now).is_none())
        .collect();
    if !missing.is_empty() {
        return not_found(ctx, &missing);
    }
    if dry {
        return dry_run_answer(ctx);
    }
    let mut items = Vec::new();
    for id in ids {
        if let Some((before, _)) =
            store.set_run_state(&ctx.region, id, to, ctx.now, ctx.apply_delay)
        {
            // The real service answers the transitional state (pending/stopping);
            // the emulator's transition is instant, so DescribeInstances already
            // shows running/stopped.
            let current = match (before, to) {
                (RunState::Stopped, RunState::Running) => json!({"code": 0, "name": "pending"}),
                (RunState::Running, RunState::Stopped) => json!({"code": 64, "name": "stopping"}),
                (_, s) => run_state_json(s),
            };
            items.push(json!({
                "instanceId": id,
                "currentState": current,
                "previousState": run_state_json(before),
            }));
        }
    }
    ctx.success(json!({"instancesSet": items}))
}
