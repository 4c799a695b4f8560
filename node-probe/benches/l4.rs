//! L4 benchmark (issue 4): the offline L4 path (pcap records → decode →
//! flow table → L4 totals and snapshots, no L7) on one core, side by side
//! with softflowd, argus and tshark's conversation statistics on the same
//! mixed capture; then, with `--live` (root), the highest packet rate a live
//! probe takes with zero drops on a veth pair fed by tcpreplay.
//!
//! `cargo bench -p wiremap-probe --bench l4 [-- --copies N] [-- --live]`;
//! `--capture pnet` and `--ring-mb N` are passed on to the live probe.
//! Generated captures go to the target directory, never the repository.

mod support;

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{have, mb, timed, Run};
use wiremap_probe::identity::IdentityMap;
use wiremap_probe::pcap::CaptureReader;
use wiremap_probe::pipeline::{Pipeline, PipelineConfig};
use wiremap_wire::CaptureFilter;

struct Row {
    tool: String,
    cpu_s: f64,
    wall_s: f64,
    rss_mb: f64,
    flows: String,
}

/// Our L4 path over the file's bytes in memory, on this (pinned) thread.
fn ours(data: &[u8]) -> (Row, u64) {
    let mut cfg = PipelineConfig::new("bench", 1);
    cfg.emit_flows = true;
    let mut p = Pipeline::new(cfg, IdentityMap::new());
    // A filter that targets no pod: L4 accounting only, no L7.
    p.set_capture_filter(&CaptureFilter {
        pod_regex: "$^".into(),
        namespaces: Vec::new(),
        exclude_namespaces: Vec::new(),
        revision: 1,
    })
    .expect("filter compiles");
    let mut outs = Vec::new();
    let mut frames = 0u64;
    let mut ended = 0u64;
    let cpu0 = support::thread_cpu_s();
    let t0 = Instant::now();
    let mut r = CaptureReader::new(data).expect("pcap header");
    while let Some(rec) = r.next_record().expect("valid capture") {
        frames += 1;
        p.on_frame(rec.ts_us, rec.link, rec.data, &mut outs);
        ended += outs
            .iter()
            .filter(|o| matches!(o, wiremap_probe::pipeline::Output::FlowEnded(_)))
            .count() as u64;
        outs.clear();
    }
    p.finish(&mut outs);
    ended += outs
        .iter()
        .filter(|o| matches!(o, wiremap_probe::pipeline::Output::FlowEnded(_)))
        .count() as u64;
    let wall_s = t0.elapsed().as_secs_f64();
    let cpu_s = support::thread_cpu_s() - cpu0;
    let c = p.counters();
    let get = |n: &str| c.iter().find(|(k, _)| k == n).map_or(0, |(_, v)| *v);
    assert_eq!(
        get("flows_dissected"),
        0,
        "the L4 bench must not dissect L7"
    );
    assert_eq!(get("frames"), frames);
    (
        Row {
            tool: "wiremap-probe L4 (in process, file in memory)".into(),
            cpu_s,
            wall_s,
            rss_mb: f64::NAN,
            flows: format!("{ended} flows, {} snapshots", get("l4_snapshots")),
        },
        frames,
    )
}

fn row(tool: &str, r: &Run, flows: String) -> Row {
    if !r.ok {
        eprintln!("{tool} failed:\n{}", r.stderr);
    }
    Row {
        tool: tool.into(),
        cpu_s: r.cpu_s,
        wall_s: r.wall_s,
        rss_mb: r.max_rss_kb as f64 / 1024.0,
        flows,
    }
}

