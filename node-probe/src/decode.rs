//! Packet decoding: link layer (Ethernet, 802.1Q/802.1ad VLAN, Linux cooked
//! capture SLL and SLL2, raw IP, BSD loopback) → IPv4 / IPv6 (extension
//! headers walked) → TCP / UDP. Hand-written over byte slices: no copies, no
//! allocation, and every length checked, so hostile frames give a
//! [`Skip`] reason instead of a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The link-layer framing of captured bytes (a pcap LINKTYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    Ethernet,
    /// Raw IPv4 or IPv6, version from the first nibble.
    RawIp,
    /// Linux cooked capture v1 (16-byte header).
    Sll,
    /// Linux cooked capture v2 (20-byte header).
    Sll2,
    /// BSD loopback: 4-byte address family in host byte order.
    Null,
    /// OpenBSD loopback: 4-byte address family in network byte order.
    Loop,
}

impl LinkType {
    /// The link type for a pcap / pcapng LINKTYPE code, if supported.
    pub fn from_code(code: u32) -> Option<LinkType> {
        Some(match code {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 | 228 | 229 => LinkType::RawIp,
            108 => LinkType::Loop,
            113 => LinkType::Sll,
            276 => LinkType::Sll2,
            _ => return None,
        })
    }
}

/// TCP flag bits as they sit in the header's 13th byte.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// The transport part of a decoded packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    Tcp {
        seq: u32,
        ack: u32,
        /// Flag bits, see [`tcp_flags`].
        flags: u8,
        payload: &'a [u8],
    },
    Udp {
        payload: &'a [u8],
    },
}

/// A decoded TCP or UDP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    /// 6 TCP, 17 UDP.
    pub ip_proto: u8,
    /// IP bytes (header + payload) as the IP header states them; the
    /// captured length when the header says 0 (segmentation offload).
    pub ip_bytes: u32,
    /// IPv4 identification (0 for IPv6): part of the duplicate fingerprint.
    pub ip_id: u16,
    /// The TCP or UDP checksum field: part of the duplicate fingerprint.
    pub l4_checksum: u16,
    pub transport: Transport<'a>,
}

macro_rules! skips {
    ($($variant:ident => $name:literal,)*) => {
        /// Why a frame was not decoded to a TCP or UDP packet.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Skip { $($variant,)* }

        impl Skip {
            /// Every reason, in counter order.
            pub const ALL: &'static [Skip] = &[$(Skip::$variant,)*];
            /// Counter name (`decode.<name>` in stats and metrics).
            pub fn name(self) -> &'static str {
                match self { $(Skip::$variant => $name,)* }
            }
        }
    };
}

skips! {
    TruncatedLink => "truncated_link",
    TruncatedVlan => "truncated_vlan",
    TooManyVlanTags => "too_many_vlan_tags",
    NotIp => "not_ip",
    TruncatedIpv4 => "truncated_ipv4",
    BadIpv4Header => "bad_ipv4_header",
    Ipv4Fragment => "ipv4_fragment",
    TruncatedIpv6 => "truncated_ipv6",
    BadIpVersion => "bad_ip_version",
    TooManyExtensionHeaders => "too_many_ipv6_extension_headers",
    TruncatedExtensionHeader => "truncated_ipv6_extension_header",
    Ipv6Fragment => "ipv6_fragment",
    OtherIpProtocol => "other_ip_protocol",
    TruncatedTcp => "truncated_tcp",
    BadTcpHeader => "bad_tcp_header",
    TruncatedUdp => "truncated_udp",
}

/// Counts of skipped frames by reason, plus decoded packets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeStats {
    pub decoded: u64,
    skipped: [u64; Skip::ALL.len()],
}

impl DecodeStats {
    pub fn record(&mut self, r: &Result<Packet<'_>, Skip>) {
        match r {
            Ok(_) => self.decoded += 1,
            Err(s) => self.skipped[*s as usize] += 1,
        }
    }

    pub fn skipped(&self, s: Skip) -> u64 {
        self.skipped[s as usize]
    }

    /// (name, count) for every reason, zeros included.
    pub fn counters(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Skip::ALL.iter().map(|s| (s.name(), self.skipped(*s)))
    }
}

