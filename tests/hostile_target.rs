//! A hostile target's answers, met by the suite's decoders: whatever a target
//! sends within the body limit, decoding it costs memory in proportion to what a
//! real answer holds, and a refusal says why. (The transport's bounds, on time and
//! on the bytes read, are `tests/transport.rs`'s.)

use imds_conform::wire::{client, DecodeError, HttpResponse, Protocol, MAX_BODY_BYTES, MAX_NODES};

fn answer(status: u16, content_type: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), content_type.into())],
        body,
    }
}

/// A body of `n` copies of `item` between `open` and `close`.
fn repeated(open: &str, item: &str, close: &str, n: usize) -> Vec<u8> {
    let mut body = String::with_capacity(open.len() + item.len() * n + close.len());
    body.push_str(open);
    for _ in 0..n {
        body.push_str(item);
    }
    body.push_str(close);
    body.into_bytes()
}

/// Answers of a hundred thousand values and more within the 1 MiB limit, success and
/// error, in each protocol's syntax: each is refused, naming the bound. Decoded,
/// such an answer was a tree some twenty times the body's size, kept with every
/// failing case (a coverage phase against a target that sent it to every modify
/// call grew the suite past 12 GB).
#[test]
fn answers_of_a_hundred_thousand_values_are_refused() {
    let n = 250_000;
    let xml = |root: &str| repeated(&format!("<{root}>"), "<x/>", &format!("</{root}>"), n);
    let xml_list = repeated(
        "<DescribeInstancesResponse><reservationSet>",
        "<item/>",
        "</reservationSet></DescribeInstancesResponse>",
        n / 2,
    );
    let json = repeated("{\"a\":[", "0,", "0]}", n);
    let cases: Vec<(Protocol, u16, &str, Vec<u8>)> = vec![
        (
            Protocol::Ec2Query,
            200,
            "text/xml",
            xml("ModifyInstanceMetadataOptionsResponse"),
        ),
        (Protocol::Ec2Query, 200, "text/xml", xml_list.clone()),
        (Protocol::Ec2Query, 400, "text/xml", xml("Response")),
        (Protocol::AliyunRpc, 200, "text/xml", xml_list),
        (Protocol::AliyunRpc, 200, "application/json", json.clone()),
        (Protocol::AliyunRpc, 400, "application/json", json.clone()),
        (
            Protocol::AwsJson11,
            200,
            "application/x-amz-json-1.1",
            json.clone(),
        ),
        (Protocol::AwsJson11, 400, "application/x-amz-json-1.1", json),
    ];
    for (protocol, status, content_type, body) in cases {
        assert!(body.len() <= MAX_BODY_BYTES, "{} bytes", body.len());
        let got = client::decode(protocol, &answer(status, content_type, body));
        let Err(e) = &got else {
            panic!(
                "{protocol:?} {status}: decoded: {got:?}",
                got = got.map(|_| "an outcome")
            );
        };
        assert!(
            matches!(e, DecodeError::Xml(_) | DecodeError::Shape(_))
                && e.to_string().contains(&format!("more than {MAX_NODES}")),
            "{protocol:?} {status}: {e}"
        );
    }
}

/// The bound leaves room: an answer of a few thousand values, more than any
/// read-back of one instance holds, decodes.
#[test]
fn answers_of_a_few_thousand_values_still_decode() {
    let n = MAX_NODES / 4;
    let xml = repeated(
        "<DescribeInstancesResponse><requestId>r</requestId><reservationSet>",
        "<item><instanceId>i-1</instanceId></item>",
        "</reservationSet></DescribeInstancesResponse>",
        n,
    );
    let json = repeated("{\"RequestId\":\"r\",\"a\":[", "{\"b\":\"c\"},", "0]}", n);
    for (protocol, body) in [
        (Protocol::Ec2Query, xml.clone()),
        (Protocol::AliyunRpc, xml),
        (Protocol::AliyunRpc, json.clone()),
        (Protocol::AwsJson11, json),
    ] {
        let got = client::decode(protocol, &answer(200, "text/plain", body));
        assert!(got.is_ok(), "{protocol:?}: {got:?}");
    }
}

/// An EC2 target that answers every read-back (`DescribeInstances`) and
/// throttles every other call (503 `RequestLimitExceeded`); its URL.
fn throttling_peer() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if matches!(reader.read_line(&mut line), Ok(0) | Err(_)) {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((k, v)) = line.split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                length = v.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let read_back =
                        String::from_utf8_lossy(&body).contains("Action=DescribeInstances");
                    let (status, answer) = if read_back {
                        ("200 OK", "<DescribeInstancesResponse><requestId>r</requestId></DescribeInstancesResponse>")
                    } else {
                        (
                            "503 Service Unavailable",
                            "<Response><Errors><Error><Code>RequestLimitExceeded</Code>\
                        <Message>Request limit exceeded.</Message></Error></Errors>\
                        <RequestID>r</RequestID></Response>",
                        )
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\n\
                         Content-Length: {}\r\n\r\n",
                        answer.len()
                    );
                    if stream
                        .write_all(format!("{head}{answer}").as_bytes())
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    url
}

/// A target that throttles every modify (and answers its read-backs): each call
/// is retried with back-off and then answered as it was, but the third such call
/// in a row fails as unreachable, saying why (a run against it spent some 13 s
/// per case, every case a departure, an hour and more for one run). The count
/// then starts again, so the instances can still be put back.
#[test]
fn a_target_that_throttles_every_call_is_given_up_on_the_third_in_a_row() {
    use imds_conform::spec::builtin_api;
    use imds_conform::target::{
        Signing, Target, TargetConfig, TargetError, THROTTLED_CALLS_IN_A_ROW,
    };
    use imds_conform::wire::{Call, Credentials, Outcome};

    let url = throttling_peer();
    let spec = builtin_api("aws-ec2").expect("tables").expect("table");
    let mut cfg = TargetConfig::for_spec(
        &spec,
        &url,
        "us-east-1",
        Some(Credentials::new("AKIDTHROTTLED", "secret")),
    );
    cfg.retries = 1;
    let target = Target::new(cfg).expect("target");
    let call = Call::new(spec.api.operation.clone()).with("InstanceId", "i-1");
    let read_back = Call::new("DescribeInstances").with("InstanceId.1", "i-1");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for round in 0..2 {
        for n in 1..=THROTTLED_CALLS_IN_A_ROW {
            // A read-back between two throttled calls answers: the row goes on.
            let read = rt.block_on(target.send(&read_back, Signing::Valid));
            assert!(
                matches!(&read, Ok(sent) if sent.response.status == 200),
                "round {round}, read-back {n}"
            );
            let got = rt.block_on(target.send(&call, Signing::Valid));
            if n < THROTTLED_CALLS_IN_A_ROW {
                let sent = got.unwrap_or_else(|e| panic!("round {round}, call {n}: {e}"));
                assert_eq!(sent.attempts, 2, "round {round}, call {n}");
                assert!(
                    matches!(&sent.outcome, Ok(Outcome::Error { code, .. }) if code == "RequestLimitExceeded"),
                    "round {round}, call {n}: {:?}",
                    sent.outcome
                );
            } else {
                let Err(TargetError::Unreachable { reason, .. }) = &got else {
                    panic!("round {round}, call {n}: {:?}", got.map(|s| s.attempts));
                };
                assert!(
                    reason.contains("throttled: 3 calls of ModifyInstanceMetadataOptions in a row"),
                    "round {round}: {reason}"
                );
            }
        }
    }
}
