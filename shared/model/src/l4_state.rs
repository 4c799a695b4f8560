//! L4 state: the latest cumulative counters per probe, rates from the
//! difference between a probe's two latest snapshots of the same epoch, and
//! totals that survive probe restarts (the old epoch's final counters are
//! retired into a running sum, so nothing is counted twice or goes negative).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use wiremap_wire::{Identity, L4Snapshot, Protocol};

use crate::counting_sort::{EdgeOrder, Ordered, EDGE_COST, SORT_COST};
use crate::error::ModelError;
use crate::fx_hash::{FxHashMap, FxHashSet};
use crate::graph::{edge_key, HiddenStats, MapEdge, MapGraph, MapNode};
use crate::grouping::{GroupTable, NO_NODE};
use crate::identity_table::IdentityTable;
use crate::legend::Legend;
use crate::settings::{Metric, ViewSettings};

/// Probes (cluster nodes) tracked at most.
pub const L4_PROBE_CAP: usize = 16_384;
/// Counters kept per probe snapshot; more are dropped (counted).
pub const L4_COUNTER_CAP: usize = 200_000;
/// Retired (previous-epoch) counter keys kept; more are dropped (counted).
pub const L4_RETIRED_CAP: usize = 500_000;
/// Distinct identities kept before compaction.
pub const L4_IDENTITY_CAP: usize = 100_000;

/// (client identity, server identity, server port, IP protocol).
type Key = (u32, u32, u16, u8);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    to_server: u64,
    to_client: u64,
    pkts_to_server: u64,
    pkts_to_client: u64,
    flows: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.to_server = self.to_server.saturating_add(o.to_server);
        self.to_client = self.to_client.saturating_add(o.to_client);
        self.pkts_to_server = self.pkts_to_server.saturating_add(o.pkts_to_server);
        self.pkts_to_client = self.pkts_to_client.saturating_add(o.pkts_to_client);
        self.flows = self.flows.saturating_add(o.flows);
    }

    /// `self - earlier`, never negative.
    fn since(&self, earlier: &Counts) -> Counts {
        Counts {
            to_server: self.to_server.saturating_sub(earlier.to_server),
            to_client: self.to_client.saturating_sub(earlier.to_client),
            pkts_to_server: self.pkts_to_server.saturating_sub(earlier.pkts_to_server),
            pkts_to_client: self.pkts_to_client.saturating_sub(earlier.pkts_to_client),
            flows: self.flows.saturating_sub(earlier.flows),
        }
    }
}

/// Counters by key, in the order their keys first came (a map computation
/// reads them in steps by position).
#[derive(Debug, Clone, Default)]
struct Counters {
    rows: Vec<(Key, Counts)>,
    index: FxHashMap<Key, u32>,
}

impl Counters {
    /// Adds `c` to `key`'s counts; false (nothing added) when `key` is new
    /// and `cap` keys are kept.
    fn add(&mut self, key: Key, c: &Counts, cap: usize) -> bool {
        if let Some(&i) = self.index.get(&key) {
            self.rows[i as usize].1.add(c);
            return true;
        }
        if self.rows.len() >= cap {
            return false;
        }
        self.index.insert(key, self.rows.len() as u32);
        self.rows.push((key, *c));
        true
    }

    fn get(&self, key: &Key) -> Option<&Counts> {
        self.index.get(key).map(|&i| &self.rows[i as usize].1)
    }

    /// The same counters with identities renumbered by `remap` (one to
    /// one on the identities they use: rows keep their places).
    fn remap(&mut self, remap: &[u32]) {
        for (k, _) in &mut self.rows {
            *k = (remap[k.0 as usize], remap[k.1 as usize], k.2, k.3);
        }
        self.index = (0u32..)
            .zip(&self.rows)
            .map(|(i, (k, _))| (*k, i))
            .collect();
    }
}

