//! The two data frames: workload-level L4 counters and batches of L7 entries.

use serde::{Deserialize, Serialize};

use crate::{Entry, Identity};

/// Cumulative L4 counters for one (client workload, server workload, server
/// port, L4 protocol) since the probe's epoch. Rates are differences between
/// snapshots, so a lost snapshot loses nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L4Counter {
    /// Index into the snapshot's identity table.
    pub client: u32,
    /// Index into the snapshot's identity table.
    pub server: u32,
    pub server_port: u16,
    /// IP protocol number: 6 TCP, 17 UDP.
    pub ip_proto: u8,
    /// IP bytes (header + payload) client → server.
    pub bytes_to_server: u64,
    pub bytes_to_client: u64,
    pub packets_to_server: u64,
    pub packets_to_client: u64,
    /// Flows ever seen for this key.
    pub flows: u64,
    /// Flows open at snapshot time.
    pub open_flows: u32,
}

/// All L4 counters one probe reports, cumulative since `epoch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L4Snapshot {
    pub node: String,
    /// Probe start, µs since the Unix epoch; a new value means a restart.
    pub epoch: u64,
    /// Increases by one per snapshot within an epoch.
    pub seq: u64,
    /// When the snapshot was taken (packet time offline), µs since Unix epoch.
    pub taken_at_us: i64,
    pub identities: Vec<Identity>,
    pub counters: Vec<L4Counter>,
}

/// Many L7 entries; their peers index `identities`, so an endpoint that
/// appears in many entries is sent once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct L7Batch {
    pub node: String,
    pub epoch: u64,
    pub seq: u64,
    pub identities: Vec<Identity>,
    pub entries: Vec<Entry>,
}

impl L7Batch {
    /// The identity an index points to, if the index is in range.
    pub fn identity(&self, index: u32) -> Option<&Identity> {
        self.identities.get(usize::try_from(index).ok()?)
    }
}
