//! Load generator: P probe connections send M L7 batches/s to V viewers,
//! against the relay and against a Node.js `ws` broadcast hub, in one run.
//!
//! Both servers run as separate processes (fresh for every load step), so
//! their CPU time (`/proc/<pid>/stat`) and memory (`/proc/<pid>/status`) are
//! theirs alone. The generator is this process: raw WebSocket clients on a
//! single-threaded tokio runtime. Every batch carries its send time (µs since
//! the run began, in the batch's `epoch` field, which the relay never reads);
//! a viewer reads it from the frame prefix to measure latency.
//!
//! ```text
//! cargo bench -p wiremap-relay --bench load -- [--viewers 100] [--probes 4]
//!     [--rates 1000,2000,4000] [--secs 5] [--warm-secs 1] [--entries 4]
//!     [--relay-workers N] [--relay-linger-ms 5] [--only relay|node]
//!     [--relay-bin PATH]   (another relay build, for A/B runs)
//!     [--netns rps|plain]  (see below; needs root and `ip`, `taskset`)
//! ```
//!
//! On loopback the receiving side's TCP input runs inside the sender's
//! system call, so by default the viewers' receive processing is charged
//! to the server. `--netns rps` moves it off the server's core the way
//! remote viewers would: the bench re-runs itself in a fresh network
//! namespace whose `lo` steers received packets (RPS) to the other CPUs,
//! with the server pinned to CPU 0 and the generator to the others;
//! `--netns plain` is the same without RPS (the control: pinning alone).
//! The namespace is deleted afterwards.
//!
//! The Node hub needs npm `ws`; it is installed on first use with
//! `npm install --prefix $HOME/.cache/wiremap-bench/node ws@8`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use wiremap_wire::{
    encode, Detail, Entry, Frame, FrameKind, Hello, Http, Identity, IdentityKind, L7Batch, Peer,
    Protocol, HEADER_LEN,
};

// ---------------------------------------------------------------- options

#[derive(Debug, Clone)]
struct Opts {
    viewers: usize,
    probes: usize,
    rates: Vec<u64>,
    secs: f64,
    warm_secs: f64,
    drain_secs: f64,
    entries: usize,
    relay_workers: Option<usize>,
    relay_linger_ms: Option<u64>,
    relay_bin: Option<PathBuf>,
    only: Option<String>,
    /// `--netns rps|plain`: run in a fresh network namespace (see the top).
    netns: Option<String>,
    /// Set in the re-run inside the namespace: pin servers to CPU 0.
    pinned: bool,
}

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        viewers: 100,
        probes: 4,
        rates: vec![1000, 2000, 3000, 4000, 6000, 8000],
        secs: 5.0,
        warm_secs: 1.0,
        drain_secs: 5.0,
        entries: 4,
        relay_workers: None,
        relay_linger_ms: None,
        relay_bin: None,
        only: None,
        netns: None,
        pinned: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--bench" {
            continue; // passed by `cargo bench`
        }
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        let num = |v: String| v.parse::<f64>().map_err(|e| format!("{a} {v}: {e}"));
        match a.as_str() {
            "--viewers" => o.viewers = num(value()?)? as usize,
            "--probes" => o.probes = num(value()?)? as usize,
            "--secs" => o.secs = num(value()?)?,
            "--warm-secs" => o.warm_secs = num(value()?)?,
            "--drain-secs" => o.drain_secs = num(value()?)?,
            "--entries" => o.entries = num(value()?)? as usize,
            "--relay-workers" => o.relay_workers = Some(num(value()?)? as usize),
            "--relay-linger-ms" => o.relay_linger_ms = Some(num(value()?)? as u64),
            "--only" => o.only = Some(value()?),
            "--relay-bin" => o.relay_bin = Some(PathBuf::from(value()?)),
            "--netns" => {
                let v = value()?;
                if v != "rps" && v != "plain" {
                    return Err(format!("--netns {v}: expected rps or plain"));
                }
                o.netns = Some(v);
            }
            "--pinned-in-netns" => o.pinned = true,
            "--rates" => {
                o.rates = value()?
                    .split(',')
                    .map(|r| {
                        r.trim()
                            .parse::<u64>()
                            .map_err(|e| format!("rate {r}: {e}"))
                    })
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.probes == 0 || o.viewers == 0 || o.rates.is_empty() || o.secs <= 0.0 {
        return Err("probes, viewers, rates and secs must be positive".into());
    }
    Ok(o)
}

// ---------------------------------------------------------------- frames

fn identity(name: &str, ip: [u8; 4], node: &str) -> Identity {
    Identity {
        kind: IdentityKind::POD,
        ip: IpAddr::V4(Ipv4Addr::from(ip)),
        name: name.into(),
        namespace: "shop".into(),
        node: node.into(),
        service: name.split('-').next().unwrap_or(name).into(),
        service_namespace: "shop".into(),
        workload: name.split('-').next().unwrap_or(name).into(),
        workload_kind: "Deployment".into(),
        labels: vec![("app".into(), "shop".into())],
        dns: String::new(),
    }
}

fn entry(i: usize) -> Entry {
    let path = format!("/api/v1/items/{}", 1000 + i);
    Entry {
        id: i as u64,
        timestamp_us: 1_764_000_000_000_000 + i as i64,
        elapsed_us: 1200 + i as i64,
        protocol: Protocol::HTTP,
        src: Peer {
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 5)),
            port: 40000 + i as u16,
            identity: 0,
        },
        dst: Peer {
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 2, 7)),
            port: 8080,
            identity: 1,
        },
        conn_id: 77 + i as u64,
        transport_udp: false,
        request_size: 220,
        response_size: 1430,
        status_code: 200,
        error: false,
        has_response: true,
        detail: Detail::Http(Box::new(Http {
            method: "GET".into(),
            url: path.clone(),
            path,
            http_version: "HTTP/1.1".into(),
            request_headers_size: 180,
            response_headers_size: 120,
            response_body_size: 1310,
            ..Http::default()
        })),
    }
}

