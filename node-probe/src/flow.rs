//! The L4 flow table: one record per 5-tuple with IP bytes and packets in
//! each direction, first/last seen, TCP state and which side is the client.
//!
//! Sans-IO: packets and `now` come in as arguments, ended flows go out into a
//! caller's `Vec`. Bounded by [`FlowConfig::max_flows`]; going over it evicts
//! the stalest of a few sampled flows and counts the eviction.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use foldhash::fast::RandomState;
use wiremap_dissect::Endpoint;

use crate::decode::{tcp_flags, Packet, Transport};

/// Timeouts and caps of the flow table. Times in µs of packet time.
#[derive(Debug, Clone, Copy)]
pub struct FlowConfig {
    /// A TCP flow with no packet for this long ends.
    pub tcp_idle_us: i64,
    /// A TCP flow closed by FIN in both directions or by RST ends after this
    /// much quiet (late retransmissions still count to it).
    pub tcp_closed_us: i64,
    /// A UDP flow with no packet for this long ends.
    pub udp_idle_us: i64,
    /// Most flows tracked at once.
    pub max_flows: usize,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            tcp_idle_us: 300_000_000,
            tcp_closed_us: 10_000_000,
            udp_idle_us: 60_000_000,
            max_flows: 262_144,
        }
    }
}

/// Which way a packet went relative to the flow's client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToServer,
    ToClient,
}

/// TCP flags seen over a flow's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpState {
    pub syn: bool,
    pub syn_ack: bool,
    pub fin_from_client: bool,
    pub fin_from_server: bool,
    pub rst: bool,
}

impl TcpState {
    /// Closed: FIN both ways, or RST.
    pub fn closed(&self) -> bool {
        self.rst || (self.fin_from_client && self.fin_from_server)
    }
}

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Idle,
    Closed,
    /// A new connection reused the 5-tuple after this one closed.
    Reused,
    Evicted,
    /// End of input.
    Drained,
}

/// One flow. `report`, `dissect` and `slot` belong to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// Unique within the table's life.
    pub id: u64,
    /// 6 TCP, 17 UDP.
    pub ip_proto: u8,
    pub client: Endpoint,
    pub server: Endpoint,
    pub first_us: i64,
    pub last_us: i64,
    pub bytes_to_server: u64,
    pub bytes_to_client: u64,
    pub packets_to_server: u64,
    pub packets_to_client: u64,
    pub tcp: TcpState,
    /// Whether this probe reports the flow (the one-probe-reports rule).
    pub report: bool,
    /// Capture filter revision and verdict cached by the caller.
    pub dissect: Option<(u64, bool)>,
    /// The caller's aggregate slot.
    pub slot: Option<u32>,
    pub end: Option<EndReason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FlowKey {
    lo: (IpAddr, u16),
    hi: (IpAddr, u16),
    proto: u8,
}

/// Hashed as a few integers instead of field by field (the derived form
/// writes each address's variant, length and bytes separately, once per
/// packet). Equal keys hash equally, which is all `Eq` asks.
impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match (self.lo.0, self.hi.0) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                state.write_u64(u64::from(a.to_bits()) << 32 | u64::from(b.to_bits()));
                state.write_u64(
                    u64::from(self.lo.1) << 32 | u64::from(self.hi.1) << 16 | u64::from(self.proto),
                );
            }
            (a, b) => {
                let bits = |ip: IpAddr| match ip {
                    IpAddr::V4(v) => u128::from(v.to_bits()),
                    IpAddr::V6(v) => v.to_bits(),
                };
                state.write_u128(bits(a));
                state.write_u128(bits(b));
                state.write_u64(
                    u64::from(self.lo.1) << 32 | u64::from(self.hi.1) << 16 | u64::from(self.proto),
                );
            }
        }
    }
}

impl FlowKey {
    fn of(p: &Packet<'_>) -> Self {
        let a = (p.src, p.src_port);
        let b = (p.dst, p.dst_port);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        FlowKey {
            lo,
            hi,
            proto: p.ip_proto,
        }
    }
}

/// Counters of the table's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    pub created: u64,
    pub ended: u64,
    pub evicted: u64,
}

/// Flows keyed by 5-tuple.
#[derive(Debug)]
pub struct FlowTable {
    cfg: FlowConfig,
    flows: HashMap<FlowKey, Flow, RandomState>,
    next_id: u64,
    last_forced_sweep_us: i64,
    pub stats: FlowStats,
}

