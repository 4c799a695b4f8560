//! TCP reassembly of one direction: in-order delivery, out-of-order segments
//! buffered up to a cap, retransmissions and overlaps trimmed, gaps reported.
//!
//! Sequence numbers wrap; every comparison is relative to the next expected
//! byte. A stream picked up mid-connection (no SYN seen) starts at the first
//! segment with payload.

use crate::config::Config;
use crate::counters::{Counter, Counters};

/// Segments further ahead than this are not plausible for this stream.
const MAX_WINDOW: u32 = 64 * 1024 * 1024;

/// What the reassembler hands to the dissector, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StreamEvent<'a> {
    /// Contiguous bytes and the capture time of the segment that carried them.
    Data(&'a [u8], i64),
    /// This many bytes are missing (lost in capture, or over the buffer cap).
    Gap(u64),
}

#[derive(Debug)]
struct Segment {
    seq: u32,
    ts: i64,
    data: Vec<u8>,
}

/// Reassembly state of one direction of a TCP connection.
#[derive(Debug, Default)]
pub(crate) struct Reassembler {
    next: Option<u32>,
    pending: Vec<Segment>,
    pending_bytes: usize,
}

impl Reassembler {
    /// A SYN fixes the initial sequence number.
    pub(crate) fn on_syn(&mut self, seq: u32) {
        if self.next.is_none() {
            self.next = Some(seq.wrapping_add(1));
        }
    }

    /// Sequence number right after the last delivered byte, if known.
    #[cfg(test)]
    pub(crate) fn next_seq(&self) -> Option<u32> {
        self.next
    }

    /// Bytes held out of order.
    pub(crate) fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Feeds one segment's payload; delivers what became contiguous.
    pub(crate) fn push(
        &mut self,
        seq: u32,
        ts: i64,
        payload: &[u8],
        config: &Config,
        counters: &mut Counters,
        emit: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        if payload.is_empty() {
            return;
        }
        let next = *self.next.get_or_insert(seq);
        let off = seq.wrapping_sub(next);
        if off == 0 || off > u32::MAX / 2 {
            // At or before the next expected byte.
            let skip = if off == 0 {
                0
            } else {
                next.wrapping_sub(seq) as usize
            };
            if skip >= payload.len() {
                counters.bump(Counter::retransmitted_segments);
                return;
            }
            if skip > 0 {
                counters.bump(Counter::overlapping_segments);
            }
            let data = &payload[skip..];
            self.next = Some(next.wrapping_add(data.len() as u32));
            emit(StreamEvent::Data(data, ts));
            self.drain(counters, emit);
            return;
        }
        if off > MAX_WINDOW {
            counters.bump(Counter::ooo_out_of_window);
            return;
        }
        counters.bump(Counter::ooo_segments);
        let pos = self
            .pending
            .partition_point(|s| s.seq.wrapping_sub(next) <= off);
        if pos > 0 {
            let prev = &self.pending[pos - 1];
            if prev.seq == seq && prev.data.len() >= payload.len() {
                counters.bump(Counter::retransmitted_segments);
                return;
            }
        }
        self.pending_bytes += payload.len();
        self.pending.insert(
            pos,
            Segment {
                seq,
                ts,
                data: payload.to_vec(),
            },
        );
        while self.pending_bytes > config.max_ooo_bytes
            || self.pending.len() > config.max_ooo_segments
        {
            self.skip_gap(counters, emit);
        }
    }

    /// Gives up waiting for missing bytes: reports the gap and delivers
    /// everything held (end of stream, idle connection).
    pub(crate) fn flush(&mut self, counters: &mut Counters, emit: &mut dyn FnMut(StreamEvent<'_>)) {
        while !self.pending.is_empty() {
            self.skip_gap(counters, emit);
        }
    }

    fn skip_gap(&mut self, counters: &mut Counters, emit: &mut dyn FnMut(StreamEvent<'_>)) {
        let (Some(next), Some(first)) = (self.next, self.pending.first()) else {
            return;
        };
        let missing = first.seq.wrapping_sub(next);
        counters.bump(Counter::gaps);
        emit(StreamEvent::Gap(u64::from(missing)));
        self.next = Some(first.seq);
        self.drain(counters, emit);
    }

    fn drain(&mut self, counters: &mut Counters, emit: &mut dyn FnMut(StreamEvent<'_>)) {
        while let (Some(next), Some(first)) = (self.next, self.pending.first()) {
            let off = first.seq.wrapping_sub(next);
            if off != 0 && off <= u32::MAX / 2 {
                break;
            }
            let seg = self.pending.remove(0);
            self.pending_bytes -= seg.data.len();
            let skip = next.wrapping_sub(seg.seq) as usize;
            if skip >= seg.data.len() {
                counters.bump(Counter::retransmitted_segments);
                continue;
            }
            if skip > 0 {
                counters.bump(Counter::overlapping_segments);
            }
            let data = &seg.data[skip..];
            self.next = Some(next.wrapping_add(data.len() as u32));
            emit(StreamEvent::Data(data, seg.ts));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(segs: &[(u32, &[u8])], cfg: &Config) -> (Vec<u8>, Vec<u64>, Counters) {
        let mut r = Reassembler::default();
        r.on_syn(99);
        let mut c = Counters::default();
        let mut data = Vec::new();
        let mut gaps = Vec::new();
        for (seq, p) in segs {
            r.push(*seq, 0, p, cfg, &mut c, &mut |e| match e {
                StreamEvent::Data(d, _) => data.extend_from_slice(d),
                StreamEvent::Gap(n) => gaps.push(n),
            });
        }
        r.flush(&mut c, &mut |e| match e {
            StreamEvent::Data(d, _) => data.extend_from_slice(d),
            StreamEvent::Gap(n) => gaps.push(n),
        });
        (data, gaps, c)
    }

    #[test]
    fn reorders_and_dedups() {
        let cfg = Config::default();
        let (d, g, c) = run(
            &[
                (106, b"world"),
                (100, b"hello "),
                (100, b"hello "),
                (103, b"lo wor"),
                (111, b"!"),
            ],
            &cfg,
        );
        assert_eq!(d, b"hello world!");
        assert!(g.is_empty());
        assert_eq!(c.get(Counter::retransmitted_segments), 2);
    }

    #[test]
    fn reports_gap_when_over_cap() {
        let cfg = Config {
            max_ooo_segments: 2,
            ..Config::default()
        };
        let (d, g, c) = run(&[(100, b"ab"), (105, b"f"), (106, b"g"), (107, b"h")], &cfg);
        assert_eq!(d, b"abfgh");
        assert_eq!(g, vec![3]);
        assert_eq!(c.get(Counter::gaps), 1);
    }

    #[test]
    fn wraps_around_sequence_space() {
        let mut r = Reassembler::default();
        r.on_syn(u32::MAX - 2);
        let cfg = Config::default();
        let mut c = Counters::default();
        let mut data = Vec::new();
        for (seq, p) in [(1u32, &b"cd"[..]), (u32::MAX - 1, b"ab"), (0, b"xc")] {
            r.push(seq, 0, p, &cfg, &mut c, &mut |e| {
                if let StreamEvent::Data(d, _) = e {
                    data.extend_from_slice(d)
                }
            });
        }
        assert_eq!(data, b"abxcd");
        assert_eq!(r.next_seq(), Some(3));
    }
}
