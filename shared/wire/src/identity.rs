//! Who an IP address belongs to, as far as the probe could resolve it.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The kind of a resolved peer. A raw code so newer kinds pass through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IdentityKind(pub u8);

impl IdentityKind {
    /// Not a known workload: an address outside the cluster (or unresolved).
    pub const EXTERNAL: IdentityKind = IdentityKind(0);
    /// A pod of the cluster.
    pub const POD: IdentityKind = IdentityKind(1);
    /// A service's ClusterIP (no pod behind the address itself).
    pub const SERVICE: IdentityKind = IdentityKind(2);
    /// A node's own address (including host-network pods).
    pub const NODE: IdentityKind = IdentityKind(3);

    pub fn name(self) -> &'static str {
        match self {
            Self::EXTERNAL => "external",
            Self::POD => "pod",
            Self::SERVICE => "service",
            Self::NODE => "node",
            _ => "unknown",
        }
    }
}

/// One resolved endpoint. Empty strings mean "not known".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identity {
    pub kind: IdentityKind,
    pub ip: IpAddr,
    /// Pod name, service name, node name; empty for external peers.
    pub name: String,
    /// Namespace of the pod or service; empty for nodes and external peers.
    pub namespace: String,
    /// Node that hosts the pod (or the node itself for kind NODE; for kind
    /// SERVICE, the node all its endpoints run on, empty when they span
    /// several).
    pub node: String,
    /// Service that selects this pod (or the service itself for kind SERVICE).
    pub service: String,
    pub service_namespace: String,
    /// Owner workload name (Deployment, StatefulSet, DaemonSet, Job), or empty.
    pub workload: String,
    /// Owner workload kind ("Deployment", …), or empty.
    pub workload_kind: String,
    /// Kubernetes labels, sorted by key.
    pub labels: Vec<(String, String)>,
    /// Reverse-resolved DNS name of the IP, if any.
    pub dns: String,
}

impl Identity {
    /// An unresolved address.
    pub fn external(ip: IpAddr) -> Self {
        Identity {
            kind: IdentityKind::EXTERNAL,
            ip,
            name: String::new(),
            namespace: String::new(),
            node: String::new(),
            service: String::new(),
            service_namespace: String::new(),
            workload: String::new(),
            workload_kind: String::new(),
            labels: Vec::new(),
            dns: String::new(),
        }
    }

    /// Kubeshark's "best name": pod > service > dns > ip.
    pub fn best_name(&self) -> String {
        if self.kind == IdentityKind::POD && !self.name.is_empty() {
            self.name.clone()
        } else if !self.service.is_empty() {
            self.service.clone()
        } else if !self.name.is_empty() {
            self.name.clone()
        } else if !self.dns.is_empty() {
            self.dns.clone()
        } else {
            self.ip.to_string()
        }
    }

    /// Namespace with the service's as fallback.
    pub fn best_namespace(&self) -> &str {
        if self.namespace.is_empty() {
            &self.service_namespace
        } else {
            &self.namespace
        }
    }

    /// The value of a label, if set.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}
