//! L4 state: the latest cumulative counters per probe, rates from the
//! difference between a probe's two latest snapshots of the same epoch, and
//! totals that survive probe restarts (the old epoch's final counters are
//! retired into a running sum, so nothing is counted twice or goes negative).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use wiremap_wire::{Identity, L4Snapshot, Protocol};

use crate::error::ModelError;
use crate::fx_hash::{FxHashMap, FxHashSet};
use crate::graph::{HiddenStats, MapEdge, MapGraph, MapNode};
use crate::grouping::GroupTable;
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

#[derive(Debug, Clone)]
struct ProbeState {
    epoch: u64,
    seq: u64,
    taken_at_us: i64,
    counters: FxHashMap<Key, Counts>,
    /// The previous snapshot of the same epoch: (taken at, counters).
    prev: Option<(i64, FxHashMap<Key, Counts>)>,
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
    retired: FxHashMap<Key, Counts>,
    stats: L4Stats,
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
            retired: FxHashMap::default(),
            stats: L4Stats::default(),
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
    /// to) the latest applied is refused.
    pub fn ingest(&mut self, snap: L4Snapshot) -> Result<(), ModelError> {
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
        if self.identities.should_compact(snap.identities.len() + 1) {
            self.compact_identities();
        }
        let remap: Vec<u32> = snap
            .identities
            .iter()
            .map(|id| self.identities.intern(id))
            .collect();
        let mut counters: FxHashMap<Key, Counts> = FxHashMap::default();
        for c in &snap.counters {
            let client = self.resolve(&remap, c.client);
            let server = self.resolve(&remap, c.server);
            let key = (client, server, c.server_port, c.ip_proto);
            if counters.len() >= L4_COUNTER_CAP && !counters.contains_key(&key) {
                self.stats.counters_dropped += 1;
                continue;
            }
            counters.entry(key).or_default().add(&Counts {
                to_server: c.bytes_to_server,
                to_client: c.bytes_to_client,
                pkts_to_server: c.packets_to_server,
                pkts_to_client: c.packets_to_client,
                flows: c.flows,
            });
        }
        self.stats.identity_overflow = self.identities.overflowed;
        let mut new = ProbeState {
            epoch: snap.epoch,
            seq: snap.seq,
            taken_at_us: snap.taken_at_us,
            counters,
            prev: None,
        };
        match self.probes.remove(&snap.node) {
            Some(old) if old.epoch == new.epoch => {
                new.prev = Some((old.taken_at_us, old.counters));
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
            self.retire(old.counters);
        }
    }

    fn retire(&mut self, counters: FxHashMap<Key, Counts>) {
        for (k, c) in counters {
            if self.retired.len() >= L4_RETIRED_CAP && !self.retired.contains_key(&k) {
                self.stats.counters_dropped += 1;
                continue;
            }
            self.retired.entry(k).or_default().add(&c);
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
        let mut mark = |k: &Key| {
            live[k.0 as usize] = true;
            live[k.1 as usize] = true;
        };
        for p in self.probes.values() {
            p.counters.keys().for_each(&mut mark);
            if let Some((_, prev)) = &p.prev {
                prev.keys().for_each(&mut mark);
            }
        }
        self.retired.keys().for_each(&mut mark);
        let remap = self.identities.compact(&live);
        let re = |m: FxHashMap<Key, Counts>| -> FxHashMap<Key, Counts> {
            m.into_iter()
                .map(|(k, c)| ((remap[k.0 as usize], remap[k.1 as usize], k.2, k.3), c))
                .collect()
        };
        for p in self.probes.values_mut() {
            p.counters = re(std::mem::take(&mut p.counters));
            if let Some((t, prev)) = p.prev.take() {
                p.prev = Some((t, re(prev)));
            }
        }
        self.retired = re(std::mem::take(&mut self.retired));
    }

    /// The L4 map: cumulative totals (all epochs) and rates (latest
    /// snapshot interval per probe) per (client group, server group,
    /// transport) edge. Edges carry [`Protocol::TCP`] or [`Protocol::UDP`]
    /// (None for other IP protocols); the legend lists the transports
    /// present and hides them like L7 protocols.
    pub fn graph(&self, settings: &ViewSettings) -> MapGraph {
        let ids = self.identities.items();
        let groups = GroupTable::build(ids, settings.grouping, settings.collapse_external);
        let hidden_id = settings.hidden.hidden_identities(ids);

        #[derive(Default)]
        struct Acc {
            total: Counts,
            rate: [f64; 4], // bytes to server, to client, packets to server, to client /s
            first: Option<i64>,
            last: Option<i64>,
        }
        let mut accs: BTreeMap<(u32, u32, u8), Acc> = BTreeMap::new();
        let mut seen_id = vec![false; ids.len()];
        let mut hidden = HiddenStats::default();
        let mut hidden_keys: FxHashSet<(u32, u32, u8)> = FxHashSet::default();
        let mut transports: BTreeSet<Protocol> = BTreeSet::new();
        let mut considered = 0u64;

        let mut add = |key: &Key, c: &Counts, rate: Option<(Counts, f64)>, at: Option<i64>| {
            considered += 1;
            let (ci, si) = (key.0 as usize, key.1 as usize);
            seen_id[ci] = true;
            seen_id[si] = true;
            let gk = (groups.of_identity[ci], groups.of_identity[si], key.3);
            let transport = transport_of(key.3);
            if let Some(t) = transport {
                transports.insert(t);
            }
            if hidden_id[ci]
                || hidden_id[si]
                || transport.is_some_and(|t| settings.hidden.protocols.is_hidden(&t))
            {
                hidden.entries += 1;
                hidden.bytes = hidden
                    .bytes
                    .saturating_add(settings.counted_bytes(c.to_server, c.to_client));
                hidden_keys.insert(gk);
                return;
            }
            let a = accs.entry(gk).or_default();
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
        };

        for p in self.probes.values() {
            let interval = p.prev.as_ref().and_then(|(t, prev)| {
                let secs = (i128::from(p.taken_at_us) - i128::from(*t)) as f64 / 1e6;
                (secs > 0.0).then_some((secs, prev))
            });
            for (k, c) in &p.counters {
                let rate = interval
                    .map(|(secs, prev)| (c.since(prev.get(k).unwrap_or(&Counts::default())), secs));
                add(k, c, rate, Some(p.taken_at_us));
            }
        }
        for (k, c) in &self.retired {
            add(k, c, None, None);
        }

        let mut visible: Vec<u32> = accs.keys().flat_map(|k| [k.0, k.1]).collect();
        visible.sort_unstable();
        visible.dedup();
        visible.sort_by(|a, b| {
            groups.groups[*a as usize]
                .key
                .cmp(&groups.groups[*b as usize].key)
        });
        let mut node_of: FxHashMap<u32, usize> = FxHashMap::default();
        let mut nodes: Vec<MapNode> = Vec::with_capacity(visible.len());
        for (i, g) in visible.iter().enumerate() {
            let info = &groups.groups[*g as usize];
            let mut n = MapNode::new(info.key.clone(), info.label.clone(), info.kind);
            n.namespace = info.namespace.clone();
            n.node_name = info.node.clone();
            nodes.push(n);
            node_of.insert(*g, i);
        }

        let mut edges = Vec::with_capacity(accs.len());
        for ((cg, sg, ip_proto), a) in &accs {
            let protocol = transport_of(*ip_proto);
            let (s, t) = (node_of[cg], node_of[sg]);
            let req = if settings.include_request {
                a.total.to_server
            } else {
                0
            };
            let resp = if settings.include_response {
                a.total.to_client
            } else {
                0
            };
            let req_rate = if settings.include_request {
                a.rate[0]
            } else {
                0.0
            };
            let resp_rate = if settings.include_response {
                a.rate[1]
            } else {
                0.0
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
                key: format!(
                    "{}|{}|{}",
                    nodes[s].key,
                    nodes[t].key,
                    protocol.map_or("-", Protocol::name)
                ),
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
        edges.sort_by_key(|e| (e.source, e.target, e.protocol));

        hidden.edges = hidden_keys.iter().filter(|k| !accs.contains_key(k)).count();
        hidden.nodes = hidden_keys
            .iter()
            .flat_map(|k| [k.0, k.1])
            .filter(|g| !node_of.contains_key(g))
            .collect::<BTreeSet<u32>>()
            .len();
        let (mut namespaces, mut cluster_nodes) = (BTreeSet::new(), BTreeSet::new());
        Legend::collect_present(ids, &seen_id, &mut namespaces, &mut cluster_nodes);
        MapGraph {
            nodes,
            edges,
            legend: Legend::build(&settings.hidden, namespaces, cluster_nodes, transports),
            hidden,
            considered,
            matched: considered,
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
