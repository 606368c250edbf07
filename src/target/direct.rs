//! Connections of one's own to an `http://` endpoint on this machine (the emulator,
//! moto, LocalStack, a user's fake): HTTP/1.1 keep-alive connections kept by a
//! target handle, driven through hyper's connection API. The workers of a thread
//! share a handle (`Target::for_worker`) and have one request in flight each, so the
//! handle keeps one idle connection per worker (up to `MAX_IDLE`); reqwest's
//! per-request work (its URL, header map, pool checkout and middleware) was about
//! a tenth of a run's CPU against a local emulator.
//!
//! Everything else (TLS, other hosts, proxies from the environment) goes through
//! reqwest: see [`super::Transport`]. Both paths hand back the same
//! [`HttpResponse`], bounded the same way, and never follow a redirect (this one has
//! no notion of one).

use std::sync::Mutex;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

use super::error_chain as chain;
use crate::wire::{HttpRequest, HttpResponse};

/// An endpoint reached over a connection of the handle's own.
pub(super) struct Direct {
    /// `host:port` to connect to.
    authority: String,
    /// The idle connections. One is taken out for a request and put back once its
    /// answer is read in full, so a request cut short (a timeout drops its future)
    /// never leaves a half-used connection behind.
    idle: Mutex<Vec<Open>>,
}

/// Idle connections a handle keeps: as many as a thread's workers at the largest
/// concurrency a run allows (each worker has one request in flight). A handle with
/// more workers closes the connections past this many as their answers are read
/// (more connects, nothing worse).
const MAX_IDLE: usize = super::MAX_CONCURRENCY as usize;

/// An open connection: hyper's handle, and the socket itself (a second descriptor
/// of it) to look at before the connection is used again.
struct Open {
    sender: SendRequest<Full<Bytes>>,
    socket: std::net::TcpStream,
}

