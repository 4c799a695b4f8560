//! How identities collapse into map nodes. Group keys are computed once per
//! identity of the table, never per entry.

use std::collections::HashMap;

use wiremap_wire::{Identity, IdentityKind};

use crate::counting_sort::Ordered;
use crate::graph::MapNode;

/// What one map node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Grouping {
    /// One node per namespace.
    Namespace,
    /// One node per cluster node.
    Node,
    /// One node per pod (else service, else DNS name, else IP).
    #[default]
    PodService,
    /// One node per owner workload, so replicas collapse.
    Workload,
}

impl Grouping {
    pub const ALL: [Grouping; 4] = [
        Grouping::Namespace,
        Grouping::Node,
        Grouping::PodService,
        Grouping::Workload,
    ];

    /// Short name for URLs and settings ("namespace", "node", "pod", "workload").
    pub fn name(self) -> &'static str {
        match self {
            Grouping::Namespace => "namespace",
            Grouping::Node => "node",
            Grouping::PodService => "pod",
            Grouping::Workload => "workload",
        }
    }

    pub fn from_name(name: &str) -> Option<Grouping> {
        Self::ALL.into_iter().find(|g| g.name() == name)
    }
}

/// What a map node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    Namespace,
    Node,
    Pod,
    Service,
    Workload,
    /// An unresolved address (or all of them, collapsed).
    External,
}

impl NodeKind {
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Namespace => "namespace",
            NodeKind::Node => "node",
            NodeKind::Pod => "pod",
            NodeKind::Service => "service",
            NodeKind::Workload => "workload",
            NodeKind::External => "external",
        }
    }
}

/// A map node's identity-independent description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupInfo {
    pub(crate) key: String,
    pub(crate) label: String,
    pub(crate) kind: NodeKind,
    /// Namespace shared by all its identities, else empty.
    pub(crate) namespace: String,
    /// Cluster node shared by all its identities, else empty.
    pub(crate) node: String,
}

/// [`GroupTable::nodes`]' node index of a group without a node.
pub(crate) const NO_NODE: u32 = u32::MAX;

/// Groups for a table of identities: `of_identity[i]` is identity i's group.
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupTable {
    pub(crate) groups: Vec<GroupInfo>,
    pub(crate) of_identity: Vec<u32>,
}

/// The group of one identity under a grouping.
pub(crate) fn group_of(id: &Identity, grouping: Grouping, collapse_external: bool) -> GroupInfo {
    let ns = id.best_namespace().to_string();
    let info = |key: String, label: String, kind: NodeKind| GroupInfo {
        key,
        label,
        kind,
        namespace: ns.clone(),
        node: id.node.clone(),
    };
    if id.kind == IdentityKind::EXTERNAL {
        let mut g = if collapse_external {
            info("external".into(), "external".into(), NodeKind::External)
        } else {
            let name = if id.dns.is_empty() {
                id.ip.to_string()
            } else {
                id.dns.clone()
            };
            info(format!("external/{name}"), name, NodeKind::External)
        };
        g.namespace.clear();
        g.node.clear();
        return g;
    }
    if id.kind == IdentityKind::NODE {
        let name = if id.node.is_empty() {
            id.best_name()
        } else {
            id.node.clone()
        };
        let mut g = info(format!("node/{name}"), name, NodeKind::Node);
        g.namespace.clear();
        return g;
    }
    match grouping {
        Grouping::Namespace if !ns.is_empty() => {
            let mut g = info(format!("ns/{ns}"), ns.clone(), NodeKind::Namespace);
            g.node.clear();
            g
        }
        Grouping::Node if !id.node.is_empty() => {
            let mut g = info(format!("node/{}", id.node), id.node.clone(), NodeKind::Node);
            g.namespace.clear();
            g
        }
        Grouping::Workload if !id.workload.is_empty() => info(
            format!("{ns}/{}", id.workload),
            id.workload.clone(),
            NodeKind::Workload,
        ),
        _ => {
            let name = id.best_name();
            let kind = if id.kind == IdentityKind::POD && !id.name.is_empty() {
                NodeKind::Pod
            } else if !id.service.is_empty() || id.kind == IdentityKind::SERVICE {
                NodeKind::Service
            } else {
                NodeKind::Pod
            };
            info(format!("{ns}/{name}"), name, kind)
        }
    }
}

impl GroupTable {
    /// Groups every identity of `ids`.
    /// The map's nodes for edges with (source group, target group, code)
    /// `keys` (the groups of the edges' endpoints, sorted by key), each
    /// group's node index ([`NO_NODE`] if none), and the edges to be put in
    /// map order by [`crate::counting_sort::EdgeOrder`]: source node, target
    /// node, then `rank` of the code.
    pub(crate) fn edge_nodes(
        &self,
        keys: &[(u32, u32, u8)],
        rank: impl Fn(u8) -> u32,
    ) -> (Vec<MapNode>, Vec<u32>, Vec<Ordered>) {
        let mut visible = vec![false; self.groups.len()];
        for k in keys {
            visible[k.0 as usize] = true;
            visible[k.1 as usize] = true;
        }
        let (nodes, node_of_group) = self.nodes(&visible);
        let items = (0u32..)
            .zip(keys)
            .map(|(slot, k)| Ordered {
                slot,
                source: node_of_group[k.0 as usize],
                target: node_of_group[k.1 as usize],
                rank: rank(k.2),
            })
            .collect();
        (nodes, node_of_group, items)
    }

    /// The map's nodes, one per group marked `visible` (by group index),
    /// sorted by key, and each group's node index ([`NO_NODE`] if none).
    fn nodes(&self, visible: &[bool]) -> (Vec<MapNode>, Vec<u32>) {
        let mut shown: Vec<u32> = (0..self.groups.len() as u32)
            .filter(|g| visible[*g as usize])
            .collect();
        shown.sort_by(|a, b| {
            self.groups[*a as usize]
                .key
                .cmp(&self.groups[*b as usize].key)
        });
        let mut node_of_group = vec![NO_NODE; self.groups.len()];
        let mut nodes: Vec<MapNode> = Vec::with_capacity(shown.len());
        for (i, g) in shown.iter().enumerate() {
            let info = &self.groups[*g as usize];
            let mut n = MapNode::new(info.key.clone(), info.label.clone(), info.kind);
            n.namespace = info.namespace.clone();
            n.node_name = info.node.clone();
            nodes.push(n);
            node_of_group[*g as usize] = i as u32;
        }
        (nodes, node_of_group)
    }

    pub(crate) fn build(ids: &[Identity], grouping: Grouping, collapse_external: bool) -> Self {
        let mut table = GroupTable::default();
        let mut index: HashMap<String, u32> = HashMap::new();
        for id in ids {
            let g = group_of(id, grouping, collapse_external);
            let gi = match index.get(&g.key) {
                Some(&gi) => {
                    let existing = &mut table.groups[gi as usize];
                    if existing.namespace != g.namespace {
                        existing.namespace.clear();
                    }
                    if existing.node != g.node {
                        existing.node.clear();
                    }
                    gi
                }
                None => {
                    let gi = table.groups.len() as u32;
                    index.insert(g.key.clone(), gi);
                    table.groups.push(g);
                    gi
                }
            };
            table.of_identity.push(gi);
        }
        table
    }
}