#[derive(Debug, Clone)]
struct ProbeState {
    epoch: u64,
    seq: u64,
    taken_at_us: i64,
    counters: Counters,
    /// Since the previous snapshot of the same epoch: its length in
    /// seconds and each counter's increase (aligned with `counters.rows`).
    rate: Option<(f64, Vec<Counts>)>,
    /// Where the last snapshot's identities went in the table (by their
    /// place in the snapshot; `u32::MAX` once compacted away): hints for
    /// the next snapshot's.
    remap: Vec<u32>,
}

/// Counters of what the L4 state did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct L4Stats {
    pub snapshots: u64,
    /// Snapshots refused as older than one already applied.
    pub stale: u64,
    /// New epochs seen for a known probe.
    pub restarts: u64,
    /// Snapshots refused because `L4_PROBE_CAP` probes are tracked.
    pub probes_refused: u64,
    /// Counters dropped by `L4_COUNTER_CAP` or `L4_RETIRED_CAP`.
    pub counters_dropped: u64,
    /// Counters whose identity index was outside the snapshot's table.
    pub bad_identity_refs: u64,
    pub identity_overflow: u64,
}

/// The L4 map's state, fed with every probe's snapshots.
#[derive(Debug, Clone)]
pub struct L4State {
    identities: IdentityTable,
    probes: BTreeMap<String, ProbeState>,
    retired: Counters,
    stats: L4Stats,
    /// Changes with every change of the counters (a map computation in
    /// progress then starts over).
    revision: u64,
}

impl Default for L4State {
    fn default() -> Self {
        Self::new()
    }
}

impl L4State {
    pub fn new() -> Self {
        Self::with_identity_cap(L4_IDENTITY_CAP)
    }

    pub fn with_identity_cap(identity_cap: usize) -> Self {
        L4State {
            identities: IdentityTable::new(identity_cap),
            probes: BTreeMap::new(),
            retired: Counters::default(),
            stats: L4Stats::default(),
            revision: 0,
        }
    }

    pub fn stats(&self) -> L4Stats {
        self.stats
    }

    /// Probes with a snapshot.
    pub fn probes(&self) -> impl Iterator<Item = &str> {
        self.probes.keys().map(String::as_str)
    }

    /// Applies one probe snapshot. A snapshot of a newer epoch retires the
    /// probe's previous counters into the totals; one older than (or equal
    /// to) the latest applied is refused. Rates are the increase since
    /// the probe's previous snapshot of the same epoch.
    pub fn ingest(&mut self, mut snap: L4Snapshot) -> Result<(), ModelError> {
        if let Some(p) = self.probes.get(&snap.node) {
            if snap.epoch < p.epoch || (snap.epoch == p.epoch && snap.seq <= p.seq) {
                self.stats.stale += 1;
                return Err(ModelError::StaleSnapshot {
                    node: snap.node,
                    epoch: snap.epoch,
                    seq: snap.seq,
                    have_epoch: p.epoch,
                    have_seq: p.seq,
                });
            }
        } else if self.probes.len() >= L4_PROBE_CAP {
            self.stats.probes_refused += 1;
            return Err(ModelError::TooManyProbes { cap: L4_PROBE_CAP });
        }
        self.stats.snapshots += 1;
        self.revision += 1;
        if self.identities.should_compact(snap.identities.len() + 1) {
            self.compact_identities();
        }
        // A probe sends its identities in much the same order every time:
        // each is looked for first where it was in the probe's last
        // snapshot (no hashing of its strings when it is still there).
        let hints = self
            .probes
            .get(&snap.node)
            .map(|p| p.remap.as_slice())
            .unwrap_or(&[]);
        let hints = hints.to_vec();
        let identities = std::mem::take(&mut snap.identities);
        // Those beyond the last snapshot's are likely new: room for them
        // at once rather than an index that grows (and rehashes) meanwhile.
        self.identities
            .reserve(identities.len().saturating_sub(hints.len()));
        let remap: Vec<u32> = identities
            .into_iter()
            .enumerate()
            .map(|(i, id)| {
                let hint = hints.get(i).copied().filter(|&h| h != u32::MAX);
                self.identities.intern_owned(id, hint)
            })
            .collect();
        let mut counters = Counters::default();
        for c in &snap.counters {
            let client = self.resolve(&remap, c.client);
            let server = self.resolve(&remap, c.server);
            let key = (client, server, c.server_port, c.ip_proto);
            let counts = Counts {
                to_server: c.bytes_to_server,
                to_client: c.bytes_to_client,
                pkts_to_server: c.packets_to_server,
                pkts_to_client: c.packets_to_client,
                flows: c.flows,
            };
            if !counters.add(key, &counts, L4_COUNTER_CAP) {
                self.stats.counters_dropped += 1;
            }
        }
        self.stats.identity_overflow = self.identities.overflowed;
        let mut new = ProbeState {
            epoch: snap.epoch,
            seq: snap.seq,
            taken_at_us: snap.taken_at_us,
            counters,
            rate: None,
            remap,
        };
        match self.probes.remove(&snap.node) {
            Some(old) if old.epoch == new.epoch => {
                let secs = (i128::from(new.taken_at_us) - i128::from(old.taken_at_us)) as f64 / 1e6;
                if secs > 0.0 {
                    let zero = Counts::default();
                    let increase = new
                        .counters
                        .rows
                        .iter()
                        .map(|(k, c)| c.since(old.counters.get(k).unwrap_or(&zero)))
                        .collect();
                    new.rate = Some((secs, increase));
                }
            }
            Some(old) => {
                self.stats.restarts += 1;
                self.retire(old.counters);
            }
            None => {}
        }
        self.probes.insert(snap.node, new);
        Ok(())
    }

