//! The pipeline end to end on a synthetic HTTP conversation: capture
//! filters gate L7 but never L4, batches carry their identity table, and
//! snapshots are cumulative.

mod support;

use support::*;
use wiremap_probe::decode::LinkType;
use wiremap_probe::pipeline::{Output, Pipeline, PipelineConfig};
use wiremap_probe::topology::Topology;
use wiremap_wire::{CaptureFilter, Frame, L4Snapshot, L7Batch};

const TOPO: &str = "pods:\n  - {name: client-0, namespace: shop, ip: \"10.1.0.1\", node: node-a}\n  - {name: web-0, namespace: shop, ip: \"10.1.0.2\", node: node-a}\n";

/// `n` HTTP/1.1 exchanges, each on its own connection, 10 ms apart.
fn conversation(n: u16) -> Vec<(i64, Vec<u8>)> {
    let (c, s) = ("10.1.0.1", "10.1.0.2");
    let mut v = Vec::new();
    let mut ts = 1_700_000_000_000_000i64;
    for i in 0..n {
        let port = 40000 + i;
        let req =
            format!("GET /item/{i} HTTP/1.1\r\nHost: web\r\nAuthorization: Bearer xyz\r\n\r\n");
        let body = "ok";
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut push =
            |src: &str, sp: u16, dst: &str, dp: u16, seq: u32, ack_flags: u8, data: &[u8]| {
                ts += 100;
                v.push((
                    ts,
                    eth4(&ipv4(
                        v4(src),
                        v4(dst),
                        6,
                        (ts % 65536) as u16,
                        &tcp(sp, dp, seq, ack_flags, data),
                    )),
                ));
            };
        push(c, port, s, 80, 100, SYN, b"");
        push(s, 80, c, port, 500, SYN | ACK, b"");
        push(c, port, s, 80, 101, ACK, b"");
        push(c, port, s, 80, 101, ACK | PSH, req.as_bytes());
        push(s, 80, c, port, 501, ACK | PSH, resp.as_bytes());
        push(c, port, s, 80, 101 + req.len() as u32, ACK | FIN, b"");
        push(s, 80, c, port, 501 + resp.len() as u32, ACK | FIN, b"");
        ts += 10_000;
    }
    v
}

fn run(
    filter: Option<CaptureFilter>,
    frames: &[(i64, Vec<u8>)],
) -> (Vec<L7Batch>, Vec<L4Snapshot>) {
    let ids = Topology::parse(TOPO).unwrap().identities();
    let mut p = Pipeline::new(PipelineConfig::new("node-a", 7), ids);
    if let Some(f) = filter {
        p.set_capture_filter(&f).expect("valid filter");
    }
    let mut out = Vec::new();
    for (ts, f) in frames {
        p.on_frame(*ts, Some(LinkType::Ethernet), f, &mut out);
    }
    p.finish(&mut out);
    let mut batches = Vec::new();
    let mut snaps = Vec::new();
    for o in out {
        match o {
            Output::Frame(Frame::L7Batch(b)) => batches.push(b),
            Output::Frame(Frame::L4Snapshot(s)) => snaps.push(s),
            _ => {}
        }
    }
    (batches, snaps)
}

fn filter(pod_regex: &str, ns: &[&str], exclude: &[&str]) -> CaptureFilter {
    CaptureFilter {
        pod_regex: pod_regex.into(),
        namespaces: ns.iter().map(|s| s.to_string()).collect(),
        exclude_namespaces: exclude.iter().map(|s| s.to_string()).collect(),
        revision: 1,
    }
}

fn entries(b: &[L7Batch]) -> usize {
    b.iter().map(|b| b.entries.len()).sum()
}

fn last_bytes(s: &[L4Snapshot]) -> u64 {
    s.last()
        .unwrap()
        .counters
        .iter()
        .map(|c| c.bytes_to_server + c.bytes_to_client)
        .sum()
}

#[test]
fn capture_filters_gate_l7_but_never_l4() {
    let conv = conversation(20);
    let (all, all_snaps) = run(None, &conv);
    assert_eq!(
        entries(&all),
        20,
        "every exchange is an entry without a filter"
    );
    let cases = [
        (filter("web", &[], &[]), 20),
        (filter("^eb", &[], &[]), 0),
        (filter("eb-", &[], &[]), 20), // unanchored
        (filter("", &["shop"], &[]), 20),
        (filter("", &["other"], &[]), 0),
        (filter("", &[], &["shop"]), 0),
        (filter("client", &["shop"], &[]), 20),
    ];
    for (f, want) in cases {
        let (b, snaps) = run(Some(f.clone()), &conv);
        assert_eq!(entries(&b), want, "filter {f:?}");
        assert_eq!(
            last_bytes(&snaps),
            last_bytes(&all_snaps),
            "L4 is unaffected by {f:?}"
        );
    }
}

#[test]
fn batches_carry_their_identities_and_secrets_are_redacted() {
    let (batches, _) = run(None, &conversation(5));
    for b in &batches {
        assert_eq!((b.node.as_str(), b.epoch), ("node-a", 7));
        for e in &b.entries {
            let src = b.identity(e.src.identity).expect("src index in range");
            let dst = b.identity(e.dst.identity).expect("dst index in range");
            assert_eq!((src.ip, src.name.as_str()), (e.src.ip, "client-0"));
            assert_eq!((dst.ip, dst.name.as_str()), (e.dst.ip, "web-0"));
            let wiremap_wire::Detail::Http(h) = &e.detail else {
                panic!("HTTP entry expected");
            };
            let auth = h.request_headers.iter().find(|(k, _)| k == "authorization");
            assert_eq!(auth.map(|(_, v)| v.as_str()), Some("[REDACTED]"));
        }
    }
}

#[test]
fn snapshots_are_cumulative_and_count_every_ip_byte() {
    let conv = conversation(300);
    let (_, snaps) = run(None, &conv);
    assert!(
        snaps.len() >= 3,
        "3 s of packet time gives several snapshots"
    );
    let mut prev = 0;
    for (i, s) in snaps.iter().enumerate() {
        assert_eq!(s.seq, i as u64 + 1);
        let b: u64 = s
            .counters
            .iter()
            .map(|c| c.bytes_to_server + c.bytes_to_client)
            .sum();
        assert!(b >= prev, "snapshot {i} went back");
        prev = b;
    }
    let ip_bytes: u64 = conv.iter().map(|(_, f)| (f.len() - 14) as u64).sum();
    assert_eq!(prev, ip_bytes);
    let last = snaps.last().unwrap();
    assert_eq!(last.counters.len(), 1, "one workload pair, one port");
    let c = &last.counters[0];
    assert_eq!((c.flows, c.server_port, c.ip_proto), (300, 80, 6));
    assert_eq!(last.identities[c.client as usize].name, "client-0");
}
