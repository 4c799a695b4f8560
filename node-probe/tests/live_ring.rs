//! The PACKET_MMAP ring, all real: a veth pair into a network namespace
//! made for each test (the e2e crate's `VethHost`), UDP sent with real
//! sockets from both ends, captured with [`Ring`] and with [`Capture`].
//! Needs root (CAP_NET_ADMIN for the namespace, CAP_NET_RAW for the ring);
//! without it each test says so and skips.

use std::net::UdpSocket;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wiremap_e2e::netns::{is_root, VethHost};
use wiremap_probe::live::{Capture, CaptureKind, LiveConfig, POLL_TIMEOUT};
use wiremap_probe::ring::{Ring, RingConfig, RingError};

const PAYLOAD: usize = 200;

/// The payload of packet `seq`: a readable prefix, then bytes that depend
/// on the sequence number (the Python sender builds the same).
fn payload(seq: usize) -> Vec<u8> {
    let mut p = format!("wiremap-ring {seq:06} ").into_bytes();
    for j in p.len()..PAYLOAD {
        p.push(((seq * 31 + j) % 251) as u8);
    }
    p
}

/// The sequence number of a payload that is exactly what [`payload`] makes.
fn check(p: &[u8]) -> usize {
    let seq: usize = std::str::from_utf8(&p[13..19])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a test payload: {p:?}"));
    assert_eq!(p, payload(seq).as_slice(), "payload {seq} arrived changed");
    seq
}

/// The UDP payload of an Ethernet + IPv4 frame to `port`.
fn udp_to(frame: &[u8], port: u16) -> Option<&[u8]> {
    if frame.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let ip = frame.get(14..)?;
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    if *ip.get(9)? != 17 {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    let udp = ip.get(ihl..total)?;
    if u16::from_be_bytes([*udp.get(2)?, *udp.get(3)?]) != port {
        return None;
    }
    udp.get(8..)
}

/// A veth pair for one test: host end `10.<net>.0.1`, namespace end
/// `10.<net>.0.2`.
fn lab(tag: &str, net: u8) -> Option<VethHost> {
    if !is_root() {
        println!("SKIPPED: needs root for network namespaces and AF_PACKET");
        return None;
    }
    let pid = std::process::id() % 10_000;
    match VethHost::create(
        &format!("wmr-{tag}-{pid}"),
        &format!("wmr{tag}{pid}"),
        &format!("10.{net}.0.1/24"),
        &format!("10.{net}.0.2/24"),
    ) {
        Ok(v) => Some(v),
        Err(e) => {
            println!("SKIPPED: {e}");
            None
        }
    }
}

fn small_ring() -> RingConfig {
    RingConfig {
        ring_mb: 8,
        ..RingConfig::default()
    }
}

/// Sends `n` payloads from the root namespace to `dst:port`, after one
/// warm-up datagram (to another port) so ARP is resolved first.
fn send_from_host(dst: &str, port: u16, n: usize) {
    let s = UdpSocket::bind("0.0.0.0:0").unwrap();
    s.send_to(b"warm-up", (dst, 9)).unwrap();
    // Until the neighbour entry is resolved, the kernel keeps only a few
    // packets per neighbour and drops the rest: wait for it (a fixed pause
    // was too short on a loaded machine).
    let end = Instant::now() + Duration::from_secs(5);
    while !neighbour_resolved(dst) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(50));
    for i in 0..n {
        s.send_to(&payload(i), (dst, port)).unwrap();
    }
}

/// The root namespace has a resolved link-layer address for `ip`.
fn neighbour_resolved(ip: &str) -> bool {
    Command::new("ip")
        .args(["neigh", "show", ip])
        .output()
        .map(|o| {
            let out = String::from_utf8_lossy(&o.stdout);
            out.contains("lladdr") && !out.contains("INCOMPLETE") && !out.contains("FAILED")
        })
        .unwrap_or(false)
}

