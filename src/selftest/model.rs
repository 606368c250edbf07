//! A model target: a small service that implements one spec table under one
//! reading of each ambiguity — the same reading in every call — optionally with
//! faults ([`Fault`]). It keeps a few instances, checks signatures, answers the
//! modify and the read-back in the shapes the table gives, and moves each change
//! from the state a modify answers to the state it settles to.
//!
//! What to answer comes from the table, read by the oracle with every ambiguity
//! pinned to the assigned reading: the model serves the oracle's first acceptable
//! outcome. So an unfaulted model is, by construction, a target the docs allow;
//! the self-test measures whether the rest of the engine (generation, runner,
//! verdicts, departures, readings) tells it apart from a faulted one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::fault::{auth_accepted, Fault};
use super::protocol::{self, NonceCache};
use super::shape;
use crate::oracle::{self, Acceptable, Auth, Expected, Instance, Options, World};
use crate::spec::{Condition, Param, ParamType, Patch, Role, Spec, Status, StatusClass};
use crate::wire::{
    Answer, Call, Credentials, HttpRequest, HttpResponse, RawParam, RawValue, Secret,
};

/// Which reading of each ambiguity a model implements (ambiguity id → reading id);
/// an ambiguity not named gets its first reading.
pub type Assignment = BTreeMap<String, String>;

/// The run state of every model instance.
const RUNNING: &str = "running";

/// The code a model answers where the table leaves the code open under the
/// assigned reading (a reading that says the listed codes are gone).
pub const UNLISTED_CODE: &str = "UnlistedError";

/// The credentials a model accepts (test-only values, not secrets).
const KEY_ID: &str = "SELFTESTKEYID0000001";
const SECRET: &str = "selftest-secret-0000000000000000000000";

/// Instance names tried in order; the first two the table's target pattern
/// accepts are used.
const ID_CANDIDATES: [&str; 4] = [
    "i-0a0000000000000a1",
    "i-0a0000000000000a2",
    "selftest-a1",
    "selftest-a2",
];

#[derive(Debug, Clone)]
struct Inst {
    id: String,
    options: Options,
    /// The options before the last change.
    previous: Options,
    /// When the last change was made (none: settled).
    changed_at: Option<SystemTime>,
}

struct State {
    instances: Vec<Inst>,
    nonces: NonceCache,
    /// Calls on which an alternating omission made a difference.
    alternations: usize,
}

enum Reply {
    Answer(Answer),
    Raw(HttpResponse),
}

/// A model target. Cheap to share behind an `Arc`; requests are served one at a
/// time.
pub struct Model {
    spec: Spec,
    /// The parameter rows under the assigned readings.
    rows: Vec<Param>,
    json: bool,
    region: String,
    apply_delay: Duration,
    faults: Vec<Fault>,
    /// Error codes the assigned readings leave open.
    unlisted: BTreeSet<String>,
    state: Mutex<State>,
}

/// `spec` with every ambiguity down to its assigned reading.
pub fn pinned(spec: &Spec, assignment: &Assignment) -> Spec {
    let mut s = spec.clone();
    for a in &mut s.ambiguities {
        let a = a.get_mut();
        match assignment.get(&a.id) {
            Some(r) if a.readings.iter().any(|x| &x.id == r) => a.readings.retain(|x| &x.id == r),
            _ => a.readings.truncate(1),
        }
    }
    s
}

/// The parameter rows of a pinned table with its readings' patches applied.
pub fn rows(pinned: &Spec) -> Vec<Param> {
    let mut rows: Vec<Param> = pinned.params.iter().map(|p| p.get_ref().clone()).collect();
    let patches = pinned
        .ambiguities
        .iter()
        .flat_map(|a| a.get_ref().readings.iter())
        .flat_map(|r| r.set.iter());
    for pt in patches {
        if let Some(row) = rows.iter_mut().find(|p| pt.param.as_ref() == Some(&p.name)) {
            patch_row(row, pt);
        }
    }
    rows
}

