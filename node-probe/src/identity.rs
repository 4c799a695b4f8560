//! IP → workload identity, and the one-probe-reports rule.
//!
//! An [`IdentityMap`] is an immutable snapshot built by a source (the
//! topology file today, the Kubernetes API later); the pipeline swaps in a
//! new one when the source changes. Lookups never fail: an unknown address
//! is [`Identity::external`].

use std::collections::HashMap;
use std::net::IpAddr;

use wiremap_wire::{Identity, IdentityKind, NodeInfo};

/// Most addresses one map holds.
pub const MAX_IDENTITIES: usize = 1_000_000;

/// Anything that yields identity snapshots (topology file, Kubernetes).
pub trait IdentitySource {
    /// The current map, if it changed since the last call.
    fn poll(&mut self) -> Option<IdentityMap>;
}

/// A snapshot of who every known address is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IdentityMap {
    by_ip: HashMap<IpAddr, Identity>,
    nodes: Vec<NodeInfo>,
    /// Pods and services in a stable order (for inventories).
    listed: Vec<IpAddr>,
    /// Entries refused because the map was full.
    pub overflow: u64,
}

impl IdentityMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the identity of `id.ip`.
    pub fn insert(&mut self, id: Identity) {
        if !self.by_ip.contains_key(&id.ip) {
            if self.by_ip.len() >= MAX_IDENTITIES {
                self.overflow += 1;
                return;
            }
            self.listed.push(id.ip);
        }
        self.by_ip.insert(id.ip, id);
    }

    pub fn add_node(&mut self, node: NodeInfo) {
        self.nodes.push(node);
    }

    pub fn nodes(&self) -> &[NodeInfo] {
        &self.nodes
    }

    pub fn len(&self) -> usize {
        self.by_ip.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_ip.is_empty()
    }

    /// The known identity of `ip`, if any.
    pub fn get(&self, ip: IpAddr) -> Option<&Identity> {
        self.by_ip.get(&ip)
    }

    /// The identity of `ip`, external when unknown.
    pub fn resolve(&self, ip: IpAddr) -> Identity {
        self.get(ip)
            .cloned()
            .unwrap_or_else(|| Identity::external(ip))
    }

    /// Pods and services (for the inventory frame), in insertion order.
    pub fn workloads(&self) -> Vec<Identity> {
        self.listed
            .iter()
            .filter_map(|ip| self.by_ip.get(ip))
            .filter(|i| i.kind == IdentityKind::POD || i.kind == IdentityKind::SERVICE)
            .cloned()
            .collect()
    }
}

/// The node that reports a flow (DESIGN principle 6): the client's node when
/// the client is a pod of the cluster, else the server's node when the
/// server is a pod or a node, else the client's when it is a node. `None`
/// when no node owns either end: whoever sees the flow reports it.
pub fn reporting_node<'a>(
    client: Option<&'a Identity>,
    server: Option<&'a Identity>,
) -> Option<&'a str> {
    let node_of = |i: Option<&'a Identity>, kinds: &[IdentityKind]| {
        i.filter(|i| kinds.contains(&i.kind) && !i.node.is_empty())
            .map(|i| i.node.as_str())
    };
    node_of(client, &[IdentityKind::POD])
        .or_else(|| node_of(server, &[IdentityKind::POD, IdentityKind::NODE]))
        .or_else(|| node_of(client, &[IdentityKind::NODE]))
}

/// Whether the probe of `node` reports a flow between these ends.
pub fn reports(node: &str, client: Option<&Identity>, server: Option<&Identity>) -> bool {
    reporting_node(client, server).is_none_or(|n| n == node)
}
