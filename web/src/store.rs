//! Everything a tab received from the relay, bounded: interned identities,
//! the latest L4 snapshot per probe, the recent L7 entries (so a new display
//! filter can be applied to them) and L7 totals per (client, server,
//! protocol) identity triple — the finest level every grouping is built
//! from. Sans-IO: frames and the time of arrival come in as arguments.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use wiremap_wire::{
    decode, CaptureFilter, Entry, EntryView, Frame, Identity, L4Snapshot, L7Batch, Protocol,
    RelayNotice,
};

/// Distinct identities kept; entries naming a new one beyond it are dropped
/// and counted in [`Counters::identity_overflow`].
pub const MAX_IDENTITIES: usize = 100_000;
/// Recent entries kept for re-filtering (oldest evicted first).
pub const MAX_RETAINED_ENTRIES: usize = 300_000;
/// Distinct (client, server, protocol) totals; beyond it entries are
/// counted in [`Counters::pair_overflow`] and not drawn.
pub const MAX_PAIRS: usize = 200_000;
/// Probes (L4 snapshots and names) tracked.
pub const MAX_PROBES: usize = 4_096;
/// Capturing node names interned.
pub const MAX_NODE_NAMES: usize = 4_096;

/// A predicate on entries: the compiled display filter.
pub type EntryFilter = Box<dyn Fn(&EntryView<'_>) -> bool>;

/// Totals of the entries between one client and one server in one protocol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairTotals {
    pub entries: u64,
    pub errors: u64,
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub latency_us_sum: u64,
}

impl PairTotals {
    fn add(&mut self, e: &Entry) {
        self.entries += 1;
        self.errors += u64::from(e.error);
        self.request_bytes = self.request_bytes.saturating_add(e.request_size);
        self.response_bytes = self.response_bytes.saturating_add(e.response_size);
        self.latency_us_sum = self
            .latency_us_sum
            .saturating_add(u64::try_from(e.elapsed_us).unwrap_or(0));
    }
}

/// Key of [`PairTotals`]: interned client, interned server, protocol.
pub type PairKey = (u32, u32, Protocol);

/// An entry kept for re-filtering, its peers interned.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub entry: Entry,
    pub src: u32,
    pub dst: u32,
    pub node: u32,
}

/// Counted events, shown in the status area.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub frames: u64,
    pub bytes: u64,
    pub decode_errors: u64,
    pub entries_received: u64,
    pub entries_shown: u64,
    pub identity_overflow: u64,
    pub pair_overflow: u64,
    pub probe_overflow: u64,
    /// Entries with a peer index outside their batch's identity table.
    pub bad_peer_index: u64,
    /// Drops the relay reported, summed over connections.
    pub relay_dropped_batches: u64,
    pub relay_dropped_bytes: u64,
    pub l4_snapshots: u64,
}

