//! The bounded store of recent L7 entries the L7 map is computed from.

use std::collections::{HashMap, VecDeque};

use wiremap_wire::{Entry, EntryView, Identity, L7Batch, Peer};

use crate::fx_hash::FxHashMap;
use crate::identity_table::IdentityTable;
use crate::latency_sketch::latency_bucket;

/// Entries kept by default; the oldest is evicted (and counted) beyond it.
pub const DEFAULT_STORE_CAP: usize = 300_000;
/// Distinct identities kept by default before the table is compacted.
pub const DEFAULT_IDENTITY_CAP: usize = 100_000;
/// Distinct capturing-node names kept; more map to one overflow name.
pub const NODE_NAME_CAP: usize = 16_384;
/// Largest time chunk: the windowed scan skips whole chunks older than the window.
const MAX_CHUNK: usize = 4096;
const OVERFLOW_NODE: &str = "(node table full)";

/// An entry as stored: peers' `identity` fields index the store's table.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) entry: Entry,
    pub(crate) node: u32,
}

/// The figures of an entry the map adds up, kept apart from the entries
/// (a quarter of their size), so that a map without a display filter
/// reads these alone, one after the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hot {
    pub(crate) timestamp_us: i64,
    pub(crate) request_size: u64,
    pub(crate) response_size: u64,
    /// The entry's (source identity, destination identity, protocol): an
    /// index into [`L7Store::pairs`].
    pub(crate) pair: u32,
    /// [`latency_bucket`] of the latency, or [`NO_RESPONSE`].
    pub(crate) latency: u16,
    pub(crate) error: bool,
}

/// [`Hot::latency`] of an entry without a response.
pub(crate) const NO_RESPONSE: u16 = u16::MAX;

impl Hot {
    fn of(entry: &Entry, pair: u32) -> Hot {
        Hot {
            timestamp_us: entry.timestamp_us,
            request_size: entry.request_size,
            response_size: entry.response_size,
            pair,
            latency: if entry.has_response {
                latency_bucket(entry.elapsed_us)
            } else {
                NO_RESPONSE
            },
            error: entry.error,
        }
    }
}

/// (source identity, destination identity, protocol) of stored entries.
pub(crate) type Pair = (u32, u32, u8);

/// Consecutive entries with the newest timestamp among them, so a windowed
/// aggregation skips chunks that lie wholly before the window.
/// `hot[i]` holds the figures of `entries[i]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Chunk {
    pub(crate) entries: VecDeque<Stored>,
    pub(crate) hot: VecDeque<Hot>,
    pub(crate) max_ts: i64,
}

/// Counters of what the store did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub batches: u64,
    pub ingested: u64,
    /// Entries dropped because the store was full (oldest first).
    pub evicted: u64,
    /// Peers whose identity index was outside their batch's table (they
    /// become external identities of their IP).
    pub bad_identity_refs: u64,
    /// Identities mapped to the overflow identity because the table was full.
    pub identity_overflow: u64,
    /// Times the identity table was compacted.
    pub identity_compactions: u64,
    /// Times the table of (source, destination, protocol) pairs was
    /// rebuilt from the stored entries (with each identity compaction, and
    /// when pairs no entry holds any more made it twice the live size).
    pub pair_compactions: u64,
}

/// Recent L7 entries with one interned identity table.
#[derive(Debug, Clone)]
pub struct L7Store {
    chunks: VecDeque<Chunk>,
    chunk_cap: usize,
    cap: usize,
    len: usize,
    identities: IdentityTable,
    /// Every (source, destination, protocol) of the stored entries (and of
    /// evicted ones until the next compaction), and its index.
    pairs: Vec<Pair>,
    pair_index: FxHashMap<Pair, u32>,
    /// The pair table is rebuilt when it grows past this.
    pair_limit: usize,
    nodes: Vec<String>,
    node_index: HashMap<String, u32>,
    stats: StoreStats,
    generation: u64,
}

impl Default for L7Store {
    fn default() -> Self {
        Self::new(DEFAULT_STORE_CAP)
    }
}

impl L7Store {
    /// A store keeping at most `cap` entries (at least 1).
    pub fn new(cap: usize) -> Self {
        Self::with_identity_cap(cap, DEFAULT_IDENTITY_CAP)
    }

