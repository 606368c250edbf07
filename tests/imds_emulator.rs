//! The emulator's metadata service, driven as issue 13's "done when" says: the
//! options are changed through the control plane (signed modifies against the
//! emulator's API endpoint), and the metadata service answers from the *applied*
//! options: tokens, TTLs, X-Forwarded-For, version-specific paths, foreign and
//! expired tokens, endpoint off, tags, the IPv6 endpoint — for EC2 and Alibaba ECS
//! with their own headers. Also `serve --imds` from the command line.

use std::net::SocketAddr;
use std::time::Duration;

use imds_conform::emulator::{self, imds as em_imds, EmulatorConfig, RunningEmulator};

mod common;

mod imds_common;

const EC2_ID: &str = "i-0123456789abcdef0";
const EC2_OTHER: &str = "i-0123456789abcdef1";
const EC2_STOPPED: &str = "i-0123456789abcdef2";
const ALI_ID: &str = "i-bp67acfmxaz1234abcd";
const AWS_TTL: &str = "X-aws-ec2-metadata-token-ttl-seconds";
const AWS_TOKEN: &str = "X-aws-ec2-metadata-token";
const ALI_TTL: &str = "X-aliyun-ecs-metadata-token-ttl-seconds";
const ALI_TOKEN: &str = "X-aliyun-ecs-metadata-token";
const DELAY: Duration = Duration::from_millis(300);

async fn start() -> RunningEmulator {
    common::start_emulator(DELAY).await
}

async fn listen(running: &RunningEmulator, id: &str, addrs: &[&str]) -> em_imds::RunningImds {
    let em = running.emulator();
    let addrs: Vec<SocketAddr> = addrs.iter().map(|a| a.parse().unwrap()).collect();
    em_imds::start_imds(em, em.find_instance(id).unwrap(), &addrs)
        .await
        .expect("listener binds")
}

/// A signed modify through the emulator's API endpoint; must succeed.
async fn modify(running: &RunningEmulator, api: &str, id: &str, params: &[(&str, &str)]) {
    imds_common::modify(&running.url(), api, id, params).await;
}

async fn applied() {
    tokio::time::sleep(DELAY + Duration::from_millis(100)).await;
}

/// `(status, ttl header echoed, body)`, or `None` for no answer at all.
type Answer = Option<(u16, Option<String>, String)>;

