//! A raw WebSocket viewer on the relay: records every frame it decodes, so
//! tests can compare what the relay delivered with an independent oracle.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wiremap_wire::{decode, Entry, Frame, Identity, L4Snapshot};

/// An entry as delivered, with its peers resolved and the reporting node.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub node: String,
    pub entry: Entry,
    pub src: Option<Identity>,
    pub dst: Option<Identity>,
}

#[derive(Debug, Default)]
struct Seen {
    entries: Vec<Delivered>,
    snapshots: Vec<L4Snapshot>,
    other: Vec<Frame>,
    undecodable: u64,
}

/// A viewer connection read by a background thread.
#[derive(Debug, Clone)]
pub struct Viewer {
    seen: Arc<Mutex<Seen>>,
}

impl Viewer {
    /// Connects to `ws://{addr}/ws` and starts recording.
    pub fn connect(addr: &str) -> Result<Viewer, String> {
        let url = format!("ws://{addr}/ws");
        let (mut ws, _) =
            tungstenite::connect(url.as_str()).map_err(|e| format!("viewer {url}: {e}"))?;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let sink = seen.clone();
        std::thread::spawn(move || {
            while let Ok(msg) = ws.read() {
                let tungstenite::Message::Binary(bytes) = msg else {
                    continue;
                };
                let frame = decode(&bytes);
                let Ok(mut seen) = sink.lock() else {
                    return;
                };
                match frame {
                    Ok(Frame::L7Batch(mut batch)) => {
                        for entry in std::mem::take(&mut batch.entries) {
                            seen.entries.push(Delivered {
                                node: batch.node.clone(),
                                src: batch.identity(entry.src.identity).cloned(),
                                dst: batch.identity(entry.dst.identity).cloned(),
                                entry,
                            });
                        }
                    }
                    Ok(Frame::L4Snapshot(s)) => seen.snapshots.push(s),
                    Ok(other) => seen.other.push(other),
                    Err(_) => seen.undecodable += 1,
                }
            }
        });
        Ok(Viewer { seen })
    }

    fn with<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        f(&seen)
    }

    /// Every entry delivered so far.
    pub fn entries(&self) -> Vec<Delivered> {
        self.with(|s| s.entries.clone())
    }

    /// Every L4 snapshot delivered so far.
    pub fn snapshots(&self) -> Vec<L4Snapshot> {
        self.with(|s| s.snapshots.clone())
    }

    /// Frames other than entries and snapshots (notices, filters, …).
    pub fn other_frames(&self) -> Vec<Frame> {
        self.with(|s| s.other.clone())
    }

    /// Frames that did not decode (must stay 0).
    pub fn undecodable(&self) -> u64 {
        self.with(|s| s.undecodable)
    }

    /// The newest snapshot of `node`, if any.
    pub fn latest_snapshot(&self, node: &str) -> Option<L4Snapshot> {
        self.with(|s| s.snapshots.iter().rev().find(|x| x.node == node).cloned())
    }

    /// Waits until the number of entries stops changing for `quiet`, or
    /// `limit` passes; returns the entries.
    pub fn settle(&self, quiet: Duration, limit: Duration) -> Vec<Delivered> {
        let end = Instant::now() + limit;
        let mut last = self.with(|s| s.entries.len());
        let mut since = Instant::now();
        while Instant::now() < end && since.elapsed() < quiet {
            std::thread::sleep(Duration::from_millis(100));
            let n = self.with(|s| s.entries.len());
            if n != last {
                last = n;
                since = Instant::now();
            }
        }
        self.entries()
    }

    /// Waits until `pred` holds over what was seen, or `limit` passes.
    pub fn wait_until(
        &self,
        limit: Duration,
        what: &str,
        mut pred: impl FnMut(&[Delivered], &[L4Snapshot]) -> bool,
    ) -> Result<(), String> {
        let end = Instant::now() + limit;
        loop {
            if self.with(|s| pred(&s.entries, &s.snapshots)) {
                return Ok(());
            }
            if Instant::now() > end {
                return Err(format!("not seen within {limit:?}: {what}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
