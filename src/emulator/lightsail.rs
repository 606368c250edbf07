//! Lightsail (API version 2016-11-28, AWS JSON 1.1), written the way the service
//! behaves: `UpdateInstanceMetadataOptions`, `GetInstance`, `GetInstances`,
//! `StartInstance`, `StopInstance`, with Lightsail's modeled errors and the AWS JSON
//! protocol errors.
//!
//! Members arrive as [`RawValue::Text`] (a JSON string) or [`RawValue::Json`] (any
//! other JSON literal). A JSON `null` means the member is absent; any other wrong
//! type is a `SerializationException`, as AWS JSON services answer. Unknown members
//! are ignored, as AWS JSON services do. Choices the docs leave open are marked
//! `UNDOCUMENTED:` and listed in docs/emulator.md.

use serde_json::{json, Value};

use super::store::{InstanceView, OptionsPatch, RunState, Store};
use super::Ctx;
use crate::wire::{Answer, Call, RawValue};

/// The `X-Amz-Target` prefix of this API.
pub const TARGET_PREFIX: &str = "Lightsail_20161128";
/// The account shown in ARNs.
pub const ACCOUNT_ID: &str = "123456789012";
/// The one region where `httpProtocolIpv6` is available (seed 004).
pub const IPV6_REGION: &str = "eu-north-1";

fn invalid_input(ctx: &Ctx, message: impl Into<String>) -> Answer {
    ctx.error(400, "InvalidInputException", message)
}

fn serialization(ctx: &Ctx, message: impl Into<String>) -> Answer {
    ctx.error(400, "SerializationException", message)
}

/// Answer one Lightsail call from an authenticated caller in `ctx.region`.
pub fn handle(store: &Store, ctx: &Ctx, call: &Call) -> Answer {
    match call.operation.as_str() {
        "UpdateInstanceMetadataOptions" => update(store, ctx, call),
        "GetInstance" => get_instance(store, ctx, call),
        "GetInstances" => get_instances(store, ctx, call),
        "StartInstance" => start_stop(store, ctx, call, RunState::Running),
        "StopInstance" => start_stop(store, ctx, call, RunState::Stopped),
        // UNDOCUMENTED: message text; AWS JSON services send this code with an
        // empty or null message.
        _ => ctx.error(400, "UnknownOperationException", ""),
    }
}

/// A string member: `Ok(None)` when absent or `null`.
fn string_member(ctx: &Ctx, call: &Call, name: &str) -> Result<Option<String>, Answer> {
    match call.get(name) {
        None => Ok(None),
        Some(RawValue::Text(s)) => Ok(Some(s.clone())),
        Some(RawValue::Json(lit)) if lit.trim() == "null" => Ok(None),
        // UNDOCUMENTED: message wording (Coral's deserializer names the JSON token).
        Some(RawValue::Json(lit)) => Err(serialization(
            ctx,
            format!("{} can not be converted to a String", token_name(lit)),
        )),
    }
}

fn integer_member(ctx: &Ctx, call: &Call, name: &str) -> Result<Option<i64>, Answer> {
    match call.get(name) {
        None => Ok(None),
        Some(RawValue::Json(lit)) if lit.trim() == "null" => Ok(None),
        Some(RawValue::Json(lit)) => match lit.trim().parse::<i64>() {
            Ok(n) if i32::try_from(n).is_ok() => Ok(Some(n)),
            _ => Err(serialization(
                ctx,
                format!("{} can not be converted to an Integer", token_name(lit)),
            )),
        },
        Some(RawValue::Text(_)) => Err(serialization(
            ctx,
            "STRING_VALUE can not be converted to an Integer",
        )),
    }
}

fn token_name(lit: &str) -> &'static str {
    match lit.trim().as_bytes().first() {
        Some(b'{') => "START_OBJECT",
        Some(b'[') => "START_ARRAY",
        Some(b't') | Some(b'f') => "VALUE_BOOLEAN",
        Some(b'"') => "STRING_VALUE",
        Some(_) if lit.contains(['.', 'e', 'E']) => "NUMBER_FLOAT",
        Some(_) => "NUMBER_INT",
        None => "EMPTY",
    }
}

