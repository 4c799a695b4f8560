//! The one-probe-reports rule (DESIGN principle 6) on a real capture seen
//! by two simulated nodes, plus identity from a topology file.

mod support;

use std::collections::BTreeSet;

use wiremap_probe::identity::{reporting_node, IdentityMap};
use wiremap_probe::pcap::CaptureReader;
use wiremap_probe::pipeline::{Output, Pipeline, PipelineConfig};
use wiremap_probe::topology::Topology;
use wiremap_wire::{Frame, IdentityKind, L4Snapshot};

/// mixed-small.pcap: the clients all sit on 127.0.0.1; the servers are
/// HTTP 127.0.1.1, gRPC 127.0.2.1, DNS 127.0.3.1, Redis 127.0.4.1 and
/// Kafka 127.0.5.1. Here the clients are outside the cluster, two servers
/// are pods on node-b, two on node-a, and Kafka runs on node-a's address.
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
services:
  - {name: web, namespace: shop, ip: "10.96.0.80", selector: {app: web}}
"#;

fn run(node: &str, ids: IdentityMap) -> L4Snapshot {
    let (_dir, path) = support::mixed_small();
    let mut r = CaptureReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    let mut p = Pipeline::new(PipelineConfig::new(node, 1), ids);
    let mut out = Vec::new();
    let mut last = None;
    let mut keep = |out: &mut Vec<Output>| {
        for o in out.drain(..) {
            if let Output::Frame(Frame::L4Snapshot(s)) = o {
                last = Some(s);
            }
        }
    };
    while let Some(rec) = r.next_record().unwrap() {
        p.on_frame(rec.ts_us, rec.link, rec.data, &mut out);
        keep(&mut out);
    }
    p.finish(&mut out);
    keep(&mut out);
    last.expect("at least one snapshot")
}

fn totals(s: &L4Snapshot) -> [u64; 5] {
    s.counters.iter().fold([0; 5], |mut t, c| {
        t[0] += c.bytes_to_server;
        t[1] += c.bytes_to_client;
        t[2] += c.packets_to_server;
        t[3] += c.packets_to_client;
        t[4] += c.flows;
        t
    })
}

fn servers(s: &L4Snapshot) -> BTreeSet<String> {
    s.counters
        .iter()
        .map(|c| s.identities[c.server as usize].ip.to_string())
        .collect()
}

#[test]
fn two_nodes_split_a_capture_without_double_counting() {
    let topo = Topology::parse(TOPOLOGY).expect("topology parses");
    let alone = run("solo", IdentityMap::new());
    let a = run("node-a", topo.identities());
    let b = run("node-b", topo.identities());

    let (ta, tb, t) = (totals(&a), totals(&b), totals(&alone));
    assert!(t[0] > 0 && t[4] > 0);
    for i in 0..5 {
        assert_eq!(
            ta[i] + tb[i],
            t[i],
            "counter {i}: node-a + node-b must equal the whole capture"
        );
    }
    assert_eq!(
        servers(&b),
        BTreeSet::from(["127.0.1.1".to_string(), "127.0.2.1".to_string()])
    );
    assert_eq!(
        servers(&a),
        BTreeSet::from([
            "127.0.3.1".to_string(),
            "127.0.4.1".to_string(),
            "127.0.5.1".to_string()
        ])
    );
    // Identities in the snapshot come from the topology.
    let web = b
        .identities
        .iter()
        .find(|i| i.name == "web-0")
        .expect("web-0 in node-b's snapshot");
    assert_eq!(web.kind, IdentityKind::POD);
    assert_eq!(
        (web.workload_kind.as_str(), web.workload.as_str()),
        ("Deployment", "web")
    );
    assert_eq!(
        (web.service.as_str(), web.namespace.as_str()),
        ("web", "shop")
    );
    let kafka = a
        .identities
        .iter()
        .find(|i| i.ip.to_string() == "127.0.5.1")
        .unwrap();
    assert_eq!(
        (kafka.kind, kafka.node.as_str()),
        (IdentityKind::NODE, "node-a")
    );
}

#[test]
fn a_pod_client_is_reported_by_its_own_node_only() {
    let topo = Topology::parse(
        "pods:\n  - {name: c, namespace: n, ip: \"10.1.0.5\", node: node-a}\n  - {name: s, namespace: n, ip: \"10.2.0.5\", node: node-b}\n",
    )
    .unwrap()
    .identities();
    let c = topo.get("10.1.0.5".parse().unwrap());
    let s = topo.get("10.2.0.5".parse().unwrap());
    assert_eq!(reporting_node(c, s), Some("node-a"));
    // The reverse direction (server pod calling back as a client) flips it.
    assert_eq!(reporting_node(s, c), Some("node-b"));
    // External client → pod: the pod's node.
    assert_eq!(reporting_node(None, s), Some("node-b"));
    // Nobody owns either end: whoever sees it reports.
    assert_eq!(reporting_node(None, None), None);
}

