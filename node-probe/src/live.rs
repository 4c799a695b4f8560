//! Live capture with AF_PACKET: one receiver thread per interface, packets
//! handed to the pipeline in [`Batch`]es over a bounded channel.
//!
//! By default each interface gets a PACKET_MMAP TPACKET_V3 ring
//! ([`crate::ring`]): the kernel fills large blocks, the thread copies a
//! block's packets into reusable batch buffers (no allocation per packet;
//! the consumer gives buffers back with [`Capture::recycle`]) and reads the
//! kernel's drop counter (`PACKET_STATISTICS`). When the channel is full
//! the thread waits: the ring is the buffer, and what overflows it is
//! dropped and counted by the kernel (`capture.dropped_kernel`).
//!
//! Fallback (`--capture pnet`, or automatically when a ring cannot be set
//! up): pnet's datalink channel, one `recvfrom` per packet. There a full
//! channel drops the batch and counts its packets (`capture.dropped_user`)
//! so the socket is drained no matter how slow the pipeline is; kernel
//! drops are not readable through pnet.
//!
//! On `lo` the kernel shows every packet twice (sent and received copies).
//! The ring path skips the sent copy (`PACKET_OUTGOING` on a loopback
//! device), so `lo` is counted once; pnet cannot tell the copies apart and
//! relies on the pipeline's duplicate filter ([`crate::dedupe`]).

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pnet_datalink::{Channel, NetworkInterface};
use regex::Regex;
use tracing::{error, info, warn};

use crate::decode::LinkType;
use crate::error::ProbeError;
use crate::ring::{Ring, RingConfig, RingError};

/// Batches waiting for the pipeline at most.
pub const MAX_QUEUED_BATCHES: usize = 64;
/// Packets per batch at most.
pub const BATCH_PACKETS: usize = 1024;
/// Packet bytes per batch at most (a single larger packet still fits an
/// empty batch). With [`MAX_QUEUED_BATCHES`] this bounds the queue: user
/// space holds at most (queued + pooled + one per thread) batches of about
/// this size, besides the rings (`--ring-mb` per interface).
pub const BATCH_BYTES: usize = 256 << 10;
/// Recycled batches kept for reuse at most.
const MAX_POOLED_BATCHES: usize = MAX_QUEUED_BATCHES;
/// A partial batch is handed over after this long (pnet path; the ring
/// hands a block over at most its block timeout after its first packet).
const BATCH_DELAY: Duration = Duration::from_millis(5);
/// How long a capture thread waits for a packet before looking at the stop
/// flag again (socket read timeout, ring poll timeout).
pub const POLL_TIMEOUT: Duration = Duration::from_millis(100);
/// How often the ring threads read the kernel's drop counter.
const STATS_EVERY: Duration = Duration::from_millis(250);
/// Pause of a ring thread while the pipeline's queue is full.
const FULL_WAIT: Duration = Duration::from_micros(200);

/// How packets are read from the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaptureKind {
    /// PACKET_MMAP TPACKET_V3 ring (falls back to pnet if it cannot be set up).
    #[default]
    Ring,
    /// pnet's datalink channel: one `recvfrom` per packet.
    Pnet,
}

impl FromStr for CaptureKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ring" => Ok(CaptureKind::Ring),
            "pnet" => Ok(CaptureKind::Pnet),
            _ => Err(format!("unknown capture method {s:?} (ring or pnet)")),
        }
    }
}

impl std::fmt::Display for CaptureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CaptureKind::Ring => "ring",
            CaptureKind::Pnet => "pnet",
        })
    }
}

/// Which interfaces to capture on, and how.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Exact names; when non-empty the regexes are not used.
    pub interfaces: Vec<String>,
    pub include: String,
    pub exclude: String,
    pub capture: CaptureKind,
    /// Ring size and block timeout (ring capture only).
    pub ring: RingConfig,
    /// When set, the ring size per interface is this budget (MiB) shared by
    /// every captured interface ([`ring_mb_per_interface`]) instead of
    /// `ring.ring_mb`: a node with a hundred pods must not get a hundred
    /// full-size rings.
    pub ring_total_mb: Option<u32>,
}