/// What a reading's patch says of a parameter row (whether the parameter is
/// ignored or refused outright is the oracle's business: the model asks it).
pub fn patch_row(row: &mut Param, pt: &Patch) {
    if let Some(r) = pt.range {
        row.range = Some(r);
    }
    if let Some(v) = &pt.values {
        row.values = v.clone();
    }
    if pt.unbounded {
        row.range = None;
    }
    if let Some(required) = pt.required {
        row.required = required;
    }
    if let Some(a) = &pt.absent {
        row.absent = a.clone();
    }
    if let Some(d) = &pt.default {
        row.default = Some(d.clone());
    }
    if let Some(r) = &pt.regions {
        row.regions = r.clone();
    }
}

/// The value an option starts with: its default, else the last valid value (an
/// integer one above the range's minimum).
pub fn initial_value(p: &Param) -> Option<String> {
    if let Some(d) = &p.default {
        return Some(d.clone());
    }
    match p.kind {
        ParamType::Enum | ParamType::Boolean => p.values.last().cloned(),
        ParamType::Integer => Some(p.range.map_or(2, |r| (r.min + 1).min(r.max)).to_string()),
        ParamType::String => None,
    }
}

impl Model {
    /// A model of `spec` implementing `assignment`, with `faults`. A change stays
    /// in the state a modify answers for `apply_delay`.
    pub fn new(
        spec: &Spec,
        assignment: &Assignment,
        faults: Vec<Fault>,
        apply_delay: Duration,
    ) -> Self {
        let spec = pinned(spec, assignment);
        let rows = rows(&spec);
        let unlisted = spec
            .ambiguities
            .iter()
            .flat_map(|a| a.get_ref().readings.iter())
            .flat_map(|r| r.set.iter())
            .filter(|p| p.exact == Some(false))
            .filter_map(|p| p.error.clone())
            .collect();
        let mut options = Options::new();
        // An option a reading ignores in calls is still the instance's.
        for p in &rows {
            if let (Some(o), Some(v)) = (&p.option, initial_value(p)) {
                options.insert(o.clone(), v);
            }
        }
        let instances = instance_ids(&spec)
            .into_iter()
            .map(|id| Inst {
                id,
                options: options.clone(),
                previous: options.clone(),
                changed_at: None,
            })
            .collect();
        Model {
            json: protocol::json_literals(spec.api.protocol),
            region: spec.api.default_region.clone(),
            spec,
            rows,
            apply_delay,
            faults,
            unlisted,
            state: Mutex::new(State {
                instances,
                nonces: NonceCache::for_skew(Duration::from_secs(300)),
                alternations: 0,
            }),
        }
    }

    /// The table as the model implements it (ambiguities pinned).
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// The region the model serves.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The instances the model keeps.
    pub fn instances(&self) -> Vec<String> {
        self.lock().instances.iter().map(|i| i.id.clone()).collect()
    }

