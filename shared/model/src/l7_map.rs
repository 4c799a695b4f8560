//! L7 aggregation: the store's entries, filtered by the caller's predicate,
//! grouped, legend-hidden and windowed, summed per (source group,
//! destination group, protocol) edge.

use std::collections::{BTreeSet, VecDeque};

use wiremap_wire::{Entry, EntryBlock, EntryView, Identity, Protocol};

use crate::counting_sort::{EdgeOrder, Ordered, SortInSteps, EDGE_COST, SORT_COST};
use crate::fx_hash::{FxHashMap, FxHashSet};
use crate::graph::{edge_key, HiddenStats, MapEdge, MapGraph, MapNode};
use crate::grouping::{GroupTable, NO_NODE};
use crate::latency_sketch::{percentiles_of_sorted, BUCKETS};
use crate::legend::Legend;
use crate::settings::{Metric, ViewSettings};
use crate::store::{Hot, L7Store, Pair, Stored, NO_RESPONSE};

type EdgeKey = (u32, u32, u8);

/// The sums of one edge (its key is kept apart, in [`Sums::keys`]: the
/// sums are what each entry reads, and smaller sums miss the cache less).
#[derive(Debug)]
struct EdgeAcc {
    request: u64,
    response: u64,
    entries: u64,
    errors: u64,
    first: i64,
    last: i64,
}

impl EdgeAcc {
    fn new() -> Self {
        EdgeAcc {
            request: 0,
            response: 0,
            entries: 0,
            errors: 0,
            first: i64::MAX,
            last: i64::MIN,
        }
    }

    #[inline]
    fn add(&mut self, e: &Hot) {
        self.request = self.request.saturating_add(e.request_size);
        self.response = self.response.saturating_add(e.response_size);
        self.entries += 1;
        self.errors += u64::from(e.error);
        self.first = self.first.min(e.timestamp_us);
        self.last = self.last.max(e.timestamp_us);
    }
}

/// Computes the L7 map from `store`.
///
/// * `filter` is the tab's display filter (e.g. a compiled KFL2 program);
///   it sees every entry in the window, and only accepted entries count.
/// * In rate mode (`settings.cumulative == false`) only entries with
///   `timestamp_us >= now_us - window_us` count, and rates are per second of
///   the window. In cumulative mode every stored entry counts and rates are
///   per second of the span between the oldest and newest counted entry.
/// * Legend-hidden entries are left out and summed in [`MapGraph::hidden`];
///   the legend lists everything the filter accepted.
///
/// Pause: the caller keeps the last graph it drew and keeps ingesting into
/// the store; on resume it calls this again and catches up at once.
pub fn aggregate_l7(
    store: &L7Store,
    filter: &dyn Fn(&EntryView) -> bool,
    settings: &ViewSettings,
    now_us: i64,
) -> MapGraph {
    let each = |block: &StoredBlock| {
        let mut pass = 0u64;
        for i in 0..block.len() {
            pass |= u64::from(filter(&block.view(i))) << i;
        }
        pass
    };
    aggregate_l7_blocks(store, &each, settings, now_us)
}

/// Entries per call of the filter of [`aggregate_l7_blocks`].
pub const FILTER_BLOCK: usize = 64;

/// Up to [`FILTER_BLOCK`] stored entries for a block filter: an
/// [`EntryBlock`] whose views (peers, node name) are made only when the
/// filter asks for them.
#[derive(Debug)]
pub struct StoredBlock<'a> {
    store: &'a L7Store,
    entries: &'a [&'a Stored],
}

impl EntryBlock for StoredBlock<'_> {
    fn len(&self) -> usize {
        self.entries.len()
    }

    #[inline]
    fn entry(&self, i: usize) -> &Entry {
        &self.entries[i].entry
    }

    #[inline]
    fn view(&self, i: usize) -> EntryView<'_> {
        self.store.view(self.entries[i])
    }
}

/// [`aggregate_l7`] with a filter that decides up to [`FILTER_BLOCK`]
/// entries per call (e.g. a KFL2 filter's block evaluation): it returns the
/// mask of the entries that pass, bit `i` for entry `i` of the block. The
/// result is the same as `aggregate_l7` with the per-entry form of the same
/// filter.
pub fn aggregate_l7_blocks(
    store: &L7Store,
    filter: &dyn Fn(&StoredBlock) -> u64,
    settings: &ViewSettings,
    now_us: i64,
) -> MapGraph {
    let mut run = L7Aggregation::new(store, settings, now_us);
    loop {
        if let Some(graph) = run.advance(store, filter, usize::MAX) {
            return graph;
        }
    }
}

