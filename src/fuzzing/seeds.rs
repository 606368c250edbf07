//! Seed corpora: the emulator's answers to the coverage-phase calls and those
//! calls as signed requests, random scenarios for the differential, and, when
//! `../shared` is there, the protocol test vectors and the seed docs' samples.

use super::framing::{request_to_bytes, response_to_bytes};
use super::harness::Run;
use crate::runner::readback_call;
use crate::wire::{aliyun_rpc, aliyun_sign, client, Call, HttpRequest, HttpResponse, Protocol};

/// Seed inputs for `target`: the emulator's own answers to the coverage-phase calls
/// and those calls as signed requests, plus, under `shared` (`../shared`) when
/// given and present, the protocol test vectors of `reference/` and the sample
/// answers of the seed docs in `seeds/`.
pub fn seeds(target: &str, shared: Option<&std::path::Path>) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let apis_for = |t: &str| -> Vec<(&'static str, &'static str)> {
        match t {
            "ec2_response" | "ec2_request" => vec![("aws-ec2", "JSON")],
            "aws_json_response" | "aws_json_request" => vec![("aws-lightsail", "JSON")],
            "aliyun_response_json" => vec![("aliyun-ecs", "JSON")],
            "aliyun_response_xml" => vec![("aliyun-ecs", "XML")],
            "aliyun_request" | "aliyun_verify" => {
                vec![("aliyun-ecs", "JSON"), ("aliyun-ecs", "XML")]
            }
            "sigv4_verify" => vec![("aws-ec2", "JSON"), ("aws-lightsail", "JSON")],
            "emulator_handle" => vec![
                ("aws-ec2", "JSON"),
                ("aws-lightsail", "JSON"),
                ("aliyun-ecs", "JSON"),
                ("aliyun-ecs", "XML"),
            ],
            _ => Vec::new(),
        }
    };
    let responses = target.ends_with("_response") || target.starts_with("aliyun_response");
    for (api, format) in apis_for(target) {
        let Some(mut run) = Run::new(api, 0) else {
            continue;
        };
        run.ep.format = format.into();
        let mut calls: Vec<Call> = crate::generate::coverage(&run.spec, &run.subject)
            .into_iter()
            .map(|c| c.call)
            .collect();
        calls.push(readback_call(
            &run.spec,
            &run.world.region,
            &run.world.instance.id,
        ));
        for call in calls {
            let Ok(mut req) = client::encode(run.spec.api.protocol, &run.ep, &call) else {
                continue;
            };
            run.nonce += 1;
            let nonce = format!("seed-nonce-{}", run.nonce);
            if client::sign(
                run.spec.api.signing,
                &mut req,
                &run.ep,
                &run.creds,
                run.now,
                &nonce,
            )
            .is_err()
            {
                continue;
            }
            if responses {
                let resp = run.emu.handle(&req, run.now);
                out.push(response_to_bytes(&resp));
            } else {
                out.push(request_to_bytes(&req));
            }
        }
        // One POST form request for the Alibaba request decoders.
        if run.spec.api.protocol == Protocol::AliyunRpc && !responses {
            let call = crate::generate::Builder::new(&run.spec, &run.subject)
                .call(crate::generate::Builder::new(&run.spec, &run.subject).base());
            if let Ok(mut req) =
                aliyun_rpc::encode_request(&run.ep, &call, aliyun_rpc::Method::Post)
            {
                let _ = aliyun_sign::sign_v1(&mut req, &run.creds, run.now, "seed-post");
                out.push(request_to_bytes(&req));
            }
            if let Ok(mut req) = client::encode(run.spec.api.protocol, &run.ep, &call) {
                let _ = aliyun_sign::sign_v3(&mut req, &run.creds, run.now, "seed-v3");
                out.push(request_to_bytes(&req));
            }
        }
    }
    if target == "redact_text" {
        out.extend(
            super::redaction::SEEDS
                .iter()
                .map(|s| s.as_bytes().to_vec()),
        );
    }
    if target == "differential" {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for i in 0..24 {
            let n = 64 + (i % 4) * 128;
            out.push((0..n).map(|_| rng.gen()).collect());
        }
    }
    if let Some(dir) = shared {
        out.extend(reference_seeds(target, &dir.join("reference")));
        out.extend(doc_seeds(target, &dir.join("seeds")));
    }
    out.sort();
    out.dedup();
    out
}

/// The sample answers of the seed docs (`../shared/seeds`): XML samples (a run of
/// lines from `<Name` to `</Name>`) and JSON samples (a fenced block holding an
/// object), as 200 answers, for the response targets that read that format.
pub fn doc_seeds(target: &str, dir: &std::path::Path) -> Vec<Vec<u8>> {
    let want_xml = matches!(target, "ec2_response" | "aliyun_response_xml");
    let want_json = matches!(target, "aws_json_response" | "aliyun_response_json");
    if !want_xml && !want_json {
        return Vec::new();
    }
    let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    names.sort();
    let mut bodies: Vec<String> = Vec::new();
    for path in names {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i].trim();
            if want_xml && line.starts_with('<') && !line.starts_with("</") {
                let name: String = line[1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let close = format!("</{name}>");
                if let Some(end) = (i..lines.len()).find(|j| lines[*j].trim() == close) {
                    if !name.is_empty() && end > i {
                        bodies.push(lines[i..=end].join("\n"));
                        i = end + 1;
                        continue;
                    }
                }
            }
            if want_json && line == "{" {
                if let Some(end) = (i..lines.len()).find(|j| lines[*j].trim() == "}") {
                    let block = lines[i..=end].join("\n");
                    if serde_json::from_str::<serde_json::Value>(&block).is_ok() {
                        bodies.push(block);
                    }
                    i = end + 1;
                    continue;
                }
            }
            i += 1;
        }
    }
    bodies
        .into_iter()
        .map(|b| {
            response_to_bytes(&HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: b.into_bytes(),
            })
        })
        .collect()
}

/// Answers and requests from the botocore protocol test vectors.
fn reference_seeds(target: &str, dir: &std::path::Path) -> Vec<Vec<u8>> {
    let file = match target {
        "ec2_response" => "botocore-protocols-output-ec2.json",
        "aws_json_response" => "botocore-protocols-output-json.json",
        "ec2_request" => "botocore-protocols-input-ec2.json",
        "aws_json_request" => "botocore-protocols-input-json.json",
        _ => return Vec::new(),
    };
    let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
        return Vec::new();
    };
    let Ok(serde_json::Value::Array(suites)) = serde_json::from_str::<serde_json::Value>(&text)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let str_map = |v: Option<&serde_json::Value>| -> Vec<(String, String)> {
        v.and_then(|h| h.as_object())
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    for suite in &suites {
        for case in suite
            .get("cases")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(r) = case.get("response") {
                out.push(response_to_bytes(&HttpResponse {
                    status: r
                        .get("status_code")
                        .and_then(serde_json::Value::as_u64)
                        .and_then(|s| u16::try_from(s).ok())
                        .unwrap_or(200),
                    headers: str_map(r.get("headers")),
                    body: member(r, "body", "").into_bytes(),
                }));
            }
            if let Some(s) = case.get("serialized") {
                out.push(request_to_bytes(&HttpRequest {
                    method: member(s, "method", "POST"),
                    path_and_query: member(s, "uri", "/"),
                    headers: str_map(s.get("headers")),
                    body: member(s, "body", "").into_bytes(),
                }));
            }
        }
    }
    out
}

/// The text member `key` of a test vector, or `default`.
fn member(v: &serde_json::Value, key: &str, default: &str) -> String {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or(default)
        .to_string()
}
