//! Print one signed request for a benchmark tool to replay (`benches/compare.sh`).
//!
//! ```sh
//! cargo run --release --example presign -- --api aws-ec2 --url http://127.0.0.1:8080 \
//!     [--instance i-0123456789abcdef0] [--format lua|curl] [--with-readback]
//! ```
//!
//! The call is a valid modify of the API's first default fixture (EC2
//! `ModifyInstanceMetadataOptions`, Lightsail `UpdateInstanceMetadataOptions`) with
//! `HttpTokens`/`httpTokens` `optional`, signed with SigV4 and the emulator's default
//! credentials (or `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` when set). A SigV4
//! signature stays valid for the 5-minute skew and AWS accepts a replay within it, so
//! `wrk` can send the same bytes over and over. `--format lua` (default) prints a wrk
//! script; `--format curl` a curl command line. `--with-readback` (lua only) makes
//! the script alternate the modify with the API's read-back of the same instance
//! (EC2 `DescribeInstances`, Lightsail `GetInstance`), also signed: the two requests
//! a case of `imds-conform run` sends, for a like-for-like rate.
use std::time::SystemTime;

use imds_conform::emulator::default_fixtures;
use imds_conform::runner::readback_call;
use imds_conform::spec::{builtin_api, Role};
use imds_conform::target::TargetConfig;
use imds_conform::wire::{client, Call, Credentials, HttpRequest};

fn main() {
    if let Err(e) = run() {
        eprintln!("presign: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut api = "aws-ec2".to_string();
    let mut url = "http://127.0.0.1:8080".to_string();
    let mut instance = None;
    let mut format = "lua".to_string();
    let mut with_readback = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--api" => api = value()?,
            "--url" => url = value()?,
            "--instance" => instance = Some(value()?),
            "--format" => format = value()?,
            "--with-readback" => with_readback = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let spec = builtin_api(&api)
        .map_err(|e| e.to_string())?
        .ok_or(format!("unknown API {api:?}"))?;
    let fixtures = default_fixtures();
    let (instances, keys) = fixtures
        .for_api(&api)
        .ok_or(format!("the emulator does not serve {api}"))?;
    let region = spec.api.default_region.clone();
    let instance = match instance {
        Some(i) => i,
        None => instances
            .iter()
            .find(|i| i.is_running() && i.region == region)
            .map(|i| i.id.clone())
            .ok_or("no running fixture instance")?,
    };
    let creds = match (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Ok(id), Ok(secret)) => Credentials::new(id, secret),
        _ => {
            let k = keys.first().ok_or("no emulator credentials")?;
            Credentials::new(k.access_key_id.clone(), k.secret.clone())
        }
    };
    let target = spec
        .param_with_role(Role::Target)
        .ok_or("the table has no target parameter")?;
    let tokens = spec
        .params
        .iter()
        .map(|p| p.get_ref())
        .find(|p| p.option.as_deref() == Some("http_tokens"))
        .ok_or("the table has no http_tokens option")?;
    let call = Call::new(spec.api.operation.clone())
        .with(target.name.clone(), instance.clone())
        .with(tokens.name.clone(), "optional");
    let cfg = TargetConfig::for_spec(&spec, &url, &region, Some(creds.clone()));
    let signed = |call: &Call| -> Result<HttpRequest, String> {
        let mut req =
            client::encode(cfg.protocol, &cfg.endpoint, call).map_err(|e| e.to_string())?;
        client::sign(
            cfg.signing,
            &mut req,
            &cfg.endpoint,
            &creds,
            SystemTime::now(),
            &uuid::Uuid::new_v4().to_string(),
        )
        .map_err(|e| e.to_string())?;
        Ok(req)
    };
    let req = signed(&call)?;
    match (format.as_str(), with_readback) {
        ("lua", false) => print!("{}", wrk_script(&req)),
        ("lua", true) => {
            let readback = signed(&readback_call(&spec, &region, &instance))?;
            print!("{}", wrk_alternating(&req, &readback));
        }
        ("curl", false) => println!("{}", curl(&url, &req)),
        ("curl", true) => return Err("--with-readback is for --format lua".into()),
        (other, _) => return Err(format!("unknown --format {other:?} (lua, curl)")),
    }
    Ok(())
}

/// A Lua string literal.
fn lua(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\{}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn wrk_script(req: &HttpRequest) -> String {
    let mut out = String::from(
        "-- generated by `cargo run --example presign`: one signed request, replayed\n",
    );
    out.push_str(&format!("wrk.method = {}\n", lua(&req.method)));
    out.push_str(&format!("wrk.path = {}\n", lua(&req.path_and_query)));
    out.push_str(&format!(
        "wrk.body = {}\n",
        lua(&String::from_utf8_lossy(&req.body))
    ));
    for (k, v) in &req.headers {
        out.push_str(&format!("wrk.headers[{}] = {}\n", lua(k), lua(v)));
    }
    out
}

/// A wrk script sending `first` and `second` in turn (each wrk thread keeps its
/// own turn over its connections; half the requests each). Both are formatted once,
/// in `init`, so that wrk does no more work per request than with one request.
fn wrk_alternating(first: &HttpRequest, second: &HttpRequest) -> String {
    let format = |req: &HttpRequest| {
        let headers = req
            .headers
            .iter()
            .map(|(k, v)| format!("[{}] = {}", lua(k), lua(v)))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "wrk.format({}, {}, {{{headers}}}, {})",
            lua(&req.method),
            lua(&req.path_and_query),
            lua(&String::from_utf8_lossy(&req.body))
        )
    };
    format!(
        "-- generated by `cargo run --example presign -- --with-readback`: a modify and its\n\
         -- read-back, signed, sent in turn (half of the requests each)\n\
         local requests, turn = {{}}, 0\n\
         function init(args)\n\
         \x20 requests[1] = {}\n\
         \x20 requests[2] = {}\n\
         end\n\
         function request()\n\
         \x20 turn = turn % 2 + 1\n\
         \x20 return requests[turn]\n\
         end\n",
        format(first),
        format(second)
    )
}

fn shell(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn curl(url: &str, req: &HttpRequest) -> String {
    let mut out = format!(
        "curl -sS -X {} {}",
        req.method,
        shell(&format!("{url}{}", req.path_and_query))
    );
    for (k, v) in &req.headers {
        if !k.eq_ignore_ascii_case("host") {
            out.push_str(&format!(" -H {}", shell(&format!("{k}: {v}"))));
        }
    }
    out.push_str(&format!(
        " --data-binary {}",
        shell(&String::from_utf8_lossy(&req.body))
    ));
    out
}
