//! L7 benchmark (issue 5): `wiremap-probe --pcap FILE --output jsonl >
//! /dev/null` against tshark extracting the same L7 fields and nDPI's
//! `ndpiReader` (flow protocol tagging only), each pinned to one core, on
//! the same mixed capture, in one run. Record counts per protocol are
//! compared with tshark's; CPU time and peak RSS come from `/usr/bin/time -v`.
//!
//! `cargo bench -p wiremap-probe --bench l7 [-- --copies N,M] [-- --runs R]`.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use support::{have, mb, timed, Run};

/// Per-protocol record counts.
type Counts = BTreeMap<String, u64>;

fn total(c: &Counts) -> u64 {
    c.values().sum()
}

/// Our L7 entries per protocol, from the JSON lines (an untimed run).
fn our_counts(file: &str) -> Counts {
    let r = timed(
        env!("CARGO_BIN_EXE_wiremap-probe"),
        &["--node", "bench", "--pcap", file, "--output", "jsonl"],
        None,
    );
    assert!(r.ok, "probe failed: {}", r.stderr);
    let mut c = Counts::new();
    for line in r.stdout.split(|&b| b == b'\n') {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        if v["kind"] == "l7" {
            let p = v["protocol"].as_str().unwrap_or("?");
            // tshark shows gRPC as HTTP/2 requests.
            let p = if p == "gRPC" { "HTTP/2" } else { p };
            *c.entry(p.to_string()).or_default() += 1;
        }
    }
    c
}

/// The `l7_entries` counter from the probe's closing log line.
fn logged_entries(stderr: &str) -> Option<u64> {
    let at = stderr.find("\"l7_entries\", ")? + "\"l7_entries\", ".len();
    stderr[at..].split(')').next()?.trim().parse().ok()
}

const TSHARK_FIELDS: &[&str] = &[
    "frame.number",
    "tcp.dstport",
    "http.request.method",
    "http2.headers.method",
    "dns.flags.response",
    "resp.array.length",
    "kafka.api_key",
    "http.request.uri",
    "http.response.code",
    "http.request.line",
    "http2.headers.path",
    "http2.headers.status",
    "grpc.message_length",
    "dns.id",
    "dns.qry.name",
    "dns.qry.type",
    "dns.flags.rcode",
    "dns.a",
    "resp.bulk_string.value",
    "kafka.correlation_id",
    "kafka.client_id",
    "kafka.topic_name",
];

fn tshark_args(file: &str) -> Vec<String> {
    let mut a: Vec<String> = [
        "-n",
        "-r",
        file,
        // tshark finds protocols by port; name the capture's gRPC and
        // Kafka ports so it dissects what the probe finds by content.
        "-d",
        "tcp.port==50051,http2",
        "-Y",
        "http || http2 || dns || resp || kafka",
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=;",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for f in TSHARK_FIELDS {
        a.push("-e".into());
        a.push((*f).into());
    }
    a
}

/// tshark's records: one per HTTP/1 and HTTP/2 request, DNS query, Redis
/// command (a top-level array sent to port 6379), Kafka request.
fn tshark_counts(out: &[u8]) -> Counts {
    let mut c = Counts::new();
    let n = |s: &str| {
        if s.is_empty() {
            0
        } else {
            s.split(';').count() as u64
        }
    };
    for line in String::from_utf8_lossy(out).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 7 {
            continue;
        }
        *c.entry("HTTP".into()).or_default() += n(f[2]);
        *c.entry("HTTP/2".into()).or_default() += n(f[3]);
        *c.entry("DNS".into()).or_default() += f[4]
            .split(';')
            .filter(|v| *v == "0" || *v == "False")
            .count() as u64;
        if f[1] == "6379" {
            *c.entry("Redis".into()).or_default() += n(f[5]);
        }
        if f[1] == "9092" {
            *c.entry("Kafka".into()).or_default() += n(f[6]);
        }
    }
    c.retain(|_, v| *v > 0);
    c
}

/// nDPI's detected flows (its unit of output).
fn ndpi_flows(text: &str) -> String {
    let mut flows = 0u64;
    let mut names = Vec::new();
    let mut in_detected = false;
    for l in text.lines() {
        let t = l.trim();
        if t.starts_with("Detected protocols:") {
            in_detected = true;
            continue;
        }
        if in_detected {
            if t.is_empty() || !t.contains("flows:") {
                if !names.is_empty() {
                    break;
                }
                continue;
            }
            let name = t.split_whitespace().next().unwrap_or("?");
            let f = t
                .split("flows:")
                .nth(1)
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0);
            flows += f;
            names.push(format!("{name} {f}"));
        }
    }
    format!("{flows} flows ({})", names.join(", "))
}

