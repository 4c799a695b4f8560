//! The drawable graph: nodes and edges after grouping, hiding and metric
//! choice, built from the [`Store`] for one [`ViewState`]. Plain data, the
//! same for the canvas, the table and the JSON export.

use std::collections::HashMap;

use wiremap_wire::{Identity, IdentityKind, Protocol};

use crate::rates::RateTracker;
use crate::store::Store;
use crate::view_state::{Grouping, MapType, Metric, ViewState};

/// The legend key of peers without a namespace.
pub const NO_NAMESPACE: &str = "(none)";
/// The group of peers outside the cluster when grouping by node.
pub const EXTERNAL: &str = "external";

/// One node of the map.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphNode {
    /// Unique label (also the key).
    pub label: String,
    /// "pod", "service", "external", "node", "namespace", "workload".
    pub kind: String,
    pub namespace: String,
    pub node: String,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub entries: u64,
    pub errors: u64,
}

/// One directed edge of the map (client → server, one protocol).
#[derive(Debug, Clone, PartialEq)]
pub struct GraphEdge {
    pub src: usize,
    pub dst: usize,
    pub protocol: Protocol,
    /// Bytes counted under the size toggles (request and/or response).
    pub bytes: u64,
    pub request_bytes: u64,
    pub response_bytes: u64,
    /// Entries (L7) or flows (L4).
    pub entries: u64,
    pub packets: u64,
    pub errors: u64,
    pub latency_us_sum: u64,
    /// The metric's total (bytes or entries/packets).
    pub total: f64,
    /// The metric per second.
    pub rate: f64,
}

impl GraphEdge {
    /// What width and label show: the rate, or the total when cumulative.
    pub fn value(&self, cumulative: bool) -> f64 {
        if cumulative {
            self.total
        } else {
            self.rate
        }
    }
}

/// Nodes and edges; edge endpoints index `nodes`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GraphView {
    pub map: Option<MapType>,
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
    /// Namespaces, nodes and protocols present before hiding (legend).
    pub namespaces: Vec<String>,
    pub node_names: Vec<String>,
    pub protocols: Vec<Protocol>,
}

/// The group an identity falls in under `grouping`.
pub fn group_of(id: &Identity, grouping: Grouping) -> GraphNode {
    let namespace = id.best_namespace().to_string();
    let node = id.node.clone();
    let (label, kind) = match grouping {
        Grouping::PodService => (id.best_name(), id.kind.name().to_string()),
        Grouping::Workload => {
            if !id.workload.is_empty() {
                (id.workload.clone(), "workload".to_string())
            } else {
                (id.best_name(), id.kind.name().to_string())
            }
        }
        Grouping::Namespace => {
            if namespace.is_empty() {
                if id.kind == IdentityKind::EXTERNAL {
                    (EXTERNAL.to_string(), "external".to_string())
                } else {
                    (NO_NAMESPACE.to_string(), "namespace".to_string())
                }
            } else {
                (namespace.clone(), "namespace".to_string())
            }
        }
        Grouping::Node => {
            if node.is_empty() {
                (EXTERNAL.to_string(), "external".to_string())
            } else {
                (node.clone(), "node".to_string())
            }
        }
    };
    let namespace = match grouping {
        Grouping::Node => String::new(),
        _ => namespace,
    };
    GraphNode {
        label,
        kind,
        namespace,
        node: if grouping == Grouping::Namespace {
            String::new()
        } else {
            node
        },
        bytes_in: 0,
        bytes_out: 0,
        entries: 0,
        errors: 0,
    }
}

/// The legend key of a namespace ("" becomes [`NO_NAMESPACE`]).
pub fn namespace_key(ns: &str) -> &str {
    if ns.is_empty() {
        NO_NAMESPACE
    } else {
        ns
    }
}

struct Builder<'v> {
    view: &'v ViewState,
    node_ix: HashMap<String, usize>,
    edge_ix: HashMap<(usize, usize, Protocol), usize>,
    g: GraphView,
    namespaces: std::collections::BTreeSet<String>,
    node_names: std::collections::BTreeSet<String>,
    protocols: std::collections::BTreeSet<Protocol>,
}

struct Sample {
    protocol: Protocol,
    request_bytes: u64,
    response_bytes: u64,
    entries: u64,
    packets: u64,
    errors: u64,
    latency_us_sum: u64,
}

impl<'v> Builder<'v> {
    fn new(view: &'v ViewState) -> Self {
        Builder {
            view,
            node_ix: HashMap::new(),
            edge_ix: HashMap::new(),
            g: GraphView {
                map: Some(view.map),
                ..GraphView::default()
            },
            namespaces: Default::default(),
            node_names: Default::default(),
            protocols: Default::default(),
        }
    }

    fn hidden(&self, id: &Identity) -> bool {
        let v = self.view;
        v.hidden_namespaces
            .contains(namespace_key(id.best_namespace()))
            || (!id.node.is_empty() && v.hidden_nodes.contains(&id.node))
    }

    fn node(&mut self, id: &Identity) -> usize {
        let n = group_of(id, self.view.grouping);
        if let Some(&i) = self.node_ix.get(&n.label) {
            return i;
        }
        let i = self.g.nodes.len();
        self.node_ix.insert(n.label.clone(), i);
        self.g.nodes.push(n);
        i
    }