/// Smallest ring an interface gets from a shared budget, MiB.
pub const MIN_SHARED_RING_MB: u32 = 4;

/// The ring per interface when `n` interfaces share `total_mb`: an equal
/// share, at least [`MIN_SHARED_RING_MB`] and at most the default size.
pub fn ring_mb_per_interface(total_mb: u32, n: usize) -> u32 {
    let n = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    (total_mb / n).clamp(MIN_SHARED_RING_MB, crate::ring::DEFAULT_RING_MB)
}

impl LiveConfig {
    /// Exactly these interfaces, ring capture with default sizes.
    pub fn named(interfaces: &[&str]) -> Self {
        LiveConfig {
            interfaces: interfaces.iter().map(|s| s.to_string()).collect(),
            include: ".*".into(),
            exclude: "$^".into(),
            capture: CaptureKind::Ring,
            ring: RingConfig::default(),
            ring_total_mb: None,
        }
    }
}

/// One captured frame, borrowed from its [`Batch`].
#[derive(Debug, Clone, Copy)]
pub struct CapturedPacket<'a> {
    /// Receive time, µs since the Unix epoch (the kernel's with the ring,
    /// the reading thread's with pnet).
    pub ts_us: i64,
    pub link: LinkType,
    pub data: &'a [u8],
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    ts_us: i64,
    start: usize,
    len: usize,
}

/// Frames of one interface in one reusable buffer: the bytes back to back
/// and an index of where each frame starts.
#[derive(Debug)]
pub struct Batch {
    link: LinkType,
    data: Vec<u8>,
    slots: Vec<Slot>,
}

impl Batch {
    pub fn new(link: LinkType) -> Self {
        Batch {
            link,
            data: Vec::with_capacity(BATCH_BYTES),
            slots: Vec::with_capacity(BATCH_PACKETS),
        }
    }

    pub fn link(&self) -> LinkType {
        self.link
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Appends a frame; `false` (and nothing appended) when the batch is
    /// full. An empty batch takes any frame.
    pub fn push(&mut self, ts_us: i64, frame: &[u8]) -> bool {
        if !self.slots.is_empty()
            && (self.slots.len() >= BATCH_PACKETS || self.data.len() + frame.len() > BATCH_BYTES)
        {
            return false;
        }
        self.slots.push(Slot {
            ts_us,
            start: self.data.len(),
            len: frame.len(),
        });
        self.data.extend_from_slice(frame);
        true
    }

    pub fn iter(&self) -> impl Iterator<Item = CapturedPacket<'_>> + '_ {
        self.slots.iter().map(|s| CapturedPacket {
            ts_us: s.ts_us,
            link: self.link,
            data: &self.data[s.start..s.start + s.len],
        })
    }

    fn reset(&mut self, link: LinkType) {
        self.link = link;
        self.data.clear();
        self.slots.clear();
        // One jumbo frame must not pin a large buffer for good.
        if self.data.capacity() > 2 * BATCH_BYTES {
            self.data = Vec::with_capacity(BATCH_BYTES);
        }
    }
}

/// Batches given back by the consumer, for the capture threads to reuse.
#[derive(Debug, Default)]
struct Pool(Mutex<Vec<Batch>>);

impl Pool {
    fn take(&self, link: LinkType) -> Batch {
        let pooled = self.0.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match pooled {
            Some(mut b) => {
                b.reset(link);
                b
            }
            None => Batch::new(link),
        }
    }

