//! Workload identity from the Kubernetes API, end to end through a real
//! `kube` client: reflectors list and watch over HTTP, the probe's
//! resolver answers.
//!
//! No API server can run on this machine, so the server here is a small
//! real HTTP server on 127.0.0.1 replaying recorded-format API responses
//! (`tests/fixtures/k8s/`: `PodList`s with `metadata.resourceVersion`, watch
//! streams of `{"type":"ADDED","object":{…}}` lines, BOOKMARK events, the
//! `410 Expired` Status an apiserver sends for a too-old resourceVersion, a
//! `403 Forbidden` Status). They are reconstructions in kube-apiserver
//! v1.35's exact wire format, not captures from a live server.

mod kube_api;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use kube_api::{FakeApi, Reply, Script, Step};
use wiremap_probe::identity::{IdentityMap, IdentitySource};
use wiremap_probe::kube::{KubeError, KubeOptions, KubeSource};
use wiremap_wire::{Identity, IdentityKind};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn opts(kubeconfig: std::path::PathBuf) -> KubeOptions {
    KubeOptions {
        kubeconfig: Some(kubeconfig),
        context: None,
        rebuild_interval: Duration::from_millis(20),
    }
}

/// Polls `src` until `cond` holds for the current map (or fails after 20 s
/// with the last map).
fn eventually(
    src: &mut KubeSource,
    map: &mut IdentityMap,
    what: &str,
    cond: impl Fn(&IdentityMap) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if cond(map) {
            return;
        }
        if let Some(m) = src.poll() {
            *map = m;
            continue;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for: {what}\nlast map: {:#?}",
            map.workloads()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn pod<'a>(m: &'a IdentityMap, addr: &str) -> &'a Identity {
    let id = m
        .get(ip(addr))
        .unwrap_or_else(|| panic!("{addr} unknown: {:#?}", m.workloads()));
    assert_eq!(id.kind, IdentityKind::POD, "{addr}: {id:?}");
    id
}

fn name_is(m: &IdentityMap, addr: &str, name: &str) -> bool {
    m.get(ip(addr)).is_some_and(|i| i.name == name)
}

fn label<'a>(id: &'a Identity, key: &str) -> Option<&'a str> {
    id.labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn requests(api: &FakeApi, prefix: &str) -> Vec<String> {
    api.log()
        .into_iter()
        .map(|(r, _)| r)
        .filter(|r| r.starts_with(prefix))
        .collect()
}

