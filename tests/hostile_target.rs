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
