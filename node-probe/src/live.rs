//! Live capture with AF_PACKET (pnet datalink): one receiver thread per
//! interface, packets handed to the pipeline in small batches over a
//! bounded channel. A full channel drops the batch and counts its packets:
//! the kernel socket is drained no matter how slow the pipeline is.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pnet_datalink::{Channel, NetworkInterface};
use regex::Regex;
use tracing::{error, warn};

use crate::decode::LinkType;
use crate::error::ProbeError;

/// Batches waiting for the pipeline at most.
pub const MAX_QUEUED_BATCHES: usize = 1024;
/// Packets per batch at most.
pub const BATCH_PACKETS: usize = 64;
/// A partial batch is handed over after this long.
const BATCH_DELAY: Duration = Duration::from_millis(5);
/// Receive timeout of each socket, so threads notice the stop flag.
const READ_TIMEOUT: Duration = Duration::from_millis(100);

/// Which interfaces to capture on.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Exact names; when non-empty the regexes are not used.
    pub interfaces: Vec<String>,
    pub include: String,
    pub exclude: String,
}

/// One captured frame.
#[derive(Debug, Clone)]
pub struct CapturedPacket {
    /// Wall-clock receive time, µs since the Unix epoch.
    pub ts_us: i64,
    pub link: LinkType,
    pub data: Vec<u8>,
}

#[derive(Debug, Default)]
struct Counts {
    received: AtomicU64,
    dropped_user: AtomicU64,
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

/// Running capture threads.
#[derive(Debug)]
pub struct Capture {
    rx: Receiver<Vec<CapturedPacket>>,
    names: Vec<String>,
    counts: Arc<Counts>,
}

impl Capture {
    /// Opens every selected interface and starts its thread.
    pub fn start(cfg: &LiveConfig) -> Result<Self, ProbeError> {
        let all = pnet_datalink::interfaces();
        let chosen = select(cfg, &all)?;
        if chosen.is_empty() {
            return Err(ProbeError::Interface(format!(
                "no interface matches include {:?} / exclude {:?}",
                cfg.include, cfg.exclude
            )));
        }
        let (tx, rx) = mpsc::sync_channel(MAX_QUEUED_BATCHES);
        let counts = Arc::new(Counts::default());
        let stop = stop_flag();
        let mut names = Vec::new();
        for iface in chosen {
            let config = pnet_datalink::Config {
                read_timeout: Some(READ_TIMEOUT),
                read_buffer_size: 65_536,
                promiscuous: false,
                ..Default::default()
            };
            let chan = pnet_datalink::channel(&iface, config)
                .map_err(|e| ProbeError::Interface(format!("{}: {e}", iface.name)))?;
            let Channel::Ethernet(_tx, rx_chan) = chan else {
                return Err(ProbeError::Interface(format!(
                    "{}: not a packet channel",
                    iface.name
                )));
            };
            let link = if iface.is_loopback() || iface.mac.is_some_and(|m| !m.is_zero()) {
                LinkType::Ethernet
            } else {
                LinkType::RawIp
            };
            names.push(iface.name.clone());
            let (tx, counts, stop, name) =
                (tx.clone(), counts.clone(), stop.clone(), iface.name.clone());
            std::thread::Builder::new()
                .name(format!("capture-{name}"))
                .spawn(move || receive(rx_chan, link, tx, counts, stop, name))
                .map_err(|e| ProbeError::Interface(format!("spawning a capture thread: {e}")))?;
        }
        Ok(Capture { rx, names, counts })
    }

    pub fn interfaces(&self) -> &[String] {
        &self.names
    }

    /// The next batch of packets, waiting at most `wait`.
    pub fn recv(&self, wait: Duration) -> Option<Vec<CapturedPacket>> {
        self.rx.recv_timeout(wait).ok()
    }

    /// Gives a batch's buffers back (kept for symmetry; buffers are freed).
    pub fn recycle(&self, batch: Vec<CapturedPacket>) {
        drop(batch);
    }

    /// Capture counters by name. Kernel drops (PACKET_STATISTICS) are not
    /// reachable through pnet without unsafe code and are not reported.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        vec![
            ("capture.received".into(), g(&self.counts.received)),
            ("capture.dropped_user".into(), g(&self.counts.dropped_user)),
            ("capture.read_errors".into(), g(&self.counts.read_errors)),
        ]
    }
}

fn receive(
    mut rx: Box<dyn pnet_datalink::DataLinkReceiver>,
    link: LinkType,
    tx: SyncSender<Vec<CapturedPacket>>,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
    name: String,
) {
    let mut batch: Vec<CapturedPacket> = Vec::with_capacity(BATCH_PACKETS);
    let mut started = Instant::now();
    let mut errors_logged = 0u32;
    while !stop.load(Ordering::Relaxed) {
        match rx.next() {
            Ok(frame) => {
                counts.received.fetch_add(1, Ordering::Relaxed);
                if batch.is_empty() {
                    started = Instant::now();
                }
                batch.push(CapturedPacket {
                    ts_us: now_us(),
                    link,
                    data: frame.to_vec(),
                });
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) => {}
            Err(e) => {
                counts.read_errors.fetch_add(1, Ordering::Relaxed);
                if errors_logged < 10 {
                    errors_logged += 1;
                    error!(interface = %name, "capture read failed: {e}");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        if !batch.is_empty() && (batch.len() >= BATCH_PACKETS || started.elapsed() >= BATCH_DELAY) {
            let n = batch.len() as u64;
            match tx.try_send(std::mem::replace(
                &mut batch,
                Vec::with_capacity(BATCH_PACKETS),
            )) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    counts.dropped_user.fetch_add(n, Ordering::Relaxed);
                }
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
    }
}