    /// Forgets a probe (e.g. it disconnected for good); its counters stay in
    /// the cumulative totals.
    pub fn remove_probe(&mut self, node: &str) {
        if let Some(old) = self.probes.remove(node) {
            self.revision += 1;
            self.retire(old.counters);
        }
    }

    fn retire(&mut self, counters: Counters) {
        for (k, c) in &counters.rows {
            if !self.retired.add(*k, c, L4_RETIRED_CAP) {
                self.stats.counters_dropped += 1;
            }
        }
    }

    fn resolve(&mut self, remap: &[u32], index: u32) -> u32 {
        match remap.get(index as usize) {
            Some(&i) => i,
            None => {
                self.stats.bad_identity_refs += 1;
                let mut id = Identity::external(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
                id.name = "(unknown identity)".to_string();
                self.identities.intern(&id)
            }
        }
    }

    fn compact_identities(&mut self) {
        let mut live = vec![false; self.identities.len()];
        let counters = self
            .probes
            .values()
            .map(|p| &p.counters)
            .chain([&self.retired]);
        for c in counters {
            for (k, _) in &c.rows {
                live[k.0 as usize] = true;
                live[k.1 as usize] = true;
            }
        }
        let remap = self.identities.compact(&live);
        for p in self.probes.values_mut() {
            p.counters.remap(&remap);
            for h in &mut p.remap {
                *h = remap.get(*h as usize).copied().unwrap_or(u32::MAX);
            }
        }
        self.retired.remap(&remap);
    }

    /// The L4 map: cumulative totals (all epochs) and rates (latest
    /// snapshot interval per probe) per (client group, server group,
    /// transport) edge. Edges carry [`Protocol::TCP`] or [`Protocol::UDP`]
    /// (None for other IP protocols); the legend lists the transports
    /// present and hides them like L7 protocols. [`L4Aggregation`]
    /// computes the same map in steps.
    pub fn graph(&self, settings: &ViewSettings) -> MapGraph {
        let mut run = L4Aggregation::new(self, settings);
        loop {
            if let Some(g) = run.advance(self, usize::MAX) {
                return g;
            }
        }
    }
}

/// The sums of one L4 edge.
#[derive(Debug, Default)]
struct Acc {
    total: Counts,
    /// Bytes to server, to client, packets to server, to client, per second.
    rate: [f64; 4],
    first: Option<i64>,
    last: Option<i64>,
}

/// (client group, server group, IP protocol).
type GroupKey = (u32, u32, u8);

/// The L4 map computed in steps ([`L4Aggregation::advance`]), so that a UI
/// can spread it over frames: [`L4State::graph`]'s map. If the state
/// changes meanwhile, the next call starts over.
#[derive(Debug)]
pub struct L4Aggregation {
    settings: ViewSettings,
    revision: u64,
    groups: GroupTable,
    hidden_id: Vec<bool>,
    /// Next counter to read: probe (in name order; then the retired
    /// counters), row.
    probe: usize,
    row: usize,
    index: FxHashMap<GroupKey, u32>,
    keys: Vec<GroupKey>,
    accs: Vec<Acc>,
    seen_id: Vec<bool>,
    transports: BTreeSet<Protocol>,
    hidden: HiddenStats,
    hidden_keys: FxHashSet<GroupKey>,
    considered: u64,
    phase: Phase,
    out: L4Built,
}

/// Where an [`L4Aggregation`] stands.
#[derive(Debug)]
enum Phase {
    Reading,
    Nodes,
    Order(EdgeOrder),
    Edges,
    /// The map was returned: the next call starts over.
    Spent,
}

/// Ranks of the edges' order after the endpoints: transport (none, then
/// by protocol code), then IP protocol.
const RANKS: usize = 257 << 8;

/// The map's nodes and the edges built so far, in map order.
#[derive(Debug, Default)]
struct L4Built {
    node_of_group: Vec<u32>,
    nodes: Vec<MapNode>,
    order: Vec<u32>,
    edges: Vec<MapEdge>,
}

impl L4Aggregation {
    /// A computation of `state`'s map with `settings`.
    pub fn new(state: &L4State, settings: &ViewSettings) -> L4Aggregation {
        let ids = state.identities.items();
        L4Aggregation {
            settings: settings.clone(),
            revision: state.revision,
            groups: GroupTable::build(ids, settings.grouping, settings.collapse_external),
            hidden_id: settings.hidden.hidden_identities(ids),
            probe: 0,
            row: 0,
            index: FxHashMap::default(),
            keys: Vec::new(),
            accs: Vec::new(),
            seen_id: vec![false; ids.len()],
            transports: BTreeSet::new(),
            hidden: HiddenStats::default(),
            hidden_keys: FxHashSet::default(),
            considered: 0,
            phase: Phase::Reading,
            out: L4Built::default(),
        }
    }

