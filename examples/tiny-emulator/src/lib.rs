//! A tiny EC2 emulator, as a third party might write one: one running instance,
//! `ModifyInstanceMetadataOptions` for `HttpPutResponseHopLimit` only, and
//! `DescribeInstances` to read it back. No signatures are checked. `max_hop`
//! is the largest hop limit it accepts (the docs say 64; 65 is a deliberate bug).
use std::sync::{Arc, Mutex};

use axum::extract::{Form, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;

/// The one instance it knows.
pub const INSTANCE: &str = "i-0123456789abcdef0";

/// Serve on a free loopback port; returns the endpoint URL.
pub async fn start(max_hop: i64) -> std::io::Result<String> {
    let hop = Arc::new(Mutex::new(1i64));
    let app = axum::Router::new()
        .route("/", axum::routing::post(handle))
        .with_state((hop, max_hop));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

type Params = Vec<(String, String)>;

async fn handle(
    State((hop, max_hop)): State<(Arc<Mutex<i64>>, i64)>,
    Form(params): Form<Params>,
) -> impl IntoResponse {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut hop = hop.lock().unwrap();
    let (status, body) =
        match (get("Action"), get("InstanceId").or(get("InstanceId.1"))) {
            (_, id) if id != Some(INSTANCE) => error("InvalidInstanceID.NotFound"),
            (Some("DescribeInstances"), _) => (
                StatusCode::OK,
                format!(
                    "<DescribeInstancesResponse><reservationSet><item><instancesSet><item>\
             <instanceId>{INSTANCE}</instanceId><instanceState><name>running</name></instanceState>\
             <metadataOptions>{}</metadataOptions></item></instancesSet></item></reservationSet>\
             </DescribeInstancesResponse>",
                    options("applied", *hop)
                ),
            ),
            (Some("ModifyInstanceMetadataOptions"), _) => {
                match get("HttpPutResponseHopLimit").map(|v| v.parse::<i64>()) {
                    Some(Ok(n)) if (1..=max_hop).contains(&n) => *hop = n,
                    Some(_) => return reply(error("InvalidParameterValue")),
                    None => {} // omitted: the existing value is kept
                }
                (
                    StatusCode::OK,
                    format!(
                "<ModifyInstanceMetadataOptionsResponse><instanceId>{INSTANCE}</instanceId>\
                 <instanceMetadataOptions>{}</instanceMetadataOptions>\
                 </ModifyInstanceMetadataOptionsResponse>", options("pending", *hop)),
                )
            }
            _ => error("InvalidAction"),
        };
    reply((status, body))
}

fn options(state: &str, hop: i64) -> String {
    format!("<state>{state}</state><httpTokens>optional</httpTokens>\
             <httpPutResponseHopLimit>{hop}</httpPutResponseHopLimit><httpEndpoint>enabled</httpEndpoint>\
             <httpProtocolIpv6>disabled</httpProtocolIpv6><instanceMetadataTags>disabled</instanceMetadataTags>")
}

fn error(code: &str) -> (StatusCode, String) {
    (StatusCode::BAD_REQUEST, format!(
        "<Response><Errors><Error><Code>{code}</Code><Message>{code}</Message></Error></Errors></Response>"))
}

fn reply((status, body): (StatusCode, String)) -> impl IntoResponse {
    (status, [(header::CONTENT_TYPE, "text/xml")], body)
}
