//! The computed map: plain nodes and edges the renderer and layout read.

use wiremap_wire::Protocol;

use crate::grouping::NodeKind;
use crate::latency_sketch::Percentiles;
use crate::legend::Legend;

/// One map node (a group of identities).
#[derive(Debug, Clone, PartialEq)]
pub struct MapNode {
    /// Stable across recomputations: "ns/default", "default/web-1",
    /// "node/worker-1", "external/1.2.3.4", "external".
    pub key: String,
    pub label: String,
    pub kind: NodeKind,
    /// Namespace (empty for external peers, nodes and mixed groups).
    pub namespace: String,
    /// Cluster node (empty when unknown or mixed).
    pub node_name: String,
    /// Bytes sent: L7 requests as client + responses as server (per the
    /// include settings); L4 bytes sent either way.
    pub out_bytes: u64,
    pub in_bytes: u64,
    /// Bytes per second over the window (L7) or between snapshots (L4).
    pub out_rate: f64,
    pub in_rate: f64,
    /// L4 only: packets sent and received, totals and per second.
    pub out_packets: u64,
    pub in_packets: u64,
    pub out_pps: f64,
    pub in_pps: f64,
    /// L7 entries with this node at either end (L4: 0).
    pub entries: u64,
    pub errors: u64,
}

impl MapNode {
    /// A node with no traffic yet, in no namespace.
    pub fn new(key: String, label: String, kind: NodeKind) -> Self {
        MapNode {
            key,
            label,
            kind,
            namespace: String::new(),
            node_name: String::new(),
            out_bytes: 0,
            in_bytes: 0,
            out_rate: 0.0,
            in_rate: 0.0,
            out_packets: 0,
            in_packets: 0,
            out_pps: 0.0,
            in_pps: 0.0,
            entries: 0,
            errors: 0,
        }
    }

    /// The same node in `namespace`.
    pub fn in_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }
}

/// One map edge: client group → server group, per protocol (L7) or
/// transport (L4).
#[derive(Debug, Clone, PartialEq)]
pub struct MapEdge {
    /// Stable id: "src key|dst key|protocol" ("-" for an L4 edge that is
    /// neither TCP nor UDP).
    pub key: String,
    /// Index into [`MapGraph::nodes`] (the client side).
    pub source: usize,
    /// Index into [`MapGraph::nodes`] (the server side).
    pub target: usize,
    /// The L7 protocol; on the L4 map TCP or UDP (None for other IP
    /// protocols).
    pub protocol: Option<Protocol>,
    /// L7: request sizes; L4: bytes client → server.
    pub request_bytes: u64,
    /// L7: response sizes; L4: bytes server → client.
    pub response_bytes: u64,
    /// L4 only.
    pub packets_to_server: u64,
    pub packets_to_client: u64,
    /// Bytes that count under the include settings.
    pub bytes: u64,
    /// `bytes` per second (window or snapshot interval).
    pub bytes_rate: f64,
    /// Entries/s (L7) or packets/s (L4).
    pub throughput: f64,
    /// What the edge shows per the settings: bytes, bytes/s, entries or
    /// packets, or entries/s or packets/s.
    pub value: f64,
    /// L7 entries (L4: flows ever seen).
    pub entries: u64,
    /// L7 entries marked as errors.
    pub errors: u64,
    /// L7 latency percentiles of entries with a response.
    pub latency: Option<Percentiles>,
    /// Timestamps (µs) of the first and last entry (L4: snapshot times).
    pub first_seen_us: i64,
    pub last_seen_us: i64,
}

impl MapEdge {
    /// An edge `source` → `target` with no protocol and zero traffic; the
    /// maps fill in the figures, layout tests and benches use it as is.
    pub fn new(key: String, source: usize, target: usize) -> Self {
        MapEdge {
            key,
            source,
            target,
            protocol: None,
            request_bytes: 0,
            response_bytes: 0,
            packets_to_server: 0,
            packets_to_client: 0,
            bytes: 0,
            bytes_rate: 0.0,
            throughput: 0.0,
            value: 0.0,
            entries: 0,
            errors: 0,
            latency: None,
            first_seen_us: 0,
            last_seen_us: 0,
        }
    }
}

/// What legend hiding removed (counted after the display filter).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HiddenStats {
    /// Map nodes that appear only in hidden entries (not in the graph).
    pub nodes: usize,
    /// Edges (by key) that appear only in hidden entries (not in the graph).
    pub edges: usize,
    /// Entries (L4: counters) hidden.
    pub entries: u64,
    /// Bytes (per the include settings) hidden.
    pub bytes: u64,
}

/// The map: nodes sorted by key, edges sorted by (source key, target key,
/// protocol), so equal inputs give equal graphs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapGraph {
    pub nodes: Vec<MapNode>,
    pub edges: Vec<MapEdge>,
    pub legend: Legend,
    pub hidden: HiddenStats,
    /// Entries examined (in the window, or all in cumulative mode).
    pub considered: u64,
    /// Entries the display filter accepted.
    pub matched: u64,
}

impl MapGraph {
    /// The legend: namespaces, nodes and protocols present, with hidden state.
    pub fn legend(&self) -> &Legend {
        &self.legend
    }

    /// Index of the node with `key`.
    pub fn node_index(&self, key: &str) -> Option<usize> {
        self.nodes
            .binary_search_by(|n| n.key.as_str().cmp(key))
            .ok()
    }
}

/// `source|target|protocol`, the key of an edge (its protocol's name, or
/// its code if it has none; `-` for an edge without one), built without
/// the formatting machinery: a map builds one per edge.
pub(crate) fn edge_key(source: &str, target: &str, p: Option<Protocol>) -> String {
    let code;
    let proto = match p {
        None => "-",
        Some(p) if p.name() == "unknown" => {
            code = p.0.to_string();
            code.as_str()
        }
        Some(p) => p.name(),
    };
    let mut key = String::with_capacity(source.len() + target.len() + proto.len() + 2);
    key.push_str(source);
    key.push('|');
    key.push_str(target);
    key.push('|');
    key.push_str(proto);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_keys_name_the_protocol_or_its_code() {
        assert_eq!(
            edge_key("pod:a/x", "svc:b/y", Some(Protocol::HTTP2)),
            "pod:a/x|svc:b/y|HTTP/2"
        );
        assert_eq!(edge_key("a", "b", Some(Protocol::DNS)), "a|b|DNS");
        assert_eq!(edge_key("a", "", Some(Protocol(200))), "a||200");
        assert_eq!(edge_key("", "", Some(Protocol(0))), "||0");
        assert_eq!(edge_key("a", "b", None), "a|b|-");
        assert_eq!(edge_key("a", "b", Some(Protocol::TCP)), "a|b|TCP");
    }
}
