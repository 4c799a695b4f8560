//! The web app end to end on a real capture: two `wiremap-probe --pcap`
//! processes (one per simulated node, each reporting its half by the
//! single-reporter rule) replay `mixed-small.pcap` into a real relay, and
//! headless Chromium shows the map. A raw WebSocket viewer on the same relay
//! records every entry; its sums are the oracle the browser's table view
//! (`tr[data-node]`, `tr[data-edge][data-protocol][data-bytes][data-entries]`)
//! is checked against, step by step: every protocol's edges, a KFL2 filter
//! typed into the filter bar, grouping, legend hiding, the size and
//! cumulative toggles, and the L4 map. Screenshots go to `artifacts/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use wiremap_e2e::process::{binary, spawn_relay, workspace_root, Proc};
use wiremap_e2e::viewer::{Delivered, Viewer};
use wiremap_e2e::webdriver::Browser;
use wiremap_wire::{Identity, IdentityKind, Protocol};

/// mixed-small.pcap: the clients all sit on 127.0.0.1 (outside the
/// cluster); the servers are HTTP 127.0.1.1, gRPC 127.0.2.1, DNS 127.0.3.1,
/// Redis 127.0.4.1 and Kafka 127.0.5.1 (node-a's own address).
const TOPOLOGY: &str = r#"
nodes:
  - name: node-a
    ips: ["127.0.5.1"]
  - name: node-b
    ips: ["192.0.2.2"]
pods:
  - {name: web-0, namespace: shop, ip: "127.0.1.1", node: node-b, labels: {app: web}, owner: {kind: ReplicaSet, name: web-7d4b9c8f5}}
  - {name: grpc-0, namespace: shop, ip: "127.0.2.1", node: node-b, labels: {app: grpc}}
  - {name: dns-0, namespace: kube-system, ip: "127.0.3.1", node: node-a, labels: {app: dns}}
  - {name: redis-0, namespace: data, ip: "127.0.4.1", node: node-a, labels: {app: redis}, owner: {kind: StatefulSet, name: redis}}
"#;

const WAIT: Duration = Duration::from_secs(30);

/// The map node label of an identity under pod/service grouping, as the
/// model names them (external peers by DNS name, else IP).
fn pod_label(id: &Identity) -> String {
    if id.kind == IdentityKind::EXTERNAL {
        if id.dns.is_empty() {
            id.ip.to_string()
        } else {
            id.dns.clone()
        }
    } else if id.kind == IdentityKind::NODE && !id.node.is_empty() {
        id.node.clone()
    } else {
        id.best_name()
    }
}

/// The map node label under namespace grouping.
fn namespace_label(id: &Identity) -> String {
    let ns = id.best_namespace();
    if id.kind == IdentityKind::EXTERNAL || id.kind == IdentityKind::NODE || ns.is_empty() {
        pod_label(id)
    } else {
        ns.to_string()
    }
}

/// Per (src -> dst, protocol): (entries, request bytes, response bytes).
type Oracle = BTreeMap<(String, String), (u64, u64, u64)>;

fn oracle(entries: &[Delivered], keep: impl Fn(&Delivered) -> bool) -> Oracle {
    let mut o = Oracle::new();
    for d in entries.iter().filter(|d| keep(d)) {
        let (Some(s), Some(t)) = (&d.src, &d.dst) else {
            continue;
        };
        let key = (
            format!("{} -> {}", pod_label(s), pod_label(t)),
            d.entry.protocol.name().to_string(),
        );
        let v = o.entry(key).or_default();
        v.0 += 1;
        v.1 += d.entry.request_size;
        v.2 += d.entry.response_size;
    }
    o
}

/// The edge rows: (edge, protocol) → (entries, bytes, shown label).
fn edge_rows(b: &Browser) -> BTreeMap<(String, String), (u64, u64, String)> {
    let v = b
        .execute(
            "return Array.from(document.querySelectorAll('#edge-table tr[data-edge]')).map(r => \
             [r.dataset.edge, r.dataset.protocol, Number(r.dataset.entries), Number(r.dataset.bytes), r.dataset.shown]);",
        )
        .expect("edge rows");
    v.as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                (
                    r[0].as_str().unwrap_or("").to_string(),
                    r[1].as_str().unwrap_or("").to_string(),
                ),
                (
                    r[2].as_u64().unwrap_or(0),
                    r[3].as_u64().unwrap_or(0),
                    r[4].as_str().unwrap_or("").to_string(),
                ),
            )
        })
        .collect()
}