    fn put(&self, b: Batch) {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if v.len() < MAX_POOLED_BATCHES {
            v.push(b);
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    received: AtomicU64,
    dropped_user: AtomicU64,
    dropped_kernel: AtomicU64,
    read_errors: AtomicU64,
}

/// The process-wide stop flag (set by SIGINT / SIGTERM).
pub fn stop_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let f = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            if let Err(e) = signal_hook::flag::register(sig, f.clone()) {
                warn!("cannot handle signal {sig}: {e}");
            }
        }
        f
    })
    .clone()
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// The interfaces a config selects, from the ones that exist.
pub fn select(
    cfg: &LiveConfig,
    all: &[NetworkInterface],
) -> Result<Vec<NetworkInterface>, ProbeError> {
    if !cfg.interfaces.is_empty() {
        return cfg
            .interfaces
            .iter()
            .map(|n| {
                all.iter()
                    .find(|i| &i.name == n)
                    .cloned()
                    .ok_or_else(|| ProbeError::Interface(format!("no interface named {n:?}")))
            })
            .collect();
    }
    let re = |p: &str| {
        Regex::new(p).map_err(|e| ProbeError::Regex {
            pattern: p.to_string(),
            reason: e.to_string(),
        })
    };
    let inc = re(&cfg.include)?;
    let exc = re(&cfg.exclude)?;
    Ok(all
        .iter()
        .filter(|i| i.is_up() && inc.is_match(&i.name) && !exc.is_match(&i.name))
        .cloned()
        .collect())
}

/// What one capture thread needs besides its socket.
struct Shared {
    link: LinkType,
    tx: SyncSender<Batch>,
    pool: Arc<Pool>,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
    name: String,
}

/// Running capture threads.
#[derive(Debug)]
pub struct Capture {
    rx: Receiver<Batch>,
    names: Vec<String>,
    kinds: Vec<CaptureKind>,
    counts: Arc<Counts>,
    pool: Arc<Pool>,
    threads: Vec<JoinHandle<()>>,
}

impl Capture {
    /// Opens every selected interface and starts its thread; the threads
    /// stop on SIGINT / SIGTERM ([`stop_flag`]).
    pub fn start(cfg: &LiveConfig) -> Result<Self, ProbeError> {
        Self::start_with_stop(cfg, stop_flag())
    }

    /// [`Capture::start`] with threads that end once `stop` is set (within
    /// [`POLL_TIMEOUT`]).
    pub fn start_with_stop(cfg: &LiveConfig, stop: Arc<AtomicBool>) -> Result<Self, ProbeError> {
        let all = pnet_datalink::interfaces();
        let chosen = select(cfg, &all)?;
        if chosen.is_empty() {
            return Err(ProbeError::Interface(format!(
                "no interface matches include {:?} / exclude {:?}",
                cfg.include, cfg.exclude
            )));
        }
        let mut cfg = cfg.clone();
        if let Some(total) = cfg.ring_total_mb {
            cfg.ring.ring_mb = ring_mb_per_interface(total, chosen.len());
        }
        let cfg = &cfg;
        if cfg.capture == CaptureKind::Ring {
            cfg.ring
                .layout()
                .map_err(|e| ProbeError::Interface(e.to_string()))?;
            info!(
                interfaces = chosen.len(),
                ring_mb = cfg.ring.ring_mb,
                "receive ring per interface"
            );
        }
        let (tx, rx) = mpsc::sync_channel(MAX_QUEUED_BATCHES);
        let counts = Arc::new(Counts::default());
        let pool = Arc::new(Pool::default());
        let mut cap = Capture {
            rx,
            names: Vec::new(),
            kinds: Vec::new(),
            counts: counts.clone(),
            pool: pool.clone(),
            threads: Vec::new(),
        };
        for iface in chosen {
            let link = if iface.is_loopback() || iface.mac.is_some_and(|m| !m.is_zero()) {
                LinkType::Ethernet
            } else {
                LinkType::RawIp
            };
            let shared = Shared {
                link,
                tx: tx.clone(),
                pool: pool.clone(),
                counts: counts.clone(),
                stop: stop.clone(),
                name: iface.name.clone(),
            };
            // Why the ring is not used, when it was asked for.
            let mut no_ring = None;
            let ring = match cfg.capture {
                CaptureKind::Pnet => None,
                CaptureKind::Ring => match Ring::open(&iface.name, &cfg.ring) {
                    Ok(r) => Some(r),
                    // pnet would fail the same way: say it once.
                    Err(e @ (RingError::NotPermitted(_) | RingError::NoInterface(_))) => {
                        return Err(ProbeError::Interface(format!("{}: {e}", iface.name)));
                    }
                    Err(e) => {
                        warn!(interface = %iface.name, "no PACKET_MMAP ring ({e}); capturing with pnet");
                        no_ring = Some(e);
                        None
                    }
                },
            };
            if let Some(ring) = ring {
                let l = ring.layout();
                info!(
                    interface = %iface.name,
                    blocks = l.blocks,
                    block_kib = l.block_bytes >> 10,
                    "capturing with a PACKET_MMAP ring"
                );
                cap.spawn(&iface.name, CaptureKind::Ring, move || {
                    receive_ring(ring, shared)
                })?;
            } else {
                let rx = open_pnet(&iface).map_err(|pe| {
                    ProbeError::Interface(match &no_ring {
                        Some(e) => format!("{}: ring: {e}; pnet: {pe}", iface.name),
                        None => format!("{}: {pe}", iface.name),
                    })
                })?;
                cap.spawn(&iface.name, CaptureKind::Pnet, move || {
                    receive_pnet(rx, shared)
                })?;
            }
        }
        Ok(cap)
    }