    /// A store with explicit entry and identity caps.
    pub fn with_identity_cap(cap: usize, identity_cap: usize) -> Self {
        let cap = cap.max(1);
        L7Store {
            chunks: VecDeque::new(),
            chunk_cap: (cap / 64).clamp(1, MAX_CHUNK),
            cap,
            len: 0,
            identities: IdentityTable::new(identity_cap),
            pairs: Vec::new(),
            pair_index: FxHashMap::default(),
            pair_limit: pair_floor(cap),
            nodes: Vec::new(),
            node_index: HashMap::new(),
            stats: StoreStats::default(),
            generation: 0,
        }
    }

    /// Adds a batch. Its identity indices are remapped into the store's table;
    /// an index outside the batch's table becomes the peer's IP as an
    /// external identity. Never panics.
    pub fn ingest(&mut self, batch: L7Batch) {
        self.stats.batches += 1;
        self.generation += 1;
        if batch.entries.is_empty() {
            return;
        }
        // Upper bound of new identities: the batch's table plus one fallback per peer.
        let worst = batch.identities.len() + 2 * batch.entries.len().min(1024);
        if self.identities.should_compact(worst) {
            self.compact_identities();
        }
        let remap: Vec<u32> = batch
            .identities
            .iter()
            .map(|id| self.identities.intern(id))
            .collect();
        if self.pairs.len() + batch.entries.len() > self.pair_limit {
            self.compact_pairs(None);
        }
        let node = self.intern_node(&batch.node);
        let mut last: Option<(Pair, u32)> = None;
        for mut entry in batch.entries {
            entry.src.identity = self.resolve(&remap, &entry.src);
            entry.dst.identity = self.resolve(&remap, &entry.dst);
            let key = (entry.src.identity, entry.dst.identity, entry.protocol.0);
            let pair = match last {
                Some((k, pair)) if k == key => pair,
                _ => {
                    let pair = self.intern_pair(key);
                    last = Some((key, pair));
                    pair
                }
            };
            let hot = Hot::of(&entry, pair);
            self.push(Stored { entry, node }, hot);
        }
        self.stats.identity_overflow = self.identities.overflowed;
    }

    fn intern_pair(&mut self, key: Pair) -> u32 {
        let pairs = &mut self.pairs;
        *self.pair_index.entry(key).or_insert_with(|| {
            pairs.push(key);
            (pairs.len() - 1) as u32
        })
    }

    /// Rebuilds the pair table from the stored entries (the pairs of
    /// evicted entries go), renaming identities by `identities` if given.
    fn compact_pairs(&mut self, identities: Option<&[u32]>) {
        let old = std::mem::take(&mut self.pairs);
        self.pair_index.clear();
        let mut new_of_old = vec![u32::MAX; old.len()];
        for chunk in self.chunks.iter_mut() {
            for hot in chunk.hot.iter_mut() {
                let o = hot.pair as usize;
                if new_of_old[o] == u32::MAX {
                    let (s, d, p) = old[o];
                    let key = match identities {
                        Some(r) => (r[s as usize], r[d as usize], p),
                        None => (s, d, p),
                    };
                    new_of_old[o] = self.pairs.len() as u32;
                    self.pair_index.insert(key, self.pairs.len() as u32);
                    self.pairs.push(key);
                }
                hot.pair = new_of_old[o];
            }
        }
        self.pair_limit = (2 * self.pairs.len()).max(pair_floor(self.cap));
        self.stats.pair_compactions += 1;
    }

    fn resolve(&mut self, remap: &[u32], peer: &Peer) -> u32 {
        match remap.get(peer.identity as usize) {
            Some(&i) => i,
            None => {
                self.stats.bad_identity_refs += 1;
                self.identities.intern(&Identity::external(peer.ip))
            }
        }
    }

    fn intern_node(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.node_index.get(name) {
            return i;
        }
        let name = if self.nodes.len() >= NODE_NAME_CAP {
            OVERFLOW_NODE
        } else {
            name
        };
        if let Some(&i) = self.node_index.get(name) {
            return i;
        }
        let i = self.nodes.len() as u32;
        self.nodes.push(name.to_string());
        self.node_index.insert(name.to_string(), i);
        i
    }