fn softflowd(file: &str) -> Row {
    // A collector that drains the NetFlow datagrams.
    let sock = UdpSocket::bind("127.0.0.1:0").expect("udp collector");
    sock.set_read_timeout(Some(Duration::from_millis(100))).ok();
    let addr = sock.local_addr().expect("collector address");
    let stop = Arc::new(AtomicBool::new(false));
    let got = Arc::new(AtomicU64::new(0));
    let (s2, g2) = (stop.clone(), got.clone());
    let t = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while !s2.load(Ordering::Relaxed) {
            if sock.recv(&mut buf).is_ok() {
                g2.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let collector = addr.to_string();
    let pid = support::work_dir().join("softflowd.pid");
    let r = timed(
        "softflowd",
        &[
            "-r",
            file,
            "-n",
            &collector,
            "-d",
            "-c",
            "none",
            "-p",
            pid.to_str().expect("utf-8 path"),
        ],
        None,
    );
    stop.store(true, Ordering::Relaxed);
    t.join().ok();
    let text = format!("{}{}", String::from_utf8_lossy(&r.stdout), r.stderr);
    let flows = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Flows expired: "))
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or("?")
        .to_string();
    row(
        "softflowd 1.1.0 (-r, NetFlow to a local collector)",
        &r,
        format!("{flows} flows"),
    )
}

fn argus(file: &str) -> Row {
    let out = support::work_dir().join("bench.argus");
    std::fs::remove_file(&out).ok();
    let r = timed(
        "argus",
        &["-r", file, "-w", out.to_str().expect("utf-8 path")],
        None,
    );
    let n = Command::new("ra")
        .arg("-r")
        .arg(&out)
        .arg("-n")
        .output()
        .map(|o| o.stdout.iter().filter(|&&b| b == b'\n').count().to_string())
        .unwrap_or_else(|_| "?".into());
    row("argus 3.0.8 (-r -w file)", &r, format!("{n} records (ra)"))
}

fn tshark_conv(file: &str) -> Row {
    let r = timed(
        "tshark",
        &["-n", "-r", file, "-q", "-z", "conv,tcp", "-z", "conv,udp"],
        None,
    );
    let n = String::from_utf8_lossy(&r.stdout)
        .lines()
        .filter(|l| l.contains("<->"))
        .count();
    row(
        "tshark -q -z conv,tcp -z conv,udp",
        &r,
        format!("{n} conversations"),
    )
}

fn offline(copies: u8, runs: usize) {
    let path = support::mixed(copies);
    let (packets, bytes) = support::capture_size(&path);
    let file = path.to_str().expect("utf-8 path").to_string();
    println!(
        "## Offline L4: {} ({} packets, {:.1} MB), best of {runs} runs, pinned to core {}\n",
        path.file_name().unwrap().to_string_lossy(),
        packets,
        mb(bytes),
        support::CORE
    );
    let data = std::fs::read(&path).expect("read capture");
    let mut rows: Vec<Row> = Vec::new();
    let best = |v: Vec<Row>| {
        v.into_iter()
            .min_by(|a, b| a.cpu_s.total_cmp(&b.cpu_s))
            .expect("one run")
    };
    let mut o = Vec::new();
    for _ in 0..runs {
        let (r, frames) = ours(&data);
        assert_eq!(frames, packets);
        o.push(r);
    }
    rows.push(best(o));
    if have("softflowd") {
        rows.push(best((0..runs).map(|_| softflowd(&file)).collect()));
    } else {
        println!("softflowd not installed (apt-get install softflowd)\n");
    }
    if have("argus") {
        rows.push(best((0..runs).map(|_| argus(&file)).collect()));
    } else {
        println!("argus not installed (apt-get install argus-server argus-client)\n");
    }
    if have("tshark") {
        rows.push(best((0..runs).map(|_| tshark_conv(&file)).collect()));
    }
    println!("| tool | CPU s | wall s | MB per CPU-s | k packets per CPU-s | max RSS MB | flows |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for r in &rows {
        println!(
            "| {} | {:.3} | {:.3} | {:.0} | {:.0} | {:.1} | {} |",
            r.tool,
            r.cpu_s,
            r.wall_s,
            mb(bytes) / r.cpu_s,
            packets as f64 / r.cpu_s / 1e3,
            r.rss_mb,
            r.flows
        );
    }
    println!();
}

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A veth pair between two namespaces of our own, removed on drop.
struct Lab;

const TX_NS: &str = "wmbench-tx";
const RX_NS: &str = "wmbench-rx";

impl Lab {
    fn new() -> Option<Lab> {
        sh(&["ip", "netns", "del", TX_NS]);
        sh(&["ip", "netns", "del", RX_NS]);
        let ok = sh(&["ip", "netns", "add", TX_NS])
            && sh(&["ip", "netns", "add", RX_NS])
            && sh(&[
                "ip", "link", "add", "wmbtx0", "netns", TX_NS, "type", "veth", "peer", "name",
                "wmbrx0", "netns", RX_NS,
            ])
            && sh(&["ip", "-n", TX_NS, "link", "set", "wmbtx0", "up"])
            && sh(&["ip", "-n", RX_NS, "link", "set", "wmbrx0", "up"])
            && sh(&["ip", "-n", RX_NS, "link", "set", "lo", "up"]);
        let lab = Lab;
        ok.then_some(lab)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        sh(&["ip", "netns", "del", TX_NS]);
        sh(&["ip", "netns", "del", RX_NS]);
    }
}

fn rx_packets() -> u64 {
    Command::new("ip")
        .args(["netns", "exec", RX_NS, "cat"])
        .arg("/sys/class/net/wmbrx0/statistics/rx_packets")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(0)
}

struct LiveResult {
    sent: u64,
    interface: u64,
    probe: u64,
    user_drops: u64,
    /// The probe's own count of kernel drops (PACKET_STATISTICS; ring only).
    kernel_drops: u64,
    /// Peak resident memory of the probe, MiB.
    rss_mb: f64,
    /// CPU seconds (user + system) the probe used over the whole run.
    cpu_s: f64,
    tcpreplay_pps: f64,
}

/// CPU seconds (user + system) a running process has used so far.
fn cpu_s(pid: u32) -> f64 {
    // Fields after the command name: state is the first, utime the 12th,
    // stime the 13th; /proc counts in USER_HZ (100 per second on Linux).
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let t = |i: usize| f.get(i)?.parse::<f64>().ok();
            Some((t(11)? + t(12)?) / 100.0)
        })
        .unwrap_or(f64::NAN)
}