#[test]
fn lists_and_watches_resolve_pods_services_nodes() {
    let mut script = Script::default();
    script.lists.insert(
        "pods",
        vec![Reply::Ok("pods-list-1.json"), Reply::Ok("pods-list-2.json")],
    );
    script.watches.insert(
        "pods",
        vec![
            // From the first list: a new pod, then (gated) a pod replaced by
            // another that takes over its IP, then (gated) deletions, then
            // (gated) the end of the response.
            vec![
                Step::Send("pods-watch-1a.jsonl"),
                Step::Gate("reuse"),
                Step::Send("pods-watch-1b.jsonl"),
                Step::Gate("delete"),
                Step::Send("pods-watch-1c.jsonl"),
                Step::Gate("expire"),
                Step::End,
            ],
            // Resuming from the last bookmark: that version has expired.
            vec![Step::Send("pods-watch-2-expired.jsonl"), Step::End],
            // After the re-list: quiet.
            vec![Step::Send("pods-watch-3.jsonl")],
        ],
    );
    for (res, list, watch) in [
        ("services", "services-list.json", "services-watch.jsonl"),
        (
            "endpointslices",
            "endpointslices-list.json",
            "endpointslices-watch.jsonl",
        ),
        ("nodes", "nodes-list.json", "nodes-watch.jsonl"),
    ] {
        script.lists.insert(res, vec![Reply::Ok(list)]);
        script.watches.insert(res, vec![vec![Step::Send(watch)]]);
    }
    let api = FakeApi::start(script);
    let dir = tempfile::tempdir().unwrap();
    let mut src = KubeSource::start(&opts(api.kubeconfig(dir.path()))).expect("start");
    let mut m = src.wait_ready(Duration::from_secs(20)).expect("first map");

    // The first lists.
    let web = pod(&m, "10.244.1.10");
    assert_eq!(web.name, "web-7c9d8f5b6d-x2x4k");
    assert_eq!(web.namespace, "shop");
    assert_eq!(web.node, "node-a");
    assert_eq!(
        (web.workload_kind.as_str(), web.workload.as_str()),
        ("Deployment", "web")
    );
    assert_eq!(
        (web.service.as_str(), web.service_namespace.as_str()),
        ("web", "shop")
    );
    assert_eq!(label(web, "app"), Some("web"));
    assert_eq!(label(web, "pod-template-hash"), Some("7c9d8f5b6d"));

    for addr in ["10.244.2.20", "fd00:10:244:2::20"] {
        let db = pod(&m, addr);
        assert_eq!(db.name, "db-0");
        assert_eq!(
            (db.workload_kind.as_str(), db.workload.as_str()),
            ("StatefulSet", "db")
        );
        // A headless service: known only from its EndpointSlices.
        assert_eq!(db.service, "db");
        assert_eq!(db.node, "node-b");
    }
    let dns = pod(&m, "10.244.0.3");
    assert_eq!(
        (dns.workload_kind.as_str(), dns.workload.as_str()),
        ("Deployment", "coredns")
    );
    assert_eq!(
        (dns.service.as_str(), dns.namespace.as_str()),
        ("kube-dns", "kube-system")
    );
    // The finished Job pod still lists 10.244.1.30; the running pod that
    // got the address owns it.
    let cart = pod(&m, "10.244.1.30");
    assert_eq!(cart.name, "cart-5f6b7c8d9-qwert");
    assert_eq!(cart.workload, "cart");
    assert_eq!(cart.service, "", "no service selects app=cart");
    // A ReplicaSet without a pod-template-hash stays a ReplicaSet; its
    // service comes from the selector (no EndpointSlice for it).
    let legacy = pod(&m, "10.244.2.41");
    assert_eq!(
        (legacy.workload_kind.as_str(), legacy.workload.as_str()),
        ("ReplicaSet", "legacy-rs")
    );
    assert_eq!(legacy.service, "legacy");

    // Nodes and host-network pods.
    for (addr, node) in [
        ("172.18.0.2", "node-a"),
        ("172.18.0.3", "node-b"),
        ("fd00:10::3", "node-b"),
        ("172.18.0.4", "node-c"),
    ] {
        let id = m.get(ip(addr)).expect(addr);
        assert_eq!(
            (id.kind, id.name.as_str(), id.node.as_str()),
            (IdentityKind::NODE, node, node)
        );
    }
    let nodes: Vec<(&str, usize)> = m
        .nodes()
        .iter()
        .map(|n| (n.name.as_str(), n.ips.len()))
        .collect();
    assert_eq!(nodes, [("node-a", 1), ("node-b", 2), ("node-c", 1)]);

    // ClusterIPs, with the node their endpoints run on when it is one
    // (EndpointSlice nodeName; none for endpoints that are not pods).
    for (addr, ns, name, node) in [
        ("10.96.0.1", "default", "kubernetes", ""),
        ("10.96.0.10", "kube-system", "kube-dns", "node-c"),
        ("10.96.10.10", "shop", "web", "node-a"),
        ("fd00:10:96::a", "shop", "web", "node-a"),
        ("10.96.20.20", "shop", "external-db", ""),
    ] {
        let id = m.get(ip(addr)).expect(addr);
        assert_eq!(id.kind, IdentityKind::SERVICE, "{addr}");
        assert_eq!(
            (id.namespace.as_str(), id.name.as_str(), id.node.as_str()),
            (ns, name, node)
        );
    }
    // The endpoint of a selector-less service: external, but named.
    let ext = m.get(ip("192.0.2.50")).expect("external-db endpoint");
    assert_eq!(ext.kind, IdentityKind::EXTERNAL);
    assert_eq!(ext.service, "external-db");
    // Anything else is external.
    assert_eq!(m.resolve(ip("8.8.8.8")).kind, IdentityKind::EXTERNAL);
    assert!(m.get(ip("8.8.8.8")).is_none());
    // A pending pod has no address; the finished one owns none.
    let names: Vec<String> = m.workloads().into_iter().map(|i| i.name).collect();
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with("pend1") || n.starts_with("report-")),
        "{names:?}"
    );

    // Watch: ADDED.
    eventually(&mut src, &mut m, "the added pod", |m| {
        name_is(m, "10.244.2.11", "web-7c9d8f5b6d-p9q8r")
    });
    let added = pod(&m, "10.244.2.11");
    assert_eq!(added.workload, "web");
    assert_eq!(
        added.service, "web",
        "from the selector: no EndpointSlice update yet"
    );
    assert_eq!(added.node, "node-b");

    // Watch: the old pod is terminating, a new pod gets its IP before the
    // old one is gone. The new one owns the address.
    api.open_gate("reuse");
    eventually(&mut src, &mut m, "IP reuse by the new pod", |m| {
        name_is(m, "10.244.1.10", "api-6d5f9b8c7-m4n5b")
    });
    let reused = pod(&m, "10.244.1.10");
    assert_eq!(
        (reused.workload_kind.as_str(), reused.workload.as_str()),
        ("Deployment", "api")
    );
    assert_eq!(
        reused.service, "",
        "the old pod's EndpointSlice entry names the old pod"
    );

    // Watch: DELETED.
    api.open_gate("delete");
    eventually(&mut src, &mut m, "the deleted pod gone", |m| {
        m.get(ip("10.244.2.41")).is_none()
    });
    assert!(name_is(&m, "10.244.1.10", "api-6d5f9b8c7-m4n5b"));
    let names: Vec<String> = m.workloads().into_iter().map(|i| i.name).collect();
    assert!(
        !names.contains(&"web-7c9d8f5b6d-x2x4k".to_string()),
        "{names:?}"
    );
    assert_eq!(
        requests(&api, "GET /api/v1/pods?")
            .iter()
            .filter(|r| !r.contains("watch="))
            .count(),
        1
    );

    // The response ends; resuming from the last bookmark gets 410 Expired;
    // the reflector lists again and the map follows the new list (db-0 was
    // recreated with a new IP meanwhile).
    api.open_gate("expire");
    eventually(&mut src, &mut m, "the re-listed state", |m| {
        name_is(m, "10.244.2.21", "db-0") && m.get(ip("10.244.2.20")).is_none()
    });
    assert!(name_is(&m, "10.244.1.10", "api-6d5f9b8c7-m4n5b"));
    assert!(name_is(&m, "10.244.2.11", "web-7c9d8f5b6d-p9q8r"));
    assert!(
        name_is(&m, "10.96.10.10", "web"),
        "services survive a pod re-list"
    );

    // What the client asked, in order: list, watch from the list's version
    // with bookmarks, watch again from the last bookmark, re-list after
    // 410, watch from the new list's version.
    let deadline = Instant::now() + Duration::from_secs(10);
    while requests(&api, "GET /api/v1/pods?").len() < 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let pods = requests(&api, "GET /api/v1/pods?");
    let rv = |r: &String| {
        r.split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("resourceVersion="))
            .unwrap_or("")
            .to_string()
    };
    let shape: Vec<(bool, String)> = pods
        .iter()
        .map(|r| (r.contains("watch=true"), rv(r)))
        .collect();
    assert!(shape.len() >= 5, "{pods:#?}");
    assert_eq!(
        shape[..5],
        [
            (false, String::new()),
            (true, "1000".into()),
            (true, "1020".into()),
            (false, String::new()),
            (true, "2000".into()),
        ],
        "{pods:#?}"
    );
    assert!(pods[1].contains("allowWatchBookmarks=true"), "{}", pods[1]);
    assert!(pods[0].contains("limit=500"), "{}", pods[0]);
    // Every request carried the kubeconfig's token.
    assert!(api
        .log()
        .iter()
        .all(|(_, auth)| auth == "Bearer fixture-token"));
    let counters = src.counters();
    let errors = counters
        .iter()
        .find(|(k, _)| k == "kube_watch_errors")
        .unwrap()
        .1;
    assert!(errors >= 1, "the 410 is counted: {counters:?}");
}

