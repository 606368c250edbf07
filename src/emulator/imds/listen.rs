//! Serving one instance's metadata service over HTTP/1.1 (hyper, as the API
//! server does): each answer comes from [`answer::answer`], and the IP TTL of its
//! packets is set on the connection's socket before the answer is written — the
//! token answer's to the instance's hop limit (IPv4 `IP_TTL`, IPv6 unicast hops),
//! every other answer's back to the socket's default. hyper writes one answer at a
//! time per connection, after the service returns, so the TTL set is the one its
//! packets leave with. `socket2` (already in the tree through tokio) sets the
//! option on a duplicate of the connection's descriptor; std has no IPv6 hop-limit
//! setter for TCP.
//!
//! A [`Reply::Silence`] closes the connection without a byte (the service's error
//! path in hyper), which a client sees as no answer.

use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::answer::{self, Reply};
use super::tokens::TokenStore;
use super::{ImdsError, InstanceRef};
use crate::emulator::Emulator;
use crate::wire::HttpRequest;

/// Largest request body read (metadata requests have none).
const MAX_IMDS_BODY: usize = 64 * 1024;

/// The service behind all listeners of one instance (they share its tokens).
struct Service {
    emulator: Emulator,
    instance: InstanceRef,
    tokens: TokenStore,
}

/// The listeners of one instance. Dropping it stops them.
#[derive(Debug)]
pub struct RunningImds {
    instance: InstanceRef,
    addrs: Vec<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningImds {
    pub fn instance(&self) -> &InstanceRef {
        &self.instance
    }

    /// The bound addresses (real ports when port 0 was asked for).
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// `http://ADDR` of each listener (`http://[::1]:PORT` for IPv6).
    pub fn urls(&self) -> Vec<String> {
        self.addrs.iter().map(|a| format!("http://{a}")).collect()
    }

    /// Stop accepting and close every connection.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for RunningImds {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Bind `addrs` for `instance` and serve its metadata. An IPv6 address is the
/// instance's IPv6 endpoint (it answers only with `http_protocol_ipv6` enabled).
pub async fn start_imds(
    emulator: &Emulator,
    instance: InstanceRef,
    addrs: &[SocketAddr],
) -> Result<RunningImds, ImdsError> {
    let service = Arc::new(Service {
        emulator: emulator.clone(),
        instance: instance.clone(),
        tokens: TokenStore::default(),
    });
    let (stop, stopped) = watch::channel(false);
    let mut bound = Vec::new();
    let mut tasks = Vec::new();
    for addr in addrs {
        let bind_error = |source| ImdsError::Bind {
            instance: instance.to_string(),
            addr: *addr,
            source,
        };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let local = listener.local_addr().map_err(bind_error)?;
        bound.push(local);
        tasks.push(tokio::spawn(accept_loop(
            listener,
            service.clone(),
            local.is_ipv6(),
            stopped.clone(),
        )));
    }
    Ok(RunningImds {
        instance,
        addrs: bound,
        stop,
        tasks,
    })
}

async fn accept_loop(
    listener: TcpListener,
    service: Arc<Service>,
    ipv6: bool,
    mut stopped: watch::Receiver<bool>,
) {
    let header_timeout = service.emulator.config().header_timeout;
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let Some(socket) = duplicate(&stream) else { continue };
                let socket = Arc::new(socket);
                let default_ttl = current_ttl(&socket, ipv6);
                let service = service.clone();
                let handler = hyper::service::service_fn(move |req| {
                    handle(service.clone(), socket.clone(), default_ttl, ipv6, req)
                });
                let mut stop = stopped.clone();
                connections.spawn(async move {
                    let mut builder = hyper::server::conn::http1::Builder::new();
                    builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
                    let conn = builder.serve_connection(TokioIo::new(stream), handler);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stop.changed() => {}
                    }
                });
                while connections.try_join_next().is_some() {}
            }
        }
    }
    connections.abort_all();
}

/// The connection's socket, for setting its TTL (a duplicate descriptor: socket
/// options belong to the socket, so they apply to the connection hyper writes to).
fn duplicate(stream: &tokio::net::TcpStream) -> Option<socket2::Socket> {
    stream
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .map(socket2::Socket::from)
}

fn current_ttl(socket: &socket2::Socket, ipv6: bool) -> u32 {
    let got = if ipv6 {
        socket.unicast_hops_v6()
    } else {
        socket.ttl_v4()
    };
    got.unwrap_or(64)
}

fn set_ttl(socket: &socket2::Socket, ipv6: bool, ttl: u32) {
    // Best effort: a failure leaves the default TTL, which only matters to a client
    // more hops away than the hop limit allows.
    if ipv6 {
        let _ = socket.set_unicast_hops_v6(ttl);
    } else {
        let _ = socket.set_ttl_v4(ttl);
    }
}

/// The error that makes hyper close the connection without answering.
#[derive(Debug)]
struct Silence;

impl std::fmt::Display for Silence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the metadata service does not answer")
    }
}

impl std::error::Error for Silence {}

async fn handle(
    service: Arc<Service>,
    socket: Arc<socket2::Socket>,
    default_ttl: u32,
    ipv6: bool,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Body>, Silence> {
    let (parts, body) = req.into_parts();
    // Read (and drop) any body, bounded; a metadata request has none.
    let _ = tokio::time::timeout(
        service.emulator.config().request_timeout,
        axum::body::to_bytes(Body::new(body), MAX_IMDS_BODY),
    )
    .await;
    let request = HttpRequest::from_parts(&parts, Vec::new());
    let now = SystemTime::now();
    let Some(view) = service.emulator.imds_view(&service.instance, now) else {
        return Err(Silence);
    };
    let tags = service.emulator.instance_tags(&service.instance);
    let reply = answer::answer(&answer::Request {
        req: &request,
        flavor: service.instance.flavor,
        view: &view,
        tags: &tags,
        tokens: &service.tokens,
        ipv6,
        now,
    });
    let Reply::Answer {
        status,
        headers,
        body,
        ip_ttl,
    } = reply
    else {
        return Err(Silence);
    };
    set_ttl(&socket, ipv6, ip_ttl.unwrap_or(default_ttl));
    let mut builder = hyper::Response::builder().status(status);
    for (k, v) in &headers {
        builder = builder.header(k, v);
    }
    builder.body(Body::from(body)).map_err(|_| Silence)
}
