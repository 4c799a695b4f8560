//! Cumulative L4 counters per (client IP, server IP, server port, protocol)
//! since the probe's epoch, folded into workload-level [`L4Snapshot`]s.
//!
//! Rows are keyed by address so a packet costs one indexed add (the flow
//! remembers its row); identities are resolved only when a snapshot is
//! taken, where rows of the same workloads merge.

use std::collections::HashMap;
use std::net::IpAddr;

use foldhash::fast::RandomState;
use wiremap_wire::{Identity, L4Counter, L4Snapshot};

use crate::flow::{Direction, Flow};
use crate::identity::IdentityMap;

/// Most (client, server, port, protocol) rows kept.
pub const MAX_L4_ROWS: usize = 131_072;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct RowKey {
    client: IpAddr,
    server: IpAddr,
    server_port: u16,
    ip_proto: u8,
}

#[derive(Debug, Clone, Default)]
struct Row {
    bytes: [u64; 2],
    packets: [u64; 2],
    flows: u64,
}

/// The probe's cumulative L4 counters.
#[derive(Debug, Default)]
pub struct L4Totals {
    index: HashMap<RowKey, u32, RandomState>,
    keys: Vec<RowKey>,
    rows: Vec<Row>,
    /// Flows not counted because the row cap was reached.
    pub overflow: u64,
}

impl L4Totals {
    pub fn new() -> Self {
        Self::default()
    }

    /// The row of a new flow (counting it), or `None` when the cap is hit.
    pub fn slot_for(&mut self, f: &Flow) -> Option<u32> {
        let key = RowKey {
            client: f.client.ip,
            server: f.server.ip,
            server_port: f.server.port,
            ip_proto: f.ip_proto,
        };
        let slot = match self.index.get(&key) {
            Some(s) => *s,
            None => {
                if self.rows.len() >= MAX_L4_ROWS {
                    self.overflow += 1;
                    return None;
                }
                let s = self.rows.len() as u32;
                self.index.insert(key, s);
                self.keys.push(key);
                self.rows.push(Row::default());
                s
            }
        };
        self.rows[slot as usize].flows += 1;
        Some(slot)
    }

    /// Adds one packet to a row.
    #[inline]
    pub fn add(&mut self, slot: u32, dir: Direction, ip_bytes: u32) {
        if let Some(r) = self.rows.get_mut(slot as usize) {
            let i = match dir {
                Direction::ToServer => 0,
                Direction::ToClient => 1,
            };
            r.bytes[i] += u64::from(ip_bytes);
            r.packets[i] += 1;
        }
    }

    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// The workload-level snapshot. `open` yields the slots of open flows.
    pub fn snapshot(
        &self,
        node: &str,
        epoch: u64,
        seq: u64,
        taken_at_us: i64,
        ids: &IdentityMap,
        open: impl Iterator<Item = u32>,
    ) -> L4Snapshot {
        let mut open_by_slot: HashMap<u32, u32, RandomState> = HashMap::default();
        for s in open {
            *open_by_slot.entry(s).or_default() += 1;
        }
        let mut table: Vec<Identity> = Vec::new();
        let mut table_index: HashMap<Identity, u32, RandomState> = HashMap::default();
        // Interned by address first: an address resolves to the same
        // identity throughout, so each is resolved and hashed as a whole
        // identity once (rows share their ends).
        let mut by_ip: HashMap<IpAddr, u32, RandomState> = HashMap::default();
        let mut intern = |ip: IpAddr| -> u32 {
            if let Some(i) = by_ip.get(&ip) {
                return *i;
            }
            let id = ids.resolve(ip);
            let i = match table_index.get(&id) {
                Some(i) => *i,
                None => {
                    let i = table.len() as u32;
                    table_index.insert(id.clone(), i);
                    table.push(id);
                    i
                }
            };
            by_ip.insert(ip, i);
            i
        };
        let mut merged: HashMap<(u32, u32, u16, u8), L4Counter, RandomState> = HashMap::default();
        for (slot, (key, row)) in self.keys.iter().zip(&self.rows).enumerate() {
            let c = intern(key.client);
            let s = intern(key.server);
            let e = merged
                .entry((c, s, key.server_port, key.ip_proto))
                .or_insert_with(|| L4Counter {
                    client: c,
                    server: s,
                    server_port: key.server_port,
                    ip_proto: key.ip_proto,
                    bytes_to_server: 0,
                    bytes_to_client: 0,
                    packets_to_server: 0,
                    packets_to_client: 0,
                    flows: 0,
                    open_flows: 0,
                });
            e.bytes_to_server += row.bytes[0];
            e.bytes_to_client += row.bytes[1];
            e.packets_to_server += row.packets[0];
            e.packets_to_client += row.packets[1];
            e.flows += row.flows;
            e.open_flows += open_by_slot.get(&(slot as u32)).copied().unwrap_or(0);
        }
        let mut counters: Vec<L4Counter> = merged.into_values().collect();
        counters.sort_by_key(|c| (c.client, c.server, c.server_port, c.ip_proto));
        L4Snapshot {
            node: node.to_string(),
            epoch,
            seq,
            taken_at_us,
            identities: table,
            counters,
        }
    }
}
