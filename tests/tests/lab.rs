//! The lab end to end: three simulated nodes of real servers and clients,
//! one `wiremap-probe` per node capturing its pods' veths, one relay, and a
//! raw viewer. What the relay delivers is compared with two independent
//! oracles: the clients' own counts of the calls they made, and the
//! kernel's byte counters of the pods' interfaces. Needs root (network
//! namespaces); CI runs as root.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use wiremap_e2e::lab::{Lab, LabOptions};
use wiremap_e2e::process::{binary, spawn_relay, Proc};
use wiremap_e2e::viewer::{Delivered, Viewer};
use wiremap_wire::{Detail, IdentityKind};

fn kernel_counter(ifname: &str, which: &str) -> u64 {
    std::fs::read_to_string(format!("/sys/class/net/{ifname}/statistics/{which}"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no kernel counter {which} for {ifname}"))
}

/// IP bytes and IP packets through an interface: the kernel counts whole
/// Ethernet frames, so 14 header bytes per frame come off.
fn kernel_ip_totals(ifname: &str) -> (u64, u64) {
    let packets = kernel_counter(ifname, "rx_packets") + kernel_counter(ifname, "tx_packets");
    let bytes = kernel_counter(ifname, "rx_bytes") + kernel_counter(ifname, "tx_bytes");
    (bytes - 14 * packets, packets)
}

/// gRPC's canonical name of a status code.
fn grpc_status_name(code: i32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("UNKNOWN")
}

/// What the breakdown key of an entry is, as the lab's oracle spells it.
fn breakdown_key(d: &Delivered) -> String {
    match &d.entry.detail {
        Detail::Kafka(k) => k.api_key_name().to_string(),
        Detail::Redis(r) => r.command_type.clone(),
        Detail::Http(h) if h.grpc.is_some() => {
            grpc_status_name(h.grpc.as_ref().map_or(0, |g| g.status)).to_string()
        }
        _ => d.entry.status_code.to_string(),
    }
}

#[test]
fn the_lab_seen_through_probes_and_relay_matches_the_clients_and_the_kernel() {
    let state = tempfile::tempdir().expect("tempdir");
    let lab = Lab::up(LabOptions {
        state_dir: state.path().join("lab"),
        steady_traffic: false,
        ..LabOptions::default()
    })
    .expect("the lab comes up (needs root)");

    let (_relay, relay_url) = spawn_relay(std::path::Path::new("."), &[]).expect("relay starts");
    let addr = relay_url.trim_start_matches("http://").to_string();
    let viewer = Viewer::connect(&addr).expect("viewer");

    let nodes = lab.node_names();
    let mut probes = Vec::new();
    for node in &nodes {
        let mut cmd = Command::new(binary("wiremap-probe").unwrap());
        cmd.args(lab.probe_args(node).expect("probe args"))
            .args(["--relay", &format!("ws://{addr}/ws/probe")])
            .args(["--snapshot-interval", "0.5"]);
        probes.push(Proc::spawn(&format!("probe {node}"), &mut cmd).expect("probe starts"));
    }
    // Every probe captures and reports (its first snapshots arrive).
    viewer
        .wait_until(
            Duration::from_secs(30),
            "a snapshot from every node",
            |_, snaps| {
                nodes
                    .iter()
                    .all(|n| snaps.iter().filter(|s| &s.node == n).count() >= 2)
            },
        )
        .expect("all probes report");

    let tester = lab
        .plan()
        .pods
        .iter()
        .find(|p| p.namespace == "qa" && p.name.starts_with("tester"))
        .expect("the tester pod")
        .clone();
    let kernel_before = kernel_ip_totals(&tester.host_if);
    let entries_before = viewer.entries().len();

    let counts = lab.run_scripted_traffic(20).expect("scripted traffic");
    let delivered = viewer.settle(Duration::from_secs(3), Duration::from_secs(40));
    let delivered = &delivered[entries_before..];
    assert_eq!(
        viewer.undecodable(),
        0,
        "every frame the relay sent decodes"
    );

    // 1. Entries per (protocol, server address) equal the clients' counts,
    //    and so does each breakdown (status codes, RCODEs, verbs, API names).
    let tester_ip = tester.ip.to_string();
    for pair in &counts.pairs {
        let mine: Vec<&Delivered> = delivered
            .iter()
            .filter(|d| {
                d.entry.protocol.name() == pair.protocol
                    && d.entry.src.ip.to_string() == tester_ip
                    && d.entry.dst.ip.to_string() == pair.server.ip
            })
            .collect();
        assert_eq!(
            mine.len() as u64,
            pair.calls,
            "{} calls from {} to {} ({}): the client counted {}, the relay delivered {}",
            pair.protocol,
            pair.client.pod,
            pair.server.pod,
            pair.server.ip,
            pair.calls,
            mine.len()
        );
        let mut by: BTreeMap<String, u64> = BTreeMap::new();
        for d in &mine {
            *by.entry(breakdown_key(d)).or_default() += 1;
        }
        let wanted: BTreeMap<String, u64> = pair.by.clone();
        let matching: BTreeMap<String, u64> = by
            .iter()
            .filter(|(k, _)| wanted.contains_key(*k))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        assert_eq!(matching, wanted, "{} breakdown", pair.protocol);
        let errors = mine.iter().filter(|d| d.entry.error).count() as u64;
        assert_eq!(errors, pair.errors, "{} errors", pair.protocol);
        // Identities resolved from the topology: the client is the tester pod.
        for d in &mine {
            let src = d.src.as_ref().expect("client identity");
            assert_eq!(src.kind, IdentityKind::POD);
            assert_eq!(src.name, tester.name);
            assert_eq!(src.namespace, "qa");
        }
    }

    for pair in &counts.pairs {
        println!(
            "{:>7} {:>4} calls to {:<12} {:?}",
            pair.protocol, pair.calls, pair.server.pod, pair.by
        );
    }

    // 2. No call is reported twice: the tester's calls cross nodes, and only
    //    the client's node (the tester's) reports them.
    let reporters: BTreeSet<&str> = delivered
        .iter()
        .filter(|d| d.entry.src.ip.to_string() == tester_ip)
        .map(|d| d.node.as_str())
        .collect();
    assert_eq!(reporters, BTreeSet::from([tester.node.as_str()]));
    // The same call (addresses, ports, request time) never comes from two
    // nodes. (One node may report several calls with one key: HTTP/2
    // streams multiplexed into one segment.)
    let mut reported_by: BTreeMap<_, BTreeSet<&str>> = BTreeMap::new();
    for d in delivered {
        let key = (
            d.entry.src.ip,
            d.entry.src.port,
            d.entry.dst.ip,
            d.entry.dst.port,
            d.entry.timestamp_us,
        );
        reported_by.entry(key).or_default().insert(d.node.as_str());
    }
    for (key, by) in &reported_by {
        assert_eq!(by.len(), 1, "{key:?} reported by {by:?}");
    }

    // 3. L4 bytes of the tester's flows equal its interface's kernel counters.
    std::thread::sleep(Duration::from_millis(1500)); // two snapshot intervals
    let kernel_after = kernel_ip_totals(&tester.host_if);
    let l4_tester = |node: &str| -> (u64, u64) {
        let snap = viewer.latest_snapshot(node).expect("snapshot");
        let mut bytes = 0;
        let mut packets = 0;
        for c in &snap.counters {
            let client = &snap.identities[c.client as usize];
            let server = &snap.identities[c.server as usize];
            if client.ip.to_string() == tester_ip || server.ip.to_string() == tester_ip {
                bytes += c.bytes_to_server + c.bytes_to_client;
                packets += c.packets_to_server + c.packets_to_client;
            }
        }
        (bytes, packets)
    };
    let (l4_bytes, l4_packets) = l4_tester(&tester.node);
    let kernel_bytes = kernel_after.0 - kernel_before.0;
    let kernel_packets = kernel_after.1 - kernel_before.1;
    // Steady traffic is off, so the tester's veth carried only the scripted
    // calls. The kernel also counts ARP and ICMPv6 neighbour discovery
    // frames, which are not TCP/UDP flows: allow for a handful of those.
    println!(
        "tester L4: {l4_packets} packets, {l4_bytes} IP bytes; kernel: {kernel_packets} packets, {kernel_bytes} IP bytes"
    );
    let packet_gap = l4_packets.abs_diff(kernel_packets);
    assert!(
        packet_gap <= 20,
        "packets: L4 {l4_packets}, kernel {kernel_packets}"
    );
    assert!(
        l4_bytes.abs_diff(kernel_bytes) <= 20 * 80,
        "IP bytes: L4 {l4_bytes}, kernel {kernel_bytes}"
    );
    assert!(
        l4_packets > 100,
        "the scripted traffic was counted: {l4_packets} packets"
    );
    // No other node reports the tester's flows.
    for node in nodes.iter().filter(|n| **n != tester.node) {
        assert_eq!(l4_tester(node), (0, 0), "{node} reports the tester's flows");
    }

    for p in probes {
        let status = p.terminate().expect("probe stops");
        assert!(status.success(), "probe exits cleanly on SIGTERM: {status}");
    }
    lab.down();
}
