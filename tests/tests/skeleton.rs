//! The walking skeleton, end to end and all real: a Python HTTP server in a
//! network namespace, curl as the client, `wiremap-probe` capturing the veth
//! with AF_PACKET, `wiremap-relay` fanning out, and the web app in headless
//! Chromium drawing the edge. A raw WebSocket viewer checks the exact entry
//! counts; the browser's table view checks what the user sees.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wiremap_e2e::netns::VethHost;
use wiremap_e2e::process::{binary, workspace_root, Proc};
use wiremap_e2e::webdriver::Browser;
use wiremap_wire::{decode, Detail, Frame};

const SERVER_IP: &str = "10.201.0.2";
const CLIENT_IP: &str = "10.201.0.1";

fn topology() -> String {
    format!(
        "nodes:\n  - name: node-a\n    ips: [\"{CLIENT_IP}\"]\n\
         pods:\n  - name: client-0\n    namespace: shop\n    ip: \"{CLIENT_IP}\"\n    node: node-a\n    \
         labels: {{app: client}}\n    owner: {{kind: Deployment, name: client}}\n  \
         - name: web-0\n    namespace: shop\n    ip: \"{SERVER_IP}\"\n    node: node-a\n    \
         labels: {{app: web}}\n    owner: {{kind: Deployment, name: web}}\n\
         services:\n  - name: web\n    namespace: shop\n    ip: \"10.96.0.80\"\n    selector: {{app: web}}\n"
    )
}

/// One HTTP entry as the viewer saw it: (path, status).
type Seen = (String, i32);

/// A raw viewer on the relay: forwards every HTTP entry it decodes.
fn viewer(addr: &str) -> mpsc::Receiver<Seen> {
    let (tx, rx) = mpsc::channel();
    let url = format!("ws://{addr}/ws");
    let (mut ws, _) = tungstenite::connect(url.as_str()).expect("viewer connects to the relay");
    std::thread::spawn(move || {
        while let Ok(msg) = ws.read() {
            let tungstenite::Message::Binary(bytes) = msg else {
                continue;
            };
            let Ok(Frame::L7Batch(batch)) = decode(&bytes) else {
                continue;
            };
            for e in batch.entries {
                if let Detail::Http(h) = &e.detail {
                    if tx.send((h.path.clone(), e.status_code)).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

fn curl(url: &str) {
    let status = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "--max-time", "5", url])
        .status()
        .expect("curl runs");
    assert!(status.success(), "curl {url} failed: {status}");
}

#[test]
fn http_calls_become_live_edges_in_the_browser() {
    let web_dist = std::env::var_os("WIREMAP_WEB_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("web").join("dist"));
    let host = VethHost::create(
        "wm-e2e-skel",
        "wmskel0",
        &format!("{CLIENT_IP}/24"),
        &format!("{SERVER_IP}/24"),
    )
    .expect("network namespace");

    let docroot = tempfile::tempdir().expect("tempdir");
    std::fs::write(docroot.path().join("index.html"), "<h1>shop</h1>\n".repeat(50)).unwrap();
    let _server = Proc::spawn(
        "http.server",
        host.command("python3")
            .args(["-m", "http.server", "8080", "--bind", SERVER_IP, "--directory"])
            .arg(docroot.path()),
    )
    .expect("python http server");

    let topo = tempfile::NamedTempFile::new().expect("topology file");
    std::fs::write(topo.path(), topology()).unwrap();

    let (_relay, relay_url) = Proc::spawn_until_line(
        "relay",
        Command::new(binary("wiremap-relay").unwrap())
            .args(["--listen", "127.0.0.1:0", "--insecure-no-auth", "--static-dir"])
            .arg(&web_dist),
        "wiremap-relay listening on ",
        Duration::from_secs(20),
    )
    .expect("relay starts");
    let addr = relay_url.trim_start_matches("http://").to_string();

    let entries = viewer(&addr);
    let _probe = Proc::spawn(
        "probe",
        Command::new(binary("wiremap-probe").unwrap())
            .args(["--node", "node-a", "--interface", &host.host_if, "--topology"])
            .arg(topo.path())
            .args(["--relay", &format!("ws://{addr}/ws/probe")]),
    )
    .expect("probe starts");

    let browser = Browser::start().expect("headless chromium");
    browser.goto(&relay_url).expect("open the app");

    // Warm up until the probe demonstrably captures and ships entries.
    let base = format!("http://{SERVER_IP}:8080");
    let deadline = Instant::now() + Duration::from_secs(30);
    'warm: loop {
        curl(&format!("{base}/warmup"));
        while let Ok((path, _)) = entries.recv_timeout(Duration::from_millis(500)) {
            if path == "/warmup" {
                break 'warm;
            }
        }
        assert!(Instant::now() < deadline, "no entry reached the viewer within 30 s");
    }

    // The counted traffic: 5 × 200 and 3 × 404, each on its own connection.
    for _ in 0..5 {
        curl(&format!("{base}/"));
    }
    for i in 0..3 {
        curl(&format!("{base}/missing-{i}"));
    }
    let mut statuses: BTreeMap<i32, u32> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while statuses.values().sum::<u32>() < 8 && Instant::now() < deadline {
        if let Ok((path, status)) = entries.recv_timeout(Duration::from_millis(200)) {
            if path != "/warmup" {
                *statuses.entry(status).or_default() += 1;
            }
        }
    }
    // Anything extra would show up within a few batching intervals.
    while let Ok((path, status)) = entries.recv_timeout(Duration::from_millis(1500)) {
        if path != "/warmup" {
            *statuses.entry(status).or_default() += 1;
        }
    }
    assert_eq!(
        statuses,
        BTreeMap::from([(200, 5), (404, 3)]),
        "exactly the calls curl made, with their statuses"
    );

    // What the user sees: the edge in the map's table view, with every call.
    let edge = browser
        .wait_for(
            r#"const r = document.querySelector('[data-edge="client-0 -> web-0"][data-protocol="HTTP"]');
               return r && Number(r.dataset.entries) >= 8 ? {entries: Number(r.dataset.entries), bytes: Number(r.dataset.bytes)} : null;"#,
            Duration::from_secs(20),
        )
        .expect("the browser shows the client-0 -> web-0 HTTP edge");
    assert!(edge["bytes"].as_u64().unwrap_or(0) > 0, "edge carries bytes: {edge}");
    let nodes = browser
        .execute("return Array.from(document.querySelectorAll('[data-node]')).map(n => n.dataset.node).sort();")
        .unwrap();
    assert_eq!(nodes, serde_json::json!(["client-0", "web-0"]));
    let shot = workspace_root().join("artifacts").join("skeleton.png");
    browser.screenshot(&shot).expect("screenshot");
    println!("screenshot saved to {}", shot.display());
}