/// Most VLAN tags followed before giving up (QinQ is two).
pub const MAX_VLAN_TAGS: usize = 4;
/// Most IPv6 extension headers walked before giving up.
pub const MAX_IPV6_EXTENSION_HEADERS: usize = 8;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Decodes one captured frame.
pub fn decode(link: LinkType, frame: &[u8]) -> Result<Packet<'_>, Skip> {
    match link {
        LinkType::Ethernet => {
            let ethertype = be16(frame, 12).ok_or(Skip::TruncatedLink)?;
            ethertype_payload(ethertype, &frame[14..])
        }
        LinkType::RawIp => ip(frame),
        LinkType::Sll => {
            let proto = be16(frame, 14).ok_or(Skip::TruncatedLink)?;
            if frame.len() < 16 {
                return Err(Skip::TruncatedLink);
            }
            ethertype_payload(proto, &frame[16..])
        }
        LinkType::Sll2 => {
            let proto = be16(frame, 0).ok_or(Skip::TruncatedLink)?;
            if frame.len() < 20 {
                return Err(Skip::TruncatedLink);
            }
            ethertype_payload(proto, &frame[20..])
        }
        LinkType::Null | LinkType::Loop => {
            let fam = frame.get(..4).ok_or(Skip::TruncatedLink)?;
            let fam = [fam[0], fam[1], fam[2], fam[3]];
            let family = if link == LinkType::Loop {
                u32::from_be_bytes(fam)
            } else {
                // Host order of the capturing machine: accept either.
                let le = u32::from_le_bytes(fam);
                if le < 256 {
                    le
                } else {
                    u32::from_be_bytes(fam)
                }
            };
            match family {
                2 | 24 | 28 | 30 => ip(&frame[4..]),
                _ => Err(Skip::NotIp),
            }
        }
    }
}

fn ethertype_payload(mut ethertype: u16, mut rest: &[u8]) -> Result<Packet<'_>, Skip> {
    let mut tags = 0;
    while matches!(
        ethertype,
        ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD
    ) {
        tags += 1;
        if tags > MAX_VLAN_TAGS {
            return Err(Skip::TooManyVlanTags);
        }
        ethertype = be16(rest, 2).ok_or(Skip::TruncatedVlan)?;
        rest = &rest[4..];
    }
    match ethertype {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => ip(rest),
        _ => Err(Skip::NotIp),
    }
}

fn ip(b: &[u8]) -> Result<Packet<'_>, Skip> {
    match b.first().map(|v| v >> 4) {
        Some(4) => ipv4(b),
        Some(6) => ipv6(b),
        Some(_) => Err(Skip::BadIpVersion),
        None => Err(Skip::TruncatedIpv4),
    }
}

