//! Sans-IO L7 dissection for the node probe: TCP reassembly per direction,
//! protocol detection by content, and dissectors that pair requests with
//! responses into [`wiremap_wire::Entry`] values (HTTP/1.x, HTTP/2, gRPC,
//! DNS over UDP and TCP, Redis, Kafka).
//!
//! It takes decoded transport segments (addresses, ports, TCP sequence
//! numbers and flags, payload bytes, a packet timestamp) and returns entries;
//! it never touches sockets, clocks or Kubernetes. Identity resolution is the
//! caller's job: entries come out with `Peer::identity == UNRESOLVED`.
//! Every buffer and table is bounded by a [`Config`] cap; going over one is
//! counted and the connection is given up, never a panic.
//!
//! Key decision: the client (`src` of an entry) is whoever sent the request
//! as the protocol parser sees it, not whoever sent the first packet.
#![forbid(unsafe_code)]

mod config;
mod counters;
mod detect;
mod dns;
mod dns_session;
mod endpoint;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod hpack;
mod http1;
mod http2;
mod http_fields;
mod huffman;
mod kafka;
mod reassembly;
mod redis;
mod scan;
mod session;
mod txn;

use std::collections::hash_map::Entry as MapEntry;
use std::collections::HashMap;

/// Hasher of the per-packet maps: foldhash, seeded per process (SipHash
/// showed up in profiles of the packet path).
type FastState = foldhash::fast::RandomState;

use wiremap_wire::{Entry, Peer};

pub use config::Config;
pub use endpoint::{Endpoint, TcpFlags};
pub use error::DissectError;

use counters::{Counter, Counters};
use dns_session::{DnsUdp, UdpTxn};
use reassembly::{Reassembler, StreamEvent};
use session::Session;
use txn::{Cx, Side, Txn};

/// `Peer::identity` of entries this crate produces; the probe fills it in.
pub const UNRESOLVED: u32 = u32::MAX;

/// One TCP connection being followed.
#[derive(Debug)]
struct Conn {
    id: u64,
    /// `ends[0]` opened the connection (or was seen first).
    ends: [Endpoint; 2],
    streams: [Reassembler; 2],
    fin: [bool; 2],
    session: Session,
    last_ts: i64,
}

type ConnKey = (Endpoint, Endpoint);

