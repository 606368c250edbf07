//! Alibaba Cloud ECS (API version 2014-05-26, RPC style), written the way the service
//! behaves: `ModifyInstanceMetadataOptions` with the error codes and messages of
//! seeds 000/001, `DescribeInstances` to read the options back, and the common
//! errors of the RPC gateway.
//!
//! Choices the docs leave open are marked `UNDOCUMENTED:` and listed in
//! docs/emulator.md.

use serde_json::{json, Value};

use super::store::{InstanceView, OptionsPatch, RunState, Store};
use super::Ctx;
use crate::wire::{Answer, Call};

/// The API version the emulator speaks.
pub const API_VERSION: &str = "2014-05-26";

/// ECS regions the emulator knows besides the fixtures' own (a request naming any
/// other region is `InvalidRegionId.NotFound`).
pub const KNOWN_REGIONS: &[&str] = &[
    "cn-qingdao",
    "cn-beijing",
    "cn-zhangjiakou",
    "cn-huhehaote",
    "cn-wulanchabu",
    "cn-hangzhou",
    "cn-shanghai",
    "cn-nanjing",
    "cn-fuzhou",
    "cn-shenzhen",
    "cn-heyuan",
    "cn-guangzhou",
    "cn-chengdu",
    "cn-hongkong",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "us-east-1",
    "us-west-1",
    "eu-west-1",
    "eu-central-1",
    "me-east-1",
    "me-central-1",
];

/// The gateway's answer for a missing required parameter. UNDOCUMENTED choice: the
/// generic `MissingParameter` code (rather than per-parameter `MissingRegionId`
/// codes) with the gateway's usual wording.
pub fn missing(ctx: &Ctx, name: &str) -> Answer {
    ctx.error(400,
        "MissingParameter",
        format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied."),
    )
}

fn text<'a>(call: &'a Call, name: &str) -> Option<&'a str> {
    call.get(name).map(|v| v.as_query_text())
}

/// Answer one ECS call from an authenticated caller. `ctx.version` is the
/// `Version` the caller sent.
pub fn handle(store: &Store, ctx: &Ctx, call: &Call) -> Answer {
    match ctx.version.as_deref() {
        None | Some("") => return missing(ctx, "Version"),
        Some(API_VERSION) => {}
        // UNDOCUMENTED: code and message for a version the product does not have.
        Some(_) => {
            return ctx.error(
                400,
                "InvalidVersion",
                "Specified parameter Version is not valid.",
            )
        }
    }
    match call.operation.as_str() {
        "ModifyInstanceMetadataOptions" => modify(store, ctx, call),
        "DescribeInstances" => describe(store, ctx, call),
        "" => missing(ctx, "Action"),
        // UNDOCUMENTED: the gateway's answer for an unknown action (code, 404 and
        // message as commonly returned by the RPC gateway).
        _ => ctx.error(
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        ),
    }
}

fn region(store: &Store, ctx: &Ctx, call: &Call) -> Result<String, Answer> {
    let Some(r) = text(call, "RegionId").filter(|r| !r.is_empty()) else {
        return Err(missing(ctx, "RegionId"));
    };
    if KNOWN_REGIONS.contains(&r) || store.regions().iter().any(|k| k == r) {
        Ok(r.to_string())
    } else {
        // UNDOCUMENTED: ECS's common answer for an unknown region.
        Err(ctx.error(
            404,
            "InvalidRegionId.NotFound",
            "The specified RegionId does not exist.",
        ))
    }
}

fn instance_not_found(ctx: &Ctx) -> Answer {
    // Seed 001 (deleted from its change history on 2023-07-17, still the only
    // documented answer for this case).
    ctx.error(
        404,
        "InvalidInstanceId.NotFound",
        "The specified InstanceId is not found.",
    )
}

/// A 400 `code` with `message` when `value` is given and is not one of `allowed`.
fn one_of(
    ctx: &Ctx,
    value: Option<&str>,
    allowed: [&str; 2],
    code: &str,
    message: &str,
) -> Result<(), Answer> {
    match value {
        Some(v) if !allowed.contains(&v) => Err(ctx.error(400, code, message)),
        _ => Ok(()),
    }
}