/// Encodes one batch with `entries` entries; `ts` goes in `epoch`.
fn batch(node: &str, ts: u64, seq: u64, entries: usize) -> Vec<u8> {
    encode(&Frame::L7Batch(L7Batch {
        node: node.into(),
        epoch: ts,
        seq,
        identities: vec![
            identity("frontend-7d9f8", [10, 0, 1, 5], "node-a"),
            identity("catalog-5c6b7", [10, 0, 2, 7], "node-b"),
        ],
        entries: (0..entries).map(entry).collect(),
    }))
    .expect("bench batch encodes")
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

/// A probe's batch template: the bytes after `seq` (identities and entries)
/// are encoded once; every send writes header, node, time and seq in front.
struct Template {
    node: String,
    tail: Vec<u8>,
}

impl Template {
    fn new(node: &str, entries: usize) -> Self {
        // postcard writes fields in order: node, epoch, seq, identities, entries
        let full = batch(node, 0, 0, entries);
        let prefix = HEADER_LEN + 1 + node.len() + 2; // len varint < 128, two zero varints
        Template {
            node: node.into(),
            tail: full[prefix..].to_vec(),
        }
    }

    fn build(&self, ts: u64, seq: u64, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&[
            wiremap_wire::MAGIC,
            wiremap_wire::VERSION,
            FrameKind::L7Batch as u8,
            0,
        ]);
        put_varint(out, self.node.len() as u64);
        out.extend_from_slice(self.node.as_bytes());
        put_varint(out, ts);
        put_varint(out, seq);
        out.extend_from_slice(&self.tail);
    }
}

/// Send time of an L7 batch frame (its `epoch`), or None for other frames.
fn send_time(frame: &[u8]) -> Option<u64> {
    if frame.len() < HEADER_LEN || frame[2] != FrameKind::L7Batch as u8 {
        return None;
    }
    let mut at = HEADER_LEN;
    let n = get_varint(frame, &mut at)? as usize;
    at += n;
    get_varint(frame, &mut at)
}

// ---------------------------------------------------------------- raw WebSocket client

async fn write_all(s: &TcpStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        s.writable().await?;
        match s.try_write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Connects and upgrades; returns the stream and any bytes read past the
/// response head.
async fn ws_connect(addr: SocketAddr, path: &str) -> std::io::Result<(TcpStream, Vec<u8>)> {
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: d2lyZW1hcC1iZW5jaGtleQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    write_all(&s, req.as_bytes()).await?;
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    loop {
        s.readable().await?;
        match s.try_read(&mut buf[len..]) {
            Ok(0) => return Err(std::io::Error::other("closed during the handshake")),
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
        if let Some(end) = buf[..len].windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]);
            if !head.starts_with("HTTP/1.1 101") {
                return Err(std::io::Error::other(format!("upgrade refused: {head}")));
            }
            return Ok((s, buf[end + 4..len].to_vec()));
        }
        if len == buf.len() {
            return Err(std::io::Error::other("response head too long"));
        }
    }
}