/// Sends `n` payloads from inside the namespace (a real socket in
/// Python) to `dst:port`, paced a little so the veth backlog never fills.
fn send_from_namespace(ns: &VethHost, dst: &str, port: u16, n: usize) {
    let script = format!(
        "import socket, time\n\
         s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         s.sendto(b'warm-up', ('{dst}', 9)); time.sleep(0.3)\n\
         for i in range({n}):\n\
         \x20   p = bytearray(b'wiremap-ring %06d ' % i)\n\
         \x20   p += bytes((i * 31 + j) % 251 for j in range(len(p), {PAYLOAD}))\n\
         \x20   s.sendto(p, ('{dst}', {port}))\n\
         \x20   if i % 100 == 99: time.sleep(0.002)\n"
    );
    let st = ns
        .command("python3")
        .args(["-c", &script])
        .status()
        .expect("python3 runs");
    assert!(st.success(), "sender in the namespace failed: {st}");
}

/// Reads the ring until `want` packets to `port` came or `deadline`, then
/// one more block timeout for stragglers; returns the payloads' seqs.
fn collect(ring: &mut Ring, port: u16, want: usize, deadline: Duration) -> Vec<usize> {
    let end = Instant::now() + deadline;
    let mut seqs = Vec::new();
    let mut extra_wait = None;
    loop {
        if let Some(block) = ring.next_block(POLL_TIMEOUT).expect("ring read") {
            for p in block.packets() {
                assert_eq!(p.data.len() as u32, p.wire_len, "nothing truncated");
                assert!(p.ts_us > 1_600_000_000_000_000, "a wall-clock timestamp");
                if let Some(u) = udp_to(p.data, port) {
                    seqs.push(check(u));
                }
            }
        }
        if seqs.len() >= want && extra_wait.is_none() {
            extra_wait = Some(Instant::now() + Duration::from_millis(300));
        }
        if extra_wait.is_some_and(|t| Instant::now() >= t) || Instant::now() >= end {
            return seqs;
        }
    }
}

fn assert_each_once(mut seqs: Vec<usize>, n: usize, what: &str) {
    assert_eq!(seqs.len(), n, "{what}: packet count");
    seqs.sort_unstable();
    assert!(
        seqs.iter().copied().eq(0..n),
        "{what}: every sequence number exactly once"
    );
}

#[test]
fn the_ring_gets_every_packet_both_ways_with_its_bytes() {
    let Some(ns) = lab("b", 205) else { return };
    let mut ring = Ring::open(&ns.host_if, &small_ring()).expect("ring opens");
    // Outgoing on the host end: sent from this namespace.
    let sender = std::thread::spawn(|| send_from_host("10.205.0.2", 40001, 3000));
    let seqs = collect(&mut ring, 40001, 3000, Duration::from_secs(20));
    sender.join().unwrap();
    assert_each_once(seqs, 3000, "host → namespace");
    // Incoming on the host end: sent from inside the namespace.
    let ns = Arc::new(ns);
    let ns2 = ns.clone();
    let sender = std::thread::spawn(move || send_from_namespace(&ns2, "10.205.0.1", 40002, 1000));
    let seqs = collect(&mut ring, 40002, 1000, Duration::from_secs(20));
    sender.join().unwrap();
    assert_each_once(seqs, 1000, "namespace → host");
    let st = ring.stats().expect("PACKET_STATISTICS");
    assert!(st.packets >= 4000, "the socket saw our packets: {st:?}");
    assert_eq!(st.drops, 0, "nothing dropped: {st:?}");
    // Counters accumulate across reads (the kernel resets its own).
    let again = ring.stats().unwrap();
    assert!(again.packets >= st.packets);
}

