//! The direct JSON writer of `--output jsonl` against the reference
//! (`wiremap_wire::json::entry_to_json` serialised by serde_json): the same
//! bytes for every entry of a real capture and for hand-made odd ones.

mod support;

use std::net::IpAddr;

use wiremap_probe::entry_json::EntryWriter;
use wiremap_probe::identity::IdentityMap;
use wiremap_probe::pcap::CaptureReader;
use wiremap_probe::pipeline::{Output, Pipeline, PipelineConfig};
use wiremap_wire::json::entry_to_json;
use wiremap_wire::{
    Detail, Dns, Entry, EntryView, Frame, Grpc, Http, Identity, IdentityKind, Kafka, L7Batch, Peer,
    Protocol, Redis,
};

fn reference(b: &L7Batch) -> String {
    let mut s = String::new();
    for e in &b.entries {
        let src = b
            .identity(e.src.identity)
            .cloned()
            .unwrap_or_else(|| Identity::external(e.src.ip));
        let dst = b
            .identity(e.dst.identity)
            .cloned()
            .unwrap_or_else(|| Identity::external(e.dst.ip));
        let view = EntryView {
            entry: e,
            src: &src,
            dst: &dst,
            node: &b.node,
        };
        s.push_str(&serde_json::to_string(&entry_to_json(&view)).unwrap());
        s.push('\n');
    }
    s
}

fn ours(b: &L7Batch) -> String {
    let mut out = Vec::new();
    EntryWriter::new().write_batch(&mut out, b);
    // Written in chunks to a writer: the same bytes.
    for chunk in [1, 1000, usize::MAX] {
        let (mut w, mut buf) = (Vec::new(), b"stale".to_vec());
        EntryWriter::new()
            .write_batch_to(&mut w, &mut buf, b, chunk)
            .unwrap();
        assert_eq!(w, out, "chunks of {chunk}");
    }
    String::from_utf8(out).expect("UTF-8")
}

#[test]
fn every_entry_of_the_real_capture_is_written_as_the_reference_writes_it() {
    let (_dir, path) = support::mixed_small();
    let data = std::fs::read(&path).unwrap();
    let mut r = CaptureReader::new(&data[..]).unwrap();
    let mut p = Pipeline::new(PipelineConfig::new("node-a", 1), IdentityMap::new());
    let mut outs = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        p.on_frame(rec.ts_us, rec.link, rec.data, &mut outs);
    }
    p.finish(&mut outs);
    let mut entries = 0;
    let mut protocols = std::collections::BTreeSet::new();
    for o in &outs {
        if let Output::Frame(Frame::L7Batch(b)) = o {
            entries += b.entries.len();
            protocols.extend(b.entries.iter().map(|e| e.protocol.name()));
            assert_eq!(ours(b), reference(b));
        }
    }
    assert!(entries > 6000, "the capture holds thousands of entries");
    assert_eq!(
        protocols.into_iter().collect::<Vec<_>>(),
        ["DNS", "HTTP", "HTTP/2", "Kafka", "Redis", "gRPC"]
    );
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pod(ip_s: &str) -> Identity {
    let mut id = Identity::external(ip(ip_s));
    id.kind = IdentityKind::POD;
    id.name = "web-7\"x".into();
    id.namespace = "shop".into();
    id.node = "node-a".into();
    id.service = "web".into();
    id.service_namespace = "shop".into();
    id.workload = "web".into();
    id.workload_kind = "Deployment".into();
    // Not sorted, with a repeated key: the reference keeps the last value.
    id.labels = vec![
        ("z".into(), "1".into()),
        ("app".into(), "web\n".into()),
        ("z".into(), "2".into()),
    ];
    id.dns = "web.shop.svc".into();
    id
}

fn entry(i: u64, detail: Detail, protocol: Protocol) -> Entry {
    Entry {
        id: i,
        timestamp_us: -1_500_000 + i as i64,
        elapsed_us: -3,
        protocol,
        src: Peer {
            ip: ip("10.0.0.1"),
            port: 40000,
            identity: 0,
        },
        dst: Peer {
            ip: ip("10.0.0.2"),
            port: 80,
            identity: 7, // out of range: an external peer
        },
        conn_id: u64::MAX,
        transport_udp: i.is_multiple_of(2),
        request_size: 1,
        response_size: 2,
        status_code: -1,
        error: true,
        has_response: false,
        detail,
    }
}