/// Appends a masked client frame.
fn client_frame(opcode: u8, payload: &[u8], mask: [u8; 4], out: &mut Vec<u8>) {
    out.push(0x80 | opcode);
    let n = payload.len();
    if n < 126 {
        out.push(0x80 | n as u8);
    } else if n < 65536 {
        out.push(0x80 | 126);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
}

// ---------------------------------------------------------------- one load step

/// Shared clock: µs since the run began.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn us(&self) -> u64 {
        self.0.elapsed().as_micros() as u64 + 1
    }
}

#[derive(Default)]
struct ViewerResult {
    received: u64,
    /// Arrivals inside the measurement window.
    in_window: u64,
    /// Latencies (µs) of batches sent inside the measurement window.
    latencies: Vec<u32>,
    other_frames: u64,
    error: Option<String>,
}

struct Window {
    start_us: u64,
    end_us: u64,
}

async fn viewer(
    addr: SocketAddr,
    clock: Clock,
    window: Arc<Window>,
    expected: Arc<std::sync::atomic::AtomicU64>,
    stop: Arc<AtomicBool>,
    connected: tokio::sync::mpsc::Sender<()>,
) -> ViewerResult {
    let mut r = ViewerResult::default();
    let (s, mut buf) = match ws_connect(addr, "/ws").await {
        Ok(v) => v,
        Err(e) => {
            r.error = Some(e.to_string());
            let _ = connected.send(()).await;
            return r;
        }
    };
    let _ = connected.send(()).await;
    drop(connected);
    let mut start = 0usize;
    let mut chunk = vec![0u8; 256 << 10];
    let mut pong = Vec::new();
    loop {
        // parse every complete frame in buf[start..]
        loop {
            let b = &buf[start..];
            if b.len() < 2 {
                break;
            }
            let opcode = b[0] & 0x0f;
            let (len, hdr) = match b[1] & 0x7f {
                126 if b.len() >= 4 => (usize::from(u16::from_be_bytes([b[2], b[3]])), 4),
                127 if b.len() >= 10 => (
                    u64::from_be_bytes(b[2..10].try_into().unwrap_or([0; 8])) as usize,
                    10,
                ),
                126 | 127 => break,
                n => (usize::from(n), 2),
            };
            if b.len() < hdr + len {
                break;
            }
            let payload = &b[hdr..hdr + len];
            match opcode {
                0x2 => match send_time(payload) {
                    Some(ts) => {
                        let now = clock.us();
                        r.received += 1;
                        if now >= window.start_us && now < window.end_us {
                            r.in_window += 1;
                        }
                        if ts >= window.start_us && ts < window.end_us {
                            r.latencies
                                .push(u32::try_from(now.saturating_sub(ts)).unwrap_or(u32::MAX));
                        }
                    }
                    None => r.other_frames += 1,
                },
                0x9 => {
                    pong.clear();
                    client_frame(0xA, payload, [1, 2, 3, 4], &mut pong);
                    if let Err(e) = write_all(&s, &pong).await {
                        r.error = Some(e.to_string());
                        return r;
                    }
                }
                0x8 => {
                    r.error = Some("server closed the viewer".into());
                    return r;
                }
                _ => r.other_frames += 1,
            }
            start += hdr + len;
        }
        if start > 0 {
            buf.drain(..start);
            start = 0;
        }
        if stop.load(Ordering::Relaxed) {
            return r;
        }
        let want = expected.load(Ordering::Relaxed);
        if want > 0 && r.received >= want {
            return r;
        }
        let ready = tokio::time::timeout(Duration::from_millis(50), s.readable()).await;
        if ready.is_err() {
            continue;
        }
        match s.try_read(&mut chunk) {
            Ok(0) => {
                r.error = Some("viewer connection closed".into());
                return r;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => {
                r.error = Some(e.to_string());
                return r;
            }
        }
    }
}

async fn probe(
    addr: SocketAddr,
    index: usize,
    rate: f64,
    entries: usize,
    clock: Clock,
    send_until: Instant,
) -> Result<(u64, TcpStream), String> {
    let node = format!("bench-{index:02}");
    let (s, _) = ws_connect(addr, "/ws/probe")
        .await
        .map_err(|e| format!("probe {index}: {e}"))?;
    let tpl = Template::new(&node, entries);
    let hello = encode(&Frame::Hello(Hello {
        node: node.clone(),
        probe_version: "bench".into(),
        epoch: 1,
    }))
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut mask_state = 0x9e37_79b9_u32.wrapping_add(index as u32);
    let mut next_mask = || {
        mask_state ^= mask_state << 13;
        mask_state ^= mask_state >> 17;
        mask_state ^= mask_state << 5;
        mask_state.to_be_bytes()
    };
    client_frame(0x2, &hello, next_mask(), &mut out);
    write_all(&s, &out)
        .await
        .map_err(|e| format!("probe {index}: {e}"))?;
    let begin = Instant::now();
    let mut sent = 0u64;
    let mut frame = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sink = vec![0u8; 4096];
    loop {
        tick.tick().await;
        let now = Instant::now();
        if now >= send_until {
            break;
        }
        let owed = (now.duration_since(begin).as_secs_f64() * rate) as u64;
        if owed <= sent {
            continue;
        }
        out.clear();
        while sent < owed {
            tpl.build(clock.us(), sent, &mut frame);
            client_frame(0x2, &frame, next_mask(), &mut out);
            sent += 1;
        }
        write_all(&s, &out)
            .await
            .map_err(|e| format!("probe {index}: {e}"))?;
        // discard pings the server may send (probes need not answer within a step)
        while let Ok(n) = s.try_read(&mut sink) {
            if n == 0 {
                break;
            }
        }
    }
    // The caller keeps the connection open until the viewers have drained:
    // closing it with unread pings in the buffer would reset it, and the
    // server would lose the last batches.
    Ok((sent, s))
}

// ---------------------------------------------------------------- server processes

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Relay,
    Node,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Relay => "wiremap-relay",
            Server::Node => "node ws hub",
        }
    }
}

