//! The hop limit for real: the emulator sets the IP TTL of its token answers to the
//! instance's hop limit, so a client two hops away (behind a router) gets no token
//! with hop limit 1 and gets one with hop limit 2 — while a plain `GET` (default
//! TTL) reaches it either way, so it is the TTL that stops the token.
//!
//! Three network namespaces this test creates (client ─ router ─ server, veth
//! pairs made inside them, 10.201.x addresses that exist only there, forwarding
//! on in the router); the emulator runs in the server namespace, curl in the
//! client one. No traffic leaves them. They are deleted at the end, also when an
//! assertion fails. Needs root, `ip` and `curl`; elsewhere it says `skipped: …`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

struct Namespaces {
    names: [String; 3],
}

impl Namespaces {
    fn client(&self) -> &str {
        &self.names[0]
    }
    fn router(&self) -> &str {
        &self.names[1]
    }
    fn server(&self) -> &str {
        &self.names[2]
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn usable() -> Option<&'static str> {
    let root = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&root.stdout).trim() != "0" {
        return Some("not root");
    }
    for tool in ["ip", "curl"] {
        if Command::new(tool).arg("-V").output().is_err() {
            return Some(if tool == "ip" {
                "no `ip` command"
            } else {
                "no curl"
            });
        }
    }
    None
}

/// client (10.201.1.2) ─ router (10.201.1.1 | 10.201.2.1) ─ server (10.201.2.2)
fn build() -> Result<Namespaces, String> {
    let tag = std::process::id() % 100_000;
    let ns = Namespaces {
        names: [
            format!("imdsc{tag}c"),
            format!("imdsc{tag}r"),
            format!("imdsc{tag}s"),
        ],
    };
    for n in &ns.names {
        ip(&["netns", "add", n])?;
    }
    let (c, r, s) = (ns.client(), ns.router(), ns.server());
    ip(&[
        "-n", c, "link", "add", "vc", "type", "veth", "peer", "name", "vrc", "netns", r,
    ])?;
    ip(&[
        "-n", s, "link", "add", "vs", "type", "veth", "peer", "name", "vrs", "netns", r,
    ])?;
    for (n, dev, addr) in [
        (c, "vc", "10.201.1.2/24"),
        (r, "vrc", "10.201.1.1/24"),
        (r, "vrs", "10.201.2.1/24"),
        (s, "vs", "10.201.2.2/24"),
    ] {
        ip(&["-n", n, "addr", "add", addr, "dev", dev])?;
        ip(&["-n", n, "link", "set", dev, "up"])?;
    }
    for n in &ns.names {
        ip(&["-n", n, "link", "set", "lo", "up"])?;
    }
    ip(&["-n", c, "route", "add", "default", "via", "10.201.1.1"])?;
    ip(&["-n", s, "route", "add", "default", "via", "10.201.2.1"])?;
    let fwd = Command::new("ip")
        .args(["netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
        .output()
        .map_err(|e| e.to_string())?;
    if !fwd.status.success() {
        return Err(format!(
            "ip_forward: {}",
            String::from_utf8_lossy(&fwd.stderr)
        ));
    }
    Ok(ns)
}

/// The emulator in the server namespace, the EC2 instance's metadata on
/// 10.201.2.2:8080 with this hop limit. Killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(ns: &Namespaces, hop_limit: u32, dir: &std::path::Path) -> Server {
    let fixtures = dir.join(format!("hop{hop_limit}.toml"));
    let mut f = std::fs::File::create(&fixtures).unwrap();
    writeln!(
        f,
        "[[ec2]]\nid = \"i-0123456789abcdef0\"\nregion = \"us-east-1\"\nhttp_put_response_hop_limit = {hop_limit}"
    )
    .unwrap();
    let mut child = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.server(),
            env!("CARGO_BIN_EXE_imds-conform"),
            "serve",
        ])
        .args(["--listen", "127.0.0.1:0", "--fixtures"])
        .arg(&fixtures)
        .args(["--imds", "i-0123456789abcdef0=10.201.2.2:8080"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let out = child.stdout.take().unwrap();
    let server = Server(child);
    for line in BufReader::new(out).lines() {
        if line.expect("serve prints").starts_with("apply delay") {
            return server;
        }
    }
    panic!("serve ended before listening");
}

/// curl from the client namespace: `(exit code, body)`.
fn curl(ns: &Namespaces, args: &[&str]) -> (i32, String) {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.client(),
            "curl",
            "-s",
            "--max-time",
            "3",
        ])
        .args(args)
        .output()
        .expect("curl runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

const BASE: &str = "http://10.201.2.2:8080";

fn put_token(ns: &Namespaces) -> (i32, String) {
    curl(
        ns,
        &[
            "-X",
            "PUT",
            "-H",
            "X-aws-ec2-metadata-token-ttl-seconds: 60",
            &format!("{BASE}/latest/api/token"),
        ],
    )
}

#[test]
fn the_token_travels_as_far_as_the_hop_limit() {
    if let Some(why) = usable() {
        println!("skipped: {why} (the hop-limit test builds network namespaces)");
        return;
    }
    let ns = match build() {
        Ok(ns) => ns,
        Err(e) => {
            println!("skipped: cannot build network namespaces here: {e}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();

    let server = serve(&ns, 1, dir.path());
    // The client is reachable: a GET (default TTL) arrives from two hops away.
    let (code, id) = curl(&ns, &[&format!("{BASE}/latest/meta-data/instance-id")]);
    assert_eq!((code, id.as_str()), (0, "i-0123456789abcdef0"));
    // Hop limit 1: the token answer dies at the router.
    let (code, token) = put_token(&ns);
    assert_eq!(code, 28, "curl should time out, got {code} with {token:?}");
    drop(server);

    let server = serve(&ns, 2, dir.path());
    let (code, token) = put_token(&ns);
    assert_eq!(code, 0, "hop limit 2 reaches a client two hops away");
    assert!(token.len() >= 20, "{token:?}");
    let (code, id) = curl(
        &ns,
        &[
            "-H",
            &format!("X-aws-ec2-metadata-token: {token}"),
            &format!("{BASE}/latest/meta-data/instance-id"),
        ],
    );
    assert_eq!((code, id.as_str()), (0, "i-0123456789abcdef0"));
    drop(server);
}
