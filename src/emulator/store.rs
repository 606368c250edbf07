//! The emulator's instance store: per API and per region, every instance's
//! metadata options, its run state, and whether the last change is still pending.
//!
//! Pending → applied is computed lazily from timestamps: a change made at `t` on a
//! running instance is `pending` until `t + apply_delay`, then `applied`. A change
//! made on a stopped instance stays `pending` until the instance is started (EC2
//! docs: "When you modify the parameters on a stopped instance, they are applied when
//! the instance is started"), then it applies after `apply_delay` like any other.
//!
//! One mutex guards one API's store. Every read-modify-write happens under it, so
//! concurrent modifies of one instance are serialized and no acknowledged update is
//! lost: the value a caller was told about is the value the next caller starts from.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// The option values the three APIs share (each API shows the subset it has).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataOptions {
    pub http_tokens: String,
    pub http_endpoint: String,
    pub hop_limit: i64,
    pub http_protocol_ipv6: String,
    pub instance_metadata_tags: String,
}

impl Default for MetadataOptions {
    fn default() -> Self {
        MetadataOptions {
            http_tokens: "optional".into(),
            http_endpoint: "enabled".into(),
            hop_limit: 1,
            http_protocol_ipv6: "disabled".into(),
            instance_metadata_tags: "disabled".into(),
        }
    }
}

/// A change to some options; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionsPatch {
    pub http_tokens: Option<String>,
    pub http_endpoint: Option<String>,
    pub hop_limit: Option<i64>,
    pub http_protocol_ipv6: Option<String>,
    pub instance_metadata_tags: Option<String>,
}

impl OptionsPatch {
    pub fn apply(&self, current: &MetadataOptions) -> MetadataOptions {
        MetadataOptions {
            http_tokens: or_current(&self.http_tokens, &current.http_tokens),
            http_endpoint: or_current(&self.http_endpoint, &current.http_endpoint),
            hop_limit: self.hop_limit.unwrap_or(current.hop_limit),
            http_protocol_ipv6: or_current(&self.http_protocol_ipv6, &current.http_protocol_ipv6),
            instance_metadata_tags: or_current(
                &self.instance_metadata_tags,
                &current.instance_metadata_tags,
            ),
        }
    }
}

/// The patch's value when it has one, else the current one.
fn or_current(patch: &Option<String>, current: &str) -> String {
    patch.as_deref().unwrap_or(current).to_string()
}

/// Whether the instance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    Stopped,
}

/// State of the last metadata-options change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeState {
    Pending,
    Applied,
}

impl ChangeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::Pending => "pending",
            ChangeState::Applied => "applied",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    /// Applies at this time.
    Until(SystemTime),
    /// Applies `apply_delay` after the instance is next started.
    UntilStarted,
}

/// One instance as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Instance id (EC2, Alibaba) or name (Lightsail).
    pub id: String,
    pub region: String,
    pub zone: String,
    pub instance_type: String,
    pub run_state: RunState,
    pub options: MetadataOptions,
    /// When the instance was created (Lightsail `createdAt`, EC2 `launchTime`).
    pub created_at: SystemTime,
    pending: Option<Pending>,
    /// The options in effect while a change is pending (what the metadata service
    /// answers from until the change applies).
    prior: MetadataOptions,
}

impl Instance {
    pub fn new(
        id: impl Into<String>,
        region: impl Into<String>,
        zone: impl Into<String>,
        instance_type: impl Into<String>,
        run_state: RunState,
        options: MetadataOptions,
        created_at: SystemTime,
    ) -> Self {
        Instance {
            id: id.into(),
            region: region.into(),
            zone: zone.into(),
            instance_type: instance_type.into(),
            run_state,
            created_at,
            pending: None,
            prior: options.clone(),
            options,
        }
    }

    fn change_state(&self, now: SystemTime) -> ChangeState {
        match self.pending {
            None => ChangeState::Applied,
            Some(Pending::Until(t)) if now >= t => ChangeState::Applied,
            Some(_) => ChangeState::Pending,
        }
    }

    fn view(&self, now: SystemTime) -> InstanceView {
        InstanceView {
            instance: self.clone(),
            state: self.change_state(now),
        }
    }
}

/// A snapshot of an instance at a given time, with its change state computed.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceView {
    pub instance: Instance,
    pub state: ChangeState,
}

impl InstanceView {
    /// The options in effect: the last change's once applied, the ones before it
    /// while it is pending.
    pub fn applied_options(&self) -> &MetadataOptions {
        match self.state {
            ChangeState::Applied => &self.instance.options,
            ChangeState::Pending => &self.instance.prior,
        }
    }
}

impl std::ops::Deref for InstanceView {
    type Target = Instance;
    fn deref(&self) -> &Instance {
        &self.instance
    }
}

