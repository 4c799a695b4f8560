//! `--pcap-loop` and `--pcap-realtime` on the real binary: every pass of a
//! short capture reaches the JSON-lines output as new traffic, later in
//! time by the capture's span, with the same per-flow counters; a paced
//! replay starts at the wall clock and takes at least the capture's span.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use support::*;

/// Span of the test capture (first to last packet), µs.
const SPAN_US: i64 = 400_000;
/// The probe's gap between passes (`pcap::REPLAY_PASS_GAP_US`).
const GAP_US: i64 = wiremap_probe::pcap::REPLAY_PASS_GAP_US;
/// Flows per pass: one HTTP connection left open, one closed, one UDP.
const FLOWS: usize = 3;

/// A short capture: an HTTP exchange on a connection that stays open, one
/// that closes, and a UDP datagram pair, spread over `SPAN_US`.
fn capture() -> Vec<u8> {
    let t0 = 1_700_000_000_000_000i64;
    let (c, s) = (v4("10.0.0.1"), v4("10.0.0.2"));
    let req = b"GET /a HTTP/1.1\r\nHost: s\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let pkt = |src, dst, l4: Vec<u8>, proto| eth4(&ipv4(src, dst, proto, 1, &l4));
    let mut r = Vec::new();
    for (i, port) in [(0i64, 40000u16), (1, 40001)] {
        let t = t0 + i * 100_000;
        r.push((t, pkt(c, s, tcp(port, 80, 100, SYN, b""), 6)));
        r.push((t + 100, pkt(s, c, tcp(80, port, 500, SYN | ACK, b""), 6)));
        r.push((t + 200, pkt(c, s, tcp(port, 80, 101, ACK, b""), 6)));
        r.push((t + 300, pkt(c, s, tcp(port, 80, 101, ACK | PSH, req), 6)));
        r.push((t + 400, pkt(s, c, tcp(80, port, 501, ACK | PSH, resp), 6)));
        if port == 40001 {
            let cf = 101 + req.len() as u32;
            let sf = 501 + resp.len() as u32;
            r.push((t + 500, pkt(c, s, tcp(port, 80, cf, ACK | FIN, b""), 6)));
            r.push((t + 600, pkt(s, c, tcp(80, port, sf, ACK | FIN, b""), 6)));
            r.push((t + 700, pkt(c, s, tcp(port, 80, cf + 1, ACK, b""), 6)));
        }
    }
    r.push((t0 + 300_000, pkt(c, s, udp(5000, 7000, b"ping"), 17)));
    r.push((t0 + SPAN_US, pkt(s, c, udp(7000, 5000, b"pong"), 17)));
    pcap_file(1, &r)
}

/// µs since the epoch of an RFC 3339 UTC time as the probe writes it.
fn parse_time(s: &str) -> i64 {
    let (date, time) = s
        .trim_end_matches('Z')
        .split_once('T')
        .expect("date and time");
    let d: Vec<i64> = date.split('-').map(|v| v.parse().unwrap()).collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let t: Vec<i64> = hms.split(':').map(|v| v.parse().unwrap()).collect();
    let micros: i64 = format!("{frac:0<6}")[..6].parse().unwrap();
    // Days from the civil date (proleptic Gregorian).
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]) * 1_000_000) + micros
}

struct Probe {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Probe {
    fn start(args: &[&str]) -> (Probe, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.pcap");
        std::fs::write(&path, capture()).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_wiremap-probe"))
            .args(["--node", "n", "--output", "jsonl", "--pcap"])
            .arg(&path)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("probe starts");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        (Probe { child, lines: rx }, dir)
    }