#[test]
fn odd_identities_and_every_detail_are_written_as_the_reference_writes_them() {
    let mut other = pod("10.0.0.9");
    other.kind = IdentityKind(42);
    let http = Http {
        method: "GET".into(),
        url: "/a?b=1&b=2".into(),
        path: "/a".into(),
        http_version: "HTTP/1.1".into(),
        query_string: vec![("b".into(), "1".into()), ("b".into(), "2".into())],
        request_headers: vec![("x".into(), "\u{1}\t".into()), ("a".into(), "✓".into())],
        response_headers: vec![("a".into(), "1".into()), ("b".into(), "2".into())],
        request_cookies: vec![("s".into(), "[redacted]".into())],
        response_cookies: Vec::new(),
        request_headers_size: 10,
        request_body_size: 0,
        response_headers_size: 20,
        response_body_size: u64::MAX,
        grpc: None,
    };
    let mut grpc = http.clone();
    grpc.grpc = Some(Grpc {
        service: "pkg.Svc".into(),
        method: "Call".into(),
        status: i32::MIN,
    });
    let b = L7Batch {
        node: "node \"a\"".into(),
        epoch: 1,
        seq: 1,
        identities: vec![pod("10.0.0.1"), other.clone(), other],
        entries: vec![
            entry(1, Detail::None, Protocol::TCP),
            entry(2, Detail::Http(Box::new(http)), Protocol::HTTP),
            entry(3, Detail::Http(Box::new(grpc)), Protocol::GRPC),
            entry(
                4,
                Detail::Dns(Box::new(Dns {
                    questions: vec!["a.b".into(), "c\\d".into()],
                    question_types: vec!["A".into()],
                    answers: Vec::new(),
                    request: true,
                    response: false,
                    rcode: 255,
                    truncated: true,
                    request_length: 40,
                    response_length: u64::MAX,
                })),
                Protocol::DNS,
            ),
            entry(
                5,
                Detail::Redis(Box::new(Redis {
                    command_type: "SET".into(),
                    command: "SET k \"v\"".into(),
                    key: "k".into(),
                    error_reply: true,
                })),
                Protocol::REDIS,
            ),
            entry(
                6,
                Detail::Kafka(Box::new(Kafka {
                    api_key: -5,
                    api_version: 13,
                    correlation_id: i32::MIN,
                    client_id: "c".into(),
                    request_summary: "topic".into(),
                    error_code: -1,
                    request: true,
                    response: true,
                })),
                Protocol::KAFKA,
            ),
            entry(7, Detail::None, Protocol(200)),
        ],
    };
    // A peer whose identity was resolved for another address, and peers
    // sharing an identity index with different ports.
    let mut b2 = b.clone();
    b2.entries[0].src.identity = 1;
    b2.entries[1].src.identity = 2;
    b2.entries[1].src.port = 1;
    b2.entries[2].dst.identity = 2;
    b2.entries[2].dst.ip = ip("::1");
    for batch in [&b, &b2] {
        assert_eq!(ours(batch), reference(batch));
    }
}

/// A flow line as `--output jsonl` wrote it before the direct writer.
fn flow_reference(r: &wiremap_probe::pipeline::FlowRecord, node: &str) -> String {
    serde_json::to_string(&wiremap_probe::jsonl::flow_to_json(r, node)).unwrap()
}

fn flow_ours(w: &mut EntryWriter, r: &wiremap_probe::pipeline::FlowRecord, node: &str) -> String {
    let mut out = Vec::new();
    w.write_flow(&mut out, r, node);
    String::from_utf8(out).expect("UTF-8")
}

#[test]
fn every_flow_of_the_real_capture_is_written_as_the_reference_writes_it() {
    let (_dir, path) = support::mixed_small();
    let data = std::fs::read(&path).unwrap();
    let mut r = wiremap_probe::pcap::SliceReader::from_slice(&data).unwrap();
    let mut cfg = PipelineConfig::new("node-a", 1);
    cfg.emit_flows = true;
    let mut p = Pipeline::new(cfg, IdentityMap::new());
    let mut outs = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        p.on_frame(rec.ts_us, rec.link, rec.data, &mut outs);
    }
    p.finish(&mut outs);
    let mut w = EntryWriter::new();
    let mut flows = 0;
    for o in &outs {
        if let Output::FlowEnded(f) = o {
            flows += 1;
            assert_eq!(flow_ours(&mut w, f, "node-a"), flow_reference(f, "node-a"));
        }
    }
    assert_eq!(flows, 320);
}

#[test]
fn odd_flows_are_written_as_the_reference_writes_them() {
    use wiremap_dissect::Endpoint;
    use wiremap_probe::flow::{EndReason, Flow, TcpState};
    use wiremap_probe::pipeline::FlowRecord;
    let mut w = EntryWriter::new();
    let mut other = pod("10.0.0.9");
    other.kind = IdentityKind(42);
    other.ip = ip("fe80::1");
    let ends = [
        Some(EndReason::Idle),
        Some(EndReason::Closed),
        Some(EndReason::Reused),
        Some(EndReason::Evicted),
        Some(EndReason::Drained),
        None,
    ];
    for (i, end) in ends.into_iter().enumerate() {
        for proto in [6u8, 17, 1, 255] {
            let r = FlowRecord {
                flow: Flow {
                    id: i as u64,
                    ip_proto: proto,
                    client: Endpoint {
                        ip: ip("10.0.0.1"),
                        port: 40000,
                    },
                    server: Endpoint {
                        ip: ip("::1"),
                        port: u16::MAX,
                    },
                    first_us: -1_500_001 + i as i64 * 700_000,
                    last_us: 1_764_000_000_123_450 + i as i64,
                    bytes_to_server: u64::MAX,
                    bytes_to_client: 0,
                    packets_to_server: 3,
                    packets_to_client: i as u64,
                    tcp: TcpState {
                        syn: i % 2 == 0,
                        syn_ack: i % 3 == 0,
                        fin_from_client: i == 1,
                        fin_from_server: i == 2,
                        rst: i == 3,
                    },
                    report: true,
                    dissect: None,
                    slot: None,
                    end,
                },
                client: pod("10.0.0.1"),
                server: if i % 2 == 0 {
                    other.clone()
                } else {
                    Identity::external(ip("::1"))
                },
            };
            for node in ["node-a", "n\"ode\u{1}"] {
                assert_eq!(flow_ours(&mut w, &r, node), flow_reference(&r, node));
            }
        }
    }
}