struct Proc {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn node_modules() -> Result<PathBuf, String> {
    let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
    let prefix = Path::new(&home).join(".cache/wiremap-bench/node");
    let modules = prefix.join("node_modules");
    if !modules.join("ws/package.json").exists() {
        eprintln!("installing npm ws into {}", prefix.display());
        std::fs::create_dir_all(&prefix).map_err(|e| e.to_string())?;
        let st = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg("ws@8")
            .status()
            .map_err(|e| format!("npm: {e}"))?;
        if !st.success() {
            return Err(format!("npm install ws failed: {st}"));
        }
    }
    Ok(modules)
}

fn ws_version(modules: &Path) -> String {
    std::fs::read_to_string(modules.join("ws/package.json"))
        .ok()
        .and_then(|t| {
            let v: serde_json::Value = serde_json::from_str(&t).ok()?;
            v.get("version")?.as_str().map(str::to_owned)
        })
        .unwrap_or_else(|| "?".into())
}

/// A command for `program`, pinned to CPU 0 inside the namespace run
/// (`taskset` execs it, so the child's pid is the server's own).
fn server_command(program: impl AsRef<std::ffi::OsStr>, opts: &Opts) -> Command {
    if opts.pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn spawn(server: Server, opts: &Opts, modules: &Path) -> Result<Proc, String> {
    let mut cmd = match server {
        Server::Relay => {
            let bin = opts
                .relay_bin
                .clone()
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_wiremap-relay")));
            let mut c = server_command(bin, opts);
            c.args([
                "--listen",
                "127.0.0.1:0",
                "--insecure-no-auth",
                "--static-dir",
                "no-static-dir",
            ])
            .env("RUST_LOG", "error");
            if let Some(n) = opts.relay_workers {
                c.args(["--workers", &n.to_string()]);
            }
            if let Some(ms) = opts.relay_linger_ms {
                c.args(["--viewer-linger-ms", &ms.to_string()]);
            }
            c
        }
        Server::Node => {
            let mut c = server_command("node", opts);
            c.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/ws_hub.js"))
                .env("NODE_PATH", modules);
            c
        }
    };
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("{}: {e}", server.name()))?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let port = line
        .trim()
        .rsplit([':', ' '])
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .ok_or_else(|| format!("{}: unexpected first line {line:?}", server.name()))?;
    Ok(Proc {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
    })
}

fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

/// (utime, stime) of a process, in seconds: user space and kernel.
fn cpu_secs(pid: &str, tck: f64) -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return (0.0, 0.0);
    };
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return (0.0, 0.0);
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) / tck, ticks(12) / tck)
}

