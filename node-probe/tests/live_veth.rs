//! Live capture, all real: a veth pair into a network namespace made for
//! this test (the e2e crate's `VethHost`), Python's HTTP server inside it,
//! curl outside, and the probe binary capturing the host end with
//! AF_PACKET, once with the PACKET_MMAP ring (the default) and once with
//! the pnet fallback. Needs root (CAP_NET_ADMIN and CAP_NET_RAW); without
//! it the test says so and skips.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremap_e2e::netns::VethHost;

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn curl(url: &str) {
    let s = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "--max-time", "5", url])
        .status()
        .expect("curl runs");
    assert!(s.success(), "curl {url}: {s}");
}

#[test]
fn probe_captures_real_http_on_a_veth_pair() {
    captures_real_http("ring", 203);
}

#[test]
fn the_pnet_fallback_captures_real_http_too() {
    captures_real_http("pnet", 208);
}

/// Three page downloads from `10.<net>.0.2`, captured with `capture`.
fn captures_real_http(capture: &str, net: u8) {
    let pid = std::process::id() % 10_000;
    let ns = match VethHost::create(
        &format!("wmp-{capture}-{pid}"),
        &format!("wmp{}{pid}", &capture[..1]),
        &format!("10.{net}.0.1/24"),
        &format!("10.{net}.0.2/24"),
    ) {
        Ok(ns) => ns,
        Err(e) => {
            println!("SKIPPED: cannot create a network namespace and veth pair: {e}");
            return;
        }
    };
    let server = format!("10.{net}.0.2");
    let client = format!("10.{net}.0.1");
    let docroot = tempfile::tempdir().unwrap();
    std::fs::write(docroot.path().join("index.html"), "hello\n".repeat(2000)).unwrap();
    let _server = Kill(
        ns.command("python3")
            .args([
                "-m",
                "http.server",
                "8080",
                "--bind",
                &server,
                "--directory",
            ])
            .arg(docroot.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 http.server"),
    );
    let topo = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        topo.path(),
        format!("pods:\n  - {{name: web-0, namespace: shop, ip: \"{server}\", node: node-a, labels: {{app: web}}}}\n"),
    )
    .unwrap();
    let mut probe = Kill(
        Command::new(env!("CARGO_BIN_EXE_wiremap-probe"))
            .args([
                "--node",
                "node-a",
                "--output",
                "jsonl",
                "--snapshot-interval",
                "0.2",
                "--interface",
                &ns.host_if,
                "--capture",
                capture,
            ])
            .arg("--topology")
            .arg(topo.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("probe starts"),
    );
    // Wait for the probe to say it captures, and for the server to listen.
    let stderr = probe.0.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let ring_used = loop {
        let line = lines.next().expect("probe exited early").unwrap();
        if line.contains("capturing") {
            break line.contains("PACKET_MMAP ring");
        }
    };
    assert_eq!(ring_used, capture == "ring", "capture method {capture}");
    std::thread::spawn(move || for _ in lines {});
    let deadline = Instant::now() + Duration::from_secs(20);
    while Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "--max-time",
            "1",
            &format!("http://{server}:8080/warmup"),
        ])
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "the HTTP server never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    for _ in 0..3 {
        curl(&format!("http://{server}:8080/index.html"));
    }
    // Let the last packets reach the probe, then stop it: on SIGTERM it
    // ends every flow and writes it out.
    std::thread::sleep(Duration::from_millis(500));
    let pid = probe.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let out = probe.0.wait_with_output_stdout();
    let mut l4 = Vec::new();
    let mut ok_200 = 0;
    for line in out.lines() {
        let v: Value = serde_json::from_str(line).expect("JSON line");
        if v["kind"] == "l4" && v["server"]["port"] == 8080 {
            l4.push(v);
        } else if v["kind"] == "l7" && v["status_code"] == 200 && v["path"] == "/index.html" {
            ok_200 += 1;
        }
    }
    // Warm-up attempts may add flows; the three counted ones carry the page.
    let big: Vec<&Value> = l4
        .iter()
        .filter(|v| v["bytes_to_client"].as_u64().unwrap() > 12_000)
        .collect();
    assert_eq!(big.len(), 3, "three page downloads, got {l4:?}");
    for v in big {
        assert_eq!(v["proto"], "TCP");
        assert_eq!(v["client"]["ip"], client.as_str());
        assert_eq!(v["server"]["name"], "web-0");
        assert_eq!(v["server"]["namespace"], "shop");
        assert!(v["packets_to_server"].as_u64().unwrap() >= 4, "{v}");
    }
    assert_eq!(ok_200, 3, "three HTTP 200 entries for /index.html");
}

trait WaitStdout {
    fn wait_with_output_stdout(&mut self) -> String;
}

impl WaitStdout for Child {
    fn wait_with_output_stdout(&mut self) -> String {
        let mut s = String::new();
        if let Some(mut out) = self.stdout.take() {
            std::io::Read::read_to_string(&mut out, &mut s).expect("probe stdout");
        }
        let _ = self.wait();
        s
    }
}
