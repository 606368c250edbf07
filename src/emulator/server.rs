//! Serving the emulator over HTTP/1.1: hyper's connections, whose one service turns
//! each request into an [`HttpRequest`] and calls [`Emulator::handle`]. (Every
//! request goes to that one service, so there is nothing to route: no router
//! framework sits between hyper and the emulator.)
//!
//! Robustness: the body is read with a size limit ([`MAX_BODY_BYTES`], over it → a
//! 413 in the protocol's error shape; a malformed chunked body → 400) and a time
//! limit (`request_timeout`, a slow client gets a 408); headers must arrive within
//! `header_timeout` (hyper's header-read timeout, which also closes idle keep-alive
//! connections); a write blocked for `write_timeout` closes the connection
//! ([`WriteDeadline`]); at most `max_connections` are served at once.
//! [`RunningEmulator::shutdown`] stops accepting, lets in-flight requests finish
//! (up to 5 s), then returns.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::conn::WriteDeadline;
use super::threads::ConnectionThreads;
use super::{limits, plain, route, Emulator, EmulatorConfig};
use crate::wire::{HttpRequest, HttpResponse, MAX_BODY_BYTES};

type Request = http::Request<Incoming>;
type Response = http::Response<Full<Bytes>>;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the threads that serve connections: {0}")]
    Threads(std::io::Error),
}

/// A running emulator. Dropping it without [`shutdown`](Self::shutdown) stops the
/// accept loop too (the task is aborted).
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    emulator: Emulator,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningEmulator {
    /// The bound address (the real port when `listen` had port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, for `--endpoint-url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The core behind the server (shared store).
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Stop accepting, let in-flight requests finish (at most 5 s), and return.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Bind `config.listen` and serve until [`RunningEmulator::shutdown`].
pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
    let listen = config.listen;
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| EmulatorError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind {
            addr: listen,
            source,
        })?;
    let threads = ConnectionThreads::per_core().map_err(EmulatorError::Threads)?;
    let emulator = Emulator::new(config);
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, emulator.clone(), stopped, threads));
    tracing::info!(%addr, "emulator listening");
    Ok(RunningEmulator {
        addr,
        emulator,
        stop,
        task: Some(task),
    })
}

async fn accept_loop(
    listener: TcpListener,
    emulator: Emulator,
    mut stopped: watch::Receiver<bool>,
    mut threads: ConnectionThreads,
) {
    let config = emulator.config();
    let (header_timeout, write_timeout) = (config.header_timeout, config.write_timeout);
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // Past `max_connections`, stop accepting: clients wait in the backlog.
        let permit = tokio::select! {
            _ = stopped.changed() => break,
            permit = slots.clone().acquire_owned() => permit,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _peer)) = accepted else {
            // Out of file descriptors and the like: back off briefly.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        // Handed to a connection thread, whose runtime watches it from then on.
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        let em = emulator.clone();
        let service = hyper::service::service_fn(move |req: Request| {
            let em = em.clone();
            async move { Ok::<_, std::convert::Infallible>(serve_one(&em, req).await) }
        });
        let mut stop = stopped.clone();
        let serve = async move {
            let _permit = permit;
            let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
                return;
            };
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let io = TokioIo::new(WriteDeadline::new(stream, write_timeout));
            let conn = builder.serve_connection(io, service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        };
        connections.spawn_on(serve, threads.next_handle());
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        connections.abort_all();
    }
}

/// Why a body could not be read.
enum BodyError {
    /// Over [`MAX_BODY_BYTES`] (announced or sent).
    TooLarge,
    /// The framing broke: a malformed chunk, or the connection closed mid-body.
    Malformed,
    /// Over [`limits::MAX_PARAMS`] parameters: the part read before the count
    /// went over (enough to tell the protocol); the rest was dropped unread.
    TooManyParameters(Vec<u8>),
}

/// Read the body, refusing it once it is known to be over the size limit or to
/// carry too many parameters (counted as it arrives, with the `query_params` of
/// the query string): a hostile body is never held whole.
async fn read_body(
    body: &mut Incoming,
    announced: Option<usize>,
    mut params: limits::ParamCounter,
    query_params: usize,
) -> Result<Vec<u8>, BodyError> {
    if announced.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(BodyError::TooLarge);
    }
    let mut buf = Vec::with_capacity(announced.unwrap_or(0).min(INLINE_BODY_BYTES));
    let (mut total, mut refused) = (0usize, false);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Malformed)?;
        // Trailers carry nothing the emulator reads.
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        total += chunk.len();
        if total > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        // Once refused, the rest is read and dropped (so the answer is not lost
        // to a reset of a connection closed with unread bytes), never kept.
        if refused {
            continue;
        }
        buf.extend_from_slice(&chunk);
        params.feed(&chunk);
        refused = query_params + params.count() > limits::MAX_PARAMS;
    }
    if refused {
        return Err(BodyError::TooManyParameters(buf));
    }
    Ok(buf)
}

