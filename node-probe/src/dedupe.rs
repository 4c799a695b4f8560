//! Drops the second copy of a packet seen twice within a short window: the
//! same packet captured on a pod's veth and on the bridge, or both copies
//! AF_PACKET shows on `lo`. The fingerprint leaves out what forwarding
//! changes (TTL, IP checksum, link header) and keeps what a retransmission
//! changes (IPv4 identification, the TCP/UDP checksum over header and data).

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};

use foldhash::fast::{FixedState, RandomState};

use crate::decode::{Packet, Transport};

/// Most fingerprints remembered at once.
pub const MAX_DEDUPE_ENTRIES: usize = 65_536;

/// The duplicate filter. A window of 0 disables it.
#[derive(Debug)]
pub struct Dedupe {
    window_us: i64,
    seen: HashMap<u64, i64, RandomState>,
    order: VecDeque<(i64, u64)>,
    hasher: FixedState,
    /// Packets dropped as duplicates.
    pub duplicates: u64,
    /// Fingerprints forgotten early because the cap was reached.
    pub overflow: u64,
}

impl Dedupe {
    pub fn new(window_us: i64) -> Self {
        Dedupe {
            window_us,
            seen: HashMap::default(),
            order: VecDeque::new(),
            hasher: FixedState::with_seed(0x5eed),
            duplicates: 0,
            overflow: 0,
        }
    }

    fn fingerprint(&self, p: &Packet<'_>) -> u64 {
        let mut h = self.hasher.build_hasher();
        (p.src, p.dst, p.src_port, p.dst_port, p.ip_proto).hash(&mut h);
        (p.ip_bytes, p.ip_id, p.l4_checksum).hash(&mut h);
        match p.transport {
            Transport::Tcp {
                seq,
                ack,
                flags,
                payload,
            } => (seq, ack, flags, payload.len()).hash(&mut h),
            Transport::Udp { payload } => payload.len().hash(&mut h),
        }
        h.finish()
    }

    /// Whether `p` at `ts_us` is a copy of a packet seen within the window.
    pub fn is_duplicate(&mut self, ts_us: i64, p: &Packet<'_>) -> bool {
        if self.window_us <= 0 {
            return false;
        }
        while let Some(&(t, fp)) = self.order.front() {
            let expired = ts_us.saturating_sub(t) > self.window_us;
            let full = self.order.len() >= MAX_DEDUPE_ENTRIES;
            if !expired && !full {
                break;
            }
            if !expired {
                self.overflow += 1;
            }
            self.order.pop_front();
            if self.seen.get(&fp) == Some(&t) {
                self.seen.remove(&fp);
            }
        }
        let fp = self.fingerprint(p);
        if let Some(&t) = self.seen.get(&fp) {
            if ts_us.saturating_sub(t).abs() <= self.window_us {
                self.duplicates += 1;
                return true;
            }
        }
        self.seen.insert(fp, ts_us);
        self.order.push_back((ts_us, fp));
        false
    }
}
