//! Protocol detection by content: the first bytes of either side decide
//! which dissector follows the connection, and which side is the client.
//! Ports are only hints, for the few openings that are ambiguous.

use crate::http1::METHODS;
use crate::txn::Side;

/// The HTTP/2 client connection preface.
pub(crate) const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Bytes needed before a side that matches nothing is declared unknown.
const DECIDE_AFTER: usize = 16;

const REDIS_PORT: u16 = 6379;
const DNS_PORT: u16 = 53;

/// A detected protocol and its client side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detected {
    Http1(Side),
    Http2(Side),
    Redis(Side),
    Kafka(Side),
    DnsTcp(Side),
    Unknown,
}

fn other(side: Side) -> Side {
    1 - side
}

/// Looks at the bytes `side` sent so far (from the start of what was seen).
/// `ports[s]` is the port of side `s`. None: not enough bytes to say.
pub(crate) fn detect(side: Side, data: &[u8], ports: [u16; 2]) -> Option<Detected> {
    if data.is_empty() {
        return None;
    }
    let prefix_of = |pat: &[u8]| data.len() < pat.len() && pat.starts_with(data);
    if data.starts_with(H2_PREFACE) {
        return Some(Detected::Http2(side));
    }
    if prefix_of(H2_PREFACE) {
        return None;
    }
    if METHODS.iter().any(|m| data.starts_with(m)) {
        return Some(Detected::Http1(side));
    }
    if data.starts_with(b"HTTP/1.") {
        return Some(Detected::Http1(other(side)));
    }
    if METHODS.iter().any(|m| prefix_of(m)) || prefix_of(b"HTTP/1.") {
        return None;
    }
    if let Some(d) = redis(side, data, ports) {
        return d;
    }
    if let Some(d) = kafka(side, data) {
        return d;
    }
    if let Some(d) = dns_tcp(side, data, ports) {
        return d;
    }
    if data.len() < DECIDE_AFTER {
        return None;
    }
    Some(Detected::Unknown)
}

fn redis(side: Side, data: &[u8], ports: [u16; 2]) -> Option<Option<Detected>> {
    if data[0] == b'*' {
        let digits = data[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        let after = &data[1 + digits..];
        if digits > 0 && after.starts_with(b"\r\n") {
            return Some(Some(Detected::Redis(side)));
        }
        if after.is_empty() || after == b"\r" {
            return Some(None);
        }
    }
    let peer = ports[usize::from(other(side))];
    let own = ports[usize::from(side)];
    if peer == REDIS_PORT
        && data
            .iter()
            .all(|b| b.is_ascii_graphic() || b" \r\n".contains(b))
    {
        // Inline command towards the Redis port.
        return Some(if data.contains(&b'\n') {
            Some(Detected::Redis(side))
        } else {
            None
        });
    }
    if own == REDIS_PORT && b"+-:$*_,#!=(%~>|".contains(&data[0]) {
        return Some(Some(Detected::Redis(other(side))));
    }
    None
}

fn kafka(side: Side, data: &[u8]) -> Option<Option<Detected>> {
    if data.len() < 14 {
        return None;
    }
    let size = i32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    let key = i16::from_be_bytes([data[4], data[5]]);
    let version = i16::from_be_bytes([data[6], data[7]]);
    let client_len = i16::from_be_bytes([data[12], data[13]]);
    let plausible = (10..=100 * 1024 * 1024).contains(&size)
        && (0..=74).contains(&key)
        && (0..=20).contains(&version)
        && (-1..=(size as i64 - 10).min(1024) as i16).contains(&client_len);
    if !plausible {
        return None;
    }
    let id = &data[14..data.len().min(14 + client_len.max(0) as usize)];
    if id.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        Some(Some(Detected::Kafka(side)))
    } else {
        None
    }
}

fn dns_tcp(side: Side, data: &[u8], ports: [u16; 2]) -> Option<Option<Detected>> {
    if data.len() < 14 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
    let h = &data[2..];
    let flags = u16::from_be_bytes([h[2], h[3]]);
    let qd = u16::from_be_bytes([h[4], h[5]]);
    let an = u16::from_be_bytes([h[6], h[7]]);
    let ns = u16::from_be_bytes([h[8], h[9]]);
    let query = flags & 0x8000 == 0 && (flags >> 11) & 0xf == 0 && flags & 0x0040 == 0;
    let hinted = ports[usize::from(other(side))] == DNS_PORT;
    if !(len >= 17 && query && qd == 1 && an == 0 && ns == 0) {
        return None;
    }
    if hinted {
        return Some(Some(Detected::DnsTcp(side)));
    }
    if h.len() < len {
        // Wait for the whole first message to check it parses.
        return Some(None);
    }
    crate::dns::parse(&h[..len])
        .is_ok()
        .then_some(Some(Detected::DnsTcp(side)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_content_not_port() {
        assert_eq!(
            detect(0, b"*1\r\n$4\r\nPING\r\n", [40000, 7000]),
            Some(Detected::Redis(0))
        );
        assert_eq!(
            detect(0, b"GET / HTTP/1.1\r\n", [40000, 9000]),
            Some(Detected::Http1(0))
        );
        assert_eq!(
            detect(1, b"HTTP/1.1 200 OK\r\n", [40000, 9000]),
            Some(Detected::Http1(0))
        );
        assert_eq!(detect(0, b"GE", [1, 2]), None);
        assert_eq!(detect(0, H2_PREFACE, [1, 2]), Some(Detected::Http2(0)));
        assert_eq!(
            detect(0, b"SSH-2.0-OpenSSH_9.2p1\r\n", [1, 22]),
            Some(Detected::Unknown)
        );
    }
}