#[test]
fn forbidden_list_is_a_clear_error() {
    let mut script = kube_api::quiet_script();
    script
        .lists
        .insert("nodes", vec![Reply::Status(403, "nodes-forbidden.json")]);
    let api = FakeApi::start(script);
    let dir = tempfile::tempdir().unwrap();
    let mut src = KubeSource::start(&opts(api.kubeconfig(dir.path()))).expect("start");
    let err = src.wait_ready(Duration::from_secs(3)).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, KubeError::NotReady { .. }), "{text}");
    assert!(text.contains("first list of nodes"), "{text}");
    assert!(
        text.contains("cannot list resource \\\"nodes\\\"") || text.contains("forbidden"),
        "{text}"
    );
}

#[test]
fn unreachable_server_is_a_clear_error() {
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\n\
             contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user: {{}}\n"
        ),
    )
    .unwrap();
    let mut src = KubeSource::start(&opts(path)).expect("start: config is fine");
    let err = src
        .wait_ready(Duration::from_secs(2))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("pods, services, endpointslices, nodes"),
        "{err}"
    );
    assert!(err.contains("last error"), "{err}");
}

#[test]
fn missing_kubeconfig_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = KubeSource::start(&opts(dir.path().join("nope"))).unwrap_err();
    assert!(matches!(err, KubeError::Config(_)), "{err}");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn garbage_kubeconfig_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, "clusters: [[[\n\u{0}").unwrap();
    let err = KubeSource::start(&opts(path)).unwrap_err();
    assert!(matches!(err, KubeError::Config(_)), "{err}");
}