/// The state of one tab's data.
#[derive(Default)]
pub struct Store {
    identities: Vec<Identity>,
    identity_ids: HashMap<Identity, u32>,
    node_names: Vec<String>,
    node_ids: HashMap<String, u32>,
    retained: VecDeque<StoredEntry>,
    pairs: HashMap<PairKey, PairTotals>,
    l4: BTreeMap<String, L4Snapshot>,
    probes: BTreeSet<String>,
    capture_filter: Option<CaptureFilter>,
    relay_version: String,
    last_error: Option<String>,
    filter: Option<EntryFilter>,
    /// Drops reported on the current connection (cumulative there).
    conn_dropped: (u64, u64),
    counters: Counters,
    revision: u64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("identities", &self.identities.len())
            .field("retained", &self.retained.len())
            .field("pairs", &self.pairs.len())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Store {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes and applies one binary frame. A bad frame is counted and
    /// remembered as the last error; it never panics.
    pub fn ingest_bytes(&mut self, bytes: &[u8]) {
        self.counters.frames += 1;
        self.counters.bytes += bytes.len() as u64;
        match decode(bytes) {
            Ok(frame) => self.apply(frame),
            Err(e) => {
                self.counters.decode_errors += 1;
                self.last_error = Some(e.to_string());
            }
        }
    }

    /// Applies one decoded frame.
    pub fn apply(&mut self, frame: Frame) {
        match frame {
            Frame::L7Batch(b) => self.apply_l7(b),
            Frame::L4Snapshot(s) => {
                self.counters.l4_snapshots += 1;
                self.saw_probe(&s.node);
                if self.l4.contains_key(&s.node) || self.l4.len() < MAX_PROBES {
                    self.l4.insert(s.node.clone(), s);
                    self.revision += 1;
                } else {
                    self.counters.probe_overflow += 1;
                }
            }
            Frame::ProbeStats(s) => self.saw_probe(&s.node),
            Frame::Hello(h) => self.saw_probe(&h.node),
            Frame::Inventory(i) => self.saw_probe(&i.node),
            Frame::CaptureFilter(f) => self.capture_filter = Some(f),
            Frame::RelayNotice(n) => self.apply_notice(n),
        }
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

    fn intern_identity(&mut self, id: &Identity) -> Option<u32> {
        if let Some(&i) = self.identity_ids.get(id) {
            return Some(i);
        }
        if self.identities.len() >= MAX_IDENTITIES {
            return None;
        }
        let i = u32::try_from(self.identities.len()).ok()?;
        self.identities.push(id.clone());
        self.identity_ids.insert(id.clone(), i);
        Some(i)
    }

    fn intern_node(&mut self, node: &str) -> u32 {
        if let Some(&i) = self.node_ids.get(node) {
            return i;
        }
        if self.node_names.len() >= MAX_NODE_NAMES {
            return 0;
        }
        let i = u32::try_from(self.node_names.len()).unwrap_or(0);
        self.node_names.push(node.to_string());
        self.node_ids.insert(node.to_string(), i);
        i
    }

    fn apply_l7(&mut self, batch: L7Batch) {
        self.saw_probe(&batch.node);
        if self.node_names.is_empty() {
            self.intern_node("");
        }
        let node = self.intern_node(&batch.node);
        // Intern each identity of the batch once.
        let mut map: Vec<Option<u32>> = Vec::with_capacity(batch.identities.len());
        for id in &batch.identities {
            let i = self.intern_identity(id);
            map.push(i);
        }
        let L7Batch { entries, .. } = batch;
        for entry in entries {
            self.counters.entries_received += 1;
            let idx = |p: u32| usize::try_from(p).ok().and_then(|i| map.get(i).copied());
            let (src, dst) = match (idx(entry.src.identity), idx(entry.dst.identity)) {
                (Some(Some(s)), Some(Some(d))) => (s, d),
                (Some(_), Some(_)) => {
                    self.counters.identity_overflow += 1;
                    continue;
                }
                _ => {
                    self.counters.bad_peer_index += 1;
                    continue;
                }
            };
            let stored = StoredEntry {
                entry,
                src,
                dst,
                node,
            };
            if self.matches(&stored) {
                self.add_pair(&stored);
            }
            if self.retained.len() >= MAX_RETAINED_ENTRIES {
                self.retained.pop_front();
            }
            self.retained.push_back(stored);
        }
        self.revision += 1;
    }

    fn matches(&self, s: &StoredEntry) -> bool {
        match &self.filter {
            None => true,
            Some(f) => f(&self.view_of(s)),
        }
    }

    fn add_pair(&mut self, s: &StoredEntry) {
        let key = (s.src, s.dst, s.entry.protocol);
        let len = self.pairs.len();
        match self.pairs.get_mut(&key) {
            Some(t) => t.add(&s.entry),
            None if len < MAX_PAIRS => {
                let mut t = PairTotals::default();
                t.add(&s.entry);
                self.pairs.insert(key, t);
            }
            None => {
                self.counters.pair_overflow += 1;
                return;
            }
        }
        self.counters.entries_shown += 1;
    }

    /// The entry with its peers resolved, as filters see it.
    pub fn view_of<'a>(&'a self, s: &'a StoredEntry) -> EntryView<'a> {
        static UNKNOWN: std::sync::OnceLock<Identity> = std::sync::OnceLock::new();
        let unknown = UNKNOWN.get_or_init(|| {
            Identity::external(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
        });
        let id = |i: u32| {
            usize::try_from(i)
                .ok()
                .and_then(|i| self.identities.get(i))
                .unwrap_or(unknown)
        };
        EntryView {
            entry: &s.entry,
            src: id(s.src),
            dst: id(s.dst),
            node: usize::try_from(s.node)
                .ok()
                .and_then(|i| self.node_names.get(i))
                .map(String::as_str)
                .unwrap_or(""),
        }
    }

    /// Installs a display filter (or none) and recomputes the L7 totals
    /// from the retained entries: the filter applies to what is retained.
    pub fn set_filter(&mut self, filter: Option<EntryFilter>) {
        self.filter = filter;
        self.pairs.clear();
        self.counters.entries_shown = 0;
        let retained = std::mem::take(&mut self.retained);
        for s in &retained {
            if self.matches(s) {
                self.add_pair(s);
            }
        }
        self.retained = retained;
        self.revision += 1;
    }

    /// The identity an interned index names.
    pub fn identity(&self, i: u32) -> Option<&Identity> {
        self.identities.get(usize::try_from(i).ok()?)
    }

    /// L7 totals per (client, server, protocol).
    pub fn pairs(&self) -> impl Iterator<Item = (&PairKey, &PairTotals)> {
        self.pairs.iter()
    }

    /// The latest L4 snapshot of every probe.
    pub fn l4_snapshots(&self) -> impl Iterator<Item = &L4Snapshot> {
        self.l4.values()
    }

    /// Retained entries, oldest first.
    pub fn retained(&self) -> impl Iterator<Item = &StoredEntry> {
        self.retained.iter()
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
    /// Increases whenever the drawable data changed.
    pub fn revision(&self) -> u64 {
        self.revision
    }
}