/// (VmRSS, VmHWM) in KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// (L7 batches dropped for full viewer queues, L7 batches received) per the relay.
fn relay_counts(addr: SocketAddr) -> Option<(u64, u64)> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let get = |series: &str| wiremap_relay::metrics::sample(&text, series);
    Some((
        get("wiremap_relay_dropped_total{reason=\"viewer_queue_full\"}")?,
        get("wiremap_relay_frames_in_total{kind=\"l7_batch\"}")?,
    ))
}

// ---------------------------------------------------------------- results

#[derive(Debug, Clone)]
struct Step {
    server: Server,
    offered: u64,
    /// Batches/s the probes actually sent.
    achieved: f64,
    sent: u64,
    delivered_per_s: f64,
    expected: u64,
    received: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    cpu_us_per_delivery: f64,
    /// The kernel's part of it (sends, and on loopback the receiving
    /// side's TCP input, which runs in the sender's system call).
    kernel_us_per_delivery: f64,
    cpu_util: f64,
    gen_cpu_util: f64,
    rss_mib: f64,
    hwm_mib: f64,
    /// The relay's own count: (dropped for full queues, L7 batches in).
    relay_drops: Option<(u64, u64)>,
    errors: usize,
}

impl Step {
    fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.received)
    }

    fn keeps_up(&self) -> bool {
        self.lost() == 0 && self.errors == 0 && self.p99_ms < 50.0
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

async fn run_step(
    server: Server,
    opts: &Opts,
    rate: u64,
    proc_: &Proc,
    tck: f64,
) -> Result<Step, String> {
    let clock = Clock(Instant::now());
    let addr = proc_.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let expected = Arc::new(std::sync::atomic::AtomicU64::new(0));
    // the window is fixed relative to the clock; viewers connect first
    let connect_budget = Duration::from_secs(5);
    let t_send = clock.0 + connect_budget;
    let t_warm = t_send + Duration::from_secs_f64(opts.warm_secs);
    let t_end = t_warm + Duration::from_secs_f64(opts.secs);
    let us = |t: Instant| t.duration_since(clock.0).as_micros() as u64 + 1;
    let window = Arc::new(Window {
        start_us: us(t_warm),
        end_us: us(t_end),
    });
    let (ctx, mut crx) = tokio::sync::mpsc::channel(opts.viewers);
    let mut viewers = Vec::new();
    for _ in 0..opts.viewers {
        viewers.push(tokio::spawn(viewer(
            addr,
            clock,
            window.clone(),
            expected.clone(),
            stop.clone(),
            ctx.clone(),
        )));
    }
    drop(ctx);
    while crx.recv().await.is_some() {}
    if let Some(i) = viewers.iter().position(|v| v.is_finished()) {
        let r = viewers.swap_remove(i).await.map_err(|e| e.to_string())?;
        return Err(format!("a viewer ended early: {:?}", r.error));
    }
    if Instant::now() > t_send {
        return Err("viewers took longer than 5 s to connect".into());
    }
    tokio::time::sleep_until(t_send.into()).await;
    let per_probe = rate as f64 / opts.probes as f64;
    let mut probes = Vec::new();
    for i in 0..opts.probes {
        probes.push(tokio::spawn(probe(
            addr,
            i,
            per_probe,
            opts.entries,
            clock,
            t_end,
        )));
    }
    let pid = proc_.child.id().to_string();
    tokio::time::sleep_until(t_warm.into()).await;
    let cpu0 = cpu_secs(&pid, tck);
    let gen0 = cpu_secs("self", tck);
    tokio::time::sleep_until(t_end.into()).await;
    let cpu1 = cpu_secs(&pid, tck);
    let gen1 = cpu_secs("self", tck);
    let (rss, _) = rss_kib(proc_.child.id());
    let mut sent = 0;
    let mut open = Vec::new();
    for p in probes {
        let (n, conn) = p.await.map_err(|e| e.to_string())??;
        sent += n;
        open.push(conn);
    }
    expected.store(sent, Ordering::Relaxed);
    // drain: viewers return once they have every batch, or at the deadline
    let stopper = {
        let stop = stop.clone();
        let d = Duration::from_secs_f64(opts.drain_secs);
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let mut received = 0;
    let mut in_window = 0;
    let mut lat = Vec::new();
    let mut errors = 0;
    for v in viewers {
        let r = v.await.map_err(|e| e.to_string())?;
        received += r.received;
        in_window += r.in_window;
        lat.extend_from_slice(&r.latencies);
        if let Some(e) = r.error {
            errors += 1;
            if errors == 1 {
                eprintln!("  viewer error: {e}");
            }
        }
    }
    stopper.abort();
    drop(open);
    let (_, hwm) = rss_kib(proc_.child.id());
    let relay_drops = (server == Server::Relay)
        .then(|| relay_counts(addr))
        .flatten();
    lat.sort_unstable();
    let secs = opts.secs;
    let delivered_per_s = in_window as f64 / secs;
    let (user, kernel) = (cpu1.0 - cpu0.0, cpu1.1 - cpu0.1);
    let cpu = user + kernel;
    let per_delivery = |secs: f64| {
        if in_window > 0 {
            secs * 1e6 / in_window as f64
        } else {
            f64::NAN
        }
    };
    Ok(Step {
        server,
        offered: rate,
        achieved: sent as f64 / (opts.warm_secs + secs),
        sent,
        delivered_per_s,
        expected: sent * opts.viewers as u64,
        received,
        p50_ms: percentile(&lat, 0.50),
        p99_ms: percentile(&lat, 0.99),
        max_ms: lat.last().map_or(f64::NAN, |v| f64::from(*v) / 1000.0),
        cpu_us_per_delivery: per_delivery(cpu),
        kernel_us_per_delivery: per_delivery(kernel),
        cpu_util: cpu / secs,
        gen_cpu_util: (gen1.0 + gen1.1 - gen0.0 - gen0.1) / secs,
        rss_mib: rss as f64 / 1024.0,
        hwm_mib: hwm as f64 / 1024.0,
        relay_drops,
        errors,
    })
}

fn print_header() {
    println!(
        "| server | offered (sent) batches/s | deliveries/s offered | delivered batches/s (all viewers) | entries/s | lost | p50 ms | p99 ms | max ms | server CPU µs/delivery (of which kernel) | server CPU (cores) | generator CPU (cores) | RSS MiB (end / peak) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
}

fn print_step(s: &Step, opts: &Opts) {
    let lost = if s.errors > 0 {
        format!("{} ({} viewer errors)", s.lost(), s.errors)
    } else {
        s.lost().to_string()
    };
    let lost = match s.relay_drops {
        Some((d, got)) if d > 0 || got != s.sent => {
            format!(
                "{lost} (relay dropped {d}, received {got} of {} batches)",
                s.sent
            )
        }
        _ => lost,
    };
    println!(
        "| {} | {} ({:.0}) | {} | {:.0} | {:.0} | {} | {:.1} | {:.1} | {:.1} | {:.2} ({:.2}) | {:.2} | {:.2} | {:.0} / {:.0} |",
        s.server.name(),
        s.offered,
        s.achieved,
        s.offered * opts.viewers as u64,
        s.delivered_per_s,
        s.delivered_per_s * opts.entries as f64,
        lost,
        s.p50_ms,
        s.p99_ms,
        s.max_ms,
        s.cpu_us_per_delivery,
        s.kernel_us_per_delivery,
        s.cpu_util,
        s.gen_cpu_util,
        s.rss_mib,
        s.hwm_mib,
    );
}

fn self_check(entries: usize) -> Result<(), String> {
    let tpl = Template::new("bench-03", entries);
    let mut f = Vec::new();
    tpl.build(123_456_789, 300, &mut f);
    match wiremap_wire::decode(&f) {
        Ok(Frame::L7Batch(b))
            if b.epoch == 123_456_789
                && b.seq == 300
                && b.entries.len() == entries
                && b.node == "bench-03" => {}
        other => return Err(format!("template does not decode as expected: {other:?}")),
    }
    if send_time(&f) != Some(123_456_789) {
        return Err("send time not found in the frame prefix".into());
    }
    Ok(())
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("load: {e}");
        std::process::exit(1);
    }
}

fn run_checked(cmd: &mut Command) -> Result<(), String> {
    let st = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?}: {st}"))
    }
}