    /// Reads up to `max_counters` more counters (an edge of the map, or a
    /// few items of its sorts, count as one), then builds the map's
    /// nodes, order and edges in steps; every call makes progress, and the
    /// one that builds the last edge returns the map. Calling it again
    /// after that starts over.
    pub fn advance(&mut self, state: &L4State, max_counters: usize) -> Option<MapGraph> {
        if state.revision != self.revision || matches!(self.phase, Phase::Spent) {
            *self = L4Aggregation::new(state, &self.settings);
        }
        let mut budget = max_counters.max(1);
        // The counters: each probe's (in name order), then the retired.
        let mut probes = state.probes.values().skip(self.probe);
        let mut probe = probes.next();
        while budget > 0 && matches!(self.phase, Phase::Reading) {
            let (rows, rate, at) = match probe {
                Some(p) => (&p.counters.rows, p.rate.as_ref(), Some(p.taken_at_us)),
                None => (&state.retired.rows, None, None),
            };
            let to = rows.len().min(self.row.saturating_add(budget));
            for (i, (k, c)) in rows.iter().enumerate().take(to).skip(self.row) {
                let rate = rate.map(|(secs, increase)| (&increase[i], *secs));
                self.add(k, c, rate, at);
            }
            budget -= to - self.row;
            self.row = to;
            if to == rows.len() {
                self.row = 0;
                self.probe += 1;
                probe = probes.next();
                if self.probe > state.probes.len() {
                    self.phase = Phase::Nodes;
                }
            }
        }
        while budget > 0 {
            match &mut self.phase {
                Phase::Reading | Phase::Spent => return None,
                Phase::Nodes => {
                    // The longest piece (thousands of nodes' strings):
                    // it starts a call of its own.
                    if budget < max_counters.max(1) {
                        return None;
                    }
                    let (items, nodes) = self.nodes();
                    budget = budget.saturating_sub(2 * self.keys.len() / SORT_COST);
                    self.phase = Phase::Order(EdgeOrder::new(items, nodes, RANKS));
                }
                Phase::Order(order) => {
                    let (work, done) = order.step(budget.saturating_mul(SORT_COST));
                    budget = budget.saturating_sub(work.div_ceil(SORT_COST));
                    if let Some(order) = done {
                        self.out.order = order;
                        self.phase = Phase::Edges;
                    }
                }
                Phase::Edges => {
                    if !self.build_edges(budget / EDGE_COST) {
                        return None;
                    }
                    self.phase = Phase::Spent;
                    return Some(self.finish(state));
                }
            }
        }
        None
    }

