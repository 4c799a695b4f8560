//! Legend filters: hide or show namespaces, cluster nodes and protocols.
//! Hidden items take their edges with them: an entry (or L4 counter) is
//! hidden when either peer's namespace or node is hidden, or its protocol is.

use std::borrow::Borrow;
use std::collections::BTreeSet;

use wiremap_wire::{Identity, Protocol};

/// Most items one legend category remembers as toggled.
pub const LEGEND_TOGGLE_CAP: usize = 4096;

/// One category's hidden state: a default plus the items flipped from it,
/// so "hide all" also hides items that appear later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toggle<K: Ord> {
    all_hidden: bool,
    flipped: BTreeSet<K>,
}

impl<K: Ord> Default for Toggle<K> {
    fn default() -> Self {
        Toggle {
            all_hidden: false,
            flipped: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Clone> Toggle<K> {
    pub fn is_hidden<Q: Ord + ?Sized>(&self, k: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.all_hidden ^ self.flipped.contains(k)
    }

    pub fn set_hidden(&mut self, k: &K, hidden: bool) {
        if hidden == self.all_hidden {
            self.flipped.remove(k);
        } else if self.flipped.len() < LEGEND_TOGGLE_CAP {
            self.flipped.insert(k.clone());
        }
    }

    pub fn toggle(&mut self, k: &K) {
        let h = self.is_hidden(k);
        self.set_hidden(k, !h);
    }

    fn set_all(&mut self, hidden: bool) {
        self.all_hidden = hidden;
        self.flipped.clear();
    }

    /// true when nothing is hidden.
    pub fn is_default(&self) -> bool {
        !self.all_hidden && self.flipped.is_empty()
    }

    /// A toggle from its saved parts (see [`Toggle::parts`]); at most
    /// `LEGEND_TOGGLE_CAP` items are kept.
    pub fn from_parts(all_hidden: bool, flipped: impl IntoIterator<Item = K>) -> Self {
        Toggle {
            all_hidden,
            flipped: flipped.into_iter().take(LEGEND_TOGGLE_CAP).collect(),
        }
    }

    /// Whether the default is hidden, and the items flipped from it (for URLs).
    pub fn parts(&self) -> (bool, impl Iterator<Item = &K>) {
        (self.all_hidden, self.flipped.iter())
    }
}

/// The hidden namespaces, nodes and protocols of one view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegendFilter {
    pub namespaces: Toggle<String>,
    pub nodes: Toggle<String>,
    pub protocols: Toggle<Protocol>,
}

impl LegendFilter {
    pub fn toggle_namespace(&mut self, namespace: &str) {
        self.namespaces.toggle(&namespace.to_string());
    }

    pub fn toggle_node(&mut self, node: &str) {
        self.nodes.toggle(&node.to_string());
    }

    pub fn toggle_protocol(&mut self, protocol: Protocol) {
        self.protocols.toggle(&protocol);
    }

    /// Hides every namespace, node and protocol, present or future.
    pub fn hide_all(&mut self) {
        self.namespaces.set_all(true);
        self.nodes.set_all(true);
        self.protocols.set_all(true);
    }

    /// Shows everything again.
    pub fn reset(&mut self) {
        *self = LegendFilter::default();
    }

    pub fn is_default(&self) -> bool {
        self.namespaces.is_default() && self.nodes.is_default() && self.protocols.is_default()
    }

    /// Hidden by namespace or node? Peers without a namespace (external
    /// addresses, nodes) or without a node are not subject to that category.
    pub fn identity_hidden(&self, id: &Identity) -> bool {
        let ns = id.best_namespace();
        (!ns.is_empty() && self.namespaces.is_hidden(ns))
            || (!id.node.is_empty() && self.nodes.is_hidden(id.node.as_str()))
    }

    /// One flag per identity (precomputed once per aggregation).
    pub(crate) fn hidden_identities(&self, ids: &[Identity]) -> Vec<bool> {
        if self.namespaces.is_default() && self.nodes.is_default() {
            return vec![false; ids.len()];
        }
        ids.iter().map(|id| self.identity_hidden(id)).collect()
    }

    /// One flag per protocol code.
    pub(crate) fn hidden_protocols(&self) -> [bool; 256] {
        let mut out = [false; 256];
        for (i, h) in out.iter_mut().enumerate() {
            *h = self.protocols.is_hidden(&Protocol(i as u8));
        }
        out
    }
}

/// One legend line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegendItem {
    pub name: String,
    pub hidden: bool,
}

/// What the data (after the display filter, before hiding) contains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Legend {
    /// Sorted by name.
    pub namespaces: Vec<LegendItem>,
    /// Cluster nodes, sorted by name.
    pub nodes: Vec<LegendItem>,
    /// Sorted by protocol code; `name` is the KFL2 name ("HTTP", "gRPC").
    pub protocols: Vec<(Protocol, LegendItem)>,
}

impl Legend {
    pub(crate) fn build(
        filter: &LegendFilter,
        namespaces: BTreeSet<String>,
        nodes: BTreeSet<String>,
        protocols: BTreeSet<Protocol>,
    ) -> Legend {
        Legend {
            namespaces: namespaces
                .into_iter()
                .map(|n| LegendItem {
                    hidden: filter.namespaces.is_hidden(&n),
                    name: n,
                })
                .collect(),
            nodes: nodes
                .into_iter()
                .map(|n| LegendItem {
                    hidden: filter.nodes.is_hidden(&n),
                    name: n,
                })
                .collect(),
            protocols: protocols
                .into_iter()
                .map(|p| {
                    let name = if p.name() == "unknown" {
                        format!("protocol {}", p.0)
                    } else {
                        p.name().to_string()
                    };
                    (
                        p,
                        LegendItem {
                            name,
                            hidden: filter.protocols.is_hidden(&p),
                        },
                    )
                })
                .collect(),
        }
    }

    /// Present namespaces that are hidden.
    pub fn hidden_namespaces(&self) -> usize {
        self.namespaces.iter().filter(|i| i.hidden).count()
    }

    /// Present nodes that are hidden.
    pub fn hidden_nodes(&self) -> usize {
        self.nodes.iter().filter(|i| i.hidden).count()
    }

    /// Present protocols that are hidden.
    pub fn hidden_protocols(&self) -> usize {
        self.protocols.iter().filter(|(_, i)| i.hidden).count()
    }

    /// Adds the items present per identity flags.
    pub(crate) fn collect_present(
        ids: &[Identity],
        seen: &[bool],
        namespaces: &mut BTreeSet<String>,
        nodes: &mut BTreeSet<String>,
    ) {
        for (id, _) in ids.iter().zip(seen).filter(|(_, s)| **s) {
            let ns = id.best_namespace();
            if !ns.is_empty() && !namespaces.contains(ns) {
                namespaces.insert(ns.to_string());
            }
            if !id.node.is_empty() && !nodes.contains(&id.node) {
                nodes.insert(id.node.clone());
            }
        }
    }
}