    fn add(&mut self, src: &Identity, dst: &Identity, s: Sample) {
        self.namespaces
            .insert(namespace_key(src.best_namespace()).to_string());
        self.namespaces
            .insert(namespace_key(dst.best_namespace()).to_string());
        for n in [&src.node, &dst.node] {
            if !n.is_empty() {
                self.node_names.insert(n.clone());
            }
        }
        self.protocols.insert(s.protocol);
        if self.hidden(src)
            || self.hidden(dst)
            || self.view.hidden_protocols.contains(s.protocol.name())
        {
            return;
        }
        let a = self.node(src);
        let b = self.node(dst);
        let req = if self.view.include_request {
            s.request_bytes
        } else {
            0
        };
        let resp = if self.view.include_response {
            s.response_bytes
        } else {
            0
        };
        let bytes = req.saturating_add(resp);
        let ix = *self.edge_ix.entry((a, b, s.protocol)).or_insert_with(|| {
            self.g.edges.push(GraphEdge {
                src: a,
                dst: b,
                protocol: s.protocol,
                bytes: 0,
                request_bytes: 0,
                response_bytes: 0,
                entries: 0,
                packets: 0,
                errors: 0,
                latency_us_sum: 0,
                total: 0.0,
                rate: 0.0,
            });
            self.g.edges.len() - 1
        });
        if let Some(e) = self.g.edges.get_mut(ix) {
            e.bytes = e.bytes.saturating_add(bytes);
            e.request_bytes = e.request_bytes.saturating_add(s.request_bytes);
            e.response_bytes = e.response_bytes.saturating_add(s.response_bytes);
            e.entries += s.entries;
            e.packets += s.packets;
            e.errors += s.errors;
            e.latency_us_sum = e.latency_us_sum.saturating_add(s.latency_us_sum);
        }
        if let Some(n) = self.g.nodes.get_mut(a) {
            n.bytes_out = n.bytes_out.saturating_add(bytes);
            n.entries += s.entries;
            n.errors += s.errors;
        }
        if let Some(n) = self.g.nodes.get_mut(b) {
            n.bytes_in = n.bytes_in.saturating_add(bytes);
            if a != b {
                n.entries += s.entries;
                n.errors += s.errors;
            }
        }
    }

    fn finish(mut self, rates: &mut RateTracker, now_ms: f64) -> GraphView {
        let view = self.view;
        for e in &mut self.g.edges {
            e.total = match (view.metric, view.map) {
                (Metric::Bandwidth, _) => e.bytes as f64,
                (Metric::Throughput, MapType::L7) => e.entries as f64,
                (Metric::Throughput, MapType::L4) => e.packets as f64,
            };
            let key = edge_key(&self.g.nodes, e);
            e.rate = rates.observe(&key, now_ms, e.total);
        }
        rates.sweep();
        self.g.namespaces = self.namespaces.into_iter().collect();
        self.g.node_names = self.node_names.into_iter().collect();
        self.g.protocols = self.protocols.into_iter().collect();
        self.g
    }
}

/// A stable text key of an edge ("a -> b HTTP").
pub fn edge_key(nodes: &[GraphNode], e: &GraphEdge) -> String {
    let name = |i: usize| nodes.get(i).map(|n| n.label.as_str()).unwrap_or("?");
    format!("{} -> {} {}", name(e.src), name(e.dst), e.protocol.name())
}

/// Builds the graph `view` asks for at `now_ms` (rates use `rates`).
pub fn build(store: &Store, view: &ViewState, rates: &mut RateTracker, now_ms: f64) -> GraphView {
    let mut b = Builder::new(view);
    match view.map {
        MapType::L7 => {
            for (&(s, d, protocol), t) in store.pairs() {
                let (Some(src), Some(dst)) = (store.identity(s), store.identity(d)) else {
                    continue;
                };
                b.add(
                    src,
                    dst,
                    Sample {
                        protocol,
                        request_bytes: t.request_bytes,
                        response_bytes: t.response_bytes,
                        entries: t.entries,
                        packets: 0,
                        errors: t.errors,
                        latency_us_sum: t.latency_us_sum,
                    },
                );
            }
        }
        MapType::L4 => {
            for snap in store.l4_snapshots() {
                for c in &snap.counters {
                    let id = |i: u32| usize::try_from(i).ok().and_then(|i| snap.identities.get(i));
                    let (Some(src), Some(dst)) = (id(c.client), id(c.server)) else {
                        continue;
                    };
                    let protocol = match c.ip_proto {
                        6 => Protocol::TCP,
                        17 => Protocol::UDP,
                        _ => Protocol(0),
                    };
                    b.add(
                        src,
                        dst,
                        Sample {
                            protocol,
                            request_bytes: c.bytes_to_server,
                            response_bytes: c.bytes_to_client,
                            entries: c.flows,
                            packets: c.packets_to_server.saturating_add(c.packets_to_client),
                            errors: 0,
                            latency_us_sum: 0,
                        },
                    );
                }
            }
        }
    }
    // Deterministic order: by label, edges by endpoints and protocol.
    let mut g = b.finish(rates, now_ms);
    sort(&mut g);
    g
}

fn sort(g: &mut GraphView) {
    let mut order: Vec<usize> = (0..g.nodes.len()).collect();
    order.sort_by(|&a, &b| g.nodes[a].label.cmp(&g.nodes[b].label));
    let mut new_ix = vec![0usize; g.nodes.len()];
    for (new, &old) in order.iter().enumerate() {
        new_ix[old] = new;
    }
    let mut nodes: Vec<Option<GraphNode>> =
        std::mem::take(&mut g.nodes).into_iter().map(Some).collect();
    g.nodes = order
        .iter()
        .filter_map(|&i| nodes.get_mut(i).and_then(Option::take))
        .collect();
    for e in &mut g.edges {
        e.src = new_ix.get(e.src).copied().unwrap_or(0);
        e.dst = new_ix.get(e.dst).copied().unwrap_or(0);
    }
    g.edges.sort_by_key(|e| (e.src, e.dst, e.protocol));
}
