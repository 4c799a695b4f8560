//! A small pcap reader (classic format, Ethernet/SLL/raw IP) that decodes
//! IPv4/IPv6 TCP and UDP and feeds a dissector, as the probe does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::Command;

use wiremap_dissect::{Dissector, Endpoint, TcpFlags};
use wiremap_wire::Entry;

/// One decoded transport packet.
pub enum Packet<'a> {
    Tcp {
        ts: i64,
        src: Endpoint,
        dst: Endpoint,
        seq: u32,
        flags: TcpFlags,
        payload: &'a [u8],
    },
    Udp {
        ts: i64,
        src: Endpoint,
        dst: Endpoint,
        payload: &'a [u8],
    },
}

/// The bytes of an `.xz`-compressed capture (the `xz` command must exist).
pub fn read_xz(path: &Path) -> Vec<u8> {
    assert!(path.exists(), "capture missing: {}", path.display());
    let out = Command::new("xz")
        .arg("-dc")
        .arg(path)
        .output()
        .expect("the xz command is needed to unpack the capture");
    assert!(out.status.success(), "xz failed on {}", path.display());
    out.stdout
}

fn u16be(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

fn decode_ip(mut d: &[u8], ts: i64) -> Option<Packet<'_>> {
    let version = d.first()? >> 4;
    let (src, dst, proto, l4) = match version {
        4 => {
            let ihl = usize::from(d[0] & 0xf) * 4;
            let total = usize::from(u16be(d, 2)?);
            d = d.get(..total.min(d.len()))?;
            let frag = u16be(d, 6)? & 0x3fff;
            if frag != 0 {
                return None;
            }
            let s = Ipv4Addr::new(d[12], d[13], d[14], d[15]);
            let t = Ipv4Addr::new(d[16], d[17], d[18], d[19]);
            (IpAddr::V4(s), IpAddr::V4(t), d[9], d.get(ihl..)?)
        }
        6 => {
            let plen = usize::from(u16be(d, 4)?);
            let mut s = [0u8; 16];
            let mut t = [0u8; 16];
            s.copy_from_slice(d.get(8..24)?);
            t.copy_from_slice(d.get(24..40)?);
            let l4 = d.get(40..40 + plen.min(d.len().saturating_sub(40)))?;
            (
                IpAddr::V6(Ipv6Addr::from(s)),
                IpAddr::V6(Ipv6Addr::from(t)),
                d[6],
                l4,
            )
        }
        _ => return None,
    };
    match proto {
        6 => {
            let off = usize::from(l4.get(12)? >> 4) * 4;
            let f = *l4.get(13)?;
            Some(Packet::Tcp {
                ts,
                src: Endpoint {
                    ip: src,
                    port: u16be(l4, 0)?,
                },
                dst: Endpoint {
                    ip: dst,
                    port: u16be(l4, 2)?,
                },
                seq: u32::from_be_bytes(l4.get(4..8)?.try_into().ok()?),
                flags: TcpFlags {
                    fin: f & 1 != 0,
                    syn: f & 2 != 0,
                    rst: f & 4 != 0,
                    ack: f & 16 != 0,
                },
                payload: l4.get(off..)?,
            })
        }
        17 => {
            let len = usize::from(u16be(l4, 4)?);
            Some(Packet::Udp {
                ts,
                src: Endpoint {
                    ip: src,
                    port: u16be(l4, 0)?,
                },
                dst: Endpoint {
                    ip: dst,
                    port: u16be(l4, 2)?,
                },
                payload: l4.get(8..len.max(8).min(l4.len()))?,
            })
        }
        _ => None,
    }
}

/// Calls `f` for every TCP/UDP packet of a classic pcap file.
pub fn for_each_packet(file: &[u8], mut f: impl FnMut(Packet<'_>)) -> usize {
    assert!(file.len() >= 24, "not a pcap file");
    let magic = u32::from_le_bytes(file[0..4].try_into().unwrap());
    let (le, nanos) = match magic {
        0xa1b2c3d4 => (true, false),
        0xa1b23c4d => (true, true),
        0xd4c3b2a1 => (false, false),
        0x4d3cb2a1 => (false, true),
        _ => panic!("not a pcap file (magic {magic:x})"),
    };
    let rd = |b: &[u8]| {
        let a: [u8; 4] = b.try_into().unwrap();
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let link = rd(&file[20..24]);
    let mut pos = 24;
    let mut n = 0;
    while pos + 16 <= file.len() {
        let sec = i64::from(rd(&file[pos..pos + 4]));
        let frac = i64::from(rd(&file[pos + 4..pos + 8]));
        let incl = rd(&file[pos + 8..pos + 12]) as usize;
        pos += 16;
        let Some(frame) = file.get(pos..pos + incl) else {
            break;
        };
        pos += incl;
        n += 1;
        let ts = sec * 1_000_000 + if nanos { frac / 1000 } else { frac };
        let ip = match link {
            1 => {
                let mut off = 12;
                let mut et = u16be(frame, off);
                while et == Some(0x8100) {
                    off += 4;
                    et = u16be(frame, off);
                }
                frame.get(off + 2..)
            }
            113 => frame.get(16..),
            276 => frame.get(20..),
            0 => frame.get(4..),
            101 | 228 | 229 => Some(frame),
            other => panic!("unsupported link type {other}"),
        };
        if let Some(p) = ip.and_then(|d| decode_ip(d, ts)) {
            f(p);
        }
    }
    n
}

/// Runs a whole capture through a dissector; flushes every simulated second
/// the way the probe does, then finishes.
pub fn dissect(file: &[u8], d: &mut Dissector) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut last_flush = i64::MIN;
    for_each_packet(file, |p| {
        let ts = match p {
            Packet::Tcp {
                ts,
                src,
                dst,
                seq,
                flags,
                payload,
            } => {
                d.on_tcp(ts, src, dst, seq, flags, payload, &mut out);
                ts
            }
            Packet::Udp {
                ts,
                src,
                dst,
                payload,
            } => {
                d.on_udp(ts, src, dst, payload, &mut out);
                ts
            }
        };
        if ts.saturating_sub(last_flush) >= 1_000_000 {
            d.flush(ts, &mut out);
            last_flush = ts;
        }
    });
    d.finish(&mut out);
    out
}
