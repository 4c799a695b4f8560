//! Entry points for the fuzz targets (feature `fuzzing`, not a stable API):
//! one dissector driven directly, past detection, by direction/chunk
//! commands decoded from the fuzz input.

use std::net::{IpAddr, Ipv4Addr};

use crate::config::Config;
use crate::counters::Counters;
use crate::detect::Detected;
use crate::session::Session;
use crate::txn::Cx;
use crate::{Dissector, Endpoint, TcpFlags};

/// Which dissector a fuzz target drives.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Http1,
    Http2,
    Redis,
    Kafka,
    DnsTcp,
}

/// Splits fuzz input into commands: a control byte (bit 0: server side,
/// bit 1: a gap of `len` bytes instead of data, bit 2: FIN), a length byte,
/// then that many bytes.
fn commands(input: &[u8], mut f: impl FnMut(u8, &[u8])) {
    let mut i = 0;
    while i + 2 <= input.len() {
        let (ctl, len) = (input[i], usize::from(input[i + 1]));
        i += 2;
        let end = (i + len).min(input.len());
        f(ctl, &input[i..end]);
        i = end;
    }
}

/// Drives one dissector; returns the number of transactions produced.
pub fn session(kind: Kind, input: &[u8]) -> usize {
    let config = Config {
        max_buffer: 4096,
        max_pending: 16,
        max_streams: 16,
        max_hpack_table: 4096,
        ..Config::default()
    };
    let mut counters = Counters::default();
    let mut out = Vec::new();
    let mut cx = Cx {
        out: &mut out,
        counters: &mut counters,
        config: &config,
    };
    let found = match kind {
        Kind::Http1 => Detected::Http1(0),
        Kind::Http2 => Detected::Http2(0),
        Kind::Redis => Detected::Redis(0),
        Kind::Kafka => Detected::Kafka(0),
        Kind::DnsTcp => Detected::DnsTcp(0),
    };
    if matches!(kind, Kind::Redis) {
        crate::redis::check_bulk_command(input);
    }
    let mut s = Session::start(found, &mut cx);
    let mut ts = 0;
    commands(input, |ctl, data| {
        ts += 1;
        let side = ctl & 1;
        if ctl & 2 != 0 {
            s.on_gap(side, data.len() as u64 + 1, &mut cx);
        } else {
            s.on_data(side, ts, data, [40000, 80], &mut cx);
        }
        if ctl & 4 != 0 {
            s.on_fin(side, &mut cx);
        }
        if ctl & 8 != 0 {
            s.expire(ts - 2, &mut cx);
        }
    });
    s.finish(&mut cx);
    out.len()
}

/// Drives the whole engine with raw segments: a control byte (bit 0:
/// server side, bit 1: SYN, bit 2: FIN, bit 3: RST, bit 4: UDP), a sequence
/// offset byte (scaled, may go backwards), a length byte, then the bytes.
pub fn engine(input: &[u8]) -> usize {
    let mut d = Dissector::with_config(Config {
        max_ooo_bytes: 2048,
        max_ooo_segments: 8,
        max_buffer: 4096,
        ..Config::default()
    });
    let a = Endpoint {
        ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        port: 40000,
    };
    let b = Endpoint {
        ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        port: 80,
    };
    let mut out = Vec::new();
    let mut seq = [1000u32, u32::MAX - 100];
    let mut ts = 0i64;
    let mut i = 0;
    while i + 3 <= input.len() {
        let (ctl, off, len) = (input[i], input[i + 1] as i8, usize::from(input[i + 2]));
        i += 3;
        let end = (i + len).min(input.len());
        let payload = &input[i..end];
        i = end;
        ts += 1000;
        let s = usize::from(ctl & 1);
        let (src, dst) = if s == 0 { (a, b) } else { (b, a) };
        if ctl & 16 != 0 {
            d.on_udp(ts, src, dst, payload, &mut out);
            continue;
        }
        let flags = TcpFlags {
            syn: ctl & 2 != 0,
            ack: true,
            fin: ctl & 4 != 0,
            rst: ctl & 8 != 0,
        };
        let at = seq[s].wrapping_add_signed(i32::from(off) * 16);
        d.on_tcp(ts, src, dst, at, flags, payload, &mut out);
        seq[s] = seq[s].wrapping_add(payload.len() as u32);
        if ctl & 32 != 0 {
            d.flush(ts + 60_000_000, &mut out);
        }
    }
    d.finish(&mut out);
    out.len()
}

/// Decodes one DNS message.
pub fn dns_message(data: &[u8]) -> bool {
    crate::dns::check_skip_name(data);
    crate::dns::parse(data).is_ok()
}

/// Decodes HPACK header blocks (input split on 0xff 0x00 pairs would be
/// arbitrary; the first byte says where the first block ends).
pub fn hpack(data: &[u8]) -> usize {
    crate::huffman::check_against_bitwise(data);
    let mut d = crate::hpack::Decoder::new(4096);
    let Some((&cut, rest)) = data.split_first() else {
        return 0;
    };
    let cut = usize::from(cut).min(rest.len());
    let mut n = 0;
    for block in [&rest[..cut], &rest[cut..]] {
        if let Ok(h) = d.decode(block, 64) {
            n += h.len();
        }
    }
    n
}
