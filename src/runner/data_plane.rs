//! The data-plane phase: after a modify settles, probe the instance's metadata
//! service and judge each documented effect with the data-plane oracle.
//!
//! Per instance (concurrently): check that its metadata endpoints are its own
//! (`identity`: one naming another instance is an error case, rule
//! `data_plane.identity`, and the instance is not probed further; where the table
//! says its metadata cannot name the instance, a note says so), read its options,
//! then for each state the plan names (`generate::data_plane::states`) bring the
//! instance there with one valid modify, wait until the change is applied (the
//! read-back's state; without one, until the service shows it, bounded), and send
//! every probe a rule decides under the applied options. Each probe becomes a
//! [`CaseResult`] (phase `data-plane`, rule `data_plane.<id>`) with its exchanges
//! — tokens redacted — so failures get reproducers and take part in departures
//! like any case. A state the instance cannot be brought to is an error case (rule
//! `data_plane.state`: its probes are not judged); a state none of whose probes
//! `--only` keeps is not reached. At the
//! end the instance gets its options back (also after a failure or a
//! cancellation).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::{readback, set_options, Event, RunConfig, RunError, Worker};
use crate::generate::data_plane::{self as plan, DataProbe, DataState};
use crate::oracle::data_plane as dpo;
use crate::oracle::Options;
use crate::spec::{DataPlane, Probe};
use crate::verdict::CaseResult;

mod identity;
mod probe;
mod record;
pub use probe::discover_instance_id;
use probe::ProbeClient;
pub use record::Sent;
use record::{exchange, misbound, record, unreached, Answered};

/// Where each instance's metadata service is reached: instance → base URLs (an
/// IPv6 literal host, `http://[…]:port`, is its IPv6 endpoint).
#[derive(Debug, Clone, Default)]
pub struct ImdsEndpoints(pub BTreeMap<String, Vec<String>>);

impl ImdsEndpoints {
    /// Parse `INSTANCE=URL`.
    pub fn add(&mut self, binding: &str) -> Result<(), String> {
        let (instance, url) = binding
            .split_once('=')
            .filter(|(i, u)| {
                !i.is_empty() && (u.starts_with("http://") || u.starts_with("https://"))
            })
            .ok_or_else(|| {
                format!("{binding:?} is not INSTANCE=URL (e.g. i-0123=http://127.0.0.1:8081)")
            })?;
        self.0
            .entry(instance.to_string())
            .or_default()
            .push(url.trim_end_matches('/').to_string());
        Ok(())
    }

    fn v4(&self, instance: &str) -> Option<&String> {
        self.0.get(instance)?.iter().find(|u| !is_v6(u))
    }

    fn v6(&self, instance: &str) -> Option<&String> {
        self.0.get(instance)?.iter().find(|u| is_v6(u))
    }
}

fn is_v6(url: &str) -> bool {
    url.split("://")
        .nth(1)
        .is_some_and(|rest| rest.starts_with('['))
}

/// Run the data-plane phase for every instance of `cfg` that has an endpoint.
pub async fn run(
    cfg: &RunConfig,
    endpoints: &ImdsEndpoints,
    events: &UnboundedSender<Event>,
) -> Result<Vec<CaseResult>, RunError> {
    let api = cfg.spec.api.id.clone();
    let note = |message: String| {
        let _ = events.send(Event::Note {
            api: api.clone(),
            message,
        });
    };
    let Some(dp) = cfg.spec.data_plane.as_ref() else {
        note("data-plane: the table has no [data_plane]; phase skipped".into());
        return Ok(Vec::new());
    };
    let seq = Arc::new(AtomicUsize::new(0));
    let shared = super::Shared::new(&cfg.spec);
    let mut jobs = Vec::new();
    for instance in &cfg.instances {
        let url = match main_endpoint(dp, endpoints, instance) {
            Ok(url) => url,
            Err(why) => {
                note(format!("data-plane: {why}; skipped"));
                continue;
            }
        };
        // Another instance of this API issues the foreign token: preferably one
        // no worker changes meanwhile (the first that issues one is used).
        let mut others: Vec<&String> = endpoints
            .0
            .keys()
            .filter(|i| *i != instance && cfg.known_ids.contains(i))
            .collect();
        others.sort_by_key(|i| cfg.instances.contains(i));
        let foreign = others
            .into_iter()
            .filter_map(|i| endpoints.v4(i).map(|u| (i.clone(), u.clone())))
            .filter(|(_, u)| u != url)
            .collect();
        let urls = Urls {
            main: url.clone(),
            v6: endpoints
                .v6(instance)
                .filter(|u| *u != url && dp.address_v6.is_some())
                .cloned(),
            foreign,
        };
        jobs.push(run_instance(
            cfg,
            dp,
            instance.clone(),
            urls,
            events,
            seq.clone(),
            shared.clone(),
        ));
    }
    let _ = events.send(Event::ApiStarted {
        api: api.clone(),
        planned: 0,
    });
    let results = futures::future::join_all(jobs).await;
    // The data plane's readings (its own ambiguities), beside the control plane's.
    shared.finish(api, results, events)
}

