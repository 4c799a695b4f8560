//! L7 aggregation: the store's entries, filtered by the caller's predicate,
//! grouped, legend-hidden and windowed, summed per (source group,
//! destination group, protocol) edge.

use std::collections::BTreeSet;

use wiremap_wire::{Entry, EntryView, Protocol};

use crate::fx_hash::{FxHashMap, FxHashSet};
use crate::graph::{HiddenStats, MapEdge, MapGraph, MapNode};
use crate::grouping::GroupTable;
use crate::latency_sketch::LatencySketch;
use crate::legend::Legend;
use crate::settings::{Metric, ViewSettings};
use crate::store::L7Store;

type EdgeKey = (u32, u32, u8);

#[derive(Debug)]
struct EdgeAcc {
    key: EdgeKey,
    request: u64,
    response: u64,
    entries: u64,
    errors: u64,
    latency: LatencySketch,
    first: i64,
    last: i64,
}

impl EdgeAcc {
    fn new(key: EdgeKey) -> Self {
        EdgeAcc {
            key,
            request: 0,
            response: 0,
            entries: 0,
            errors: 0,
            latency: LatencySketch::new(),
            first: i64::MAX,
            last: i64::MIN,
        }
    }

    #[inline]
    fn add(&mut self, e: &Entry) {
        self.request = self.request.saturating_add(e.request_size);
        self.response = self.response.saturating_add(e.response_size);
        self.entries += 1;
        self.errors += u64::from(e.error);
        if e.has_response {
            self.latency.record(e.elapsed_us);
        }
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
    let each = |views: &[EntryView]| {
        let mut pass = 0u64;
        for (i, v) in views.iter().enumerate() {
            pass |= u64::from(filter(v)) << i;
        }
        pass
    };
    aggregate_l7_blocks(store, &each, settings, now_us)
}

/// Entries per call of the filter of [`aggregate_l7_blocks`].
pub const FILTER_BLOCK: usize = 64;

/// [`aggregate_l7`] with a filter that decides up to [`FILTER_BLOCK`]
/// entries per call (e.g. a KFL2 filter's block evaluation): it returns the
/// mask of the entries that pass, bit `i` for `views[i]`. The result is the
/// same as `aggregate_l7` with the per-entry form of the same filter.
pub fn aggregate_l7_blocks(
    store: &L7Store,
    filter: &dyn Fn(&[EntryView]) -> u64,
    settings: &ViewSettings,
    now_us: i64,
) -> MapGraph {
    let ids = store.identities();
    let groups = GroupTable::build(ids, settings.grouping, settings.collapse_external);
    let hidden_id = settings.hidden.hidden_identities(ids);
    let hidden_proto = settings.hidden.hidden_protocols();
    let from = if settings.cumulative {
        i64::MIN
    } else {
        now_us.saturating_sub(settings.window_us.max(1000))
    };

    let mut index: FxHashMap<EdgeKey, u32> = FxHashMap::default();
    let mut accs: Vec<EdgeAcc> = Vec::new();
    let mut seen_id = vec![false; ids.len()];
    let mut seen_proto = [false; 256];
    let mut hidden_keys: FxHashSet<EdgeKey> = FxHashSet::default();
    let mut hidden = HiddenStats::default();
    let (mut considered, mut matched) = (0u64, 0u64);
    let (mut min_ts, mut max_ts) = (i64::MAX, i64::MIN);
    let mut last: Option<(EdgeKey, u32)> = None;

    let mut block = Vec::with_capacity(FILTER_BLOCK);
    let mut views = Vec::with_capacity(FILTER_BLOCK);
    for chunk in store.chunks() {
        if chunk.max_ts < from {
            continue;
        }
        let mut rest = chunk.entries.iter();
        loop {
            // The next block of in-window entries, filtered in one call.
            block.clear();
            views.clear();
            for s in rest.by_ref() {
                if s.entry.timestamp_us >= from {
                    block.push(s);
                    views.push(store.view(s));
                    if block.len() == FILTER_BLOCK {
                        break;
                    }
                }
            }
            if block.is_empty() {
                break;
            }
            considered += block.len() as u64;
            let mut pass = filter(&views) & (u64::MAX >> (FILTER_BLOCK - block.len()));
            while pass != 0 {
                let e = &block[pass.trailing_zeros() as usize].entry;
                pass &= pass - 1;
                matched += 1;
                let (si, di) = (e.src.identity as usize, e.dst.identity as usize);
                let p = e.protocol.0;
                seen_id[si] = true;
                seen_id[di] = true;
                seen_proto[p as usize] = true;
                let key = (groups.of_identity[si], groups.of_identity[di], p);
                if hidden_id[si] || hidden_id[di] || hidden_proto[p as usize] {
                    hidden.entries += 1;
                    hidden.bytes = hidden
                        .bytes
                        .saturating_add(settings.counted_bytes(e.request_size, e.response_size));
                    hidden_keys.insert(key);
                    continue;
                }
                min_ts = min_ts.min(e.timestamp_us);
                max_ts = max_ts.max(e.timestamp_us);
                let slot = match last {
                    Some((k, slot)) if k == key => slot,
                    _ => {
                        let slot = *index.entry(key).or_insert_with(|| {
                            accs.push(EdgeAcc::new(key));
                            (accs.len() - 1) as u32
                        });
                        last = Some((key, slot));
                        slot
                    }
                };
                accs[slot as usize].add(e);
            }
        }
    }

    let seconds = if settings.cumulative {
        if max_ts > min_ts {
            ((i128::from(max_ts) - i128::from(min_ts)) as f64 / 1e6).max(1.0)
        } else {
            1.0
        }
    } else {
        settings.window_s()
    };

    // Nodes: endpoints of visible edges, sorted by key.
    let mut visible_groups: Vec<u32> = accs.iter().flat_map(|a| [a.key.0, a.key.1]).collect();
    visible_groups.sort_unstable();
    visible_groups.dedup();
    visible_groups.sort_by(|a, b| {
        groups.groups[*a as usize]
            .key
            .cmp(&groups.groups[*b as usize].key)
    });
    let mut node_of_group: FxHashMap<u32, usize> = FxHashMap::default();
    let mut nodes: Vec<MapNode> = Vec::with_capacity(visible_groups.len());
    for (i, g) in visible_groups.iter().enumerate() {
        let info = &groups.groups[*g as usize];
        let mut n = MapNode::new(info.key.clone(), info.label.clone(), info.kind);
        n.namespace = info.namespace.clone();
        n.node_name = info.node.clone();
        nodes.push(n);
        node_of_group.insert(*g, i);
    }

    let mut edges: Vec<MapEdge> = Vec::with_capacity(accs.len());
    for a in &accs {
        let (s, t) = (node_of_group[&a.key.0], node_of_group[&a.key.1]);
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
        let proto = Protocol(a.key.2);
        edges.push(MapEdge {
            key: format!("{}|{}|{}", nodes[s].key, nodes[t].key, protocol_key(proto)),
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
            latency: a.latency.percentiles(),
            first_seen_us: a.first,
            last_seen_us: a.last,
        });
    }
    for n in &mut nodes {
        n.out_rate = n.out_bytes as f64 / seconds;
        n.in_rate = n.in_bytes as f64 / seconds;
    }
    edges.sort_by_key(|e| (e.source, e.target, e.protocol));

    // Hidden counts: edges and nodes that appear only among hidden entries.
    hidden.edges = hidden_keys
        .iter()
        .filter(|k| !index.contains_key(*k))
        .count();
    let hidden_groups: BTreeSet<u32> = hidden_keys
        .iter()
        .flat_map(|k| [k.0, k.1])
        .filter(|g| !node_of_group.contains_key(g))
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

/// The protocol part of an edge key: the KFL2 name, or the raw code.
pub(crate) fn protocol_key(p: Protocol) -> String {
    match p.name() {
        "unknown" => p.0.to_string(),
        name => name.to_string(),
    }
}