/// Ports below this are taken to be servers when picking up mid-stream.
const PRIVILEGED_PORTS: u16 = 1024;
/// Linux's default ephemeral range starts here.
const EPHEMERAL_PORTS: u16 = 32768;
/// Flows the table has room for before it first grows.
const INITIAL_FLOWS: usize = 1024;
/// Flows sampled to pick an eviction victim when the table is full.
const EVICTION_SAMPLE: usize = 8;
/// At most one full sweep per this much packet time when the table is full.
const FORCED_SWEEP_EVERY_US: i64 = 100_000;

/// Whether the first packet's sender is the client: from the TCP handshake;
/// mid-stream, from the caller's knowledge of the ends (`hint`: a service
/// address is a server), else from the ports (lower / well-known port =
/// server).
fn sender_is_client(p: &Packet<'_>, hint: impl FnOnce(&Packet<'_>) -> Option<bool>) -> bool {
    if let Transport::Tcp { flags, .. } = p.transport {
        if flags & tcp_flags::SYN != 0 {
            return flags & tcp_flags::ACK == 0;
        }
    }
    if let Some(known) = hint(p) {
        return known;
    }
    let (s, d) = (p.src_port, p.dst_port);
    if s < PRIVILEGED_PORTS && d >= PRIVILEGED_PORTS {
        return false;
    }
    if d < PRIVILEGED_PORTS && s >= PRIVILEGED_PORTS {
        return true;
    }
    if s >= EPHEMERAL_PORTS && d < EPHEMERAL_PORTS {
        return true;
    }
    if d >= EPHEMERAL_PORTS && s < EPHEMERAL_PORTS {
        return false;
    }
    true
}