/// Checks, in this order (UNDOCUMENTED, gateway checks first): RegionId present,
/// HttpEndpoint present (required in both docs and the metadata, despite its
/// documented default), InstanceId present (not required by the docs; without it
/// there is nothing to modify, so MissingParameter), then each value in the order of
/// the docs, then the region and the instance. Unknown parameters are ignored, as the
/// RPC gateway does. Any error changes nothing.
fn modify(store: &Store, ctx: &Ctx, call: &Call) -> Answer {
    let checked = (|| {
        if text(call, "RegionId").is_none_or(str::is_empty) {
            return Err(missing(ctx, "RegionId"));
        }
        let Some(endpoint) = text(call, "HttpEndpoint") else {
            return Err(missing(ctx, "HttpEndpoint"));
        };
        let Some(id) = text(call, "InstanceId").filter(|s| !s.is_empty()) else {
            return Err(missing(ctx, "InstanceId"));
        };
        one_of(
            ctx,
            Some(endpoint),
            ["enabled", "disabled"],
            "InvalidHttpEndpoint.NotSupported",
            "The specified HttpEndpoint not supported, you can use enabled(default) or disabled.",
        )?;
        let tokens = text(call, "HttpTokens");
        one_of(
            ctx,
            tokens,
            ["optional", "required"],
            "InvalidHttpTokens.NotSupported",
            "The specified HttpTokens not supported, you can use optional(default) or required.",
        )?;
        let hop = match text(call, "HttpPutResponseHopLimit") {
            None => None,
            Some(v) => match v.parse::<i64>() {
                // Range 1..=64 from the parameter description; the message's "more
                // than 1 and less than 64" is read loosely (UNDOCUMENTED conflict).
                Ok(n) if (1..=64).contains(&n) => Some(n),
                Ok(_) => {
                    return Err(ctx.error(400,
                        "InvalidHttpPutResponseHopLimit.NotSupported",
                        "The specified HttpPutResponseHopLimit not supported, more than 1 and less than 64 is reasonable.",
                    ))
                }
                // UNDOCUMENTED: a non-integer fails the gateway's type check.
                Err(_) => {
                    return Err(ctx.error(400,
                        "InvalidParameter",
                        "The specified parameter \"HttpPutResponseHopLimit\" is not valid.",
                    ))
                }
            },
        };
        let tags = text(call, "InstanceMetadataTags");
        // UNDOCUMENTED: valid values enabled|disabled (as on EC2).
        one_of(
            ctx,
            tags,
            ["enabled", "disabled"],
            "InvalidInstanceMetadataTags.NotSupported",
            "The specified InstanceMetadataTags not supported.",
        )?;
        let region = region(store, ctx, call)?;
        Ok((
            region,
            id.to_string(),
            OptionsPatch {
                http_endpoint: Some(endpoint.to_string()),
                http_tokens: tokens.map(str::to_string),
                hop_limit: hop,
                http_protocol_ipv6: None,
                instance_metadata_tags: tags.map(str::to_string),
            },
        ))
    })();
    let (region, id, patch) = match checked {
        Ok(c) => c,
        Err(e) => return e,
    };
    // Omitted optional parameters keep the current value. UNDOCUMENTED: the docs give
    // HttpTokens "Default value: optional"; read as the default of a new instance,
    // not a reset on every modify.
    match store.modify(&region, &id, &patch, ctx.now, ctx.apply_delay) {
        Some(_) => ctx.success(json!({})),
        None => instance_not_found(ctx),
    }
}

fn instance_json(v: &InstanceView) -> Value {
    let created = super::utc(v.created_at, "%Y-%m-%dT%H:%MZ");
    json!({
        "InstanceId": v.id,
        "InstanceName": v.id,
        "HostName": v.id,
        "RegionId": v.region,
        "ZoneId": v.zone,
        "Status": match v.run_state { RunState::Running => "Running", RunState::Stopped => "Stopped" },
        "InstanceType": v.instance_type,
        "InstanceChargeType": "PostPaid",
        "OSType": "linux",
        "CreationTime": created,
        // ECS shows the options as set; it has no pending/applied state.
        "MetadataOptions": {
            "HttpEndpoint": v.options.http_endpoint,
            "HttpTokens": v.options.http_tokens,
            "HttpPutResponseHopLimit": v.options.hop_limit,
            "InstanceMetadataTags": v.options.instance_metadata_tags,
        },
    })
}

fn positive(ctx: &Ctx, call: &Call, name: &str, default: i64, max: i64) -> Result<i64, Answer> {
    match text(call, name) {
        None => Ok(default),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            // UNDOCUMENTED: code/message for a bad page field.
            _ => Err(ctx.error(
                400,
                "InvalidParameter",
                format!("The specified parameter \"{name}\" is not valid."),
            )),
        },
    }
}

fn describe(store: &Store, ctx: &Ctx, call: &Call) -> Answer {
    let checked = (|| {
        let region = region(store, ctx, call)?;
        let ids: Option<Vec<String>> = match text(call, "InstanceIds") {
            None => None,
            Some(raw) => match serde_json::from_str::<Vec<String>>(raw) {
                Ok(ids) if ids.len() <= 100 => Some(ids),
                // UNDOCUMENTED: ECS's usual code for a malformed id list.
                _ => {
                    return Err(ctx.error(
                        400,
                        "InvalidInstanceIds.Malformed",
                        "The specified parameter InstanceIds is not valid.",
                    ))
                }
            },
        };
        let page_number = positive(ctx, call, "PageNumber", 1, i64::from(i32::MAX))?;
        let page_size = positive(ctx, call, "PageSize", 10, 100)?;
        Ok((region, ids, page_number, page_size))
    })();
    let (region, ids, page_number, page_size) = match checked {
        Ok(c) => c,
        Err(e) => return e,
    };
    let status = text(call, "Status");
    let matching: Vec<Value> = store
        .list(&region, ctx.now)
        .iter()
        .filter(|v| ids.as_ref().is_none_or(|ids| ids.contains(&v.id)))
        .filter(|v| {
            status.is_none_or(|s| {
                s == match v.run_state {
                    RunState::Running => "Running",
                    RunState::Stopped => "Stopped",
                }
            })
        })
        .map(instance_json)
        .collect();
    let total = matching.len();
    let start = ((page_number - 1) * page_size) as usize;
    let page: Vec<Value> = matching
        .into_iter()
        .skip(start)
        .take(page_size as usize)
        .collect();
    ctx.success(json!({
        "Instances": {"Instance": page},
        "TotalCount": total,
        "PageNumber": page_number,
        "PageSize": page_size,
        "NextToken": "",
    }))
}
