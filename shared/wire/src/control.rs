//! Control frames: hello, inventory, stats, capture filter, relay notices.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::Identity;

/// First frame a probe sends on a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub node: String,
    pub probe_version: String,
    /// Probe start, µs since the Unix epoch.
    pub epoch: u64,
}

/// A node of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub name: String,
    pub ips: Vec<IpAddr>,
}

/// Pods, services and nodes a probe knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub node: String,
    pub epoch: u64,
    pub nodes: Vec<NodeInfo>,
    /// Pods and services (kind tells which).
    pub identities: Vec<Identity>,
}

/// Named probe counters (cumulative since the epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeStats {
    pub node: String,
    pub epoch: u64,
    pub taken_at_us: i64,
    /// e.g. ("packets", n), ("kernel_drops", n), ("malformed.tcp", n).
    pub counters: Vec<(String, u64)>,
}

impl ProbeStats {
    pub fn get(&self, name: &str) -> Option<u64> {
        self.counters
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
    }
}

/// The cluster-wide capture filter ("pod targeting"): which pods' traffic
/// probes dissect. Never affects L4 accounting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureFilter {
    /// Unanchored regex on pod names; empty matches every pod.
    pub pod_regex: String,
    /// Namespaces to include; empty means all.
    pub namespaces: Vec<String>,
    /// Namespaces to exclude.
    pub exclude_namespaces: Vec<String>,
    /// Set by the relay; increases with every accepted change.
    pub revision: u64,
}

/// Relay → viewer notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RelayNotice {
    /// Frames dropped for this viewer because it did not keep up
    /// (cumulative for the connection).
    Dropped { l7_batches: u64, bytes: u64 },
    /// A probe connected.
    ProbeConnected { node: String, epoch: u64 },
    /// A probe's connection ended.
    ProbeDisconnected { node: String },
    /// Snapshot of the relay's state, sent on connect and periodically.
    Status {
        probes: Vec<String>,
        viewers: u32,
        relay_version: String,
    },
    /// A request from this viewer was refused (e.g. a bad capture filter).
    Rejected { reason: String },
}