/// An L7 map computed in steps, so that a UI can spread the work over
/// frames and never block input for long: [`L7Aggregation::advance`] reads
/// at most a given number of stored entries per call and returns the map
/// with the call that reads the last. The result equals
/// [`aggregate_l7_blocks`]'s on the same store.
///
/// The store must not change while a computation is in progress (the
/// caller holds new data back until the map is returned): if it does
/// (another [`L7Store::generation`]), the next call starts over, so the
/// result is never a mix of two stores; [`L7Aggregation::restarts`] counts
/// those.
#[derive(Debug)]
pub struct L7Aggregation {
    settings: ViewSettings,
    now_us: i64,
    generation: u64,
    restarts: u32,
    /// Entries read so far (whether or not in the window).
    read: u64,
    /// Next entry to read: chunk of the store, position in it.
    chunk: usize,
    offset: usize,
    sums: Sums,
}

/// What the entries read so far add up to.
#[derive(Debug)]
struct Sums {
    groups: GroupTable,
    hidden_id: Vec<bool>,
    hidden_proto: [bool; 256],
    from: i64,
    /// The edge slot of each of the store's pairs ([`L7Store::pairs`]):
    /// [`UNSEEN`] until an entry of the pair is matched, [`HIDDEN`] when
    /// the legend hides it. Group, legend and edge lookups happen once per
    /// pair instead of once per entry.
    slot_of_pair: Vec<u32>,
    index: FxHashMap<EdgeKey, u32>,
    /// `keys[slot]` is the key of the edge whose sums are `accs[slot]`.
    keys: Vec<EdgeKey>,
    accs: Vec<EdgeAcc>,
    /// (edge slot, latency bucket) of every summed entry with a response,
    /// in reading order; grouped by edge once every entry is read.
    latencies: Vec<(u32, u16)>,
    /// The buckets grouped by edge (`latency_of[slot]` is a range of it).
    by_edge: Vec<u16>,
    latency_of: Vec<std::ops::Range<usize>>,
    seen_id: Vec<bool>,
    seen_proto: [bool; 256],
    hidden_keys: FxHashSet<EdgeKey>,
    hidden: HiddenStats,
    considered: u64,
    matched: u64,
    min_ts: i64,
    max_ts: i64,
    /// Where [`Sums::start_map`] stands.
    start: Start,
    /// Set once every entry is read: the map being built from the sums.
    out: Option<Built>,
}

/// The map's nodes and the edges built so far (`edges[i]` from
/// `accs[order[i]]`: the edges come out sorted by source, target and
/// protocol).
#[derive(Debug)]
struct Built {
    seconds: f64,
    /// Node index of each group ([`NO_NODE`] if it has no visible edge).
    node_of_group: Vec<u32>,
    order: Vec<u32>,
    nodes: Vec<MapNode>,
    edges: Vec<MapEdge>,
}

/// The steps of starting the map ([`Sums::start_map`]).
#[derive(Debug)]
enum Start {
    /// The latencies sorted by bucket...
    Latencies(SortInSteps<(u32, u16)>),
    /// ...then stably by edge.
    ByEdge(SortInSteps<(u32, u16)>),
    /// The nodes.
    Nodes,
    /// The edges' order.
    Order(EdgeOrder),
    Started,
}

/// [`Sums::slot_of_pair`] of a pair no matched entry has had yet.
const UNSEEN: u32 = u32::MAX;
/// [`Sums::slot_of_pair`] of a pair the legend hides.
const HIDDEN: u32 = u32::MAX - 1;

impl Sums {
    fn new(store: &L7Store, settings: &ViewSettings, now_us: i64) -> Sums {
        Sums::of(store.identities(), store.pairs().len(), settings, now_us)
    }

