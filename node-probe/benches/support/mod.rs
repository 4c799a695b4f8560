//! Shared by the probe's bench binaries: the mixed capture they read, and
//! running a process (ours or a peer's) on one core under `/usr/bin/time -v`.
#![allow(dead_code)]

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use wiremap_probe::pcap::CaptureReader;

/// The core every measured process is pinned to.
pub const CORE: &str = "1";

/// Where generated captures and peer outputs go (under the target dir).
pub fn work_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("probe-bench");
    std::fs::create_dir_all(&d).expect("create the bench work dir");
    d
}

/// The real capture made by the project's traffic recipe, decompressed.
pub fn mixed_small() -> PathBuf {
    let out = work_dir().join("mixed-small.pcap");
    if out.exists() {
        return out;
    }
    let xz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/captures/mixed-small.pcap.xz");
    let data = Command::new("xz")
        .arg("-dc")
        .arg(&xz)
        .output()
        .unwrap_or_else(|e| panic!("xz runs on {}: {e}", xz.display()));
    assert!(data.status.success(), "xz -dc {} failed", xz.display());
    std::fs::write(&out, data.stdout).expect("write the capture");
    out
}

/// One's-complement sum update (RFC 1624) for a 16-bit word changing from
/// `old` to `new`.
fn csum_update(sum: u16, old: u16, new: u16) -> u16 {
    let mut s = u32::from(!sum) + u32::from(!old) + u32::from(new);
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// Moves an Ethernet/IPv4 frame into copy `k`: the second octet of both
/// addresses becomes `k` (127.0.x.y → 127.k.x.y), with the IPv4 and TCP/UDP
/// checksums updated, so every copy is distinct traffic to every tool.
fn shift_copy(frame: &mut [u8], k: u8) {
    if k == 0 || frame.len() < 34 || frame[12..14] != [0x08, 0x00] {
        return;
    }
    let ihl = usize::from(frame[14] & 0x0f) * 4;
    let mut words = Vec::new();
    for at in [26usize, 30] {
        let old = u16::from_be_bytes([frame[at], frame[at + 1]]);
        frame[at + 1] = k;
        let new = u16::from_be_bytes([frame[at], frame[at + 1]]);
        words.push((old, new));
    }
    let ipsum = u16::from_be_bytes([frame[24], frame[25]]);
    let ipsum = words.iter().fold(ipsum, |s, &(o, n)| csum_update(s, o, n));
    frame[24..26].copy_from_slice(&ipsum.to_be_bytes());
    let first_fragment = u16::from_be_bytes([frame[20], frame[21]]) & 0x1fff == 0;
    let l4 = 14 + ihl;
    let at = match frame[23] {
        6 => l4 + 16,
        17 => l4 + 6,
        _ => return,
    };
    if !first_fragment || frame.len() < at + 2 {
        return;
    }
    let sum = u16::from_be_bytes([frame[at], frame[at + 1]]);
    if frame[23] == 17 && sum == 0 {
        return;
    }
    let sum = words.iter().fold(sum, |s, &(o, n)| csum_update(s, o, n));
    frame[at..at + 2].copy_from_slice(&sum.to_be_bytes());
}

/// `copies` back-to-back copies of the mixed capture, each on its own
/// addresses and later in time, as one classic pcap file (built once).
pub fn mixed(copies: u8) -> PathBuf {
    let out = work_dir().join(format!("mixed-x{copies}.pcap"));
    if out.exists() {
        return out;
    }
    let src = std::fs::read(mixed_small()).expect("read the capture");
    let tmp = out.with_extension("tmp");
    let mut w = BufWriter::new(std::fs::File::create(&tmp).expect("create capture"));
    w.write_all(&0xa1b2_c3d4u32.to_le_bytes()).unwrap();
    w.write_all(&2u16.to_le_bytes()).unwrap();
    w.write_all(&4u16.to_le_bytes()).unwrap();
    w.write_all(&[0; 8]).unwrap();
    w.write_all(&262_144u32.to_le_bytes()).unwrap();
    w.write_all(&1u32.to_le_bytes()).unwrap();
    let (first, last) = {
        let mut r = CaptureReader::new(&src[..]).expect("pcap header");
        let mut first = None;
        let mut last = 0;
        while let Some(rec) = r.next_record().expect("valid capture") {
            first.get_or_insert(rec.ts_us);
            last = rec.ts_us;
        }
        (first.unwrap_or(0), last)
    };
    let period = last - first + 1_000_000;
    let mut frame = Vec::new();
    for k in 0..copies {
        let mut r = CaptureReader::new(&src[..]).expect("pcap header");
        while let Some(rec) = r.next_record().expect("valid capture") {
            frame.clear();
            frame.extend_from_slice(rec.data);
            shift_copy(&mut frame, k);
            let ts = rec.ts_us + i64::from(k) * period;
            w.write_all(&((ts / 1_000_000) as u32).to_le_bytes())
                .unwrap();
            w.write_all(&((ts % 1_000_000) as u32).to_le_bytes())
                .unwrap();
            w.write_all(&(frame.len() as u32).to_le_bytes()).unwrap();
            w.write_all(&rec.orig_len.to_le_bytes()).unwrap();
            w.write_all(&frame).unwrap();
        }
    }
    w.into_inner().expect("flush capture").sync_all().ok();
    std::fs::rename(&tmp, &out).expect("rename capture");
    out
}

/// Packets and bytes of a capture file.
pub fn capture_size(path: &Path) -> (u64, u64) {
    let data = std::fs::read(path).expect("read capture");
    let mut r = CaptureReader::new(&data[..]).expect("pcap header");
    let mut n = 0;
    while r.next_record().expect("valid capture").is_some() {
        n += 1;
    }
    (n, data.len() as u64)
}

/// What one measured process did.
#[derive(Debug, Clone)]
pub struct Run {
    pub wall_s: f64,
    pub cpu_s: f64,
    pub max_rss_kb: u64,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub ok: bool,
}

fn time_field(report: &str, name: &str) -> Option<String> {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix(name))
        .map(|v| v.trim().to_string())
}