#[test]
fn kernel_drops_are_counted_when_nobody_reads() {
    let Some(ns) = lab("d", 206) else { return };
    let cfg = RingConfig {
        ring_mb: 1,
        ..RingConfig::default()
    };
    let mut ring = Ring::open(&ns.host_if, &cfg).expect("ring opens");
    let total = ring.layout().total_bytes();
    // Far more than the ring holds, before anything reads it.
    let n = 10_000;
    send_from_host("10.206.0.2", 40003, n);
    let seqs = collect(&mut ring, 40003, n, Duration::from_secs(2));
    let st = ring.stats().expect("PACKET_STATISTICS");
    assert!(
        !seqs.is_empty() && seqs.len() < n,
        "a {total}-byte ring keeps only part of {n} packets, got {}",
        seqs.len()
    );
    assert!(st.drops > 0, "{st:?}");
    assert!(
        seqs.len() as u64 + st.drops >= n as u64,
        "read {} + dropped {} covers the {n} sent",
        seqs.len(),
        st.drops
    );
    assert!(st.packets >= seqs.len() as u64 + st.drops, "{st:?}");
}

/// Everything from a capture's batches that is UDP to `port`.
fn capture_collect(cap: &Capture, port: u16, want: usize) -> Vec<usize> {
    let end = Instant::now() + Duration::from_secs(20);
    let mut seqs = Vec::new();
    let mut extra_wait = None;
    loop {
        if let Some(batch) = cap.recv(Duration::from_millis(50)) {
            for p in batch.iter() {
                if let Some(u) = udp_to(p.data, port) {
                    seqs.push(check(u));
                }
            }
            cap.recycle(batch);
        }
        if seqs.len() >= want && extra_wait.is_none() {
            extra_wait = Some(Instant::now() + Duration::from_millis(300));
        }
        if extra_wait.is_some_and(|t| Instant::now() >= t) || Instant::now() >= end {
            return seqs;
        }
    }
}

fn counter(cap: &Capture, name: &str) -> u64 {
    cap.counters()
        .into_iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no counter {name}"))
        .1
}