    fn spawn(
        &mut self,
        name: &str,
        kind: CaptureKind,
        f: impl FnOnce() + Send + 'static,
    ) -> Result<(), ProbeError> {
        let t = std::thread::Builder::new()
            .name(format!("capture-{name}"))
            .spawn(f)
            .map_err(|e| ProbeError::Interface(format!("spawning a capture thread: {e}")))?;
        self.names.push(name.to_string());
        self.kinds.push(kind);
        self.threads.push(t);
        Ok(())
    }

    pub fn interfaces(&self) -> &[String] {
        &self.names
    }

    /// How each interface (same order as [`Capture::interfaces`]) is read.
    pub fn kinds(&self) -> &[CaptureKind] {
        &self.kinds
    }

    /// The next batch of packets, waiting at most `wait`.
    pub fn recv(&self, wait: Duration) -> Option<Batch> {
        self.rx.recv_timeout(wait).ok()
    }

    /// Gives a batch's buffers back for reuse.
    pub fn recycle(&self, batch: Batch) {
        self.pool.put(batch);
    }

    /// Whether every capture thread has ended (after the stop flag).
    pub fn finished(&self) -> bool {
        self.threads.iter().all(|t| t.is_finished())
    }

    /// Capture counters by name. `capture.dropped_kernel` comes from
    /// `PACKET_STATISTICS` on ring interfaces (pnet cannot read it).
    pub fn counters(&self) -> Vec<(String, u64)> {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        vec![
            ("capture.received".into(), g(&self.counts.received)),
            ("capture.dropped_user".into(), g(&self.counts.dropped_user)),
            (
                "capture.dropped_kernel".into(),
                g(&self.counts.dropped_kernel),
            ),
            ("capture.read_errors".into(), g(&self.counts.read_errors)),
        ]
    }
}