/// The endpoint most probes go to: the IPv4 one. Where the API has an IPv6
/// endpoint, it answers only while that option is enabled, so it cannot stand in
/// (every other probe would find no answer and fail); where the API has none, an
/// IPv6 URL is only the way to reach the service.
fn main_endpoint<'a>(
    dp: &DataPlane,
    endpoints: &'a ImdsEndpoints,
    instance: &str,
) -> Result<&'a String, String> {
    match (endpoints.v4(instance), endpoints.v6(instance)) {
        (Some(url), _) => Ok(url),
        (None, Some(url)) if dp.address_v6.is_none() => Ok(url),
        (None, Some(url)) => Err(format!(
            "only an IPv6 metadata endpoint for {instance} ({url}), which answers only with \
             the IPv6 endpoint enabled: give its IPv4 one too (--imds {instance}=http://ADDR:PORT)"
        )),
        (None, None) => Err(format!(
            "no metadata endpoint for {instance} (run --imds {instance}=URL)"
        )),
    }
}

/// The endpoints one instance's probes use.
#[derive(Debug, Clone)]
struct Urls {
    main: String,
    v6: Option<String>,
    /// Other instances' endpoints (instance, URL), for a foreign token.
    foreign: Vec<(String, String)>,
}

async fn run_instance(
    cfg: &RunConfig,
    dp: &DataPlane,
    instance: String,
    urls: Urls,
    events: &UnboundedSender<Event>,
    seq: Arc<AtomicUsize>,
    shared: super::Shared,
) -> Result<Vec<CaseResult>, RunError> {
    let api = cfg.spec.api.id.clone();
    let note = |message: String| {
        let _ = events.send(Event::Note {
            api: api.clone(),
            message: format!("data-plane {instance}: {message}"),
        });
    };
    let client =
        ProbeClient::new(dp, cfg.settle_poll.max(Duration::from_millis(1))).map_err(|e| {
            RunError::Readback {
                api: api.clone(),
                instance: instance.clone(),
                reason: e,
            }
        })?;
    let own: Vec<&String> = std::iter::once(&urls.main).chain(&urls.v6).collect();
    let pending = identity::Pending::new(dp, &own).unwrap_or_else(|why| {
        note(why);
        identity::Pending::default()
    });
    let mut p = Probing {
        urls,
        client,
        pending,
    };
    let mut results = Vec::new();
    // Before any change: an endpoint that names another instance is not probed,
    // and its instance not touched.
    if let Err(m) = p.pending.ask(&p.client, &instance).await {
        let n = seq.fetch_add(1, Ordering::SeqCst) + 1;
        let r = misbound(cfg, dp, n, &instance, m, false);
        super::finished(cfg, events, &mut results, r, &shared);
        return Ok(results);
    }
    let mut w = Worker::open(cfg, &instance, shared).await?;
    let run = states_loop(cfg, dp, &mut w, &mut p, events, &seq, &mut results).await;
    // Restore also after a failure or a cancellation.
    super::put_back(cfg, &mut w, events, "data-plane: ").await;
    for (url, why) in &p.pending.urls {
        note(format!(
            "could not check that {url} is this instance's metadata service ({why})"
        ));
    }
    run.map(|()| results)
}

/// What one instance's probes go out with.
struct Probing {
    urls: Urls,
    client: ProbeClient,
    /// Its endpoints not yet known to be its own.
    pending: identity::Pending,
}