    /// The sums of nothing yet over identities `ids` and `pairs` pairs.
    fn of(ids: &[Identity], pairs: usize, settings: &ViewSettings, now_us: i64) -> Sums {
        let groups = GroupTable::build(ids, settings.grouping, settings.collapse_external);
        // Room for as many edges as there can be (one per pair of the
        // store, fewer than the groups allow): a hash map or vector that
        // doubles while the entries are read moves all it holds in one
        // call (a 30 ms call at 150,000 edges in Chromium here).
        let room = pairs.min(groups.groups.len().saturating_pow(2));
        Sums {
            groups,
            hidden_id: settings.hidden.hidden_identities(ids),
            hidden_proto: settings.hidden.hidden_protocols(),
            from: if settings.cumulative {
                i64::MIN
            } else {
                now_us.saturating_sub(settings.window_us.max(1000))
            },
            slot_of_pair: vec![UNSEEN; pairs],
            index: FxHashMap::with_capacity_and_hasher(room, Default::default()),
            keys: Vec::with_capacity(room),
            accs: Vec::with_capacity(room),
            latencies: Vec::new(),
            by_edge: Vec::new(),
            latency_of: Vec::new(),
            seen_id: vec![false; ids.len()],
            seen_proto: [false; 256],
            hidden_keys: FxHashSet::default(),
            hidden: HiddenStats::default(),
            considered: 0,
            matched: 0,
            min_ts: i64::MAX,
            max_ts: i64::MIN,
            start: Start::Latencies(SortInSteps::new(BUCKETS)),
            out: None,
        }
    }

    /// The edge slot of `pair` (or [`HIDDEN`]), found when the first
    /// matched entry of the pair comes; marks its identities and protocol
    /// as seen.
    #[cold]
    fn slot_of(&mut self, pairs: &[Pair], pair: u32) -> u32 {
        let (si, di, p) = pairs[pair as usize];
        let (si, di) = (si as usize, di as usize);
        self.seen_id[si] = true;
        self.seen_id[di] = true;
        self.seen_proto[p as usize] = true;
        let key = (self.groups.of_identity[si], self.groups.of_identity[di], p);
        let slot = if self.hidden_id[si] || self.hidden_id[di] || self.hidden_proto[p as usize] {
            self.hidden_keys.insert(key);
            HIDDEN
        } else {
            let (accs, keys) = (&mut self.accs, &mut self.keys);
            *self.index.entry(key).or_insert_with(|| {
                accs.push(EdgeAcc::new());
                keys.push(key);
                (accs.len() - 1) as u32
            })
        };
        self.slot_of_pair[pair as usize] = slot;
        slot
    }

    /// Adds the entries of a block (their figures `hot`) whose bit is set
    /// in `pass`.
    fn add_block(&mut self, pairs: &[Pair], hot: &[Hot], mut pass: u64, settings: &ViewSettings) {
        // The matched, visible entries of the block: (edge slot, index).
        let mut todo = [(0u32, 0u8); FILTER_BLOCK];
        let mut n = 0;
        while pass != 0 {
            let i = pass.trailing_zeros() as usize;
            let e = &hot[i];
            pass &= pass - 1;
            self.matched += 1;
            let mut slot = self.slot_of_pair[e.pair as usize];
            if slot == UNSEEN {
                slot = self.slot_of(pairs, e.pair);
            }
            if slot == HIDDEN {
                self.hidden.entries += 1;
                self.hidden.bytes = self
                    .hidden
                    .bytes
                    .saturating_add(settings.counted_bytes(e.request_size, e.response_size));
                continue;
            }
            self.min_ts = self.min_ts.min(e.timestamp_us);
            self.max_ts = self.max_ts.max(e.timestamp_us);
            todo[n] = (slot, i as u8);
            n += 1;
        }
        // The sums, then the latencies, in two short loops over the block:
        // each reads state of up to 64 different edges (likely cache misses
        // with thousands of edges), and short loop bodies let the processor
        // overlap those misses instead of waiting for each in turn.
        for &(slot, i) in &todo[..n] {
            self.accs[slot as usize].add(&hot[usize::from(i)]);
        }
        for &(slot, i) in &todo[..n] {
            let latency = hot[usize::from(i)].latency;
            if latency != NO_RESPONSE {
                self.latencies.push((slot, latency));
            }
        }
    }
}

impl L7Aggregation {
    /// A computation of the map of `store` with `settings` at `now_us` (see
    /// [`aggregate_l7`] for what the map holds).
    pub fn new(store: &L7Store, settings: &ViewSettings, now_us: i64) -> L7Aggregation {
        L7Aggregation {
            settings: settings.clone(),
            now_us,
            generation: store.generation(),
            restarts: 0,
            read: 0,
            chunk: 0,
            offset: 0,
            sums: Sums::new(store, settings, now_us),
        }
    }

