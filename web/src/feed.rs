//! Everything a tab received from the relay: L7 entries go into the
//! model's bounded [`L7Store`], L4 snapshots into its [`L4State`]; the rest
//! (probes, the capture filter, relay notices and drops) is kept here for
//! the status area. Sans-IO: frames and clock readings come in as arguments.

use std::collections::BTreeSet;

use wiremap_model::{DataClock, L4State, L7Store, DEFAULT_STORE_CAP};
use wiremap_wire::{decode, CaptureFilter, Frame, L7Batch, RelayNotice, WireError};

/// Probe names tracked for the status area.
pub const MAX_PROBES: usize = 4_096;

/// Counted events, shown in the status area.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub frames: u64,
    pub bytes: u64,
    pub decode_errors: u64,
    pub entries_received: u64,
    pub probe_overflow: u64,
    /// Drops the relay reported, summed over connections.
    pub relay_dropped_batches: u64,
    pub relay_dropped_bytes: u64,
    pub l4_snapshots: u64,
    /// L4 snapshots the model refused (stale, too many probes).
    pub l4_refused: u64,
}

/// One tab's received data.
#[derive(Debug)]
pub struct Feed {
    pub l7: L7Store,
    pub l4: L4State,
    /// Data time for the L7 rate window (replays keep their own time line).
    pub clock: DataClock,
    probes: BTreeSet<String>,
    capture_filter: Option<CaptureFilter>,
    relay_version: String,
    last_error: Option<String>,
    /// Drops reported on the current connection (cumulative there).
    conn_dropped: (u64, u64),
    counters: Counters,
    /// Increases whenever L4 data changed (L7 has the store's generation).
    l4_revision: u64,
}

impl Default for Feed {
    fn default() -> Self {
        Self::with_store_cap(DEFAULT_STORE_CAP)
    }
}

impl Feed {
    pub fn new() -> Self {
        Self::default()
    }

    /// A feed whose L7 store keeps at most `cap` entries.
    pub fn with_store_cap(cap: usize) -> Self {
        Feed {
            l7: L7Store::new(cap),
            l4: L4State::new(),
            clock: DataClock::new(),
            probes: BTreeSet::new(),
            capture_filter: None,
            relay_version: String::new(),
            last_error: None,
            conn_dropped: (0, 0),
            counters: Counters::default(),
            l4_revision: 0,
        }
    }

    /// Decodes and applies one binary frame that arrived at wall time
    /// `wall_us`. A bad frame is counted and remembered as the last error;
    /// it never panics.
    pub fn ingest_bytes(&mut self, bytes: &[u8], wall_us: i64) {
        if let Some(frame) = self.decode_counted(bytes) {
            self.apply(frame, wall_us);
        }
    }

    /// The decoding half of [`Feed::ingest_bytes`] (counted; a bad frame
    /// is counted and remembered as the last error, and gives `None`):
    /// the frame is then to be [`Feed::apply`]'d.
    pub fn decode_counted(&mut self, bytes: &[u8]) -> Option<Frame> {
        self.count_decoded(bytes.len(), decode(bytes))
    }

    /// Counts a frame of `len` bytes decoded (maybe in pieces: see
    /// [`wiremap_wire::FrameDecoder`]) to `result`, as
    /// [`Feed::decode_counted`] does.
    pub fn count_decoded(&mut self, len: usize, result: Result<Frame, WireError>) -> Option<Frame> {
        self.counters.frames += 1;
        self.counters.bytes += len as u64;
        match result {
            Ok(frame) => Some(frame),
            Err(e) => {
                self.counters.decode_errors += 1;
                self.last_error = Some(e.to_string());
                None
            }
        }
    }

    /// Applies one decoded frame.
    pub fn apply(&mut self, frame: Frame, wall_us: i64) {
        match frame {
            Frame::L7Batch(b) => self.apply_l7(b, wall_us),
            Frame::L4Snapshot(s) => {
                self.counters.l4_snapshots += 1;
                self.saw_probe(&s.node);
                match self.l4.ingest(s) {
                    Ok(()) => self.l4_revision += 1,
                    Err(e) => {
                        self.counters.l4_refused += 1;
                        self.last_error = Some(e.to_string());
                    }
                }
            }
            Frame::ProbeStats(s) => self.saw_probe(&s.node),
            Frame::Hello(h) => self.saw_probe(&h.node),
            Frame::Inventory(i) => self.saw_probe(&i.node),
            Frame::CaptureFilter(f) => self.capture_filter = Some(f),
            Frame::RelayNotice(n) => self.apply_notice(n),
        }
    }

    fn apply_l7(&mut self, batch: L7Batch, wall_us: i64) {
        self.saw_probe(&batch.node);
        self.counters.entries_received += batch.entries.len() as u64;
        let newest = batch.entries.iter().map(|e| e.timestamp_us).max();
        self.l7.ingest(batch);
        self.clock.observe(newest, wall_us);
    }

    fn saw_probe(&mut self, node: &str) {
        if node.is_empty() || self.probes.contains(node) {
            return;
        }
        if self.probes.len() < MAX_PROBES {
            self.probes.insert(node.to_string());
        } else {
            self.counters.probe_overflow += 1;
        }
    }

    fn apply_notice(&mut self, n: RelayNotice) {
        match n {
            RelayNotice::Dropped { l7_batches, bytes } => {
                let (b0, y0) = self.conn_dropped;
                self.counters.relay_dropped_batches += l7_batches.saturating_sub(b0);
                self.counters.relay_dropped_bytes += bytes.saturating_sub(y0);
                self.conn_dropped = (l7_batches.max(b0), bytes.max(y0));
            }
            RelayNotice::ProbeConnected { node, .. } => self.saw_probe(&node),
            RelayNotice::ProbeDisconnected { node } => {
                self.probes.remove(&node);
            }
            RelayNotice::Status {
                probes,
                relay_version,
                ..
            } => {
                self.probes = probes.into_iter().take(MAX_PROBES).collect();
                self.relay_version = relay_version;
            }
            RelayNotice::Rejected { reason } => self.last_error = Some(reason),
        }
    }

    /// A new connection to the relay began: its drop counters start at zero.
    pub fn connection_opened(&mut self) {
        self.conn_dropped = (0, 0);
    }

    /// The connection ended: probes are unknown until the relay says again.
    pub fn connection_closed(&mut self) {
        self.probes.clear();
    }

    /// Entries and identities the model could not keep or resolve (caps).
    pub fn overflow(&self) -> u64 {
        let s = self.l7.stats();
        let l4 = self.l4.stats();
        s.identity_overflow
            + s.bad_identity_refs
            + l4.counters_dropped
            + l4.bad_identity_refs
            + l4.identity_overflow
            + self.counters.probe_overflow
    }

    pub fn probes(&self) -> &BTreeSet<String> {
        &self.probes
    }
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
    pub fn capture_filter(&self) -> Option<&CaptureFilter> {
        self.capture_filter.as_ref()
    }
    pub fn relay_version(&self) -> &str {
        &self.relay_version
    }
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }
    /// Changes whenever drawable data changed.
    pub fn revision(&self) -> (u64, u64) {
        (self.l7.generation(), self.l4_revision)
    }
}