impl FlowTable {
    pub fn new(cfg: FlowConfig) -> Self {
        FlowTable {
            cfg,
            // Grown as needed: a table sized for the cap up front (tens of
            // MB) made every lookup a cache miss and every expiry sweep and
            // snapshot walk all of its buckets.
            flows: HashMap::with_capacity_and_hasher(
                cfg.max_flows.min(INITIAL_FLOWS),
                RandomState::default(),
            ),
            next_id: 1,
            last_forced_sweep_us: i64::MIN,
            stats: FlowStats::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Iterates the open flows.
    pub fn iter(&self) -> impl Iterator<Item = &Flow> {
        self.flows.values()
    }

    /// Iterates the open flows mutably (the caller's fields may change).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Flow> {
        self.flows.values_mut()
    }

    /// Accounts one packet. Returns its flow, the direction, and whether the
    /// flow is new. Flows ended by it (reuse, eviction) go to `ended`.
    pub fn observe(
        &mut self,
        ts_us: i64,
        p: &Packet<'_>,
        ended: &mut Vec<Flow>,
    ) -> (&mut Flow, Direction, bool) {
        self.observe_with(ts_us, p, ended, |_| None)
    }

    /// [`observe`](Self::observe) with the caller's say on which end is the
    /// client when a flow is picked up without its handshake: `hint` is
    /// asked only then, and answers whether the packet's sender is the
    /// client (`None`: don't know, the ports decide).
    pub fn observe_with(
        &mut self,
        ts_us: i64,
        p: &Packet<'_>,
        ended: &mut Vec<Flow>,
        hint: impl FnOnce(&Packet<'_>) -> Option<bool>,
    ) -> (&mut Flow, Direction, bool) {
        let key = FlowKey::of(p);
        let flags = match p.transport {
            Transport::Tcp { flags, .. } => flags,
            Transport::Udp { .. } => 0,
        };
        let fresh_syn = flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN;
        if fresh_syn {
            if let Some(old) = self.flows.get(&key) {
                if old.tcp.closed() {
                    if let Some(mut old) = self.flows.remove(&key) {
                        old.end = Some(EndReason::Reused);
                        self.stats.ended += 1;
                        ended.push(old);
                    }
                }
            }
        }
        // Only a full table needs the extra lookup.
        if self.flows.len() >= self.cfg.max_flows && !self.flows.contains_key(&key) {
            self.make_room(ts_us, ended);
        }
        let mut is_new = false;
        let next_id = &mut self.next_id;
        let stats = &mut self.stats;
        let flow = self.flows.entry(key).or_insert_with(|| {
            is_new = true;
            stats.created += 1;
            let id = *next_id;
            *next_id += 1;
            let src = Endpoint {
                ip: p.src,
                port: p.src_port,
            };
            let dst = Endpoint {
                ip: p.dst,
                port: p.dst_port,
            };
            let (client, server) = if sender_is_client(p, hint) {
                (src, dst)
            } else {
                (dst, src)
            };
            Flow {
                id,
                ip_proto: p.ip_proto,
                client,
                server,
                first_us: ts_us,
                last_us: ts_us,
                bytes_to_server: 0,
                bytes_to_client: 0,
                packets_to_server: 0,
                packets_to_client: 0,
                tcp: TcpState::default(),
                report: true,
                dissect: None,
                slot: None,
                end: None,
            }
        });
        let dir = if flow.client.ip == p.src && flow.client.port == p.src_port {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        flow.last_us = flow.last_us.max(ts_us);
        match dir {
            Direction::ToServer => {
                flow.bytes_to_server += u64::from(p.ip_bytes);
                flow.packets_to_server += 1;
            }
            Direction::ToClient => {
                flow.bytes_to_client += u64::from(p.ip_bytes);
                flow.packets_to_client += 1;
            }
        }
        if flags != 0 {
            let t = &mut flow.tcp;
            if flags & tcp_flags::SYN != 0 {
                if flags & tcp_flags::ACK != 0 {
                    t.syn_ack = true;
                } else {
                    t.syn = true;
                }
            }
            if flags & tcp_flags::FIN != 0 {
                match dir {
                    Direction::ToServer => t.fin_from_client = true,
                    Direction::ToClient => t.fin_from_server = true,
                }
            }
            if flags & tcp_flags::RST != 0 {
                t.rst = true;
            }
        }
        (flow, dir, is_new)
    }

    fn timeout_of(&self, f: &Flow) -> i64 {
        if f.ip_proto == 6 {
            if f.tcp.closed() {
                self.cfg.tcp_closed_us
            } else {
                self.cfg.tcp_idle_us
            }
        } else {
            self.cfg.udp_idle_us
        }
    }

    fn make_room(&mut self, now_us: i64, ended: &mut Vec<Flow>) {
        if now_us.saturating_sub(self.last_forced_sweep_us) >= FORCED_SWEEP_EVERY_US {
            self.last_forced_sweep_us = now_us;
            self.expire(now_us, ended);
        }
        if self.flows.len() < self.cfg.max_flows {
            return;
        }
        let victim = self
            .flows
            .iter()
            .take(EVICTION_SAMPLE)
            .min_by_key(|(_, f)| f.last_us)
            .map(|(k, _)| *k);
        if let Some(k) = victim {
            if let Some(mut f) = self.flows.remove(&k) {
                f.end = Some(EndReason::Evicted);
                self.stats.evicted += 1;
                self.stats.ended += 1;
                ended.push(f);
            }
        }
    }

    /// Ends every flow idle past its timeout at `now_us`.
    pub fn expire(&mut self, now_us: i64, ended: &mut Vec<Flow>) {
        let before = ended.len();
        let cfg = self.cfg;
        self.flows.retain(|_, f| {
            let timeout = if f.ip_proto == 6 {
                if f.tcp.closed() {
                    cfg.tcp_closed_us
                } else {
                    cfg.tcp_idle_us
                }
            } else {
                cfg.udp_idle_us
            };
            if now_us.saturating_sub(f.last_us) >= timeout {
                let mut f = f.clone();
                f.end = Some(if f.tcp.closed() {
                    EndReason::Closed
                } else {
                    EndReason::Idle
                });
                ended.push(f);
                false
            } else {
                true
            }
        });
        self.stats.ended += (ended.len() - before) as u64;
    }

    /// The timeout that applies to `f` now.
    pub fn timeout(&self, f: &Flow) -> i64 {
        self.timeout_of(f)
    }

    /// Ends every flow (end of input), oldest first.
    pub fn drain(&mut self, ended: &mut Vec<Flow>) {
        let mut all: Vec<Flow> = self
            .flows
            .drain()
            .map(|(_, mut f)| {
                f.end = Some(EndReason::Drained);
                f
            })
            .collect();
        all.sort_by_key(|f| (f.first_us, f.id));
        self.stats.ended += all.len() as u64;
        ended.extend(all);
    }
}