    /// Reads up to `max_entries` more stored entries with `filter` (as in
    /// [`aggregate_l7_blocks`]), then builds the map's edges (one edge
    /// counts as a few entries of the budget); every call makes progress,
    /// and the one that builds the last edge returns the map. Calling it
    /// again after that starts over.
    pub fn advance(
        &mut self,
        store: &L7Store,
        filter: &dyn Fn(&StoredBlock) -> u64,
        max_entries: usize,
    ) -> Option<MapGraph> {
        if store.generation() != self.generation || self.chunk == usize::MAX {
            let restarts = self.restarts + u32::from(self.chunk != usize::MAX);
            *self = L7Aggregation::new(store, &self.settings, self.now_us);
            self.restarts = restarts;
        }
        let (chunks, pairs) = (store.chunks(), store.pairs());
        let mut budget = max_entries.max(1);
        let mut block: Vec<&Stored> = Vec::with_capacity(FILTER_BLOCK);
        let mut hot: Vec<Hot> = Vec::with_capacity(FILTER_BLOCK);
        while budget > 0 && self.chunk < chunks.len() {
            let chunk = &chunks[self.chunk];
            if chunk.max_ts < self.sums.from || self.offset >= chunk.entries.len() {
                self.read += (chunk.entries.len().saturating_sub(self.offset)) as u64;
                self.chunk += 1;
                self.offset = 0;
                continue;
            }
            // The next block of in-window entries, filtered in one call.
            // Only the figures are read here: an entry itself is read only
            // if the filter reads it.
            block.clear();
            hot.clear();
            let from = self.sums.from;
            let n = (chunk.entries.len() - self.offset)
                .min(FILTER_BLOCK)
                .min(budget);
            // Most often the next entries are all in the window and side
            // by side: their figures are used where they are.
            let run = contiguous(&chunk.hot, self.offset, n)
                .filter(|run| run.iter().all(|h| h.timestamp_us >= from));
            let (scanned, figures) = match run {
                Some(run) => {
                    block.extend(chunk.entries.range(self.offset..self.offset + n));
                    (n, run)
                }
                None => {
                    let mut scanned = 0;
                    let range = self.offset..;
                    for (s, h) in chunk
                        .entries
                        .range(range.clone())
                        .zip(chunk.hot.range(range))
                    {
                        scanned += 1;
                        if h.timestamp_us >= from {
                            block.push(s);
                            hot.push(*h);
                            if block.len() == FILTER_BLOCK {
                                break;
                            }
                        }
                        if scanned == budget {
                            break;
                        }
                    }
                    (scanned, &hot[..])
                }
            };
            self.offset += scanned;
            self.read += scanned as u64;
            budget -= scanned;
            if !block.is_empty() {
                self.sums.considered += block.len() as u64;
                let entries = StoredBlock {
                    store,
                    entries: &block,
                };
                let pass = filter(&entries) & (u64::MAX >> (FILTER_BLOCK - block.len()));
                self.sums.add_block(pairs, figures, pass, &self.settings);
            }
        }
        if self.chunk < chunks.len() {
            return None;
        }
        // Every entry read: build the map's edges, as many per call as the
        // budget left allows (at least one).
        if !self
            .sums
            .start_map(&self.settings, &mut budget, max_entries.max(1))
        {
            return None;
        }
        if !self
            .sums
            .build_edges(&self.settings, (budget / EDGE_COST).max(1))
        {
            return None;
        }
        // Spent: nothing is left to sum (the next call starts over).
        let spent = Sums::of(&[], 0, &self.settings, self.now_us);
        let sums = std::mem::replace(&mut self.sums, spent);
        self.chunk = usize::MAX; // spent: the next call starts over
        Some(sums.into_graph(store, &self.settings))
    }

    /// Stored entries read so far by this computation.
    pub fn entries_read(&self) -> u64 {
        self.read
    }

    /// How many times the store changed under this computation, so that it
    /// started over.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }
}