fn open_pnet(iface: &NetworkInterface) -> Result<Box<dyn pnet_datalink::DataLinkReceiver>, String> {
    let config = pnet_datalink::Config {
        read_timeout: Some(POLL_TIMEOUT),
        read_buffer_size: 65_536,
        promiscuous: false,
        ..Default::default()
    };
    match pnet_datalink::channel(iface, config) {
        Ok(Channel::Ethernet(_tx, rx)) => Ok(rx),
        Ok(_) => Err("not a packet channel".into()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(format!(
            "capturing needs root or the CAP_NET_RAW capability ({e})"
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Logs the first few read errors of a thread, counts them all.
fn read_error(s: &Shared, logged: &mut u32, e: &std::io::Error) {
    s.counts.read_errors.fetch_add(1, Ordering::Relaxed);
    if *logged < 10 {
        *logged += 1;
        error!(interface = %s.name, "capture read failed: {e}");
    }
    std::thread::sleep(Duration::from_millis(10));
}

/// Hands a full batch to the pipeline, waiting while the queue is full
/// (the ring keeps buffering meanwhile). `false`: stop (consumer gone or
/// stop flag set; the batch is then counted as dropped).
fn hand_over(s: &Shared, mut batch: Batch) -> bool {
    let n = batch.len() as u64;
    s.counts.received.fetch_add(n, Ordering::Relaxed);
    loop {
        match s.tx.try_send(batch) {
            Ok(()) => return true,
            Err(TrySendError::Full(b)) => {
                if s.stop.load(Ordering::Relaxed) {
                    s.counts.dropped_user.fetch_add(n, Ordering::Relaxed);
                    return false;
                }
                batch = b;
                std::thread::sleep(FULL_WAIT);
            }
            Err(TrySendError::Disconnected(_)) => return false,
        }
    }
}

/// Adds the kernel drops since the last look to the shared counter.
fn read_drops(ring: &mut Ring, s: &Shared, seen: &mut u64) {
    match ring.stats() {
        Ok(st) => {
            s.counts
                .dropped_kernel
                .fetch_add(st.drops - *seen, Ordering::Relaxed);
            *seen = st.drops;
        }
        Err(e) => warn!(interface = %s.name, "reading PACKET_STATISTICS: {e}"),
    }
}

fn receive_ring(mut ring: Ring, s: Shared) {
    let mut batch = s.pool.take(s.link);
    let mut stats_at = Instant::now();
    let mut drops_seen = 0u64;
    let mut errors_logged = 0u32;
    'run: while !s.stop.load(Ordering::Relaxed) {
        // Ok(true): a block was read; Ok(false): idle for a poll timeout.
        let read = match ring.next_block(POLL_TIMEOUT) {
            Ok(Some(block)) => {
                for p in block.packets() {
                    if p.is_loopback_outgoing() {
                        continue;
                    }
                    if !batch.push(p.ts_us, p.data) {
                        let full = std::mem::replace(&mut batch, s.pool.take(s.link));
                        if !hand_over(&s, full) {
                            break 'run;
                        }
                        batch.push(p.ts_us, p.data);
                    }
                }
                // The block goes back to the kernel here.
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(e),
        };
        // The socket reports an interface going down once, possibly while
        // the interface still exists (its deletion completes later): an
        // error or an idle ring looks whether it is gone.
        if !matches!(read, Ok(true)) && !ring.interface_exists() {
            info!(interface = %s.name, "interface gone: its capture ends");
            break;
        }
        if let Err(e) = read {
            read_error(&s, &mut errors_logged, &e);
        }
        if !batch.is_empty() {
            let full = std::mem::replace(&mut batch, s.pool.take(s.link));
            if !hand_over(&s, full) {
                break;
            }
        }
        if stats_at.elapsed() >= STATS_EVERY {
            read_drops(&mut ring, &s, &mut drops_seen);
            stats_at = Instant::now();
        }
    }
    read_drops(&mut ring, &s, &mut drops_seen);
}

fn receive_pnet(mut rx: Box<dyn pnet_datalink::DataLinkReceiver>, s: Shared) {
    let mut batch = s.pool.take(s.link);
    let mut started = Instant::now();
    let mut errors_logged = 0u32;
    while !s.stop.load(Ordering::Relaxed) {
        match rx.next() {
            Ok(frame) => {
                if batch.is_empty() {
                    started = Instant::now();
                }
                if !batch.push(now_us(), frame) {
                    let full = std::mem::replace(&mut batch, s.pool.take(s.link));
                    if !send_or_drop(&s, full) {
                        return;
                    }
                    started = Instant::now();
                    batch.push(now_us(), frame);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) => {}
            Err(e) => read_error(&s, &mut errors_logged, &e),
        }
        if !batch.is_empty() && started.elapsed() >= BATCH_DELAY {
            let full = std::mem::replace(&mut batch, s.pool.take(s.link));
            if !send_or_drop(&s, full) {
                return;
            }
        }
    }
}

/// pnet path: a full queue drops the batch (counted) so the socket keeps
/// being drained. `false` when the consumer is gone.
fn send_or_drop(s: &Shared, batch: Batch) -> bool {
    let n = batch.len() as u64;
    s.counts.received.fetch_add(n, Ordering::Relaxed);
    match s.tx.try_send(batch) {
        Ok(()) => true,
        Err(TrySendError::Full(b)) => {
            s.counts.dropped_user.fetch_add(n, Ordering::Relaxed);
            s.pool.put(b);
            true
        }
        Err(TrySendError::Disconnected(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_ring_budget_is_split_within_bounds() {
        assert_eq!(ring_mb_per_interface(256, 1), crate::ring::DEFAULT_RING_MB);
        assert_eq!(ring_mb_per_interface(256, 0), crate::ring::DEFAULT_RING_MB);
        assert_eq!(ring_mb_per_interface(256, 8), 32);
        assert_eq!(ring_mb_per_interface(256, 100), MIN_SHARED_RING_MB);
        assert_eq!(ring_mb_per_interface(0, 3), MIN_SHARED_RING_MB);
    }

    #[test]
    fn batches_pack_frames_back_to_back() {
        let mut b = Batch::new(LinkType::Ethernet);
        assert!(b.push(1, b"abc"));
        assert!(b.push(2, b""));
        assert!(b.push(3, b"defg"));
        let got: Vec<(i64, Vec<u8>)> = b.iter().map(|p| (p.ts_us, p.data.to_vec())).collect();
        assert_eq!(
            got,
            vec![(1, b"abc".to_vec()), (2, vec![]), (3, b"defg".to_vec())]
        );
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn batches_are_bounded() {
        let mut b = Batch::new(LinkType::Ethernet);
        let big = vec![0u8; BATCH_BYTES + 10];
        assert!(b.push(0, &big), "an empty batch takes any frame");
        assert!(!b.push(0, b"x"));
        let mut b = Batch::new(LinkType::RawIp);
        for i in 0..BATCH_PACKETS {
            assert!(b.push(i as i64, b"12"));
        }
        assert!(!b.push(0, b"12"));
        assert_eq!(b.len(), BATCH_PACKETS);
    }

    #[test]
    fn the_pool_reuses_and_is_bounded() {
        let pool = Pool::default();
        let mut b = pool.take(LinkType::Ethernet);
        b.push(0, b"data");
        pool.put(b);
        let b = pool.take(LinkType::RawIp);
        assert!(b.is_empty());
        assert_eq!(b.link(), LinkType::RawIp);
        for _ in 0..MAX_POOLED_BATCHES + 5 {
            pool.put(Batch::new(LinkType::Ethernet));
        }
        assert_eq!(pool.0.lock().unwrap().len(), MAX_POOLED_BATCHES);
    }

    #[test]
    fn capture_kinds_parse() {
        assert_eq!("ring".parse::<CaptureKind>(), Ok(CaptureKind::Ring));
        assert_eq!("pnet".parse::<CaptureKind>(), Ok(CaptureKind::Pnet));
        assert!("pcap".parse::<CaptureKind>().is_err());
        assert_eq!(CaptureKind::default().to_string(), "ring");
    }
}
