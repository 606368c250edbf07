//! The Rust SDK's own IMDS client (`aws-config`: `imds::Client` and the
//! `ImdsCredentialsProvider`) against the emulator's metadata service: it fetches
//! the instance id and the role credentials (IMDSv2: it always takes a token, and
//! it requires the token answer to echo the TTL header). With the endpoint turned
//! off through the control plane, the same client fails.
//!
//! Loopback only; the SDK's HTTP client is an HTTP-only smithy client (no TLS).

use std::time::Duration;

use aws_config::imds;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::ProvideCredentials;
use imds_conform::emulator::imds as em_imds;

mod common;

mod imds_common;

const ID: &str = "i-0123456789abcdef0";

fn sdk_client(url: &str) -> imds::Client {
    let http = aws_smithy_http_client::Builder::new().build_http();
    let config = ProviderConfig::without_region().with_http_client(http);
    imds::Client::builder()
        .configure(&config)
        .endpoint(url)
        .expect("a valid endpoint")
        .build()
}

async fn modify(url: &str, params: &[(&str, &str)]) {
    imds_common::modify(url, "aws-ec2", ID, params).await;
}

#[tokio::test]
async fn the_sdk_imds_client_fetches_the_instance_id_and_credentials() {
    let running = common::start_emulator(Duration::from_millis(100)).await;
    let em = running.emulator();
    let instance = em.find_instance(ID).unwrap();
    let listener = em_imds::start_imds(em, instance, &["127.0.0.1:0".parse().unwrap()])
        .await
        .unwrap();
    let url = listener.urls()[0].clone();
    // Tokens required: the SDK uses IMDSv2 anyway.
    modify(&running.url(), &[("HttpTokens", "required")]).await;
    tokio::time::sleep(Duration::from_millis(250)).await;

    let client = sdk_client(&url);
    let id = client
        .get("/latest/meta-data/instance-id")
        .await
        .expect("instance id");
    assert_eq!(id.as_ref(), ID);
    let region = client
        .get("/latest/meta-data/placement/region")
        .await
        .unwrap();
    assert_eq!(region.as_ref(), "us-east-1");

    let provider = ImdsCredentialsProvider::builder()
        .imds_client(sdk_client(&url))
        .build();
    let creds = provider.provide_credentials().await.expect("credentials");
    assert_eq!(creds.access_key_id(), "ASIAIMDSCONFORMV2FAKE");
    assert!(creds.session_token().is_some());
    assert!(creds.expiry().is_some());

    // Turned off (and applied): the SDK client gets nothing.
    modify(&running.url(), &[("HttpEndpoint", "disabled")]).await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    let refused = sdk_client(&url).get("/latest/meta-data/instance-id").await;
    assert!(refused.is_err(), "{refused:?}");
    listener.shutdown().await;
    running.shutdown().await;
}