/// A pcap file with a header and no packets.
fn empty_pcap(dir: &std::path::Path) -> std::path::PathBuf {
    let mut h = Vec::new();
    h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&65_535u32.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    let p = dir.join("empty.pcap");
    std::fs::write(&p, h).unwrap();
    p
}

#[test]
fn the_probe_binary_syncs_with_the_api_before_reading() {
    let api = FakeApi::start(kube_api::quiet_script());
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wiremap-probe"))
        .arg("--kubeconfig")
        .arg(api.kubeconfig(dir.path()))
        .arg("--pcap")
        .arg(empty_pcap(dir.path()))
        .args(["--node", "node-a", "--kube-sync-timeout", "20"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lists: Vec<String> = api
        .log()
        .into_iter()
        .map(|(r, _)| r)
        .filter(|r| !r.contains("watch="))
        .collect();
    for path in [
        "/api/v1/pods?",
        "/api/v1/services?",
        "/apis/discovery.k8s.io/v1/endpointslices?",
        "/api/v1/nodes?",
    ] {
        assert!(
            lists.iter().any(|r| r.contains(path)),
            "{path} listed: {lists:?}"
        );
    }
}

#[test]
fn the_probe_binary_explains_a_missing_identity_source() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wiremap-probe"))
        .args(["--identity", "kubernetes", "--kubeconfig"])
        .arg(dir.path().join("absent-kubeconfig"))
        .arg("--pcap")
        .arg(empty_pcap(dir.path()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Kubernetes API"), "{err}");
    assert!(err.contains("--topology"), "{err}");
    assert!(err.contains("absent-kubeconfig"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
