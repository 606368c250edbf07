//! Serving a model target over HTTP on 127.0.0.1 (a free port), so the runner
//! reaches it the way it reaches any endpoint.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use tokio::task::JoinHandle;

use super::model::Model;
use crate::wire::{HttpRequest, MAX_BODY_BYTES};

/// A model being served; dropping it stops the server.
pub struct Served {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The model it serves.
    pub model: Arc<Model>,
    task: JoinHandle<()>,
}

impl Served {
    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serve `model` on a free loopback port.
pub async fn serve(model: Arc<Model>) -> std::io::Result<Served> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new()
        .fallback(answer)
        .with_state(model.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Served { addr, model, task })
}

async fn answer(State(model): State<Arc<Model>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .unwrap_or_default();
    let request = HttpRequest::from_parts(&parts, body.to_vec());
    let answered = tokio::task::spawn_blocking(move || model.handle(&request, SystemTime::now()))
        .await
        .unwrap_or_else(|_| crate::wire::HttpResponse {
            status: 500,
            headers: Vec::new(),
            body: Vec::new(),
        });
    let mut out = Response::builder().status(answered.status);
    for (k, v) in &answered.headers {
        out = out.header(k, v);
    }
    out.body(Body::from(answered.body)).unwrap_or_else(|_| {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}
