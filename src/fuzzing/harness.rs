//! One API's world for the differential and the seeds: a fresh in-process
//! emulator with its default fixtures, the API's table, one instance and the
//! oracle's view of it; calls are encoded and signed the way the runner does.

use std::time::{Duration, SystemTime};

use super::epoch;
use super::scenario::{Edit, Val, MAX_EDITS};
use crate::emulator::{Emulator, EmulatorConfig};
use crate::generate::{Builder, Subject};
use crate::oracle::{self, Instance, World};
use crate::runner::{observe_in, readback_call, Observed};
use crate::spec::{self, Role, Spec};
use crate::target::Signing;
use crate::wire::{client, Call, Credentials, Endpoint, HttpResponse, Outcome, RawParam, RawValue};

/// One run's world: the emulator, the spec, the instance and the oracle's view.
pub(super) struct Run {
    pub(super) spec: Spec,
    pub(super) emu: Emulator,
    pub(super) ep: Endpoint,
    pub(super) creds: Credentials,
    pub(super) subject: Subject,
    pub(super) known: Vec<String>,
    pub(super) world: World,
    pub(super) now: SystemTime,
    pub(super) nonce: u64,
}

fn specs() -> &'static [Spec] {
    static SPECS: std::sync::OnceLock<Vec<Spec>> = std::sync::OnceLock::new();
    SPECS.get_or_init(|| spec::builtin().expect("the built-in spec tables load"))
}

impl Run {
    pub(super) fn new(api: &str, instance: u8) -> Option<Run> {
        let spec = specs().iter().find(|s| s.api.id == api)?.clone();
        let config = EmulatorConfig {
            apply_delay: Duration::from_millis(1500),
            ..EmulatorConfig::default()
        };
        let (instances, keys) = config.fixtures.for_api(api)?;
        let fixture = instances.get(instance as usize % instances.len())?.clone();
        let key = keys.first()?.clone();
        let known: Vec<String> = instances.iter().map(|i| i.id.clone()).collect();
        let emu = Emulator::new(config);
        let ep = Endpoint {
            url: spec.endpoint_for(&fixture.region),
            region: fixture.region.clone(),
            api_version: spec.api.api_version.clone(),
            signing_name: spec.api.signing_name.clone(),
            target_prefix: spec.api.target_prefix.clone(),
            format: "JSON".into(),
        };
        let subject = Subject::new(&spec, &fixture.id, &fixture.region, &known);
        Some(Run {
            world: World {
                region: fixture.region.clone(),
                instance: Instance {
                    id: fixture.id.clone(),
                    state: fixture.state.clone(),
                    options: oracle::Options::new(),
                },
            },
            creds: Credentials::new(key.access_key_id, key.secret),
            spec,
            emu,
            ep,
            subject,
            known,
            now: epoch(),
            nonce: 0,
        })
    }

    pub(super) fn send(&mut self, call: &Call, signing: Signing) -> Result<HttpResponse, String> {
        let mut req =
            client::encode(self.spec.api.protocol, &self.ep, call).map_err(|e| e.to_string())?;
        if signing != Signing::Unsigned {
            let mut creds = self.creds.clone();
            match signing {
                Signing::WrongSecret => {
                    creds = Credentials::new(
                        creds.access_key_id.clone(),
                        format!("{}x", creds.secret.expose()),
                    );
                }
                Signing::UnknownKey => creds.access_key_id = "AKIAIMDSCONFORMUNKNOWN".into(),
                _ => {}
            }
            let time = match signing {
                Signing::Expired => self.now - Duration::from_secs(3600),
                _ => self.now,
            };
            self.nonce += 1;
            let nonce = format!("fuzz-nonce-{}", self.nonce);
            client::sign(
                self.spec.api.signing,
                &mut req,
                &self.ep,
                &creds,
                time,
                &nonce,
            )
            .map_err(|e| e.to_string())?;
            if signing == Signing::CorruptSignature {
                client::corrupt_signature(self.spec.api.signing, &mut req);
            }
        }
        Ok(self.emu.handle(&req, self.now))
    }

    pub(super) fn read_back(&mut self) -> Result<Observed, String> {
        let call = readback_call(&self.spec, &self.world.region, &self.world.instance.id);
        let resp = self.send(&call, Signing::Valid)?;
        match client::decode(self.spec.api.protocol, &resp) {
            Ok(Outcome::Success { body, .. }) => {
                observe_in(&self.spec, &self.world.instance.id, &body)
                    .ok_or_else(|| "the read-back answer has no such instance".to_string())
            }
            Ok(o) => Err(format!("the read-back was refused: {o:?}")),
            Err(e) => Err(format!("the read-back answer does not decode: {e}")),
        }
    }

    /// The call an op describes.
    pub(super) fn call(&self, bare: bool, edits: &[Edit]) -> Call {
        let b = Builder::new(&self.spec, &self.subject);
        let rows: Vec<&spec::Param> = self.spec.params.iter().map(|p| p.get_ref()).collect();
        let mut params = if bare { Vec::new() } else { b.base() };
        for e in edits.iter().take(MAX_EDITS) {
            match e {
                Edit::Set { param, value } | Edit::Add { param, value } => {
                    let Some(row) = rows.get(*param as usize % rows.len().max(1)) else {
                        continue;
                    };
                    let v = self.value(&b, row, value);
                    let p = RawParam {
                        name: row.name.clone(),
                        value: v,
                    };
                    if matches!(e, Edit::Set { .. }) {
                        match params.iter().position(|q| q.name == row.name) {
                            Some(at) => {
                                params.retain(|q| q.name != row.name);
                                params.insert(at.min(params.len()), p);
                            }
                            None => params.push(p),
                        }
                    } else {
                        params.push(p);
                    }
                }
                Edit::Remove { param } => {
                    if let Some(row) = rows.get(*param as usize % rows.len().max(1)) {
                        params.retain(|q| q.name != row.name);
                    }
                }
                Edit::Unknown { name, value } => params.push(RawParam::text(name, value)),
            }
        }
        b.call(params)
    }

    fn value(&self, b: &Builder, row: &spec::Param, v: &Val) -> RawValue {
        let json = self.spec.api.protocol.typed_values();
        match v {
            Val::Valid(n) => {
                let valid = b.valid_values(row);
                match valid.get(*n as usize % valid.len().max(1)) {
                    Some(s) => b.value(row, s),
                    None => RawValue::text(""),
                }
            }
            Val::Class(n) => {
                let classes = b.classes(row);
                match classes.get(*n as usize % classes.len().max(1)) {
                    Some((_, v, _)) => v.clone(),
                    None => RawValue::text(""),
                }
            }
            Val::Int(i) => b.value(row, &i.to_string()),
            Val::Text(s) => RawValue::Text(s.clone()),
            Val::Json(s) if json => RawValue::Json(s.clone()),
            Val::Json(s) => RawValue::Text(s.clone()),
        }
    }

    /// Does the call name another instance of the fixtures? The oracle's world
    /// holds one instance, so such calls cannot be judged.
    pub(super) fn names_other_instance(&self, call: &Call) -> bool {
        let Some(target) = self.spec.param_with_role(Role::Target) else {
            return false;
        };
        call.values(&target.name).any(|v| {
            let t = v.as_query_text().trim_matches('"');
            self.known
                .iter()
                .any(|k| k != &self.world.instance.id && k.eq_ignore_ascii_case(t))
        })
    }
}