#[test]
fn topology_errors_are_values() {
    assert!(Topology::parse("pods: [ {name: x, ip: \"not-an-ip\"} ]").is_err());
    assert!(Topology::parse("nodes: {oops").is_err());
    assert!(Topology::parse("unknown_section: []").is_err());
    assert!(Topology::parse("").unwrap().identities().is_empty());
    // Host-network pods resolve to their node.
    let m = Topology::parse(
        "nodes: [{name: n1, ips: [\"10.0.0.1\"]}]\npods: [{name: agent, namespace: k, ip: \"10.0.0.1\", node: n1, host_network: true}]",
    )
    .unwrap()
    .identities();
    let id = m.get("10.0.0.1".parse().unwrap()).unwrap();
    assert_eq!((id.kind, id.name.as_str()), (IdentityKind::NODE, "n1"));
}

/// A service's identity carries the node its selected pods run on when they
/// share one (so maps grouped by node place it), and no node when they span
/// several; the reporting rule ignores service nodes either way.
#[test]
fn service_identities_carry_their_pods_node_when_it_is_one() {
    let topo = Topology::parse(
        r#"
nodes:
  - {name: node-a, ips: ["192.0.2.1"]}
  - {name: node-b, ips: ["192.0.2.2"]}
pods:
  - {name: web-0, namespace: shop, ip: "10.0.0.1", node: node-b, labels: {app: web}}
  - {name: web-1, namespace: shop, ip: "10.0.0.2", node: node-b, labels: {app: web}}
  - {name: api-0, namespace: shop, ip: "10.0.0.3", node: node-a, labels: {app: api}}
  - {name: api-1, namespace: shop, ip: "10.0.0.4", node: node-b, labels: {app: api}}
  - {name: web-x, namespace: other, ip: "10.0.0.5", node: node-a, labels: {app: web}}
services:
  - {name: web, namespace: shop, ip: "10.96.0.1", selector: {app: web}}
  - {name: api, namespace: shop, ip: "10.96.0.2", selector: {app: api}}
  - {name: none, namespace: shop, ip: "10.96.0.3", selector: {app: gone}}
"#,
    )
    .expect("topology parses");
    let ids = topo.identities();
    let node_of = |ip: &str| {
        let id = ids.get(ip.parse().unwrap()).expect(ip);
        assert_eq!(id.kind, IdentityKind::SERVICE, "{ip}");
        id.node.clone()
    };
    assert_eq!(node_of("10.96.0.1"), "node-b", "both web pods on node-b");
    assert_eq!(node_of("10.96.0.2"), "", "api spans node-a and node-b");
    assert_eq!(node_of("10.96.0.3"), "", "no pod selected");
    // An outside client calling the service: no node owns the flow.
    let web = ids.get("10.96.0.1".parse().unwrap());
    assert_eq!(reporting_node(None, web), None);
}

/// A persistent connection to a service picked up mid-stream, first packet
/// from the server (gRPC on 50051, an ephemeral-range port, to the client's
/// ephemeral port): the service end is the server, so the client pod's node
/// reports it and the map shows client node -> server node, never the
/// reverse. (The lab's L4 map by node once showed node-b -> node-c from
/// exactly this.)
#[test]
fn a_service_end_is_the_server_of_a_flow_picked_up_mid_stream() {
    use wiremap_probe::decode::LinkType;
    let topo = Topology::parse(
        r#"
nodes:
  - {name: node-b, ips: ["192.0.2.2"]}
  - {name: node-c, ips: ["192.0.2.3"]}
pods:
  - {name: catalog-0, namespace: shop, ip: "10.0.1.5", node: node-b, labels: {app: catalog}}
  - {name: recommendation-0, namespace: shop, ip: "10.0.2.7", node: node-c, labels: {app: rec}}
services:
  - {name: catalog, namespace: shop, ip: "10.96.1.51", selector: {app: catalog}}
"#,
    )
    .expect("topology parses");
    let frames = [
        ("10.96.1.51", 50051, "10.0.2.7", 41000, &[b'r'; 300][..]),
        ("10.0.2.7", 41000, "10.96.1.51", 50051, &[b'q'; 40][..]),
        ("10.96.1.51", 50051, "10.0.2.7", 41000, &[b'r'; 200][..]),
    ];
    let mut p = Pipeline::new(PipelineConfig::new("node-c", 1), topo.identities());
    let mut out = Vec::new();
    for (i, (src, sp, dst, dp, data)) in frames.iter().enumerate() {
        let f = support::ipv4(
            support::v4(src),
            support::v4(dst),
            6,
            i as u16,
            &support::tcp(*sp, *dp, 1000 + i as u32, support::ACK | support::PSH, data),
        );
        p.on_frame(i as i64 * 1000, Some(LinkType::RawIp), &f, &mut out);
    }
    p.finish(&mut out);
    let snap = out
        .into_iter()
        .rev()
        .find_map(|o| match o {
            Output::Frame(Frame::L4Snapshot(s)) => Some(s),
            _ => None,
        })
        .expect("node-c reports the flow");
    assert_eq!(snap.counters.len(), 1, "{snap:?}");
    let c = &snap.counters[0];
    let name = |i: u32| snap.identities[i as usize].name.as_str();
    assert_eq!(
        (name(c.client), name(c.server)),
        ("recommendation-0", "catalog")
    );
    assert_eq!((c.packets_to_server, c.packets_to_client), (1, 2));
    assert_eq!(c.bytes_to_client, 2 * 40 + 300 + 200);
}