async fn states_loop(
    cfg: &RunConfig,
    dp: &DataPlane,
    w: &mut Worker,
    pr: &mut Probing,
    events: &UnboundedSender<Event>,
    seq: &AtomicUsize,
    results: &mut Vec<CaseResult>,
) -> Result<(), RunError> {
    let api = cfg.spec.api.id.clone();
    let id = w.world.instance.id.clone();
    let note = |message: String| {
        let _ = events.send(Event::Note {
            api: api.clone(),
            message: format!("data-plane {id}: {message}"),
        });
    };
    let (client, urls) = (&pr.client, &pr.urls);
    let mut expired_done = false;
    for state in plan::states(dp, &cfg.spec, &w.original, &cfg.region) {
        if super::cancelled(cfg) {
            break;
        }
        // A state none of whose probes `--only` keeps is not worth reaching.
        if let Some(only) = &cfg.only {
            let kept = plan::probes(dp, &state.options, !expired_done)
                .iter()
                .filter_map(|p| dpo::expect(dp, &state.options, p.probe))
                .any(|exp| only.is_match(&exp.rule));
            if !kept {
                continue;
            }
        }
        let applied = match reach(cfg, dp, w, &state, client, &urls.main).await? {
            Ok(applied) => applied,
            Err(why) => {
                // Its probes cannot be judged: an error of the run, not silence.
                let n = seq.fetch_add(1, Ordering::SeqCst) + 1;
                let r = unreached(cfg, n, &state, why);
                super::finished(cfg, events, results, r, &w.shared);
                continue;
            }
        };
        // An endpoint that did not say whose it is may say so now.
        if let Err(m) = pr.pending.ask(client, &id).await {
            let n = seq.fetch_add(1, Ordering::SeqCst) + 1;
            let r = misbound(cfg, dp, n, &id, m, true);
            super::finished(cfg, events, results, r, &w.shared);
            break;
        }
        for p in plan::probes(dp, &applied, !expired_done) {
            if super::cancelled(cfg) {
                break;
            }
            expired_done |= p.probe == Probe::GetExpiredToken;
            let Some(exp) = dpo::expect(dp, &applied, p.probe) else {
                continue;
            };
            if cfg
                .only
                .as_ref()
                .is_some_and(|only| !only.is_match(&exp.rule))
            {
                continue;
            }
            match client.send(&p, urls).await {
                Err(skip) => note(format!("{} skipped: {skip}", p.title)),
                Ok(sent) => {
                    let n = seq.fetch_add(1, Ordering::SeqCst) + 1;
                    let r = record(cfg, n, &state, &applied, &p, &exp, sent);
                    super::finished(cfg, events, results, r, &w.shared);
                }
            }
        }
    }
    Ok(())
}

/// Bring the instance to the state and wait until it is applied. `Err` says why
/// the state cannot be reached (the change did not settle, or the read-back shows
/// other values).
async fn reach(
    cfg: &RunConfig,
    dp: &DataPlane,
    w: &mut Worker,
    state: &DataState,
    client: &ProbeClient,
    url: &str,
) -> Result<Result<Options, String>, RunError> {
    let before = w.world.instance.options.clone();
    set_options(cfg, w, &state.options).await?;
    let Some(obs) = readback::settle(cfg, &w.world.instance.id).await? else {
        return Ok(Err(format!(
            "the change did not settle within {:?}",
            cfg.settle_timeout
        )));
    };
    w.saw(obs.options.clone());
    let off: Vec<String> = state
        .options
        .iter()
        .filter(|(k, v)| obs.options.get(*k).is_some_and(|got| got != *v))
        .map(|(k, v)| format!("{k} = {:?}, not {v:?}", obs.options[k]))
        .collect();
    if !off.is_empty() {
        return Ok(Err(format!(
            "after the change the read-back shows {}",
            off.join(", ")
        )));
    }
    if cfg.spec.state_machine.is_none() {
        // No change state to watch: wait until the service shows the change.
        wait_for_effect(cfg, dp, (&before, &obs.options), client, url).await;
    }
    Ok(Ok(obs.options))
}

/// Wait (bounded) until the metadata service answers as under `after`, by a
/// probe whose acceptable answers under `before` (the options it had) and
/// `after` have none in common; a tokenless GET when none has (the change may not
/// show: then nothing tells, and the wait ends at once). A probe both would
/// accept ends the wait while the old options still apply.
async fn wait_for_effect(
    cfg: &RunConfig,
    dp: &DataPlane,
    (before, after): (&Options, &Options),
    client: &ProbeClient,
    url: &str,
) {
    let plan = plan::probes(dp, after, false);
    let p = plan
        .iter()
        .filter(|p| !matches!(p.probe, Probe::GetForeignToken | Probe::Ipv6))
        .find(|p| dpo::tells_apart(dp, before, after, p.probe))
        .cloned()
        .unwrap_or(DataProbe {
            probe: Probe::Get,
            ttl: None,
            title: String::new(),
        });
    let Some(exp) = dpo::expect(dp, after, p.probe) else {
        return;
    };
    let started = Instant::now();
    let urls = Urls {
        main: url.to_string(),
        v6: None,
        foreign: Vec::new(),
    };
    while started.elapsed() < cfg.settle_timeout {
        if let Ok(sent) = client.send(&p, &urls).await {
            if dpo::judge(&exp, &sent.actual).is_ok() {
                return;
            }
        }
        tokio::time::sleep(cfg.settle_poll.max(Duration::from_millis(100))).await;
    }
}