/// Runs `program args` pinned to [`CORE`] under `/usr/bin/time -v`.
/// `stdout_to`: `None` keeps stdout in [`Run::stdout`], `Some(path)` sends
/// it to that file (e.g. `/dev/null`).
pub fn timed(program: &str, args: &[&str], stdout_to: Option<&Path>) -> Run {
    let report = work_dir().join("time-report.txt");
    let mut c = Command::new("/usr/bin/time");
    c.arg("-v")
        .arg("-o")
        .arg(&report)
        .args(["taskset", "-c", CORE, program])
        .args(args)
        .stderr(Stdio::piped());
    match stdout_to {
        Some(p) => c.stdout(std::fs::File::create(p).expect("open stdout target")),
        None => c.stdout(Stdio::piped()),
    };
    let start = Instant::now();
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("run {program} under /usr/bin/time: {e}"));
    let wall_s = start.elapsed().as_secs_f64();
    let rep = std::fs::read_to_string(&report).unwrap_or_default();
    let num = |n: &str| {
        time_field(&rep, n)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    Run {
        wall_s,
        cpu_s: num("User time (seconds):") + num("System time (seconds):"),
        max_rss_kb: num("Maximum resident set size (kbytes):") as u64,
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        ok: out.status.success(),
    }
}

/// Whether `program` can be run (found on PATH).
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Our release binary, next to the bench binary's deps directory.
pub fn probe_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("bench path");
    let release = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("bench binary sits in target/release/deps");
    let bin = release.join("wiremap-probe");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release -p wiremap-probe` first",
        bin.display()
    );
    bin
}

/// CPU time this thread has used, in seconds (from the scheduler's own
/// nanosecond count).
pub fn thread_cpu_s() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(f64::NAN, |ns| ns as f64 / 1e9)
}

/// Megabytes (10⁶ bytes).
pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}
