//! `imds-conform serve`: run the reference emulator until Ctrl-C, printing where it
//! listens, the credentials it accepts, its instances and where each instance's
//! metadata service listens. The secrets printed are
//! the emulator's own fakes (or the fixtures file's): showing them is the point.
use clap::Args;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use imds_conform::emulator::imds::{self, RunningImds};
use imds_conform::emulator::{self, EmulatorConfig, Fixtures, InstanceFixture};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// TOML file replacing the default instances and credentials (docs/emulator.md).
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// Milliseconds a change on a running instance stays `pending`.
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 2000,
        allow_negative_numbers = true
    )]
    pub apply_delay: u64,
    /// Serve INSTANCE's metadata service (IMDS) on HOST:PORT; an IPv6 address is its
    /// IPv6 endpoint. INSTANCE is an id (or API:ID). Repeatable. Default: every
    /// instance on free loopback ports (IPv4 and IPv6).
    #[arg(long = "imds", value_name = "INSTANCE=HOST:PORT")]
    pub imds: Vec<String>,
}

fn print_instances(api: &str, list: &[InstanceFixture]) {
    outln!("  {api}:");
    for i in list {
        outln!(
            "    {:<24} {:<14} {:<8} tokens={} endpoint={} hop-limit={}",
            i.id,
            i.region,
            i.state,
            i.http_tokens,
            i.http_endpoint,
            i.http_put_response_hop_limit
        );
    }
}

/// The metadata listeners: those `--imds` names (grouped by instance), or every
/// instance on free loopback ports (IPv6 too where `::1` exists).
async fn start_imds(
    emulator: &emulator::Emulator,
    bindings: &[String],
) -> Result<Vec<RunningImds>, imds::ImdsError> {
    let mut wanted: BTreeMap<imds::InstanceRef, Vec<SocketAddr>> = BTreeMap::new();
    if bindings.is_empty() {
        let v6 = std::net::TcpListener::bind("[::1]:0").is_ok();
        for r in emulator.instance_refs() {
            let mut addrs = vec![SocketAddr::from(([127, 0, 0, 1], 0))];
            if v6 {
                addrs.push(SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 0)));
            }
            wanted.insert(r, addrs);
        }
    }
    for b in bindings {
        let (name, addr) = imds::parse_binding(b)?;
        wanted
            .entry(emulator.find_instance(&name)?)
            .or_default()
            .push(addr);
    }
    let mut out = Vec::new();
    for (instance, addrs) in wanted {
        out.push(imds::start_imds(emulator, instance, &addrs).await?);
    }
    Ok(out)
}

pub fn execute(args: ServeArgs) -> u8 {
    let fixtures = match &args.fixtures {
        Some(path) => match Fixtures::load(path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {e}");
                return super::exit::USAGE;
            }
        },
        None => emulator::default_fixtures(),
    };
    let config = EmulatorConfig {
        listen: args.listen,
        fixtures: fixtures.clone(),
        apply_delay: Duration::from_millis(args.apply_delay),
        ..EmulatorConfig::default()
    };
    let runtime = match super::setup::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let stop = match interrupt() {
            Ok(stop) => stop,
            Err(e) => {
                eprintln!("error: cannot listen for Ctrl-C: {e}");
                return super::exit::USAGE;
            }
        };
        let running = match emulator::start(config).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return super::exit::USAGE;
            }
        };
        outln!("imds-conform emulator listening on {}", running.url());
        outln!("  EC2 Query, Lightsail JSON 1.1 and Alibaba ECS RPC on this one endpoint");
        outln!("credentials accepted (local fakes):");
        for k in &fixtures.credentials.aws {
            outln!(
                "  AWS     access key id {}  secret {}",
                k.access_key_id,
                k.secret
            );
        }
        for k in &fixtures.credentials.aliyun {
            outln!(
                "  Alibaba access key id {}  secret {}",
                k.access_key_id,
                k.secret
            );
        }
        outln!("instances:");
        print_instances("ec2", &fixtures.ec2);
        print_instances("lightsail", &fixtures.lightsail);
        print_instances("aliyun", &fixtures.aliyun);
        let listeners = match start_imds(running.emulator(), &args.imds).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: --imds: {e}");
                return super::exit::USAGE;
            }
        };
        outln!("instance metadata services (IMDS):");
        for l in &listeners {
            outln!("  {:<36} {}", l.instance().to_string(), l.urls().join("  "));
        }
        outln!("apply delay {} ms; press Ctrl-C to stop", args.apply_delay);
        stop.await;
        outln!("shutting down");
        for l in listeners {
            l.shutdown().await;
        }
        running.shutdown().await;
        super::exit::OK
    })
}

/// Ctrl-C (SIGINT), listened for from the moment this is called: registered before
/// the banner, so a signal sent as soon as the banner is read stops the emulator
/// cleanly instead of killing it.
fn interrupt() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut sigint = signal(SignalKind::interrupt())?;
        Ok(async move {
            sigint.recv().await;
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
