//! Conversation fixtures readable by humans, in the spirit of Suricata's
//! htp test files: `>>>` starts bytes the client sends, `<<<` bytes the
//! server sends, `=== entries` the expected entry summaries.
//!
//! Text blocks: every line gets CRLF appended unless it ends with `\`;
//! escapes `\r \n \t \\ \xNN`. A block marker may say `hex` (its lines
//! are hex bytes) and `lost` (the bytes were never captured: a gap).
//! Header lines before the first block: `port: N` (server port, default
//! 80), `udp` (each block is one datagram), `nosyn` (the capture starts
//! after the handshake), `redact: off`.

use std::net::{IpAddr, Ipv4Addr};

use wiremap_dissect::{Config, Dissector, Endpoint, TcpFlags};
use wiremap_wire::Entry;

#[derive(Debug, Clone)]
pub struct Block {
    pub from_client: bool,
    /// Never captured: the sequence space advances, no segment is fed.
    pub lost: bool,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Conversation {
    pub port: u16,
    pub udp: bool,
    pub syn: bool,
    pub redact: bool,
    pub blocks: Vec<Block>,
    pub expected: Vec<String>,
}

fn unescape(line: &str) -> Vec<u8> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'x' if i + 3 < b.len() => {
                    let h = u8::from_str_radix(&line[i + 2..i + 4], 16).expect("bad \\x escape");
                    out.push(h);
                    i += 2;
                }
                other => panic!("unknown escape \\{}", other as char),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

pub fn parse(text: &str) -> Conversation {
    let mut c = Conversation {
        port: 80,
        udp: false,
        syn: true,
        redact: true,
        blocks: Vec::new(),
        expected: Vec::new(),
    };
    let mut hex = false;
    let mut in_expected = false;
    for line in text.lines() {
        if let Some(rest) = line
            .strip_prefix(">>>")
            .or_else(|| line.strip_prefix("<<<"))
        {
            let words: Vec<&str> = rest.split_whitespace().collect();
            hex = words.contains(&"hex");
            in_expected = false;
            c.blocks.push(Block {
                from_client: line.starts_with(">>>"),
                lost: words.contains(&"lost"),
                bytes: Vec::new(),
            });
            continue;
        }
        if line.starts_with("=== entries") {
            in_expected = true;
            continue;
        }
        if in_expected {
            if !line.trim().is_empty() {
                c.expected.push(line.trim().to_string());
            }
            continue;
        }
        let Some(block) = c.blocks.last_mut() else {
            let l = line.trim();
            if let Some(p) = l.strip_prefix("port:") {
                c.port = p.trim().parse().expect("port");
            } else if l == "udp" {
                c.udp = true;
            } else if l == "nosyn" {
                c.syn = false;
            } else if l == "redact: off" {
                c.redact = false;
            }
            continue;
        };
        if hex {
            let l = line.split('#').next().unwrap_or("");
            let digits: String = l.chars().filter(|ch| !ch.is_whitespace()).collect();
            for i in (0..digits.len()).step_by(2) {
                block
                    .bytes
                    .push(u8::from_str_radix(&digits[i..i + 2], 16).expect("hex"));
            }
        } else if let Some(l) = line.strip_suffix('\\') {
            block.bytes.extend(unescape(l));
        } else {
            block.bytes.extend(unescape(line));
            block.bytes.extend_from_slice(b"\r\n");
        }
    }
    c
}

pub fn client() -> Endpoint {
    Endpoint {
        ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        port: 40000,
    }
}

pub fn server(port: u16) -> Endpoint {
    Endpoint {
        ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
        port,
    }
}

/// How each block is cut into segments: `(chunks in sending order)` where a
/// chunk is a byte range of the block.
pub type Cutter<'a> = &'a dyn Fn(usize, usize) -> Vec<(usize, usize)>;

/// Feeds the conversation; `cut(block_index, block_len)` gives the ranges
/// of each block in the order they are sent; `dup` sends every segment twice.
pub fn run(c: &Conversation, cut: Cutter<'_>, dup: bool) -> Vec<Entry> {
    let mut d = Dissector::with_config(Config {
        redact: c.redact,
        ..Config::default()
    });
    let (cl, sv) = (client(), server(c.port));
    let mut out = Vec::new();
    let mut seq = [1000u32, 5000u32];
    let ack = TcpFlags {
        ack: true,
        ..TcpFlags::default()
    };
    if c.syn && !c.udp {
        let syn = TcpFlags {
            syn: true,
            ..TcpFlags::default()
        };
        d.on_tcp(1_000_000, cl, sv, seq[0] - 1, syn, &[], &mut out);
        let synack = TcpFlags {
            syn: true,
            ack: true,
            ..TcpFlags::default()
        };
        d.on_tcp(1_000_000, sv, cl, seq[1] - 1, synack, &[], &mut out);
    }
    for (i, b) in c.blocks.iter().enumerate() {
        let ts = 1_000_000 + 1000 * (i as i64 + 1);
        let (src, dst, s) = if b.from_client {
            (cl, sv, 0)
        } else {
            (sv, cl, 1)
        };
        if c.udp {
            if !b.lost {
                d.on_udp(ts, src, dst, &b.bytes, &mut out);
            }
            continue;
        }
        let cuts = if b.lost {
            Vec::new()
        } else {
            cut(i, b.bytes.len())
        };
        for (start, end) in cuts {
            let n = if dup { 2 } else { 1 };
            for _ in 0..n {
                d.on_tcp(
                    ts,
                    src,
                    dst,
                    seq[s].wrapping_add(start as u32),
                    ack,
                    &b.bytes[start..end],
                    &mut out,
                );
            }
        }
        seq[s] = seq[s].wrapping_add(b.bytes.len() as u32);
    }
    if !c.udp {
        let fin = TcpFlags {
            fin: true,
            ack: true,
            ..TcpFlags::default()
        };
        let end = 1_000_000 + 1000 * (c.blocks.len() as i64 + 1);
        d.on_tcp(end, cl, sv, seq[0], fin, &[], &mut out);
        d.on_tcp(end, sv, cl, seq[1], fin, &[], &mut out);
    }
    d.finish(&mut out);
    out
}

pub fn whole(_: usize, len: usize) -> Vec<(usize, usize)> {
    vec![(0, len)]
}