impl Sums {
    /// Starts building the map once every entry is read, a piece per call
    /// while `budget` (entries' worth of work, see [`SORT_COST`]) lasts:
    /// the latencies grouped by edge (two counting sorts), the nodes
    /// (endpoints of visible edges, sorted by key), then the edges' order
    /// (three counting sorts). The sorts go a piece at a time, so that with
    /// hundreds of thousands of edges no call takes long. True once the
    /// map is started.
    fn start_map(
        &mut self,
        settings: &ViewSettings,
        budget: &mut usize,
        fresh_budget: usize,
    ) -> bool {
        while *budget > 0 {
            let max = budget.saturating_mul(SORT_COST);
            let work = match &mut self.start {
                Start::Latencies(sort) => {
                    let bucket = |&(_, b): &(u32, u16)| usize::from(b).min(BUCKETS - 1);
                    let (work, done) = sort.step(&self.latencies, bucket, max);
                    if done {
                        self.latencies = std::mem::take(sort).finish().0;
                        self.start = Start::ByEdge(SortInSteps::new(self.accs.len()));
                    }
                    work
                }
                Start::ByEdge(sort) => {
                    let (mut work, done) = sort.step(&self.latencies, |&(e, _)| e as usize, max);
                    if done {
                        let (by_edge, starts) = std::mem::take(sort).finish();
                        // Taking the buckets apart: one more pass.
                        work += by_edge.len();
                        self.latency_of = starts.windows(2).map(|w| w[0]..w[1]).collect();
                        self.by_edge = by_edge.into_iter().map(|(_, bucket)| bucket).collect();
                        self.latencies = Vec::new();
                        self.start = Start::Nodes;
                    }
                    work
                }
                Start::Nodes => {
                    // The longest piece (thousands of nodes' strings):
                    // it starts a call of its own.
                    if *budget < fresh_budget {
                        return false;
                    }
                    let items = self.nodes(settings);
                    let nodes = self.out.as_ref().map_or(0, |o| o.nodes.len());
                    self.start = Start::Order(EdgeOrder::new(items, nodes, 256));
                    2 * self.keys.len()
                }
                Start::Order(order) => {
                    let (work, done) = order.step(max);
                    if let Some(order) = done {
                        let Some(out) = &mut self.out else {
                            unreachable!("nodes come before the order");
                        };
                        out.order = order;
                        self.start = Start::Started;
                    }
                    work
                }
                Start::Started => return true,
            };
            *budget = budget.saturating_sub(work.div_ceil(SORT_COST));
        }
        matches!(self.start, Start::Started)
    }

    /// The map's nodes (endpoints of visible edges, sorted by key), and
    /// the edges to be put in map order (by source node, target node,
    /// protocol: each edge's triple is its own) by [`Sums::start_map`].
    fn nodes(&mut self, settings: &ViewSettings) -> Vec<Ordered> {
        let seconds = if settings.cumulative {
            if self.max_ts > self.min_ts {
                ((i128::from(self.max_ts) - i128::from(self.min_ts)) as f64 / 1e6).max(1.0)
            } else {
                1.0
            }
        } else {
            settings.window_s()
        };
        let (nodes, node_of_group, items) = self.groups.edge_nodes(&self.keys, u32::from);
        self.out = Some(Built {
            seconds,
            node_of_group,
            order: Vec::new(),
            nodes,
            edges: Vec::with_capacity(self.accs.len()),
        });
        items
    }

