//! Secrets a user hands the suite, followed to what it sends and what it records:
//! credentials (a session token included) and an endpoint URL with userinfo
//! (`http://user:password@host`). None of them may show in a request's `Host`
//! header, nor anywhere in a recorded exchange (reports, reproducers, recordings).

use imds_conform::spec;
use imds_conform::target::{Signing, Target, TargetConfig};
use imds_conform::verdict::Exchange;
use imds_conform::wire::{Call, Credentials};

const USER: &str = "zqxuser";
const PASSWORD: &str = "ZQXURLPASSWORD";
const KEY_ID: &str = "AKIDZQXKEYID";
const SECRET: &str = "ZQXSECRETKEY";
const TOKEN: &str = "ZQXSESSIONTOKEN";

/// Every request a run signs, for every built-in API, to an endpoint given with
/// userinfo: its `Host` header is the host and port alone, and its record shows
/// none of the secrets. (The `Host` header was `user:password@host:port`: the
/// password went onto the wire, into the signature's canonical request and into
/// every recorded request's headers.)
#[test]
fn an_endpoint_s_userinfo_and_the_credentials_stay_out_of_requests_and_records() {
    let url = format!("http://{USER}:{PASSWORD}@127.0.0.1:9");
    for spec in spec::builtin().expect("built-in tables") {
        let api = spec.api.id.clone();
        let creds = Credentials::new(KEY_ID, SECRET).with_session_token(TOKEN);
        let cfg = TargetConfig::for_spec(&spec, &url, &spec.api.default_region, Some(creds));
        let target = Target::new(cfg).expect("target");
        let call = Call::new(spec.api.operation.clone()).with("Some", "value");
        for signing in [
            Signing::Valid,
            Signing::Unsigned,
            Signing::CorruptSignature,
            Signing::WrongSecret,
            Signing::UnknownKey,
            Signing::Expired,
        ] {
            let req = target.prepare(&call, signing).expect("prepares");
            assert_eq!(
                req.header("Host"),
                Some("127.0.0.1:9"),
                "{api} {signing:?}: {:?}",
                req.headers
            );
            let sent = format!(
                "{} {:?} {}",
                req.path_and_query,
                req.headers,
                String::from_utf8_lossy(&req.body)
            );
            for secret in [USER, PASSWORD] {
                assert!(
                    !sent.contains(secret),
                    "{api} {signing:?} sends {secret}: {sent}"
                );
            }
            let recorded =
                serde_json::to_string(&Exchange::record(&url, &req, None)).expect("json");
            for secret in [USER, PASSWORD, KEY_ID, SECRET, TOKEN] {
                assert!(
                    !recorded.contains(secret),
                    "{api} {signing:?} records {secret}: {recorded}"
                );
            }
        }
    }
}
