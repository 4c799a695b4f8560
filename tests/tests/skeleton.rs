//! The walking skeleton, end to end and all real: a Python HTTP server in a
//! network namespace, curl as the client, `wiremap-probe` capturing the veth
//! with AF_PACKET, `wiremap-relay` fanning out, and the web app in headless
//! Chromium drawing the edge. A raw WebSocket viewer checks the exact entry
//! counts; the browser's table view checks what the user sees.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use wiremap_e2e::netns::VethHost;
use wiremap_e2e::process::{binary, spawn_relay, workspace_root, Proc};
use wiremap_e2e::viewer::Viewer;
use wiremap_e2e::webdriver::Browser;
use wiremap_wire::Detail;

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

/// (path, status) of the HTTP entries delivered so far, warm-up calls left out.
fn http_calls(viewer: &Viewer) -> Vec<(String, i32)> {
    viewer
        .entries()
        .into_iter()
        .filter_map(|d| match &d.entry.detail {
            Detail::Http(h) if h.path != "/warmup" => Some((h.path.clone(), d.entry.status_code)),
            _ => None,
        })
        .collect()
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
    std::fs::write(
        docroot.path().join("index.html"),
        "<h1>shop</h1>\n".repeat(50),
    )
    .unwrap();
    let _server = Proc::spawn(
        "http.server",
        host.command("python3")
            .args([
                "-m",
                "http.server",
                "8080",
                "--bind",
                SERVER_IP,
                "--directory",
            ])
            .arg(docroot.path()),
    )
    .expect("python http server");

    let topo = tempfile::NamedTempFile::new().expect("topology file");
    std::fs::write(topo.path(), topology()).unwrap();

    let (_relay, relay_url) = spawn_relay(&web_dist, &[]).expect("relay starts");
    let addr = relay_url.trim_start_matches("http://").to_string();

    let viewer = Viewer::connect(&addr).expect("viewer connects to the relay");
    let _probe = Proc::spawn(
        "probe",
        Command::new(binary("wiremap-probe").unwrap())
            .args([
                "--node",
                "node-a",
                "--interface",
                &host.host_if,
                "--topology",
            ])
            .arg(topo.path())
            .args(["--relay", &format!("ws://{addr}/ws/probe")]),
    )
    .expect("probe starts");

    let browser = Browser::start().expect("headless chromium");
    browser.goto(&relay_url).expect("open the app");

    // Warm up until the probe demonstrably captures and ships entries.
    let base = format!("http://{SERVER_IP}:8080");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        curl(&format!("{base}/warmup"));
        let warm = viewer.wait_until(Duration::from_secs(1), "a warm-up entry", |e, _| {
            e.iter()
                .any(|d| matches!(&d.entry.detail, Detail::Http(h) if h.path == "/warmup"))
        });
        if warm.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no entry reached the viewer within 30 s"
        );
    }

    // The counted traffic: 5 × 200 and 3 × 404, each on its own connection.
    for _ in 0..5 {
        curl(&format!("{base}/"));
    }
    for i in 0..3 {
        curl(&format!("{base}/missing-{i}"));
    }
    let _ = viewer.wait_until(Duration::from_secs(20), "8 counted calls", |e, _| {
        e.iter()
            .filter(|d| matches!(&d.entry.detail, Detail::Http(h) if h.path != "/warmup"))
            .count()
            >= 8
    });
    // Anything extra would show up within a few batching intervals.
    viewer.settle(Duration::from_millis(1500), Duration::from_secs(5));
    let mut statuses: BTreeMap<i32, u32> = BTreeMap::new();
    for (_, status) in http_calls(&viewer) {
        *statuses.entry(status).or_default() += 1;
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
    assert!(
        edge["bytes"].as_u64().unwrap_or(0) > 0,
        "edge carries bytes: {edge}"
    );
    let nodes = browser
        .execute("return Array.from(document.querySelectorAll('[data-node]')).map(n => n.dataset.node).sort();")
        .unwrap();
    assert_eq!(nodes, serde_json::json!(["client-0", "web-0"]));
    let shot = workspace_root().join("artifacts").join("skeleton.png");
    browser.screenshot(&shot).expect("screenshot");
    println!("screenshot saved to {}", shot.display());
}