fn enum_member(
    ctx: &Ctx,
    call: &Call,
    name: &str,
    allowed: [&str; 2],
) -> Result<Option<String>, Answer> {
    match string_member(ctx, call, name)? {
        None => Ok(None),
        Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
        // UNDOCUMENTED: Lightsail models only InvalidInputException for bad input, so
        // enum violations use it, with Coral's validation wording.
        Some(v) => Err(invalid_input(
            ctx,
            format!(
                "1 validation error detected: Value '{v}' at '{name}' failed to satisfy constraint: Member must satisfy enum value set: [{}, {}]",
                allowed[0], allowed[1]
            ),
        )),
    }
}

/// `ResourceName` pattern `\w[\w\-]*\w`.
pub fn is_resource_name(s: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let chars: Vec<char> = s.chars().collect();
    chars.len() >= 2
        && word(chars[0])
        && word(chars[chars.len() - 1])
        && chars.iter().all(|&c| word(c) || c == '-')
}

fn instance_name(ctx: &Ctx, call: &Call) -> Result<String, Answer> {
    match string_member(ctx, call, "instanceName")? {
        // UNDOCUMENTED: a missing required member is InvalidInputException (the
        // operation's modeled client error) rather than a ValidationException.
        None => Err(invalid_input(
            ctx,
            "1 validation error detected: Value null at 'instanceName' failed to satisfy constraint: Member must not be null",
        )),
        Some(n) if !is_resource_name(&n) => Err(invalid_input(
            ctx,
            format!(
                "1 validation error detected: Value '{n}' at 'instanceName' failed to satisfy constraint: Member must satisfy regular expression pattern: \\w[\\w\\-]*\\w"
            ),
        )),
        Some(n) => Ok(n),
    }
}

fn not_found(ctx: &Ctx, name: &str) -> Answer {
    // UNDOCUMENTED: message wording.
    ctx.error(
        404,
        "NotFoundException",
        format!("The Instance does not exist: {name}"),
    )
}

fn epoch(t: std::time::SystemTime) -> Value {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    // Milliseconds precision, as Lightsail shows (`1479816991.349`).
    let ms = d.as_millis() as f64 / 1000.0;
    json!(ms)
}

fn operation(ctx: &Ctx, v: &InstanceView, op_type: &str, details: &str) -> Value {
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "resourceName": v.id,
        "resourceType": "Instance",
        "createdAt": epoch(ctx.now),
        "location": {"availabilityZone": v.zone, "regionName": v.region},
        // UNDOCUMENTED: the change is asynchronous (the options are `pending`), so the
        // operation is reported `Started` and not terminal.
        "isTerminal": false,
        "operationDetails": details,
        "operationType": op_type,
        "status": "Started",
        "statusChangedAt": epoch(ctx.now),
    })
}

fn update(store: &Store, ctx: &Ctx, call: &Call) -> Answer {
    let parsed = (|| {
        let name = instance_name(ctx, call)?;
        let patch = OptionsPatch {
            http_tokens: enum_member(ctx, call, "httpTokens", ["optional", "required"])?,
            http_endpoint: enum_member(ctx, call, "httpEndpoint", ["disabled", "enabled"])?,
            hop_limit: integer_member(ctx, call, "httpPutResponseHopLimit")?,
            http_protocol_ipv6: enum_member(
                ctx,
                call,
                "httpProtocolIpv6",
                ["disabled", "enabled"],
            )?,
            instance_metadata_tags: None,
        };
        Ok::<_, Answer>((name, patch))
    })();
    let (name, patch) = match parsed {
        Ok(p) => p,
        Err(e) => return e,
    };
    // UNDOCUMENTED: Lightsail documents no range; the emulator enforces EC2's 1..=64
    // (the same instance metadata service) with InvalidInputException.
    if let Some(h) = patch.hop_limit {
        if !(1..=64).contains(&h) {
            return invalid_input(
                ctx,
                format!("The httpPutResponseHopLimit value {h} is not valid. Specify an integer from 1 to 64."),
            );
        }
    }
    let Some(_) = store.get(&ctx.region, &name, ctx.now) else {
        return not_found(ctx, &name);
    };
    // httpProtocolIpv6 is "available only for instances in eu-north-1": elsewhere the
    // parameter is refused, whatever its value (UNDOCUMENTED: the code,
    // InvalidInputException).
    if ctx.region != IPV6_REGION && patch.http_protocol_ipv6.is_some() {
        return invalid_input(
            ctx,
            format!(
                "The httpProtocolIpv6 parameter is available only for instances in the {IPV6_REGION} Region."
            ),
        );
    }
    // Omitted members keep the current value: documented for httpEndpoint and
    // httpPutResponseHopLimit. UNDOCUMENTED for httpTokens, whose doc says "If the
    // parameter is not specified in the request, the default state is optional": read
    // as describing the default state of an instance, not a reset on every update.
    match store.modify(&ctx.region, &name, &patch, ctx.now, ctx.apply_delay) {
        Some(v) => ctx
            .success(json!({"operation": operation(ctx, &v, "UpdateInstanceMetadataOptions", "")})),
        None => not_found(ctx, &name),
    }
}

