//! The topology file: nodes, pods and services as YAML, for running without
//! a Kubernetes API (the lab, tests, offline captures).
//!
//! ```yaml
//! nodes:
//!   - name: node-a
//!     ips: ["10.0.0.1"]
//! pods:
//!   - name: web-0
//!     namespace: shop
//!     ip: "10.244.0.5"          # or ips: [...]
//!     node: node-a
//!     labels: {app: web}
//!     owner: {kind: Deployment, name: web}
//!     host_network: false
//! services:
//!   - name: web
//!     namespace: shop
//!     ip: "10.96.0.80"          # or ips: [...]
//!     selector: {app: web}
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Deserialize;
use wiremap_wire::{Identity, IdentityKind, NodeInfo};

use crate::error::ProbeError;
use crate::identity::IdentityMap;

/// Largest topology file accepted, in bytes.
pub const MAX_TOPOLOGY_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    #[serde(default)]
    pub nodes: Vec<NodeSpec>,
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub pods: Vec<PodSpec>,
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub name: String,
    #[serde(default)]
    pub ip: Option<IpAddr>,
    #[serde(default)]
    pub ips: Vec<IpAddr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodSpec {
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub ip: Option<IpAddr>,
    #[serde(default)]
    pub ips: Vec<IpAddr>,
    #[serde(default)]
    pub node: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub owner: Option<Owner>,
    #[serde(default)]
    pub host_network: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub ip: Option<IpAddr>,
    #[serde(default)]
    pub ips: Vec<IpAddr>,
    #[serde(default)]
    pub selector: BTreeMap<String, String>,
}

fn all_ips(one: Option<IpAddr>, many: &[IpAddr]) -> Vec<IpAddr> {
    one.into_iter().chain(many.iter().copied()).collect()
}

/// The workload that owns a pod: a ReplicaSet's Deployment is its name
/// without the pod-template hash suffix.
pub fn owner_workload(kind: &str, name: &str) -> (String, String) {
    if kind == "ReplicaSet" {
        if let Some((base, hash)) = name.rsplit_once('-') {
            if !base.is_empty()
                && !hash.is_empty()
                && hash.chars().all(|c| c.is_ascii_alphanumeric())
            {
                return ("Deployment".into(), base.into());
            }
        }
    }
    (kind.into(), name.into())
}

fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

impl Topology {
    pub fn parse(text: &str) -> Result<Self, ProbeError> {
        if text.len() > MAX_TOPOLOGY_BYTES {
            return Err(ProbeError::Topology(format!(
                "{} bytes exceeds the limit of {MAX_TOPOLOGY_BYTES}",
                text.len()
            )));
        }
        if text.trim().is_empty() {
            return Ok(Topology::default());
        }
        serde_norway::from_str(text).map_err(|e| ProbeError::Topology(e.to_string()))
    }

    /// The identity map this topology describes.
    pub fn identities(&self) -> IdentityMap {
        let mut map = IdentityMap::new();
        for n in &self.nodes {
            let ips = all_ips(n.ip, &n.ips);
            for ip in &ips {
                let mut id = Identity::external(*ip);
                id.kind = IdentityKind::NODE;
                id.name = n.name.clone();
                id.node = n.name.clone();
                map.insert(id);
            }
            map.add_node(NodeInfo {
                name: n.name.clone(),
                ips,
            });
        }
        let mut services: Vec<&ServiceSpec> = self.services.iter().collect();
        services.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        for p in &self.pods {
            if p.host_network {
                // Host-network pods share their node's addresses.
                continue;
            }
            let svc = services
                .iter()
                .find(|s| s.namespace == p.namespace && selects(&s.selector, &p.labels));
            let (workload_kind, workload) = p
                .owner
                .as_ref()
                .map(|o| owner_workload(&o.kind, &o.name))
                .unwrap_or_default();
            for ip in all_ips(p.ip, &p.ips) {
                map.insert(Identity {
                    kind: IdentityKind::POD,
                    ip,
                    name: p.name.clone(),
                    namespace: p.namespace.clone(),
                    node: p.node.clone(),
                    service: svc.map(|s| s.name.clone()).unwrap_or_default(),
                    service_namespace: svc.map(|s| s.namespace.clone()).unwrap_or_default(),
                    workload: workload.clone(),
                    workload_kind: workload_kind.clone(),
                    labels: p
                        .labels
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    dns: String::new(),
                });
            }
        }
        for s in &self.services {
            // The one node all the pods it selects run on, if they share one.
            let nodes: BTreeSet<&str> = self
                .pods
                .iter()
                .filter(|p| p.namespace == s.namespace && selects(&s.selector, &p.labels))
                .map(|p| p.node.as_str())
                .collect();
            let node = match nodes.len() {
                1 => nodes.into_iter().next().unwrap_or_default().to_string(),
                _ => String::new(),
            };
            for ip in all_ips(s.ip, &s.ips) {
                let mut id = Identity::external(ip);
                id.kind = IdentityKind::SERVICE;
                id.node = node.clone();
                id.name = s.name.clone();
                id.namespace = s.namespace.clone();
                id.service = s.name.clone();
                id.service_namespace = s.namespace.clone();
                map.insert(id);
            }
        }
        map
    }
}