    /// Reads lines until `flows` L4 records came, returning them and the
    /// L7 records seen meanwhile.
    fn read(&mut self, flows: usize) -> (Vec<Value>, Vec<Value>) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let (mut l4, mut l7) = (Vec::new(), Vec::new());
        while l4.len() < flows {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("only {} of {flows} flow records came", l4.len()));
            let v: Value = serde_json::from_str(&line).expect("each line is JSON");
            match v["kind"].as_str() {
                Some("l4") => l4.push(v),
                Some("l7") => l7.push(v),
                k => panic!("unexpected kind {k:?}"),
            }
        }
        (l4, l7)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Flow records of one pass, sorted by client port.
fn pass(l4: &[Value], k: usize) -> Vec<&Value> {
    let mut p: Vec<&Value> = l4[k * FLOWS..(k + 1) * FLOWS].iter().collect();
    p.sort_by_key(|v| v["client"]["port"].as_u64());
    p
}

fn counters(v: &Value) -> [u64; 4] {
    [
        "bytes_to_server",
        "bytes_to_client",
        "packets_to_server",
        "packets_to_client",
    ]
    .map(|k| v[k].as_u64().expect("counter"))
}

#[test]
fn a_looped_capture_comes_back_as_new_traffic_every_pass() {
    let (mut probe, _dir) = Probe::start(&["--pcap-loop"]);
    let (l4, l7) = probe.read(3 * FLOWS);
    let period = SPAN_US + GAP_US;
    for k in 1..3 {
        let (a, b) = (pass(&l4, k - 1), pass(&l4, k));
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x["client"]["port"], y["client"]["port"]);
            assert_eq!(counters(x), counters(y), "each pass counts the same");
            for t in ["first_seen", "last_seen"] {
                let (tx, ty) = (
                    parse_time(x[t].as_str().unwrap()),
                    parse_time(y[t].as_str().unwrap()),
                );
                assert_eq!(ty - tx, period, "{t} moves by the capture's span");
            }
        }
        let last_a = a
            .iter()
            .map(|v| parse_time(v["last_seen"].as_str().unwrap()));
        let first_b = b
            .iter()
            .map(|v| parse_time(v["first_seen"].as_str().unwrap()));
        assert!(
            first_b.min() > last_a.max(),
            "a pass starts after the last ended"
        );
    }
    // The connection left open is ended by the end of each pass, not
    // carried into the next one.
    let http_open = pass(&l4, 0)
        .into_iter()
        .find(|v| v["client"]["port"] == 40000)
        .expect("the open connection");
    assert_eq!(http_open["end"], "end_of_input");
    assert_eq!(
        counters(http_open)[2],
        3,
        "three packets to the server per pass"
    );
    // Both HTTP exchanges are dissected again in every finished pass.
    let http = l7.iter().filter(|v| v["protocol"] == "HTTP").count();
    assert!(http >= 4, "two passes, two requests each: {http} entries");
}

#[test]
fn a_paced_replay_starts_now_and_takes_the_captures_span() {
    let now_us = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros() as i64
    };
    let started = now_us();
    let t0 = Instant::now();
    let (mut probe, _dir) = Probe::start(&["--pcap-realtime", "--pcap-loop"]);
    let (l4, _) = probe.read(2 * FLOWS);
    let elapsed = t0.elapsed();
    let first = pass(&l4, 0)
        .iter()
        .map(|v| parse_time(v["first_seen"].as_str().unwrap()))
        .min()
        .unwrap();
    assert!(
        first >= started && first <= now_us(),
        "the first packet is shifted to the start of the replay"
    );
    for (x, y) in pass(&l4, 0).iter().zip(pass(&l4, 1)) {
        let d = parse_time(y["first_seen"].as_str().unwrap())
            - parse_time(x["first_seen"].as_str().unwrap());
        assert_eq!(d, SPAN_US + GAP_US);
        assert_eq!(counters(x), counters(y));
    }
    // Pacing: two passes cannot finish before the first pass's span has
    // passed in real time (a lower bound, not a speed measurement).
    assert!(elapsed >= Duration::from_micros(SPAN_US as u64));
}

#[test]
fn a_paced_replay_without_loop_ends_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.pcap");
    std::fs::write(&path, capture()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wiremap-probe"))
        .args([
            "--node",
            "n",
            "--output",
            "jsonl",
            "--pcap-realtime",
            "--pcap",
        ])
        .arg(&path)
        .output()
        .expect("probe runs");
    assert!(out.status.success());
    let l4 = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"kind\":\"l4\""))
        .count();
    assert_eq!(l4, FLOWS);
}

#[test]
fn replay_flags_need_a_capture_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_wiremap-probe"))
        .args(["--pcap-loop", "--output", "jsonl"])
        .output()
        .expect("probe runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--pcap"));
}
