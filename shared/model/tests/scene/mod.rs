//! Builders for small, readable test scenes.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};

use wiremap_wire::{
    Detail, Entry, Identity, IdentityKind, L4Counter, L4Snapshot, L7Batch, Peer, Protocol,
};

pub fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

pub fn pod(ns: &str, name: &str, node: &str, workload: &str, last: u8) -> Identity {
    let mut id = Identity::external(ip(last));
    id.kind = IdentityKind::POD;
    id.name = name.into();
    id.namespace = ns.into();
    id.node = node.into();
    id.workload = workload.into();
    id.workload_kind = if workload.is_empty() {
        ""
    } else {
        "Deployment"
    }
    .into();
    id
}

pub fn service(ns: &str, name: &str, last: u8) -> Identity {
    let mut id = Identity::external(ip(last));
    id.kind = IdentityKind::SERVICE;
    id.name = name.into();
    id.service = name.into();
    id.namespace = ns.into();
    id.service_namespace = ns.into();
    id
}

pub fn external(a: u8, b: u8, c: u8, d: u8) -> Identity {
    Identity::external(IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
}

/// An entry from identity index `src` to `dst` of its batch.
#[allow(clippy::too_many_arguments)]
pub fn entry(
    id: u64,
    ts_us: i64,
    protocol: Protocol,
    src: u32,
    dst: u32,
    request: u64,
    response: u64,
    elapsed_us: i64,
    error: bool,
) -> Entry {
    Entry {
        id,
        timestamp_us: ts_us,
        elapsed_us,
        protocol,
        src: Peer {
            ip: ip(200),
            port: 40000,
            identity: src,
        },
        dst: Peer {
            ip: ip(201),
            port: 80,
            identity: dst,
        },
        conn_id: id,
        transport_udp: protocol == Protocol::DNS,
        request_size: request,
        response_size: response,
        status_code: if error { 500 } else { 200 },
        error,
        has_response: elapsed_us > 0,
        detail: Detail::None,
    }
}

pub fn batch(node: &str, seq: u64, identities: Vec<Identity>, entries: Vec<Entry>) -> L7Batch {
    L7Batch {
        node: node.into(),
        epoch: 1,
        seq,
        identities,
        entries,
    }
}

/// A counter between identity indices with given cumulative values.
pub fn counter(client: u32, server: u32, to_server: u64, to_client: u64, pkts: u64) -> L4Counter {
    L4Counter {
        client,
        server,
        server_port: 80,
        ip_proto: 6,
        bytes_to_server: to_server,
        bytes_to_client: to_client,
        packets_to_server: pkts,
        packets_to_client: pkts,
        flows: 1,
        open_flows: 1,
    }
}

pub fn snapshot(
    node: &str,
    epoch: u64,
    seq: u64,
    at_s: i64,
    identities: Vec<Identity>,
    counters: Vec<L4Counter>,
) -> L4Snapshot {
    L4Snapshot {
        node: node.into(),
        epoch,
        seq,
        taken_at_us: at_s * 1_000_000,
        identities,
        counters,
    }
}

/// The identities of the standard scene:
/// 0 shop/web-1 (node a, deploy web), 1 shop/web-2 (node b, deploy web),
/// 2 shop/db-0 (node b, no workload), 3 pay/api-1 (node a, deploy api),
/// 4 external 8.8.8.8, 5 external 1.1.1.1, 6 shop/svc-cache (service).
pub fn scene_identities() -> Vec<Identity> {
    vec![
        pod("shop", "web-1", "node-a", "web", 1),
        pod("shop", "web-2", "node-b", "web", 2),
        pod("shop", "db-0", "node-b", "", 3),
        pod("pay", "api-1", "node-a", "api", 4),
        external(8, 8, 8, 8),
        external(1, 1, 1, 1),
        service("shop", "cache", 6),
    ]
}