fn node_rows(b: &Browser) -> BTreeSet<String> {
    let v = b
        .execute("return Array.from(document.querySelectorAll('#node-table tr[data-node]')).map(r => r.dataset.node);")
        .expect("node rows");
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// Waits until the table's edge rows, seen as (entries, bytes) with
/// `bytes` from the oracle by `pick`, equal the oracle's.
fn wait_for_edges(b: &Browser, want: &Oracle, pick: impl Fn(&(u64, u64, u64)) -> u64, what: &str) {
    let want: BTreeMap<(String, String), (u64, u64)> = want
        .iter()
        .map(|(k, v)| (k.clone(), (v.0, pick(v))))
        .collect();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let got: BTreeMap<(String, String), (u64, u64)> = edge_rows(b)
            .into_iter()
            .map(|(k, v)| (k, (v.0, v.1)))
            .collect();
        if got == want {
            return;
        }
        if std::time::Instant::now() > deadline {
            panic!("{what}: the browser's edges differ from the oracle\nbrowser: {got:#?}\noracle: {want:#?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn shot(b: &Browser, name: &str) {
    let path = workspace_root().join("artifacts").join(name);
    b.screenshot(&path).expect("screenshot");
    println!("screenshot saved to {}", path.display());
}

fn unpack_capture(dir: &Path) -> PathBuf {
    let xz = workspace_root().join("tests/captures/mixed-small.pcap.xz");
    let out = dir.join("mixed-small.pcap");
    let data = Command::new("xz")
        .arg("-dc")
        .arg(&xz)
        .output()
        .expect("xz runs");
    assert!(data.status.success(), "xz -dc {}", xz.display());
    std::fs::write(&out, data.stdout).expect("write the capture");
    out
}

fn js(b: &Browser, script: &str) -> Value {
    b.execute(script)
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

#[test]
fn a_replayed_capture_drives_every_view_of_the_map() {
    let web_dist = std::env::var_os("WIREMAP_WEB_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("web").join("dist"));
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = unpack_capture(dir.path());
    let topo = dir.path().join("topology.yaml");
    std::fs::write(&topo, TOPOLOGY).unwrap();

    let (_relay, relay_url) = spawn_relay(&web_dist, &[]).expect("relay starts");
    let addr = relay_url.trim_start_matches("http://").to_string();
    let viewer = Viewer::connect(&addr).expect("viewer connects");

    // The browser must be connected before the replay: the relay keeps no
    // L7 history for late viewers. Cumulative mode: figures over everything.
    let browser = Browser::start().expect("headless chromium");
    browser
        .goto(&format!("{relay_url}/?cumulative=1"))
        .expect("open the app");
    browser
        .wait_for(
            "return document.querySelector('#status')?.dataset.state === 'connected';",
            WAIT,
        )
        .expect("the app connects to the relay");

    let probes: Vec<Proc> = ["node-a", "node-b"]
        .iter()
        .map(|node| {
            Proc::spawn(
                node,
                Command::new(binary("wiremap-probe").unwrap())
                    .args(["--node", node, "--pcap"])
                    .arg(&pcap)
                    .arg("--topology")
                    .arg(&topo)
                    .args(["--relay", &format!("ws://{addr}/ws/probe")]),
            )
            .expect("probe starts")
        })
        .collect();

    // Everything the probes shipped, as a raw viewer received it.
    let _ = viewer.wait_until(WAIT, "entries", |e, _| e.len() > 1000);
    let entries = viewer.settle(Duration::from_secs(3), Duration::from_secs(60));
    assert_eq!(viewer.undecodable(), 0);
    let total = entries.len();
    let all = oracle(&entries, |_| true);
    let protocols: BTreeSet<&str> = all.keys().map(|(_, p)| p.as_str()).collect();
    assert!(
        ["HTTP", "HTTP/2", "gRPC", "DNS", "Redis", "Kafka"]
            .iter()
            .all(|p| protocols.contains(p)),
        "the capture has every protocol: {protocols:?}; delivered (node, protocol, peers resolved): {:?}; other frames: {:?}",
        entries.iter().fold(BTreeMap::<(String, String, bool), u64>::new(), |mut m, d| {
            *m.entry((
                d.node.clone(),
                d.entry.protocol.name().to_string(),
                d.src.is_some() && d.dst.is_some(),
            ))
            .or_default() += 1;
            m
        }),
        viewer.other_frames()
    );
    browser
        .wait_for(
            &format!(
                "return Number(document.querySelector('#status').dataset.entries) === {total};"
            ),
            WAIT,
        )
        .expect("the browser received every entry the viewer did");

    // 1. The map: every node and every edge per protocol, with the oracle's
    //    entries and request + response bytes.
    wait_for_edges(&browser, &all, |v| v.1 + v.2, "all entries");
    let want_nodes: BTreeSet<String> = entries
        .iter()
        .flat_map(|d| [d.src.as_ref(), d.dst.as_ref()])
        .flatten()
        .map(pod_label)
        .collect();
    assert_eq!(node_rows(&browser), want_nodes);
    assert!(want_nodes.contains("web-0") && want_nodes.contains("redis-0"));
    shot(&browser, "web_map_l7.png");

    // 2. A KFL2 filter typed into the filter bar and applied with Enter.
    js(
        &browser,
        "const i = document.querySelector('#kfl'); i.focus(); i.value = 'dns && status_code == 0'; \
         i.dispatchEvent(new Event('input', {bubbles: true})); \
         i.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true})); \
         i.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));",
    );
    let dns_ok = oracle(&entries, |d| {
        d.entry.protocol == Protocol::DNS && d.entry.status_code == 0
    });
    assert!(!dns_ok.is_empty());
    wait_for_edges(
        &browser,
        &dns_ok,
        |v| v.1 + v.2,
        "filter `dns && status_code == 0`",
    );
    assert!(
        browser.url().unwrap().contains("filter=dns"),
        "the filter is in the URL"
    );
    shot(&browser, "web_map_filtered.png");
    js(&browser, "document.querySelector('#kfl-clear').click();");
    wait_for_edges(&browser, &all, |v| v.1 + v.2, "filter cleared");

    // 3. Grouping by namespace: fewer nodes, as the identities say.
    js(
        &browser,
        "const s = document.querySelector('#grouping'); s.value = 'namespace'; \
         s.dispatchEvent(new Event('change', {bubbles: true}));",
    );
    let want_ns: BTreeSet<String> = entries
        .iter()
        .flat_map(|d| [d.src.as_ref(), d.dst.as_ref()])
        .flatten()
        .map(namespace_label)
        .collect();
    browser
        .wait_for(
            &format!(
                "return document.querySelectorAll('#node-table tr[data-node]').length === {};",
                want_ns.len()
            ),
            WAIT,
        )
        .expect("grouping by namespace");
    assert_eq!(node_rows(&browser), want_ns);
    assert!(
        want_ns.len() < want_nodes.len(),
        "{want_ns:?} vs {want_nodes:?}"
    );
    shot(&browser, "web_map_namespaces.png");
    js(
        &browser,
        "const s = document.querySelector('#grouping'); s.value = 'pod'; \
         s.dispatchEvent(new Event('change', {bubbles: true}));",
    );
    wait_for_edges(&browser, &all, |v| v.1 + v.2, "back to pod grouping");

    // 4. Legend: hiding kube-system removes dns-0 and its edges; the chip
    //    stays, dimmed; Reset brings them back.
    js(
        &browser,
        "document.querySelector('[data-legend=\"namespace\"][data-item=\"kube-system\"]').click();",
    );
    let no_dns = oracle(&entries, |d| {
        d.dst.as_ref().map(|i| i.best_namespace()) != Some("kube-system")
            && d.src.as_ref().map(|i| i.best_namespace()) != Some("kube-system")
    });
    wait_for_edges(&browser, &no_dns, |v| v.1 + v.2, "kube-system hidden");
    assert!(!node_rows(&browser).contains("dns-0"));
    assert_eq!(
        js(&browser, "return document.querySelector('[data-legend=\"namespace\"][data-item=\"kube-system\"]').dataset.hidden;"),
        Value::from("true")
    );
    assert!(browser.url().unwrap().contains("hide_ns=kube-system"));
    shot(&browser, "web_map_legend_hidden.png");
    js(
        &browser,
        "document.querySelector('[data-legend=\"protocol\"][data-item=\"Redis\"]').click();",
    );
    let neither = oracle(&entries, |d| {
        d.entry.protocol != Protocol::REDIS
            && d.dst.as_ref().map(|i| i.best_namespace()) != Some("kube-system")
            && d.src.as_ref().map(|i| i.best_namespace()) != Some("kube-system")
    });
    wait_for_edges(&browser, &neither, |v| v.1 + v.2, "Redis hidden too");
    js(&browser, "document.querySelector('#reset').click();");
    wait_for_edges(&browser, &all, |v| v.1 + v.2, "legend reset");

    // 5. Size toggles: the counted bytes follow the model's rule.
    js(&browser, "document.querySelector('#opt-response').click();");
    wait_for_edges(&browser, &all, |v| v.1, "request sizes only");
    js(
        &browser,
        "document.querySelector('#opt-response').click(); document.querySelector('#opt-request').click();",
    );
    wait_for_edges(&browser, &all, |v| v.2, "response sizes only");
    js(&browser, "document.querySelector('#opt-request').click();");
    wait_for_edges(&browser, &all, |v| v.1 + v.2, "both sizes");
    // Cumulative labels are totals in bytes; rates carry "/s".
    let rows = edge_rows(&browser);
    assert!(
        rows.values()
            .all(|r| r.2.ends_with('B') && !r.2.ends_with("/s")),
        "{rows:?}"
    );
    js(
        &browser,
        "document.querySelector('#opt-cumulative').click();",
    );
    browser
        .wait_for(
            "const r = Array.from(document.querySelectorAll('#edge-table tr[data-edge]')); \
             return r.every(x => x.dataset.shown.endsWith('/s'));",
            WAIT,
        )
        .expect("rate labels once cumulative is off");
    // The replay is over, so the 10 s window empties as data time passes.
    browser
        .wait_for(
            "return document.querySelectorAll('#edge-table tr[data-edge]').length === 0;",
            WAIT,
        )
        .expect("rates decay to an empty map after the traffic stopped");
    js(
        &browser,
        "document.querySelector('#opt-cumulative').click();",
    );
    wait_for_edges(&browser, &all, |v| v.1 + v.2, "cumulative again");

    // 6. The L4 map: flows between the client and every server, whatever
    //    the display filter says.
    js(
        &browser,
        "document.querySelector('[data-map=\"l4\"]').click();",
    );
    let l4 = browser
        .wait_for(
            "const r = Array.from(document.querySelectorAll('#edge-table tr[data-edge]')); \
             const want = ['web-0 TCP', 'grpc-0 TCP', 'dns-0 UDP', 'redis-0 TCP'].map(w => '127.0.0.1 -> ' + w); \
             const rows = r.map(x => [x.dataset.edge + ' ' + x.dataset.protocol, Number(x.dataset.bytes), Number(x.dataset.entries)]); \
             return r.every(x => ['TCP', 'UDP'].includes(x.dataset.protocol)) && \
               want.every(w => rows.some(x => x[0] === w)) ? rows : null;",
            WAIT,
        )
        .expect("the L4 map shows flows");
    let l4_edges: BTreeMap<String, (u64, u64)> = l4
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r[0].as_str().unwrap_or("").to_string(),
                (r[1].as_u64().unwrap_or(0), r[2].as_u64().unwrap_or(0)),
            )
        })
        .collect();
    // One edge per transport: DNS over UDP, the rest over TCP.
    for (server, transport) in [
        ("web-0", "TCP"),
        ("grpc-0", "TCP"),
        ("dns-0", "UDP"),
        ("redis-0", "TCP"),
    ] {
        let (bytes, flows) = l4_edges
            .get(&format!("127.0.0.1 -> {server} {transport}"))
            .copied()
            .unwrap_or_else(|| panic!("no {transport} edge to {server}: {l4_edges:?}"));
        assert!(
            bytes > 0 && flows > 0,
            "{server}: {bytes} bytes, {flows} flows"
        );
    }
    // The L4 totals equal the probes' latest snapshots.
    let snap_bytes: u64 = ["node-a", "node-b"]
        .iter()
        .filter_map(|n| viewer.latest_snapshot(n))
        .flat_map(|s| s.counters)
        .map(|c| c.bytes_to_server + c.bytes_to_client)
        .sum();
    let shown_bytes: u64 = l4_edges.values().map(|v| v.0).sum();
    assert_eq!(shown_bytes, snap_bytes, "L4 bytes: map vs snapshots");
    shot(&browser, "web_map_l4.png");
    drop(probes);
}
