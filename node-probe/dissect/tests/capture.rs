//! The real capture in shared/traffic (real servers and clients, see its
//! README) against the clients' own counts in its truth file, and against
//! tshark when it is installed.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::pcap;
use wiremap_dissect::Dissector;
use wiremap_wire::{Detail, Entry, Protocol};

const CAPTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/captures/mixed-small.pcap.xz"
);

fn capture() -> PathBuf {
    let p = PathBuf::from(CAPTURE);
    assert!(
        p.exists(),
        "the capture {CAPTURE} is missing: it ships in shared/traffic/captures"
    );
    p
}

/// The truth file: `key: rest` lines.
fn truth() -> String {
    let p = capture().with_extension("").with_extension("truth.txt");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("truth file {}: {e}", p.display()))
}

/// The number right before `label` in the truth line starting with `key`.
fn truth_num(truth: &str, key: &str, label: &str) -> u64 {
    let line = truth
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no line {key}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let i = words
        .iter()
        .position(|w| w.trim_end_matches([',', ':']) == label)
        .unwrap_or_else(|| panic!("no {label} in {line}"));
    words[i - 1]
        .trim_end_matches(',')
        .parse()
        .unwrap_or_else(|_| panic!("number before {label} in {line}"))
}

/// The number right after `label` in the truth line starting with `key`.
fn truth_after(truth: &str, key: &str, label: &str) -> u64 {
    let line = truth
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no line {key}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let i = words
        .iter()
        .position(|w| *w == label)
        .unwrap_or_else(|| panic!("no {label} in {line}"));
    words[i + 1]
        .trim_end_matches(',')
        .parse()
        .unwrap_or_else(|_| panic!("number after {label} in {line}"))
}

fn entries() -> (Vec<Entry>, Vec<(String, u64)>) {
    let bytes = pcap::read_xz(&capture());
    let mut d = Dissector::new();
    let out = pcap::dissect(&bytes, &mut d);
    (out, d.counters())
}

fn by_protocol(es: &[Entry], p: Protocol) -> Vec<&Entry> {
    es.iter().filter(|e| e.protocol == p).collect()
}

fn status_classes(es: &[&Entry]) -> BTreeMap<i32, u64> {
    let mut m = BTreeMap::new();
    for e in es {
        *m.entry(e.status_code / 100).or_default() += 1;
    }
    m
}

#[test]
fn capture_matches_the_clients_counts() {
    let (es, counters) = entries();
    let t = truth();
    eprintln!("counters: {counters:?}");
    let mut per: BTreeMap<&str, u64> = BTreeMap::new();
    for e in &es {
        *per.entry(e.protocol.name()).or_default() += 1;
    }
    eprintln!("entries per protocol: {per:?}");

    // HTTP/1: the ab-style load (400) plus the short connections (160).
    let http1 = by_protocol(&es, Protocol::HTTP);
    let want_h1 = truth_num(&t, "http1 requests", "total")
        + truth_after(&t, "http1-short (new conn each) Complete", "requests:");
    assert_eq!(http1.len() as u64, want_h1, "HTTP/1 entries");
    assert!(
        http1.iter().all(|e| e.has_response),
        "every HTTP/1 request was answered"
    );
    let classes = status_classes(&http1);
    eprintln!("http1 classes {classes:?}");
    for (class, label) in [(2, "2xx"), (3, "3xx"), (4, "4xx"), (5, "5xx")] {
        let mut want = truth_num(&t, "http1 status codes", label);
        if class == 2 {
            want += truth_after(&t, "http1-short (new conn each) Complete", "requests:");
        }
        assert_eq!(
            classes.get(&class).copied().unwrap_or(0),
            want,
            "HTTP/1 {label}"
        );
    }
    assert_eq!(
        http1.iter().filter(|e| e.error).count() as u64,
        truth_num(&t, "http1 status codes", "5xx"),
        "HTTP/1 errors are the 5xx"
    );

    // HTTP/2 (h2load) and gRPC (grpcio).
    let h2 = by_protocol(&es, Protocol::HTTP2);
    assert_eq!(
        h2.len() as u64,
        truth_num(&t, "http2 requests", "total"),
        "HTTP/2 entries"
    );
    let classes = status_classes(&h2);
    eprintln!("http2 classes {classes:?}");
    for (class, label) in [(2, "2xx"), (3, "3xx"), (4, "4xx"), (5, "5xx")] {
        let want = truth_num(&t, "http2 status codes", label);
        assert_eq!(
            classes.get(&class).copied().unwrap_or(0),
            want,
            "HTTP/2 {label}"
        );
    }
    let grpc = by_protocol(&es, Protocol::GRPC);
    let grpc_field = |name: &str| -> u64 {
        let line = t
            .lines()
            .find(|l| l.starts_with("grpc "))
            .expect("grpc line");
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("grpc {name}"))
    };
    assert_eq!(grpc.len() as u64, grpc_field("calls"), "gRPC calls");
    let failed = grpc
        .iter()
        .filter(|e| matches!(&e.detail, Detail::Http(h) if h.grpc.as_ref().is_some_and(|g| g.status != 0)))
        .count() as u64;
    assert_eq!(
        failed,
        grpc_field("unary_err"),
        "gRPC calls with a non-zero status"
    );
    assert!(grpc.iter().all(|e| e.has_response && e.error == (e.status_code >= 500 || failed > 0 && matches!(&e.detail, Detail::Http(h) if h.grpc.as_ref().is_some_and(|g| g.status != 0)))));

    // DNS over UDP.
    let dns = by_protocol(&es, Protocol::DNS);
    assert_eq!(
        dns.len() as u64,
        truth_after(&t, "dns   Queries sent", "sent:"),
        "DNS entries"
    );
    let rcode = |c: i32| {
        dns.iter()
            .filter(|e| e.has_response && e.status_code == c)
            .count() as u64
    };
    assert_eq!(rcode(0), truth_after(&t, "dns   Response codes", "NOERROR"));
    assert_eq!(
        rcode(3),
        truth_after(&t, "dns   Response codes", "NXDOMAIN")
    );
    assert!(dns.iter().all(|e| e.transport_udp));
}

