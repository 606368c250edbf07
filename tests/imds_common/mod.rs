//! Shared by the `imds_*` tests: a signed modify through the emulator's API
//! endpoint, the way a client changes an instance's metadata options.

use imds_conform::emulator;
use imds_conform::spec;
use imds_conform::target::{Signing, Target, TargetConfig};
use imds_conform::wire::{Call, Credentials, Outcome};

/// `ModifyInstanceMetadataOptions` (or Lightsail's update) of `id` at the emulator
/// at `url`, with the default fake credentials; panics unless it succeeds.
pub async fn modify(url: &str, api: &str, id: &str, params: &[(&str, &str)]) {
    let spec = spec::builtin_api(api).unwrap().unwrap();
    let (creds, region) = if api == "aliyun-ecs" {
        (Credentials::new("testid", "testsecret"), "cn-hangzhou")
    } else {
        (
            Credentials::new(
                emulator::fixtures::DEFAULT_AWS_ACCESS_KEY_ID,
                emulator::fixtures::DEFAULT_AWS_SECRET,
            ),
            "us-east-1",
        )
    };
    let target = Target::new(TargetConfig::for_spec(&spec, url, region, Some(creds))).unwrap();
    let mut call = Call::new(spec.api.operation.clone());
    if api == "aliyun-ecs" {
        call = call.with("RegionId", region);
        if !params.iter().any(|(k, _)| *k == "HttpEndpoint") {
            call = call.with("HttpEndpoint", "enabled");
        }
    }
    let target_param = if api == "aws-lightsail" {
        "instanceName"
    } else {
        "InstanceId"
    };
    call = call.with(target_param, id);
    for (k, v) in params {
        call = call.with(*k, *v);
    }
    let sent = target.send(&call, Signing::Valid).await.unwrap();
    assert!(
        matches!(sent.outcome, Ok(Outcome::Success { .. })),
        "{:?}",
        sent.outcome
    );
}

/// A metadata service of the emulator's instance `id` on a free loopback port.
#[allow(dead_code)] // not every test file that shares this module needs it
pub async fn imds_of(running: &emulator::RunningEmulator, id: &str) -> emulator::imds::RunningImds {
    let em = running.emulator();
    emulator::imds::start_imds(
        em,
        em.find_instance(id).unwrap(),
        &["127.0.0.1:0".parse().unwrap()],
    )
    .await
    .unwrap()
}