/// `--netns`: creates a namespace, brings its `lo` up, with `rps` steers
/// its received packets to every CPU but 0, re-runs this bench inside it
/// (generator on CPUs 1.., servers on CPU 0), and deletes the namespace.
fn run_in_netns(mode: &str) -> Result<(), String> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        return Err("--netns needs at least 2 CPUs".into());
    }
    let ns = format!("wiremap-bench-{}", std::process::id());
    run_checked(Command::new("ip").args(["netns", "add", &ns]))?;
    let result = (|| {
        let rps = if mode == "rps" {
            // every CPU but 0, as a hex mask
            let mask: u64 = if cpus >= 64 {
                !1
            } else {
                ((1u64 << cpus) - 1) & !1
            };
            format!("{mask:x}")
        } else {
            "0".into()
        };
        let setup = format!(
            "ip link set lo up && echo {rps} > /sys/class/net/lo/queues/rx-0/rps_cpus && \
             echo \"netns {ns}: lo rps_cpus=$(cat /sys/class/net/lo/queues/rx-0/rps_cpus), \
             tcp_congestion_control=$(sysctl -n net.ipv4.tcp_congestion_control)\""
        );
        run_checked(Command::new("ip").args(["netns", "exec", &ns, "sh", "-c", &setup]))?;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut args: Vec<String> = Vec::new();
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            if a == "--netns" {
                it.next();
            } else {
                args.push(a);
            }
        }
        println!(
            "netns mode {mode}: servers pinned to CPU 0, generator to CPUs 1-{}",
            cpus - 1
        );
        run_checked(
            Command::new("ip")
                .args(["netns", "exec", &ns, "taskset", "-c"])
                .arg(format!("1-{}", cpus - 1))
                .arg(exe)
                .args(args)
                .arg("--pinned-in-netns"),
        )
    })();
    let deleted = run_checked(Command::new("ip").args(["netns", "delete", &ns]));
    result.and(deleted)
}