fn kafka_keys(es: &[Entry]) -> BTreeMap<i16, u64> {
    let mut keys = BTreeMap::new();
    for e in by_protocol(es, Protocol::KAFKA) {
        if let Detail::Kafka(k) = &e.detail {
            *keys.entry(k.api_key).or_default() += 1;
        }
    }
    keys
}

#[test]
fn capture_kafka_requests_are_paired() {
    let (es, _) = entries();
    let kafka = by_protocol(&es, Protocol::KAFKA);
    eprintln!("kafka api keys {:?}", kafka_keys(&es));
    let mut topics: BTreeMap<String, u64> = BTreeMap::new();
    for e in &kafka {
        if let Detail::Kafka(k) = &e.detail {
            if k.api_key <= 1 {
                *topics
                    .entry(format!("{}:{}", k.api_key_name(), k.request_summary))
                    .or_default() += 1;
            }
        }
    }
    eprintln!("kafka topics {topics:?}");
    assert!(!kafka.is_empty());
    assert!(
        kafka.iter().all(|e| e.has_response),
        "every Kafka request was answered"
    );
    // kafkajs produced into "flows", the perf tool into "perf".
    assert!(topics.keys().any(|k| k == "PRODUCE:flows"));
    assert!(topics.keys().any(|k| k == "PRODUCE:perf"));
    assert!(topics.keys().any(|k| k == "FETCH:flows"));
}

#[test]
fn capture_redis_commands_match_the_benchmark() {
    let (es, _) = entries();
    let mut verbs: BTreeMap<String, u64> = BTreeMap::new();
    for e in by_protocol(&es, Protocol::REDIS) {
        if let Detail::Redis(r) = &e.detail {
            *verbs.entry(r.command_type.clone()).or_default() += 1;
        }
    }
    eprintln!("redis verbs {verbs:?}");
    for v in ["SET", "GET", "INCR", "LPUSH", "LPOP", "SADD", "HSET"] {
        assert!(verbs.get(v).copied().unwrap_or(0) > 0, "redis {v} seen");
    }
}

fn tshark(file: &Path, filter: &str, fields: &[&str]) -> Option<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(file)
        .arg("-Y")
        .arg(filter)
        .arg("-T")
        .arg("fields");
    for f in fields {
        cmd.arg("-e").arg(f);
    }
    let out = cmd.output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn capture_agrees_with_tshark_when_present() {
    if Command::new("tshark").arg("-v").output().is_err() {
        eprintln!("tshark not installed: skipped");
        return;
    }
    let dir = std::env::temp_dir().join(format!("wiremap-dissect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pcap_path = dir.join("mixed-small.pcap");
    std::fs::write(&pcap_path, pcap::read_xz(&capture())).expect("write pcap");
    let (es, _) = entries();

    let codes = tshark(&pcap_path, "http.response", &["http.response.code"]).expect("tshark http");
    let mut theirs: BTreeMap<i32, u64> = BTreeMap::new();
    for c in codes {
        *theirs.entry(c.trim().parse().unwrap_or(-1)).or_default() += 1;
    }
    let mut ours: BTreeMap<i32, u64> = BTreeMap::new();
    for e in by_protocol(&es, Protocol::HTTP) {
        *ours.entry(e.status_code).or_default() += 1;
    }
    assert_eq!(ours, theirs, "HTTP/1 status histogram vs tshark");

    let rcodes =
        tshark(&pcap_path, "dns.flags.response == 1", &["dns.flags.rcode"]).expect("tshark dns");
    let mut theirs: BTreeMap<i32, u64> = BTreeMap::new();
    for c in rcodes {
        *theirs.entry(c.trim().parse().unwrap_or(-1)).or_default() += 1;
    }
    let mut ours: BTreeMap<i32, u64> = BTreeMap::new();
    for e in by_protocol(&es, Protocol::DNS)
        .into_iter()
        .filter(|e| e.has_response)
    {
        *ours.entry(e.status_code).or_default() += 1;
    }
    assert_eq!(ours, theirs, "DNS RCODE histogram vs tshark");

    let keys =
        tshark(&pcap_path, "kafka.request_key", &["kafka.request_key"]).expect("tshark kafka");
    let mut theirs: BTreeMap<i16, u64> = BTreeMap::new();
    for k in keys {
        *theirs.entry(k.trim().parse().unwrap_or(-1)).or_default() += 1;
    }
    assert_eq!(
        kafka_keys(&es),
        theirs,
        "Kafka requests per API key vs tshark"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