    fn push(&mut self, stored: Stored, hot: Hot) {
        if self.len >= self.cap {
            self.evict_one();
        }
        let ts = stored.entry.timestamp_us;
        let need_new = self
            .chunks
            .back()
            .is_none_or(|c| c.entries.len() >= self.chunk_cap);
        if need_new {
            self.chunks.push_back(Chunk {
                entries: VecDeque::with_capacity(self.chunk_cap),
                hot: VecDeque::with_capacity(self.chunk_cap),
                max_ts: i64::MIN,
            });
        }
        if let Some(chunk) = self.chunks.back_mut() {
            chunk.max_ts = chunk.max_ts.max(ts);
            chunk.entries.push_back(stored);
            chunk.hot.push_back(hot);
            self.len += 1;
            self.stats.ingested += 1;
        }
    }

    fn evict_one(&mut self) {
        if let Some(front) = self.chunks.front_mut() {
            if front.entries.pop_front().is_some() {
                front.hot.pop_front();
                self.len -= 1;
                self.stats.evicted += 1;
            }
            if front.entries.is_empty() {
                self.chunks.pop_front();
            }
        }
    }

    /// Drops identities no stored entry references and renumbers the rest.
    fn compact_identities(&mut self) {
        let mut live = vec![false; self.identities.len()];
        for s in self.chunks.iter().flat_map(|c| c.entries.iter()) {
            live[s.entry.src.identity as usize] = true;
            live[s.entry.dst.identity as usize] = true;
        }
        let remap = self.identities.compact(&live);
        for s in self.chunks.iter_mut().flat_map(|c| c.entries.iter_mut()) {
            s.entry.src.identity = remap[s.entry.src.identity as usize];
            s.entry.dst.identity = remap[s.entry.dst.identity as usize];
        }
        self.compact_pairs(Some(&remap));
        self.stats.identity_compactions += 1;
    }

    /// Removes every entry (identities and counters are kept).
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.pairs.clear();
        self.pair_index.clear();
        self.len = 0;
        self.generation += 1;
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entry cap.
    pub fn cap(&self) -> usize {
        self.cap
    }

    pub fn stats(&self) -> StoreStats {
        self.stats
    }

    /// Distinct identities currently interned.
    pub fn identity_count(&self) -> usize {
        self.identities.len()
    }

    /// The identity cap.
    pub fn identity_cap(&self) -> usize {
        self.identities.cap()
    }

    /// Changes on every ingest or clear; a caller may skip recomputing the
    /// map when it has not changed and neither have the settings.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The newest entry timestamp held (µs), if any entry is held.
    pub fn newest_timestamp_us(&self) -> Option<i64> {
        self.chunks
            .iter()
            .filter(|c| !c.entries.is_empty())
            .map(|c| c.max_ts)
            .max()
    }

    /// The capturing node's name of every stored entry is one of these.
    pub fn node_names(&self) -> &[String] {
        &self.nodes
    }

    /// Every stored entry, oldest first, with its peers resolved.
    pub fn iter(&self) -> impl Iterator<Item = EntryView<'_>> + '_ {
        self.chunks
            .iter()
            .flat_map(|c| c.entries.iter())
            .map(|s| self.view(s))
    }

    pub(crate) fn view<'a>(&'a self, s: &'a Stored) -> EntryView<'a> {
        EntryView {
            entry: &s.entry,
            src: self.identities.get(s.entry.src.identity),
            dst: self.identities.get(s.entry.dst.identity),
            node: &self.nodes[s.node as usize],
        }
    }

    pub(crate) fn chunks(&self) -> &VecDeque<Chunk> {
        &self.chunks
    }

    pub(crate) fn identities(&self) -> &[Identity] {
        self.identities.items()
    }

    /// [`Hot::pair`] indexes this.
    pub(crate) fn pairs(&self) -> &[Pair] {
        &self.pairs
    }
}

/// The least size the pair table may reach before it is rebuilt.
fn pair_floor(cap: usize) -> usize {
    cap.clamp(16, 1 << 16)
}