fn ipv4(b: &[u8]) -> Result<Packet<'_>, Skip> {
    if b.len() < 20 {
        return Err(Skip::TruncatedIpv4);
    }
    let ihl = usize::from(b[0] & 0x0f) * 4;
    if ihl < 20 {
        return Err(Skip::BadIpv4Header);
    }
    if b.len() < ihl {
        return Err(Skip::TruncatedIpv4);
    }
    let total = usize::from(u16::from_be_bytes([b[2], b[3]]));
    let (ip_bytes, end) = if total == 0 {
        // Segmentation offload: the kernel leaves the length to the NIC.
        (b.len(), b.len())
    } else if total < ihl {
        return Err(Skip::BadIpv4Header);
    } else {
        // A snap length may cut the capture short: count what the header
        // says, parse what is there. Ethernet padding is trimmed.
        (total, total.min(b.len()))
    };
    let ip_id = u16::from_be_bytes([b[4], b[5]]);
    let frag = u16::from_be_bytes([b[6], b[7]]);
    let more_fragments = frag & 0x2000 != 0;
    let offset = frag & 0x1fff;
    if offset != 0 || more_fragments {
        return Err(Skip::Ipv4Fragment);
    }
    let proto = b[9];
    let src = IpAddr::V4(Ipv4Addr::new(b[12], b[13], b[14], b[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(b[16], b[17], b[18], b[19]));
    transport(src, dst, proto, ip_bytes as u32, ip_id, &b[ihl..end])
}

fn ipv6(b: &[u8]) -> Result<Packet<'_>, Skip> {
    if b.len() < 40 {
        return Err(Skip::TruncatedIpv6);
    }
    let payload_len = usize::from(u16::from_be_bytes([b[4], b[5]]));
    let (ip_bytes, end) = if payload_len == 0 {
        // Jumbogram or offload: use what was captured.
        (b.len(), b.len())
    } else {
        (40 + payload_len, (40 + payload_len).min(b.len()))
    };
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&b[8..24]);
    let src = IpAddr::V6(Ipv6Addr::from(octets));
    octets.copy_from_slice(&b[24..40]);
    let dst = IpAddr::V6(Ipv6Addr::from(octets));
    let mut next = b[6];
    let mut at = 40;
    let mut walked = 0;
    loop {
        match next {
            // Hop-by-hop, routing, destination options, mobility, HIP, shim6.
            0 | 43 | 60 | 135 | 139 | 140 => {
                let hdr = b.get(at..at + 2).ok_or(Skip::TruncatedExtensionHeader)?;
                next = hdr[0];
                at += (usize::from(hdr[1]) + 1) * 8;
            }
            // Authentication header: length in 4-octet units, minus 2.
            51 => {
                let hdr = b.get(at..at + 2).ok_or(Skip::TruncatedExtensionHeader)?;
                next = hdr[0];
                at += (usize::from(hdr[1]) + 2) * 4;
            }
            // Fragment header.
            44 => {
                let hdr = b.get(at..at + 8).ok_or(Skip::TruncatedExtensionHeader)?;
                let offset = u16::from_be_bytes([hdr[2], hdr[3]]) >> 3;
                let more = hdr[3] & 1 != 0;
                if offset != 0 || more {
                    return Err(Skip::Ipv6Fragment);
                }
                next = hdr[0];
                at += 8;
            }
            _ => break,
        }
        walked += 1;
        if walked > MAX_IPV6_EXTENSION_HEADERS {
            return Err(Skip::TooManyExtensionHeaders);
        }
        if at > end {
            return Err(Skip::TruncatedExtensionHeader);
        }
    }
    transport(src, dst, next, ip_bytes as u32, 0, &b[at..end])
}

fn transport(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ip_bytes: u32,
    ip_id: u16,
    l4: &[u8],
) -> Result<Packet<'_>, Skip> {
    match proto {
        6 => {
            if l4.len() < 20 {
                return Err(Skip::TruncatedTcp);
            }
            let data_offset = usize::from(l4[12] >> 4) * 4;
            if data_offset < 20 {
                return Err(Skip::BadTcpHeader);
            }
            let payload = l4.get(data_offset..).ok_or(Skip::TruncatedTcp)?;
            Ok(Packet {
                src,
                dst,
                src_port: u16::from_be_bytes([l4[0], l4[1]]),
                dst_port: u16::from_be_bytes([l4[2], l4[3]]),
                ip_proto: 6,
                ip_bytes,
                ip_id,
                l4_checksum: u16::from_be_bytes([l4[16], l4[17]]),
                transport: Transport::Tcp {
                    seq: be32(l4, 4).unwrap_or(0),
                    ack: be32(l4, 8).unwrap_or(0),
                    flags: l4[13],
                    payload,
                },
            })
        }
        17 => {
            if l4.len() < 8 {
                return Err(Skip::TruncatedUdp);
            }
            let udp_len = usize::from(u16::from_be_bytes([l4[4], l4[5]]));
            // The UDP length bounds the payload when it is sane; 0 (jumbo)
            // or too large means "to the end of what was captured".
            let end = if udp_len >= 8 {
                udp_len.min(l4.len())
            } else {
                l4.len()
            };
            Ok(Packet {
                src,
                dst,
                src_port: u16::from_be_bytes([l4[0], l4[1]]),
                dst_port: u16::from_be_bytes([l4[2], l4[3]]),
                ip_proto: 17,
                ip_bytes,
                ip_id,
                l4_checksum: u16::from_be_bytes([l4[6], l4[7]]),
                transport: Transport::Udp {
                    payload: &l4[8..end],
                },
            })
        }
        _ => Err(Skip::OtherIpProtocol),
    }
}