#[test]
fn capture_uses_the_ring_and_stops_on_its_flag() {
    let Some(ns) = lab("c", 207) else { return };
    let stop = Arc::new(AtomicBool::new(false));
    let mut cfg = LiveConfig::named(&[&ns.host_if]);
    cfg.ring = small_ring();
    let cap = Capture::start_with_stop(&cfg, stop.clone()).expect("capture starts");
    assert_eq!(cap.kinds(), [CaptureKind::Ring]);
    let sender = std::thread::spawn(|| send_from_host("10.207.0.2", 40004, 5000));
    let seqs = capture_collect(&cap, 40004, 5000);
    sender.join().unwrap();
    assert_each_once(seqs, 5000, "through Capture");
    assert!(counter(&cap, "capture.received") >= 5000);
    assert_eq!(counter(&cap, "capture.dropped_user"), 0);
    assert_eq!(counter(&cap, "capture.dropped_kernel"), 0);
    assert_eq!(counter(&cap, "capture.read_errors"), 0);
    assert!(!cap.finished());
    stop.store(true, Ordering::Relaxed);
    // A generous bound: the threads notice within one poll timeout.
    let end = Instant::now() + POLL_TIMEOUT + Duration::from_secs(3);
    while !cap.finished() {
        assert!(Instant::now() < end, "capture threads did not stop");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A pod's veth disappears with the pod: its capture thread ends (the
/// others keep going) instead of spinning on errors.
#[test]
fn a_capture_ends_when_its_interface_goes_away() {
    let Some(ns) = lab("g", 209) else { return };
    let stop = Arc::new(AtomicBool::new(false));
    let cfg = LiveConfig::named(&[&ns.host_if]);
    let cap = Capture::start_with_stop(&cfg, stop).expect("capture starts");
    assert_eq!(cap.kinds(), [CaptureKind::Ring]);
    assert!(!cap.finished());
    let st = Command::new("ip")
        .args(["link", "del", &ns.host_if])
        .status()
        .unwrap();
    assert!(st.success());
    let end = Instant::now() + Duration::from_secs(5);
    while !cap.finished() {
        assert!(Instant::now() < end, "the capture thread kept running");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Datagrams in flight on `lo` at most in [`send_on_lo_in_step`]. The pnet
/// fallback reads a plain packet socket with the default receive buffer
/// (`net.core.rmem_default`, 212,992 bytes on the test machines), which
/// holds about 167 of these frames (each costs ≈ 1.3 KB of kernel memory):
/// a burst of 100 datagrams, 200 copies on `lo`, fits only if the capture
/// thread keeps up, and on a loaded machine it is not always scheduled in
/// time. Ten datagrams (twenty frames) use about an eighth of the buffer.
const LO_WINDOW: usize = 10;

/// Sends payloads `0..n` over `lo` to a bound UDP socket, [`LO_WINDOW`] at
/// a time, each window only once the capture has delivered `copies` of
/// every datagram of the previous one; then payload `n` alone as an end
/// marker, awaited the same way. Returns the sequence numbers of all the
/// captured datagrams to that port, up to the batch holding the marker.
///
/// The capture's socket is open once [`Capture::start_with_stop`] returns,
/// so nothing sent after it is missed for being early. A copy that should
/// not be there (the sent copy on `lo`, which the ring path skips) is
/// queued while its datagram is sent, so before the marker leaves: having
/// the marker means every such copy was read too, and no pause for
/// stragglers is needed.
fn send_on_lo_in_step(cap: &Capture, n: usize, copies: usize, what: &str) -> Vec<usize> {
    // A real receiver: the port is free for this test alone, and the
    // kernel sends no ICMP port-unreachable replies (two more frames per
    // datagram on `lo`). What it receives is not read; it is not the
    // subject here.
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = receiver.local_addr().unwrap().port();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Only a bound on a broken capture, never reached when packets flow.
    let end = Instant::now() + Duration::from_secs(20);
    let mut seen = vec![0usize; n + 1];
    let mut seqs = Vec::new();
    let windows = (0..n)
        .step_by(LO_WINDOW)
        .map(|s| s..(s + LO_WINDOW).min(n))
        .chain(std::iter::once(n..n + 1));
    for window in windows {
        for i in window.clone() {
            sender.send_to(&payload(i), ("127.0.0.1", port)).unwrap();
        }
        while let Some(missing) = window.clone().find(|&i| seen[i] < copies) {
            assert!(
                Instant::now() < end,
                "{what}: datagram {missing} seen {} times of {copies} (got {} frames)",
                seen[missing],
                seqs.len()
            );
            let Some(batch) = cap.recv(POLL_TIMEOUT) else {
                continue;
            };
            for p in batch.iter() {
                if let Some(u) = udp_to(p.data, port) {
                    let seq = check(u);
                    assert!(seq <= n, "{what}: datagram {seq} was never sent");
                    seen[seq] += 1;
                    seqs.push(seq);
                }
            }
            cap.recycle(batch);
        }
    }
    drop(receiver);
    seqs
}

/// Set in the copy of this test binary that
/// [`loopback_is_counted_once_with_the_ring`] runs inside its namespace.
const IN_OWN_NAMESPACE: &str = "WIREMAP_LO_TEST_IN_OWN_NAMESPACE";

/// `lo` shows each packet twice (sent and received copies); the ring
/// path keeps one, pnet sees both (the pipeline's dedupe handles those).
///
/// The captures run on the `lo` of a network namespace made for the test
/// (this test binary runs itself there): the root namespace's `lo` carries
/// whatever else runs on the machine, and a burst of that traffic fills
/// the pnet socket's receive buffer and drops this test's packets.
#[test]
fn loopback_is_counted_once_with_the_ring() {
    if std::env::var_os(IN_OWN_NAMESPACE).is_some() {
        loopback_captures();
        return;
    }
    let Some(ns) = lab("l", 210) else { return };
    let exe = std::env::current_exe().expect("the test binary");
    let out = ns
        .command(exe.to_str().expect("a UTF-8 path"))
        .args([
            "--exact",
            "loopback_is_counted_once_with_the_ring",
            "--nocapture",
        ])
        .env(IN_OWN_NAMESPACE, "1")
        .output()
        .expect("the test binary runs in the namespace");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "in the namespace: {}\n{stdout}\n{stderr}",
        out.status
    );
}

/// The body of [`loopback_is_counted_once_with_the_ring`], on the `lo` of
/// whatever namespace it runs in.
fn loopback_captures() {
    let run = |kind: CaptureKind, n: usize, copies: usize, what: &str| {
        let stop = Arc::new(AtomicBool::new(false));
        let mut cfg = LiveConfig::named(&["lo"]);
        cfg.capture = kind;
        cfg.ring = small_ring();
        let cap = Capture::start_with_stop(&cfg, stop.clone()).expect("capture on lo");
        assert_eq!(cap.kinds(), [kind]);
        let seqs = send_on_lo_in_step(&cap, n, copies, what);
        stop.store(true, Ordering::Relaxed);
        seqs
    };
    // 300 datagrams and the marker, each exactly once.
    assert_each_once(
        run(CaptureKind::Ring, 300, 1, "ring on lo"),
        301,
        "ring on lo",
    );
    // 100 datagrams and the marker, each exactly twice.
    let mut pnet = run(CaptureKind::Pnet, 100, 2, "pnet on lo");
    pnet.sort_unstable();
    assert!(
        pnet.iter().copied().eq((0..=100).flat_map(|i| [i, i])),
        "pnet sees both copies on lo, no more: {pnet:?}"
    );
}

#[test]
fn bad_ring_configs_are_refused_clearly() {
    let err = |cfg: RingConfig, ifname: &str| match Ring::open(ifname, &cfg) {
        Ok(_) => panic!("{cfg:?} on {ifname} opened"),
        Err(e) => e,
    };
    let zero = RingConfig {
        ring_mb: 0,
        ..RingConfig::default()
    };
    let e = err(zero, "lo");
    assert!(matches!(e, RingError::Config(_)), "{e:?}");
    assert!(e.to_string().contains("--ring-mb"), "{e}");
    let absurd = RingConfig {
        ring_mb: 1 << 30,
        ..RingConfig::default()
    };
    let e = err(absurd, "lo");
    assert!(matches!(e, RingError::Config(_)), "{e:?}");
    assert!(e.to_string().contains("too large"), "{e}");
    let e = err(RingConfig::default(), "wmr-missing0");
    assert!(matches!(e, RingError::NoInterface(_)), "{e:?}");
    assert_eq!(e.to_string(), "no interface named \"wmr-missing0\"");
    let e = err(RingConfig::default(), "bad\0name");
    assert!(matches!(e, RingError::NoInterface(_)), "{e:?}");
    let too_large = RingError::TooLarge {
        mb: 512,
        source: std::io::Error::from_raw_os_error(12),
    };
    assert!(too_large.to_string().contains("lower --ring-mb"));
    // Through Capture: a bad size is refused before any socket opens, a
    // missing interface by name.
    let mut cfg = LiveConfig::named(&["lo"]);
    cfg.ring.ring_mb = 0;
    let e = Capture::start_with_stop(&cfg, Arc::default()).unwrap_err();
    assert!(e.to_string().contains("--ring-mb"), "{e}");
    let cfg = LiveConfig::named(&["wmr-missing0"]);
    let e = Capture::start_with_stop(&cfg, Arc::default()).unwrap_err();
    assert!(e.to_string().contains("no interface named"), "{e}");
}

/// Without CAP_NET_RAW the probe says what it needs.
#[test]
fn an_unprivileged_probe_says_it_needs_cap_net_raw() {
    if !is_root() || Command::new("setpriv").arg("--help").output().is_err() {
        println!("SKIPPED: needs root and setpriv to drop privileges");
        return;
    }
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_wiremap-probe"))
        .args([
            "--identity",
            "none",
            "--interface",
            "lo",
            "--output",
            "jsonl",
        ])
        .output()
        .expect("setpriv runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the probe must fail: {stderr}");
    assert!(stderr.contains("CAP_NET_RAW"), "{stderr}");
}
