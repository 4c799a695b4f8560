//! The offline path on a real capture made here (mixed-small.pcap: HTTP/1,
//! HTTP/2, gRPC, DNS, Redis, Kafka between real servers and clients):
//! the reader, and per-flow bytes and packets checked against tshark.

mod support;

use std::collections::HashMap;
use std::process::Command;

use serde_json::Value;
use wiremap_probe::pcap::CaptureReader;

/// (proto, lower endpoint, higher endpoint, lo→hi packets, lo→hi bytes,
/// hi→lo packets, hi→lo bytes)
type Conv = (String, String, String, u64, u64, u64, u64);

fn conv(proto: &str, a: String, b: String, a_to_b: (u64, u64), b_to_a: (u64, u64)) -> Conv {
    if a <= b {
        (proto.into(), a, b, a_to_b.0, a_to_b.1, b_to_a.0, b_to_a.1)
    } else {
        (proto.into(), b, a, b_to_a.0, b_to_a.1, a_to_b.0, a_to_b.1)
    }
}

#[test]
fn reader_sees_every_record_of_the_real_capture() {
    let (_dir, path) = support::mixed_small();
    let mut r = CaptureReader::new(std::fs::File::open(&path).unwrap()).expect("pcap header");
    let mut n = 0u64;
    let mut last = 0i64;
    while let Some(rec) = r.next_record().expect("valid capture") {
        assert!(rec.link.is_some(), "Ethernet link type is supported");
        assert!(
            rec.ts_us >= last,
            "timestamps never go back in this capture"
        );
        last = rec.ts_us;
        n += 1;
    }
    // capinfos and the capture's own truth file say 18,363 packets.
    let truth = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/captures/mixed-small.truth.txt"
    ))
    .expect("truth file");
    let expected: u64 = truth
        .lines()
        .find_map(|l| l.strip_suffix(" packets captured"))
        .and_then(|n| n.trim().parse().ok())
        .expect("truth file names the packet count");
    assert_eq!(n, expected);
}

#[test]
fn per_flow_bytes_and_packets_equal_tsharks() {
    let (_dir, path) = support::mixed_small();
    let out = Command::new(env!("CARGO_BIN_EXE_wiremap-probe"))
        .args(["--node", "node-a", "--output", "jsonl", "--pcap"])
        .arg(&path)
        .output()
        .expect("probe runs");
    assert!(
        out.status.success(),
        "probe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut ours: Vec<Conv> = Vec::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).expect("each line is JSON");
        if v["kind"] != "l4" {
            continue;
        }
        let ep = |s: &Value| format!("{}:{}", s["ip"].as_str().unwrap(), s["port"]);
        let n = |k: &str| v[k].as_u64().unwrap();
        ours.push(conv(
            v["proto"].as_str().unwrap(),
            ep(&v["client"]),
            ep(&v["server"]),
            (n("packets_to_server"), n("bytes_to_server")),
            (n("packets_to_client"), n("bytes_to_client")),
        ));
    }
    assert!(
        ours.len() > 100,
        "the capture has hundreds of flows, got {}",
        ours.len()
    );

    if Command::new("tshark").arg("--version").output().is_err() {
        println!("SKIPPED the tshark comparison: tshark is not installed (apt-get install tshark)");
        return;
    }
    // tshark's conversation table (-z conv,tcp) prints bytes rounded to kB,
    // so the oracle is tshark's own per-packet fields summed per tcp.stream
    // / udp.stream: the same conversations, exact bytes.
    let t = Command::new("tshark")
        .args(["-r"])
        .arg(&path)
        .args(["-T", "fields", "-E", "separator=/t"])
        .args([
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "ip.len",
            "-e",
            "icmp.type",
        ])
        .args(["-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.dstport"])
        .args(["-e", "udp.stream", "-e", "udp.srcport", "-e", "udp.dstport"])
        .output()
        .expect("tshark runs");
    assert!(
        t.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&t.stderr)
    );
    // (proto, stream) → (a, b, a→b, b→a)
    type Dir = (u64, u64);
    let mut streams: HashMap<(String, String), (String, String, Dir, Dir)> = HashMap::new();
    for line in String::from_utf8(t.stdout).unwrap().lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 10 || !f[3].is_empty() || f[0].contains(',') {
            continue; // not IPv4 TCP/UDP, or ICMP quoting a packet
        }
        let (proto, stream, sp, dp) = if !f[4].is_empty() {
            ("TCP", f[4], f[5], f[6])
        } else if !f[7].is_empty() {
            ("UDP", f[7], f[8], f[9])
        } else {
            continue;
        };
        let len: u64 = f[2].parse().expect("ip.len");
        let src = format!("{}:{sp}", f[0]);
        let dst = format!("{}:{dp}", f[1]);
        let e = streams
            .entry((proto.to_string(), stream.to_string()))
            .or_insert_with(|| (src.clone(), dst.clone(), (0, 0), (0, 0)));
        let d = if e.0 == src { &mut e.2 } else { &mut e.3 };
        d.0 += 1;
        d.1 += len;
    }
    let mut theirs: Vec<Conv> = streams
        .into_iter()
        .map(|((proto, _), (a, b, ab, ba))| conv(&proto, a, b, ab, ba))
        .collect();
    ours.sort();
    theirs.sort();
    let only_ours: Vec<_> = ours
        .iter()
        .filter(|c| !theirs.contains(c))
        .take(5)
        .collect();
    let only_theirs: Vec<_> = theirs
        .iter()
        .filter(|c| !ours.contains(c))
        .take(5)
        .collect();
    assert_eq!(
        ours.len(),
        theirs.len(),
        "flow count differs; only ours: {only_ours:?}; only tshark's: {only_theirs:?}"
    );
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "flows differ; only ours: {only_ours:?}; only tshark's: {only_theirs:?}"
    );
}