/// One API's instances, by region then id, behind one mutex.
#[derive(Debug, Default)]
pub struct Store {
    regions: Mutex<BTreeMap<String, BTreeMap<String, Instance>>>,
}

impl Store {
    pub fn new(instances: impl IntoIterator<Item = Instance>) -> Self {
        let mut regions: BTreeMap<String, BTreeMap<String, Instance>> = BTreeMap::new();
        for i in instances {
            regions
                .entry(i.region.clone())
                .or_default()
                .insert(i.id.clone(), i);
        }
        Store {
            regions: Mutex::new(regions),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, BTreeMap<String, Instance>>> {
        // A panic while holding the lock cannot leave a half-written instance (every
        // write is one assignment), so a poisoned lock is still usable.
        self.regions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every region that holds at least one instance.
    pub fn regions(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    pub fn get(&self, region: &str, id: &str, now: SystemTime) -> Option<InstanceView> {
        self.lock()
            .get(region)
            .and_then(|r| r.get(id))
            .map(|i| i.view(now))
    }

    /// Every instance of a region, ordered by id.
    pub fn list(&self, region: &str, now: SystemTime) -> Vec<InstanceView> {
        self.lock()
            .get(region)
            .map(|r| r.values().map(|i| i.view(now)).collect())
            .unwrap_or_default()
    }

    /// Apply `patch` to an instance atomically; the answer is the instance right
    /// after the change (state `pending`). `None` when there is no such instance.
    pub fn modify(
        &self,
        region: &str,
        id: &str,
        patch: &OptionsPatch,
        now: SystemTime,
        apply_delay: Duration,
    ) -> Option<InstanceView> {
        let mut regions = self.lock();
        let inst = regions.get_mut(region)?.get_mut(id)?;
        if inst.change_state(now) == ChangeState::Applied {
            inst.prior = inst.options.clone();
        }
        inst.options = patch.apply(&inst.options);
        inst.pending = Some(match inst.run_state {
            RunState::Running => Pending::Until(now + apply_delay),
            RunState::Stopped => Pending::UntilStarted,
        });
        Some(inst.view(now))
    }

    /// Start or stop an instance; answers (previous, current) run states.
    pub fn set_run_state(
        &self,
        region: &str,
        id: &str,
        to: RunState,
        now: SystemTime,
        apply_delay: Duration,
    ) -> Option<(RunState, RunState)> {
        let mut regions = self.lock();
        let inst = regions.get_mut(region)?.get_mut(id)?;
        let before = inst.run_state;
        inst.run_state = to;
        if before == RunState::Stopped
            && to == RunState::Running
            && inst.pending == Some(Pending::UntilStarted)
        {
            inst.pending = Some(Pending::Until(now + apply_delay));
        }
        Some((before, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(id: &str, run: RunState) -> Instance {
        Instance::new(
            id,
            "r",
            "ra",
            "t",
            run,
            MetadataOptions::default(),
            SystemTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn pending_becomes_applied_after_the_delay() {
        let s = Store::new([inst("a", RunState::Running)]);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let d = Duration::from_secs(2);
        let patch = OptionsPatch {
            http_tokens: Some("required".into()),
            ..Default::default()
        };
        let v = s.modify("r", "a", &patch, t0, d).unwrap();
        assert_eq!(v.state, ChangeState::Pending);
        assert_eq!(v.options.http_tokens, "required");
        assert_eq!(v.options.hop_limit, 1);
        assert_eq!(
            s.get("r", "a", t0 + Duration::from_secs(1)).unwrap().state,
            ChangeState::Pending
        );
        assert_eq!(s.get("r", "a", t0 + d).unwrap().state, ChangeState::Applied);
    }

    #[test]
    fn stopped_instance_applies_after_start() {
        let s = Store::new([inst("a", RunState::Stopped)]);
        let t0 = SystemTime::UNIX_EPOCH;
        let d = Duration::from_secs(2);
        s.modify("r", "a", &OptionsPatch::default(), t0, d).unwrap();
        let late = t0 + Duration::from_secs(100);
        assert_eq!(s.get("r", "a", late).unwrap().state, ChangeState::Pending);
        s.set_run_state("r", "a", RunState::Running, late, d);
        assert_eq!(s.get("r", "a", late).unwrap().state, ChangeState::Pending);
        assert_eq!(
            s.get("r", "a", late + d).unwrap().state,
            ChangeState::Applied
        );
    }

    #[test]
    fn unknown_instance_or_region_is_none() {
        let s = Store::new([inst("a", RunState::Running)]);
        let now = SystemTime::UNIX_EPOCH;
        assert!(s.get("r", "b", now).is_none());
        assert!(s.get("x", "a", now).is_none());
        assert!(s
            .modify("x", "a", &OptionsPatch::default(), now, Duration::ZERO)
            .is_none());
    }
}
