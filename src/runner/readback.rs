//! Reading an instance's options back through the spec's read-back operation.
#![warn(missing_docs)]

use std::time::Instant;

use super::{RunConfig, RunError};
use crate::oracle::Options;
use crate::spec::Spec;
use crate::target::Signing;
use crate::verdict::{lookup, scalar};
use crate::wire::{Call, Outcome, RawParam, RawValue};

/// What a read-back shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The options the read-back shows.
    pub options: Options,
    /// The change state (`pending`, `applied`), where the read-back has one.
    pub state: Option<String>,
    /// The instance's run state, lower-cased (`running`, `stopped`).
    pub run_state: Option<String>,
}

/// Why a read-back did not show the instance.
#[derive(Debug, thiserror::Error)]
pub enum ReadbackError {
    /// The read-back was answered with an error.
    #[error("the answer was {0}")]
    Refused(String),
    /// The answer does not hold the instance.
    #[error("the answer has no instance {0}")]
    NotThere(String),
}

/// The read-back call for `instance`.
pub fn call(cfg: &RunConfig, instance: &str) -> Call {
    call_for(&cfg.spec, &cfg.region, instance)
}

/// The read-back call for `instance` in `region`, from the spec's `[readback]`.
pub fn call_for(spec: &Spec, region: &str, instance: &str) -> Call {
    let rb = &spec.readback;
    let json = spec.api.protocol.typed_values();
    let params = rb
        .params
        .iter()
        .map(|(name, template)| {
            let filled = template
                .replace("{instance}", instance)
                .replace("{region}", region);
            let value = match filled.strip_prefix("json:") {
                Some(lit) if json => RawValue::Json(lit.to_string()),
                Some(lit) => RawValue::Text(lit.to_string()),
                None => RawValue::Text(filled),
            };
            RawParam {
                name: name.clone(),
                value,
            }
        })
        .collect();
    Call {
        operation: rb.operation.clone(),
        params,
    }
}

/// Read `instance` back once.
pub async fn read(cfg: &RunConfig, instance: &str) -> Result<Observed, RunError> {
    let fail = |reason: String| RunError::Readback {
        api: cfg.spec.api.id.clone(),
        instance: instance.to_string(),
        reason,
    };
    let sent = cfg
        .target
        .send(&call(cfg, instance), Signing::Valid)
        .await?;
    let body = match sent.outcome {
        Ok(Outcome::Success { body, .. }) => body,
        Ok(Outcome::Error {
            code,
            status,
            message,
            ..
        }) => {
            return Err(fail(
                ReadbackError::Refused(format!("{code} ({status}): {message}")).to_string(),
            ))
        }
        Err(e) => return Err(fail(e.to_string())),
    };
    observe(cfg, instance, &body)
        .ok_or_else(|| fail(ReadbackError::NotThere(instance.to_string()).to_string()))
}

/// Pick `instance` out of a read-back answer.
pub fn observe(cfg: &RunConfig, instance: &str, body: &serde_json::Value) -> Option<Observed> {
    observe_in(&cfg.spec, instance, body)
}

/// Pick `instance` out of a read-back answer, as the spec's `[readback]` says.
pub fn observe_in(spec: &Spec, instance: &str, body: &serde_json::Value) -> Option<Observed> {
    let rb = &spec.readback;
    let found = lookup(body, &rb.instances_path)
        .into_iter()
        .find(|i| i.get(&rb.id_field).map(scalar).as_deref() == Some(instance))?;
    let opts = lookup(found, &rb.options_path).into_iter().next();
    let mut options = Options::new();
    if let Some(opts) = opts {
        for (option, field) in &rb.fields {
            if let Some(v) = opts.get(field) {
                options.insert(option.clone(), scalar(v));
            }
        }
    }
    let state = match (&rb.state_field, opts) {
        (Some(f), Some(o)) => o.get(f).map(scalar),
        _ => None,
    };
    let run_state = rb.run_state_path.as_ref().and_then(|p| {
        lookup(found, p)
            .into_iter()
            .next()
            .map(|v| scalar(v).to_lowercase())
    });
    Some(Observed {
        options,
        state,
        run_state,
    })
}

/// Has the change settled (or is there no state to watch)?
pub fn settled(cfg: &RunConfig, obs: &Observed) -> bool {
    match (&cfg.spec.state_machine, &obs.state) {
        (Some(sm), Some(s)) => *s == sm.settles_to,
        _ => true,
    }
}

/// Read back until the change state is the one the state machine settles to.
/// `None` when it does not within the timeout. Without a state to watch, one
/// read-back is the answer.
pub async fn settle(cfg: &RunConfig, instance: &str) -> Result<Option<Observed>, RunError> {
    let target = cfg
        .spec
        .state_machine
        .as_ref()
        .map(|sm| sm.settles_to.clone());
    let started = Instant::now();
    loop {
        let obs = read(cfg, instance).await?;
        match (&target, &obs.state) {
            (Some(t), Some(s)) if s != t => {}
            _ => return Ok(Some(obs)),
        }
        if started.elapsed() >= cfg.settle_timeout {
            return Ok(None);
        }
        tokio::time::sleep(cfg.settle_poll).await;
    }
}
