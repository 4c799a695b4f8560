//! The dissector following one TCP connection: detection first, then the
//! protocol's parser; any error turns the connection opaque (counted).

use crate::counters::Counter;
use crate::detect::{detect, Detected};
use crate::dns_session::DnsTcp;
use crate::error::DissectError;
use crate::http1::{Http1, Switch};
use crate::http2::Http2;
use crate::kafka::Kafka;
use crate::redis::Redis;
use crate::txn::{Cx, Side};

/// Bytes held while the protocol is not known yet.
const MAX_DETECT_BYTES: usize = 16 * 1024;

/// Chunks seen before a connection that matched nothing is given up.
const MAX_DETECT_CHUNKS: usize = 1024;

#[derive(Debug, Default)]
pub(crate) struct Detecting {
    log: Vec<(Side, i64, Vec<u8>)>,
    sides: [Vec<u8>; 2],
    unknown: [bool; 2],
}

#[derive(Debug)]
pub(crate) enum Session {
    Detecting(Detecting),
    Http1(Box<Http1>),
    Http2(Box<Http2>),
    Redis(Box<Redis>),
    Kafka(Box<Kafka>),
    DnsTcp(Box<DnsTcp>),
    /// Not followed (unknown protocol, tunnel, or given up).
    Opaque,
}

impl Default for Session {
    fn default() -> Self {
        Session::Detecting(Detecting::default())
    }
}

impl Session {
    /// Feeds contiguous bytes sent by `side`.
    pub(crate) fn on_data(
        &mut self,
        side: Side,
        ts: i64,
        data: &[u8],
        ports: [u16; 2],
        cx: &mut Cx<'_>,
    ) {
        let result = match self {
            Session::Opaque => Ok(()),
            Session::Detecting(d) => {
                let s = usize::from(side);
                d.sides[s].extend_from_slice(data);
                d.log.push((side, ts, data.to_vec()));
                match detect(side, &d.sides[s], ports) {
                    Some(Detected::Unknown) if !d.unknown[1 - s] => {
                        // The other side may still tell (a pick-up mid-stream).
                        d.unknown[s] = true;
                        if d.log.len() > MAX_DETECT_CHUNKS {
                            cx.bump(Counter::detect_unknown);
                            *self = Session::Opaque;
                        }
                        Ok(())
                    }
                    None => {
                        let total = d.sides[0].len() + d.sides[1].len();
                        if total > MAX_DETECT_BYTES || d.log.len() > MAX_DETECT_CHUNKS {
                            cx.bump(Counter::detect_unknown);
                            *self = Session::Opaque;
                        }
                        Ok(())
                    }
                    Some(found) => {
                        let log = std::mem::take(&mut d.log);
                        *self = Self::start(found, cx);
                        for (side, ts, bytes) in log {
                            self.on_data(side, ts, &bytes, ports, cx);
                        }
                        Ok(())
                    }
                }
            }
            Session::Http1(h) => match h.on_data(side, ts, data, cx) {
                Ok(None) => Ok(()),
                Ok(Some((switch, left))) => {
                    let client = h.client();
                    *self = match switch {
                        Switch::Opaque => Session::Opaque,
                        Switch::H2c {
                            http,
                            request_ts,
                            request_size,
                        } => Session::Http2(Box::new(Http2::upgraded(
                            client,
                            *http,
                            request_ts,
                            request_size,
                            cx.config,
                        ))),
                    };
                    for s in [side, 1 - side] {
                        let bytes = &left[usize::from(s)];
                        if !bytes.is_empty() {
                            self.on_data(s, ts, bytes, ports, cx);
                        }
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Session::Http2(h) => h.on_data(side, ts, data, cx),
            Session::Redis(r) => r.on_data(side, ts, data, cx),
            Session::Kafka(k) => k.on_data(side, ts, data, cx),
            Session::DnsTcp(d) => d.on_data(side, ts, data, cx),
        };
        if let Err(e) = result {
            self.give_up(e, cx);
        }
    }

    pub(crate) fn start(found: Detected, cx: &mut Cx<'_>) -> Session {
        match found {
            Detected::Http1(c) => Session::Http1(Box::new(Http1::new(c))),
            Detected::Http2(c) => Session::Http2(Box::new(Http2::new(c, cx.config))),
            Detected::Redis(c) => Session::Redis(Box::new(Redis::new(c))),
            Detected::Kafka(c) => Session::Kafka(Box::new(Kafka::new(c))),
            Detected::DnsTcp(c) => Session::DnsTcp(Box::new(DnsTcp::new(c))),
            Detected::Unknown => {
                cx.bump(Counter::detect_unknown);
                Session::Opaque
            }
        }
    }

    fn give_up(&mut self, e: DissectError, cx: &mut Cx<'_>) {
        match e {
            DissectError::Malformed(_) => cx.bump(Counter::parse_errors),
            DissectError::Gap(_) => cx.bump(Counter::gap_give_ups),
            DissectError::Cap(_) => {}
        }
        self.finish(cx);
        *self = Session::Opaque;
    }

    /// `len` bytes sent by `side` are missing.
    pub(crate) fn on_gap(&mut self, side: Side, len: u64, cx: &mut Cx<'_>) {
        let keep = match self {
            Session::Opaque => true,
            Session::Detecting(_) => {
                // Start over after the hole: detection looks at fresh bytes.
                *self = Session::default();
                true
            }
            Session::Http1(h) => {
                h.on_gap(side, len, cx);
                true
            }
            Session::Http2(h) => h.on_gap(side, len, cx),
            Session::Redis(r) => r.on_gap(side, len, cx),
            Session::Kafka(k) => k.on_gap(side, len, cx),
            Session::DnsTcp(d) => d.on_gap(),
        };
        if !keep {
            self.give_up(DissectError::Gap("tcp"), cx);
        }
    }

    /// `side` sent FIN.
    pub(crate) fn on_fin(&mut self, side: Side, cx: &mut Cx<'_>) {
        if let Session::Http1(h) = self {
            h.on_fin(side, cx);
        }
    }

    /// Requests older than `before_ts` become entries without a response.
    pub(crate) fn expire(&mut self, before_ts: i64, cx: &mut Cx<'_>) {
        match self {
            Session::Http1(h) => h.expire(before_ts, cx),
            Session::Http2(h) => h.expire(before_ts, cx),
            Session::Redis(r) => r.expire(before_ts, cx),
            Session::Kafka(k) => k.expire(before_ts, cx),
            Session::DnsTcp(d) => d.expire(before_ts, cx),
            Session::Detecting(_) | Session::Opaque => {}
        }
    }

    /// End of the connection: pending requests become entries.
    pub(crate) fn finish(&mut self, cx: &mut Cx<'_>) {
        match self {
            Session::Http1(h) => h.finish(cx),
            Session::Http2(h) => h.finish(cx),
            Session::Redis(r) => r.finish(cx),
            Session::Kafka(k) => k.finish(cx),
            Session::DnsTcp(d) => d.finish(cx),
            Session::Detecting(_) | Session::Opaque => {}
        }
    }
}