/// How much of a body refused as too large is still read (and dropped) before the
/// 413 goes out. A connection closed with unread bytes is reset, and the reset can
/// destroy the answer before the client has read it, so a client that sends a
/// little over the limit would see a broken connection instead of the 413. Past
/// this (announced or sent), and past `request_timeout` (counted from the start of
/// the body), it is closed unread; so is the body of a client that waits for
/// `100 Continue` (it has sent nothing).
const DRAIN_BYTES: usize = 4 * MAX_BODY_BYTES;

/// Read and drop the rest of a refused body, up to [`DRAIN_BYTES`] more.
async fn drain(body: &mut Incoming) {
    let mut total = 0usize;
    while let Some(Ok(frame)) = body.frame().await {
        total += frame.data_ref().map_or(0, Bytes::len);
        if total > DRAIN_BYTES {
            break;
        }
    }
}

async fn serve_one(emulator: &Emulator, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let announced = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.trim().parse::<usize>().ok());
    let mut request = HttpRequest {
        method: parts.method.as_str().to_string(),
        path_and_query: parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_else(|| "/".into()),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: Vec::new(),
    };
    let timeout = emulator.config().request_timeout;
    let mut query_params = limits::ParamCounter::form();
    query_params.feed(request.query().as_bytes());
    let body_params = if request.header("X-Amz-Target").is_some() {
        limits::ParamCounter::json()
    } else {
        limits::ParamCounter::form()
    };
    let mut body = body;
    // One deadline for the body, drained or not.
    let deadline = tokio::time::Instant::now() + timeout;
    let read = read_body(&mut body, announced, body_params, query_params.count());
    let answer = match tokio::time::timeout_at(deadline, read).await {
        Err(_) => plain(
            408,
            "Request Timeout: the request body did not arrive in time\n",
        ),
        Ok(Err(BodyError::TooLarge)) => {
            // A client that waits for `100 Continue` has sent nothing yet: reading
            // now would ask it for the body the 413 refuses.
            let waiting = request
                .header("Expect")
                .is_some_and(|e| e.trim().eq_ignore_ascii_case("100-continue"));
            if announced.is_none_or(|n| n <= DRAIN_BYTES) && !waiting {
                let _ = tokio::time::timeout_at(deadline, drain(&mut body)).await;
            }
            emulator.too_large(route::route(&request), &request)
        }
        Ok(Err(BodyError::TooManyParameters(read))) => {
            request.body = read;
            emulator.too_many_params(route::route(&request), &request)
        }
        Ok(Err(BodyError::Malformed)) => plain(
            400,
            "Bad Request: the request body is malformed (chunked encoding) or was cut short\n",
        ),
        Ok(Ok(bytes)) => {
            request.body = bytes;
            answer(emulator, request).await
        }
    };
    into_response(answer)
}

/// Bodies up to this size are answered on the async worker: the whole request costs
/// microseconds, less than a hand-off to the blocking pool. Larger ones (hashing up
/// to 1 MiB) go to the blocking pool so they cannot stall other connections.
const INLINE_BODY_BYTES: usize = 16 * 1024;

/// Run [`Emulator::handle`]; a panic (there should be none) becomes a 500.
async fn answer(emulator: &Emulator, request: HttpRequest) -> HttpResponse {
    let internal_error = || plain(500, "Internal Server Error\n");
    if request.body.len() <= INLINE_BODY_BYTES {
        let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            emulator.handle(&request, SystemTime::now())
        }));
        return handled.unwrap_or_else(|_| internal_error());
    }
    let em = emulator.clone();
    tokio::task::spawn_blocking(move || em.handle(&request, SystemTime::now()))
        .await
        .unwrap_or_else(|_| internal_error())
}

fn into_response(r: HttpResponse) -> Response {
    let mut builder = http::Response::builder().status(r.status);
    for (k, v) in &r.headers {
        builder = builder.header(k, v);
    }
    builder
        .body(Full::new(Bytes::from(r.body)))
        .unwrap_or_else(|_| {
            let mut resp =
                http::Response::new(Full::new(Bytes::from_static(b"Internal Server Error\n")));
            *resp.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            resp
        })
}