impl Open {
    /// Can a request go on it? Not when hyper saw it close, nor when the peer has
    /// closed it (or sent something unasked) since the last answer, which hyper
    /// learns only once its task runs again: by then the request would be written
    /// to a closing connection and fail. One non-blocking peek tells.
    fn usable(&self) -> bool {
        if !self.sender.is_ready() || self.sender.is_closed() {
            return false;
        }
        let mut byte = [0u8; 1];
        matches!(self.socket.peek(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }
}

/// Why a request got no answer, with its causes.
pub(super) type Reason = String;

impl Direct {
    /// A direct connection for `url`, when it is `http://` on this machine and no
    /// proxy variable is set (a user who points `HTTP_PROXY` at a recording proxy
    /// gets the proxy, through reqwest).
    pub(super) fn for_url(url: &str) -> Option<Direct> {
        if proxy_in_environment() {
            return None;
        }
        Direct::plain(url)
    }

    /// A direct connection for `url` when it is `http://` on this machine and is
    /// nothing but a host and port: a base path (which reqwest joins to every
    /// request's) or credentials in the URL (which reqwest sends as Basic auth)
    /// take reqwest.
    fn plain(url: &str) -> Option<Direct> {
        let uri: http::Uri = url.parse().ok()?;
        let authority = uri.authority()?;
        let bare = uri.scheme_str() == Some("http")
            && !authority.as_str().contains('@')
            && matches!(uri.path(), "" | "/")
            && uri.query().is_none();
        if !bare || !super::is_loopback(url) {
            return None;
        }
        // The port as written (http::Uri drops one that is not a number): none or
        // empty is the scheme's 80; one that is not a u16 (`:65536`) is reqwest's to
        // refuse.
        let text = authority.as_str();
        let port = match text.rsplit_once(':').filter(|_| !text.ends_with(']')) {
            None | Some((_, "")) => 80,
            Some((_, p)) => p.parse::<u16>().ok()?,
        };
        Some(Direct {
            authority: format!("{}:{port}", authority.host()),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// A handle of its own to the same endpoint (no connection yet).
    pub(super) fn fresh(&self) -> Direct {
        Direct {
            authority: self.authority.clone(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Send `req` and read its answer, at most one byte past [`MAX_BODY_BYTES`].
    /// A request that a reused connection could not take (the peer closed it while
    /// idle) goes once more on a new one; a request that was written is never sent
    /// twice.
    pub(super) async fn send(&self, req: &HttpRequest) -> Result<HttpResponse, Reason> {
        let request = build(req)?;
        let (mut open, reused) = match self.take_idle() {
            Some(open) => (open, true),
            None => (self.connect().await?, false),
        };
        let response = match open.sender.try_send_request(request).await {
            Ok(response) => response,
            Err(mut e) => match (reused, e.take_message()) {
                (true, Some(request)) => {
                    open = self.connect().await?;
                    open.sender
                        .send_request(request)
                        .await
                        .map_err(|e| chain(&e))?
                }
                _ => return Err(chain(e.error())),
            },
        };
        let status = response.status().as_u16();
        let headers = crate::wire::header_pairs(response.headers());
        let mut body_stream = response.into_body();
        let mut body = Vec::new();
        let mut whole = true;
        while let Some(frame) = body_stream.frame().await {
            let frame = frame.map_err(|e| chain(&e))?;
            if let Some(chunk) = frame.data_ref() {
                if !super::take_bounded(&mut body, chunk) {
                    // The rest of the answer is unread: the connection goes (hyper
                    // would not reuse it either; this does not wait to see it).
                    whole = false;
                    break;
                }
            }
        }
        if whole && !open.sender.is_closed() {
            let mut idle = self
                .idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if idle.len() < MAX_IDLE {
                idle.push(open);
            }
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    /// The most recently used idle connection that can still take a request; those
    /// closed while idle (the peer's keep-alive ran out) are dropped on the way.
    fn take_idle(&self) -> Option<Open> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some(open) = idle.pop() {
            if open.usable() {
                return Some(open);
            }
        }
        None
    }

    /// A new connection; its driver runs as a task on the current runtime, which is
    /// the worker's own thread's.
    async fn connect(&self) -> Result<Open, Reason> {
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| format!("connect {}: {e}", self.authority))?;
        // Requests are small and written whole; Nagle would only add a delay.
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        // The second descriptor shares the socket's non-blocking mode: a peek at
        // it never waits.
        let std_stream = stream.into_std().map_err(|e| e.to_string())?;
        let socket = std_stream.try_clone().map_err(|e| e.to_string())?;
        let stream = tokio::net::TcpStream::from_std(std_stream).map_err(|e| e.to_string())?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| chain(&e))?;
        tokio::spawn(async move {
            // Its errors reach the request that was in flight.
            let _ = connection.await;
        });
        Ok(Open { sender, socket })
    }
}

/// The request as hyper takes it: origin-form target, the headers as sent (they
/// carry `Host`), the length from the body, and reqwest's `Accept: */*` when the
/// request has none, so both transports send the same headers.
fn build(req: &HttpRequest) -> Result<http::Request<Full<Bytes>>, Reason> {
    let mut builder = http::Request::builder()
        .method(req.method.as_str())
        .uri(req.path_and_query.as_str());
    for (k, v) in &req.headers {
        if !k.eq_ignore_ascii_case("content-length") {
            builder = builder.header(k.as_str(), v.as_str());
        }
    }
    if req.header("accept").is_none() {
        builder = builder.header("accept", "*/*");
    }
    builder
        .body(Full::new(Bytes::from(req.body.clone())))
        .map_err(|e| format!("cannot form the request: {e}"))
}

/// Is a proxy configured in the environment, as reqwest would use it?
fn proxy_in_environment() -> bool {
    ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::Direct;

    #[test]
    fn only_plain_http_on_this_machine_goes_direct() {
        let authority = |url: &str| Direct::plain(url).map(|d| d.authority);
        assert_eq!(
            authority("http://127.0.0.1:5000").as_deref(),
            Some("127.0.0.1:5000")
        );
        assert_eq!(
            authority("http://localhost").as_deref(),
            Some("localhost:80")
        );
        assert_eq!(authority("http://localhost/x"), None);
        assert_eq!(
            authority("http://[::1]:8080").as_deref(),
            Some("[::1]:8080")
        );
        assert_eq!(authority("http://[::1]").as_deref(), Some("[::1]:80"));
        assert_eq!(authority("https://127.0.0.1:5000"), None);
        assert_eq!(authority("http://10.0.0.1:5000"), None);
        assert_eq!(authority("http://cloud.example.com"), None);
        // What reqwest does more with a URL: joining a base path, Basic auth.
        assert_eq!(authority("http://127.0.0.1:5000/ec2"), None);
        assert_eq!(authority("http://127.0.0.1:5000/?x=1"), None);
        assert_eq!(authority("http://user:pw@127.0.0.1:5000"), None);
        assert_eq!(authority("http://127.0.0.1:65536"), None);
        // An empty port is the scheme's, as the url crate (reqwest) reads it.
        assert_eq!(
            authority("http://127.0.0.1:").as_deref(),
            Some("127.0.0.1:80")
        );
        assert_eq!(
            authority("http://127.0.0.1:5000/").as_deref(),
            Some("127.0.0.1:5000")
        );
    }
}
