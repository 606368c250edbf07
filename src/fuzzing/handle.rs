//! The whole-emulator target: any request, never a panic, and every answer to a
//! request the emulator routed decodes with that protocol's client decoder.

use super::epoch;
use super::framing::{request_from_bytes, response_to_bytes};
use crate::emulator::{Emulator, EmulatorConfig, Route};
use crate::wire::{client, Protocol};

/// The whole emulator on an arbitrary request: never panics, and every answer to a
/// request it routed decodes with that protocol's client decoder.
pub fn emulator_handle(data: &[u8]) {
    let req = request_from_bytes(data);
    let emu = Emulator::new(EmulatorConfig::default());
    let resp = emu.handle(&req, epoch());
    let protocol = match crate::emulator::route::route(&req) {
        Route::Ec2Query => Protocol::Ec2Query,
        Route::AwsJson => Protocol::AwsJson11,
        Route::AliyunRpc => Protocol::AliyunRpc,
        Route::Unknown => return,
    };
    if let Err(e) = client::decode(protocol, &resp) {
        panic!(
            "the emulator's answer does not decode as {protocol:?}: {e}\nanswer: {}",
            String::from_utf8_lossy(&response_to_bytes(&resp))
        );
    }
}