struct Row {
    tool: String,
    run: Run,
    records: String,
}

fn best(mut v: Vec<Row>) -> Row {
    v.sort_by(|a, b| a.run.cpu_s.total_cmp(&b.run.cpu_s));
    v.remove(0)
}

fn fmt_counts(c: &Counts) -> String {
    c.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn one_capture(copies: u8, runs: usize) {
    let path = support::mixed(copies);
    let (packets, bytes) = support::capture_size(&path);
    let file = path.to_str().expect("utf-8 path").to_string();
    println!(
        "## L7: {} ({} packets, {:.1} MB), best of {runs} runs, pinned to core {}\n",
        path.file_name().unwrap().to_string_lossy(),
        packets,
        mb(bytes),
        support::CORE
    );
    let ours_c = our_counts(&file);
    let null = Path::new("/dev/null");
    let mut rows = Vec::new();
    let mut ours_runs = Vec::new();
    for _ in 0..runs {
        let r = timed(
            env!("CARGO_BIN_EXE_wiremap-probe"),
            &["--node", "bench", "--pcap", &file, "--output", "jsonl"],
            Some(null),
        );
        assert!(r.ok, "probe failed: {}", r.stderr);
        let logged = logged_entries(&r.stderr);
        assert_eq!(
            logged,
            Some(total(&ours_c)),
            "the timed run logs as many entries as the JSON lines hold"
        );
        ours_runs.push(Row {
            tool: "wiremap-probe --output jsonl > /dev/null".into(),
            records: format!("{} ({})", total(&ours_c), fmt_counts(&ours_c)),
            run: r,
        });
    }
    rows.push(best(ours_runs));
    let mut tshark_c = None;
    if have("tshark") {
        let args = tshark_args(&file);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = support::work_dir().join("tshark-fields.tsv");
        let mut v = Vec::new();
        for _ in 0..runs {
            let r = timed("tshark", &args, Some(&out));
            let c = tshark_counts(&std::fs::read(&out).unwrap_or_default());
            v.push(Row {
                tool: "tshark -T fields (same L7 fields)".into(),
                records: format!("{} ({})", total(&c), fmt_counts(&c)),
                run: r,
            });
            tshark_c = Some(c);
        }
        rows.push(best(v));
    } else {
        println!("tshark is not installed\n");
    }
    if have("ndpiReader") {
        let mut v = Vec::new();
        for _ in 0..runs {
            let r = timed("ndpiReader", &["-i", &file], None);
            let text = format!("{}\n{}", String::from_utf8_lossy(&r.stdout), r.stderr);
            v.push(Row {
                tool: "ndpiReader -i FILE (flow tagging)".into(),
                records: ndpi_flows(&text),
                run: r,
            });
        }
        rows.push(best(v));
    } else {
        println!("ndpiReader is not installed (apt-get install libndpi-bin)\n");
    }
    println!("| tool | CPU s | wall s | MB per CPU-s | records per CPU-s | max RSS MB | records |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for r in &rows {
        let n: f64 = r
            .records
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN);
        println!(
            "| {} | {:.3} | {:.3} | {:.1} | {:.0} | {:.1} | {} |",
            r.tool,
            r.run.cpu_s,
            r.run.wall_s,
            mb(bytes) / r.run.cpu_s,
            n / r.run.cpu_s,
            r.run.max_rss_kb as f64 / 1024.0,
            r.records
        );
    }
    if let (Some(t), Some(o)) = (tshark_c, rows.first()) {
        let same = t == ours_c;
        println!(
            "\nRecord counts {} tshark's{}",
            if same { "equal" } else { "differ from" },
            if same {
                String::new()
            } else {
                format!(
                    ": ours {} vs tshark {}",
                    fmt_counts(&ours_c),
                    fmt_counts(&t)
                )
            }
        );
        if let Some(ts) = rows.get(1) {
            let ours_rate = mb(bytes) / o.run.cpu_s;
            let t_rate = mb(bytes) / ts.run.cpu_s;
            println!("ours / tshark MB per CPU-s: {:.1}×", ours_rate / t_rate);
        }
    }
    println!();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let runs: usize = value("--runs").and_then(|v| v.parse().ok()).unwrap_or(3);
    let copies: Vec<u8> = value("--copies")
        .unwrap_or_else(|| "1,24".into())
        .split(',')
        .filter_map(|v| v.parse().ok())
        .collect();
    for c in copies {
        one_capture(c, runs);
    }
}