async fn send(method: &str, url: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let mut req = client.request(method.parse().unwrap(), format!("{url}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.ok()?;
    let status = resp.status().as_u16();
    let echo = [AWS_TTL, ALI_TTL]
        .iter()
        .find_map(|h| resp.headers().get(*h))
        .map(|v| v.to_str().unwrap_or("").to_string());
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let body = resp.text().await.ok()?;
    if status == 200 {
        assert_eq!(ctype.as_deref(), Some("text/plain"), "{path}");
    }
    Some((status, echo, body))
}

async fn status(method: &str, url: &str, path: &str, headers: &[(&str, &str)]) -> Option<u16> {
    send(method, url, path, headers).await.map(|a| a.0)
}

async fn token(url: &str, ttl_header: &str, ttl: &str) -> String {
    let (s, echo, body) = send("PUT", url, "/latest/api/token", &[(ttl_header, ttl)])
        .await
        .expect("an answer");
    assert_eq!(s, 200, "{body}");
    assert_eq!(echo.as_deref(), Some(ttl), "the TTL header is echoed");
    body
}

const ITEM: &str = "/latest/meta-data/instance-id";

#[tokio::test]
async fn ec2_tokens_ttls_and_refusals_follow_the_applied_options() {
    let running = start().await;
    let imds = listen(&running, EC2_ID, &["127.0.0.1:0"]).await;
    let other = listen(&running, EC2_OTHER, &["127.0.0.1:0"]).await;
    let url = &imds.urls()[0];
    let get = |h: Vec<(&'static str, String)>| async move {
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        send("GET", url, ITEM, &h).await
    };
    // IMDSv1 works while tokens are optional.
    assert_eq!(
        get(vec![]).await.map(|a| (a.0, a.2)),
        Some((200, EC2_ID.to_string()))
    );

    modify(&running, "aws-ec2", EC2_ID, &[("HttpTokens", "required")]).await;
    // Pending: the change does not take effect yet.
    assert_eq!(status("GET", url, ITEM, &[]).await, Some(200));
    applied().await;
    assert_eq!(status("GET", url, ITEM, &[]).await, Some(401));

    let t = token(url, AWS_TTL, "60").await;
    assert_eq!(
        get(vec![(AWS_TOKEN, t.clone())]).await.map(|a| a.0),
        Some(200)
    );
    for bad in ["0", "21601", "abc", ""] {
        assert_eq!(
            status("PUT", url, "/latest/api/token", &[(AWS_TTL, bad)]).await,
            Some(400),
            "TTL {bad:?}"
        );
    }
    assert_eq!(
        status("PUT", url, "/latest/api/token", &[]).await,
        Some(400)
    );
    assert_eq!(
        status(
            "PUT",
            url,
            "/latest/api/token",
            &[(AWS_TTL, "60"), ("X-Forwarded-For", "10.0.0.1")]
        )
        .await,
        Some(403)
    );
    assert_eq!(
        status("PUT", url, "/2021-03-23/api/token", &[(AWS_TTL, "60")]).await,
        Some(403)
    );
    // A token of another instance, a made-up one, an expired one: 401.
    let foreign = token(&other.urls()[0], AWS_TTL, "60").await;
    assert_eq!(
        get(vec![(AWS_TOKEN, foreign)]).await.map(|a| a.0),
        Some(401)
    );
    assert_eq!(
        get(vec![(AWS_TOKEN, "not-a-token".into())])
            .await
            .map(|a| a.0),
        Some(401)
    );
    let short = token(url, AWS_TTL, "1").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(vec![(AWS_TOKEN, short)]).await.map(|a| a.0), Some(401));
    assert_eq!(
        status(
            "GET",
            url,
            "/latest/meta-data/no-such-item",
            &[(AWS_TOKEN, &t)]
        )
        .await,
        Some(404)
    );

    modify(&running, "aws-ec2", EC2_ID, &[("HttpEndpoint", "disabled")]).await;
    applied().await;
    assert_eq!(
        status("GET", url, ITEM, &[(AWS_TOKEN, &t)]).await,
        Some(403)
    );
    assert_eq!(
        status("PUT", url, "/latest/api/token", &[(AWS_TTL, "60")]).await,
        Some(403)
    );
    imds.shutdown().await;
    other.shutdown().await;
}

#[tokio::test]
async fn ec2_tags_and_the_ipv6_endpoint_follow_their_options() {
    let running = start().await;
    let v6 = std::net::TcpListener::bind("[::1]:0").is_ok();
    let addrs: &[&str] = if v6 {
        &["127.0.0.1:0", "[::1]:0"]
    } else {
        &["127.0.0.1:0"]
    };
    let imds = listen(&running, EC2_ID, addrs).await;
    let urls = imds.urls();
    let url = &urls[0];
    let tags = "/latest/meta-data/tags/instance";
    assert_eq!(status("GET", url, tags, &[]).await, Some(404));
    modify(
        &running,
        "aws-ec2",
        EC2_ID,
        &[("InstanceMetadataTags", "enabled")],
    )
    .await;
    applied().await;
    let (s, _, keys) = send("GET", url, tags, &[]).await.unwrap();
    assert_eq!((s, keys.as_str()), (200, "Environment\nName"));
    let (s, _, value) = send("GET", url, &format!("{tags}/Name"), &[])
        .await
        .unwrap();
    assert_eq!((s, value.as_str()), (200, EC2_ID));
    assert_eq!(
        status("GET", url, &format!("{tags}/Nope"), &[]).await,
        Some(404)
    );
    if v6 {
        let url6 = &urls[1];
        assert!(url6.starts_with("http://[::1]:"));
        assert_eq!(
            status("GET", url6, ITEM, &[]).await,
            None,
            "no IPv6 endpoint yet"
        );
        modify(
            &running,
            "aws-ec2",
            EC2_ID,
            &[("HttpProtocolIpv6", "enabled")],
        )
        .await;
        applied().await;
        assert_eq!(status("GET", url6, ITEM, &[]).await, Some(200));
    } else {
        println!("skipped: no ::1 on this machine; the IPv6 endpoint was not exercised");
    }
    imds.shutdown().await;
}

#[tokio::test]
async fn aliyun_uses_its_headers_refuses_with_403_and_goes_silent_when_off() {
    let running = start().await;
    let imds = listen(&running, ALI_ID, &["127.0.0.1:0"]).await;
    let url = &imds.urls()[0];
    let (s, _, region) = send("GET", url, "/latest/meta-data/region-id", &[])
        .await
        .unwrap();
    assert_eq!((s, region.as_str()), (200, "cn-hangzhou"));
    modify(
        &running,
        "aliyun-ecs",
        ALI_ID,
        &[("HttpTokens", "required")],
    )
    .await;
    applied().await;
    assert_eq!(status("GET", url, ITEM, &[]).await, Some(403));
    let t = token(url, ALI_TTL, "60").await;
    // The AWS header is not Alibaba's.
    assert_eq!(
        status("GET", url, ITEM, &[(AWS_TOKEN, &t)]).await,
        Some(403)
    );
    let (s, _, id) = send("GET", url, ITEM, &[(ALI_TOKEN, &t)]).await.unwrap();
    assert_eq!((s, id.as_str()), (200, ALI_ID));
    assert_eq!(
        status("PUT", url, "/latest/api/token", &[(ALI_TTL, "21601")]).await,
        Some(400)
    );
    modify(
        &running,
        "aliyun-ecs",
        ALI_ID,
        &[("HttpEndpoint", "disabled")],
    )
    .await;
    applied().await;
    assert_eq!(status("GET", url, ITEM, &[(ALI_TOKEN, &t)]).await, None);
    imds.shutdown().await;
}

#[tokio::test]
async fn a_stopped_instance_answers_nothing_and_lightsail_shows_an_ec2_id() {
    let running = start().await;
    let stopped = listen(&running, EC2_STOPPED, &["127.0.0.1:0"]).await;
    assert_eq!(status("GET", &stopped.urls()[0], ITEM, &[]).await, None);
    let ls = listen(&running, "web-1", &["127.0.0.1:0"]).await;
    let (s, _, id) = send("GET", &ls.urls()[0], ITEM, &[]).await.unwrap();
    assert_eq!(s, 200);
    assert!(id.starts_with("i-") && id.len() == 19, "{id}");
    modify(
        &running,
        "aws-lightsail",
        "web-1",
        &[("httpTokens", "required")],
    )
    .await;
    applied().await;
    assert_eq!(status("GET", &ls.urls()[0], ITEM, &[]).await, Some(401));
}

#[test]
fn bindings_parse_and_name_real_instances() {
    let (name, addr) = em_imds::parse_binding("i-0123456789abcdef0=127.0.0.1:8081").unwrap();
    assert_eq!((name.as_str(), addr.port()), (EC2_ID, 8081));
    let (name, addr) = em_imds::parse_binding("aws-ec2:i-1=[::1]:9").unwrap();
    assert_eq!(name, "aws-ec2:i-1");
    assert!(addr.is_ipv6());
    for bad in ["i-1", "i-1=nowhere", "=127.0.0.1:1"] {
        let e = em_imds::parse_binding(bad).unwrap_err().to_string();
        assert!(e.contains("INSTANCE=HOST:PORT"), "{e}");
    }
    let em = emulator::Emulator::new(EmulatorConfig::default());
    assert_eq!(
        em.find_instance("web-1").unwrap().flavor,
        em_imds::Flavor::Lightsail
    );
    assert_eq!(
        em.find_instance("aliyun-ecs:i-bp67acfmxaz1234abcd")
            .unwrap()
            .id,
        ALI_ID
    );
    assert!(em.find_instance("i-nope").is_err());
}

#[test]
fn serve_prints_the_listeners_and_refuses_bad_bindings() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let bin = env!("CARGO_BIN_EXE_imds-conform");
    let bad = Command::new(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--imds",
            "i-nope=127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("i-nope"));
    let mut child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        let done = line.starts_with("apply delay");
        lines.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = lines.join("\n");
    for id in [
        "aws-ec2:i-0123456789abcdef0",
        "aws-lightsail:web-1",
        "aliyun-ecs:i-bp67acfmxaz1234abcd",
    ] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(id))
            .unwrap_or_else(|| panic!("{id} not listed:\n{text}"));
        assert!(line.contains("http://127.0.0.1:"), "{line}");
    }
}