/// A counter from the probe's Prometheus text.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find(|l| !l.starts_with('#') && l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .unwrap_or(0.0) as u64
}

/// Peak resident set of a running process, MiB.
fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// One fixed-rate replay (`pps` 0 = as fast as tcpreplay can) into a fresh
/// probe; the probe's count is the sum of its L4 flows' packets.
fn live_run(file: &str, pps: u64, capture: &[String]) -> Option<LiveResult> {
    let probe = env!("CARGO_BIN_EXE_wiremap-probe");
    // Sender and probe may use both cores (this process is pinned to one).
    let mut child = Command::new("taskset")
        .args(["-c", "0,1", "ip", "netns", "exec", RX_NS, probe])
        .args([
            "--identity",
            "none",
            "--node",
            "bench",
            "--interface",
            "wmbrx0",
            "--output",
            "jsonl",
            "--dedupe-window-ms",
            "0",
            "--metrics-listen",
            "127.0.0.1:19464",
        ])
        .args(capture)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).ok();
        s
    });
    std::thread::sleep(Duration::from_millis(700));
    let before = rx_packets();
    let rate = if pps == 0 {
        "--topspeed".to_string()
    } else {
        format!("--pps={pps}")
    };
    let out = Command::new("taskset")
        .args([
            "-c",
            "0,1",
            "ip",
            "netns",
            "exec",
            TX_NS,
            "tcpreplay",
            "-i",
            "wmbtx0",
            "-q",
            // Read the file into memory first: the sender's pace is then
            // not bound by reading it.
            "-K",
            &rate,
            file,
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let sent = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Actual: "))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let tcpreplay_pps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Rated: "))
        .and_then(|v| {
            v.split(',')
                .find(|p| p.contains("pps"))?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(f64::NAN);
    std::thread::sleep(Duration::from_millis(1500));
    let interface = rx_packets() - before;
    let metrics = Command::new("ip")
        .args([
            "netns",
            "exec",
            RX_NS,
            "curl",
            "-s",
            "http://127.0.0.1:19464/metrics",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let user_drops = metric(&metrics, "wiremap_probe_capture_dropped_user");
    let kernel_drops = metric(&metrics, "wiremap_probe_capture_dropped_kernel");
    let rss_mb = peak_rss_mb(child.id());
    let cpu_s = cpu_s(child.id());
    sh(&["kill", "-TERM", &child.id().to_string()]);
    child.wait().ok();
    let lines = reader.join().unwrap_or_default();
    let mut probe_packets = 0u64;
    for l in lines.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(l) else {
            continue;
        };
        if v["kind"] == "l4" {
            probe_packets += v["packets_to_server"].as_u64().unwrap_or(0)
                + v["packets_to_client"].as_u64().unwrap_or(0);
        }
    }
    Some(LiveResult {
        sent,
        interface,
        probe: probe_packets,
        user_drops,
        kernel_drops,
        rss_mb,
        cpu_s,
        tcpreplay_pps,
    })
}

/// `capture`: extra probe arguments (`--capture pnet`, `--ring-mb N`).
fn live(copies: u8, rates: &[u64], capture: &[String]) {
    for tool in ["tcpreplay", "curl", "ip"] {
        if !have(tool) {
            println!("live benchmark skipped: {tool} is not installed\n");
            return;
        }
    }
    let Some(lab) = Lab::new() else {
        println!("live benchmark skipped: cannot create network namespaces (needs root)\n");
        return;
    };
    let path = support::mixed(copies);
    let file = path.to_str().expect("utf-8 path");
    println!(
        "## Live: tcpreplay → veth pair → wiremap-probe {}, {}\n",
        if capture.is_empty() {
            "(default capture)".to_string()
        } else {
            capture.join(" ")
        },
        path.file_name().unwrap().to_string_lossy()
    );
    println!("| asked pps | tcpreplay pps | sent | interface rx | probe counted | lost | user-space drops | kernel drops (probe) | probe CPU s | k packets per probe CPU-s | probe max RSS MB |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &pps in rates {
        match live_run(file, pps, capture) {
            Some(r) => println!(
                "| {} | {:.0} | {} | {} | {} | {} | {} | {} | {:.2} | {:.0} | {:.1} |",
                if pps == 0 {
                    "top speed".to_string()
                } else {
                    pps.to_string()
                },
                r.tcpreplay_pps,
                r.sent,
                r.interface,
                r.probe,
                r.sent.saturating_sub(r.probe),
                r.user_drops,
                r.kernel_drops,
                r.cpu_s,
                r.probe as f64 / r.cpu_s / 1e3,
                r.rss_mb
            ),
            None => println!("| {pps} | run failed | | | | | | | | | |"),
        }
    }
    println!();
    drop(lab);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Pin this process to one core (the measured code runs on this thread).
    if std::env::var_os("WIREMAP_BENCH_PINNED").is_none() && have("taskset") {
        let exe = std::env::current_exe().expect("own path");
        let st = Command::new("taskset")
            .args(["-c", support::CORE])
            .arg(exe)
            .args(&args)
            .env("WIREMAP_BENCH_PINNED", "1")
            .status()
            .expect("re-run pinned");
        std::process::exit(st.code().unwrap_or(1));
    }
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let copies: u8 = value("--copies").and_then(|v| v.parse().ok()).unwrap_or(24);
    let runs: usize = value("--runs").and_then(|v| v.parse().ok()).unwrap_or(3);
    if !args.iter().any(|a| a == "--live-only") {
        offline(copies, runs);
    }
    if args.iter().any(|a| a == "--live" || a == "--live-only") {
        let rates: Vec<u64> = value("--rates")
            .unwrap_or_else(|| "50000,100000,200000,300000,400000,0".into())
            .split(',')
            .filter_map(|v| v.parse().ok())
            .collect();
        let mut capture = Vec::new();
        for flag in ["--capture", "--ring-mb"] {
            if let Some(v) = value(flag) {
                capture.extend([flag.to_string(), v]);
            }
        }
        live(copies, &rates, &capture);
    }
}