    /// Builds up to `max` more edges of the map; true when all are built.
    fn build_edges(&mut self, settings: &ViewSettings, max: usize) -> bool {
        let Some(out) = &mut self.out else {
            return false;
        };
        let Built {
            seconds,
            node_of_group,
            order,
            nodes,
            edges,
            ..
        } = out;
        let seconds = *seconds;
        let from = edges.len();
        let to = (from + max).min(self.accs.len());
        for &slot in &order[from..to] {
            let (a, lat) = (&self.accs[slot as usize], &self.latency_of[slot as usize]);
            let key = self.keys[slot as usize];
            let (s, t) = (
                node_of_group[key.0 as usize] as usize,
                node_of_group[key.1 as usize] as usize,
            );
            let req = if settings.include_request {
                a.request
            } else {
                0
            };
            let resp = if settings.include_response {
                a.response
            } else {
                0
            };
            {
                let src = &mut nodes[s];
                src.out_bytes = src.out_bytes.saturating_add(req);
                src.in_bytes = src.in_bytes.saturating_add(resp);
                src.entries += a.entries;
                src.errors += a.errors;
            }
            {
                let dst = &mut nodes[t];
                dst.out_bytes = dst.out_bytes.saturating_add(resp);
                dst.in_bytes = dst.in_bytes.saturating_add(req);
                if s != t {
                    dst.entries += a.entries;
                    dst.errors += a.errors;
                }
            }
            let bytes = req.saturating_add(resp);
            let bytes_rate = bytes as f64 / seconds;
            let throughput = a.entries as f64 / seconds;
            let value = match (settings.metric, settings.cumulative) {
                (Metric::Bandwidth, true) => bytes as f64,
                (Metric::Bandwidth, false) => bytes_rate,
                (Metric::Throughput, true) => a.entries as f64,
                (Metric::Throughput, false) => throughput,
            };
            let proto = Protocol(key.2);
            edges.push(MapEdge {
                key: edge_key(&nodes[s].key, &nodes[t].key, Some(proto)),
                source: s,
                target: t,
                protocol: Some(proto),
                request_bytes: a.request,
                response_bytes: a.response,
                packets_to_server: 0,
                packets_to_client: 0,
                bytes,
                bytes_rate,
                throughput,
                value,
                entries: a.entries,
                errors: a.errors,
                latency: percentiles_of_sorted(&self.by_edge[lat.clone()]),
                first_seen_us: a.first,
                last_seen_us: a.last,
            });
        }
        edges.len() == self.accs.len()
    }

    /// The finished map (every edge built).
    fn into_graph(self, store: &L7Store, settings: &ViewSettings) -> MapGraph {
        let Sums {
            index,
            seen_id,
            seen_proto,
            hidden_keys,
            mut hidden,
            considered,
            matched,
            out,
            ..
        } = self;
        let Built {
            seconds,
            node_of_group,
            mut nodes,
            edges,
            ..
        } = out.expect("the map was started");
        let ids = store.identities();
        for n in &mut nodes {
            n.out_rate = n.out_bytes as f64 / seconds;
            n.in_rate = n.in_bytes as f64 / seconds;
        }
        debug_assert!(edges.is_sorted_by_key(|e| (e.source, e.target, e.protocol)));

        // Hidden counts: edges and nodes that appear only among hidden entries.
        hidden.edges = hidden_keys
            .iter()
            .filter(|k| !index.contains_key(*k))
            .count();
        let hidden_groups: BTreeSet<u32> = hidden_keys
            .iter()
            .flat_map(|k| [k.0, k.1])
            .filter(|g| node_of_group[*g as usize] == NO_NODE)
            .collect();
        hidden.nodes = hidden_groups.len();

        let (mut namespaces, mut cluster_nodes) = (BTreeSet::new(), BTreeSet::new());
        Legend::collect_present(ids, &seen_id, &mut namespaces, &mut cluster_nodes);
        let protocols: BTreeSet<Protocol> = seen_proto
            .iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(p, _)| Protocol(p as u8))
            .collect();

        MapGraph {
            nodes,
            edges,
            legend: Legend::build(&settings.hidden, namespaces, cluster_nodes, protocols),
            hidden,
            considered,
            matched,
        }
    }
}

/// Items `start..start + n` of `items` if they lie side by side in memory.
fn contiguous<T>(items: &VecDeque<T>, start: usize, n: usize) -> Option<&[T]> {
    let (a, b) = items.as_slices();
    if start + n <= a.len() {
        a.get(start..start + n)
    } else {
        let start = start.checked_sub(a.len())?;
        b.get(start..start + n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_runs_of_a_wrapped_deque() {
        let mut d: VecDeque<u32> = VecDeque::with_capacity(8);
        d.extend(0..6);
        d.drain(..4);
        d.extend(6..11); // 4..11, wrapped past the end of its buffer
        let (a, b) = d.as_slices();
        assert!(
            !a.is_empty() && !b.is_empty(),
            "the test needs a wrapped deque"
        );
        for start in 0..=d.len() {
            for n in 0..=d.len() - start {
                let want: Vec<u32> = d.range(start..start + n).copied().collect();
                match contiguous(&d, start, n) {
                    Some(run) => assert_eq!(run, &want[..]),
                    None => assert!(start < a.len() && start + n > a.len()),
                }
            }
        }
        assert_eq!(contiguous(&d, d.len(), 1), None);
    }
}