    /// The credentials the model accepts.
    pub fn credentials(&self) -> Credentials {
        Credentials::new(KEY_ID, SECRET)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn has(&self, fault: &Fault) -> bool {
        self.faults.contains(fault)
    }

    /// Answer one request. Never panics.
    pub fn handle(&self, req: &HttpRequest, now: SystemTime) -> HttpResponse {
        let protocol = self.spec.api.protocol;
        let incoming = match protocol::decode(protocol, req) {
            Ok(i) => i,
            Err(e) => {
                let a = error(400, "MalformedRequest", &e.to_string());
                return protocol::encode(protocol, "", &self.spec.api.api_version, "JSON", &a);
            }
        };
        let op = incoming.call.operation.clone();
        let reply = match self.check_auth(req, now) {
            Auth::Valid if op == self.spec.readback.operation => {
                Reply::Answer(self.readback(&incoming.call, now))
            }
            Auth::Valid if op == self.spec.api.operation => self.modify(&incoming.call, now),
            Auth::Valid => Reply::Answer(error(400, "InvalidAction", &op)),
            auth => {
                let world = self.world(&self.lock().instances[0]);
                let exp = oracle::expect(&self.spec, &world, &incoming.call, auth);
                match exp.outcomes.first() {
                    Some(a) => self.error_reply(a),
                    None => Reply::Answer(error(403, UNLISTED_CODE, "refused")),
                }
            }
        };
        match reply {
            Reply::Answer(a) => protocol::encode(
                protocol,
                &op,
                &self.spec.api.api_version,
                &protocol::format(&incoming),
                &a,
            ),
            Reply::Raw(r) => r,
        }
    }

    fn check_auth(&self, req: &HttpRequest, now: SystemTime) -> Auth {
        let lookup = |id: &str| (id == KEY_ID).then(|| Secret::new(SECRET));
        let replays_ok = auth_accepted(&self.faults, Auth::NonceReused);
        let mut fresh = |n: &str| self.lock().nonces.check_and_insert(n, now) || replays_ok;
        let auth = protocol::verify(self.spec.api.signing, req, &lookup, now, &mut fresh);
        if auth_accepted(&self.faults, auth) {
            Auth::Valid
        } else {
            auth
        }
    }

    fn world(&self, inst: &Inst) -> World {
        World {
            region: self.region.clone(),
            instance: Instance {
                id: inst.id.clone(),
                state: RUNNING.into(),
                options: inst.options.clone(),
            },
        }
    }

    /// The instance the call's target parameter names (else the first: the table
    /// then says whether a call naming no instance of ours succeeds).
    fn named(&self, call: &Call, st: &State) -> usize {
        let target = self
            .spec
            .param_with_role(Role::Target)
            .map(|p| p.name.as_str());
        let value = target.and_then(|t| call.get(t)).map(|v| v.as_query_text());
        st.instances
            .iter()
            .position(|i| Some(i.id.as_str()) == value)
            .unwrap_or(0)
    }

    fn modify(&self, call: &Call, now: SystemTime) -> Reply {
        let mut st = self.lock();
        let at = self.named(call, &st);
        let world = self.world(&st.instances[at]);
        let (seen, stored) = self.rewrite(call, &world);
        let exp = oracle::expect(&self.spec, &world, &seen, Auth::Valid);
        let Some(chosen) = exp.outcomes.first() else {
            return Reply::Answer(error(500, UNLISTED_CODE, "no outcome"));
        };
        let Expected::Success {
            options,
            states,
            shape,
            targets_instance,
        } = &chosen.expected
        else {
            if let Some(options) = self.applied_despite_dry_run(chosen, &seen, &world) {
                store(&mut st.instances[at], options, now);
            }
            return self.error_reply(chosen);
        };
        let mut options = options.clone();
        let settled = self.settles_to();
        let state = if self.has(&Fault::AlwaysSettled) {
            settled.clone()
        } else {
            states.first().cloned().unwrap_or_else(|| settled.clone())
        };
        if *targets_instance {
            self.after_success(call, &world.instance.options, &mut options, stored, &mut st);
            if !self.has(&Fault::NotApplied) {
                let inst = &mut st.instances[at];
                store(inst, options.clone(), now);
                if self.has(&Fault::AlwaysSettled) {
                    inst.changed_at = None;
                }
            }
        }
        let mut shown = if self.has(&Fault::AnswerStale) {
            world.instance.options.clone()
        } else {
            options
        };
        for f in &self.faults {
            if let Fault::AnswerDrops { option } = f {
                shown.remove(option);
            }
        }
        let body = shape::modify_body(
            &self.spec,
            self.json,
            shape,
            &world.instance.id,
            targets_instance.then_some(&shown),
            &state,
        );
        Reply::Answer(Answer::Success {
            request_id: request_id(),
            body,
        })
    }

    /// The call the table judges, after the faults that change what the model
    /// takes as sent; and the options to store as sent (values taken as valid).
    fn rewrite(&self, call: &Call, world: &World) -> (Call, Vec<(String, String)>) {
        let mut seen = call.clone();
        let mut stored = Vec::new();
        for f in &self.faults {
            match f {
                Fault::AcceptValue { param, value } => {
                    let stand = self.stand_in(param, world);
                    for p in seen.params.iter_mut().filter(|p| &p.name == param) {
                        if p.value.as_query_text() != value {
                            continue;
                        }
                        if let Some(s) = &stand {
                            p.value = same_kind(&p.value, s);
                            if let Some(o) = self.option_of(param) {
                                stored.push((o, value.clone()));
                            }
                        }
                    }
                }
                Fault::CaseInsensitive { param } => {
                    let values = self.row(param).map(|p| p.values.clone());
                    for p in seen.params.iter_mut().filter(|p| &p.name == param) {
                        let text = p.value.as_query_text().to_string();
                        let canonical = values
                            .iter()
                            .flatten()
                            .find(|v| v.eq_ignore_ascii_case(&text) && **v != text);
                        if let Some(v) = canonical {
                            p.value = same_kind(&p.value, v);
                        }
                    }
                }
                Fault::AcceptMissing { param } if call.get(param).is_none() => {
                    if let Some(s) = self.stand_in(param, world) {
                        let kind = self.row(param).map(|p| p.kind);
                        let value = match kind {
                            Some(ParamType::Integer | ParamType::Boolean) if self.json => {
                                RawValue::Json(s)
                            }
                            _ => RawValue::Text(s),
                        };
                        seen.params.push(RawParam {
                            name: param.clone(),
                            value,
                        });
                    }
                }
                Fault::IgnoreParam { param } => seen.params.retain(|p| &p.name != param),
                _ => {}
            }
        }
        (seen, stored)
    }

    /// What omission faults and values taken as valid do to the options a success
    /// stores.
    fn after_success(
        &self,
        call: &Call,
        before: &Options,
        options: &mut Options,
        stored: Vec<(String, String)>,
        st: &mut State,
    ) {
        options.extend(stored);
        for f in &self.faults {
            let (param, reset) = match f {
                Fault::ResetOnOmission { param, to } => (param, Some(to)),
                Fault::KeepOnOmission { param } => (param, None),
                Fault::AlternateOmission { param, to } => {
                    let Some(o) = self.option_of(param) else {
                        continue;
                    };
                    if call.get(param).is_some() || before.get(&o) == Some(to) {
                        continue;
                    }
                    st.alternations += 1;
                    (param, (st.alternations % 2 == 1).then_some(to))
                }
                _ => continue,
            };
            let Some(o) = self.option_of(param) else {
                continue;
            };
            if call.get(param).is_some() {
                continue;
            }
            match reset.or(before.get(&o)) {
                Some(v) => options.insert(o, v.clone()),
                None => options.remove(&o),
            };
        }
    }

    /// With [`Fault::DryRunApplies`]: the options the call would have set without
    /// its dry-run parameter, when the answer is the table's dry-run error.
    fn applied_despite_dry_run(
        &self,
        chosen: &Acceptable,
        seen: &Call,
        world: &World,
    ) -> Option<Options> {
        let param = self.faults.iter().find_map(|f| match f {
            Fault::DryRunApplies { param } => Some(param),
            _ => None,
        })?;
        let Expected::Error { code, likely, .. } = &chosen.expected else {
            return None;
        };
        let code = code.as_ref().or(likely.as_ref())?;
        if !self
            .spec
            .errors_for(Condition::DryRun)
            .any(|e| &e.code == code)
        {
            return None;
        }
        let mut without = seen.clone();
        without.params.retain(|p| &p.name != param);
        let exp = oracle::expect(&self.spec, world, &without, Auth::Valid);
        match exp.outcomes.first().map(|a| &a.expected) {
            Some(Expected::Success {
                options,
                targets_instance: true,
                ..
            }) => Some(options.clone()),
            _ => None,
        }
    }

    fn error_reply(&self, chosen: &Acceptable) -> Reply {
        let Expected::Error {
            code,
            likely,
            status,
            message,
        } = &chosen.expected
        else {
            return Reply::Answer(error(500, UNLISTED_CODE, "not an error"));
        };
        // Under a reading that leaves a code open, the listed code is not used.
        let mut code = match code.as_ref().or(likely.as_ref()) {
            Some(c) if !self.unlisted.contains(c) => c.clone(),
            _ => UNLISTED_CODE.to_string(),
        };
        let mut status = match status {
            Status::Exact(s) => *s,
            Status::Class(StatusClass::Client) => 400,
            Status::Class(StatusClass::Server) => 500,
        };
        for f in &self.faults {
            match f {
                Fault::ErrorCode { rule, code: c } if *rule == chosen.rule => code = c.clone(),
                Fault::ErrorStatus { rule, status: s } if *rule == chosen.rule => status = *s,
                Fault::ErrorHtml { rule } if *rule == chosen.rule => return Reply::Raw(html_500()),
                _ => {}
            }
        }
        let message = message.clone().unwrap_or_else(|| code.clone());
        Reply::Answer(error(status, &code, &message))
    }

    fn readback(&self, call: &Call, now: SystemTime) -> Answer {
        let st = self.lock();
        let named: Vec<&Inst> = st
            .instances
            .iter()
            .filter(|i| {
                call.params
                    .iter()
                    .any(|p| p.value.as_query_text().contains(&i.id))
            })
            .collect();
        let dropped: Vec<String> = self
            .faults
            .iter()
            .filter_map(|f| match f {
                Fault::ReadbackDrops { option } => Some(option.clone()),
                _ => None,
            })
            .collect();
        let stale = self.has(&Fault::ReadbackStale);
        let states: Vec<String> = named.iter().map(|i| self.change_state(i, now)).collect();
        let shown: Vec<shape::Shown> = named
            .iter()
            .zip(&states)
            .map(|(i, s)| shape::Shown {
                id: &i.id,
                run_state: RUNNING,
                options: if stale { &i.previous } else { &i.options },
                change_state: s,
                dropped: &dropped,
            })
            .collect();
        Answer::Success {
            request_id: request_id(),
            body: shape::readback_body(&self.spec, self.json, &shown),
        }
    }

    fn settles_to(&self) -> String {
        self.spec
            .state_machine
            .as_ref()
            .map(|sm| sm.settles_to.clone())
            .unwrap_or_default()
    }

    /// The change state a read-back shows.
    fn change_state(&self, inst: &Inst, now: SystemTime) -> String {
        let Some(sm) = &self.spec.state_machine else {
            return String::new();
        };
        let pending = sm
            .on_modify
            .iter()
            .find(|r| r.instance_state == RUNNING)
            .and_then(|r| r.answer.first())
            .or_else(|| sm.states.iter().find(|s| **s != sm.settles_to))
            .unwrap_or(&sm.settles_to)
            .clone();
        match inst.changed_at {
            None => sm.settles_to.clone(),
            Some(_) if self.has(&Fault::NeverSettles) => pending,
            Some(t) if now.duration_since(t).unwrap_or_default() >= self.apply_delay => {
                sm.settles_to.clone()
            }
            Some(_) => pending,
        }
    }

    fn row(&self, param: &str) -> Option<&Param> {
        self.rows.iter().find(|p| p.name == param)
    }

    fn option_of(&self, param: &str) -> Option<String> {
        self.row(param).and_then(|p| p.option.clone())
    }

    /// A valid value of `param` under the model's table, as text.
    fn stand_in(&self, param: &str, world: &World) -> Option<String> {
        let p = self.row(param)?;
        Some(match p.role {
            Role::Target => world.instance.id.clone(),
            Role::Region => self.region.clone(),
            _ => match p.kind {
                ParamType::Enum | ParamType::Boolean => p.values.last()?.clone(),
                ParamType::Integer => p.range.map_or(1, |r| r.min).to_string(),
                ParamType::String => "x".into(),
            },
        })
    }
}

/// The names of a table's model instances.
fn instance_ids(spec: &Spec) -> Vec<String> {
    let pattern = spec
        .param_with_role(Role::Target)
        .and_then(|p| p.pattern_regex.clone());
    let ids: Vec<String> = ID_CANDIDATES
        .iter()
        .filter(|c| pattern.as_ref().is_none_or(|re| re.is_match(c)))
        .take(2)
        .map(|c| c.to_string())
        .collect();
    if ids.is_empty() {
        ID_CANDIDATES[..2].iter().map(|c| c.to_string()).collect()
    } else {
        ids
    }
}

fn store(inst: &mut Inst, options: Options, now: SystemTime) {
    inst.previous = std::mem::replace(&mut inst.options, options);
    inst.changed_at = Some(now);
}

/// `text` as a raw value of the same kind as `like` (JSON literal or text).
fn same_kind(like: &RawValue, text: &str) -> RawValue {
    match like {
        RawValue::Json(_) => RawValue::Json(text.to_string()),
        RawValue::Text(_) => RawValue::Text(text.to_string()),
    }
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn error(status: u16, code: &str, message: &str) -> Answer {
    Answer::Error {
        status,
        code: code.to_string(),
        message: message.to_string(),
        request_id: request_id(),
    }
}

/// A web server's error page: what a crashed handler behind a proxy answers.
fn html_500() -> HttpResponse {
    HttpResponse {
        status: 500,
        headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
        body: b"<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>\n".to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Builder, Subject};
    use crate::runner::{observe_in, readback_call};
    use crate::wire::{client, Endpoint, Outcome};

    fn endpoint(spec: &Spec) -> Endpoint {
        Endpoint {
            url: "http://127.0.0.1:1".into(),
            region: spec.api.default_region.clone(),
            api_version: spec.api.api_version.clone(),
            signing_name: spec.api.signing_name.clone(),
            target_prefix: spec.api.target_prefix.clone(),
            format: "JSON".into(),
        }
    }

    fn send(m: &Model, call: &Call, signed: bool) -> Outcome {
        let spec = m.spec();
        let ep = endpoint(spec);
        let mut req = client::encode(spec.api.protocol, &ep, call).expect("encodes");
        let now = SystemTime::now();
        if signed {
            client::sign(
                spec.api.signing,
                &mut req,
                &ep,
                &m.credentials(),
                now,
                &request_id(),
            )
            .expect("signs");
        }
        let resp = m.handle(&req, now);
        client::decode(spec.api.protocol, &resp).expect("decodes")
    }

    #[test]
    fn every_table_s_model_stores_a_change_and_reads_it_back() {
        for spec in crate::spec::builtin().expect("tables") {
            let m = Model::new(&spec, &Assignment::new(), Vec::new(), Duration::ZERO);
            let id = m.instances()[0].clone();
            let subject = Subject::new(m.spec(), &id, m.region(), &m.instances());
            let b = Builder::new(m.spec(), &subject);
            // The first option the region offers, set to a value it does not have.
            let p = m
                .spec()
                .params
                .iter()
                .map(|p| p.get_ref())
                .find(|p| p.role == Role::Option && p.regions.is_empty())
                .expect("an option");
            let start = initial_value(p);
            let v = b
                .valid_values(p)
                .into_iter()
                .find(|v| Some(v) != start.as_ref())
                .expect("another value");
            let call = b.with(&p.name, vec![b.value(p, &v)]);
            let api = &spec.api.id;
            assert!(
                matches!(send(&m, &call, true), Outcome::Success { .. }),
                "{api}: the change succeeds"
            );
            let rb = readback_call(m.spec(), m.region(), &id);
            let Outcome::Success { body, .. } = send(&m, &rb, true) else {
                panic!("{api}: the read-back succeeds");
            };
            let seen = observe_in(m.spec(), &id, &body).expect("the instance is there");
            let option = p.option.as_ref().expect("an option name");
            if m.spec().readback.fields.contains_key(option) {
                assert_eq!(seen.options.get(option), Some(&v), "{api}");
            }
            assert_eq!(seen.run_state.as_deref().unwrap_or(RUNNING), RUNNING);
            // Unsigned: refused, unless the fault says otherwise.
            assert!(
                matches!(send(&m, &call, false), Outcome::Error { .. }),
                "{api}"
            );
            let lax = Model::new(
                &spec,
                &Assignment::new(),
                vec![Fault::AcceptAuth {
                    auth: Auth::Unsigned,
                }],
                Duration::ZERO,
            );
            assert!(
                matches!(send(&lax, &call, false), Outcome::Success { .. }),
                "{api}"
            );
        }
    }

    #[test]
    fn a_stale_read_back_shows_the_options_before_the_last_change() {
        let spec = crate::spec::builtin().expect("tables").remove(0);
        let m = Model::new(
            &spec,
            &Assignment::new(),
            vec![
                Fault::ReadbackStale,
                Fault::ReadbackDrops {
                    option: spec
                        .readback
                        .fields
                        .keys()
                        .next()
                        .cloned()
                        .expect("a field"),
                },
            ],
            Duration::ZERO,
        );
        let mut st = m.lock();
        let inst = &mut st.instances[0];
        let before = inst.options.clone();
        let mut after = before.clone();
        for v in after.values_mut() {
            v.push('!');
        }
        store(inst, after, SystemTime::now());
        drop(st);
        let id = m.instances()[0].clone();
        let Answer::Success { body, .. } =
            m.readback(&readback_call(&spec, m.region(), &id), SystemTime::now())
        else {
            panic!("a read-back");
        };
        let seen = observe_in(&spec, &id, &body).expect("the instance");
        let dropped = spec.readback.fields.keys().next().expect("a field");
        assert!(!seen.options.contains_key(dropped));
        for (k, v) in &seen.options {
            assert_eq!(Some(v), before.get(k), "{k} is the old value");
        }
    }
}
