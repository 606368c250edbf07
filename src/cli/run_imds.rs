//! `run`'s data-plane plumbing: the metadata endpoints of the instances under test
//! (`--imds INSTANCE=URL`, or the embedded emulator's listeners, started here), and
//! `--self`: the instance the suite runs on, found through its own metadata service.
use imds_conform::emulator::imds::{self, RunningImds};
use imds_conform::emulator::RunningEmulator;
use imds_conform::runner::data_plane::{discover_instance_id, ImdsEndpoints};
use imds_conform::spec::Spec;

/// `--imds INSTANCE=URL` bindings as endpoints.
pub fn endpoints_from_args(bindings: &[String]) -> Result<ImdsEndpoints, String> {
    let mut endpoints = ImdsEndpoints::default();
    for b in bindings {
        endpoints.add(b)?;
    }
    Ok(endpoints)
}

/// A metadata listener for every emulated instance of these APIs, on free
/// loopback ports (IPv6 too where `::1` exists), and their endpoints.
pub async fn embedded_listeners(
    running: &RunningEmulator,
    apis: &[&str],
) -> Result<(Vec<RunningImds>, ImdsEndpoints), String> {
    let em = running.emulator();
    let v6 = std::net::TcpListener::bind("[::1]:0").is_ok();
    let mut addrs: Vec<std::net::SocketAddr> =
        vec!["127.0.0.1:0".parse().map_err(|e| format!("{e}"))?];
    if v6 {
        addrs.push("[::1]:0".parse().map_err(|e| format!("{e}"))?);
    }
    let mut listeners = Vec::new();
    let mut endpoints = ImdsEndpoints::default();
    for r in em.instance_refs() {
        if !apis.contains(&r.flavor.api_id()) {
            continue;
        }
        let l = imds::start_imds(em, r.clone(), &addrs)
            .await
            .map_err(|e| e.to_string())?;
        for url in l.urls() {
            endpoints.add(&format!("{}={url}", r.id))?;
        }
        listeners.push(l);
    }
    Ok((listeners, endpoints))
}

/// `--self`: the metadata service at the table's own address (or `--imds
/// self=URL`, which tests use), the id it gives, and the endpoints to probe.
pub async fn discover_self(
    spec: &Spec,
    bindings: &[String],
) -> Result<(String, ImdsEndpoints), String> {
    let Some(dp) = spec.data_plane.as_ref() else {
        return Err(format!("{} has no [data_plane] in its table", spec.api.id));
    };
    let url = match bindings {
        [] => format!("http://{}", dp.address_v4),
        [one] => match one.split_once('=') {
            Some(("self", url)) => url.to_string(),
            _ => return Err("with --self, --imds may only be self=URL".into()),
        },
        _ => return Err("with --self, give at most one --imds self=URL".into()),
    };
    let id = discover_instance_id(dp, &url).await?;
    let mut endpoints = ImdsEndpoints::default();
    endpoints.add(&format!("{id}={url}"))?;
    Ok((id, endpoints))
}