    /// The map's nodes (endpoints of visible edges, sorted by key), and
    /// the edges to be put in map order: by source node, target node,
    /// transport (none first), IP protocol. Returns those and the number
    /// of nodes.
    fn nodes(&mut self) -> (Vec<Ordered>, usize) {
        let rank = |ip: u8| transport_of(ip).map_or(0, |p| 1 + u32::from(p.0)) << 8 | u32::from(ip);
        let (nodes, node_of_group, items) = self.groups.edge_nodes(&self.keys, rank);
        let n = nodes.len();
        self.out.nodes = nodes;
        self.out.node_of_group = node_of_group;
        self.out.edges = Vec::with_capacity(self.keys.len());
        (items, n)
    }

    /// Builds up to `max` (at least one) more edges; true when all are.
    fn build_edges(&mut self, max: usize) -> bool {
        let settings = &self.settings;
        let L4Built {
            node_of_group,
            nodes,
            order,
            edges,
        } = &mut self.out;
        let from = edges.len();
        let to = order.len().min(from + max.max(1));
        for &slot in &order[from..to] {
            let (cg, sg, ip_proto) = self.keys[slot as usize];
            let a = &self.accs[slot as usize];
            let protocol = transport_of(ip_proto);
            let (s, t) = (
                node_of_group[cg as usize] as usize,
                node_of_group[sg as usize] as usize,
            );
            let (req, req_rate) = if settings.include_request {
                (a.total.to_server, a.rate[0])
            } else {
                (0, 0.0)
            };
            let (resp, resp_rate) = if settings.include_response {
                (a.total.to_client, a.rate[1])
            } else {
                (0, 0.0)
            };
            let packets = a
                .total
                .pkts_to_server
                .saturating_add(a.total.pkts_to_client);
            let pps = a.rate[2] + a.rate[3];
            {
                let c = &mut nodes[s];
                c.out_bytes = c.out_bytes.saturating_add(req);
                c.in_bytes = c.in_bytes.saturating_add(resp);
                c.out_rate += req_rate;
                c.in_rate += resp_rate;
                c.out_packets = c.out_packets.saturating_add(a.total.pkts_to_server);
                c.in_packets = c.in_packets.saturating_add(a.total.pkts_to_client);
                c.out_pps += a.rate[2];
                c.in_pps += a.rate[3];
            }
            {
                let v = &mut nodes[t];
                v.out_bytes = v.out_bytes.saturating_add(resp);
                v.in_bytes = v.in_bytes.saturating_add(req);
                v.out_rate += resp_rate;
                v.in_rate += req_rate;
                v.out_packets = v.out_packets.saturating_add(a.total.pkts_to_client);
                v.in_packets = v.in_packets.saturating_add(a.total.pkts_to_server);
                v.out_pps += a.rate[3];
                v.in_pps += a.rate[2];
            }
            let bytes = req.saturating_add(resp);
            let bytes_rate = req_rate + resp_rate;
            let value = match (settings.metric, settings.cumulative) {
                (Metric::Bandwidth, true) => bytes as f64,
                (Metric::Bandwidth, false) => bytes_rate,
                (Metric::Throughput, true) => packets as f64,
                (Metric::Throughput, false) => pps,
            };
            edges.push(MapEdge {
                key: edge_key(&nodes[s].key, &nodes[t].key, protocol),
                source: s,
                target: t,
                protocol,
                request_bytes: a.total.to_server,
                response_bytes: a.total.to_client,
                packets_to_server: a.total.pkts_to_server,
                packets_to_client: a.total.pkts_to_client,
                bytes,
                bytes_rate,
                throughput: pps,
                value,
                entries: a.total.flows,
                errors: 0,
                latency: None,
                first_seen_us: a.first.unwrap_or(0),
                last_seen_us: a.last.unwrap_or(0),
            });
        }
        edges.len() == order.len()
    }

