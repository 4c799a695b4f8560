//! The WebSocket uplink to the relay: a thread of its own with a bounded
//! queue in front, so the capture path never waits on the network.
//!
//! On every (re)connection it sends Hello, then the latest Inventory, then
//! queued frames in order; it reads CaptureFilter frames back and hands them
//! to the pipeline. A full queue drops the new frame and counts it; a broken
//! connection is retried with jittered exponential backoff.

use std::collections::VecDeque;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::{Message, WebSocket};
use wiremap_wire::{decode, encode, CaptureFilter, Frame};

use crate::error::ProbeError;

/// Frames waiting for the network at most.
pub const MAX_QUEUED_FRAMES: usize = 1024;
/// Capture filters waiting for the pipeline at most.
pub const MAX_QUEUED_FILTERS: usize = 16;
/// Largest frame accepted from the relay.
pub const MAX_INBOUND_FRAME: usize = 1024 * 1024;

/// How to reach the relay.
#[derive(Debug, Clone)]
pub struct UplinkConfig {
    pub url: String,
    pub token: Option<String>,
    pub hello: Frame,
    pub inventory: Frame,
    pub queue_cap: usize,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    pub connect_timeout: Duration,
}

impl UplinkConfig {
    pub fn new(url: String, token: Option<String>, hello: Frame, inventory: Frame) -> Self {
        UplinkConfig {
            url,
            token,
            hello,
            inventory,
            queue_cap: MAX_QUEUED_FRAMES,
            backoff_min: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    sent_bytes: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_encode: AtomicU64,
    connects: AtomicU64,
    connect_failures: AtomicU64,
    filters_received: AtomicU64,
    bad_inbound: AtomicU64,
}

/// The handle the capture side holds.
#[derive(Debug)]
pub struct Uplink {
    tx: Option<SyncSender<Frame>>,
    filters: Receiver<CaptureFilter>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    done: Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl Uplink {
    /// Starts the uplink thread. It connects in the background.
    pub fn start(cfg: UplinkConfig) -> Result<Self, ProbeError> {
        let req = cfg
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| ProbeError::Relay(format!("bad relay URL {:?}: {e}", cfg.url)))?;
        if req.uri().scheme_str() != Some("ws") {
            return Err(ProbeError::Relay(format!(
                "relay URL {:?}: only ws:// is supported (terminate TLS in front of the relay)",
                cfg.url
            )));
        }
        let (tx, rx) = mpsc::sync_channel(cfg.queue_cap.max(1));
        let (ftx, frx) = mpsc::sync_channel(MAX_QUEUED_FILTERS);
        let (dtx, drx) = mpsc::channel();
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            cfg,
            rx,
            filters: ftx,
            counters: counters.clone(),
            stop: stop.clone(),
            latest_inventory: None,
            backlog: VecDeque::new(),
        };
        let thread = std::thread::Builder::new()
            .name("uplink".into())
            .spawn(move || {
                worker.run();
                let _ = dtx.send(());
            })
            .map_err(|e| ProbeError::Relay(format!("spawning the uplink thread: {e}")))?;
        Ok(Uplink {
            tx: Some(tx),
            filters: frx,
            counters,
            stop,
            done: drx,
            thread: Some(thread),
        })
    }

    /// Queues a frame; never blocks. A full queue drops it (counted).
    pub fn send(&self, frame: &Frame) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send(frame.clone()) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.counters
                    .dropped_queue_full
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A capture filter the relay sent, if any arrived.
    pub fn try_filter(&self) -> Option<CaptureFilter> {
        self.filters.try_recv().ok()
    }

    /// Uplink counters by name.
    pub fn counters(&self) -> Vec<(String, u64)> {
        let c = &self.counters;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        vec![
            ("uplink.frames_sent".into(), g(&c.sent)),
            ("uplink.bytes_sent".into(), g(&c.sent_bytes)),
            (
                "uplink.frames_dropped_queue_full".into(),
                g(&c.dropped_queue_full),
            ),
            ("uplink.frames_dropped_encode".into(), g(&c.dropped_encode)),
            ("uplink.connects".into(), g(&c.connects)),
            ("uplink.connect_failures".into(), g(&c.connect_failures)),
            ("uplink.filters_received".into(), g(&c.filters_received)),
            ("uplink.bad_inbound_frames".into(), g(&c.bad_inbound)),
        ]
    }

    /// Flushes what is queued (waiting at most `grace`), then stops.
    pub fn shutdown(mut self, grace: Duration) {
        self.tx = None;
        self.stop.store(true, Ordering::Relaxed);
        if self.done.recv_timeout(grace).is_ok() {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

struct Worker {
    cfg: UplinkConfig,
    rx: Receiver<Frame>,
    filters: SyncSender<CaptureFilter>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    latest_inventory: Option<Frame>,
    /// Frames taken from the queue but not yet written (at most one batch).
    backlog: VecDeque<Frame>,
}

type Ws = WebSocket<TcpStream>;

/// How long a closing uplink waits for the relay's close reply.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Sends a close frame and reads until the relay answers with its own (or
/// `grace` passes), so the socket is closed with nothing unread. Dropping a
/// socket with unread data (a filter or ping the relay sent) makes the
/// kernel answer with a reset, and a reset makes the relay's kernel discard
/// the last frames it had received but not yet handed to the relay.
fn close_gracefully(ws: &mut Ws, grace: Duration) {
    let until = Instant::now() + grace;
    if ws.close(None).is_err() {
        return;
    }
    while Instant::now() < until {
        match ws.read() {
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    let _ = ws.get_ref().shutdown(std::net::Shutdown::Both);
}

/// Frames written between two reads of the inbound side.
const WRITES_PER_READ: usize = 64;

impl Worker {
    fn run(mut self) {
        let mut backoff = self.cfg.backoff_min;
        loop {
            if self.stop.load(Ordering::Relaxed) && self.queue_empty() {
                return;
            }
            match self.connect() {
                Ok(mut ws) => {
                    self.counters.connects.fetch_add(1, Ordering::Relaxed);
                    info!(url = %self.cfg.url, "connected to the relay");
                    backoff = self.cfg.backoff_min;
                    let finished = self.serve(&mut ws);
                    close_gracefully(&mut ws, CLOSE_GRACE);
                    if finished {
                        return;
                    }
                }
                Err(e) => {
                    self.counters
                        .connect_failures
                        .fetch_add(1, Ordering::Relaxed);
                    warn!(url = %self.cfg.url, "relay connection failed: {e}");
                }
            }
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            // Jittered exponential backoff: a random wait in [b/2, b].
            let half = backoff / 2;
            let wait = half + half.mul_f64(fastrand::f64());
            let until = Instant::now() + wait;
            while Instant::now() < until {
                if self.stop.load(Ordering::Relaxed) {
                    return;
                }
                // Keep taking frames off the queue meanwhile: inventories are
                // remembered, the rest is kept up to the queue's cap.
                match self.rx.recv_timeout(Duration::from_millis(50)) {
                    Ok(f) => self.hold(f),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                }
            }
            backoff = (backoff * 2).min(self.cfg.backoff_max);
        }
    }

    fn queue_empty(&self) -> bool {
        self.backlog.is_empty()
    }

    /// Keeps a frame while disconnected, bounded by the queue cap.
    fn hold(&mut self, f: Frame) {
        if let Frame::Inventory(_) = f {
            self.latest_inventory = Some(f);
            return;
        }
        if self.backlog.len() >= self.cfg.queue_cap {
            self.backlog.pop_front();
            self.counters
                .dropped_queue_full
                .fetch_add(1, Ordering::Relaxed);
        }
        self.backlog.push_back(f);
    }

    fn connect(&self) -> Result<Ws, ProbeError> {
        let mut req = self
            .cfg
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| ProbeError::Relay(e.to_string()))?;
        if let Some(t) = &self.cfg.token {
            let v = HeaderValue::from_str(&format!("Bearer {t}"))
                .map_err(|_| ProbeError::Relay("token is not a valid header value".into()))?;
            req.headers_mut().insert("Authorization", v);
        }
        let host = req
            .uri()
            .host()
            .unwrap_or("")
            .trim_matches(['[', ']'])
            .to_string();
        let port = req.uri().port_u16().unwrap_or(80);
        let addr = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| ProbeError::Relay(format!("resolving {host}: {e}")))?
            .next()
            .ok_or_else(|| ProbeError::Relay(format!("{host} has no address")))?;
        let stream = TcpStream::connect_timeout(&addr, self.cfg.connect_timeout)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(self.cfg.connect_timeout))?;
        stream.set_write_timeout(Some(self.cfg.connect_timeout))?;
        let (ws, _resp) = tungstenite::client::client(req, stream)
            .map_err(|e| ProbeError::Relay(e.to_string()))?;
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(20)))?;
        Ok(ws)
    }

    fn write(&self, ws: &mut Ws, f: &Frame) -> Result<(), tungstenite::Error> {
        match encode(f) {
            Ok(bytes) => {
                let n = bytes.len() as u64;
                ws.send(Message::binary(bytes))?;
                self.counters.sent.fetch_add(1, Ordering::Relaxed);
                self.counters.sent_bytes.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                warn!("frame not encodable: {e}");
                self.counters.dropped_encode.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// Talks to one connection. Returns true when the uplink is finished
    /// (stopped and drained), false to reconnect.
    fn serve(&mut self, ws: &mut Ws) -> bool {
        let hello = self.cfg.hello.clone();
        let inv = self
            .latest_inventory
            .clone()
            .unwrap_or_else(|| self.cfg.inventory.clone());
        if self.write(ws, &hello).is_err() || self.write(ws, &inv).is_err() {
            return false;
        }
        loop {
            let mut written = 0;
            while written < WRITES_PER_READ {
                let next = match self.backlog.pop_front() {
                    Some(f) => Some(f),
                    None => match self.rx.recv_timeout(Duration::from_millis(20)) {
                        Ok(f) => Some(f),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => {
                            // The capture side is gone: everything is written.
                            return true;
                        }
                    },
                };
                let Some(f) = next else { break };
                if let Frame::Inventory(_) = f {
                    self.latest_inventory = Some(f.clone());
                }
                if let Err(e) = self.write(ws, &f) {
                    warn!("relay write failed: {e}");
                    self.backlog.push_front(f);
                    return false;
                }
                written += 1;
            }
            if self.stop.load(Ordering::Relaxed) && self.backlog.is_empty() {
                match self.rx.try_recv() {
                    Ok(f) => self.backlog.push_back(f),
                    Err(_) => return true,
                }
            }
            match ws.read() {
                Ok(Message::Binary(b)) => self.inbound(&b),
                Ok(Message::Close(_)) => {
                    info!("relay closed the connection");
                    return false;
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => {
                    warn!("relay read failed: {e}");
                    return false;
                }
            }
        }
    }

    fn inbound(&self, b: &[u8]) {
        if b.len() > MAX_INBOUND_FRAME {
            self.counters.bad_inbound.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match decode(b) {
            Ok(Frame::CaptureFilter(f)) => {
                self.counters
                    .filters_received
                    .fetch_add(1, Ordering::Relaxed);
                debug!(revision = f.revision, "capture filter from the relay");
                let _ = self.filters.try_send(f);
            }
            Ok(_) => {}
            Err(e) => {
                self.counters.bad_inbound.fetch_add(1, Ordering::Relaxed);
                debug!("undecodable frame from the relay: {e}");
            }
        }
    }
}
