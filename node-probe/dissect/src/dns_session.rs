//! DNS query/response pairing by message id, over TCP (length-prefixed
//! messages, one connection) and over UDP (all flows of the engine).

use std::collections::HashMap;

use wiremap_wire::{Detail, Dns, Protocol};

use crate::counters::Counter;
use crate::dns::{self, Message};
use crate::endpoint::Endpoint;
use crate::error::DissectError;
use crate::txn::{Cx, Side, Txn};

/// A query waiting for its response.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    ts: i64,
    size: u64,
    msg: Message,
}

/// The transaction of a query and/or its response.
fn dns_txn(client: Side, query: Option<Query>, response: Option<(i64, u64, Message)>) -> Txn {
    let mut d = Dns::default();
    let (mut request_ts, mut request_size) = (0, 0);
    let asked = query.is_some();
    if let Some(q) = query {
        d.questions = q.msg.questions;
        d.question_types = q.msg.question_types;
        d.request = true;
        d.request_length = q.size;
        d.truncated = q.msg.truncated;
        request_ts = q.ts;
        request_size = q.size;
    }
    let (mut response_ts, mut response_size, mut status) = (None, 0, 0);
    if let Some((ts, size, m)) = response {
        if !asked {
            d.questions = m.questions;
            d.question_types = m.question_types;
            request_ts = ts;
        }
        d.answers = m.answers;
        d.response = true;
        d.rcode = m.rcode;
        d.truncated |= m.truncated;
        d.response_length = size;
        response_ts = Some(ts);
        response_size = size;
        status = i32::from(m.rcode);
    }
    Txn {
        client,
        protocol: Protocol::DNS,
        request_ts,
        response_ts,
        request_size,
        response_size,
        status_code: status,
        error: status != 0,
        detail: Detail::Dns(Box::new(d)),
    }
}

/// DNS over one TCP connection.
#[derive(Debug)]
pub(crate) struct DnsTcp {
    client: Side,
    bufs: [Vec<u8>; 2],
    starts: [Option<i64>; 2],
    pending: HashMap<u16, Query>,
}

impl DnsTcp {
    pub(crate) fn new(client: Side) -> Self {
        Self {
            client,
            bufs: Default::default(),
            starts: [None; 2],
            pending: HashMap::new(),
        }
    }

    pub(crate) fn on_data(
        &mut self,
        side: Side,
        ts: i64,
        data: &[u8],
        cx: &mut Cx<'_>,
    ) -> Result<(), DissectError> {
        let s = usize::from(side);
        if self.starts[s].is_none() {
            self.starts[s] = Some(ts);
        }
        self.bufs[s].extend_from_slice(data);
        let mut pos = 0;
        loop {
            let buf = &self.bufs[s][pos..];
            if buf.len() < 2 {
                break;
            }
            let len = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
            if buf.len() < 2 + len {
                break;
            }
            let msg = dns::parse(&buf[2..2 + len])?;
            let start = self.starts[s].unwrap_or(ts);
            pos += 2 + len;
            self.starts[s] = if pos < self.bufs[s].len() {
                Some(ts)
            } else {
                None
            };
            self.on_message(start, (2 + len) as u64, msg, cx)?;
        }
        self.bufs[s].drain(..pos);
        if self.bufs[s].len() > cx.config.max_buffer.max(65_538) {
            cx.bump(Counter::cap_buffer);
            return Err(DissectError::Cap("dns buffer"));
        }
        Ok(())
    }

    fn on_message(
        &mut self,
        ts: i64,
        size: u64,
        msg: Message,
        cx: &mut Cx<'_>,
    ) -> Result<(), DissectError> {
        if msg.response {
            let q = self.pending.remove(&msg.id);
            if q.is_none() {
                cx.bump(Counter::responses_without_request);
            }
            cx.emit(dns_txn(self.client, q, Some((ts, size, msg))));
        } else {
            if self.pending.len() >= cx.config.max_pending {
                cx.bump(Counter::cap_pending);
                return Err(DissectError::Cap("dns pending"));
            }
            if let Some(old) = self.pending.insert(msg.id, Query { ts, size, msg }) {
                cx.emit(dns_txn(self.client, Some(old), None));
            }
        }
        Ok(())
    }