    /// The finished map (every edge built).
    fn finish(&mut self, state: &L4State) -> MapGraph {
        let out = std::mem::take(&mut self.out);
        let mut hidden = self.hidden;
        hidden.edges = self
            .hidden_keys
            .iter()
            .filter(|k| !self.index.contains_key(*k))
            .count();
        hidden.nodes = self
            .hidden_keys
            .iter()
            .flat_map(|k| [k.0, k.1])
            .filter(|g| out.node_of_group[*g as usize] == NO_NODE)
            .collect::<BTreeSet<u32>>()
            .len();
        let (mut namespaces, mut cluster_nodes) = (BTreeSet::new(), BTreeSet::new());
        let ids = state.identities.items();
        Legend::collect_present(ids, &self.seen_id, &mut namespaces, &mut cluster_nodes);
        MapGraph {
            nodes: out.nodes,
            edges: out.edges,
            legend: Legend::build(
                &self.settings.hidden,
                namespaces,
                cluster_nodes,
                std::mem::take(&mut self.transports),
            ),
            hidden,
            considered: self.considered,
            matched: self.considered,
        }
    }

    fn add(&mut self, key: &Key, c: &Counts, rate: Option<(&Counts, f64)>, at: Option<i64>) {
        self.considered += 1;
        let (ci, si) = (key.0 as usize, key.1 as usize);
        self.seen_id[ci] = true;
        self.seen_id[si] = true;
        let gk = (
            self.groups.of_identity[ci],
            self.groups.of_identity[si],
            key.3,
        );
        let transport = transport_of(key.3);
        if let Some(t) = transport {
            self.transports.insert(t);
        }
        let settings = &self.settings;
        if self.hidden_id[ci]
            || self.hidden_id[si]
            || transport.is_some_and(|t| settings.hidden.protocols.is_hidden(&t))
        {
            self.hidden.entries += 1;
            self.hidden.bytes = self
                .hidden
                .bytes
                .saturating_add(settings.counted_bytes(c.to_server, c.to_client));
            self.hidden_keys.insert(gk);
            return;
        }
        let slot = *self.index.entry(gk).or_insert_with(|| {
            self.keys.push(gk);
            self.accs.push(Acc::default());
            self.keys.len() as u32 - 1
        });
        let a = &mut self.accs[slot as usize];
        a.total.add(c);
        if let Some((d, secs)) = rate {
            a.rate[0] += d.to_server as f64 / secs;
            a.rate[1] += d.to_client as f64 / secs;
            a.rate[2] += d.pkts_to_server as f64 / secs;
            a.rate[3] += d.pkts_to_client as f64 / secs;
        }
        if let Some(t) = at {
            a.first = Some(a.first.map_or(t, |f| f.min(t)));
            a.last = Some(a.last.map_or(t, |l| l.max(t)));
        }
    }
}
/// The map protocol of an IP protocol number: TCP and UDP; None for others.
fn transport_of(ip_proto: u8) -> Option<Protocol> {
    match ip_proto {
        6 => Some(Protocol::TCP),
        17 => Some(Protocol::UDP),
        _ => None,
    }
}