fn run_state_json(r: RunState) -> Value {
    match r {
        RunState::Running => json!({"code": 16, "name": "running"}),
        RunState::Stopped => json!({"code": 80, "name": "stopped"}),
    }
}

/// A stable fake resource id derived from the name (FNV-1a), shaped like a UUID.
fn resource_uuid(name: &str) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in name.bytes() {
        h ^= b as u128;
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    let s = format!("{h:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &s[0..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..32]
    )
}

fn instance_json(v: &InstanceView) -> Value {
    json!({
        "name": v.id,
        "arn": format!("arn:aws:lightsail:{}:{ACCOUNT_ID}:Instance/{}", v.region, resource_uuid(&v.id)),
        "supportCode": format!("{ACCOUNT_ID}/i-{}", &resource_uuid(&v.id)[..8]),
        "createdAt": epoch(v.created_at),
        "location": {"availabilityZone": v.zone, "regionName": v.region},
        "resourceType": "Instance",
        "tags": [],
        "blueprintId": "amazon_linux_2023",
        "blueprintName": "Amazon Linux 2023",
        "bundleId": "nano_3_0",
        "addOns": [],
        "isStaticIp": false,
        "privateIpAddress": "172.26.0.10",
        "publicIpAddress": "192.0.2.10",
        "ipv6Addresses": [],
        "ipAddressType": "ipv4",
        "hardware": {"cpuCount": 2, "disks": [], "ramSizeInGb": 0.5},
        "networking": {"monthlyTransfer": {"gbPerMonthAllocated": 1024}, "ports": []},
        "state": run_state_json(v.run_state),
        "username": "ec2-user",
        "sshKeyName": "LightsailDefaultKeyPair",
        "metadataOptions": {
            "state": v.state.as_str(),
            "httpTokens": v.options.http_tokens,
            "httpEndpoint": v.options.http_endpoint,
            "httpPutResponseHopLimit": v.options.hop_limit,
            "httpProtocolIpv6": v.options.http_protocol_ipv6,
        },
    })
}

fn get_instance(store: &Store, ctx: &Ctx, call: &Call) -> Answer {
    let name = match instance_name(ctx, call) {
        Ok(n) => n,
        Err(e) => return e,
    };
    match store.get(&ctx.region, &name, ctx.now) {
        Some(v) => ctx.success(json!({"instance": instance_json(&v)})),
        None => not_found(ctx, &name),
    }
}

fn get_instances(store: &Store, ctx: &Ctx, call: &Call) -> Answer {
    // `pageToken` is accepted; everything fits one page (UNDOCUMENTED).
    if let Err(e) = string_member(ctx, call, "pageToken") {
        return e;
    }
    let all: Vec<Value> = store
        .list(&ctx.region, ctx.now)
        .iter()
        .map(instance_json)
        .collect();
    ctx.success(json!({"instances": all}))
}

fn start_stop(store: &Store, ctx: &Ctx, call: &Call, to: RunState) -> Answer {
    let name = match instance_name(ctx, call) {
        Ok(n) => n,
        Err(e) => return e,
    };
    if store
        .set_run_state(&ctx.region, &name, to, ctx.now, ctx.apply_delay)
        .is_none()
    {
        return not_found(ctx, &name);
    }
    let Some(v) = store.get(&ctx.region, &name, ctx.now) else {
        return not_found(ctx, &name);
    };
    let op = if to == RunState::Running {
        "StartInstance"
    } else {
        "StopInstance"
    };
    ctx.success(json!({"operations": [operation(ctx, &v, op, "")]}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names() {
        for ok in ["web-1", "ab", "a_b", "Web-Server-1"] {
            assert!(is_resource_name(ok), "{ok}");
        }
        for bad in ["", "a", "-ab", "ab-", "a b", "a.b"] {
            assert!(!is_resource_name(bad), "{bad}");
        }
    }
}