fn real_main() -> Result<(), String> {
    let opts = parse_opts()?;
    if let Some(mode) = &opts.netns {
        return run_in_netns(mode);
    }
    self_check(opts.entries)?;
    let modules = node_modules()?;
    let tck = clk_tck();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut f = Vec::new();
    Template::new("bench-00", opts.entries).build(1_000_000, 1000, &mut f);
    println!(
        "load: {} probes, {} viewers, {} entries per batch, L7 batch frame {} bytes, {} s measured after {} s warm-up, drain up to {} s; ws {}; {} cores",
        opts.probes,
        opts.viewers,
        opts.entries,
        f.len(),
        opts.secs,
        opts.warm_secs,
        opts.drain_secs,
        ws_version(&modules),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    let servers: Vec<Server> = match opts.only.as_deref() {
        None => vec![Server::Relay, Server::Node],
        Some("relay") => vec![Server::Relay],
        Some("node") => vec![Server::Node],
        Some(other) => return Err(format!("--only {other}: expected relay or node")),
    };
    let mut steps = Vec::new();
    print_header();
    for rate in &opts.rates {
        for &server in &servers {
            let p = spawn(server, &opts, &modules)?;
            let step = rt.block_on(run_step(server, &opts, *rate, &p, tck))?;
            drop(p);
            print_step(&step, &opts);
            steps.push(step);
        }
    }
    println!();
    for &server in &servers {
        let mine: Vec<&Step> = steps.iter().filter(|s| s.server == server).collect();
        let sustained = mine
            .iter()
            .filter(|s| s.keeps_up())
            .map(|s| s.delivered_per_s)
            .fold(0.0, f64::max);
        let peak = mine.iter().map(|s| s.delivered_per_s).fold(0.0, f64::max);
        println!(
            "{}: highest delivered rate with zero loss and p99 < 50 ms: {:.0} deliveries/s; peak delivered rate at any latency: {:.0} deliveries/s",
            server.name(),
            sustained,
            peak
        );
    }
    Ok(())
}