    pub(crate) fn on_gap(&mut self) -> bool {
        false
    }

    pub(crate) fn expire(&mut self, before_ts: i64, cx: &mut Cx<'_>) {
        let old: Vec<u16> = self
            .pending
            .iter()
            .filter(|(_, q)| q.ts < before_ts)
            .map(|(k, _)| *k)
            .collect();
        let mut queries: Vec<Query> = old.iter().filter_map(|k| self.pending.remove(k)).collect();
        queries.sort_by_key(|q| (q.ts, q.msg.id));
        for q in queries {
            cx.emit(dns_txn(self.client, Some(q), None));
        }
    }

    pub(crate) fn finish(&mut self, cx: &mut Cx<'_>) {
        self.expire(i64::MAX, cx);
    }
}

type UdpKey = (Endpoint, Endpoint, u16);

/// DNS over UDP: queries of every flow waiting for their responses.
#[derive(Debug, Default)]
pub(crate) struct DnsUdp {
    pending: HashMap<UdpKey, Query, foldhash::fast::RandomState>,
}

/// A finished UDP transaction with its client and server.
pub(crate) type UdpTxn = (Endpoint, Endpoint, Txn);

impl DnsUdp {
    /// Feeds one datagram; false when it is not DNS.
    pub(crate) fn on_datagram(
        &mut self,
        ts: i64,
        src: Endpoint,
        dst: Endpoint,
        payload: &[u8],
        cx: &mut Cx<'_>,
        out: &mut Vec<UdpTxn>,
    ) -> bool {
        // A response takes its query's questions: with the query at hand,
        // its own are only checked, not built.
        let query = match payload {
            [a, b, flags, ..] if payload.len() >= 12 && flags & 0x80 != 0 => {
                let key = (dst, src, u16::from_be_bytes([*a, *b]));
                self.pending.remove(&key).map(|q| (key, q))
            }
            _ => None,
        };
        let msg = match dns::parse_with(payload, query.is_none()) {
            Ok(m) => m,
            Err(_) => {
                // Not DNS after all: the query waits on.
                if let Some((key, q)) = query {
                    self.pending.insert(key, q);
                }
                return false;
            }
        };
        let size = payload.len() as u64;
        if msg.response {
            let q = query.map(|(_, q)| q);
            if q.is_none() {
                cx.bump(Counter::responses_without_request);
            }
            out.push((dst, src, dns_txn(0, q, Some((ts, size, msg)))));
        } else {
            if self.pending.len() >= cx.config.max_dns_pending {
                cx.bump(Counter::dns_pending_over_cap);
                out.push((src, dst, dns_txn(0, Some(Query { ts, size, msg }), None)));
                return true;
            }
            if let Some(old) = self
                .pending
                .insert((src, dst, msg.id), Query { ts, size, msg })
            {
                out.push((src, dst, dns_txn(0, Some(old), None)));
            }
        }
        true
    }

    /// Queries older than `before_ts` become entries without a response.
    pub(crate) fn expire(&mut self, before_ts: i64, out: &mut Vec<UdpTxn>) {
        let old: Vec<UdpKey> = self
            .pending
            .iter()
            .filter(|(_, q)| q.ts < before_ts)
            .map(|(k, _)| *k)
            .collect();
        let mut done: Vec<UdpTxn> = old
            .into_iter()
            .filter_map(|k| {
                self.pending
                    .remove(&k)
                    .map(|q| (k.0, k.1, dns_txn(0, Some(q), None)))
            })
            .collect();
        done.sort_by_key(|(c, s, t)| (t.request_ts, *c, *s));
        out.extend(done);
    }
}
