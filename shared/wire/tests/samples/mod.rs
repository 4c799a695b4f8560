//! One representative frame of every kind, shared by the wire tests.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use wiremap_wire::*;

pub fn pod(ip: [u8; 4], name: &str, ns: &str, node: &str) -> Identity {
    Identity {
        kind: IdentityKind::POD,
        ip: IpAddr::V4(Ipv4Addr::from(ip)),
        name: name.into(),
        namespace: ns.into(),
        node: node.into(),
        service: format!("{name}-svc"),
        service_namespace: ns.into(),
        workload: name.trim_end_matches("-0").into(),
        workload_kind: "Deployment".into(),
        labels: vec![("app".into(), name.into())],
        dns: String::new(),
    }
}

fn entry(id: u64, protocol: Protocol, detail: Detail) -> Entry {
    Entry {
        id,
        timestamp_us: 1_764_000_000_000_000 + id as i64,
        elapsed_us: 1500,
        protocol,
        src: Peer {
            ip: IpAddr::V4(Ipv4Addr::new(10, 244, 1, 2)),
            port: 40000,
            identity: 0,
        },
        dst: Peer {
            ip: IpAddr::V4(Ipv4Addr::new(10, 244, 2, 3)),
            port: 80,
            identity: 1,
        },
        conn_id: 7,
        transport_udp: false,
        request_size: 120,
        response_size: 3400,
        status_code: 200,
        error: false,
        has_response: true,
        detail,
    }
}

/// Every frame kind, with every Detail variant in the L7 batch.
pub fn all_frames() -> Vec<Frame> {
    let idents = vec![
        pod([10, 244, 1, 2], "frontend-0", "shop", "node-a"),
        pod([10, 244, 2, 3], "catalog-0", "shop", "node-b"),
        Identity::external(IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ];
    let http = Http {
        method: "GET".into(),
        url: "/api/v1/items?x=1".into(),
        path: "/api/v1/items".into(),
        http_version: "HTTP/1.1".into(),
        query_string: vec![("x".into(), "1".into())],
        request_headers: vec![("host".into(), "catalog".into())],
        response_headers: vec![("content-type".into(), "application/json".into())],
        request_headers_size: 80,
        request_body_size: 0,
        response_headers_size: 120,
        response_body_size: 3280,
        grpc: None,
        ..Http::default()
    };
    let grpc = Http {
        grpc: Some(Grpc {
            service: "shop.Catalog".into(),
            method: "List".into(),
            status: 5,
        }),
        ..http.clone()
    };
    let dns = Dns {
        questions: vec!["catalog.shop.svc.cluster.local".into()],
        question_types: vec!["A".into()],
        answers: vec!["10.96.0.10".into()],
        request: true,
        response: true,
        rcode: 0,
        truncated: false,
        request_length: 48,
        response_length: 64,
    };
    let redis = Redis {
        command_type: "GET".into(),
        command: "GET session:42".into(),
        key: "session:42".into(),
        error_reply: false,
    };
    let kafka = Kafka {
        api_key: 0,
        api_version: 9,
        correlation_id: 3,
        client_id: "checkout".into(),
        request_summary: "orders".into(),
        error_code: 0,
        request: true,
        response: true,
    };
    vec![
        Frame::Hello(Hello {
            node: "node-a".into(),
            probe_version: "0.1.0".into(),
            epoch: 1_764_000_000_000_000,
        }),
        Frame::L4Snapshot(L4Snapshot {
            node: "node-a".into(),
            epoch: 1_764_000_000_000_000,
            seq: 3,
            taken_at_us: 1_764_000_003_000_000,
            identities: idents.clone(),
            counters: vec![L4Counter {
                client: 0,
                server: 1,
                server_port: 80,
                ip_proto: 6,
                bytes_to_server: 1_000,
                bytes_to_client: 90_000,
                packets_to_server: 12,
                packets_to_client: 70,
                flows: 2,
                open_flows: 1,
            }],
        }),
        Frame::L7Batch(L7Batch {
            node: "node-a".into(),
            epoch: 1_764_000_000_000_000,
            seq: 9,
            identities: idents.clone(),
            entries: vec![
                entry(1, Protocol::HTTP, Detail::Http(Box::new(http))),
                entry(2, Protocol::GRPC, Detail::Http(Box::new(grpc))),
                entry(3, Protocol::DNS, Detail::Dns(Box::new(dns))),
                entry(4, Protocol::REDIS, Detail::Redis(Box::new(redis))),
                entry(5, Protocol::KAFKA, Detail::Kafka(Box::new(kafka))),
                entry(6, Protocol(200), Detail::None),
            ],
        }),
        Frame::Inventory(Inventory {
            node: "node-a".into(),
            epoch: 1_764_000_000_000_000,
            nodes: vec![NodeInfo {
                name: "node-a".into(),
                ips: vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))],
            }],
            identities: idents,
        }),
        Frame::ProbeStats(ProbeStats {
            node: "node-a".into(),
            epoch: 1_764_000_000_000_000,
            taken_at_us: 1_764_000_003_000_000,
            counters: vec![("packets".into(), 18_363), ("kernel_drops".into(), 0)],
        }),
        Frame::CaptureFilter(CaptureFilter {
            pod_regex: "^front".into(),
            namespaces: vec!["shop".into()],
            exclude_namespaces: vec!["kube-system".into()],
            revision: 4,
        }),
        Frame::RelayNotice(RelayNotice::Dropped {
            l7_batches: 12,
            bytes: 6_144,
        }),
        Frame::RelayNotice(RelayNotice::Status {
            probes: vec!["node-a".into(), "node-b".into()],
            viewers: 3,
            relay_version: "0.1.0".into(),
        }),
    ]
}

/// A xorshift generator of `u64`s from `seed` (not zero), for corruption
/// tests.
pub fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