fn key(a: Endpoint, b: Endpoint) -> ConnKey {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// The dissection engine of one probe (all connections).
#[derive(Debug, Default)]
pub struct Dissector {
    config: Config,
    counters: Counters,
    conns: HashMap<ConnKey, Conn, FastState>,
    dns_udp: DnsUdp,
    udp_flows: HashMap<ConnKey, (u64, i64), FastState>,
    next_conn_id: u64,
    next_entry_id: u64,
    txns: Vec<Txn>,
    udp_txns: Vec<UdpTxn>,
    /// What the reassembler handed over for the current segment (bytes
    /// when they are not the segment's own, time, gap length); kept to
    /// reuse its allocation from segment to segment.
    stream_events: Vec<(Option<Vec<u8>>, i64, u64)>,
}

impl Dissector {
    pub fn new() -> Self {
        Self::default()
    }

    /// An engine with the given caps and redaction.
    pub fn with_config(config: Config) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// Feeds one TCP segment. Entries completed by it are pushed to `out`.
    #[allow(clippy::too_many_arguments)]
    pub fn on_tcp(
        &mut self,
        ts_us: i64,
        src: Endpoint,
        dst: Endpoint,
        seq: u32,
        flags: TcpFlags,
        payload: &[u8],
        out: &mut Vec<Entry>,
    ) {
        self.counters.bump(Counter::tcp_segments);
        let k = key(src, dst);
        // A new SYN on a finished connection (port reuse) starts afresh.
        let reuse =
            flags.syn && !flags.ack && self.conns.get(&k).is_some_and(|c| c.fin[0] || c.fin[1]);
        if reuse {
            self.close(&k, out);
        }
        // One lookup per segment: the entry either holds the connection or
        // is where a new one goes.
        let open = self.conns.len();
        let conn = match self.conns.entry(k) {
            MapEntry::Occupied(o) => o.into_mut(),
            MapEntry::Vacant(v) => {
                if flags.rst || (payload.is_empty() && !flags.syn) {
                    return;
                }
                if open >= self.config.max_connections {
                    self.counters.bump(Counter::connections_over_cap);
                    return;
                }
                self.counters.bump(Counter::connections);
                self.next_conn_id += 1;
                // A SYN-ACK seen first: the receiver opened the connection.
                let ends = if flags.syn && flags.ack {
                    [dst, src]
                } else {
                    [src, dst]
                };
                v.insert(Conn {
                    id: self.next_conn_id,
                    ends,
                    streams: Default::default(),
                    fin: [false; 2],
                    session: Session::default(),
                    last_ts: ts_us,
                })
            }
        };
        conn.last_ts = conn.last_ts.max(ts_us);
        let side: Side = if src == conn.ends[0] { 0 } else { 1 };
        let s = usize::from(side);
        let ports = [conn.ends[0].port, conn.ends[1].port];
        let mut cx = Cx {
            out: &mut self.txns,
            counters: &mut self.counters,
            config: &self.config,
        };
        if flags.syn {
            conn.streams[s].on_syn(seq);
        }
        let data_seq = if flags.syn { seq.wrapping_add(1) } else { seq };
        if !payload.is_empty() {
            let Conn {
                streams, session, ..
            } = conn;
            let (stream, counters, config) = (&mut streams[s], &mut *cx.counters, cx.config);
            let evs = &mut self.stream_events;
            evs.clear();
            let mut fast = true;
            stream.push(
                data_seq,
                ts_us,
                payload,
                config,
                counters,
                &mut |ev| match ev {
                    StreamEvent::Data(d, t) => {
                        if fast && d.len() == payload.len() && evs.is_empty() {
                            evs.push((None, t, 0));
                        } else {
                            fast = false;
                            evs.push((Some(d.to_vec()), t, 0));
                        }
                    }
                    StreamEvent::Gap(n) => {
                        fast = false;
                        evs.push((None, 0, n.max(1)));
                    }
                },
            );
            for (data, t, gap) in evs.drain(..) {
                if gap > 0 {
                    session.on_gap(side, gap, &mut cx);
                } else {
                    let bytes = data.as_deref().unwrap_or(payload);
                    session.on_data(side, t, bytes, ports, &mut cx);
                }
            }
        }
        if flags.fin && !conn.fin[s] {
            conn.fin[s] = true;
            if conn.streams[s].pending_bytes() > 0 {
                Self::flush_stream(conn, side, ports, &mut cx);
            }
            conn.session.on_fin(side, &mut cx);
        }
        let done = flags.rst || (conn.fin[0] && conn.fin[1]);
        let (id, ends) = (conn.id, conn.ends);
        if flags.rst {
            self.counters.bump(Counter::rst);
        }
        if done {
            self.close(&k, out);
        } else if !self.txns.is_empty() {
            self.convert(id, ends, false, out);
        }
    }

    fn flush_stream(conn: &mut Conn, side: Side, ports: [u16; 2], cx: &mut Cx<'_>) {
        let Conn {
            streams, session, ..
        } = conn;
        let mut evs: Vec<(Vec<u8>, i64, u64)> = Vec::new();
        streams[usize::from(side)].flush(cx.counters, &mut |ev| match ev {
            StreamEvent::Data(d, t) => evs.push((d.to_vec(), t, 0)),
            StreamEvent::Gap(n) => evs.push((Vec::new(), 0, n.max(1))),
        });
        for (data, t, gap) in evs {
            if gap > 0 {
                session.on_gap(side, gap, cx);
            } else {
                session.on_data(side, t, &data, ports, cx);
            }
        }
    }

    /// Ends one connection: held bytes are delivered, pending requests
    /// become entries.
    fn close(&mut self, k: &ConnKey, out: &mut Vec<Entry>) {
        let Some(mut conn) = self.conns.remove(k) else {
            return;
        };
        let ports = [conn.ends[0].port, conn.ends[1].port];
        let mut cx = Cx {
            out: &mut self.txns,
            counters: &mut self.counters,
            config: &self.config,
        };
        for side in 0..2u8 {
            if conn.streams[usize::from(side)].pending_bytes() > 0 {
                Self::flush_stream(&mut conn, side, ports, &mut cx);
            }
        }
        for side in 0..2u8 {
            conn.session.on_fin(side, &mut cx);
        }
        conn.session.finish(&mut cx);
        self.convert(conn.id, conn.ends, false, out);
    }

    fn drain_txns(&mut self, k: &ConnKey, out: &mut Vec<Entry>) {
        if self.txns.is_empty() {
            return;
        }
        if let Some(c) = self.conns.get(k) {
            let (id, ends) = (c.id, c.ends);
            self.convert(id, ends, false, out);
        }
    }

    fn convert(&mut self, conn_id: u64, ends: [Endpoint; 2], udp: bool, out: &mut Vec<Entry>) {
        for t in self.txns.drain(..) {
            self.next_entry_id += 1;
            out.push(to_entry(self.next_entry_id, conn_id, ends, udp, t));
        }
    }

    /// Feeds one UDP datagram.
    pub fn on_udp(
        &mut self,
        ts_us: i64,
        src: Endpoint,
        dst: Endpoint,
        payload: &[u8],
        out: &mut Vec<Entry>,
    ) {
        self.counters.bump(Counter::udp_datagrams);
        let mut cx = Cx {
            out: &mut self.txns,
            counters: &mut self.counters,
            config: &self.config,
        };
        if !self
            .dns_udp
            .on_datagram(ts_us, src, dst, payload, &mut cx, &mut self.udp_txns)
        {
            if src.port == 53 || dst.port == 53 {
                self.counters.bump(Counter::dns_unparsed);
            }
            return;
        }
        self.convert_udp(out);
    }

    fn udp_flow_id(&mut self, client: Endpoint, server: Endpoint, ts: i64) -> u64 {
        let k = (client, server);
        if let Some((id, last)) = self.udp_flows.get_mut(&k) {
            *last = (*last).max(ts);
            return *id;
        }
        self.next_conn_id += 1;
        if self.udp_flows.len() < self.config.max_connections {
            self.udp_flows.insert(k, (self.next_conn_id, ts));
        }
        self.next_conn_id
    }

    fn convert_udp(&mut self, out: &mut Vec<Entry>) {
        let done = std::mem::take(&mut self.udp_txns);
        for (client, server, t) in done {
            let conn_id = self.udp_flow_id(client, server, t.request_ts);
            self.next_entry_id += 1;
            self.counters.bump(Counter::entries);
            if t.response_ts.is_none() {
                self.counters.bump(Counter::entries_unanswered);
            }
            out.push(to_entry(
                self.next_entry_id,
                conn_id,
                [client, server],
                true,
                t,
            ));
        }
    }

    /// Expires idle connections and pending transactions older than the
    /// timeouts, relative to `now_us` (packet time); unanswered requests
    /// become entries without a response.
    pub fn flush(&mut self, now_us: i64, out: &mut Vec<Entry>) {
        let idle: Vec<ConnKey> = self
            .conns
            .iter()
            .filter(|(_, c)| c.last_ts < now_us.saturating_sub(self.config.idle_timeout_us))
            .map(|(k, _)| *k)
            .collect();
        let mut idle = idle;
        idle.sort();
        for k in idle {
            self.close(&k, out);
        }
        let before = now_us.saturating_sub(self.config.txn_timeout_us);
        let mut keys: Vec<ConnKey> = self.conns.keys().copied().collect();
        keys.sort();
        for k in keys {
            if let Some(c) = self.conns.get_mut(&k) {
                let mut cx = Cx {
                    out: &mut self.txns,
                    counters: &mut self.counters,
                    config: &self.config,
                };
                c.session.expire(before, &mut cx);
            }
            self.drain_txns(&k, out);
        }
        self.dns_udp.expire(before, &mut self.udp_txns);
        self.convert_udp(out);
        let idle_before = now_us.saturating_sub(self.config.idle_timeout_us);
        self.udp_flows.retain(|_, (_, last)| *last >= idle_before);
    }

    /// Ends every connection (end of input): all pending work becomes entries.
    pub fn finish(&mut self, out: &mut Vec<Entry>) {
        let mut keys: Vec<ConnKey> = self.conns.keys().copied().collect();
        keys.sort();
        for k in keys {
            self.close(&k, out);
        }
        self.dns_udp.expire(i64::MAX, &mut self.udp_txns);
        self.convert_udp(out);
        self.udp_flows.clear();
    }

    /// Named counters (gaps, parse errors, caps hit, …), cumulative.
    pub fn counters(&self) -> Vec<(String, u64)> {
        self.counters.named()
    }
}

fn peer(e: Endpoint) -> Peer {
    Peer {
        ip: e.ip,
        port: e.port,
        identity: UNRESOLVED,
    }
}

fn to_entry(id: u64, conn_id: u64, ends: [Endpoint; 2], udp: bool, t: Txn) -> Entry {
    let c = usize::from(t.client.min(1));
    Entry {
        id,
        timestamp_us: t.request_ts,
        elapsed_us: t.response_ts.map_or(0, |r| (r - t.request_ts).max(0)),
        protocol: t.protocol,
        src: peer(ends[c]),
        dst: peer(ends[1 - c]),
        conn_id,
        transport_udp: udp,
        request_size: t.request_size,
        response_size: t.response_size,
        status_code: t.status_code,
        error: t.error,
        has_response: t.response_ts.is_some(),
        detail: t.detail,
    }
}
