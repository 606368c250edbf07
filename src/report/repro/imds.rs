//! Reproducers for data-plane cases: the metadata-service requests the probe
//! sent, in order, as plain curl lines (no signing: the metadata service has none).
//! A token the service issued never appears: the token request's answer is kept
//! in `$TOKEN` (`TOKEN=$(curl … PUT …)`), and a redacted token header sends
//! `"$TOKEN"`. Run it where the metadata endpoint is reachable (on the instance,
//! or beside the emulator's listener).

use super::{comment, dq, head, sh, RunMeta};
use crate::verdict::redact::REDACTED;
use crate::verdict::{CaseResult, Exchange};

pub fn curl(case: &CaseResult, meta: &RunMeta) -> String {
    let mut out = head(case);
    out.push_str(&format!(
        "# target {}, instance {}: its metadata service, probed after the options were applied\n",
        comment(&meta.target),
        comment(&meta.instance)
    ));
    for note in &case.notes {
        out.push_str(&format!("# {}\n", comment(note)));
    }
    if case.exchanges.is_empty() {
        out.push_str("# No HTTP exchange was recorded for this case.\nexit 1\n");
        return out;
    }
    let n = case.exchanges.len();
    for (i, ex) in case.exchanges.iter().enumerate() {
        out.push_str(&line(ex, i + 1, n));
    }
    out
}

fn is_token_request(ex: &Exchange) -> bool {
    ex.request.method == "PUT" && ex.response.as_ref().is_some_and(|r| r.status == 200)
}

/// `-H "Name: $TOKEN"`, the name quoted for the shell.
fn token_header(name: &str) -> String {
    let quoted = dq(&format!("{name}: "));
    format!("-H {}$TOKEN\"", &quoted[..quoted.len() - 1])
}

/// One request as curl. A successful token request that is not the judged one
/// fills `$TOKEN`; the judged (last) one shows the whole answer.
fn line(ex: &Exchange, i: usize, n: usize) -> String {
    let capture = is_token_request(ex) && i < n;
    let mut args = vec![if capture {
        "--silent"
    } else {
        "--silent --show-error --include"
    }
    .to_string()];
    args.push("--max-time 5".into());
    args.push(format!("--request {}", sh(&ex.request.method)));
    for (k, v) in &ex.request.headers {
        args.push(if v == REDACTED {
            token_header(k)
        } else {
            format!("-H {}", sh(&format!("{k}: {v}")))
        });
    }
    let url = format!(
        "{}{}",
        ex.endpoint.trim_end_matches('/'),
        ex.request.path_and_query
    );
    args.push(sh(&url));
    let command = format!("curl {}", args.join(" \\\n  "));
    if capture {
        return format!("TOKEN=$({command})\n");
    }
    let status = ex
        .response
        .as_ref()
        .map(|r| format!("answered {}", r.status))
        .unwrap_or_else(|| "no answer".into());
    format!("# request {i} of {n} ({status} when the case ran):\n{command}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case() -> CaseResult {
        let ex = |method: &str, path: &str, headers: serde_json::Value, status: u16, body: &str| {
            serde_json::json!({
                "endpoint": "http://127.0.0.1:8081",
                "request": {"method": method, "path_and_query": path, "headers": headers, "body": ""},
                "response": {"status": status, "headers": [], "body": body},
            })
        };
        serde_json::from_value(serde_json::json!({
            "id": "aws-ec2/data-plane/0007", "api": "aws-ec2", "phase": "data-plane",
            "rule": "data_plane.token.valid", "title": "GET with a token", "operation": "IMDS GET",
            "request": [], "auth": "valid", "expected": [], "ambiguities": [],
            "actual": {"kind": "unjudgeable", "reason": "x"},
            "verdict": {"verdict": "fail", "reason": "answered 401, expected 200"},
            "citation": [], "notes": ["applied: http_tokens=required"], "duration_ms": 1.0,
            "exchanges": [
                ex("PUT", "/latest/api/token", serde_json::json!([["X-aws-ec2-metadata-token-ttl-seconds", "60"]]), 200, REDACTED),
                ex("GET", "/latest/meta-data/instance-id", serde_json::json!([["X-aws-ec2-metadata-token", REDACTED]]), 401, "Unauthorized"),
            ],
        }))
        .expect("a case")
    }

    #[test]
    fn a_token_is_carried_in_a_shell_variable_never_in_the_script() {
        let meta: RunMeta = serde_json::from_value(serde_json::json!({
            "tool_version": "0", "api": "aws-ec2", "target": "emulator", "endpoint": "http://x",
            "region": "us-east-1", "instance": "i-1", "seed": 1,
            "started_at": "", "finished_at": "",
        }))
        .unwrap();
        let script = curl(&case(), &meta);
        assert!(
            script.contains("TOKEN=$(curl --silent \\\n  --max-time 5 \\\n  --request 'PUT'"),
            "{script}"
        );
        assert!(
            script.contains("-H \"X-aws-ec2-metadata-token: $TOKEN\""),
            "{script}"
        );
        assert!(
            script.contains("'http://127.0.0.1:8081/latest/meta-data/instance-id'"),
            "{script}"
        );
        assert!(!script.contains(REDACTED), "{script}");
        // Valid sh.
        let path = std::env::temp_dir().join(format!("imds-repro-{}.sh", std::process::id()));
        std::fs::write(&path, &script).unwrap();
        let ok = std::process::Command::new("sh")
            .arg("-n")
            .arg(&path)
            .status()
            .unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(ok.success(), "{script}");
    }
}
